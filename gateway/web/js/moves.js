// @ts-check
// Moves: reading them from the API, a picker for the views that work on one move, and the
// list of moves with their state and links to what a role may do with each; a planner ends a
// running move or cancels a planned one there, with a reason, or opens its plan to edit it
// (move_edit.js).

import { api, seg } from './api.js';
import { el, messageLine, replace } from './dom.js';
import { ms, utcOffset } from './format.js';
import { translator } from './i18n.js';
import messages from './lang/moves.js';
import { errorText } from './error_text.js';
import { can } from './roles.js';
import { when } from './when.js';

const t = translator(messages);

/** @typedef {import('./api.js').Move} Move */

const CHOSEN_KEY = 'convoy.move';

/** @returns {Promise<Move[]>} */
export async function listMoves() {
  /** @type {{ moves: Move[] }} */
  const body = await api.get('/api/v1/moves');
  // Newest first.
  return body.moves.sort((a, b) => ms(b.created_at) - ms(a.created_at));
}

/**
 * A move with its plan.
 * @param {string} id
 * @returns {Promise<Move & { plan: import('./api.js').Plan }>}
 */
export async function getMove(id) {
  return api.get(`/api/v1/moves/${seg(id)}`);
}

/** The move the person chose last in this tab, if any. */
export function chosenMove() {
  return sessionStorage.getItem(CHOSEN_KEY);
}

/** @param {string | null | undefined} id */
export function chooseMove(id) {
  if (id) sessionStorage.setItem(CHOSEN_KEY, id);
}

/**
 * The move to show when none is named: the one chosen last, else the newest whose window
 * includes now, else the newest.
 * @param {Move[]} moves
 * @returns {string | null}
 */
export function defaultMove(moves) {
  const chosen = chosenMove();
  if (chosen && moves.some((m) => m.id === chosen)) return chosen;
  const now = Date.now();
  const current = moves.find((m) => m.window && ms(m.window.from) <= now && now <= ms(m.window.to));
  return (current || moves[0] || { id: null }).id || null;
}

/**
 * A `<select>` of moves; calls `onPick(id)` when the person picks one.
 * @param {Move[]} moves
 * @param {string | null} selected
 * @param {(id: string) => void} onPick
 */
export function movePicker(moves, selected, onPick) {
  const picker = el('select', { class: 'move-picker', 'aria-label': t('moves.picker'), on: { change: () => { chooseMove(picker.value); onPick(picker.value); } } },
    moves.length ? null : el('option', { value: '', text: t('moves.none_option') }),
    moves.map((m) => el('option', { value: m.id, text: `${m.name} (${m.id})`, selected: m.id === selected })));
  return picker;
}

/**
 * A move's state in words (`planned`, `running`, `ended`, `cancelled`).
 * @param {string} state
 */
export function stateName(state) {
  const key = `moves.state_${state}`;
  return Object.hasOwn(messages.en, key) ? t(key) : state;
}

/**
 * How a view names the zone a move's times are in: "times in Asia/Shanghai (UTC+08:00)", the
 * offset at `millis` (format.js `zoneNote`, in the page's language).
 * @param {string} zone an IANA name
 * @param {number} [millis]
 */
export function zoneNote(zone, millis = Date.now()) {
  return t('moves.zone_note', { zone, offset: utcOffset(zone, millis) });
}

/**
 * The vehicles of a move as a move summary or plan lists them.
 * @param {Move | null | undefined} move
 * @returns {string[]}
 */
export function moveVehicles(move) {
  return (move && (move.vehicles || (move.plan && move.plan.vehicles))) || [];
}

/**
 * `#/moves`: every move, with what this person may do with it.
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} ctx
 */
export async function mountMoves(container, ctx) {
  const { me } = ctx;
  const table = el('tbody');
  const message = messageLine();
  container.append(el('section', { class: 'page' },
    el('h1', { text: t('moves.title') }),
    can(me, 'plan') ? el('p', {}, el('a', { href: '#/setup', class: 'button', text: t('moves.plan_new') })) : null,
    message.node,
    el('table', { class: 'moves' },
      el('thead', {}, el('tr', {}, [t('moves.col_name'), t('moves.col_id'), t('moves.col_vehicles'), t('moves.col_window'), t('moves.col_state'), t('moves.col_created'), ''].map((h) => el('th', { text: h })))),
      table)));

  /**
   * Ends a running move or cancels a planned one, after a confirmation; then lists again.
   * @param {Move} move
   * @param {'end' | 'cancel'} action
   * @param {string} reason
   */
  async function stop(move, action, reason) {
    const question = t(action === 'end' ? 'moves.confirm_end' : 'moves.confirm_cancel', { name: move.name });
    if (!window.confirm(question)) return;
    message.clear();
    try {
      await api.post(`/api/v1/moves/${seg(move.id)}/${action}`, { reason });
      message.ok(t(action === 'end' ? 'moves.ended' : 'moves.cancelled', { name: move.name }));
    } catch (e) {
      message.error(t(action === 'end' ? 'moves.not_ended' : 'moves.not_cancelled', { name: move.name, why: errorText(e) }));
    }
    await list();
  }

  /**
   * The reason field and button that end a running move or cancel a planned one.
   * @param {Move} move
   */
  function stopForm(move) {
    const action = move.state === 'running' ? 'end' : move.state === 'planned' ? 'cancel' : null;
    if (!action || !can(me, 'plan')) return null;
    const reason = el('input', { name: 'reason', required: true, maxlength: 500, placeholder: t('moves.reason_placeholder'), 'aria-label': t('moves.reason') });
    const label = t(action === 'end' ? 'moves.end' : 'moves.cancel');
    return el('form', {
      class: `stop-move ${action}`,
      on: { submit: (/** @type {Event} */ e) => { e.preventDefault(); void stop(move, action, /** @type {HTMLInputElement} */ (reason).value); } },
    }, reason, el('button', { type: 'submit', text: label }));
  }

  async function list() {
    const moves = await listMoves();
    replace(table);
    if (!moves.length) table.append(el('tr', {}, el('td', { colspan: 7, text: t('moves.none') })));
    for (const move of moves) table.append(row(move));
  }

  /** @param {Move} move */
  function row(move) {
    const links = [];
    if (can(me, 'live')) links.push(el('a', { href: '#/live', text: t('moves.link_live'), on: { click: () => chooseMove(move.id) } }));
    if (can(me, 'replay')) links.push(el('a', { href: `#/replay/${seg(move.id)}`, text: t('moves.link_replay') }));
    if (can(me, 'exports')) links.push(el('a', { href: `#/exports/${seg(move.id)}`, text: t('moves.link_exports') }));
    if (can(me, 'report')) links.push(el('a', { href: `#/report/${seg(move.id)}`, text: t('moves.link_report') }));
    links.push(el('a', { href: `#/seals/${seg(move.id)}`, class: 'seals-link', text: t('moves.link_seals') }));
    if (can(me, 'plan') && (move.state === 'planned' || move.state === 'running')) {
      links.push(el('a', { href: `#/edit/${seg(move.id)}`, class: 'edit-move', text: t('moves.link_edit') }));
    }
    // Each move's times in its own zone, named in its row (moves may be in different zones).
    const zone = move.time_zone;
    const window = move.window ? `${when(move.window.from, zone)} – ${when(move.window.to, zone)}` : '—';
    const end = move.end
      ? el('small', { class: 'move-end', text: t(move.end.cancelled ? 'moves.end_cancelled' : 'moves.end_ended', { at: when(move.end.at, zone), by: move.end.by, reason: move.end.reason }) })
      : null;
    return el('tr', { data: { move: move.id } },
      el('td', { text: move.name }),
      el('td', {}, el('code', { text: move.id })),
      el('td', { text: moveVehicles(move).join(', ') }),
      el('td', { class: 'window' }, window, el('br'), el('small', { class: 'time-zone', text: zoneNote(zone, ms(move.window?.from) || Date.now()) })),
      el('td', { class: 'state' }, el('span', { class: `move-state ${move.state}`, text: stateName(move.state) }), end ? el('br') : null, end),
      el('td', { text: t('moves.created_by', { at: when(move.created_at, zone), by: move.created_by }) }),
      el('td', { class: 'links' }, links.flatMap((l, i) => (i ? [' · ', l] : [l])), stopForm(move)));
  }

  await list();
  return () => replace(container);
}
