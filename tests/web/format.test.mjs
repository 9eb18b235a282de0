// How times, ages, durations, distances and alerts read on the page (gateway/web/js/format.js).
// Times are built in the machine's own time zone, as the page shows them, so the tests hold in
// any zone.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  age, alertDetail, alertKind, clock, dateTime, duration, finite, fromLocalInput, km, ms, toLocalInput, utcOffset, zoneNote,
} from '../../gateway/web/js/format.js';

/** 2026-11-29 13:20:05 local time. */
const LOCAL = new Date(2026, 10, 29, 13, 20, 5);

test('ms reads an RFC 3339 time, and gives NaN for none or nonsense', () => {
  assert.equal(ms('2026-11-29T12:20:05Z'), Date.UTC(2026, 10, 29, 12, 20, 5));
  assert.equal(ms('2026-11-29T13:20:05.250+01:00'), Date.UTC(2026, 10, 29, 12, 20, 5, 250));
  assert.ok(Number.isNaN(ms(null)));
  assert.ok(Number.isNaN(ms('')));
  assert.ok(Number.isNaN(ms('yesterday')));
});

test('age reads in seconds up to 89 s, minutes up to 89 min, hours up to 47 h, then days', () => {
  assert.equal(age(0), '0 s ago');
  assert.equal(age(12_400), '12 s ago');
  assert.equal(age(89_000), '89 s ago');
  assert.equal(age(90_000), '2 min ago');
  assert.equal(age(89 * 60_000), '89 min ago');
  assert.equal(age(90 * 60_000), '2 h ago');
  assert.equal(age(47 * 3600_000), '47 h ago');
  assert.equal(age(48 * 3600_000), '2 d ago');
});

test('age of a fix from the future (a clock ahead) is 0 s, and of no fix says so', () => {
  assert.equal(age(-5000), '0 s ago');
  assert.equal(age(NaN), 'no fix yet');
  assert.equal(age(Infinity), 'no fix yet');
});

test('clock and dateTime show local time, from RFC 3339 text or milliseconds', () => {
  assert.equal(clock(LOCAL.toISOString()), '13:20:05');
  assert.equal(clock(LOCAL.getTime()), '13:20:05');
  assert.equal(dateTime(LOCAL.toISOString()), '2026-11-29 13:20:05');
  assert.equal(dateTime(new Date(2027, 0, 2, 3, 4, 5).getTime()), '2027-01-02 03:04:05');
});

test('clock and dateTime show a dash for a missing or unreadable time', () => {
  for (const time of [null, undefined, '', 'not a time', NaN]) {
    assert.equal(clock(time), '—', String(time));
    assert.equal(dateTime(time), '—', String(time));
  }
});

test('duration reads in seconds, minutes and seconds, or hours and minutes', () => {
  assert.equal(duration(40), '40 s');
  assert.equal(duration(59.6), '1 min 0 s');
  assert.equal(duration(365), '6 min 5 s');
  assert.equal(duration(3720), '1 h 2 min');
  // Rounded to the minute as a whole: never "1 h 60 min".
  assert.equal(duration(3600 + 59 * 60 + 40), '2 h 0 min');
  assert.equal(duration(3600 + 59 * 60 + 20), '1 h 59 min');
  assert.equal(duration(NaN), '—');
});

test('km shows one decimal, and a dash for no distance', () => {
  assert.equal(km(12.34), '12.3 km');
  assert.equal(km(0), '0.0 km');
  assert.equal(km(null), '—');
  assert.equal(km(undefined), '—');
  assert.equal(km(NaN), '—');
});

test('finite is true for finite numbers only', () => {
  assert.equal(finite(0), true);
  assert.equal(finite(-1.5), true);
  for (const value of [NaN, Infinity, null, undefined, '3', {}]) assert.equal(finite(value), false, String(value));
});

test('a datetime-local value is the local time to the minute, and reads back as that instant', () => {
  assert.equal(toLocalInput(LOCAL.getTime()), '2026-11-29T13:20');
  assert.equal(fromLocalInput('2026-11-29T13:20'), new Date(2026, 10, 29, 13, 20).toISOString());
  assert.equal(fromLocalInput(''), null);
  assert.equal(fromLocalInput('not a time'), null);
});

test('alertKind names the known kinds and shows an unknown one as it came', () => {
  assert.equal(alertKind('off_route'), 'Off route');
  assert.equal(alertKind('convoy_broken'), 'Convoy broken');
  assert.equal(alertKind('something_new'), 'something_new');
});

test("alertDetail joins what an alert's detail says, in a fixed order", () => {
  const alert = {
    id: 'a1', kind: 'off_route', state: 'open', vehicle: 'truck-07',
    detail: { distance_m: 212.4, stopped_s: 365, top_mps: 25, apart_m: 480.6, since: LOCAL.toISOString() },
  };
  assert.equal(alertDetail(alert), `212 m off the route · stopped 6 min 5 s · 90 km/h · 481 m from its escort · since 13:20:05`);
});

test("alertDetail names the zone (the alert's own, else its detail's), times heard, and lateness", () => {
  assert.equal(alertDetail({ id: 'a', kind: 'zone_enter', state: 'open', vehicle: 'v', zone: 'Depot', detail: { zone: 'other' } }), 'zone Depot');
  assert.equal(alertDetail({ id: 'a', kind: 'zone_exit', state: 'open', vehicle: 'v', detail: { zone: 'Yard' } }), 'zone Yard');
  assert.equal(
    alertDetail({ id: 'a', kind: 'signal_lost', state: 'open', vehicle: 'v', late: true, detail: { last_heard: LOCAL.toISOString(), no_fix_since: LOCAL.toISOString() } }),
    'last heard 13:20:05 · no fix since 13:20:05 · reported late',
  );
});

test('alertDetail is empty for an alert without detail, and skips values of the wrong type', () => {
  assert.equal(alertDetail({ id: 'a', kind: 'overspeed', state: 'open', vehicle: 'v' }), '');
  assert.equal(alertDetail({ id: 'a', kind: 'overspeed', state: 'open', vehicle: 'v', detail: { top_mps: '25', zone: 7, since: 12 } }), '');
});

// A move's times in its own zone, whatever zone this machine is in.
const INSTANT = Date.UTC(2026, 6, 15, 23, 30, 5); // 2026-07-15 23:30:05 UTC

test('a time is shown in a named zone: Asia/Shanghai is UTC+8 all year', () => {
  assert.equal(dateTime(INSTANT, 'Asia/Shanghai'), '2026-07-16 07:30:05');
  assert.equal(clock('2026-07-15T23:30:05Z', 'Asia/Shanghai'), '07:30:05');
  assert.equal(dateTime(Date.UTC(2026, 0, 15, 16, 0, 0), 'Asia/Shanghai'), '2026-01-16 00:00:00', 'midnight is 00, not 24');
  assert.equal(utcOffset('Asia/Shanghai', INSTANT), 'UTC+08:00');
  assert.equal(zoneNote('Asia/Shanghai', INSTANT), 'times in Asia/Shanghai (UTC+08:00)');
});

test('Europe/Berlin follows daylight saving time', () => {
  assert.equal(dateTime(INSTANT, 'Europe/Berlin'), '2026-07-16 01:30:05', 'summer: UTC+2');
  assert.equal(dateTime(Date.UTC(2026, 0, 15, 23, 30, 5), 'Europe/Berlin'), '2026-01-16 00:30:05', 'winter: UTC+1');
  assert.equal(utcOffset('Europe/Berlin', INSTANT), 'UTC+02:00');
  assert.equal(utcOffset('Europe/Berlin', Date.UTC(2026, 0, 15)), 'UTC+01:00');
  // The clocks go back at 01:00 UTC on 2026-10-25: 02:59 summer time is followed by 02:00.
  assert.equal(clock(Date.UTC(2026, 9, 25, 0, 59, 0), 'Europe/Berlin'), '02:59:00');
  assert.equal(clock(Date.UTC(2026, 9, 25, 1, 0, 0), 'Europe/Berlin'), '02:00:00');
  assert.equal(utcOffset('America/St_Johns', Date.UTC(2026, 0, 15)), 'UTC-03:30');
  assert.equal(utcOffset('UTC', INSTANT), 'UTC+00:00');
});

test('without a zone, or with one the browser does not know, times are local', () => {
  assert.equal(dateTime(LOCAL.getTime(), null), '2026-11-29 13:20:05');
  assert.equal(dateTime(LOCAL.getTime(), 'Mars/Base'), '2026-11-29 13:20:05');
  assert.equal(dateTime('nonsense', 'Asia/Shanghai'), '—');
});

test('a datetime-local value is read and written in a move\'s zone, wherever the browser is', () => {
  // 09:30 in Shanghai (UTC+8, no daylight saving) is 01:30 UTC.
  assert.equal(fromLocalInput('2026-12-24T09:30', 'Asia/Shanghai'), '2026-12-24T01:30:00.000Z');
  assert.equal(toLocalInput(Date.UTC(2026, 11, 24, 1, 30), 'Asia/Shanghai'), '2026-12-24T09:30');
  // Berlin on both sides of a change of daylight saving: +01:00 in winter, +02:00 in summer.
  assert.equal(fromLocalInput('2026-03-28T12:00', 'Europe/Berlin'), '2026-03-28T11:00:00.000Z');
  assert.equal(fromLocalInput('2026-03-29T12:00', 'Europe/Berlin'), '2026-03-29T10:00:00.000Z');
  assert.equal(fromLocalInput('2026-03-29T01:59', 'Europe/Berlin'), '2026-03-29T00:59:00.000Z');
  assert.equal(fromLocalInput('2026-03-29T03:00', 'Europe/Berlin'), '2026-03-29T01:00:00.000Z');
  // New York, west of UTC.
  assert.equal(fromLocalInput('2026-07-04T20:00', 'America/New_York'), '2026-07-05T00:00:00.000Z');
  // Written and read back the same, over a year of hours.
  for (let h = 0; h < 365 * 24; h += 7) {
    const millis = Date.UTC(2026, 0, 1) + h * 3600_000;
    assert.equal(fromLocalInput(toLocalInput(millis, 'Europe/Berlin'), 'Europe/Berlin'), new Date(millis).toISOString());
  }
  // No zone, or an unknown one: the browser's own, as before.
  assert.equal(fromLocalInput('2026-12-24T09:30', ''), new Date(2026, 11, 24, 9, 30).toISOString());
  assert.equal(fromLocalInput('2026-12-24T09:30', 'Mars/Base'), new Date(2026, 11, 24, 9, 30).toISOString());
  assert.equal(fromLocalInput('nonsense', 'Asia/Shanghai'), null);
});
