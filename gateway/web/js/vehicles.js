// @ts-check
// `#/vehicles` (admins and dispatchers): the registered vehicles, with whether each is disabled
// and when its last position arrived; registering one; and on each rotating its MQTT password
// and disabling or enabling it. A new password is shown once, here only, with the agent's
// configuration file to download. Each action that takes something away asks first. Each
// vehicle's agent status history opens below the list (agent_status.js).

import { showStatusHistory } from './agent_status.js';
import { showKeys, signingLabel } from './vehicle_keys.js';
import { api, save, seg } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { translator } from './i18n.js';
import messages from './lang/vehicles.js';
import { errorText } from './error_text.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * A vehicle (`GET /api/v1/vehicles`).
 * @typedef {object} Vehicle
 * @property {string} id
 * @property {string | null} received_at
 * @property {string | null} move
 * @property {boolean} disabled
 * @property {boolean} [signed]
 * @property {string | null} [key_id]
 */

/**
 * A new password with the agent's configuration (`POST /api/v1/vehicles`, `.../password`).
 * @typedef {object} AgentSetup
 * @property {string} id
 * @property {string} password
 * @property {string} agent_config
 * @property {string} password_file
 */

/**
 * What the list says of a vehicle's last position.
 * @param {Vehicle} vehicle
 */
export function lastSeen(vehicle) {
  return vehicle.received_at ? when(vehicle.received_at) : t('vehicles.never');
}

/**
 * The question asked before an action on a vehicle, or null for one that takes nothing away.
 * @param {'rotate' | 'disable' | 'enable'} action
 * @param {string} id
 * @returns {string | null}
 */
export function vehicleConfirmation(action, id) {
  switch (action) {
    case 'rotate': return t('vehicles.confirm_rotate', { id });
    case 'disable': return t('vehicles.confirm_disable', { id });
    default: return null;
  }
}

/**
 * The name of the downloaded agent configuration of `id`.
 * @param {string} id
 */
export function configFileName(id) {
  return `convoy-agent-${id}.toml`;
}

/**
 * Shows a new password and the agent's configuration once, with a download of the file.
 * @param {HTMLElement} box
 * @param {AgentSetup} setup
 */
function showOnce(box, setup) {
  const download = el('button', { type: 'button', class: 'secondary download-config', text: t('vehicles.download_config'),
    on: { click: () => save(new Blob([setup.agent_config], { type: 'application/toml' }), configFileName(setup.id)) } });
  replace(box,
    el('p', { class: 'once' }, el('strong', { text: t('vehicles.shown_once') }),
      t('vehicles.shown_once_password', { file: setup.password_file })),
    el('p', {}, t('vehicles.password_of', { id: setup.id }), el('code', { class: 'new-password', text: setup.password })),
    el('pre', { class: 'agent-config', text: setup.agent_config }),
    download);
}

/**
 * @param {HTMLElement} container
 */
export async function mountVehicles(container) {
  const listMessage = messageLine();
  const rows = el('tbody');
  const shownOnce = el('div', { class: 'shown-once' });
  const statusBox = el('div', { class: 'status-history' });
  const keysBox = el('div', { class: 'keys' });
  const columns = [t('vehicles.col_vehicle'), t('vehicles.col_state'), t('vehicles.col_signing'), t('vehicles.col_last_position'), t('vehicles.col_move'), ''];
  const page = el('section', { class: 'page vehicles' },
    el('h1', { text: t('vehicles.title') }),
    el('p', { class: 'hint', text: t('vehicles.hint') }),
    el('table', { class: 'vehicle-list' }, el('thead', {}, el('tr', {}, columns.map((h) => el('th', { text: h })))), rows),
    listMessage.node, shownOnce, keysBox, statusBox);
  container.append(page);

  async function loadList() {
    /** @type {{ vehicles: Vehicle[] }} */
    const { vehicles } = await api.get('/api/v1/vehicles');
    replace(rows, vehicles.length ? null : el('tr', {}, el('td', { colspan: columns.length, class: 'empty', text: t('vehicles.none') })));
    for (const vehicle of vehicles) rows.append(vehicleRow(vehicle));
  }

  /** @param {Vehicle} vehicle */
  function vehicleRow(vehicle) {
    const toggle = vehicle.disabled
      ? el('button', { type: 'button', class: 'secondary enable', text: t('vehicles.enable'), on: { click: () => act(vehicle, 'enable') } })
      : el('button', { type: 'button', class: 'secondary disable', text: t('vehicles.disable'), on: { click: () => act(vehicle, 'disable') } });
    const rotate = el('button', { type: 'button', class: 'secondary rotate', text: t('vehicles.rotate'), on: { click: () => act(vehicle, 'rotate') } });
    const status = el('button', { type: 'button', class: 'secondary status', text: t('vehicles.status_history'),
      on: { click: () => showStatusHistory(statusBox, vehicle.id) } });
    const keys = el('button', { type: 'button', class: 'secondary keys', text: t('vehicles.keys'),
      on: { click: () => showKeys(keysBox, vehicle.id, loadList) } });
    return el('tr', { data: { vehicle: vehicle.id }, class: vehicle.disabled ? 'disabled' : 'enabled' },
      el('td', { class: 'id', text: vehicle.id }),
      el('td', { class: 'state', text: t(vehicle.disabled ? 'vehicles.disabled' : 'vehicles.enabled') }),
      el('td', { class: 'signing', text: signingLabel(vehicle) }),
      el('td', { class: 'last-seen', text: lastSeen(vehicle) }),
      el('td', { class: 'move', text: vehicle.move ?? '' }),
      el('td', { class: 'actions' }, status, keys, rotate, toggle));
  }

  /**
   * Does `action` to `vehicle` after asking, says what came of it, and reloads the list.
   * @param {Vehicle} vehicle
   * @param {'rotate' | 'disable' | 'enable'} action
   */
  async function act(vehicle, action) {
    const question = vehicleConfirmation(action, vehicle.id);
    if (question && !window.confirm(question)) return;
    listMessage.clear();
    replace(shownOnce);
    const path = `/api/v1/vehicles/${seg(vehicle.id)}`;
    try {
      if (action === 'rotate') {
        /** @type {AgentSetup} */
        const answer = await api.post(`${path}/password`);
        listMessage.ok(t('vehicles.rotated', { id: vehicle.id }));
        showOnce(shownOnce, answer);
      } else {
        /** @type {{ changed: boolean }} */
        const answer = await api.post(`${path}/${action}`);
        const key = `vehicles.${action}d_${answer.changed ? 'done' : 'already'}`;
        listMessage.ok(t(key, { id: vehicle.id }));
      }
    } catch (e) {
      listMessage.error(t('vehicles.not_done', { id: vehicle.id, why: errorText(e) }));
    }
    await loadList();
  }

  page.append(registerForm(shownOnce, loadList));
  await loadList();
  return () => replace(container);
}

/**
 * The form to register a vehicle; its password and configuration go to `box`, then `added`
 * reloads the list.
 * @param {HTMLElement} box
 * @param {() => Promise<void>} added
 */
function registerForm(box, added) {
  const message = messageLine();
  const id = el('input', { name: 'id', required: true, maxlength: 64, pattern: '[A-Za-z0-9._\\-]+', autocomplete: 'off' });
  const submit = el('button', { type: 'submit', text: t('vehicles.register') });

  async function register() {
    message.clear();
    replace(box);
    submit.disabled = true;
    try {
      /** @type {AgentSetup} */
      const setup = await api.post('/api/v1/vehicles', { id: id.value.trim() });
      message.ok(t('vehicles.registered', { id: setup.id }));
      id.value = '';
      showOnce(box, setup);
      await added();
    } catch (e) {
      message.error(t('vehicles.not_registered', { why: errorText(e) }));
    } finally {
      submit.disabled = false;
    }
  }

  return el('form', { class: 'vehicle-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); register(); } } },
    el('h2', { text: t('vehicles.register_title') }),
    field(t('vehicles.id'), id, t('vehicles.id_hint')),
    submit, message.node);
}
