// The alert history's query string (gateway/web/js/history.js): what the filter form sends.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { historyQuery } from '../../gateway/web/js/history.js';

const EMPTY = { from: '', to: '', move: '', vehicle: '', kind: '', state: '', text: '' };

test('empty filters send no parameter', () => {
  assert.equal(historyQuery(EMPTY).toString(), '');
});

test('filters are trimmed, times sent as RFC 3339, and text is encoded', () => {
  const query = historyQuery({ ...EMPTY, from: '2026-12-07T09:00', move: ' m-1 ', kind: 'off_route', state: 'open', text: '=a&b c' });
  assert.equal(query.get('from'), new Date('2026-12-07T09:00').toISOString());
  assert.equal(query.get('to'), null);
  assert.equal(query.get('move'), 'm-1');
  assert.equal(query.get('kind'), 'off_route');
  assert.equal(query.get('state'), 'open');
  assert.equal(query.get('text'), '=a&b c');
  assert.match(query.toString(), /text=%3Da%26b\+c/);
});

test('a time the browser cannot read is left out', () => {
  assert.equal(historyQuery({ ...EMPTY, to: 'not a time' }).get('to'), null);
});
