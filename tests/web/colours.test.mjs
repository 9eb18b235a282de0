// Vehicles' colours (gateway/web/js/colours.js): kept per vehicle, and distinct while any are left.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VEHICLE_COLOURS, vehicleColour } from '../../gateway/web/js/colours.js';

test('the demo\'s vehicles get four different colours, each kept', () => {
  // escort-1 and truck-02 hash to the same slot: the later one gets the next free colour.
  const ids = ['escort-1', 'escort-2', 'truck-01', 'truck-02'];
  const colours = ids.map(vehicleColour);
  assert.equal(new Set(colours).size, 4, colours.join(' '));
  assert.deepEqual(ids.map(vehicleColour), colours, 'the same colour on every later view');
  for (const colour of colours) assert.ok(VEHICLE_COLOURS.includes(colour));
});

test('no two vehicles share a colour until every colour is taken', () => {
  const fleet = Array.from({ length: 12 }, (_, i) => `lorry-${i}`);
  const colours = fleet.map(vehicleColour);
  // Four are taken by the test above (the module keeps what it gave in this process).
  assert.equal(new Set(colours.slice(0, VEHICLE_COLOURS.length - 4)).size, VEHICLE_COLOURS.length - 4);
  assert.equal(new Set([...colours, 'x']).size, VEHICLE_COLOURS.length + 1, 'then colours repeat');
});
