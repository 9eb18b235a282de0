// @ts-check
// `#/report/MOVE`: the printable account of a move (GET /api/v1/moves/{id}/report): planned
// against driven route on a map, deviations, stops, data gaps per vehicle, and the alert log
// with who acknowledged and resolved what, when, with which note. Print CSS drops the map's
// controls and the page's chrome and starts each section on a page of its own where needed.

import { api, seg } from './api.js';
import { el, replace } from './dom.js';
import { alertDetail, alertKind, dateTime, duration, finite, km, ms, zoneNote } from './format.js';
import { createMap, drawPlan, fit, lineLatLngs, onMap, vehicleColour, ZONE_KINDS } from './map.js';
import { defaultMove, listMoves } from './moves.js';

/** @typedef {import('./api.js').Alert} Alert */
/** @typedef {import('./api.js').Gap} Gap */
/** @typedef {import('./api.js').Stop} Stop */

/**
 * `GET /api/v1/moves/{id}/report` (the fields the page reads).
 * @typedef {object} Report
 * @property {import('./api.js').Move & { plan?: import('./api.js').Plan }} move
 * @property {string} generated_at
 * @property {string} from
 * @property {string} to
 * @property {VehicleReport[]} [vehicles]
 * @property {(Alert & { transitions?: Transition[] })[]} [alerts]
 */

/**
 * @typedef {object} VehicleReport
 * @property {string} vehicle
 * @property {string | null} first_fix
 * @property {string | null} last_fix
 * @property {number} fixes
 * @property {number} distance_km
 * @property {import('./api.js').LineString | null} driven
 * @property {Stop[]} [stops]
 * @property {Gap[]} [gaps]
 * @property {Alert[]} [off_route]
 */

/** @typedef {{ state: string, at: string, by: string | null, note: string | null }} Transition */

/**
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} ctx
 * @param {string[]} params the move's id, if the route names one
 */
export async function mountReport(container, ctx, [moveParam]) {
  /** @type {string | null} */
  let moveId = moveParam;
  if (!moveId) {
    moveId = defaultMove(await listMoves());
    if (!moveId) {
      container.append(el('section', { class: 'page' }, el('p', { text: 'No moves yet.' })));
      return () => {};
    }
  }
  /** @type {Report} */
  const report = await api.get(`/api/v1/moves/${seg(moveId)}/report`);
  const move = report.move;
  // Every time of the report in the move's zone, named once under the title.
  const zone = move.time_zone;
  /** @type {import('./api.js').Plan} */
  const plan = move.plan || {};
  const mapNode = el('div', { class: 'report-map' });
  /**
   * A table of `rows` under `headers`, or the `empty` line when there are none.
   * @param {string[]} headers
   * @param {import('./dom.js').Child[][]} rows
   * @param {string} empty
   */
  const table = (headers, rows, empty) => (rows.length
    ? el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', { text: h })))),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c))))))
    : el('p', { class: 'empty', text: empty }));

  const vehicles = report.vehicles || [];
  const alerts = report.alerts || [];
  const deviations = vehicles.flatMap((v) => (v.off_route || []).map((a) => ({ ...a, vehicle: v.vehicle })));
  const stops = vehicles.flatMap((v) => v.stops || []);
  const zones = ((plan.zones && plan.zones.features) || []).filter((z) => z && z.geometry && z.properties);
  const gaps = vehicles.flatMap((v) => (v.gaps || []).map((g) => ({ ...g, vehicle: g.vehicle || v.vehicle })));

  const page = el('article', { class: 'page report' },
    el('div', { class: 'report-actions' }, el('button', { type: 'button', class: 'print', text: 'Print', on: { click: () => window.print() } })),
    el('h1', {}, 'Move report: ', el('span', { class: 'move-name', text: move.name })),
    el('p', { class: 'meta' }, `Move ${move.id}, planned by ${move.created_by} on ${dateTime(move.created_at, zone)}. `,
      `Span ${dateTime(report.from, zone)} – ${dateTime(report.to, zone)}. Generated ${dateTime(report.generated_at, zone)} for ${ctx.me.name}. `,
      el('span', { class: 'time-zone', text: `All ${zoneNote(zone, ms(report.from) || Date.now())}.` })),
    el('p', {}, `Vehicles: ${(plan.vehicles || []).join(', ')}. Corridor: ${plan.corridor_m ?? '—'} m either side of the route. `,
      Object.keys(plan.escorts || {}).length ? `Escorts: ${Object.entries(plan.escorts || {}).map(([c, e]) => `${c} by ${e}`).join(', ')}.` : ''),
    el('section', { class: 'report-route' }, el('h2', { text: 'Planned and driven route' }), mapNode,
      el('p', { class: 'legend' }, el('span', {}, el('i', { class: 'l-planned' }), 'planned route and corridor'),
        vehicles.map((v) => el('span', {}, el('i', { style: { backgroundColor: vehicleColour(v.vehicle) } }), `${v.vehicle} driven`)))),
    el('section', { class: 'report-zones' }, el('h2', { text: 'Planned zones' }),
      table(['Zone', 'Kind', 'Size'], zones.map((z) => [
        el('span', { class: 'zone-name', text: z.properties.name || '' }), ZONE_KINDS[z.properties.kind ?? ''] || String(z.properties.kind),
        z.geometry.type === 'Point' ? `circle of ${z.properties.radius_m} m` : 'polygon']), 'No zones.')),
    el('section', { class: 'report-vehicles' }, el('h2', { text: 'Vehicles' }),
      table(['Vehicle', 'First fix', 'Last fix', 'Fixes', 'Distance', 'Stops', 'Gaps'], vehicles.map((v) => [
        v.vehicle, dateTime(v.first_fix, zone), dateTime(v.last_fix, zone), String(v.fixes), km(v.distance_km),
        String((v.stops || []).length), String((v.gaps || []).length)]), 'No vehicles.')),
    el('section', { class: 'report-deviations' }, el('h2', { text: 'Deviations from the route' }),
      table(['Vehicle', 'Opened', 'Detail', 'Back on route', 'State'], deviations.map((a) => [
        a.vehicle, dateTime(a.opened_t, zone), alertDetail(a, zone), a.cleared_t ? dateTime(a.cleared_t, zone) : '—', a.state]), 'No deviations.')),
    el('section', { class: 'report-stops' }, el('h2', { text: 'Stops' }),
      table(['Vehicle', 'From', 'To', 'Duration', 'Where'], stops.map((s) => [
        s.vehicle, dateTime(s.from, zone), dateTime(s.to, zone), duration(s.duration_s), `${s.lat.toFixed(5)}, ${s.lon.toFixed(5)}`]), 'No stops.')),
    el('section', { class: 'report-gaps' }, el('h2', { text: 'Data gaps per vehicle' }),
      table(['Vehicle', 'From', 'To', 'Duration'], gaps.map((g) => [g.vehicle, dateTime(g.from, zone), dateTime(g.to, zone), duration(g.duration_s)]),
        'No gaps: every vehicle reported throughout.')),
    el('section', { class: 'report-alerts' }, el('h2', { text: 'Alert log' }),
      alerts.length ? alerts.map((a) => el('div', { class: 'report-alert', data: { alertId: a.id } },
        el('h3', {}, `${alertKind(a.kind)} — ${a.vehicle} — opened ${dateTime(a.opened_t, zone)}`),
        el('p', { class: 'meta', text: alertDetail(a, zone) }),
        table(['State', 'At', 'By', 'Note'], (a.transitions || []).map((t) => [
          t.state, dateTime(t.at, zone), t.by || '—', el('span', { class: 'notes', text: t.note || '' })]), 'No history.')))
        : el('p', { class: 'empty', text: 'No alerts.' })));
  container.append(page);

  const map = createMap(mapNode, ctx.me.web);
  const drawn = drawPlan(map, plan);
  /** @type {L.LatLngBounds | null} */
  let bounds = drawn.bounds;
  vehicles.forEach((v) => {
    const line = lineLatLngs(v.driven);
    if (!line.length) return;
    const layer = L.polyline(line, { color: vehicleColour(v.vehicle), weight: 3, className: 'driven-route' }).addTo(map);
    bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
  });
  for (const a of deviations) {
    if (finite(a.lat) && finite(a.lon)) L.circleMarker(onMap(a.lat, a.lon), { radius: 7, color: '#c62828', weight: 2, className: 'deviation' }).addTo(map);
  }
  // Cleared at unmount: Leaflet's invalidateSize on a removed map throws.
  const sized = setTimeout(() => { map.invalidateSize(); fit(map, bounds); }, 0);
  return () => { clearTimeout(sized); map.remove(); };
}
