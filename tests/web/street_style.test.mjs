// How the street map is drawn (gateway/web/js/street_style.js), on a canvas that records calls.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CLASS_STYLE, drawStreetTile, labelled, labelSegment, lineWidth } from '../../gateway/web/js/street_style.js';

/** A canvas context that keeps what is drawn: each stroke and fill with its style, and texts. */
function recorder() {
  /** @type {{ op: string, style?: unknown, width?: number, path?: number[][], text?: string }[]} */
  const calls = [];
  /** @type {number[][]} */
  let path = [];
  const ctx = {
    strokeStyle: '', fillStyle: '', lineWidth: 1, lineCap: '', lineJoin: '', font: '', textAlign: '', textBaseline: '',
    beginPath() { path = []; },
    /** @param {number} x @param {number} y */
    moveTo(x, y) { path.push([x, y]); },
    /** @param {number} x @param {number} y */
    lineTo(x, y) { path.push([x, y]); },
    closePath() {},
    stroke() { calls.push({ op: 'stroke', style: ctx.strokeStyle, width: ctx.lineWidth, path }); },
    fill() { calls.push({ op: 'fill', style: ctx.fillStyle, path }); },
    save() {}, restore() {}, translate() {}, rotate() {}, setLineDash() {},
    /** @param {string} text */
    measureText(text) { return { width: text.length * 6 }; },
    /** @param {string} text */
    strokeText(text) { calls.push({ op: 'halo', text }); },
    /** @param {string} text */
    fillText(text) { calls.push({ op: 'text', text }); },
  };
  return { ctx, calls };
}

const TILE = {
  z: 16, x: 0, y: 0, extent: 256,
  areas: [{ class: 'building', points: [10, 10, 20, 10, 20, 20, 10, 20] }],
  lines: [
    { class: 'minor', name: 'Carrer Major', points: [0, 50, 256, 50] },
    { class: 'primary', name: 'Avinguda de Tarragona', points: [0, 128, 200, 130, 256, 128] },
  ],
};

test('buildings first, then every casing, then the fills, each at its class width', () => {
  const { ctx, calls } = recorder();
  drawStreetTile(/** @type {any} */ (ctx), TILE, 512);
  const order = calls.filter((c) => c.op !== 'halo' && c.op !== 'text').map((c) => `${c.op} ${c.style}`);
  assert.deepEqual(order, [
    'fill #d9d0c9', 'stroke #c4b6ab',
    `stroke ${CLASS_STYLE.minor.casing}`, `stroke ${CLASS_STYLE.primary.casing}`,
    `stroke ${CLASS_STYLE.minor.fill}`, `stroke ${CLASS_STYLE.primary.fill}`,
  ]);
  // Scaled from the tile's 256 to the canvas's 512 pixels.
  const primaryFill = calls.find((c) => c.style === CLASS_STYLE.primary.fill);
  assert.deepEqual(primaryFill?.path, [[0, 256], [400, 260], [512, 256]]);
  assert.equal(primaryFill?.width, lineWidth('primary', 16));
  assert.ok(lineWidth('minor', 16) < lineWidth('primary', 16));
});

test('names are written as text along major roads close up, and not far out', () => {
  const { ctx, calls } = recorder();
  drawStreetTile(/** @type {any} */ (ctx), TILE, 256);
  assert.deepEqual(calls.filter((c) => c.op === 'text').map((c) => c.text), ['Carrer Major', 'Avinguda de Tarragona']);
  const far = recorder();
  drawStreetTile(/** @type {any} */ (far.ctx), { ...TILE, z: 12 }, 256);
  assert.equal(far.calls.filter((c) => c.op === 'text').length, 0);
  assert.equal(labelled({ class: 'primary', name: 'A', points: [] }, 14), true);
  assert.equal(labelled({ class: 'minor', name: 'A', points: [] }, 15), false);
  assert.equal(labelled({ class: 'primary', points: [] }, 18), false, 'no name, no label');
});

test('a name goes on the longest segment, read left to right', () => {
  assert.deepEqual(labelSegment([100, 0, 90, 0, 0, 10]), [0, 10, 90, 0]);
  assert.equal(labelSegment([5, 5]), null);
});

test('widths grow with the zoom and never vanish', () => {
  assert.ok(lineWidth('primary', 18) > lineWidth('primary', 16));
  assert.ok(lineWidth('path', 2) >= 0.5);
  assert.equal(lineWidth('unknown', 16), 0);
});

test('a name longer than its segment is left out rather than overflowing', () => {
  const { ctx, calls } = recorder();
  const short = { ...TILE, areas: [], lines: [{ class: 'primary', name: 'Avinguda de Tarragona', points: [0, 0, 60, 0] }] };
  drawStreetTile(/** @type {any} */ (ctx), short, 256);
  assert.equal(calls.filter((c) => c.op === 'text').length, 0);
});
