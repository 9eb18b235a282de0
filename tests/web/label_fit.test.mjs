// Where a vehicle's label goes so that it stays inside the map (gateway/web/js/label_fit.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LABEL_GAP, LABEL_TOP, labelPlace } from '../../gateway/web/js/label_fit.js';

const MAP = { width: 800, height: 600 };
const LABEL = { width: 90, height: 30 };

test('a label goes right of its marker where there is room', () => {
  assert.deepEqual(labelPlace({ x: 400, y: 300 }, LABEL, MAP), { side: 'right', shiftY: 0 });
  assert.deepEqual(labelPlace({ x: 800 - LABEL_GAP - 90, y: 300 }, LABEL, MAP), { side: 'right', shiftY: 0 });
});

test('near the right edge it goes left, and stays right when neither side has room', () => {
  assert.equal(labelPlace({ x: 790, y: 300 }, LABEL, MAP).side, 'left');
  assert.equal(labelPlace({ x: 60, y: 300 }, { width: 780, height: 30 }, MAP).side, 'right');
});

test('near the top or the bottom it moves down or up by what would be cut', () => {
  assert.equal(labelPlace({ x: 400, y: 4 }, LABEL, MAP).shiftY, LABEL_TOP - 4);
  assert.equal(labelPlace({ x: 400, y: 598 }, LABEL, MAP).shiftY, 600 - (598 - LABEL_TOP + 30));
  assert.equal(labelPlace({ x: 400, y: LABEL_TOP }, LABEL, MAP).shiftY, 0);
});
