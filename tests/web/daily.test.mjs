// How the daily report reads (gateway/web/js/daily_format.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  alertCounts, dailyCells, dailyQuery, DAILY_COLUMNS, defaultDay, hoursMinutes, kilometres, percent, spanLine, utcDay,
} from '../../gateway/web/js/daily_format.js';

test('the page opens on yesterday, a UTC day whatever the local zone', () => {
  assert.equal(utcDay(Date.UTC(2026, 11, 1, 23, 59, 59)), '2026-12-01');
  assert.equal(defaultDay(Date.UTC(2026, 11, 2, 0, 0, 1)), '2026-12-01');
  assert.equal(defaultDay(Date.UTC(2026, 0, 1, 12)), '2025-12-31', 'across a year');
});

test('the query has the day, and the vehicle only when one is given', () => {
  assert.equal(dailyQuery({ day: '2026-12-01', vehicle: '' }).toString(), 'day=2026-12-01');
  assert.equal(dailyQuery({ day: '2026-12-01', vehicle: ' truck 01&x ' }).toString(), 'day=2026-12-01&vehicle=truck+01%26x');
});

test('kilometres have one decimal, durations read h:mm, coverage a percentage', () => {
  assert.equal(kilometres(14_990), '15.0');
  assert.equal(kilometres(1234), '1.2');
  assert.equal(kilometres(0), '0.0');
  assert.equal(hoursMinutes(0), '0:00');
  assert.equal(hoursMinutes(3725), '1:02');
  assert.equal(hoursMinutes(299), '0:05');
  assert.equal(hoursMinutes(86_399), '24:00', 'rounded to the minute');
  assert.equal(hoursMinutes(NaN), '—');
  assert.equal(percent(0.0173), '1.7 %');
  assert.equal(percent(1), '100.0 %');
});

test('alerts read by kind in the usual order, only those that happened', () => {
  assert.equal(alertCounts({ overspeed: 2, off_route: 1, gnss_lost: 0 }), 'Off route 1 · Overspeed 2');
  assert.equal(alertCounts({ overspeed: 0 }), '—');
  assert.equal(alertCounts({ new_kind: 3 }), 'new_kind 3', 'an unknown kind by its name');
});

test('a row has a cell per column', () => {
  const row = {
    vehicle: 'truck-01', first_fix: null, last_fix: null, fixes: 1500, implausible_fixes: 0, distance_m: 14_990,
    moving_s: 1199, stopped_s: 299, stops: 1, gaps: 1, covered_s: 1498, coverage: 0.0173,
    longest_stop: { from: '', to: '', duration_s: 299, lat: 51.5, lon: -0.03 },
    alerts: { overspeed: 2 }, alerts_total: 2,
  };
  const cells = dailyCells(row);
  assert.equal(cells.length, DAILY_COLUMNS.length);
  assert.deepEqual(cells, ['truck-01', '15.0', '0:20', '0:05', '1', '0:05', '1', '1.7 %', 'Overspeed 2']);
  assert.equal(dailyCells({ ...row, longest_stop: null })[5], '—');
});

test('the span line says whole day, until when, or nothing yet', () => {
  const day = { day: '2026-12-01', time_zone: 'UTC', vehicles: [] };
  assert.equal(spanLine({ ...day, from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z', partial: false }), '2026-12-01, 00:00 to 24:00 UTC');
  assert.equal(spanLine({ ...day, from: '2026-12-01T00:00:00.000Z', to: '2026-12-01T13:05:09.000Z', partial: true }), '2026-12-01, 00:00 until 13:05 UTC');
  assert.equal(spanLine({ ...day, from: '2026-12-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', partial: true }), '2026-12-01: nothing of this day may be read yet');
});

test("a day in a time zone: the query names it, and the span line reads the cut in that zone", () => {
  assert.equal(String(dailyQuery({ day: '2026-12-01', vehicle: '', time_zone: ' Asia/Shanghai ' })), 'day=2026-12-01&time_zone=Asia%2FShanghai');
  assert.equal(String(dailyQuery({ day: '2026-12-01', vehicle: '', time_zone: '' })), 'day=2026-12-01');
  const shanghai = { day: '2026-12-01', time_zone: 'Asia/Shanghai', vehicles: [], generated_at: '2026-12-01T05:06:00.000Z' };
  assert.equal(spanLine({ ...shanghai, from: '2026-11-30T16:00:00.000Z', to: '2026-12-01T05:05:09.000Z', partial: true }), '2026-12-01, 00:00 until 13:05 Asia/Shanghai');
});
