// @ts-check
// `#/setup` (admin, dispatcher): plan a move. Name, vehicles, escort pairs, a route file
// (GPX, KML or GeoJSON) previewed through POST /api/v1/routes/parse, the corridor width, zones
// added by clicking the map, the time window; then POST /api/v1/moves and, if escort users
// are named, PUT /api/v1/moves/{id}/team.

import { api, seg } from './api.js';
import { append, el, field, messageLine, replace, select } from './dom.js';
import { fromLocalInput, toLocalInput } from './format.js';
import { createMap, drawPlan, fit, fromMap, ZONE_KINDS } from './map.js';
import { chooseMove } from './moves.js';
import { timeZoneInput } from './time_zones.js';
import { can } from './roles.js';

/** @typedef {import('./api.js').Zone} Zone */

/**
 * A zone row of the form: what it makes of the zone now (the inputs may change), whether it
 * came from the route file (a new file replaces those), and its row.
 * @typedef {{ fromFile: boolean, feature: () => Zone, row: HTMLElement }} ZoneRow
 */

/**
 * Content types of route files, by file name extension.
 * @type {Record<string, string>}
 */
const ROUTE_TYPES = {
  gpx: 'application/gpx+xml',
  kml: 'application/vnd.google-earth.kml+xml',
  geojson: 'application/geo+json',
  json: 'application/geo+json',
};

/**
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} ctx
 */
export async function mountSetup(container, ctx) {
  const message = messageLine();
  const routeMessage = messageLine();
  const name = el('input', { name: 'name', required: true, maxlength: 200, placeholder: 'e.g. Data centre move, phase 1' });
  const vehicleChecks = el('div', { class: 'checks vehicle-checks' });
  const escortRows = el('div', { class: 'rows escort-rows' });
  const routeFile = el('input', { type: 'file', name: 'route', accept: '.gpx,.kml,.geojson,.json' });
  const corridor = el('input', { type: 'number', name: 'corridor_m', min: 10, max: 5000, step: 10, value: '150' });
  const zoneRows = el('div', { class: 'rows zone-rows' });
  const from = el('input', { type: 'datetime-local', name: 'from', value: toLocalInput(Date.now()) });
  const to = el('input', { type: 'datetime-local', name: 'to', value: toLocalInput(Date.now() + 8 * 3600_000) });
  const zone = timeZoneInput('');
  const team = el('div', { class: 'team' });
  const submit = el('button', { type: 'submit', text: 'Create the move' });
  const mapNode = el('div', { class: 'setup-map' });

  const form = el('form', { class: 'setup-form', on: { submit: (e) => { e.preventDefault(); create(); } } },
    el('h1', { text: 'Plan a move' }),
    field('Name', name),
    el('fieldset', {}, el('legend', { text: 'Vehicles' }), vehicleChecks),
    el('fieldset', {}, el('legend', { text: 'Escorts' }), escortRows,
      el('button', { type: 'button', class: 'secondary', text: 'Add an escort pair', on: { click: () => addEscortRow() } }),
      el('small', { class: 'hint', text: 'A cargo vehicle and the vehicle that escorts it: an alert if they drive apart.' })),
    el('fieldset', {}, el('legend', { text: 'Route' }),
      field('Route file (GPX, KML or GeoJSON)', routeFile), routeMessage.node,
      field('Corridor (metres either side of the route)', corridor)),
    el('fieldset', {}, el('legend', { text: 'Zones' }),
      el('small', { class: 'hint', text: 'Click the map to add a circular zone.' }), zoneRows),
    el('fieldset', {}, el('legend', { text: 'Window' }), el('div', { class: 'row' }, field('From', from), field('To', to)),
      field('Time zone', zone.input, "an IANA name, e.g. Asia/Shanghai: the move's times are shown in it; empty: the server's default"), zone.list),
    el('fieldset', {}, el('legend', { text: 'Escort team (people who see this move)' }), team),
    submit, message.node);
  container.append(el('section', { class: 'setup' }, form, mapNode));

  const map = createMap(mapNode, ctx.me.web);
  // Cleared at unmount: Leaflet's invalidateSize on a removed map throws.
  const sized = setTimeout(() => map.invalidateSize(), 0);
  /** @type {import('./api.js').LineString | null} */
  let route = null;
  /** @type {ReturnType<typeof drawPlan> | null} */
  let drawn = null;
  /**
   * Zones: from the route file, and clicked on the map.
   * @type {ZoneRow[]}
   */
  const zones = [];

  // ---- vehicles and escorts -------------------------------------------------------------
  /** @type {{ vehicles: { id: string }[] }} */
  const { vehicles } = await api.get('/api/v1/vehicles');
  const ids = vehicles.map((v) => v.id);
  if (!ids.length) vehicleChecks.append(el('p', { class: 'empty', text: 'No vehicles registered yet.' }));
  for (const id of ids) {
    vehicleChecks.append(el('label', {}, el('input', { type: 'checkbox', name: 'vehicle', value: id }), id));
  }
  const chosenVehicles = () => [...vehicleChecks.querySelectorAll('input:checked')].map((c) => /** @type {HTMLInputElement} */ (c).value);

  function addEscortRow() {
    /** @type {[string, string][]} */
    const options = [['', '—'], ...ids.map((id) => /** @type {[string, string]} */ ([id, id]))];
    const cargo = select(options, { class: 'cargo', 'aria-label': 'Cargo vehicle' });
    const escort = select(options, { class: 'escort', 'aria-label': 'Escort vehicle' });
    const row = el('div', { class: 'row escort-row' }, cargo, ' escorted by ', escort,
      el('button', { type: 'button', class: 'link', text: 'remove', on: { click: () => row.remove() } }));
    escortRows.append(row);
  }

  // ---- team ---------------------------------------------------------------------------
  // Those who may list the people pick escorts by name; others type the names.
  /** @type {() => string[]} */
  let chosenTeam;
  if (can(ctx.me, 'users')) {
    /** @type {{ users: { name: string, role: string }[] }} */
    const { users } = await api.get('/api/v1/users');
    const escorts = users.filter((u) => u.role === 'escort');
    const checks = el('div', { class: 'checks team-checks' }, escorts.length ? escorts.map((u) =>
      el('label', {}, el('input', { type: 'checkbox', name: 'team', value: u.name }), u.name)) : el('p', { class: 'empty', text: 'No escort users yet.' }));
    team.append(checks);
    chosenTeam = () => [...checks.querySelectorAll('input:checked')].map((c) => /** @type {HTMLInputElement} */ (c).value);
  } else {
    const names = el('input', { name: 'team', placeholder: 'user names, comma separated' });
    team.append(field('Escort users', names));
    chosenTeam = () => names.value.split(',').map((s) => s.trim()).filter(Boolean);
  }

  // ---- route and zones ----------------------------------------------------------------
  /** @param {boolean} fitToRoute */
  function redraw(fitToRoute) {
    if (drawn) drawn.group.remove();
    drawn = drawPlan(map, { route, corridor_m: Number(corridor.value), zones: { type: 'FeatureCollection', features: zones.map((z) => z.feature()) } });
    if (fitToRoute) fit(map, drawn.bounds);
  }
  corridor.addEventListener('input', () => redraw(false));

  routeFile.addEventListener('change', async () => {
    const file = routeFile.files && routeFile.files[0];
    routeMessage.clear();
    if (!file) return;
    const extension = (file.name.split('.').pop() ?? '').toLowerCase();
    const contentType = ROUTE_TYPES[extension];
    if (!contentType) {
      routeMessage.error('A route file ends in .gpx, .kml, .geojson or .json.');
      return;
    }
    try {
      /** @type {{ route: import('./api.js').LineString, zones?: import('./api.js').Zones | null }} */
      const parsed = await api.upload('/api/v1/routes/parse', await file.arrayBuffer(), contentType);
      route = parsed.route;
      for (let i = zones.length - 1; i >= 0; i -= 1) if (zones[i].fromFile) zones.splice(i, 1)[0].row.remove();
      const fileZones = (parsed.zones && parsed.zones.features) || [];
      for (const feature of fileZones) addZone(feature, true);
      routeMessage.ok(`${parsed.route.coordinates.length} route points, ${fileZones.length} zones from ${file.name}.`);
      redraw(true);
    } catch (e) {
      route = null;
      routeMessage.error(`The route file was refused: ${e.message}`);
      redraw(false);
    }
  });

  /**
   * A zone row; a circle (Point + radius_m) is editable, a polygon from a file is kept as is.
   * @param {Zone} feature
   * @param {boolean} fromFile
   */
  function addZone(feature, fromFile) {
    const props = feature.properties || {};
    const zoneName = el('input', { class: 'zone-name', value: props.name || `Zone ${zones.length + 1}`, 'aria-label': 'Zone name', maxlength: 200 });
    const kind = select(Object.entries(ZONE_KINDS), { class: 'zone-kind', 'aria-label': 'Zone kind' });
    kind.value = props.kind || 'allowed_stop';
    const isCircle = feature.geometry.type === 'Point';
    const radius = el('input', { type: 'number', class: 'zone-radius', min: 10, max: 50000, step: 10, value: String(props.radius_m || 100), 'aria-label': 'Radius in metres' });
    /** @type {ZoneRow} */
    const zone = {
      fromFile,
      row: el('div', { class: 'row zone-row' }),
      feature: () => ({
        type: 'Feature',
        geometry: feature.geometry,
        properties: { ...props, name: zoneName.value.trim() || 'zone', kind: kind.value, ...(isCircle ? { radius_m: Number(radius.value) } : {}) },
      }),
    };
    append(zone.row, [zoneName, kind,
      isCircle ? el('span', {}, radius, ' m') : el('span', { class: 'hint', text: 'polygon' }),
      el('button', { type: 'button', class: 'link', text: 'remove', on: { click: () => { zones.splice(zones.indexOf(zone), 1); zone.row.remove(); redraw(false); } } })]);
    for (const input of [zoneName, kind, radius]) input.addEventListener('change', () => redraw(false));
    zones.push(zone);
    zoneRows.append(zone.row);
  }

  map.on('click', (e) => {
    const wrapped = e.latlng.wrap();
    // Zones are kept in WGS-84, whatever the base map is drawn in.
    const [lat, lon] = fromMap(wrapped.lat, wrapped.lng);
    addZone({ type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { kind: 'allowed_stop', radius_m: 100 } }, false);
    redraw(false);
  });

  // ---- create -------------------------------------------------------------------------
  async function create() {
    message.clear();
    const chosen = chosenVehicles();
    if (!route) return message.error('Upload a route file first.');
    if (!chosen.length) return message.error('Choose at least one vehicle.');
    /** @type {Record<string, string>} */
    const escorts = {};
    for (const row of escortRows.querySelectorAll('.escort-row')) {
      const cargo = /** @type {HTMLSelectElement} */ (row.querySelector('.cargo')).value;
      const escort = /** @type {HTMLSelectElement} */ (row.querySelector('.escort')).value;
      if (cargo && escort) escorts[cargo] = escort;
    }
    /** @type {import('./api.js').Plan} */
    const plan = {
      name: name.value.trim(),
      vehicles: chosen,
      escorts,
      route,
      corridor_m: Number(corridor.value),
      zones: { type: 'FeatureCollection', features: zones.map((z) => z.feature()) },
    };
    const windowFrom = fromLocalInput(from.value);
    const windowTo = fromLocalInput(to.value);
    if (windowFrom && windowTo) plan.window = { from: windowFrom, to: windowTo };
    if (zone.input.value.trim()) plan.time_zone = zone.input.value.trim();
    submit.disabled = true;
    try {
      const { id } = await api.post('/api/v1/moves', plan);
      chooseMove(id);
      const people = chosenTeam();
      let teamNote = '';
      if (people.length) {
        try {
          await api.put(`/api/v1/moves/${seg(id)}/team`, { users: people });
          teamNote = ` Team: ${people.join(', ')}.`;
        } catch (e) {
          teamNote = ` The team was not set: ${e.message}`;
        }
      }
      message.ok(`Move ${id} created.${teamNote}`);
      message.node.append(' ', el('a', { href: '#/live', text: 'Watch it live' }));
    } catch (e) {
      message.error(`The move was not created: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
    return undefined;
  }

  return () => { clearTimeout(sized); map.remove(); replace(container); };
}
