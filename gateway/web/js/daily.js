// @ts-check
// `#/daily` (those who may read reports): the daily report. A day (a calendar day in UTC, or in
// the time zone named; yesterday, UTC, to begin with) and optionally a vehicle; one row per
// vehicle that drove or raised an alert that day:
// distance, time moving and stopped, the longest stop, data gaps, coverage and alerts by
// kind; "Download CSV" of the same rows. Formatting is daily_format.js's; every value from
// the server goes in as text.

import { api, download } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { DAILY_COLUMNS, dailyCells, dailyQuery, defaultDay, spanLine, utcDay } from './daily_format.js';
import { timeZoneInput } from './time_zones.js';

/**
 * @param {HTMLElement} container
 */
export async function mountDaily(container) {
  const message = messageLine();
  const day = el('input', { type: 'date', name: 'day', required: true, value: defaultDay(Date.now()), max: utcDay(Date.now()) });
  const vehicle = el('input', { name: 'vehicle', placeholder: 'every vehicle', maxlength: 64 });
  // Whose calendar day: UTC unless a zone is named.
  const zone = timeZoneInput('', { placeholder: 'UTC' });
  const rows = el('tbody');
  const span = el('p', { class: 'meta daily-span' });
  const csv = el('button', { type: 'button', class: 'secondary csv', text: 'Download CSV' });

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
        rows.append(el('tr', {}, el('td', { colspan: DAILY_COLUMNS.length, class: 'empty', text: 'No vehicle drove or raised an alert that day.' })));
      }
    } catch (e) {
      message.error(`Cannot read the daily report: ${e.message}`);
    }
  }

  async function downloadCsv() {
    message.clear();
    const query = asked();
    query.set('format', 'csv');
    csv.disabled = true;
    try {
      const name = await download(`/api/v1/reports/daily?${query}`, `daily-${day.value}.csv`);
      message.ok(`Saved ${name}.`);
    } catch (e) {
      message.error(`Not downloaded: ${e.message}`);
    } finally {
      csv.disabled = false;
    }
  }

  csv.addEventListener('click', downloadCsv);
  container.append(el('section', { class: 'page daily' },
    el('h1', { text: 'Daily report' }),
    el('form', { class: 'daily-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); load(); } } },
      el('div', { class: 'row' },
        field('Day', day), field('Time zone', zone.input), zone.list, field('Vehicle', vehicle),
        el('button', { type: 'submit', text: 'Show' }), csv)),
    message.node, span,
    el('table', { class: 'daily-list' },
      el('thead', {}, el('tr', {}, DAILY_COLUMNS.map((h) => el('th', { text: h })))),
      rows)));
  await load();
  return () => replace(container);
}
