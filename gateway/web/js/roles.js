// @ts-check
// What a person may do comes from the server: `GET /api/v1/me` lists their `abilities`, taken
// from the server's one table of roles (convoy_core::Ability), the same table its handlers
// check. The page keeps no copy of that table: it hides what a person may not do (the server
// refuses it anyway).

/** @typedef {import('./api.js').Me} Me */

/**
 * The abilities that come with the list of moves (`#/moves`): planning a move, or reading one's
 * history. (Admins, dispatchers and auditors have some; escorts have none.)
 */
const MOVES_LIST = ['plan', 'replay', 'exports', 'report'];

/**
 * Whether the person may do `what`, one of the server's abilities (`live`, `plan`, …).
 * @param {Me | null} me
 * @param {string} what
 */
export function can(me, what) {
  return Boolean(me && Array.isArray(me.abilities) && me.abilities.includes(what));
}

/**
 * Whether the person is shown the list of moves.
 * @param {Me | null} me
 */
export function seesMoves(me) {
  return MOVES_LIST.some((what) => can(me, what));
}

/**
 * The view a person lands on after login: the live map for those who watch live, else the
 * list of moves; null for someone who may see neither (the page has nothing to show them).
 * @param {Me | null} me
 * @returns {string | null}
 */
export function home(me) {
  if (can(me, 'live')) return '#/live';
  return seesMoves(me) ? '#/moves' : null;
}
