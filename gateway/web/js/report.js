// @ts-check
// `#/report/MOVE`: the printable account of a move (GET /api/v1/moves/{id}/report): planned
// against driven route on a map, deviations, stops, data gaps per vehicle, and the alert log
// with who acknowledged and resolved what, when, with which note. Print CSS drops the map's
// controls and the page's chrome and starts each section on a page of its own where needed.

import { api, seg } from './api.js';
import { el, replace } from './dom.js';
import { actor, alertDetail, alertKind, alertState, dateTime, decimal, duration, finite, km, ms, zoneNote } from './format.js';
import { createMap, drawPlan, fit, lineLatLngs, onMap, vehicleColour, ZONE_KINDS } from './map.js';
import { defaultMove, listMoves } from './moves.js';
import { translator } from './i18n.js';
import messages from './lang/replay.js';

const t = translator(messages);

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
 * @property {Completeness} [completeness]
 * @property {Alert[]} [off_route]
 */

/** @typedef {{ state: string, at: string, by: string | null, note: string | null }} Transition */

/**
 * How complete a vehicle's record is (the server's `completeness`, defined in
 * history/src/completeness.rs).
 * @typedef {Object} Completeness
 * @property {number | null} fix_interval_s
 * @property {number | null} expected_fixes
 * @property {number | null} coverage_at_rate
 * @property {number} fixes
 * @property {number} silence_at_start_s
 * @property {number} silence_at_end_s
 * @property {number} spool_drops
 * @property {number} [unsigned_fixes]
 * @property {number} [refused_batches]
 */

/**
 * @param {string} vehicle
 * @param {Completeness} c
 * @returns {string[]}
 */
function completenessRow(vehicle, c) {
  const interval = c.fix_interval_s == null ? '—' : t('report.interval_s', { s: decimal(c.fix_interval_s, 1) });
  const coverage = c.coverage_at_rate == null ? '—'
    : t('report.coverage_of', { pct: decimal(c.coverage_at_rate * 100, 1), fixes: String(c.fixes), expected: String(c.expected_fixes) });
  return [vehicle, interval, coverage, duration(c.silence_at_start_s), duration(c.silence_at_end_s), String(c.spool_drops),
    String(c.unsigned_fixes ?? 0), String(c.refused_batches ?? 0)];
}

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
      container.append(el('section', { class: 'page' }, el('p', { text: t('report.no_moves') })));
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
    el('div', { class: 'report-actions' }, el('button', { type: 'button', class: 'print', text: t('report.print'), on: { click: () => window.print() } })),
    el('h1', {}, t('report.title'), el('span', { class: 'move-name', text: move.name })),
    el('p', { class: 'meta' }, t('report.meta', { id: move.id, by: move.created_by, created: dateTime(move.created_at, zone) }),
      t('report.span', { from: dateTime(report.from, zone), to: dateTime(report.to, zone), generated: dateTime(report.generated_at, zone), name: ctx.me.name }),
      el('span', { class: 'time-zone', text: t('report.zone', { note: zoneNote(zone, ms(report.from) || Date.now()) }) })),
    el('p', {}, t('report.vehicles', { vehicles: (plan.vehicles || []).join(', '), corridor: plan.corridor_m ?? '—' }),
      Object.keys(plan.escorts || {}).length
        ? t('report.escorts', { escorts: Object.entries(plan.escorts || {}).map(([cargo, escort]) => t('report.escorted_by', { cargo, escort })).join(', ') })
        : ''),
    el('section', { class: 'report-route' }, el('h2', { text: t('report.route') }), mapNode,
      el('p', { class: 'legend' }, el('span', {}, el('i', { class: 'l-planned' }), t('report.planned')),
        vehicles.map((v) => el('span', {}, el('i', { style: { backgroundColor: vehicleColour(v.vehicle) } }), t('report.driven', { vehicle: v.vehicle }))))),
    el('section', { class: 'report-zones' }, el('h2', { text: t('report.zones') }),
      table([t('report.zone_col'), t('report.kind'), t('report.size')], zones.map((z) => [
        el('span', { class: 'zone-name', text: z.properties.name || '' }), ZONE_KINDS[z.properties.kind ?? ''] || String(z.properties.kind),
        z.geometry.type === 'Point' ? t('report.circle', { m: String(z.properties.radius_m) }) : t('report.polygon')]), t('report.no_zones'))),
    el('section', { class: 'report-vehicles' }, el('h2', { text: t('report.vehicles_title') }),
      table([t('report.vehicle'), t('report.first_fix'), t('report.last_fix'), t('report.fixes'), t('report.distance'), t('report.stops'), t('report.gaps')], vehicles.map((v) => [
        v.vehicle, dateTime(v.first_fix, zone), dateTime(v.last_fix, zone), String(v.fixes), km(v.distance_km),
        String((v.stops || []).length), String((v.gaps || []).length)]), t('report.no_vehicles'))),
    el('section', { class: 'report-completeness' }, el('h2', { text: t('report.completeness') }),
      el('p', { class: 'meta', text: t('report.completeness_note') }),
      table([t('report.vehicle'), t('report.fix_interval'), t('report.coverage'), t('report.silent_start'), t('report.silent_end'), t('report.spool_drops'), t('report.unsigned'), t('report.refused')],
        vehicles.filter((v) => v.completeness).map((v) => completenessRow(v.vehicle, /** @type {Completeness} */ (v.completeness))), t('report.no_vehicles'))),
    el('section', { class: 'report-deviations' }, el('h2', { text: t('report.deviations') }),
      table([t('report.vehicle'), t('report.opened'), t('report.detail'), t('report.back_on_route'), t('report.state')], deviations.map((a) => [
        a.vehicle, dateTime(a.opened_t, zone), alertDetail(a, zone), a.cleared_t ? dateTime(a.cleared_t, zone) : '—', alertState(a.state)]), t('report.no_deviations'))),
    el('section', { class: 'report-stops' }, el('h2', { text: t('report.stops') }),
      table([t('report.vehicle'), t('report.from'), t('report.to'), t('report.duration'), t('report.where')], stops.map((s) => [
        s.vehicle, dateTime(s.from, zone), dateTime(s.to, zone), duration(s.duration_s), `${decimal(s.lat, 5)}, ${decimal(s.lon, 5)}`]), t('report.no_stops'))),
    el('section', { class: 'report-gaps' }, el('h2', { text: t('report.gaps_title') }),
      table([t('report.vehicle'), t('report.from'), t('report.to'), t('report.duration')], gaps.map((g) => [g.vehicle, dateTime(g.from, zone), dateTime(g.to, zone), duration(g.duration_s)]),
        t('report.no_gaps'))),
    el('section', { class: 'report-alerts' }, el('h2', { text: t('report.alert_log') }),
      alerts.length ? alerts.map((a) => el('div', { class: 'report-alert', data: { alertId: a.id } },
        el('h3', {}, t('report.alert_head', { kind: alertKind(a.kind), vehicle: a.vehicle, time: dateTime(a.opened_t, zone) })),
        el('p', { class: 'meta', text: alertDetail(a, zone) }),
        table([t('report.state'), t('report.at'), t('report.by'), t('report.note')], (a.transitions || []).map((step) => [
          alertState(step.state), dateTime(step.at, zone), step.by ? actor(step.by) : '—', el('span', { class: 'notes', text: step.note || '' })]), t('report.no_history'))))
        : el('p', { class: 'empty', text: t('report.no_alerts') })));
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
