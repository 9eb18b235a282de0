// @ts-check
// The Seals view's pure part (seals.js): the request bodies its forms send (a move's list of
// sealed items, a checkpoint), and what a checkpoint says at a glance. No DOM here: unit-tested
// in tests/web/seal_form.test.mjs.

/** Where in a move a checkpoint is recorded, in the order a move goes through them. */
export const STAGES = ['loading', 'handover', 'unloading'];
/** What a seal may be seen as. */
export const SEAL_STATES = ['intact', 'broken', 'missing'];
/** How sensitive what a sealed item holds is. */
export const SENSITIVITIES = ['normal', 'confidential', 'secret'];

/**
 * A row of the list form, as typed.
 * @typedef {{ id?: string, label: string, number: string, contents: string, sensitivity: string, vehicle: string }} SealRow
 */

/**
 * The body of `PUT /api/v1/moves/{id}/seals` from the list form's rows: text trimmed, an
 * entirely empty row left out (an added row not filled in), no vehicle or id when blank (a new
 * item gets its id from the server). The server judges the rest.
 * @param {SealRow[]} rows
 */
export function sealListBody(rows) {
  const seals = [];
  for (const row of rows) {
    const label = row.label.trim();
    const number = row.number.trim();
    const contents = row.contents.trim();
    if (!label && !number && !contents) continue;
    /** @type {Record<string, string>} */
    const seal = { label, number, contents, sensitivity: row.sensitivity };
    if (row.id) seal.id = row.id;
    if (row.vehicle) seal.vehicle = row.vehicle;
    seals.push(seal);
  }
  return { seals };
}

/**
 * What the checkpoint form holds.
 * @typedef {{ stage: string, vehicle: string, note: string,
 *   seen: { seal_id: string, state: string, note?: string }[] }} CheckpointForm
 */

/**
 * The body of `POST /api/v1/moves/{id}/checkpoints`: only the seals given a state (every seal
 * of the move need not be seen at every checkpoint), notes trimmed and left out when empty.
 * @param {CheckpointForm} form
 */
export function checkpointBody(form) {
  const seals = [];
  for (const seen of form.seen) {
    if (!SEAL_STATES.includes(seen.state)) continue;
    /** @type {{ seal_id: string, state: string, note?: string }} */
    const item = { seal_id: seen.seal_id, state: seen.state };
    const note = (seen.note || '').trim();
    if (note) item.note = note;
    seals.push(item);
  }
  /** @type {{ stage: string, seals: typeof seals, vehicle?: string, note?: string }} */
  const body = { stage: form.stage, seals };
  if (form.vehicle) body.vehicle = form.vehicle;
  const note = form.note.trim();
  if (note) body.note = note;
  return body;
}

/**
 * How many seals a checkpoint saw in each state.
 * @param {{ seals: { state: string }[] }} checkpoint
 * @returns {{ intact: number, broken: number, missing: number }}
 */
export function stateCounts(checkpoint) {
  const counts = { intact: 0, broken: 0, missing: 0 };
  for (const seal of checkpoint.seals) {
    if (seal.state === 'intact' || seal.state === 'broken' || seal.state === 'missing') counts[seal.state] += 1;
  }
  return counts;
}

/**
 * Whether a checkpoint saw a seal broken or missing (it opened a `seal` alert).
 * @param {{ seals: { state: string }[] }} checkpoint
 */
export function isAlarming(checkpoint) {
  const counts = stateCounts(checkpoint);
  return counts.broken + counts.missing > 0;
}
