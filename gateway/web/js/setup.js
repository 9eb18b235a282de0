// @ts-check
// `#/setup` (admin, dispatcher): plan a move. Name, vehicles, escort pairs, a route file
// (GPX, KML or GeoJSON) previewed through POST /api/v1/routes/parse, the corridor width, zones
// added by clicking the map, the time window; then POST /api/v1/moves and, if escort users
// are named, PUT /api/v1/moves/{id}/team.

import { api, seg } from './api.js';
import { append, el, field, messageLine, replace, select } from './dom.js';
import { fromLocalInput, toLocalInput } from './format.js';
import { createMap, drawPlan, fit, fromMap, ZONE_KINDS } from './map.js';
import { translator } from './i18n.js';
import messages from './lang/moves.js';
import { chooseMove } from './moves.js';
import { errorText } from './error_text.js';
import { timeZoneInput } from './time_zones.js';
import { can } from './roles.js';

const t = translator(messages);

/**
 * A zone kind in words (map.js `ZONE_KINDS` has the English).
 * @param {string} kind
 */
export function zoneKindName(kind) {
  return t(`zone_kind.${kind}`);
}

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
  const name = el('input', { name: 'name', required: true, maxlength: 200, placeholder: t('setup.name_placeholder') });
  const vehicleChecks = el('div', { class: 'checks vehicle-checks' });
  const escortRows = el('div', { class: 'rows escort-rows' });
  const routeFile = el('input', { type: 'file', name: 'route', accept: '.gpx,.kml,.geojson,.json' });
  const corridor = el('input', { type: 'number', name: 'corridor_m', min: 10, max: 5000, step: 10, value: '150' });
  const zoneRows = el('div', { class: 'rows zone-rows' });
  const from = el('input', { type: 'datetime-local', name: 'from', value: toLocalInput(Date.now()) });
  const to = el('input', { type: 'datetime-local', name: 'to', value: toLocalInput(Date.now() + 8 * 3600_000) });
  const zone = timeZoneInput('');
  const team = el('div', { class: 'team' });
  const submit = el('button', { type: 'submit', text: t('setup.create') });
  const mapNode = el('div', { class: 'setup-map' });

  const form = el('form', { class: 'setup-form', on: { submit: (e) => { e.preventDefault(); create(); } } },
    el('h1', { text: t('setup.title') }),
    field(t('plan.name'), name),
    el('fieldset', {}, el('legend', { text: t('plan.vehicles') }), vehicleChecks),
    el('fieldset', {}, el('legend', { text: t('plan.escorts') }), escortRows,
      el('button', { type: 'button', class: 'secondary', text: t('setup.add_escort'), on: { click: () => addEscortRow() } }),
      el('small', { class: 'hint', text: t('setup.escorts_hint') })),
    el('fieldset', {}, el('legend', { text: t('setup.route') }),
      field(t('setup.route_file'), routeFile), routeMessage.node,
      field(t('setup.corridor'), corridor)),
    el('fieldset', {}, el('legend', { text: t('setup.zones') }),
      el('small', { class: 'hint', text: t('setup.zones_hint') }), zoneRows),
    el('fieldset', {}, el('legend', { text: t('setup.window') }), el('div', { class: 'row' }, field(t('setup.from'), from), field(t('setup.to'), to)),
      field(t('plan.time_zone'), zone.input, t('plan.time_zone_hint')), zone.list),
    el('fieldset', {}, el('legend', { text: t('setup.team') }), team),
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
  if (!ids.length) vehicleChecks.append(el('p', { class: 'empty', text: t('setup.no_vehicles') }));
  for (const id of ids) {
    vehicleChecks.append(el('label', {}, el('input', { type: 'checkbox', name: 'vehicle', value: id }), id));
  }
  const chosenVehicles = () => [...vehicleChecks.querySelectorAll('input:checked')].map((c) => /** @type {HTMLInputElement} */ (c).value);

  function addEscortRow() {
    /** @type {[string, string][]} */
    const options = [['', '—'], ...ids.map((id) => /** @type {[string, string]} */ ([id, id]))];
    const cargo = select(options, { class: 'cargo', 'aria-label': t('setup.cargo') });
    const escort = select(options, { class: 'escort', 'aria-label': t('setup.escort') });
    const row = el('div', { class: 'row escort-row' }, cargo, ` ${t('setup.escorted_by')} `, escort,
      el('button', { type: 'button', class: 'link', text: t('setup.remove'), on: { click: () => row.remove() } }));
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
      el('label', {}, el('input', { type: 'checkbox', name: 'team', value: u.name }), u.name)) : el('p', { class: 'empty', text: t('setup.no_escorts') }));
    team.append(checks);
    chosenTeam = () => [...checks.querySelectorAll('input:checked')].map((c) => /** @type {HTMLInputElement} */ (c).value);
  } else {
    const names = el('input', { name: 'team', placeholder: t('setup.team_placeholder') });
    team.append(field(t('setup.escort_users'), names));
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
      routeMessage.error(t('setup.route_extension'));
      return;
    }
    try {
      /** @type {{ route: import('./api.js').LineString, zones?: import('./api.js').Zones | null }} */
      const parsed = await api.upload('/api/v1/routes/parse', await file.arrayBuffer(), contentType);
      route = parsed.route;
      for (let i = zones.length - 1; i >= 0; i -= 1) if (zones[i].fromFile) zones.splice(i, 1)[0].row.remove();
      const fileZones = (parsed.zones && parsed.zones.features) || [];
      for (const feature of fileZones) addZone(feature, true);
      routeMessage.ok(t('setup.route_read', { points: parsed.route.coordinates.length, zones: fileZones.length, file: file.name }));
      redraw(true);
    } catch (e) {
      route = null;
      routeMessage.error(t('setup.route_refused', { why: errorText(e) }));
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
    const zoneName = el('input', { class: 'zone-name', value: props.name || t('setup.zone_n', { n: zones.length + 1 }), 'aria-label': t('setup.zone_name'), maxlength: 200 });
    const kind = select(Object.keys(ZONE_KINDS).map((k) => /** @type {[string, string]} */ ([k, zoneKindName(k)])), { class: 'zone-kind', 'aria-label': t('setup.zone_kind') });
    kind.value = props.kind || 'allowed_stop';
    const isCircle = feature.geometry.type === 'Point';
    const radius = el('input', { type: 'number', class: 'zone-radius', min: 10, max: 50000, step: 10, value: String(props.radius_m || 100), 'aria-label': t('setup.radius') });
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
      isCircle ? el('span', {}, radius, ' m') : el('span', { class: 'hint', text: t('setup.polygon') }),
      el('button', { type: 'button', class: 'link', text: t('setup.remove'), on: { click: () => { zones.splice(zones.indexOf(zone), 1); zone.row.remove(); redraw(false); } } })]);
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
    if (!route) return message.error(t('setup.need_route'));
    if (!chosen.length) return message.error(t('setup.need_vehicle'));
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
    // The window is read in the move's zone when one is named (else the browser's own).
    const windowFrom = fromLocalInput(from.value, zone.input.value.trim());
    const windowTo = fromLocalInput(to.value, zone.input.value.trim());
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
          teamNote = ` ${t('setup.team_set', { people: people.join(', ') })}`;
        } catch (e) {
          teamNote = ` ${t('setup.team_not_set', { why: errorText(e) })}`;
        }
      }
      message.ok(`${t('setup.created', { id })}${teamNote}`);
      message.node.append(' ', el('a', { href: '#/live', text: t('setup.watch_live') }));
    } catch (e) {
      message.error(t('setup.not_created', { why: errorText(e) }));
    } finally {
      submit.disabled = false;
    }
    return undefined;
  }

  return () => { clearTimeout(sized); map.remove(); replace(container); };
}
