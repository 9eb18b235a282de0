// @ts-check
// `#/audit` (admin, auditor): the audit log, oldest first, a page at a time, filtered by
// person or action, with the hash chain's head (`convoy audit verify` checks the chain).

import { api } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { dateTime } from './format.js';

const PAGE = 200;

/**
 * An entry of the audit log (`GET /api/v1/audit`).
 * @typedef {object} AuditEntry
 * @property {number} seq
 * @property {string} at
 * @property {string | null} actor
 * @property {string} action
 * @property {string | null} target
 * @property {string | null} from
 * @property {Record<string, unknown> | null} detail
 */

/** @param {HTMLElement} container */
export async function mountAudit(container) {
  const message = messageLine();
  const actor = el('input', { name: 'actor', placeholder: 'user name' });
  const action = el('input', { name: 'action', placeholder: 'e.g. move.export' });
  const rows = el('tbody');
  const head = el('p', { class: 'meta audit-head' });
  const more = el('button', { type: 'button', class: 'secondary more', text: 'Next page', hidden: true });
  /** @type {number | null} */
  let afterSeq = null;

  /** @param {boolean} reset */
  async function load(reset) {
    message.clear();
    if (reset) {
      afterSeq = null;
      replace(rows);
    }
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (actor.value.trim()) query.set('actor', actor.value.trim());
    if (action.value.trim()) query.set('action', action.value.trim());
    if (afterSeq !== null) query.set('after_seq', String(afterSeq));
    try {
      /** @type {{ entries: AuditEntry[], head: { seq: number, hash: string } }} */
      const body = await api.get(`/api/v1/audit?${query}`);
      for (const e of body.entries) {
        rows.append(el('tr', { data: { seq: String(e.seq) } },
          el('td', { text: String(e.seq) }), el('td', { text: dateTime(e.at) }), el('td', { class: 'actor', text: e.actor ?? '—' }),
          el('td', { class: 'action', text: e.action }), el('td', { text: e.target ?? '' }), el('td', { text: e.from ?? '' }),
          el('td', {}, el('code', { class: 'detail', text: e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : '' }))));
        afterSeq = e.seq;
      }
      head.textContent = `Chain head: entry ${body.head.seq}, hash ${body.head.hash}`;
      more.hidden = body.entries.length < PAGE;
    } catch (e) {
      message.error(`Cannot read the audit log: ${e.message}`);
    }
  }

  more.addEventListener('click', () => load(false));
  container.append(el('section', { class: 'page audit' },
    el('h1', { text: 'Audit log' }),
    el('form', { class: 'row', on: { submit: (e) => { e.preventDefault(); load(true); } } },
      field('Person', actor), field('Action', action), el('button', { type: 'submit', text: 'Show' })),
    head, message.node,
    el('table', {}, el('thead', {}, el('tr', {}, ['#', 'When', 'Who', 'What', 'Target', 'From', 'Detail'].map((h) => el('th', { text: h })))), rows),
    more));
  await load(true);
  return () => replace(container);
}
