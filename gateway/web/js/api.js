// @ts-check
// The HTTP API: the bearer token (kept in sessionStorage, so it goes with the tab), JSON
// requests with clear errors, and downloads saved through a Blob.

const TOKEN_KEY = 'convoy.token';

/** @returns {string | null} */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** @param {string | null} value */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * An API error: the HTTP status, the server's message (English) and its reason code where it
 * gave one (`bad_range`…: error_text.js shows it in the page's language).
 */
export class ApiError extends Error {
  /**
   * @param {number} status 0 when the server could not be reached
   * @param {string} message
   * @param {string | null} [reason]
   */
  constructor(status, message, reason = null) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/**
 * Sends a request. `json`: a body sent as JSON; `body` + `contentType`: a raw body (a route
 * file). A 401 on an authenticated request means the session is over: the page is told
 * (`convoy:unauthorized`) and goes back to the login.
 * @param {string} method
 * @param {string} path
 * @param {{ json?: unknown, body?: BodyInit, contentType?: string, raw?: boolean }} [options]
 * @returns {Promise<any>} the answer's JSON (what it holds is the caller's to know: see the
 *   typedefs below), null for 204, or with `raw` the Response
 */
export async function request(method, path, { json, body, contentType, raw = false } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (contentType) {
    headers['Content-Type'] = contentType;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, `the server cannot be reached (${e.message})`);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    /** @type {string | null} */
    let reason = null;
    try {
      const error = await response.json();
      if (error && typeof error.error === 'string') message = error.error;
      if (error && typeof error.reason === 'string') reason = error.reason;
    } catch { /* not JSON: keep the status line */ }
    if (response.status === 401 && bearer) window.dispatchEvent(new CustomEvent('convoy:unauthorized'));
    throw new ApiError(response.status, message, reason);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const api = {
  /** @param {string} path */
  get: (path) => request('GET', path),
  /**
   * @param {string} path
   * @param {unknown} [json]
   */
  post: (path, json) => request('POST', path, { json }),
  /**
   * @param {string} path
   * @param {unknown} json
   */
  put: (path, json) => request('PUT', path, { json }),
  /**
   * @param {string} path
   * @param {BodyInit} body
   * @param {string} contentType
   */
  upload: (path, body, contentType) => request('POST', path, { body, contentType }),
  /** @param {string} path */
  del: (path) => request('DELETE', path),
};

/** Encodes one path segment (ids come from the server but are never trusted as paths). */
export const seg = encodeURIComponent;

/**
 * Fetches a file with the bearer token and saves it through a Blob and an `<a download>`
 * (a plain link could not carry the token). Returns the file name used.
 * @param {string} path
 * @param {string} fallbackName
 */
export async function download(path, fallbackName) {
  /** @type {Response} */
  const response = await request('GET', path, { raw: true });
  const name = fileName(response.headers.get('Content-Disposition')) || fallbackName;
  save(await response.blob(), name);
  return name;
}

/**
 * Saves `blob` as a file named `name` through an `<a download>`, as the browser saves a
 * download.
 * @param {Blob} blob
 * @param {string} name
 */
export function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once started; give it a moment before freeing the URL.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The file name of a `Content-Disposition: attachment; filename="…"` header, made safe.
 * @param {string | null} disposition
 */
function fileName(disposition) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || '');
  if (!match) return null;
  let name;
  try { name = decodeURIComponent(match[1]); } catch { name = match[1]; }
  return name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').slice(0, 120);
}

// ---- What the API answers ---------------------------------------------------------------
// The fields the page reads, for the type checker (tests/web): the server's OpenAPI document
// (GET /api/v1/openapi.json) has the whole of each.

/**
 * `GET /api/v1/me`: who is logged in, and what they may do (from the server's one table of
 * roles: see roles.js).
 * @typedef {object} Me
 * @property {string} name
 * @property {string} role admin, dispatcher, escort or auditor
 * @property {string[]} abilities live, acknowledge, plan, vehicles, track, replay, exports,
 *   report, audit, users, phones: those this person may do
 * @property {WebSettings | null} web
 * @property {string | null} [language] the language the person chose (`en`, `zh-CN`), if any
 */

/**
 * The site's base map: a tile URL template and its attribution, either of which may be null,
 * and what its tiles are drawn in.
 * @typedef {{ tile_url?: string | null, tile_attribution?: string | null, coordinates?: 'wgs84' | 'gcj02',
 *   base_map?: import('./streets.js').BaseMap }} WebSettings
 */

/**
 * A fix.
 * @typedef {object} Position
 * @property {string} t
 * @property {number} lat
 * @property {number} lon
 * @property {number | null} [speed_mps]
 * @property {number | null} [course_deg]
 */

/**
 * An agent's health report, as it published it (a JSON object).
 * @typedef {{ state?: string, gnss?: string, spool_depth?: number }} AgentStatus
 */

/**
 * An alert: the API's record, or the live feed's message (the AlertMessage shape: `t` is the
 * time of that change) laid over it.
 * @typedef {object} Alert
 * @property {string} id
 * @property {string} kind off_route, unplanned_stop, signal_lost…
 * @property {string} state open, acknowledged or resolved
 * @property {string} vehicle
 * @property {string} [move] the move's id
 * @property {string} [opened_t]
 * @property {string} [t]
 * @property {number | null} [lat]
 * @property {number | null} [lon]
 * @property {string | null} [zone]
 * @property {Record<string, any>} [detail] rule-specific facts (distances, times, the zone)
 * @property {boolean} [late] opened from fixes that arrived long after they were taken
 * @property {string | null} [acknowledged_t]
 * @property {string | null} [acknowledged_by]
 * @property {string | null} [note]
 * @property {string | null} [resolved_t]
 * @property {string | null} [resolved_by] `rule` or a user name
 * @property {string | null} [cleared_t]
 * @property {boolean} [fresh] the page's own mark: opened while the page was watching
 */

/** @typedef {{ type: 'LineString', coordinates: number[][] }} LineString */

/**
 * A zone of a plan: a circle (Point and `radius_m`) or a polygon.
 * @typedef {{ type: 'Feature', geometry: ZoneGeometry, properties: ZoneProperties }} Zone
 * @typedef {{ type: 'Point', coordinates: number[] } | { type: 'Polygon', coordinates: number[][][] }} ZoneGeometry
 * @typedef {{ name?: string, kind?: string, radius_m?: number }} ZoneProperties
 * @typedef {{ type: 'FeatureCollection', features: Zone[] }} Zones
 */

/** @typedef {{ from: string, to: string }} TimeWindow */

/**
 * A move's plan.
 * @typedef {object} Plan
 * @property {string} [name]
 * @property {string[]} [vehicles]
 * @property {Record<string, string>} [escorts] cargo vehicle -> the vehicle escorting it
 * @property {LineString | null} [route]
 * @property {number} [corridor_m]
 * @property {Zones} [zones]
 * @property {TimeWindow} [window]
 * @property {string} [time_zone] an IANA name; absent: the server's default
 */

/**
 * A move as `GET /api/v1/moves` lists it; `GET /api/v1/moves/{id}` adds its plan.
 * @typedef {object} Move
 * @property {string} id
 * @property {string} name
 * @property {string} created_at
 * @property {string} created_by
 * @property {string[]} [vehicles]
 * @property {TimeWindow | null} [window]
 * @property {'planned' | 'running' | 'ended' | 'cancelled'} state
 * @property {MoveEnd | null} end
 * @property {number} version the plan's version (1 as created; each edit adds one)
 * @property {string} time_zone the IANA zone the move's times are shown in (its plan's, or the server's default)
 * @property {Plan} [plan]
 */

/**
 * Who ended or cancelled a move, when and why.
 * @typedef {object} MoveEnd
 * @property {string} at
 * @property {string} by
 * @property {string} reason
 * @property {boolean} cancelled
 */

/**
 * A gap in the data of one vehicle (replay and report).
 * @typedef {object} Gap
 * @property {string} vehicle
 * @property {string} from
 * @property {string} to
 * @property {number} duration_s
 */

/**
 * A stop of one vehicle (replay and report), where it stood.
 * @typedef {Gap & { lat: number, lon: number }} Stop
 */
