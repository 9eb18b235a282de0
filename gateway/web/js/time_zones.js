// @ts-check
// The plan forms' time zone field (setup.js, move_edit.js): a text input for an IANA name with
// a list of common zones to pick from. Any IANA name may be typed; the server judges it
// (400 `unknown_time_zone`). Empty: the server's default zone.

import { el } from './dom.js';
import { translator } from './i18n.js';
import messages from './lang/moves.js';

const t = translator(messages);

/** Zones offered in the list: UTC and one or two per region Convoy's users drive in. */
export const COMMON_TIME_ZONES = [
  'UTC',
  'Europe/London', 'Europe/Lisbon', 'Europe/Berlin', 'Europe/Paris', 'Europe/Madrid', 'Europe/Rome',
  'Europe/Zagreb', 'Europe/Warsaw', 'Europe/Helsinki', 'Europe/Istanbul', 'Europe/Moscow',
  'Africa/Cairo', 'Africa/Johannesburg', 'Africa/Lagos', 'Africa/Nairobi',
  'Asia/Dubai', 'Asia/Kolkata', 'Asia/Bangkok', 'Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Singapore',
  'Asia/Tokyo', 'Asia/Seoul', 'Australia/Perth', 'Australia/Sydney', 'Pacific/Auckland',
  'America/Sao_Paulo', 'America/Argentina/Buenos_Aires', 'America/Mexico_City', 'America/New_York',
  'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'America/Anchorage',
];

let listNumber = 0;

/**
 * The input and its list of common zones (the list placed right after the input).
 * @param {string} value the zone shown, or '' for the server's default
 * @param {Record<string, unknown>} [props] more attributes of the input (disabled…)
 * @returns {{ input: HTMLInputElement, list: HTMLDataListElement }}
 */
export function timeZoneInput(value, props = {}) {
  listNumber += 1;
  const id = `time-zones-${listNumber}`;
  const list = /** @type {HTMLDataListElement} */ (el('datalist', { id }, COMMON_TIME_ZONES.map((zone) => el('option', { value: zone }))));
  const input = /** @type {HTMLInputElement} */ (el('input', {
    name: 'time_zone', list: id, value, placeholder: t('plan.time_zone_default'), autocomplete: 'off', spellcheck: 'false', ...props,
  }));
  return { input, list };
}
