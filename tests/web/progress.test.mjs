// How a vehicle's progress reads on the live map (gateway/web/js/progress.js). Times are
// built in the machine's own time zone, as the page shows them.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { hoursMinutes, isProgress, newer, progressText } from '../../gateway/web/js/progress.js';

/** 2026-12-07 16:42:20 local time. */
const ETA = new Date(2026, 11, 7, 16, 42, 20).toISOString();

/** @param {Record<string, unknown>} change */
function progress(change = {}) {
  return {
    move: 'm1', vehicle: 'truck-01', state: 'on_route', progress_m: 12_340, route_length_m: 40_140,
    remaining_m: 27_800, speed_mps: 11.2, eta: ETA, as_of: '2026-12-07T15:58:00.000Z', estimate: true, ...change,
  };
}

test('on the route: done, left and the arrival, said to be an estimate', () => {
  assert.equal(progressText(progress()), '12.3 km done · 27.8 km left · arrives ≈ 16:42 (estimate)');
});

test('without an estimate it says why', () => {
  assert.equal(progressText(progress({ state: 'stopped', eta: null })),
    '12.3 km done · 27.8 km left · no arrival estimate: stopped');
  assert.equal(progressText(progress({ state: 'off_route', eta: null })),
    '12.3 km done · 27.8 km left · no arrival estimate: off route');
  assert.equal(progressText(progress({ state: 'measuring', eta: null, speed_mps: null })),
    '12.3 km done · 27.8 km left · arrival: measuring the pace');
  assert.equal(progressText(progress({ state: 'arrived', progress_m: 40_120, remaining_m: 20, eta: null })),
    '40.1 km done · arrived');
  // A state this page does not know yet, or an on-route figure without its time.
  assert.equal(progressText(progress({ state: 'queued', eta: null })), '12.3 km done · 27.8 km left · no arrival estimate');
  assert.equal(progressText(progress({ eta: null })), '12.3 km done · 27.8 km left · no arrival estimate');
});

test('the arrival reads to the minute in local time', () => {
  assert.equal(hoursMinutes(new Date(2026, 11, 7, 9, 5, 59).toISOString()), '09:05');
  assert.equal(hoursMinutes(null), '—');
  assert.equal(hoursMinutes('soon'), '—');
});

test('only a whole progress message is shown', () => {
  assert.ok(isProgress(progress()));
  assert.ok(!isProgress(null));
  assert.ok(!isProgress({ ...progress(), vehicle: 7 }));
  assert.ok(!isProgress({ ...progress(), progress_m: 'far' }));
  assert.ok(!isProgress({ ...progress(), as_of: undefined }));
});

test("a vehicle's figures from an older fix of the same move do not replace newer ones", () => {
  const later = progress({ as_of: '2026-12-07T15:59:00.000Z' });
  assert.ok(newer(null, later));
  assert.ok(newer(progress(), later));
  assert.ok(!newer(later, progress()));
  assert.ok(newer(later, progress({ move: 'm2' })), 'another move: its own figures');
});

test("an arrival's clock time reads in its move's zone", () => {
  const eta = '2026-07-15T08:42:10Z';
  assert.equal(hoursMinutes(eta, 'Asia/Shanghai'), '16:42');
  assert.equal(hoursMinutes(eta, 'Europe/Berlin'), '10:42');
  assert.equal(hoursMinutes(null, 'Asia/Shanghai'), '—');
  assert.match(progressText(progress({ eta }), 'Asia/Shanghai'), /arrives ≈ 16:42 \(estimate\)$/);
});
