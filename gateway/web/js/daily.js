// @ts-check
// `#/daily` (those who may read reports): the daily report. A day (a calendar day in UTC, or in
// the time zone named; yesterday, UTC, to begin with) and optionally a vehicle; one row per
// vehicle that drove or raised an alert that day:
// distance, time moving and stopped, the longest stop, data gaps, coverage and alerts by
// kind; "Download CSV" of the same rows. Formatting is daily_format.js's; every value from
// the server goes in as text.

import { api, download } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { DAILY_COLUMNS, dailyCells, dailyColumns, dailyQuery, defaultDay, spanLine, utcDay } from './daily_format.js';
import { errorText } from './error_text.js';
import { timeZoneInput } from './time_zones.js';
import { translator } from './i18n.js';
import messages from './lang/history.js';

const t = translator(messages);

/**
 * @param {HTMLElement} container
 */
export async function mountDaily(container) {
  const message = messageLine();
  const day = el('input', { type: 'date', name: 'day', required: true, value: defaultDay(Date.now()), max: utcDay(Date.now()) });
  const vehicle = el('input', { name: 'vehicle', placeholder: t('daily.every_vehicle'), maxlength: 64 });
  // Whose calendar day: UTC unless a zone is named.
  const zone = timeZoneInput('', { placeholder: 'UTC' });
  const rows = el('tbody');
  const span = el('p', { class: 'meta daily-span' });
  const csv = el('button', { type: 'button', class: 'secondary csv', text: t('download_csv') });

  function asked() {
    return dailyQuery({ day: day.value, vehicle: vehicle.value, time_zone: zone.input.value });
  }

  async function load() {
    message.clear();
    replace(rows);
    span.textContent = '';
    try {
      /** @type {import('./daily_format.js').DailyReport} */
      const report = await api.get(`/api/v1/reports/daily?${asked()}`);
      span.textContent = spanLine(report);
      for (const row of report.vehicles) {
        const cells = dailyCells(row);
        rows.append(el('tr', { data: { vehicle: row.vehicle } },
          cells.map((text, i) => el('td', { class: `c${i}`, text }))));
      }
      if (!report.vehicles.length) {
        rows.append(el('tr', {}, el('td', { colspan: DAILY_COLUMNS.length, class: 'empty', text: t('daily.none') })));
      }
    } catch (e) {
      message.error(t('daily.cannot_read', { error: errorText(e) }));
    }
  }

  async function downloadCsv() {
    message.clear();
    const query = asked();
    query.set('format', 'csv');
    csv.disabled = true;
    try {
      const name = await download(`/api/v1/reports/daily?${query}`, `daily-${day.value}.csv`);
      message.ok(t('saved', { name }));
    } catch (e) {
      message.error(t('not_downloaded', { error: errorText(e) }));
    } finally {
      csv.disabled = false;
    }
  }

  csv.addEventListener('click', downloadCsv);
  container.append(el('section', { class: 'page daily' },
    el('h1', { text: t('daily.title') }),
    el('form', { class: 'daily-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); load(); } } },
      el('div', { class: 'row' },
        field(t('daily.day'), day), field(t('daily.time_zone'), zone.input), zone.list, field(t('daily.vehicle'), vehicle),
        el('button', { type: 'submit', text: t('daily.show') }), csv)),
    message.node, span,
    el('table', { class: 'daily-list' },
      el('thead', {}, el('tr', {}, dailyColumns().map((h) => el('th', { text: h })))),
      rows)));
  await load();
  return () => replace(container);
}
