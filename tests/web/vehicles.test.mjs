// The Vehicles view's pure parts (gateway/web/js/vehicles.js): which actions ask first, what the
// list says of a vehicle's last position, and the name of the downloaded agent configuration.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { configFileName, lastSeen, vehicleConfirmation } from '../../gateway/web/js/vehicles.js';

test('rotating and disabling ask first, naming the vehicle; enabling does not', () => {
  for (const action of /** @type {const} */ (['rotate', 'disable'])) {
    const question = vehicleConfirmation(action, 'truck-07');
    assert.ok(question && question.includes('truck-07'), `${action}: ${question}`);
  }
  assert.match(vehicleConfirmation('rotate', 'truck-07') ?? '', /shown once/);
  assert.match(vehicleConfirmation('disable', 'truck-07') ?? '', /positions stay/);
  assert.equal(vehicleConfirmation('enable', 'truck-07'), null, 'enabling takes nothing away');
});

test('a vehicle without a position is shown as never seen', () => {
  const vehicle = { id: 'truck-07', received_at: null, move: null, disabled: false };
  assert.equal(lastSeen(vehicle), 'never');
  assert.notEqual(lastSeen({ ...vehicle, received_at: '2026-11-28T10:00:00Z' }), 'never');
});

test('the agent configuration downloads under the vehicle\'s name', () => {
  assert.equal(configFileName('truck-07'), 'convoy-agent-truck-07.toml');
});
