// @ts-check
// The live feed: one WebSocket to /api/v1/live for the whole page, reconnected with
// exponential backoff (1 s, 2 s, 4 s … 30 s, with jitter) when it drops. On each connect the
// server sends the current state first (latest positions, unresolved alerts), so nothing is
// missed across a reconnect.
//
// Events: `position` {vehicle, position}, `alert` {alert}, `status` {vehicle, status},
// `progress` {vehicle, progress} (its progress along its move's route, progress.js; null once
// the move stopped running),
// `lagged` {missed}, `connection` {state: connecting|open|closed, retryInMs}.

import { api, token } from './api.js';
import { isProgress, newer } from './progress.js';

const MAX_BACKOFF_MS = 30_000;

/** @typedef {import('./api.js').Position} Position */
/** @typedef {import('./api.js').AgentStatus} AgentStatus */
/** @typedef {import('./progress.js').VehicleProgress} VehicleProgress */
/** @typedef {'connecting' | 'open' | 'closed'} ConnectionState */

export class LiveFeed extends EventTarget {
  constructor() {
    super();
    /** @type {WebSocket | null} */
    this.socket = null;
    this.stopped = true;
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.generation = 0;
    /** @type {ConnectionState} */
    this.state = 'closed';
    /**
     * Latest position, agent status and progress along the route per vehicle, as the feed
     * told them.
     * @type {Map<string, { id: string, position: Position | null, status: AgentStatus | null, progress: VehicleProgress | null }>}
     */
    this.vehicles = new Map();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, 'logout');
    this.socket = null;
    this.vehicles.clear();
    this.setState('closed');
  }

  /** @param {string} id */
  vehicle(id) {
    let vehicle = this.vehicles.get(id);
    if (!vehicle) {
      vehicle = { id, position: null, status: null, progress: null };
      this.vehicles.set(id, vehicle);
    }
    return vehicle;
  }

  async connect() {
    if (!token()) return;
    // Each connect (and each stop) starts a new generation: an older one still waiting for
    // its ticket gives up.
    const generation = ++this.generation;
    this.setState('connecting');
    // A one-use ticket opens the feed, so the bearer token is never in a URL.
    let ticket;
    try {
      ({ ticket } = await api.post('/api/v1/live/ticket'));
    } catch (e) {
      if (generation !== this.generation || this.stopped) return;
      // A 401 ends the session (api.js tells the page); a 403 means this role has no live
      // feed, which no retry changes; anything else is retried like a drop.
      if (e.status === 401 || e.status === 403) {
        this.setState('closed');
        return;
      }
      this.retryLater();
      return;
    }
    if (generation !== this.generation || this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/live?ticket=${encodeURIComponent(ticket)}`);
    this.socket = socket;
    socket.addEventListener('open', () => this.setState('open'));
    socket.addEventListener('message', (event) => {
      // A message received means the server is well: the next drop starts the backoff anew.
      this.attempt = 0;
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      this.handle(message);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      this.retryLater();
    });
  }

  /** Connects again after the next backoff delay. */
  retryLater() {
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.setState('closed', Math.round(delay));
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** @param {any} message a message of the feed, as JSON.parse read it (checked here) */
  handle(message) {
    switch (message && message.type) {
      case 'position': {
        if (!message.position || typeof message.vehicle !== 'string') return;
        const vehicle = this.vehicle(message.vehicle);
        // Fixes can arrive out of order (a backlog): keep the newest by fix time.
        if (vehicle.position && Date.parse(vehicle.position.t) > Date.parse(message.position.t)) return;
        vehicle.position = message.position;
        this.emit('position', { vehicle: message.vehicle, position: message.position });
        break;
      }
      case 'status':
        if (typeof message.vehicle !== 'string') return;
        this.vehicle(message.vehicle).status = message.status;
        this.emit('status', { vehicle: message.vehicle, status: message.status });
        break;
      case 'progress': {
        if (!isProgress(message.progress)) return;
        const vehicle = this.vehicle(message.progress.vehicle);
        if (!newer(vehicle.progress, message.progress)) return;
        vehicle.progress = message.progress;
        this.emit('progress', { vehicle: vehicle.id, progress: message.progress });
        break;
      }
      case 'progress_ended':
        // The move is over: no arrival to show for its vehicles any more.
        for (const vehicle of this.vehicles.values()) {
          if (!vehicle.progress || vehicle.progress.move !== message.move) continue;
          vehicle.progress = null;
          this.emit('progress', { vehicle: vehicle.id, progress: null });
        }
        break;
      case 'alert':
        if (message.alert) this.emit('alert', { alert: message.alert });
        break;
      case 'lagged':
        this.emit('lagged', { missed: message.missed });
        break;
      default:
        break;
    }
  }

  /**
   * @param {ConnectionState} state
   * @param {number} [retryInMs]
   */
  setState(state, retryInMs) {
    this.state = state;
    this.emit('connection', { state, retryInMs });
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
