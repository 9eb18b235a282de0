// @ts-check
// `#/holds` (admins; auditors read-only): legal holds, which keep positions past retention. The
// list (in force and released, who placed and released each, when and why); for admins a
// Release button with a reason on each hold in force, and a form to place one on a move (over
// its window unless a range is given), on a vehicle or on every vehicle over a range.

import { api, seg } from './api.js';
import { el, field, messageLine, replace, select } from './dom.js';
import { fromLocalInput } from './format.js';
import { translator } from './i18n.js';
import messages from './lang/holds.js';
import { errorText } from './error_text.js';
import { can } from './roles.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * A hold (`GET /api/v1/holds`).
 * @typedef {object} Hold
 * @property {number} id
 * @property {string | null} move
 * @property {string[] | null} vehicles null: every vehicle
 * @property {string} from
 * @property {string} to
 * @property {string} reason
 * @property {string} reference
 * @property {string} placed_by
 * @property {string} placed_at
 * @property {boolean} active
 * @property {string | null} released_at
 * @property {string | null} released_by
 * @property {string | null} release_reason
 */

/** @returns {[string, string][]} */
const scopes = () => [['move', t('holds.scope_move')], ['vehicle', t('holds.scope_vehicle')], ['all', t('holds.scope_all')]];

/**
 * What a hold covers, as a line.
 * @param {Hold} hold
 */
export function holdScope(hold) {
  const vehicles = hold.vehicles === null ? t('holds.every_vehicle') : hold.vehicles.join(', ');
  return hold.move ? t('holds.covers_move', { move: hold.move, vehicles }) : vehicles;
}

/**
 * @param {HTMLElement} container
 * @param {{ me: import('./api.js').Me | null }} context
 */
export async function mountHolds(container, { me }) {
  const admin = can(me, 'holds');
  const listMessage = messageLine();
  const rows = el('tbody');
  const columns = ['#', t('holds.col_covers'), t('holds.col_from'), t('holds.col_to'), t('holds.col_reason'), t('holds.col_reference'), t('holds.col_placed'), t('holds.col_state')];
  if (admin) columns.push('');
  const page = el('section', { class: 'page holds' },
    el('h1', { text: t('holds.title') }),
    el('p', { class: 'hint', text: t('holds.hint') }),
    el('table', { class: 'hold-list' }, el('thead', {}, el('tr', {}, columns.map((h) => el('th', { text: h })))), rows),
    listMessage.node);
  container.append(page);

  async function loadList() {
    /** @type {{ holds: Hold[] }} */
    const { holds } = await api.get('/api/v1/holds');
    replace(rows, holds.length ? null : el('tr', {}, el('td', { colspan: columns.length, class: 'empty', text: t('holds.none') })));
    for (const hold of holds) {
      const state = hold.active
        ? t('holds.in_force')
        : t('holds.released_state', { at: when(hold.released_at ?? ''), by: hold.released_by || '?', reason: hold.release_reason || '—' });
      const row = el('tr', { data: { hold: String(hold.id) }, class: hold.active ? 'active' : 'released' },
        el('td', { text: String(hold.id) }),
        el('td', { class: 'covers', text: holdScope(hold) }),
        el('td', { text: when(hold.from) }),
        el('td', { text: when(hold.to) }),
        el('td', { class: 'reason', text: hold.reason }),
        el('td', { text: hold.reference || '—' }),
        el('td', { text: t('holds.placed_by', { at: when(hold.placed_at), by: hold.placed_by }) }),
        el('td', { class: 'state', text: state }));
      if (admin) row.append(el('td', {}, hold.active ? releaseForm(hold) : null));
      rows.append(row);
    }
  }

  /** @param {Hold} hold */
  function releaseForm(hold) {
    const reason = el('input', { name: 'release-reason', required: true, maxlength: 500, placeholder: t('holds.release_placeholder') });
    const button = el('button', { type: 'submit', class: 'secondary release', text: t('holds.release') });
    return el('form', { class: 'release-form', on: { submit: async (/** @type {SubmitEvent} */ e) => {
      e.preventDefault();
      listMessage.clear();
      button.disabled = true;
      try {
        await api.post(`/api/v1/holds/${seg(String(hold.id))}/release`, { reason: reason.value });
        listMessage.ok(t('holds.released', { id: hold.id }));
      } catch (err) {
        listMessage.error(t('holds.not_released', { id: hold.id, why: errorText(err) }));
      }
      button.disabled = false;
      await loadList();
    } } }, reason, button);
  }

  if (admin) page.append(await placeForm(loadList));
  await loadList();
  return () => replace(container);
}

/**
 * The form to place a hold; `placed` reloads the list.
 * @param {() => Promise<void>} placed
 */
async function placeForm(placed) {
  const message = messageLine();
  const scope = select(scopes(), { name: 'scope' });
  const move = el('select', { name: 'move' });
  const vehicle = el('select', { name: 'vehicle' });
  const from = el('input', { type: 'datetime-local', name: 'from' });
  const to = el('input', { type: 'datetime-local', name: 'to' });
  const reason = el('input', { name: 'reason', required: true, maxlength: 500, placeholder: t('holds.reason_placeholder') });
  const reference = el('input', { name: 'reference', maxlength: 100, placeholder: t('holds.reference_placeholder') });
  const submit = el('button', { type: 'submit', text: t('holds.place') });
  const moveField = field(t('holds.move'), move);
  const vehicleField = field(t('holds.vehicle'), vehicle);
  const rangeHint = el('small', { class: 'hint' });

  function scopeChanged() {
    moveField.hidden = scope.value !== 'move';
    vehicleField.hidden = scope.value !== 'vehicle';
    from.required = to.required = scope.value !== 'move';
    rangeHint.textContent = t(scope.value === 'move' ? 'holds.range_hint_move' : 'holds.range_hint');
  }
  scope.addEventListener('change', scopeChanged);

  /** @type {[{ moves: { id: string, name: string }[] }, { vehicles: { id: string }[] }]} */
  const [{ moves }, { vehicles }] = await Promise.all([api.get('/api/v1/moves'), api.get('/api/v1/vehicles')]);
  replace(move, moves.map((m) => el('option', { value: m.id, text: `${m.name} (${m.id})` })));
  replace(vehicle, vehicles.map((v) => el('option', { value: v.id, text: v.id })));
  scopeChanged();

  async function place() {
    message.clear();
    /** @type {Record<string, unknown>} */
    const body = { reason: reason.value, reference: reference.value };
    if (scope.value === 'move') body.move = move.value;
    else if (scope.value === 'vehicle') body.vehicle = vehicle.value;
    else body.all_vehicles = true;
    if (from.value || to.value) {
      body.from = fromLocalInput(from.value);
      body.to = fromLocalInput(to.value);
    }
    submit.disabled = true;
    try {
      /** @type {Hold} */
      const hold = await api.post('/api/v1/holds', body);
      message.ok(t('holds.placed', { id: hold.id, covers: holdScope(hold) }));
      reason.value = '';
      reference.value = '';
      await placed();
    } catch (e) {
      message.error(t('holds.not_placed', { why: errorText(e) }));
    } finally {
      submit.disabled = false;
    }
  }

  return el('form', { class: 'hold-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); place(); } } },
    el('h2', { text: t('holds.place_title') }),
    el('div', { class: 'row' }, field(t('holds.on'), scope), moveField, vehicleField),
    el('div', { class: 'row' }, field(t('holds.col_from'), from), field(t('holds.col_to'), to)),
    rangeHint,
    field(t('holds.col_reason'), reason),
    field(t('holds.reference_optional'), reference),
    submit, message.node);
}
