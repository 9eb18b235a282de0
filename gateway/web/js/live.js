// @ts-check
// `#/live`: the live map. The chosen move's route, corridor and zones; every vehicle the
// person may see, as a marker turned to its heading with the age of its last fix (greyed when
// old); its progress along its move's route with an estimated arrival (progress.js), in its
// list entry and its popup; the alert panel; agent status; follow a vehicle (the map keeps it
// centred).

import { api, seg } from './api.js';
import { AlertPanel } from './alerts.js';
import { el, replace } from './dom.js';
import { age, finite, ms, zoneNote } from './format.js';
import { createMap, drawPlan, fit, onMap, vehicleColour, VehicleMarker } from './map.js';
import { defaultMove, getMove, listMoves, movePicker } from './moves.js';
import { progressText } from './progress.js';
import { can } from './roles.js';
import { translator } from './i18n.js';
import messages from './lang/live.js';

const t = translator(messages);

/** A fix older than this is shown greyed: the vehicle may have gone silent. */
const STALE_AFTER_MS = 30_000;

/** @typedef {import('./api.js').Position} Position */
/** @typedef {import('./api.js').AgentStatus} AgentStatus */
/** @typedef {import('./progress.js').VehicleProgress} VehicleProgress */

/**
 * A vehicle on the live map: its marker and its row in the list.
 * @typedef {object} Vehicle
 * @property {string} id
 * @property {VehicleMarker} marker
 * @property {HTMLLIElement} row
 * @property {{ age: HTMLElement, speed: HTMLElement, agent: HTMLElement, progress: HTMLElement }} cells
 * @property {HTMLButtonElement} follow
 * @property {Position | null} position
 */

/**
 * A value an agent reports (`online`, `no_fix`) in words where the catalogue has them, else as
 * it came (`no_fix` → "no fix").
 * @param {'agent_state' | 'gnss'} group
 * @param {string} value
 */
function agentWord(group, value) {
  const key = `${group}.${value}`;
  const text = t(key);
  return text === key ? value.replace('_', ' ') : text;
}

/**
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} ctx
 */
export async function mountLive(container, ctx) {
  const { feed, book, me } = ctx;
  const mapNode = el('div', { class: 'live-map', id: 'live-map' });
  const connection = el('span', { class: 'connection', role: 'status' });
  const pickerSlot = el('span', { class: 'picker-slot' });
  // The selected move's zone, named in the toolbar: its arrival times and its alerts read in it.
  const zoneText = el('small', { class: 'time-zone' });
  // The chosen move's seals and checkpoints (seals.js): where an escort records one. Below the
  // vehicles, so that the map stays where it was.
  const sealsLink = el('a', { class: 'button seals-link', href: '#/seals', hidden: true, text: t('seals') });
  const toolbar = el('div', { class: 'toolbar' }, el('label', {}, `${t('move')} `, pickerSlot), zoneText, connection);
  /** @type {Map<string, string>} each move's zone, by id */
  const moveZones = new Map();
  /** @type {string | null} */
  let moveZone = null;
  const vehicleRows = el('ul', { class: 'vehicle-list' });
  const side = el('aside', { class: 'side' });
  container.append(el('section', { class: 'live' }, toolbar, el('div', { class: 'live-body' }, mapNode, side)));

  const panel = new AlertPanel(side, book, {
    canAct: can(me, 'acknowledge'),
    onPick: (alert) => showAlert(alert),
    zoneOf: (alert) => (alert.move && moveZones.get(alert.move)) || null,
  });
  side.append(el('section', { class: 'vehicles', 'aria-label': t('vehicles') },
    el('h2', { text: t('vehicles') }), vehicleRows), el('p', { class: 'move-seals' }, sealsLink));

  const map = createMap(mapNode, me.web);
  /** @type {Map<string, Vehicle>} */
  const vehicles = new Map();
  /** @type {string | null} */
  let following = null;
  /** @type {L.LayerGroup | null} */
  let planLayer = null;
  /** @type {Set<string>} */
  let moveVehicles = new Set();

  /**
   * The row and marker of a vehicle, made on first sight.
   * @param {string} id
   * @returns {Vehicle}
   */
  function vehicle(id) {
    const known = vehicles.get(id);
    if (known) return known;
    const colour = vehicleColour(id);
    const cells = {
      age: el('span', { class: 'age', title: t('title.age') }),
      speed: el('span', { class: 'speed', title: t('title.speed') }),
      agent: el('div', { class: 'agent', title: t('title.agent'), text: t('agent.none') }),
      progress: el('div', { class: 'progress', title: t('title.progress'), hidden: true }),
    };
    const follow = el('button', { type: 'button', class: 'follow secondary', 'aria-pressed': 'false', text: t('follow'), on: { click: () => choose(id) } });
    const row = el('li', { class: 'vehicle-row', data: { vehicle: id } },
      el('div', { class: 'vehicle-line' },
        el('span', { class: 'swatch', style: { backgroundColor: colour } }),
        el('span', { class: 'vid', text: id }), cells.age, cells.speed, follow),
      cells.progress, cells.agent);
    /** @type {Vehicle} */
    const entry = { id, marker: new VehicleMarker(map, id, colour), row, cells, follow, position: null };
    vehicles.set(id, entry);
    row.classList.toggle('other-move', moveVehicles.size > 0 && !moveVehicles.has(id));
    vehicleRows.append(row);
    return entry;
  }

  /**
   * @param {string} id
   * @param {Position} position
   */
  function place(id, position) {
    const entry = vehicle(id);
    if (entry.position && ms(entry.position.t) > ms(position.t)) return;
    entry.position = position;
    entry.marker.place(position.lat, position.lon, position.course_deg);
    entry.cells.speed.textContent = finite(position.speed_mps) ? `${Math.round(position.speed_mps * 3.6)} km/h` : '—';
    refreshAge(entry);
    if (following === id) map.panTo(onMap(position.lat, position.lon), { animate: false });
  }

  /**
   * @param {string} id
   * @param {AgentStatus | null} status
   */
  function showStatus(id, status) {
    const entry = vehicle(id);
    if (!status || typeof status !== 'object') return;
    const parts = [status.state && agentWord('agent_state', status.state),
      status.gnss && t('agent.gnss', { state: agentWord('gnss', String(status.gnss)) }),
      finite(status.spool_depth) && status.spool_depth > 0 ? t('agent.spooled', { n: status.spool_depth }) : null].filter(Boolean);
    entry.cells.agent.textContent = t('agent.report', { parts: parts.join(' · ') });
    entry.row.dataset.agent = String(status.state || '');
  }

  /**
   * @param {string} id
   * @param {VehicleProgress | null} progress null once its move stopped running
   */
  function showProgress(id, progress) {
    const entry = vehicle(id);
    if (!progress) {
      entry.cells.progress.hidden = true;
      entry.cells.progress.textContent = '';
      delete entry.cells.progress.dataset.state;
      delete entry.cells.progress.dataset.asOf;
      entry.marker.setPopupText('');
      return;
    }
    const text = progressText(progress, moveVehicles.has(id) ? moveZone : null);
    entry.cells.progress.textContent = text;
    entry.cells.progress.hidden = false;
    entry.cells.progress.dataset.state = progress.state;
    entry.cells.progress.dataset.asOf = progress.as_of;
    entry.marker.setPopupText(text);
  }

  /** @param {Vehicle} entry */
  function refreshAge(entry) {
    const old = entry.position ? Date.now() - ms(entry.position.t) : NaN;
    const text = age(old);
    entry.cells.age.textContent = text;
    entry.marker.setNote(text);
    const stale = !(old < STALE_AFTER_MS);
    entry.marker.setGrey(stale);
    entry.row.classList.toggle('stale', stale);
  }

  /** @param {string | null} id */
  function setFollowing(id) {
    following = id;
    for (const entry of vehicles.values()) {
      const on = entry.id === id;
      entry.follow.setAttribute('aria-pressed', String(on));
      entry.follow.textContent = on ? t('following') : t('follow');
      entry.row.classList.toggle('followed', on);
    }
    const entry = id && vehicles.get(id);
    if (entry && entry.position) map.setView(onMap(entry.position.lat, entry.position.lon), Math.max(map.getZoom(), 15), { animate: false });
  }
  /**
   * The Follow button: follows the vehicle, or stops following it. On a phone the map is above
   * the list (app.css), likely scrolled away when the button is tapped: it is brought back.
   * @param {string} id
   */
  function choose(id) {
    setFollowing(following === id ? null : id);
    const box = mapNode.getBoundingClientRect();
    if (following && (box.top < 0 || box.bottom > window.innerHeight)) mapNode.scrollIntoView({ block: 'nearest' });
  }
  // Dragging the map means the person wants to look elsewhere.
  map.on('dragstart', () => setFollowing(null));

  /** @type {L.CircleMarker | null} */
  let alertMark = null;
  /** @param {import('./api.js').Alert} alert */
  function showAlert(alert) {
    if (!finite(alert.lat) || !finite(alert.lon)) return;
    setFollowing(null);
    if (alertMark) alertMark.remove();
    alertMark = L.circleMarker(onMap(alert.lat, alert.lon), { radius: 14, color: '#c62828', weight: 3, fill: false, className: 'alert-mark' }).addTo(map);
    map.setView(onMap(alert.lat, alert.lon), Math.max(map.getZoom(), 15));
  }

  /** @param {string | null} id */
  async function showMove(id) {
    if (planLayer) planLayer.remove();
    planLayer = null;
    moveVehicles = new Set();
    moveZone = null;
    zoneText.textContent = '';
    sealsLink.hidden = !id;
    if (!id) return;
    sealsLink.href = `#/seals/${seg(id)}`;
    const move = await getMove(id);
    moveZone = move.time_zone;
    zoneText.textContent = zoneNote(moveZone);
    const drawn = drawPlan(map, move.plan);
    planLayer = drawn.group;
    moveVehicles = new Set(move.plan.vehicles || []);
    for (const entry of vehicles.values()) entry.row.classList.toggle('other-move', !moveVehicles.has(entry.id));
    fit(map, drawn.bounds);
  }

  /**
   * @param {string} state
   * @param {number} [retryInMs]
   */
  const showConnection = (state, retryInMs) => {
    connection.dataset.state = state;
    connection.textContent = state === 'open' ? t('connection.open') : state === 'connecting' ? t('connection.connecting')
      : retryInMs ? t('connection.retrying', { s: Math.round(retryInMs / 1000) }) : t('connection.closed');
  };
  /**
   * The feed's events (feed.js), each with its `detail`.
   * @type {Record<string, (e: any) => void>}
   */
  const listeners = {
    position: (e) => place(e.detail.vehicle, e.detail.position),
    status: (e) => showStatus(e.detail.vehicle, e.detail.status),
    progress: (e) => showProgress(e.detail.vehicle, e.detail.progress),
    connection: (e) => showConnection(e.detail.state, e.detail.retryInMs),
  };
  for (const [type, handler] of Object.entries(listeners)) feed.addEventListener(type, handler);
  showConnection(feed.state);

  // What is known already: the API's list, then what the feed has seen.
  /** @type {{ vehicles: { id: string, position?: Position | null, signed?: boolean }[] }} */
  const known = await api.get('/api/v1/vehicles');
  for (const v of known.vehicles) {
    const entry = vehicle(v.id);
    // A vehicle without a key: its track is unsigned (issue 15).
    if (v.signed === false) {
      entry.row.querySelector('.vehicle-line .vid')?.after(el('span', { class: 'unsigned', title: t('title.unsigned'), text: t('unsigned') }));
    }
    if (v.position) place(v.id, v.position);
  }
  for (const v of feed.vehicles.values()) {
    if (v.position) place(v.id, v.position);
    if (v.status) showStatus(v.id, v.status);
    if (v.progress) showProgress(v.id, v.progress);
  }
  const moves = await listMoves();
  for (const move of moves) moveZones.set(move.id, move.time_zone);
  panel.render();
  const selected = defaultMove(moves);
  replace(pickerSlot, movePicker(moves, selected, showMove));
  await showMove(selected);
  if (!selected) {
    // No move to fit the map to: fit it to the vehicles.
    /** @type {L.LatLngTuple[]} */
    const seen = [];
    for (const { position } of vehicles.values()) if (position) seen.push(onMap(position.lat, position.lon));
    if (seen.length) fit(map, L.latLngBounds(seen));
  }
  const ticker = setInterval(() => { for (const entry of vehicles.values()) refreshAge(entry); }, 1000);
  const sized = setTimeout(() => map.invalidateSize(), 0);

  return () => {
    // A view left as soon as it has mounted is unmounted before that timer fires: Leaflet's
    // invalidateSize on a removed map throws (its panes are gone).
    clearTimeout(sized);
    clearInterval(ticker);
    for (const [type, handler] of Object.entries(listeners)) feed.removeEventListener(type, handler);
    panel.destroy();
    map.remove();
  };
}
