// @ts-check
// Moves: reading them from the API, a picker for the views that work on one move, and the
// list of moves with links to what a role may do with each.

import { api, seg } from './api.js';
import { el, replace } from './dom.js';
import { dateTime, ms } from './format.js';
import { can } from './roles.js';

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
  const picker = el('select', { class: 'move-picker', 'aria-label': 'Move', on: { change: () => { chooseMove(picker.value); onPick(picker.value); } } },
    moves.length ? null : el('option', { value: '', text: 'No moves yet' }),
    moves.map((m) => el('option', { value: m.id, text: `${m.name} (${m.id})`, selected: m.id === selected })));
  return picker;
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
  container.append(el('section', { class: 'page' },
    el('h1', { text: 'Moves' }),
    can(me, 'plan') ? el('p', {}, el('a', { href: '#/setup', class: 'button', text: 'Plan a new move' })) : null,
    el('table', { class: 'moves' },
      el('thead', {}, el('tr', {}, ['Name', 'Id', 'Vehicles', 'Window', 'Created', ''].map((h) => el('th', { text: h })))),
      table)));
  const moves = await listMoves();
  if (!moves.length) table.append(el('tr', {}, el('td', { colspan: 6, text: 'No moves yet.' })));
  for (const move of moves) {
    const links = [];
    if (can(me, 'live')) links.push(el('a', { href: '#/live', text: 'Live', on: { click: () => chooseMove(move.id) } }));
    if (can(me, 'replay')) links.push(el('a', { href: `#/replay/${seg(move.id)}`, text: 'Replay' }));
    if (can(me, 'exports')) links.push(el('a', { href: `#/exports/${seg(move.id)}`, text: 'Exports' }));
    if (can(me, 'report')) links.push(el('a', { href: `#/report/${seg(move.id)}`, text: 'Report' }));
    const window = move.window ? `${dateTime(move.window.from)} – ${dateTime(move.window.to)}` : '—';
    table.append(el('tr', { data: { move: move.id } },
      el('td', { text: move.name }),
      el('td', {}, el('code', { text: move.id })),
      el('td', { text: moveVehicles(move).join(', ') }),
      el('td', { text: window }),
      el('td', { text: `${dateTime(move.created_at)} by ${move.created_by}` }),
      el('td', { class: 'links' }, links.flatMap((l, i) => (i ? [' · ', l] : [l])))));
  }
  return () => replace(container);
}
