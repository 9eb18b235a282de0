// @ts-check
// A date and time as the admin views show it: in English exactly as format.js `dateTime` has
// always written it ("2026-11-29 13:20:05"), in Chinese the Chinese way through Intl
// ("2026年11月29日 13:20:05"); in `zone` (an IANA name, a move's) or the browser's own zone.

import { dateTime, ms } from './format.js';
import { formatDate, language } from './i18n.js';

/** @type {Intl.DateTimeFormatOptions} */
const FIELDS = { year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };

/**
 * @param {string | number | null | undefined} time an RFC 3339 time or milliseconds
 * @param {string | null} [zone]
 */
export function when(time, zone) {
  if (language() === 'en') return dateTime(time, zone);
  const millis = typeof time === 'number' ? time : ms(time);
  if (!Number.isFinite(millis)) return '—';
  try {
    return formatDate(millis, FIELDS, zone || undefined);
  } catch {
    // A zone this browser does not know: the browser's own, as dateTime does.
    return formatDate(millis, FIELDS);
  }
}
