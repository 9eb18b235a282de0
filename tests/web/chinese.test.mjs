// The watching views' pure texts in Simplified Chinese (format.js, progress.js, daily_format.js,
// error_text.js): what changes with the language, besides the words, is how dates and numbers
// are written. English is checked by each module's own test file; each test here switches to
// Chinese and back.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setLanguage } from '../../gateway/web/js/i18n.js';
import {
  actor, age, ALERT_KINDS, alertDetail, alertKind, alertState, clock, dateTime, decimal, duration, km, zoneNote,
} from '../../gateway/web/js/format.js';
import { progressText } from '../../gateway/web/js/progress.js';
import { dailyCells, dailyColumns, dayText, percent, spanLine } from '../../gateway/web/js/daily_format.js';
import { errorText } from '../../gateway/web/js/error_text.js';

/**
 * Runs `body` with the page speaking Chinese.
 * @param {() => void} body
 */
function inChinese(body) {
  setLanguage('zh-CN');
  try { body(); } finally { setLanguage('en'); }
}

test('ages, durations and distances read in Chinese', () => inChinese(() => {
  assert.equal(age(12_400), '12 秒前');
  assert.equal(age(90_000), '2 分钟前');
  assert.equal(age(NaN), '尚无定位');
  assert.equal(duration(365), '6 分 5 秒');
  assert.equal(duration(3720), '1 小时 2 分');
  assert.equal(km(12.34), '12.3 公里');
  assert.equal(decimal(12345.678, 1), '12345.7');
}));

test('a date and time is written as Intl writes it in Chinese, in the zone given; a clock time as in English', () => inChinese(() => {
  const at = Date.UTC(2026, 11, 1, 5, 6, 7);
  assert.equal(dateTime(at, 'Asia/Shanghai'), '2026/12/01 13:06:07');
  assert.equal(dateTime(at, 'UTC'), '2026/12/01 05:06:07');
  // A zone this browser does not know: the browser's own, still written the Chinese way.
  assert.match(dateTime(at, 'Mars/Olympus'), /^2026\/12\/0[12] \d{2}:06:07$/);
  assert.equal(dateTime(null), '—');
  assert.equal(clock(at, 'Asia/Shanghai'), '13:06:07');
  assert.equal(zoneNote('Asia/Shanghai', at), '时间按 Asia/Shanghai 时区（UTC+08:00）');
}));

test('alert kinds, states and details read in Chinese, and follow a switch back to English', () => {
  inChinese(() => {
    assert.equal(alertKind('off_route'), '偏离路线');
    assert.equal(ALERT_KINDS.overspeed, '超速');
    assert.equal(alertKind('new_kind'), 'new_kind');
    assert.equal(alertState('acknowledged'), '已确认');
    assert.equal(actor('rule'), '规则自动');
    assert.equal(actor('调度员小王'), '调度员小王');
    const alert = { id: 'a', kind: 'off_route', state: 'open', vehicle: 'truck-01', detail: { distance_m: 412.4, since: '2026-12-01T05:06:07Z' }, late: true };
    assert.equal(alertDetail(alert, 'UTC'), '偏离路线 412 米 · 自 05:06:07 起 · 延迟上报');
  });
  assert.equal(alertKind('off_route'), 'Off route');
  assert.deepEqual(Object.entries(ALERT_KINDS)[0], ['off_route', 'Off route']);
});

test('progress along the route reads in Chinese', () => inChinese(() => {
  const progress = {
    move: 'm1', vehicle: 'truck-01', state: /** @type {const} */ ('on_route'), progress_m: 12_340, route_length_m: 40_140,
    remaining_m: 27_800, speed_mps: 11.2, eta: '2026-12-07T08:42:20Z', as_of: '2026-12-07T07:58:00Z', estimate: true,
  };
  assert.equal(progressText(progress, 'Asia/Shanghai'), '已行驶 12.3 公里 · 剩余 27.8 公里 · 预计 16:42 到达（估算）');
  assert.equal(progressText({ ...progress, state: 'stopped', eta: null }), '已行驶 12.3 公里 · 剩余 27.8 公里 · 无法估算到达时间：已停车');
}));

test('the daily report: the day written the Chinese way, its headings and cells', () => inChinese(() => {
  assert.equal(dayText('2026-12-01'), '2026年12月1日');
  assert.equal(percent(0.0173), '1.7%');
  const day = { day: '2026-12-01', time_zone: 'UTC', vehicles: [] };
  assert.equal(spanLine({ ...day, from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z', partial: false }), '2026年12月1日，00:00 至 24:00（UTC）');
  assert.equal(spanLine({ ...day, from: '2026-12-01T00:00:00.000Z', to: '2026-12-01T13:05:09.000Z', partial: true }), '2026年12月1日，00:00 至 13:05（UTC）');
  assert.equal(dailyColumns()[0], '车辆');
  const row = {
    vehicle: 'truck-01', first_fix: null, last_fix: null, fixes: 1500, implausible_fixes: 0, distance_m: 14_990,
    moving_s: 1199, stopped_s: 299, stops: 1, gaps: 1, covered_s: 1498, coverage: 0.0173, longest_stop: null,
    alerts: { overspeed: 2, off_route: 1 }, alerts_total: 3,
  };
  assert.deepEqual(dailyCells(row).slice(7), ['1.7%', '偏离路线 1 · 超速 2']);
}));

test('an error shows the server sentence in English; in Chinese the text of its reason, else of its status, else the code', () => {
  const refused = { status: 400, message: 'from must be before to', reason: 'bad_range' };
  assert.equal(errorText(refused), 'from must be before to');
  inChinese(() => {
    assert.equal(errorText(refused), '开始时间必须早于结束时间。');
    assert.equal(errorText({ status: 409, message: 'the alert is acknowledged already; nothing changed', reason: null }), '已被他人更改，本次未做任何更改。');
    assert.equal(errorText({ status: 0, message: 'the server cannot be reached (Failed to fetch)' }), '无法连接服务器。');
    assert.equal(errorText({ status: 503, message: 'storage is unavailable; try again' }), '服务器暂时无法响应，请重试。');
    assert.equal(errorText({ status: 400, message: 'something new', reason: 'brand_new' }), '服务器拒绝了此请求（brand_new）。');
    assert.equal(errorText({ status: 418, message: "I'm a teapot" }), '服务器拒绝了此请求（418）。');
    assert.equal(errorText(new Error('x is not a function')), '出现意外错误：x is not a function');
  });
});
