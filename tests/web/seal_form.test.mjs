// The Seals view's pure part (seal_form.js): the bodies its forms send and a checkpoint's counts.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkpointBody, isAlarming, sealListBody, stateCounts } from '../../gateway/web/js/seal_form.js';

test('a list body trims each row, keeps ids, and leaves out empty rows, blank ids and vehicles', () => {
  const rows = [
    { id: 's1', label: ' Rack 3 crate ', number: ' SL-1 ', contents: ' disks ', sensitivity: 'secret', vehicle: 'truck-01' },
    { label: '', number: '', contents: '  ', sensitivity: 'normal', vehicle: '' },
    { id: '', label: 'Archive box', number: 'SL-2', contents: '', sensitivity: 'normal', vehicle: '' },
  ];
  assert.deepEqual(sealListBody(rows), { seals: [
    { id: 's1', label: 'Rack 3 crate', number: 'SL-1', contents: 'disks', sensitivity: 'secret', vehicle: 'truck-01' },
    { label: 'Archive box', number: 'SL-2', contents: '', sensitivity: 'normal' },
  ] });
  assert.deepEqual(sealListBody([]), { seals: [] }, 'an empty list is a list');
});

test('a checkpoint body names only the seals given a state, with notes only when written', () => {
  const body = checkpointBody({
    stage: 'unloading', vehicle: 'truck-01', note: '  at the data centre ',
    seen: [
      { seal_id: 's1', state: 'broken', note: ' tag cut ' },
      { seal_id: 's2', state: '' },
      { seal_id: 's3', state: 'intact', note: '   ' },
    ],
  });
  assert.deepEqual(body, {
    stage: 'unloading', vehicle: 'truck-01', note: 'at the data centre',
    seals: [{ seal_id: 's1', state: 'broken', note: 'tag cut' }, { seal_id: 's3', state: 'intact' }],
  });
  assert.deepEqual(checkpointBody({ stage: 'loading', vehicle: '', note: '', seen: [] }), { stage: 'loading', seals: [] },
    'no vehicle, no note: left out (the server says a seal is needed)');
});

test('a checkpoint is counted by state and alarms only with a seal broken or missing', () => {
  const intact = { seals: [{ state: 'intact' }, { state: 'intact' }] };
  assert.deepEqual(stateCounts(intact), { intact: 2, broken: 0, missing: 0 });
  assert.equal(isAlarming(intact), false);
  const bad = { seals: [{ state: 'intact' }, { state: 'missing' }, { state: 'strange' }] };
  assert.deepEqual(stateCounts(bad), { intact: 1, broken: 0, missing: 1 });
  assert.equal(isAlarming(bad), true);
});
