// @ts-check
// `#/history` (everyone signed in; escorts see their moves' alerts only, auditors a recent
// alert without its place, as the server answers): the alert history. Filters (opening time,
// move, vehicle, kind, state now, text in the note), newest first, a page at a time with
// "More" following the server's cursor, and "Download CSV" of everything the filters select.
// Every value from the server goes in as text.

import { api, download } from './api.js';
import { el, field, messageLine, replace, select } from './dom.js';
import { errorText } from './error_text.js';
import { actor, ALERT_KINDS, alertKind, alertState, dateTime, fromLocalInput } from './format.js';
import { translator } from './i18n.js';
import messages from './lang/history.js';

const t = translator(messages);

const PAGE = 100;

/**
 * What the filter form holds (empty strings: no filter).
 * @typedef {object} HistoryFilters
 * @property {string} from a datetime-local value
 * @property {string} to
 * @property {string} move
 * @property {string} vehicle
 * @property {string} kind
 * @property {string} state
 * @property {string} text
 */

/**
 * The query string of the history for `filters`, without the cursor and the page size:
 * filters left empty are left out, times become RFC 3339 (UTC).
 * @param {HistoryFilters} filters
 * @returns {URLSearchParams}
 */
export function historyQuery(filters) {
  const query = new URLSearchParams();
  for (const name of /** @type {const} */ (['from', 'to'])) {
    const time = filters[name] ? fromLocalInput(filters[name]) : null;
    if (time) query.set(name, time);
  }
  for (const name of /** @type {const} */ (['move', 'vehicle', 'kind', 'state', 'text'])) {
    const value = filters[name].trim();
    if (value) query.set(name, value);
  }
  return query;
}

/**
 * @param {HTMLElement} container
 */
export async function mountHistory(container) {
  const message = messageLine();
  const inputs = {
    from: el('input', { type: 'datetime-local', name: 'from' }),
    to: el('input', { type: 'datetime-local', name: 'to' }),
    move: el('input', { name: 'move', placeholder: t('history.move_placeholder'), maxlength: 200 }),
    vehicle: el('input', { name: 'vehicle', placeholder: t('history.vehicle_placeholder'), maxlength: 64 }),
    kind: select([['', t('history.any_kind')], ...Object.entries(ALERT_KINDS)], { name: 'kind' }),
    state: select([['', t('history.any_state')], ['open', t('history.open')], ['acknowledged', t('history.acknowledged')], ['resolved', t('history.resolved')]], { name: 'state' }),
    text: el('input', { name: 'text', placeholder: t('history.text_placeholder'), maxlength: 200 }),
  };
  const rows = el('tbody');
  const count = el('p', { class: 'meta history-count' });
  const more = el('button', { type: 'button', class: 'secondary more', text: t('history.more'), hidden: true });
  const csv = el('button', { type: 'button', class: 'secondary csv', text: t('download_csv') });
  /** The filters of the list shown, and the cursor of its next page. */
  let shown = new URLSearchParams();
  /** @type {string | null} */
  let next = null;
  let listed = 0;

  function filters() {
    return historyQuery({
      from: inputs.from.value, to: inputs.to.value, move: inputs.move.value, vehicle: inputs.vehicle.value,
      kind: inputs.kind.value, state: inputs.state.value, text: inputs.text.value,
    });
  }

  /** @param {boolean} reset */
  async function load(reset) {
    message.clear();
    if (reset) {
      shown = filters();
      next = null;
      listed = 0;
      replace(rows);
    }
    const query = new URLSearchParams(shown);
    query.set('limit', String(PAGE));
    if (next) query.set('cursor', next);
    more.disabled = true;
    try {
      /** @type {{ alerts: import('./api.js').Alert[], next: string | null }} */
      const page = await api.get(`/api/v1/alerts/history?${query}`);
      for (const a of page.alerts) {
        rows.append(el('tr', { data: { alert: a.id }, class: `state-${a.state}` },
          el('td', { class: 'opened', text: dateTime(a.opened_t ?? a.t ?? '') }),
          el('td', { class: 'kind', text: alertKind(a.kind) }),
          el('td', { class: 'state', text: alertState(a.state) }),
          el('td', { class: 'vehicle', text: a.vehicle }),
          el('td', { class: 'move', text: a.move ?? '' }),
          el('td', { class: 'zone', text: a.zone ?? '' }),
          el('td', { class: 'by', text: [a.acknowledged_by, a.resolved_by].filter(Boolean).map(actor).join(' / ') }),
          el('td', { class: 'note', text: a.note ?? '' })));
      }
      listed += page.alerts.length;
      next = page.next;
      more.hidden = !next;
      const counted = t(listed === 1 ? 'history.count_one' : 'history.count_many', { n: listed });
      count.textContent = next ? t('history.more_to_come', { count: counted }) : counted;
      if (!listed) rows.append(el('tr', {}, el('td', { colspan: 8, class: 'empty', text: t('history.none') })));
    } catch (e) {
      message.error(t('history.cannot_read', { error: errorText(e) }));
    } finally {
      more.disabled = false;
    }
  }

  async function downloadCsv() {
    message.clear();
    const query = filters();
    query.set('format', 'csv');
    csv.disabled = true;
    try {
      const name = await download(`/api/v1/alerts/history?${query}`, 'alerts.csv');
      message.ok(t('saved', { name }));
    } catch (e) {
      message.error(t('not_downloaded', { error: errorText(e) }));
    } finally {
      csv.disabled = false;
    }
  }

  more.addEventListener('click', () => load(false));
  csv.addEventListener('click', downloadCsv);
  container.append(el('section', { class: 'page history' },
    el('h1', { text: t('history.title') }),
    el('form', { class: 'history-filters', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); load(true); } } },
      el('div', { class: 'row' }, field(t('history.opened_from'), inputs.from), field(t('history.to'), inputs.to)),
      el('div', { class: 'row' }, field(t('history.move'), inputs.move), field(t('history.vehicle'), inputs.vehicle),
        field(t('history.kind'), inputs.kind), field(t('history.state'), inputs.state)),
      el('div', { class: 'row' }, field(t('history.note_contains'), inputs.text)),
      el('div', { class: 'row' }, el('button', { type: 'submit', text: t('history.show') }), csv)),
    message.node, count,
    el('table', { class: 'history-list' },
      el('thead', {}, el('tr', {}, ['opened', 'kind', 'state', 'vehicle', 'move', 'zone', 'by', 'note'].map((h) => el('th', { text: t(`history.col.${h}`) })))),
      rows),
    more));
  await load(true);
  return () => replace(container);
}
