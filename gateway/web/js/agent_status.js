// @ts-check
// A vehicle's agent status history on the Vehicles view (`GET /api/v1/vehicles/{id}/status`):
// the reports its agent sent over the last day, newest first, so a dispatcher can tell when it
// was last heard, whether its receiver had a fix, and how many fixes waited in its spool while
// the network was away.

import { api, seg } from './api.js';
import { el, messageLine, replace } from './dom.js';
import { duration, finite } from './format.js';
import { formatNumber, translator } from './i18n.js';
import messages from './lang/vehicles.js';
import { errorText } from './error_text.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * One report (`StatusReport`); a field the agent did not send is absent.
 * @typedef {object} StatusReport
 * @property {string} received_at
 * @property {string} [state]
 * @property {string} [version]
 * @property {string} [gnss]
 * @property {number} [spool_depth]
 * @property {number} [spool_oldest_age_s]
 * @property {number} [spool_dropped]
 */

/**
 * The history (`StatusHistory`).
 * @typedef {object} StatusHistory
 * @property {string | null} last_seen
 * @property {StatusReport[]} reports
 * @property {boolean} truncated
 */

/**
 * "Online", "Offline", or what the agent said.
 * @param {string | undefined} state
 */
export function stateText(state) {
  switch (state) {
    case 'online': return t('status.online');
    case 'offline': return t('status.offline');
    default: return state ?? '—';
  }
}

/**
 * What the receiver had, in words.
 * @param {string | undefined} gnss
 */
export function receiverText(gnss) {
  switch (gnss) {
    case 'fix': return t('status.fix');
    case 'no_fix': return t('status.no_fix');
    case 'no_data': return t('status.no_data');
    default: return gnss ?? '—';
  }
}

/**
 * The spool in words: "empty", or how many fixes wait, how old the oldest is, and how many
 * its bound dropped.
 * @param {StatusReport} report
 */
export function spoolText(report) {
  const depth = report.spool_depth;
  if (!finite(depth)) return '—';
  const dropped = finite(report.spool_dropped) && report.spool_dropped > 0 ? t('status.dropped', { n: formatNumber(report.spool_dropped) }) : '';
  if (depth === 0) return `${t('status.empty')}${dropped}`;
  const oldest = finite(report.spool_oldest_age_s) ? t('status.oldest', { age: duration(report.spool_oldest_age_s) }) : '';
  return `${t('status.waiting', { n: formatNumber(depth) })}${oldest}${dropped}`;
}

/**
 * Reads `id`'s last day of reports into `box`.
 * @param {HTMLElement} box
 * @param {string} id
 */
export async function showStatusHistory(box, id) {
  const message = messageLine();
  replace(box, el('h2', { text: t('status.title', { id }) }), message.node);
  /** @type {StatusHistory} */
  let history;
  try {
    history = await api.get(`/api/v1/vehicles/${seg(id)}/status`);
  } catch (e) {
    message.error(t('status.cannot_read', { why: errorText(e) }));
    return;
  }
  box.append(el('p', { class: 'last-heard',
    text: history.last_seen ? t('status.last_heard', { at: when(history.last_seen) }) : t('status.no_report') }));
  if (!history.reports.length) return;
  const columns = [t('status.col_received'), t('status.col_state'), t('status.col_receiver'), t('status.col_spool'), t('status.col_version')];
  const rows = history.reports.map((report) => el('tr', {},
    el('td', { class: 'received', text: when(report.received_at) }),
    el('td', { class: 'state', text: stateText(report.state) }),
    el('td', { class: 'receiver', text: receiverText(report.gnss) }),
    el('td', { class: 'spool', text: spoolText(report) }),
    el('td', { class: 'version', text: report.version ?? '—' })));
  box.append(el('table', { class: 'status-reports' },
    el('thead', {}, el('tr', {}, columns.map((h) => el('th', { text: h })))), el('tbody', {}, rows)));
  if (history.truncated) box.append(el('p', { class: 'hint', text: t('status.truncated', { n: formatNumber(1000) }) }));
}
