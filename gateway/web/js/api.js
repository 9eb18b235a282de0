// The HTTP API: the bearer token (kept in sessionStorage, so it goes with the tab), JSON
// requests with clear errors, and downloads saved through a Blob.

const TOKEN_KEY = 'convoy.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An API error: the HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Sends a request. `json`: a body sent as JSON; `body` + `contentType`: a raw body (a route
 * file). A 401 on an authenticated request means the session is over: the page is told
 * (`convoy:unauthorized`) and goes back to the login.
 */
export async function request(method, path, { json, body, contentType, raw = false } = {}) {
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
    try {
      const error = await response.json();
      if (error && typeof error.error === 'string') message = error.error;
    } catch { /* not JSON: keep the status line */ }
    if (response.status === 401 && bearer) window.dispatchEvent(new CustomEvent('convoy:unauthorized'));
    throw new ApiError(response.status, message);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, json) => request('POST', path, { json }),
  put: (path, json) => request('PUT', path, { json }),
  upload: (path, body, contentType) => request('POST', path, { body, contentType }),
};

/** Encodes one path segment (ids come from the server but are never trusted as paths). */
export const seg = encodeURIComponent;

/**
 * Fetches a file with the bearer token and saves it through a Blob and an `<a download>`
 * (a plain link could not carry the token). Returns the file name used.
 */
export async function download(path, fallbackName) {
  const response = await request('GET', path, { raw: true });
  const blob = await response.blob();
  const name = fileName(response.headers.get('Content-Disposition')) || fallbackName;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once started; give it a moment before freeing the URL.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** The file name of a `Content-Disposition: attachment; filename="…"` header, made safe. */
function fileName(disposition) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || '');
  if (!match) return null;
  let name;
  try { name = decodeURIComponent(match[1]); } catch { name = match[1]; }
  return name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').slice(0, 120);
}
