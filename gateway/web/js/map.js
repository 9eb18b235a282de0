// @ts-check
// The map: Leaflet (vendored, global `L`) with the configured base-map tiles, or a plain
// background when there are none or they cannot be reached; the move's planned route, its
// corridor and its zones; vehicle markers that point where the vehicle heads.

import { el } from './dom.js';
import { finite, labels } from './format.js';
import { gcj02ToWgs84, wgs84ToGcj02 } from './gcj02.js';
import { translator } from './i18n.js';
import { labelPlace } from './label_fit.js';
import messages from './lang/live.js';
import { coverage, streetLayer } from './streets.js';

const t = translator(messages);

/** @typedef {import('./api.js').Plan} Plan */
/** @typedef {import('./api.js').Zone} Zone */

/**
 * Zone colours by kind.
 * @type {Record<string, string>}
 */
export const ZONE_COLOURS = {
  origin: '#2e7d32',
  destination: '#1565c0',
  allowed_stop: '#b8860b',
  forbidden: '#c62828',
};

/** How each zone kind reads, in the page's language (read at each look: see format.js `labels`). */
export const ZONE_KINDS = labels(['origin', 'destination', 'allowed_stop', 'forbidden'], (kind) => t(`zone.${kind}`));

const ROUTE_COLOUR = '#3949ab';
export { vehicleColour } from './colours.js';

/** Whether positions are drawn shifted into GCJ-02, for tiles drawn in it (`[web] coordinates`). */
let drawnInGcj02 = false;

/**
 * Where a WGS-84 position is drawn on the map: itself, or its GCJ-02 coordinates when the base
 * map is drawn in GCJ-02. Every position the page draws goes through here.
 * @param {number} lat
 * @param {number} lon
 * @returns {L.LatLngTuple}
 */
export function onMap(lat, lon) {
  return drawnInGcj02 ? wgs84ToGcj02(lat, lon) : [lat, lon];
}

/**
 * The WGS-84 position of a point of the map (a click): the inverse of `onMap`.
 * @param {number} lat
 * @param {number} lng
 * @returns {[number, number]} [lat, lon]
 */
export function fromMap(lat, lng) {
  return drawnInGcj02 ? gcj02ToWgs84(lat, lng) : [lat, lng];
}

/**
 * A map in `container`. `web` is /api/v1/me's `web`: its `base_map` (none, raster tiles, or the
 * streets of the server's OpenStreetMap extract drawn on canvas tiles) with its attribution, and
 * the tiles' coordinate system (positions are drawn shifted into GCJ-02 for tiles drawn in it).
 * Without a base map the map is a plain background (CSS) on which the routes, zones and
 * vehicles still draw.
 * @param {HTMLElement} container
 * @param {import('./api.js').WebSettings | null} [web]
 */
export function createMap(container, web = {}) {
  container.classList.add('map');
  drawnInGcj02 = Boolean(web && web.coordinates === 'gcj02');
  container.dataset.coordinates = drawnInGcj02 ? 'gcj02' : 'wgs84';
  const map = L.map(container, { attributionControl: false, zoomSnap: 0.25, worldCopyJump: true });
  const base = baseMapOf(web);
  const bounds = base.bounds;
  // Where the base map has streets, until the page fits a plan or a track.
  if (bounds) map.setView([(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], 12);
  else map.setView([48.137, 11.575], 12);
  container.dataset.baseMap = base.kind;
  if (base.kind !== 'none' && base.url) {
    const tiles = base.kind === 'streets'
      ? streetLayer(base.url, base)
      : L.tileLayer(base.url, {
        minZoom: 0, maxZoom: 19, maxNativeZoom: Math.min(base.max_zoom, 19), crossOrigin: false, ...coverage(base),
      });
    let loaded = 0;
    tiles.on('tileload', () => { loaded += 1; container.dataset.tiles = 'loaded'; });
    tiles.on('tileerror', () => {
      if (loaded || container.dataset.tiles === 'unreachable') return;
      container.dataset.tiles = 'unreachable';
      container.append(el('p', { class: 'map-note', role: 'status', text: t('map.no_tiles') }));
    });
    tiles.addTo(map);
    if (base.attribution) attribution(base.attribution).addTo(map);
    if (base.kind === 'streets') container.classList.add('map-streets');
  } else {
    container.dataset.tiles = 'none';
  }
  L.control.scale({ imperial: false }).addTo(map);
  return map;
}

/**
 * The base map `web` describes: `web.base_map` from a server that sends it, else the tile URL
 * and attribution of `[web] tile_url` as before.
 * @param {import('./api.js').WebSettings | null | undefined} web
 * @returns {import('./streets.js').BaseMap}
 */
export function baseMapOf(web) {
  if (web && web.base_map) return web.base_map;
  if (web && web.tile_url) {
    return { kind: 'tiles', url: web.tile_url, attribution: web.tile_attribution || null, min_zoom: 0, max_zoom: 19, bounds: null };
  }
  return { kind: 'none', url: null, attribution: null, min_zoom: 0, max_zoom: 19, bounds: null };
}

/**
 * The tile provider's attribution, as text (Leaflet's own control would take it as HTML).
 * @param {string} text
 */
function attribution(text) {
  const Control = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd: () => el('div', { class: 'leaflet-control map-attribution', text }),
  });
  return new Control();
}

/**
 * A GeoJSON LineString's coordinates as Leaflet's [lat, lon] pairs.
 * @param {import('./api.js').LineString | null | undefined} line
 * @returns {L.LatLngTuple[]}
 */
export function lineLatLngs(line) {
  if (!line || !Array.isArray(line.coordinates)) return [];
  return line.coordinates.filter((c) => Array.isArray(c) && c.length >= 2).map(([lon, lat]) => onMap(lat, lon));
}

/**
 * Metres per screen pixel at a latitude and zoom (Web Mercator, 256-pixel tiles).
 * @param {number} lat
 * @param {number} zoom
 */
function metresPerPixel(lat, zoom) {
  return (40075016.686 * Math.cos((lat * Math.PI) / 180)) / 2 ** (zoom + 8);
}

/**
 * The corridor: a translucent band `corridor_m` either side of the route (a vehicle farther
 * than `corridor_m` from the route is outside it), drawn as a wide polyline whose width in
 * pixels follows the zoom.
 * @param {L.Map} map
 * @param {L.LatLngTuple[]} latlngs
 * @param {number} corridorM
 */
function corridorBand(map, latlngs, corridorM) {
  const band = L.polyline(latlngs, {
    color: ROUTE_COLOUR, opacity: 0.18, lineCap: 'round', lineJoin: 'round', interactive: false,
    className: 'corridor',
  });
  const midLat = latlngs.length ? latlngs[Math.floor(latlngs.length / 2)][0] : 0;
  const resize = () => band.setStyle({ weight: Math.max(2, (2 * corridorM) / metresPerPixel(midLat, map.getZoom())) });
  resize();
  map.on('zoomend', resize);
  band.on('remove', () => map.off('zoomend', resize));
  return band;
}

/**
 * The label shown on a zone: its name (as text) and kind.
 * @param {import('./api.js').ZoneProperties} properties
 */
function zoneLabel(properties) {
  return el('span', {}, el('strong', { text: properties.name || t('zone.unnamed') }), ` — ${ZONE_KINDS[properties.kind ?? ''] || properties.kind || ''}`);
}

/**
 * A zone feature (Point with radius_m, or Polygon) as a Leaflet layer, or null.
 * @param {Zone | null | undefined} feature
 * @returns {L.Circle | L.Polygon | null}
 */
export function zoneLayer(feature) {
  const geometry = feature && feature.geometry;
  const properties = (feature && feature.properties) || {};
  if (!geometry) return null;
  const colour = ZONE_COLOURS[properties.kind ?? ''] || '#555';
  const style = { color: colour, fillColor: colour, fillOpacity: 0.15, weight: 2, className: `zone zone-${properties.kind}` };
  let layer = null;
  if (geometry.type === 'Point' && finite(properties.radius_m)) {
    const [lon, lat] = geometry.coordinates;
    layer = L.circle(onMap(lat, lon), { ...style, radius: properties.radius_m });
  } else if (geometry.type === 'Polygon') {
    layer = L.polygon(geometry.coordinates.map((ring) => ring.map(([lon, lat]) => onMap(lat, lon))), style);
  }
  if (layer) layer.bindTooltip(zoneLabel(properties), { sticky: true });
  return layer;
}

/**
 * Draws a move's plan (route, corridor, zones) into a new layer group on `map`; returns the
 * group and the bounds to fit.
 * @param {L.Map} map
 * @param {Plan | null | undefined} plan
 * @returns {{ group: L.LayerGroup, bounds: L.LatLngBounds | null }}
 */
export function drawPlan(map, plan) {
  const group = L.layerGroup().addTo(map);
  const latlngs = lineLatLngs(plan && plan.route);
  /** @type {L.LatLngBounds | null} */
  let bounds = null;
  const corridorM = plan && plan.corridor_m;
  if (latlngs.length) {
    if (finite(corridorM) && corridorM > 0) corridorBand(map, latlngs, corridorM).addTo(group);
    const route = L.polyline(latlngs, { color: ROUTE_COLOUR, weight: 3, className: 'planned-route' }).addTo(group);
    bounds = route.getBounds();
  }
  const features = (plan && plan.zones && plan.zones.features) || [];
  for (const feature of features) {
    const layer = zoneLayer(feature);
    if (!layer) continue;
    layer.addTo(group);
    // A circle knows its bounds only once it is on the map (added just above).
    bounds = (bounds || L.latLngBounds([])).extend(layer.getBounds());
  }
  return { group, bounds };
}

/**
 * Fits the map to `bounds` if there are any, at once: no zoom animation. (Views fit their map
 * as they open; Leaflet 1.9 ends a zoom animation with a timer that throws if the map has
 * been removed meanwhile, Leaflet issue #9575, which leaving the view quickly did.)
 * @param {L.Map} map
 * @param {L.LatLngBounds | null | undefined} bounds
 */
export function fit(map, bounds) {
  if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16, animate: false });
}

/**
 * A vehicle marker: an arrow turned to the course over ground (a dot when the course is
 * unknown), the vehicle id and a second line (the fix's age, or a replay time). The marker
 * element carries data-vehicle, data-lat and data-lon (the fix), data-map-lat and data-map-lon
 * (where it is drawn).
 */
/** Within this many px of the right, top or bottom edge a label may be cut: it is measured. */
const NEAR_EDGE_PX = 240;

export class VehicleMarker {
  /**
   * @param {L.Map} map
   * @param {string} id
   * @param {string} colour
   */
  constructor(map, id, colour) {
    this.arrow = el('div', { class: 'vehicle-arrow' });
    this.arrow.style.backgroundColor = colour;
    this.note = el('span', { class: 'vehicle-note' });
    this.label = el('div', { class: 'vehicle-label' }, el('span', { class: 'vehicle-id', text: id }), this.note);
    this.root = el('div', { class: 'vehicle', data: { vehicle: id } }, this.arrow, this.label);
    const icon = L.divIcon({ html: this.root, className: 'vehicle-icon', iconSize: [22, 22], iconAnchor: [11, 11] });
    this.marker = L.marker([0, 0], { icon, keyboard: false, title: id });
    // Its popup: the id and, on the live map, its progress along the route (set as text).
    this.popupNote = el('div', { class: 'popup-progress' });
    this.marker.bindPopup(el('div', { class: 'vehicle-popup', data: { vehicle: id } },
      el('strong', { text: id }), this.popupNote));
    this.map = map;
    this.shown = false;
    // The label stays inside the map as the map moves under the marker.
    map.on('moveend zoomend resize', () => this.fitLabel());
  }

  /**
   * Puts the label where it is not cut by the map's edge (label_fit.js). Only a marker near an
   * edge is measured: reading a label's size makes the browser lay the page out.
   */
  fitLabel() {
    // A map event can come after the view removed its map (a zoom's last timer): its panes are
    // gone then, and so is the marker from its layers.
    if (!this.shown || !this.map.hasLayer(this.marker)) return;
    const size = this.map.getSize();
    const at = this.map.latLngToContainerPoint(this.marker.getLatLng());
    const nearEdge = at.x > size.x - NEAR_EDGE_PX || at.y < NEAR_EDGE_PX || at.y > size.y - NEAR_EDGE_PX;
    const place = nearEdge
      ? labelPlace(at, { width: this.label.offsetWidth, height: this.label.offsetHeight }, { width: size.x, height: size.y })
      : { side: 'right', shiftY: 0 };
    this.label.classList.toggle('left', place.side === 'left');
    this.label.style.transform = place.shiftY ? `translateY(${place.shiftY}px)` : '';
  }

  /**
   * Moves the marker; `course` in degrees clockwise from north, or null.
   * @param {number} lat
   * @param {number} lon
   * @param {number | null | undefined} course
   */
  place(lat, lon, course) {
    const [mapLat, mapLon] = onMap(lat, lon);
    this.marker.setLatLng([mapLat, mapLon]);
    this.root.dataset.lat = String(lat);
    this.root.dataset.lon = String(lon);
    // Where it is drawn (differs from data-lat/lon on a GCJ-02 base map).
    this.root.dataset.mapLat = String(mapLat);
    this.root.dataset.mapLon = String(mapLon);
    if (Number.isFinite(course)) {
      this.arrow.classList.remove('no-heading');
      this.arrow.style.transform = `rotate(${course}deg)`;
    } else {
      this.arrow.classList.add('no-heading');
      this.arrow.style.transform = '';
    }
    if (!this.shown) {
      this.marker.addTo(this.map);
      this.shown = true;
    }
    this.fitLabel();
  }

  /** @param {string} text */
  setNote(text) {
    this.note.textContent = text;
  }

  /**
   * The popup's line under the id (the live map's progress along the route).
   * @param {string} text
   */
  setPopupText(text) {
    this.popupNote.textContent = text;
  }

  /**
   * Greys the marker (an old fix, or a gap in a replay).
   * @param {boolean} grey
   * @param {string} [reason] why, as `data-state` tells it: stale, gap, ended
   */
  setGrey(grey, reason = 'stale') {
    this.root.classList.toggle('grey', grey);
    this.root.dataset.state = grey ? reason : 'current';
  }

  hide() {
    if (this.shown) this.marker.remove();
    this.shown = false;
  }

  latLng() {
    return this.marker.getLatLng();
  }
}
