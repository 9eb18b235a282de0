// @ts-check
// `#/audit` (admin, auditor): the audit log, oldest first, a page at a time, filtered by
// person or action, with the hash chain's head (`convoy audit verify` checks the chain).
// An action is shown by its code in English (what the filter takes), in Chinese by its name
// with the code as the cell's title; an entry's detail is the record's JSON as stored, which in
// Chinese opens on demand.

import { api } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { language, translator } from './i18n.js';
import messages from './lang/audit.js';
import { errorText } from './error_text.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * An action's cell: its code and its name in words, one shown and the other as the title.
 * Actions the catalogue does not name (added later) show their code in either language.
 * @param {string} action
 * @returns {{ text: string, title: string | null }}
 */
export function actionCell(action) {
  const key = `action.${action}`;
  const name = Object.hasOwn(messages.en, key) ? t(key) : null;
  if (language() === 'en' || !name) return { text: action, title: name };
  return { text: name, title: action };
}

/**
 * Who or what an entry names when it is not a person, a vehicle or a move but a whole list
 * (`vehicles`, `audit_log`…), a hold (`hold:3`) or the server itself (`system`): in Chinese in
 * words, else as recorded.
 * @param {string | null} value
 */
export function listName(value) {
  if (!value || language() === 'en') return value ?? '';
  const hold = /^hold:(\d+)$/.exec(value);
  if (hold) return t('name.hold', { id: hold[1] });
  const key = `name.${value}`;
  return Object.hasOwn(messages['zh-CN'], key) ? t(key) : value;
}

/**
 * An entry's detail as the cell shows it: the stored JSON (in Chinese folded under "详情").
 * @param {Record<string, unknown> | null} detail
 */
function detailCell(detail) {
  if (!detail || !Object.keys(detail).length) return el('code', { class: 'detail', text: '' });
  const json = el('code', { class: 'detail', text: JSON.stringify(detail) });
  return language() === 'en' ? json : el('details', {}, el('summary', { text: t('audit.detail_open') }), json);
}

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
  const actor = el('input', { name: 'actor', placeholder: t('audit.actor_placeholder') });
  const action = el('input', { name: 'action', placeholder: t('audit.action_placeholder') });
  const rows = el('tbody');
  const head = el('p', { class: 'meta audit-head' });
  const more = el('button', { type: 'button', class: 'secondary more', text: t('audit.next_page'), hidden: true });
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
          el('td', { text: String(e.seq) }), el('td', { text: when(e.at) }), el('td', { class: 'actor', text: e.actor ? listName(e.actor) : '—' }),
          el('td', { class: 'action', ...actionCell(e.action) }), el('td', { text: listName(e.target) }), el('td', { text: e.from ?? '' }),
          el('td', {}, detailCell(e.detail))));
        afterSeq = e.seq;
      }
      head.textContent = t('audit.head', { seq: body.head.seq, hash: body.head.hash });
      more.hidden = body.entries.length < PAGE;
    } catch (e) {
      message.error(t('audit.cannot_read', { why: errorText(e) }));
    }
  }

  more.addEventListener('click', () => load(false));
  container.append(el('section', { class: 'page audit' },
    el('h1', { text: t('audit.title') }),
    el('form', { class: 'row', on: { submit: (e) => { e.preventDefault(); load(true); } } },
      field(t('audit.person'), actor), field(t('audit.action'), action), el('button', { type: 'submit', text: t('audit.show') })),
    head, message.node,
    el('table', {}, el('thead', {}, el('tr', {}, ['#', t('audit.col_when'), t('audit.col_who'), t('audit.col_what'), t('audit.col_target'), t('audit.col_from'), t('audit.col_detail')].map((h) => el('th', { text: h })))), rows),
    more));
  await load(true);
  return () => replace(container);
}
