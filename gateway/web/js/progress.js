// @ts-check
// How a vehicle's progress along its move's route reads on the live map: "12.3 km done ·
// 27.8 km left · arrives ≈ 16:42 (estimate)", or why there is no arrival estimate. Pure: the
// live map (live.js) puts the text in each vehicle's list entry and popup.

import { clock, finite, km, ms } from './format.js';
import { translator } from './i18n.js';
import messages from './lang/live.js';

const t = translator(messages);

/**
 * A vehicle's progress, as `GET /api/v1/moves/{id}/progress` and the live feed's `progress`
 * message give it (the server's `VehicleProgress`).
 * @typedef {object} VehicleProgress
 * @property {string} move
 * @property {string} vehicle
 * @property {ProgressState} state
 * @property {number} progress_m metres along the route
 * @property {number} route_length_m
 * @property {number} remaining_m metres along the route still to go
 * @property {number | null} speed_mps progress per second over the last five minutes
 * @property {string | null} eta the estimated arrival (only when `on_route`)
 * @property {string} as_of the time of the fix these figures come from
 * @property {boolean} estimate
 */

/** @typedef {'on_route' | 'off_route' | 'stopped' | 'measuring' | 'arrived'} ProgressState */

/** The states that say why there is no arrival estimate (`progress.STATE` in lang/live.js). */
const NO_ESTIMATE = ['off_route', 'stopped', 'measuring'];


/**
 * A clock time to the minute, "16:42", or '—', in `zone` (an IANA name; the browser's without).
 * @param {string | null | undefined} time an RFC 3339 time
 * @param {string | null} [zone]
 */
export function hoursMinutes(time, zone) {
  const text = clock(time, zone);
  return text === '—' ? text : text.slice(0, 5);
}

/**
 * The figures in one line for a person: done, left, and the estimated arrival or why there is
 * none.
 * @param {VehicleProgress} progress
 * @param {string | null} [zone] the IANA zone of its move, for the arrival's clock time
 */
export function progressText(progress, zone) {
  const done = t('progress.done', { km: km(progress.progress_m / 1000) });
  if (progress.state === 'arrived') return `${done} · ${t('progress.arrived')}`;
  const left = t('progress.left', { km: km(progress.remaining_m / 1000) });
  const arrival = progress.state === 'on_route' && finite(ms(progress.eta))
    ? t('progress.arrives', { time: hoursMinutes(progress.eta, zone) })
    : t(NO_ESTIMATE.includes(progress.state) ? `progress.${progress.state}` : 'progress.no_estimate');
  return `${done} · ${left} · ${arrival}`;
}

/**
 * Whether a live feed message's `progress` is one the page can show (the server's own, but
 * the page trusts no message's shape).
 * @param {any} value
 * @returns {value is VehicleProgress}
 */
export function isProgress(value) {
  return !!value && typeof value === 'object' && typeof value.vehicle === 'string'
    && typeof value.move === 'string' && typeof value.state === 'string'
    && finite(value.progress_m) && finite(value.remaining_m) && typeof value.as_of === 'string';
}

/**
 * Whether `next` is at least as new as `shown` (a vehicle's figures from its latest fix win).
 * @param {VehicleProgress | null | undefined} shown
 * @param {VehicleProgress} next
 */
export function newer(shown, next) {
  return !shown || shown.move !== next.move || !(ms(shown.as_of) > ms(next.as_of));
}
