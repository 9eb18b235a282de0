// How the street map is drawn: a light style like OpenStreetMap's own (casing and fill per
// class, widths growing with the zoom, names along the major roads close up), on any canvas 2D
// context. Pure: streets.js hands it the context and the tile the server cut
// (GET /basemap/streets/{z}/{x}/{y}, convoy-basemap).

/**
 * A street tile as the server sends it: coordinates `[x0, y0, x1, y1, …]` in tile pixels,
 * 0 to `extent`.
 * @typedef {{ class: string, name?: string, points: number[] }} StreetLine
 * @typedef {{ class: string, points: number[] }} StreetArea
 * @typedef {{ z: number, x: number, y: number, extent: number, lines: StreetLine[], areas: StreetArea[] }} StreetTile
 */

/**
 * The canvas calls the drawing uses (a CanvasRenderingContext2D has them all).
 * @typedef {Pick<CanvasRenderingContext2D, 'beginPath' | 'moveTo' | 'lineTo' | 'closePath' | 'stroke' | 'fill'
 *   | 'save' | 'restore' | 'translate' | 'rotate' | 'setLineDash' | 'measureText' | 'strokeText' | 'fillText'>
 *   & { strokeStyle: unknown, fillStyle: unknown, lineWidth: number, lineCap: string, lineJoin: string,
 *   font: string, textAlign: string, textBaseline: string }} Canvas
 */

/** The land under the streets (the map's background while a streets base map is shown). */
export const LAND = '#f2efe9';

/**
 * Each class's look: fill colour, casing colour (null: none), width in pixels at zoom 16, a
 * dash (null: solid).
 * @type {Record<string, { fill: string, casing: string | null, width: number, dash: number[] | null }>}
 */
export const CLASS_STYLE = {
  motorway: { fill: '#e892a2', casing: '#dc2a67', width: 10, dash: null },
  trunk: { fill: '#f9b29c', casing: '#c84e2f', width: 9, dash: null },
  primary: { fill: '#fcd6a4', casing: '#a06b00', width: 8, dash: null },
  secondary: { fill: '#f7fabf', casing: '#707d05', width: 7, dash: null },
  tertiary: { fill: '#ffffff', casing: '#8f8f8f', width: 6, dash: null },
  minor: { fill: '#ffffff', casing: '#b5b5b5', width: 5, dash: null },
  service: { fill: '#ffffff', casing: '#bbbbbb', width: 3, dash: null },
  track: { fill: '#996600', casing: null, width: 1.5, dash: [4, 3] },
  path: { fill: '#fa8072', casing: null, width: 1.2, dash: [2, 2] },
};

const BUILDING = { fill: '#d9d0c9', outline: '#c4b6ab' };

/** Classes whose names are written along them, from this zoom on. */
const LABEL_ZOOM = { motorway: 13, trunk: 13, primary: 14, secondary: 15, tertiary: 15, minor: 16 };

/**
 * The width of a class's fill at a zoom: its zoom-16 width, halved about every 1.7 zoom levels
 * further out, never under half a pixel.
 * @param {string} cls
 * @param {number} zoom
 */
export function lineWidth(cls, zoom) {
  const style = CLASS_STYLE[cls];
  if (!style) return 0;
  return Math.max(0.5, style.width * 2 ** ((zoom - 16) * 0.6));
}

/**
 * Whether a line's name is written on the map at this zoom.
 * @param {StreetLine} line
 * @param {number} zoom
 */
export function labelled(line, zoom) {
  const from = LABEL_ZOOM[/** @type {keyof typeof LABEL_ZOOM} */ (line.class)];
  return Boolean(line.name) && from !== undefined && zoom >= from;
}

/**
 * Where each character of a name goes along a line: its centre and angle, the name centred on
 * the line's length and read left to right; null where it does not fit, leaves the tile
 * (`size` pixels, so a name is never cut at a tile's edge), or would bend more than 30° from one
 * character to the next.
 * @param {number[]} points `[x0, y0, x1, y1, …]` in the canvas's pixels
 * @param {number[]} widths each character's width
 * @param {number} size
 * @returns {{ x: number, y: number, angle: number }[] | null}
 */
export function placeAlong(points, widths, size) {
  /** @type {[number, number][]} */
  let line = [];
  for (let i = 0; i + 1 < points.length; i += 2) line.push([points[i], points[i + 1]]);
  if (line.length < 2) return null;
  if (line[0][0] > line[line.length - 1][0]) line = line.reverse();
  const lengths = line.slice(1).map(([x, y], i) => Math.hypot(x - line[i][0], y - line[i][1]));
  const total = lengths.reduce((a, b) => a + b, 0);
  const text = widths.reduce((a, b) => a + b, 0);
  if (text + 16 > total) return null;
  /** @param {number} at a distance along the line */
  const pointAt = (at) => {
    let i = 0;
    while (i < lengths.length - 1 && at > lengths[i]) { at -= lengths[i]; i += 1; }
    const t = lengths[i] ? Math.min(1, at / lengths[i]) : 0;
    const [[x0, y0], [x1, y1]] = [line[i], line[i + 1]];
    return { x: x0 + t * (x1 - x0), y: y0 + t * (y1 - y0), angle: Math.atan2(y1 - y0, x1 - x0) };
  };
  const placed = [];
  let at = (total - text) / 2;
  for (const width of widths) {
    const glyph = pointAt(at + width / 2);
    const previous = placed[placed.length - 1];
    let turn = previous ? Math.abs(glyph.angle - previous.angle) : 0;
    if (turn > Math.PI) turn = 2 * Math.PI - turn;
    if (turn > Math.PI / 6) return null;
    if (glyph.x < 4 || glyph.y < 4 || glyph.x > size - 4 || glyph.y > size - 4) return null;
    placed.push(glyph);
    at += width;
  }
  return placed;
}

/**
 * The length of a line `[x0, y0, x1, y1, …]`.
 * @param {number[]} points
 */
export function pathLength(points) {
  let length = 0;
  for (let i = 0; i + 3 < points.length; i += 2) length += Math.hypot(points[i + 2] - points[i], points[i + 3] - points[i + 1]);
  return length;
}

/**
 * Draws a tile on `ctx`, scaled from the tile's extent to `size` pixels: buildings, then every
 * street's casing, then the fills (the least important first, as the server orders them), then
 * the names.
 * @param {Canvas} ctx
 * @param {StreetTile} tile
 * @param {number} size
 */
export function drawStreetTile(ctx, tile, size) {
  const scale = size / (tile.extent || 256);
  const zoom = tile.z;
  /** @param {number[]} points @param {boolean} ring */
  const trace = (points, ring) => {
    ctx.beginPath();
    for (let i = 0; i + 1 < points.length; i += 2) {
      const [x, y] = [points[i] * scale, points[i + 1] * scale];
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    if (ring) ctx.closePath();
  };
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  for (const area of tile.areas) {
    trace(area.points, true);
    ctx.fillStyle = BUILDING.fill;
    ctx.fill();
    ctx.strokeStyle = BUILDING.outline;
    ctx.lineWidth = 0.5;
    ctx.stroke();
  }
  for (const line of tile.lines) {
    const style = CLASS_STYLE[line.class];
    if (!style || !style.casing) continue;
    trace(line.points, false);
    ctx.strokeStyle = style.casing;
    ctx.lineWidth = lineWidth(line.class, zoom) + 2;
    ctx.stroke();
  }
  for (const line of tile.lines) {
    const style = CLASS_STYLE[line.class];
    if (!style) continue;
    trace(line.points, false);
    ctx.setLineDash(style.dash || []);
    ctx.strokeStyle = style.fill;
    ctx.lineWidth = lineWidth(line.class, zoom);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  // Each name once a tile, on its longest part (a street is often several ways).
  const placedNames = new Set();
  const candidates = tile.lines.filter((line) => labelled(line, zoom))
    .map((line) => ({ line, length: pathLength(line.points) }))
    .sort((a, b) => b.length - a.length);
  for (const { line } of candidates) {
    const name = String(line.name);
    if (placedNames.has(name)) continue;
    const chars = [...name];
    const glyphs = placeAlong(line.points.map((v) => v * scale), chars.map((c) => ctx.measureText(c).width), size);
    if (!glyphs) continue;
    placedNames.add(name);
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 3;
    ctx.fillStyle = '#333333';
    // A white halo under every character first, so no neighbour's halo covers a letter.
    for (const pass of ['halo', 'text']) {
      chars.forEach((char, i) => {
        ctx.save();
        ctx.translate(glyphs[i].x, glyphs[i].y);
        ctx.rotate(glyphs[i].angle);
        if (pass === 'halo') ctx.strokeText(char, 0, 0); else ctx.fillText(char, 0, 0);
        ctx.restore();
      });
    }
  }
}
