// @ts-check
// A vehicle's public keys on the Vehicles view (`GET`/`POST /api/v1/vehicles/{id}/keys`): the
// keys its signed tracks are verified with at ingest, each with the time it is valid from, and
// a form to add one (the text `convoy-agent keygen` printed). A rotation is a new key valid
// from a later time; the old one stays, to verify the past.

import { api, seg } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { translator } from './i18n.js';
import messages from './lang/vehicles.js';
import { errorText } from './error_text.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * A registered key (`KeyView`).
 * @typedef {object} VehicleKey
 * @property {string} key_id
 * @property {string} public_key
 * @property {string} valid_from
 * @property {string} registered_at
 * @property {string} registered_by
 */

/**
 * What the list says of a vehicle's signing: "signed (KEY)" or "unsigned".
 * @param {{ signed?: boolean, key_id?: string | null }} vehicle
 */
export function signingLabel(vehicle) {
  return vehicle.signed && vehicle.key_id ? t('keys.signed', { key: vehicle.key_id }) : t('keys.unsigned');
}

/**
 * Shows `id`'s keys in `box`, with the form to add one; `changed` reloads the vehicle list.
 * @param {HTMLElement} box
 * @param {string} id
 * @param {() => Promise<void>} changed
 */
export async function showKeys(box, id, changed) {
  const message = messageLine();
  const rows = el('tbody');
  const path = `/api/v1/vehicles/${seg(id)}/keys`;
  const publicKey = el('input', { name: 'public_key', required: true, autocomplete: 'off', placeholder: 'ed25519:…' });
  const validFrom = el('input', { name: 'valid_from', type: 'datetime-local', step: 1 });
  const submit = el('button', { type: 'submit', text: t('keys.add') });

  async function load() {
    /** @type {{ keys: VehicleKey[] }} */
    const { keys } = await api.get(path);
    replace(rows, keys.length ? null : el('tr', {}, el('td', { colspan: 3, class: 'empty', text: t('keys.none') })));
    for (const key of keys) {
      rows.append(el('tr', { data: { key: key.key_id } },
        el('td', { class: 'key-id' }, el('code', { text: key.key_id })),
        el('td', { class: 'valid-from', text: when(key.valid_from) }),
        el('td', { class: 'registered-by', text: key.registered_by })));
    }
  }

  async function add() {
    message.clear();
    submit.disabled = true;
    try {
      /** @type {{ public_key: string, valid_from?: string }} */
      const body = { public_key: publicKey.value.trim() };
      if (validFrom.value) body.valid_from = new Date(validFrom.value).toISOString();
      /** @type {VehicleKey} */
      const key = await api.post(path, body);
      message.ok(t('keys.added', { key: key.key_id, id }));
      publicKey.value = '';
      validFrom.value = '';
      await load();
      await changed();
    } catch (e) {
      message.error(t('keys.not_added', { why: errorText(e) }));
    } finally {
      submit.disabled = false;
    }
  }

  replace(box,
    el('h2', { text: t('keys.title', { id }) }),
    el('p', { class: 'hint', text: t('keys.hint') }),
    el('table', { class: 'vehicle-keys' },
      el('thead', {}, el('tr', {}, [t('keys.col_key'), t('keys.col_valid_from'), t('keys.col_registered_by')].map((h) => el('th', { text: h })))),
      rows),
    el('form', { class: 'key-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); add(); } } },
      field(t('keys.public_key'), publicKey, t('keys.public_key_hint')),
      field(t('keys.valid_from'), validFrom, t('keys.valid_from_hint')),
      submit, message.node));
  try {
    await load();
  } catch (e) {
    message.error(t('keys.cannot_read', { why: errorText(e) }));
  }
}
