// The Vehicles view's pure parts (gateway/web/js/vehicles.js): which actions ask first, what the
// list says of a vehicle's last position, the name of the downloaded agent configuration, and
// how an agent's status report reads (agent_status.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { receiverText, spoolText, stateText } from '../../gateway/web/js/agent_status.js';
import { signingLabel } from '../../gateway/web/js/vehicle_keys.js';
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

test('an agent report reads in words: its state, its receiver and its spool', () => {
  assert.equal(stateText('online'), 'Online');
  assert.equal(stateText('offline'), 'Offline');
  assert.equal(stateText(undefined), '—', 'an agent that did not say');
  assert.equal(receiverText('fix'), 'Fix');
  assert.equal(receiverText('no_fix'), 'No fix');
  assert.equal(receiverText('no_data'), 'No data from the receiver');
  const at = '2026-12-07T10:00:00Z';
  assert.equal(spoolText({ received_at: at }), '—', 'no spool reported');
  assert.equal(spoolText({ received_at: at, spool_depth: 0 }), 'empty');
  assert.equal(spoolText({ received_at: at, spool_depth: 0, spool_dropped: 4 }), 'empty, 4 dropped');
  assert.equal(spoolText({ received_at: at, spool_depth: 120, spool_oldest_age_s: 125 }), '120 waiting, oldest 2 min 5 s');
  assert.equal(spoolText({ received_at: at, spool_depth: 3, spool_oldest_age_s: 40, spool_dropped: 1 }), '3 waiting, oldest 40 s, 1 dropped');
});

test('a vehicle with a key is shown signed with its key id, one without as unsigned', () => {
  assert.equal(signingLabel({ signed: true, key_id: '3f9a0c2e5b7d1846' }), 'signed (3f9a0c2e5b7d1846)');
  assert.equal(signingLabel({ signed: false, key_id: null }), 'unsigned');
  assert.equal(signingLabel({}), 'unsigned', 'an answer without the field (an older server) is unsigned');
});
