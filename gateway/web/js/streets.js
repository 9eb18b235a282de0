// The base map layers: the streets of the server's OpenStreetMap extract drawn as canvas tiles
// (a Leaflet GridLayer fetching GET /basemap/streets/{z}/{x}/{y} from the page's own origin,
// drawn by street_style.js), or raster image tiles. Canvas 2D, no WebGL: it draws in any
// browser, headless Chromium without a GPU included.

import { drawStreetTile, LAND } from './street_style.js';

/**
 * The base map `GET /api/v1/me`'s `web.base_map` describes.
 * @typedef {{ kind: 'none' | 'tiles' | 'streets', url: string | null, attribution: string | null,
 *   min_zoom: number, max_zoom: number, bounds: [number, number, number, number] | null }} BaseMap
 */

/**
 * A layer drawing the street tiles at `url` (`{z}`, `{x}`, `{y}`). It fires `tileload` and
 * `tileerror` as image tile layers do.
 * @param {string} url
 * @param {BaseMap} baseMap
 */
export function streetLayer(url, baseMap) {
  const size = 256;
  const Layer = /** @type {new (options: L.GridLayerOptions) => L.GridLayer} */ (L.GridLayer.extend({
    // Two parameters: Leaflet then waits for `done` (the tile is drawn once its JSON is in).
    /**
     * @param {L.Coords} coords
     * @param {L.DoneCallback} done
     */
    createTile(coords, done) {
      const canvas = document.createElement('canvas');
      const ratio = window.devicePixelRatio || 1;
      canvas.width = size * ratio;
      canvas.height = size * ratio;
      canvas.style.width = `${size}px`;
      canvas.style.height = `${size}px`;
      canvas.dataset.tile = `${coords.z}/${coords.x}/${coords.y}`;
      const address = url.replace('{z}', String(coords.z)).replace('{x}', String(coords.x)).replace('{y}', String(coords.y));
      fetch(address, { credentials: 'same-origin' })
        .then((response) => {
          if (!response.ok) throw new Error(`tile ${address}: ${response.status}`);
          return response.json();
        })
        .then((tile) => {
          const ctx = canvas.getContext('2d');
          if (!ctx) throw new Error('no canvas 2D context');
          ctx.scale(ratio, ratio);
          drawStreetTile(ctx, tile, size);
          done(undefined, canvas);
        })
        .catch((error) => done(error, canvas));
      return canvas;
    },
  }));
  return new Layer({
    tileSize: size, minZoom: 0, maxZoom: 19, maxNativeZoom: Math.min(baseMap.max_zoom, 19), className: 'street-tiles',
    ...coverage(baseMap),
  });
}

/**
 * Where a base map has tiles, as Leaflet's layer option: no tile is asked for outside it.
 * @param {BaseMap} baseMap
 * @returns {{ bounds?: L.LatLngBounds }}
 */
export function coverage(baseMap) {
  const b = baseMap.bounds;
  return b ? { bounds: L.latLngBounds([b[1], b[0]], [b[3], b[2]]) } : {};
}

/** The colour behind the streets. */
export const STREETS_BACKGROUND = LAND;
