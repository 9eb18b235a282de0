// @ts-check
// How times, ages, durations and distances read on the page, in its language (i18n.js): the
// texts come from lang/format.js; a date in English reads "2026-11-29 13:20:05", in Chinese as
// Intl writes it there ("2026/11/29 13:20:05").

import { formatDate, formatNumber, language, translator } from './i18n.js';
import messages from './lang/format.js';

const t = translator(messages);

const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');

/**
 * Milliseconds since the epoch of an RFC 3339 time, or NaN.
 * @param {string | null | undefined} time
 */
export function ms(time) {
  return time ? Date.parse(time) : NaN;
}

/**
 * "12 s ago", "3 min ago", "2 h ago" for an age in milliseconds.
 * @param {number} millis
 */
export function age(millis) {
  if (!Number.isFinite(millis)) return t('age.none');
  const s = Math.max(0, Math.round(millis / 1000));
  if (s < 90) return t('age.s', { n: s });
  if (s < 90 * 60) return t('age.min', { n: Math.round(s / 60) });
  if (s < 48 * 3600) return t('age.h', { n: Math.round(s / 3600) });
  return t('age.d', { n: Math.round(s / 86400) });
}

/**
 * The calendar and clock fields of a moment in `zone` (an IANA name), or in the browser's own
 * zone without one (or with a name this browser does not know).
 * @param {Date} d
 * @param {string | null | undefined} zone
 * @returns {{year: number, month: number, day: number, hour: number, minute: number, second: number}}
 */
function fields(d, zone) {
  const format = zone ? zoneFormat(zone) : null;
  if (!format) {
    return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), minute: d.getMinutes(), second: d.getSeconds() };
  }
  /** @type {Record<string, number>} */
  const part = {};
  for (const { type, value } of format.formatToParts(d)) part[type] = Number(value);
  return { year: part.year, month: part.month, day: part.day, hour: part.hour % 24, minute: part.minute, second: part.second };
}

/** @type {Map<string, Intl.DateTimeFormat | null>} */
const zoneFormats = new Map();

/**
 * A formatter of numeric fields in `zone`, made once per zone; null for a name the browser's
 * time zone data does not know.
 * @param {string} zone
 */
function zoneFormat(zone) {
  if (!zoneFormats.has(zone)) {
    let format = null;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      format = null;
    }
    zoneFormats.set(zone, format);
  }
  return zoneFormats.get(zone) ?? null;
}

/**
 * A clock time, "13:20:05", in `zone` (an IANA name such as a move's `time_zone`), or in the
 * browser's zone without one.
 * @param {string | number | null | undefined} time an RFC 3339 time or milliseconds
 * @param {string | null} [zone]
 */
export function clock(time, zone) {
  const d = new Date(typeof time === 'number' ? time : ms(time));
  if (Number.isNaN(d.getTime())) return '—';
  const f = fields(d, zone);
  return `${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
}

/**
 * A date and time, "2026-11-29 13:20:05", in `zone` (an IANA name), or in the browser's zone
 * without one.
 * @param {string | number | null | undefined} time an RFC 3339 time or milliseconds
 * @param {string | null} [zone]
 */
export function dateTime(time, zone) {
  const d = new Date(typeof time === 'number' ? time : ms(time));
  if (Number.isNaN(d.getTime())) return '—';
  if (language() !== 'en') return localDateTime(d, zone);
  const f = fields(d, zone);
  return `${f.year}-${pad(f.month)}-${pad(f.day)} ${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
}

/**
 * A date and time as Intl writes it in the page's language, in `zone` if this browser knows it.
 * @param {Date} d
 * @param {string | null | undefined} zone
 */
function localDateTime(d, zone) {
  const options = /** @type {const} */ ({ year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return formatDate(d, options, zone && zoneFormat(zone) ? zone : undefined);
}

/**
 * `zone`'s offset from UTC at a moment, "UTC+08:00", "UTC-03:30".
 * @param {string} zone an IANA name
 * @param {number} millis
 */
export function utcOffset(zone, millis) {
  const f = fields(new Date(millis), zone);
  const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  const minutes = Math.round((wall - Math.floor(millis / 1000) * 1000) / 60_000);
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * How a view names the zone its times are in: "times in Asia/Shanghai (UTC+08:00)", the offset
 * at `millis` (now by default).
 * @param {string} zone an IANA name
 * @param {number} [millis]
 */
export function zoneNote(zone, millis = Date.now()) {
  return t('zone_note', { zone, offset: utcOffset(zone, millis) });
}

/**
 * "6 min 5 s", "1 h 2 min", "40 s".
 * @param {number} seconds
 */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return t('duration.s', { s });
  if (s < 3600) return t('duration.min_s', { m: Math.floor(s / 60), s: s % 60 });
  // Rounded to the minute before splitting, so 1 h 59 min 40 s reads "2 h 0 min", not "1 h 60 min".
  const minutes = Math.round(s / 60);
  return t('duration.h_min', { h: Math.floor(minutes / 60), m: minutes % 60 });
}

/**
 * "12.3 km".
 * @param {number | null | undefined} value
 */
export function km(value) {
  return finite(value) ? t('km', { n: decimal(value, 1) }) : '—';
}

/**
 * A number with `digits` decimals, as the page's language writes it, without grouping (as
 * toFixed: "12345.6").
 * @param {number} value
 * @param {number} digits
 */
export function decimal(value, digits) {
  return formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
}

/**
 * Whether `value` is a finite number: Number.isFinite, which the type checker does not take
 * as telling the type.
 * @param {unknown} value
 * @returns {value is number}
 */
export function finite(value) {
  return Number.isFinite(value);
}

/**
 * The value of a `<input type=datetime-local>` for a time: its wall time in `zone` (an IANA
 * name), or in the browser's own zone when none is given or the name is unknown.
 * @param {number} millis
 * @param {string} [zone]
 */
export function toLocalInput(millis, zone) {
  const f = fields(new Date(millis), zone);
  return `${f.year}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}`;
}

/**
 * The RFC 3339 UTC time of a `datetime-local` input's value read as a wall time in `zone` (an
 * IANA name: a move's times are written in its zone, wherever the person planning it sits);
 * the browser's own zone when none is given or the name is unknown. Null for no time.
 * @param {string} value `YYYY-MM-DDTHH:MM[:SS]`
 * @param {string} [zone]
 */
export function fromLocalInput(value, zone) {
  if (!zone || !zoneFormat(zone)) {
    const t = new Date(value).getTime();
    return Number.isNaN(t) ? null : new Date(t).toISOString();
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] || 0));
  // The zone's offset at that wall time: first guessed at the wall time taken as UTC, then
  // taken again at the instant that gives, which settles it across a change of daylight saving.
  const first = wall - offsetMillis(zone, wall);
  return new Date(wall - offsetMillis(zone, first)).toISOString();
}

/**
 * How far `zone`'s clocks are ahead of UTC at `millis`, in milliseconds.
 * @param {string} zone
 * @param {number} millis
 */
function offsetMillis(zone, millis) {
  const f = fields(new Date(millis), zone);
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - Math.floor(millis / 1000) * 1000;
}

/**
 * An object of `keys` whose values are read in the current language at each look
 * (`labels(['a'], f).a` is `f('a')` now), so a list such as ALERT_KINDS follows a language
 * switch while its users read it as a plain record (`Object.entries`, `[key]`).
 * @param {string[]} keys
 * @param {(key: string) => string} label
 * @returns {Record<string, string>}
 */
export function labels(keys, label) {
  /** @type {Record<string, string>} */
  const record = {};
  for (const key of keys) Object.defineProperty(record, key, { enumerable: true, get: () => label(key) });
  return record;
}

/** How an alert kind reads, in the kinds' usual order. */
export const ALERT_KINDS = labels(
  ['off_route', 'unplanned_stop', 'signal_lost', 'gnss_lost', 'zone_enter', 'zone_exit', 'overspeed', 'convoy_broken', 'integrity', 'seal'],
  (kind) => t(`kind.${kind}`),
);

/** @param {string} kind */
export function alertKind(kind) {
  return ALERT_KINDS[kind] || String(kind);
}

/**
 * How an alert's state reads ("open"; in Chinese 待确认).
 * @param {string} state
 */
export function alertState(state) {
  return ['open', 'acknowledged', 'resolved'].includes(state) ? t(`state.${state}`) : String(state);
}

/**
 * Where in a move a seal checkpoint was recorded (`loading`, `handover`, `unloading`), in words.
 * @param {unknown} stage
 */
export function sealStage(stage) {
  return ['loading', 'handover', 'unloading'].includes(String(stage)) ? t(`seal_stage.${stage}`) : String(stage ?? '');
}

/**
 * What a seal was seen as (`intact`, `broken`, `missing`), in words.
 * @param {unknown} state
 */
export function sealState(state) {
  return ['intact', 'broken', 'missing'].includes(String(state)) ? t(`seal_state.${state}`) : String(state ?? '');
}

/**
 * Who did something: a user name as it is, the rules' own `rule` in words.
 * @param {string | null | undefined} who
 */
export function actor(who) {
  return who === 'rule' ? t('by.rule') : who || '';
}

/**
 * One line about what an alert's detail says (distance off the route, speed, zone…).
 * @param {import('./api.js').Alert} alert
 * @param {string | null} [timeZone] the IANA zone its times are shown in (the browser's without one)
 */
export function alertDetail(alert, timeZone) {
  const d = alert.detail || {};
  const parts = [];
  if (Number.isFinite(d.distance_m)) parts.push(t('detail.off_route', { m: Math.round(d.distance_m) }));
  if (Number.isFinite(d.stopped_s)) parts.push(t('detail.stopped', { duration: duration(d.stopped_s) }));
  if (Number.isFinite(d.top_mps)) parts.push(`${Math.round(d.top_mps * 3.6)} km/h`);
  if (Number.isFinite(d.apart_m)) parts.push(t('detail.apart', { m: Math.round(d.apart_m) }));
  // A seal alert's subject (its `zone` field) is the seal's number, not a place.
  if (alert.kind === 'seal' && typeof d.seal === 'string') {
    parts.push(t('detail.seal', { seal: d.seal, label: d.label || '', state: sealState(d.state), stage: sealStage(d.stage) }));
  } else {
    const zone = alert.zone || (typeof d.zone === 'string' ? d.zone : null);
    if (zone) parts.push(t('detail.zone', { zone }));
  }
  if (typeof d.since === 'string') parts.push(t('detail.since', { time: clock(d.since, timeZone) }));
  if (typeof d.last_heard === 'string') parts.push(t('detail.last_heard', { time: clock(d.last_heard, timeZone) }));
  if (typeof d.no_fix_since === 'string') parts.push(t('detail.no_fix_since', { time: clock(d.no_fix_since, timeZone) }));
  if (alert.late) parts.push(t('detail.late'));
  return parts.join(' · ');
}
