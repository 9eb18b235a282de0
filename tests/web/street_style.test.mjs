// How the street map is drawn (gateway/web/js/street_style.js), on a canvas that records calls.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CLASS_STYLE, drawStreetTile, labelled, lineWidth, pathLength, placeAlong } from '../../gateway/web/js/street_style.js';

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

/** The names a drawing wrote, one character at a time, joined back. */
const written = (calls) => calls.filter((c) => c.op === 'text').map((c) => c.text).join('');

test('names are written as text along major roads close up, and not far out', () => {
  const { ctx, calls } = recorder();
  drawStreetTile(/** @type {any} */ (ctx), TILE, 256);
  // The longest line first; each character with its halo drawn before it.
  assert.equal(written(calls), 'Avinguda de TarragonaCarrer Major');
  assert.equal(calls.filter((c) => c.op === 'halo').length, 'Avinguda de TarragonaCarrer Major'.length);
  const far = recorder();
  drawStreetTile(/** @type {any} */ (far.ctx), { ...TILE, z: 12 }, 256);
  assert.equal(written(far.calls), '');
  assert.equal(labelled({ class: 'primary', name: 'A', points: [] }, 14), true);
  assert.equal(labelled({ class: 'minor', name: 'A', points: [] }, 15), false);
  assert.equal(labelled({ class: 'primary', points: [] }, 18), false, 'no name, no label');
});

test('a name is written once a tile, on the longest of its ways', () => {
  const { ctx, calls } = recorder();
  const split = { ...TILE, areas: [], lines: [
    { class: 'primary', name: 'Avinguda Meritxell', points: [10, 60, 240, 60] },
    { class: 'primary', name: 'Avinguda Meritxell', points: [10, 200, 250, 200] },
  ] };
  drawStreetTile(/** @type {any} */ (ctx), split, 256);
  assert.equal(written(calls), 'Avinguda Meritxell');
});

test('a name follows its line, reads left to right, and stays inside the tile', () => {
  const widths = [6, 6, 6];
  const placed = placeAlong([200, 100, 100, 100, 0, 100], widths, 256);
  assert.ok(placed);
  assert.deepEqual(placed.map((g) => g.x), [94, 100, 106], 'centred, left to right although drawn leftwards');
  assert.ok(placed.every((g) => g.angle === 0));
  // Along a gentle bend, each character takes its segment's angle.
  const bent = placeAlong([0, 100, 100, 100, 200, 80], [6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6], 256);
  assert.ok(bent && bent[0].angle === 0 && bent[bent.length - 1].angle < 0);
  assert.equal(placeAlong([10, 100, 40, 100], widths, 256), null, 'too short');
  assert.equal(placeAlong([0, 100, 100, 100, 100, 0], Array(20).fill(6), 256), null, 'a sharp corner');
  assert.equal(placeAlong([-100, 2, 300, 2], widths, 256), null, 'on the tile\'s edge');
  assert.equal(pathLength([0, 0, 3, 4, 3, 10]), 11);
});

test('widths grow with the zoom and never vanish', () => {
  assert.ok(lineWidth('primary', 18) > lineWidth('primary', 16));
  assert.ok(lineWidth('path', 2) >= 0.5);
  assert.equal(lineWidth('unknown', 16), 0);
});

test('a name longer than its line is left out rather than overflowing', () => {
  const { ctx, calls } = recorder();
  const short = { ...TILE, areas: [], lines: [{ class: 'primary', name: 'Avinguda de Tarragona', points: [0, 0, 60, 0] }] };
  drawStreetTile(/** @type {any} */ (ctx), short, 256);
  assert.equal(written(calls), '');
});
