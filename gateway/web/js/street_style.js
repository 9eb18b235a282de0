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
 * The longest segment of a line, where its name goes: `[x0, y0, x1, y1]` with x0 <= x1 so the
 * text never reads upside down; null for a line without one.
 * @param {number[]} points
 * @returns {[number, number, number, number] | null}
 */
export function labelSegment(points) {
  let best = null;
  let bestLength = 0;
  for (let i = 0; i + 3 < points.length; i += 2) {
    const [x0, y0, x1, y1] = points.slice(i, i + 4);
    const length = Math.hypot(x1 - x0, y1 - y0);
    if (length > bestLength) {
      bestLength = length;
      best = /** @type {[number, number, number, number]} */ (x0 <= x1 ? [x0, y0, x1, y1] : [x1, y1, x0, y0]);
    }
  }
  return best;
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
  for (const line of tile.lines) {
    if (!labelled(line, zoom)) continue;
    const segment = labelSegment(line.points);
    if (!segment) continue;
    const [x0, y0, x1, y1] = segment.map((v) => v * scale);
    const name = String(line.name);
    if (ctx.measureText(name).width + 8 > Math.hypot(x1 - x0, y1 - y0)) continue;
    ctx.save();
    ctx.translate((x0 + x1) / 2, (y0 + y1) / 2);
    ctx.rotate(Math.atan2(y1 - y0, x1 - x0));
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 3;
    ctx.strokeText(name, 0, 0);
    ctx.fillStyle = '#333333';
    ctx.fillText(name, 0, 0);
    ctx.restore();
  }
}
