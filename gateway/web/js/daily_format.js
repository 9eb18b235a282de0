// @ts-check
// How the daily report reads (`#/daily`, daily.js): the default day, the query, and each row's
// cells. Pure, so tests/web/daily.test.mjs checks it without a browser.

import { ALERT_KINDS, clock, decimal } from './format.js';
import { formatDate, language, translator } from './i18n.js';
import messages from './lang/history.js';

const t = translator(messages);

const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');

/**
 * One vehicle's row as the server answers it (GET /api/v1/reports/daily).
 * @typedef {object} DailyRow
 * @property {string} vehicle
 * @property {string | null} first_fix
 * @property {string | null} last_fix
 * @property {number} fixes
 * @property {number} implausible_fixes
 * @property {number} distance_m
 * @property {number} moving_s
 * @property {number} stopped_s
 * @property {number} stops
 * @property {{ from: string, to: string, duration_s: number, lat: number, lon: number } | null} longest_stop
 * @property {number} gaps
 * @property {number} covered_s
 * @property {number} coverage 0 to 1
 * @property {Record<string, number>} alerts by kind
 * @property {number} alerts_total
 */

/**
 * The report as the server answers it.
 * @typedef {object} DailyReport
 * @property {string} day
 * @property {string} time_zone
 * @property {string} from
 * @property {string} to
 * @property {boolean} partial
 * @property {DailyRow[]} vehicles
 */

/**
 * The UTC day of a time, "2026-12-01".
 * @param {number} millis
 */
export function utcDay(millis) {
  const d = new Date(millis);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/**
 * The day the page opens on: yesterday (UTC), the last whole day.
 * @param {number} nowMillis
 */
export function defaultDay(nowMillis) {
  return utcDay(nowMillis - 86_400_000);
}

/**
 * The query string of the report: the day, and the vehicle and the time zone (an IANA name
 * whose calendar day it is; UTC without) if given.
 * @param {{ day: string, vehicle: string, time_zone?: string }} asked
 * @returns {URLSearchParams}
 */
export function dailyQuery(asked) {
  const query = new URLSearchParams({ day: asked.day.trim() });
  const vehicle = asked.vehicle.trim();
  if (vehicle) query.set('vehicle', vehicle);
  const zone = (asked.time_zone || '').trim();
  if (zone) query.set('time_zone', zone);
  return query;
}

/**
 * Metres as kilometres with one decimal: "12.3".
 * @param {number} metres
 */
export function kilometres(metres) {
  return Number.isFinite(metres) ? decimal(metres / 1000, 1) : '—';
}

/**
 * Seconds as hours and minutes, "h:mm" (rounded to the minute): 3725 → "1:02".
 * @param {number} seconds
 */
export function hoursMinutes(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}:${pad(minutes % 60)}`;
}

/**
 * A share (0 to 1) as a percentage with one decimal: "97.5 %".
 * @param {number} share
 */
export function percent(share) {
  return Number.isFinite(share) ? t('daily.percent', { n: decimal(share * 100, 1) }) : '—';
}

/**
 * The alerts by kind that happened, "Overspeed 2 · Off route 1" in the kinds' usual order;
 * "—" for none.
 * @param {Record<string, number>} alerts
 */
export function alertCounts(alerts) {
  const known = Object.keys(ALERT_KINDS);
  const kinds = Object.keys(alerts).sort((a, b) => rank(known, a) - rank(known, b) || a.localeCompare(b));
  const parts = kinds.filter((kind) => alerts[kind] > 0).map((kind) => `${ALERT_KINDS[kind] ?? kind} ${alerts[kind]}`);
  return parts.length ? parts.join(' · ') : '—';
}

/**
 * @param {string[]} known
 * @param {string} kind
 */
function rank(known, kind) {
  const i = known.indexOf(kind);
  return i < 0 ? known.length : i;
}

/** The table's columns, in order (their headings: `dailyColumns`). */
export const DAILY_COLUMNS = ['vehicle', 'km', 'moving', 'stopped', 'stops', 'longest_stop', 'gaps', 'coverage', 'alerts'];

/** The table's headings, in DAILY_COLUMNS' order, in the page's language. */
export function dailyColumns() {
  return DAILY_COLUMNS.map((column) => t(`daily.col.${column}`));
}

/**
 * A row's cells, as text, in DAILY_COLUMNS' order.
 * @param {DailyRow} row
 * @returns {string[]}
 */
export function dailyCells(row) {
  return [
    row.vehicle,
    kilometres(row.distance_m),
    hoursMinutes(row.moving_s),
    hoursMinutes(row.stopped_s),
    String(row.stops),
    row.longest_stop ? hoursMinutes(row.longest_stop.duration_s) : '—',
    String(row.gaps),
    percent(row.coverage),
    alertCounts(row.alerts),
  ];
}

/**
 * What the report covers: "2026-12-01, 00:00 to 24:00 UTC", or up to where it was cut ("until
 * 13:05 UTC": today, or an auditor's delay), in the report's time zone.
 * @param {DailyReport} report
 */
export function spanLine(report) {
  const day = dayText(report.day);
  if (!report.partial) return t('daily.span_whole', { day, zone: report.time_zone });
  const to = new Date(report.to);
  if (report.from === report.to) return t('daily.span_nothing', { day });
  return t('daily.span_until', { day, time: clock(to.getTime(), report.time_zone).slice(0, 5), zone: report.time_zone });
}

/**
 * A calendar day ("2026-12-01") as the page's language writes it: as it is in English, in
 * Chinese 2026年12月1日.
 * @param {string} day
 */
export function dayText(day) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (language() === 'en' || !match) return day;
  const millis = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return formatDate(millis, { year: 'numeric', month: 'long', day: 'numeric' }, 'UTC');
}
