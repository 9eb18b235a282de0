// @ts-check
// `#/replay/MOVE`: play back one or all vehicles of a move. A time slider; play and pause at
// 1x to 60x in proportion to real time; stops, data gaps and alerts as marks on the timeline
// (click one to jump to it). Between two fixes a marker moves smoothly; across a data gap it
// does not glide: it waits, greyed, at the last fix before the gap until the data resumes.

import { api, seg } from './api.js';
import { el, messageLine, replace, select } from './dom.js';
import { errorText } from './error_text.js';
import { alertKind, clock, dateTime, duration, finite, ms, zoneNote } from './format.js';
import { createMap, drawPlan, fit, onMap, vehicleColour, VehicleMarker } from './map.js';
import { chooseMove, defaultMove, getMove, listMoves, movePicker } from './moves.js';
import { translator } from './i18n.js';
import messages from './lang/replay.js';

const t = translator(messages);

const SPEEDS = [1, 5, 10, 30, 60];
/** Fixes farther apart than this are a gap even if the server listed none (its threshold). */
const GAP_AFTER_MS = 30_000;
const TICK_MS = 100;

/** @typedef {import('./api.js').Position} Position */

/**
 * `GET /api/v1/moves/{id}/replay`: each vehicle's fixes, and the stops, gaps and alerts.
 * @typedef {object} ReplayData
 * @property {{ vehicle: string, positions: Position[] }[]} tracks
 * @property {import('./api.js').Stop[]} stops
 * @property {import('./api.js').Gap[]} gaps
 * @property {import('./api.js').Alert[]} alerts
 */

/**
 * One vehicle played back: its fixes, their times in milliseconds, its marker.
 * @typedef {{ vehicle: string, positions: Position[], times: number[], marker: VehicleMarker }} Track
 */

/**
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} ctx
 * @param {string[]} params the move's id, if the route names one
 */
export async function mountReplay(container, ctx, [moveParam]) {
  const message = messageLine();
  const vehicleSelect = select([['', t('all_vehicles')]], { class: 'vehicle-picker', 'aria-label': t('vehicle') });
  const load = el('button', { type: 'button', class: 'load', text: t('load') });
  const play = el('button', { type: 'button', class: 'play', text: t('play'), disabled: true });
  const speed = select(SPEEDS.map((s) => /** @type {[string, string]} */ ([String(s), `${s}x`])), { class: 'speed', 'aria-label': t('speed') });
  const clockText = el('span', { class: 'replay-clock', text: '—' });
  // The move's zone: the clock and the marks read in it, and it is named beside the clock.
  const zoneText = el('small', { class: 'time-zone' });
  /** @type {string | null} */
  let zone = null;
  const timeline = el('div', { class: 'timeline', 'aria-label': t('timeline') });
  const slider = el('input', { type: 'range', class: 'slider', min: 0, max: 1, step: 1, value: '0', disabled: true, 'aria-label': t('time') });
  const mapNode = el('div', { class: 'replay-map' });
  const pickerSlot = el('span', { class: 'picker-slot' });
  const section = el('section', { class: 'replay', data: { playing: 'false' } },
    el('div', { class: 'toolbar' }, el('label', {}, `${t('move')} `, pickerSlot),
      el('label', {}, `${t('vehicle')} `, vehicleSelect), load, message.node),
    mapNode,
    el('div', { class: 'replay-controls' },
      el('div', { class: 'row' }, play, el('label', {}, `${t('speed')} `, speed), clockText, zoneText),
      timeline, slider,
      el('div', { class: 'legend' }, el('span', {}, el('i', { class: 'l-stop' }), t('legend.stop')),
        el('span', {}, el('i', { class: 'l-alert' }), t('legend.alert')), el('span', {}, el('i', { class: 'l-gap' }), t('legend.gap')))));
  container.append(section);

  const map = createMap(mapNode, ctx.me.web);
  // Cleared at unmount: Leaflet's invalidateSize on a removed map throws.
  const sized = setTimeout(() => map.invalidateSize(), 0);
  /** @type {L.LayerGroup | null} */
  let planLayer = null;
  /** @type {L.LayerGroup | null} */
  let dataLayer = null;
  /** @type {Track[]} */
  let tracks = [];
  /** @type {{ vehicle: string, from: number, to: number, duration_s: number }[]} */
  let gaps = [];
  let start = 0;
  let end = 0;
  let current = 0;
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  let lastTick = 0;

  const moves = await listMoves();
  let moveId = moveParam && moves.some((m) => m.id === moveParam) ? moveParam : defaultMove(moves);
  replace(pickerSlot, movePicker(moves, moveId, async (id) => {
    moveId = id;
    await showMove();
    await loadReplay();
  }));

  async function showMove() {
    pause();
    if (planLayer) planLayer.remove();
    planLayer = null;
    if (!moveId) return;
    chooseMove(moveId);
    const move = await getMove(moveId);
    zone = move.time_zone;
    zoneText.textContent = zoneNote(zone);
    replace(vehicleSelect, el('option', { value: '', text: t('all_vehicles') }),
      (move.plan.vehicles || []).map((v) => el('option', { value: v, text: v })));
    const drawn = drawPlan(map, move.plan);
    planLayer = drawn.group;
    fit(map, drawn.bounds);
  }

  async function loadReplay() {
    pause();
    message.clear();
    if (dataLayer) dataLayer.remove();
    for (const track of tracks) track.marker.hide();
    tracks = [];
    replace(timeline);
    play.disabled = true;
    slider.disabled = true;
    if (!moveId) return;
    const vehicle = vehicleSelect.value;
    /** @type {ReplayData} */
    let data;
    try {
      data = await api.get(`/api/v1/moves/${seg(moveId)}/replay${vehicle ? `?vehicle=${seg(vehicle)}` : ''}`);
    } catch (e) {
      message.error(t('cannot_replay', { error: errorText(e) }));
      return;
    }
    gaps = data.gaps.map((g) => ({ vehicle: g.vehicle, from: ms(g.from), to: ms(g.to), duration_s: g.duration_s }));
    const layer = L.layerGroup().addTo(map);
    dataLayer = layer;
    tracks = data.tracks.filter((t) => t.positions.length).map((t) => {
      const colour = vehicleColour(t.vehicle);
      const times = t.positions.map((p) => ms(p.t));
      // The driven line, broken at every gap: no line is drawn where there is no data.
      /** @type {L.LatLngTuple[]} */
      let piece = [];
      const pieces = [piece];
      t.positions.forEach((p, k) => {
        if (k > 0 && times[k] - times[k - 1] > GAP_AFTER_MS) { piece = []; pieces.push(piece); }
        piece.push(onMap(p.lat, p.lon));
      });
      L.polyline(pieces, { color: colour, weight: 3, opacity: 0.45, className: 'replay-track', interactive: false }).addTo(layer);
      return { vehicle: t.vehicle, positions: t.positions, times, marker: new VehicleMarker(map, t.vehicle, colour) };
    });
    if (!tracks.length) {
      message.error(t('no_positions'));
      return;
    }
    start = Math.min(...tracks.map((t) => t.times[0]));
    end = Math.max(...tracks.map((t) => t.times[t.times.length - 1]));
    current = start;
    slider.max = String(Math.max(1, end - start));
    slider.disabled = false;
    play.disabled = false;
    drawTimeline(data);
    render();
    message.ok(t(tracks.length === 1 ? 'loaded_one' : 'loaded_many', {
      vehicles: tracks.length, positions: tracks.reduce((n, track) => n + track.positions.length, 0), from: dateTime(start, zone), to: dateTime(end, zone),
    }));
  }

  /**
   * Where time `t` is on the timeline, as a CSS length.
   * @param {number} t
   */
  function pct(t) {
    return `${(100 * (Math.min(Math.max(t, start), end) - start)) / Math.max(1, end - start)}%`;
  }

  /**
   * A mark on the timeline from `from` to `to` (null: a point in time); one with a `jumpTo`
   * time is a button that seeks there.
   * @param {string} kind gap, stop or alert
   * @param {number} from
   * @param {number | null} to
   * @param {string} title
   * @param {number | null} jumpTo
   * @param {string} vehicle
   */
  function mark(kind, from, to, title, jumpTo, vehicle) {
    const data = { vehicle, from: new Date(from).toISOString(), ...(to === null ? {} : { to: new Date(to).toISOString() }) };
    /** @type {{ left: string, width?: string }} */
    const style = { left: pct(from) };
    const props = { class: `mark ${kind}`, title, data, style };
    if (to !== null) style.width = `calc(${pct(to)} - ${pct(from)})`;
    const node = jumpTo === null
      ? el('div', props)
      : el('button', { ...props, type: 'button', 'aria-label': title, on: { click: () => seek(jumpTo) } });
    timeline.append(node);
  }

  /** @param {ReplayData} data */
  function drawTimeline(data) {
    for (const g of gaps) mark('gap', g.from, g.to, t('mark.gap', { vehicle: g.vehicle, duration: duration(g.duration_s) }), null, g.vehicle);
    for (const s of data.stops) {
      mark('stop', ms(s.from), ms(s.to), t('mark.stop', { vehicle: s.vehicle, duration: duration(s.duration_s), time: dateTime(s.from, zone) }), ms(s.from), s.vehicle);
    }
    for (const a of data.alerts) {
      const at = ms(a.opened_t || a.t);
      mark('alert', at, null, t('mark.alert', { kind: alertKind(a.kind), vehicle: a.vehicle, time: dateTime(at, zone) }), at, a.vehicle);
    }
  }

  /** Where each vehicle is at `current`, drawn. */
  function render(wall = performance.now()) {
    slider.value = String(current - start);
    clockText.textContent = `${dateTime(current, zone)}  (${speed.value}x)`;
    section.dataset.t = new Date(current).toISOString();
    section.dataset.ms = String(current);
    // The page's clock for this frame: replay time over real time is the speed.
    section.dataset.wall = String(wall);
    for (const track of tracks) placeAt(track, current);
  }

  /**
   * @param {Track} track
   * @param {number} at
   */
  function placeAt(track, at) {
    const { times, positions, marker } = track;
    const i = lastAtOrBefore(times, at);
    if (i < 0) {
      marker.hide();
      return;
    }
    const fix = positions[i];
    const next = positions[i + 1];
    const inGap = gaps.some((g) => g.vehicle === track.vehicle && at >= g.from && at < g.to)
      || (next && times[i + 1] - times[i] > GAP_AFTER_MS);
    if (!next || inGap) {
      const ended = !next && at - times[i] > GAP_AFTER_MS;
      marker.place(fix.lat, fix.lon, course(fix, positions[i - 1], fix));
      marker.setGrey(inGap || ended, inGap ? 'gap' : 'ended');
      marker.setNote(inGap ? t('no_data_since', { time: clock(times[i], zone) }) : ended ? t('last_fix') : '');
      return;
    }
    const f = (at - times[i]) / Math.max(1, times[i + 1] - times[i]);
    marker.place(fix.lat + (next.lat - fix.lat) * f, fix.lon + (next.lon - fix.lon) * f, course(fix, fix, next));
    marker.setGrey(false);
    marker.setNote(finite(fix.speed_mps) ? `${Math.round(fix.speed_mps * 3.6)} km/h` : '');
  }

  /** @param {number} t */
  function seek(t) {
    current = Math.min(Math.max(t, start), end);
    render();
  }

  function tick() {
    const now = performance.now();
    current += (now - lastTick) * Number(speed.value);
    lastTick = now;
    if (current >= end) {
      current = end;
      pause();
    }
    render(now);
  }

  function resume() {
    if (!tracks.length || timer) return;
    if (current >= end) current = start;
    lastTick = performance.now();
    timer = setInterval(tick, TICK_MS);
    play.textContent = t('pause');
    section.dataset.playing = 'true';
  }

  function pause() {
    if (timer) clearInterval(timer);
    timer = null;
    play.textContent = t('play');
    section.dataset.playing = 'false';
  }

  play.addEventListener('click', () => (timer ? pause() : resume()));
  slider.addEventListener('input', () => seek(start + Number(slider.value)));
  speed.addEventListener('change', () => render());
  load.addEventListener('click', loadReplay);

  await showMove();
  await loadReplay();

  return () => { clearTimeout(sized); pause(); map.remove(); };
}

/**
 * The index of the last time at or before `t` in sorted `times`, or -1.
 * @param {number[]} times
 * @param {number} t
 */
function lastAtOrBefore(times, t) {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * The fix's course if it has one, else the bearing from `a` to `b`, else null.
 * @param {Position} fix
 * @param {Position | undefined} a
 * @param {Position | undefined} b
 * @returns {number | null}
 */
function course(fix, a, b) {
  if (finite(fix.course_deg)) return fix.course_deg;
  if (!a || !b || (a.lat === b.lat && a.lon === b.lon)) return null;
  const rad = Math.PI / 180;
  const y = Math.sin((b.lon - a.lon) * rad) * Math.cos(b.lat * rad);
  const x = Math.cos(a.lat * rad) * Math.sin(b.lat * rad) - Math.sin(a.lat * rad) * Math.cos(b.lat * rad) * Math.cos((b.lon - a.lon) * rad);
  return (Math.atan2(y, x) / rad + 360) % 360;
}
