// The streets base map in Chromium (tests/browser_cases/streets.rs): a server whose base map is
// an OpenStreetMap extract (Andorra) and a move planned there. The live map draws the streets
// on canvas tiles (the pixels where a known road runs are painted in a street's colours, not
// left as the background), shows "© OpenStreetMap contributors", and every request the page
// makes goes to the server's own origin. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, road: {lat, lon, name}, shots_dir, report_path};
// optional `min_zoom` (the least zoom the road's tile is looked for at first, 14 unless given)
// and `close_up` (false: no zooming in, for a map fitted to a long move whose road may leave
// the screen when zoomed in). Used for a server of the tests and for `convoy demo` itself.

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

/** Every request the page made, from the first on. */
const requests = [];
page.on('request', (request) => requests.push(request.url()));

/**
 * In the page: the street tile canvases that hold the road's place, each with its zoom and how
 * many pixels are painted in a 9x9 window around the place (device pixels) and in the whole tile.
 */
const roadPixels = ({ lat, lon }) => {
  const found = [];
  for (const canvas of document.querySelectorAll('.street-tiles canvas[data-tile]')) {
    const [z, x, y] = canvas.dataset.tile.split('/').map(Number);
    const n = 2 ** z;
    const sin = Math.sin((lat * Math.PI) / 180);
    const px = (((lon + 180) / 360) * n - x) * 256;
    const py = ((0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * n - y) * 256;
    if (px < 0 || py < 0 || px >= 256 || py >= 256) continue;
    const ratio = canvas.width / 256;
    const ctx = canvas.getContext('2d');
    const around = ctx.getImageData(Math.max(0, Math.round(px * ratio) - 4), Math.max(0, Math.round(py * ratio) - 4), 9, 9).data;
    const whole = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const painted = (data) => { let count = 0; for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count += 1; return count; };
    // The colours of the painted pixels around the place (opaque ones, as #rrggbb).
    const colours = new Set();
    for (let i = 0; i < around.length; i += 4) {
      if (around[i + 3] === 255) colours.add(`#${[around[i], around[i + 1], around[i + 2]].map((v) => v.toString(16).padStart(2, '0')).join('')}`);
    }
    found.push({ z, painted_around: painted(around), painted_share: painted(whole) / (whole.length / 4), colours: [...colours] });
  }
  return found;
};

/**
 * Waits until a street tile of at least `minZoom` holding the road is drawn there (polled from
 * here: the page's policy allows no script built from a string); returns the tiles.
 */
async function roadDrawn(minZoom) {
  const until = Date.now() + 60_000;
  for (;;) {
    const tiles = await page.evaluate(roadPixels, config.road);
    if (tiles.some((t) => t.z >= minZoom && t.painted_around > 0)) return tiles;
    if (Date.now() > until) throw new Error(`no drawn street tile of zoom ${minZoom}+ at the road: ${JSON.stringify(tiles)}`);
    await page.waitForTimeout(200);
  }
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live').waitFor();
    await page.locator('.live-map[data-base-map="streets"][data-tiles="loaded"]').waitFor();
    // The map fits the move, in Andorra; the road's tile is drawn at the zoom shown.
    await roadDrawn(config.min_zoom ?? 14);
    await screenshot('live-map-streets');
    return {
      tiles: await page.evaluate(roadPixels, config.road),
      background: await page.evaluate(() => getComputedStyle(document.querySelector('.live-map')).backgroundColor),
    };
  },

  async attribution() {
    const attribution = page.locator('.live-map .map-attribution');
    await attribution.waitFor();
    return { text: await attribution.textContent() };
  },

  async close_up() {
    if (config.close_up === false) return { skipped: true };
    const before = await page.evaluate(() => document.querySelectorAll('.street-tiles canvas[data-tile]').length);
    await page.click('.live-map .leaflet-control-zoom-in');
    await page.waitForTimeout(400);
    await page.click('.live-map .leaflet-control-zoom-in');
    await roadDrawn(17);
    await page.waitForTimeout(500);
    await screenshot('close-up');
    return { before, tiles: await page.evaluate(roadPixels, config.road) };
  },

  async requests() {
    const origin = new URL(config.base).origin;
    const foreign = requests.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin);
    return {
      count: requests.length,
      foreign,
      street_tiles: requests.filter((url) => new URL(url).pathname.startsWith('/basemap/streets/')).length,
    };
  },
};

await runSteps(steps);
