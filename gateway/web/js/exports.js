// @ts-check
// `#/exports/MOVE`: the move's tracks as GPX, GeoJSON, KML or CSV, of every vehicle or one.
// Files are fetched with the bearer token and saved through a Blob (see api.js `download`).
// Those who may (`evidence`: admins, auditors) also get the move's evidence bundle, the file
// `convoy evidence verify` checks offline.

import { download, seg } from './api.js';
import { el, messageLine, replace, select } from './dom.js';
import { errorText } from './error_text.js';
import { can } from './roles.js';
import { defaultMove, getMove, listMoves, movePicker } from './moves.js';
import { translator } from './i18n.js';
import messages from './lang/replay.js';

const t = translator(messages);

/** @type {[string, string][]} */
const FORMATS = [
  ['gpx', 'GPX'],
  ['geojson', 'GeoJSON'],
  ['kml', 'KML'],
  ['csv', 'CSV'],
];

/**
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} ctx
 * @param {string[]} params the move's id, if the route names one
 */
export async function mountExports(container, ctx, [moveParam]) {
  const message = messageLine();
  const vehicleSelect = select([['', t('all_vehicles')]], { class: 'vehicle-picker', 'aria-label': t('vehicle') });
  const buttons = FORMATS.map(([format, label]) => el('button', {
    type: 'button', class: `export export-${format}`, data: { format }, text: t('exports.download', { format: label }),
    on: { click: () => save(format) },
  }));
  const evidence = can(ctx.me, 'evidence')
    ? el('button', { type: 'button', class: 'secondary evidence-bundle', text: t('exports.evidence'), on: { click: saveEvidence } })
    : null;
  const pickerSlot = el('span', { class: 'picker-slot' });
  container.append(el('section', { class: 'page exports' },
    el('h1', { text: t('exports.title') }),
    el('div', { class: 'row' }, el('label', {}, `${t('move')} `, pickerSlot), el('label', {}, `${t('vehicle')} `, vehicleSelect)),
    el('div', { class: 'export-buttons' }, buttons),
    el('p', { class: 'hint', text: t('exports.hint') }),
    evidence ? el('div', { class: 'evidence' }, evidence, el('p', { class: 'hint', text: t('exports.evidence_hint') })) : null,
    message.node));

  const moves = await listMoves();
  let moveId = moveParam && moves.some((m) => m.id === moveParam) ? moveParam : defaultMove(moves);

  async function showMove() {
    const move = moveId ? await getMove(moveId) : null;
    replace(vehicleSelect, el('option', { value: '', text: t('all_vehicles') }),
      ((move && move.plan.vehicles) || []).map((v) => el('option', { value: v, text: v })));
    for (const b of buttons) b.disabled = !move;
    if (evidence) evidence.disabled = !move;
  }

  async function saveEvidence() {
    if (!moveId) return; // the button is disabled then
    message.clear();
    try {
      const name = await download(`/api/v1/moves/${seg(moveId)}/evidence`, `move-${moveId}.convoy-evidence.jsonl.gz`);
      message.ok(t('exports.saved', { name }));
    } catch (e) {
      message.error(t('exports.failed', { error: errorText(e) }));
    }
  }

  /** @param {string} format */
  async function save(format) {
    if (!moveId) return; // the buttons are disabled then
    message.clear();
    const vehicle = vehicleSelect.value;
    const query = `format=${format}${vehicle ? `&vehicle=${seg(vehicle)}` : ''}`;
    try {
      const name = await download(`/api/v1/moves/${seg(moveId)}/export?${query}`, `move-${moveId}${vehicle ? `-${vehicle}` : ''}.${format}`);
      message.ok(t('exports.saved', { name }));
    } catch (e) {
      message.error(t('exports.failed', { error: errorText(e) }));
    }
  }

  replace(pickerSlot, movePicker(moves, moveId, async (id) => { moveId = id; await showMove(); }));
  await showMove();
  return () => replace(container);
}
