// The plan edit form's pure parts (gateway/web/js/plan_form.js): a plan shown as fields and made
// back from them, an untouched time kept to the millisecond, and how a version's changes read.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describeChanges, EDITABLE_ONCE_STARTED, fieldsOf, planFromFields } from '../../gateway/web/js/plan_form.js';

const plan = {
  name: 'Data centre',
  vehicles: ['truck-07', 'escort-1'],
  escorts: { 'truck-07': 'escort-1' },
  route: { type: /** @type {const} */ ('LineString'), coordinates: [[11.5, 48.1], [11.6, 48.2]] },
  corridor_m: 150,
  window: { from: '2026-11-28T09:00:00.123Z', to: '2026-11-28T18:00:00.000Z' },
};
// A stand-in for the local time conversions: minutes only, as the input shows them.
const toLocal = (/** @type {string} */ iso) => iso.slice(0, 16);
const fromLocal = (/** @type {string} */ local) => (local ? `${local}:00.000Z` : null);

test('a plan shown as fields and read back unchanged is the same plan', () => {
  const shown = fieldsOf(plan, ['ana'], toLocal);
  assert.equal(shown.vehicles, 'truck-07, escort-1');
  assert.equal(shown.escorts, 'truck-07:escort-1');
  assert.equal(shown.from, '2026-11-28T09:00');
  const made = planFromFields(shown, shown, plan, fromLocal);
  assert.deepEqual(made.plan, plan, 'untouched times keep their milliseconds');
  assert.deepEqual(made.team, ['ana']);
});

test('changed fields make the new plan', () => {
  const shown = fieldsOf(plan, [], toLocal);
  const made = planFromFields({ ...shown, name: ' Data centre, late ', corridor_m: '400', to: '2026-11-28T20:30', team: 'ana, bo,' }, shown, plan, fromLocal);
  assert.equal(made.plan.name, 'Data centre, late');
  assert.equal(made.plan.corridor_m, 400);
  assert.deepEqual(made.plan.window, { from: plan.window.from, to: '2026-11-28T20:30:00.000Z' });
  assert.deepEqual(made.team, ['ana', 'bo']);
});

test('a field that does not read says which', () => {
  const shown = fieldsOf(plan, [], toLocal);
  assert.throws(() => planFromFields({ ...shown, route: '{not json' }, shown, plan, fromLocal), /the route is not valid JSON/);
  assert.throws(() => planFromFields({ ...shown, to: '' }, shown, plan, fromLocal), /the end time is not a time/);
});

test('a running move keeps only its end time and team open', () => {
  assert.deepEqual([...EDITABLE_ONCE_STARTED], ['to', 'team']);
});

test('a version says what it changed', () => {
  assert.equal(describeChanges([]), 'created');
  assert.equal(describeChanges(['name', 'corridor_m']), 'changed name, corridor');
  assert.equal(describeChanges(['window.to', 'team']), 'changed end time, team');
});

test('the time zone is a field: shown, sent when given, left out when empty', () => {
  const zoned = { ...plan, time_zone: 'Asia/Shanghai' };
  const shown = fieldsOf(zoned, [], toLocal);
  assert.equal(shown.time_zone, 'Asia/Shanghai');
  assert.deepEqual(planFromFields(shown, shown, zoned, fromLocal).plan, zoned);
  const berlin = planFromFields({ ...shown, time_zone: ' Europe/Berlin ' }, shown, zoned, fromLocal);
  assert.equal(berlin.plan.time_zone, 'Europe/Berlin');
  const none = planFromFields({ ...shown, time_zone: '' }, shown, zoned, fromLocal);
  assert.equal('time_zone' in none.plan, false, "empty: the server's default");
  assert.equal(fieldsOf(plan, [], toLocal).time_zone, '');
  assert.equal(describeChanges(['time_zone']), 'changed time zone');
});
