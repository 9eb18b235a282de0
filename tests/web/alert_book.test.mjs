// The alert book (AlertBook in gateway/web/js/alerts.js): the open and acknowledged alerts,
// loaded from the API and kept current by the live feed. The API is a fake `fetch` answering
// from a table; the feed is a plain EventTarget sending the live feed's events.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

// What the page's modules find in a browser, as little as the book uses: the tab's token
// (api.js), and the body whose data-beeps counts the beeps (alerts.js; no AudioContext here,
// so the beep itself is skipped as on a machine without sound).
globalThis.sessionStorage = {
  getItem: () => 'a-token',
  setItem() {},
  removeItem() {},
};
globalThis.window = new EventTarget();
globalThis.document = { body: { dataset: {} } };

const { AlertBook } = await import('../../gateway/web/js/alerts.js');

/**
 * A fake API: `answers[path]` is the JSON answered for a GET or POST to that path (a function
 * is called first); a path without one answers 404; `{status, body}` answers that status.
 */
let answers = {};
/** Each request as `METHOD path`, with its bearer token and body. */
let requests = [];

globalThis.fetch = async (path, init = {}) => {
  requests.push({ what: `${init.method} ${path}`, auth: init.headers?.Authorization, body: init.body });
  let answer = answers[path];
  if (typeof answer === 'function') answer = await answer();
  if (answer === undefined) answer = { status: 404, body: { error: 'no such thing' } };
  const { status, body } = answer.status ? answer : { status: 200, body: answer };
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
};

const OPEN = '/api/v1/alerts?state=open';
const ACKNOWLEDGED = '/api/v1/alerts?state=acknowledged';

/** An alert record as the API answers it. */
function record(id, state, openedT, more = {}) {
  return { id, kind: 'off_route', state, vehicle: 'truck-07', opened_t: openedT, detail: {}, ...more };
}

/** Lets the book's requests and their answers go through (they take a few turns of the loop). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

function alertEvent(alert) {
  return new CustomEvent('alert', { detail: { alert } });
}

function connection(state) {
  return new CustomEvent('connection', { detail: { state } });
}

/** A book on a fake feed, with the events it sent counted. */
function newBook() {
  const feed = new EventTarget();
  const book = new AlertBook(feed);
  const events = { change: 0, new: [] };
  book.addEventListener('change', () => { events.change += 1; });
  book.addEventListener('new', (e) => events.new.push(e.detail));
  return { feed, book, events };
}

beforeEach(() => {
  answers = {
    [OPEN]: { alerts: [] },
    [ACKNOWLEDGED]: { alerts: [] },
  };
  requests = [];
  document.body.dataset = {};
});

test('load keeps the open and acknowledged alerts, newest first by when they opened', async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z'), record('c', 'open', '2026-11-29T12:00:00Z')] };
  answers[ACKNOWLEDGED] = { alerts: [record('b', 'acknowledged', '2026-11-29T11:00:00Z')] };
  const { book, events } = newBook();
  await book.load();
  assert.deepEqual(book.list().map((a) => a.id), ['c', 'b', 'a']);
  assert.equal(book.openCount(), 2);
  assert.equal(book.ready, true);
  assert.equal(events.change, 1);
  assert.deepEqual(requests.map((r) => r.what).sort(), [`GET ${ACKNOWLEDGED}`, `GET ${OPEN}`]);
  assert.ok(requests.every((r) => r.auth === 'Bearer a-token'), 'with the bearer token');
});

test('load again replaces what the book held', async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z')] };
  const { book } = newBook();
  await book.load();
  answers[OPEN] = { alerts: [record('b', 'open', '2026-11-29T11:00:00Z')] };
  await book.load();
  assert.deepEqual(book.list().map((a) => a.id), ['b']);
});

test('an alert the feed opens after load is marked fresh, beeps and is announced with `new`', async () => {
  const { feed, book, events } = newBook();
  await book.load();
  answers['/api/v1/alerts/n1'] = record('n1', 'open', '2026-11-29T12:00:00Z', { detail: { distance_m: 80 } });
  feed.dispatchEvent(alertEvent({ id: 'n1', kind: 'off_route', state: 'open', vehicle: 'truck-07', t: '2026-11-29T12:00:00Z' }));
  await settle();
  assert.deepEqual(events.new.map((a) => a.id), ['n1']);
  assert.equal(document.body.dataset.beeps, '1');
  const kept = book.alerts.get('n1');
  assert.equal(kept.fresh, true);
  // The feed's message was replaced by the API's whole record, still marked fresh.
  assert.deepEqual(kept.detail, { distance_m: 80 });
  assert.equal(kept.opened_t, '2026-11-29T12:00:00Z');
  assert.equal(book.openCount(), 1);
});

test('an alert opened late (from a backlog) is announced but does not beep', async () => {
  const { book, events } = newBook();
  await book.load();
  await book.received({ id: 'late1', kind: 'signal_lost', state: 'open', vehicle: 'v', t: '2026-11-29T08:00:00Z', late: true });
  assert.deepEqual(events.new.map((a) => a.id), ['late1']);
  assert.equal(document.body.dataset.beeps, undefined);
});

test('what the feed tells before the book is loaded is kept but neither announced nor rung', async () => {
  const { book, events } = newBook();
  await book.received({ id: 'early', kind: 'off_route', state: 'open', vehicle: 'v', t: '2026-11-29T08:00:00Z' });
  assert.equal(book.alerts.has('early'), true);
  assert.equal(book.alerts.get('early').fresh, undefined);
  assert.deepEqual(events.new, []);
  assert.equal(document.body.dataset.beeps, undefined);
});

test("a feed message for a known alert changes it without a new announcement, keeping when it opened", async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z')] };
  const { book, events } = newBook();
  await book.load();
  await book.received({ id: 'a', kind: 'off_route', state: 'acknowledged', vehicle: 'truck-07', t: '2026-11-29T10:05:00Z' });
  assert.deepEqual(events.new, []);
  assert.equal(book.alerts.get('a').state, 'acknowledged');
  assert.equal(book.alerts.get('a').opened_t, '2026-11-29T10:00:00Z');
  assert.equal(book.openCount(), 0);
});

test('a resolved alert from the feed leaves the book', async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z')] };
  const { book, events } = newBook();
  await book.load();
  const changesBefore = events.change;
  await book.received({ id: 'a', kind: 'off_route', state: 'resolved', vehicle: 'truck-07', t: '2026-11-29T10:09:00Z' });
  assert.equal(book.alerts.has('a'), false);
  assert.equal(events.change, changesBefore + 1);
  // Nothing asked of the API for an alert that is gone.
  assert.ok(!requests.some((r) => r.what === 'GET /api/v1/alerts/a'));
});

test('a feed message without an id is ignored', async () => {
  const { book, events } = newBook();
  await book.load();
  const changesBefore = events.change;
  await book.received(undefined);
  await book.received({ kind: 'off_route', state: 'open' });
  assert.equal(book.alerts.size, 0);
  assert.equal(events.change, changesBefore);
});

test("after a reconnect the book drops alerts resolved while the feed was down", async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z'), record('b', 'open', '2026-11-29T11:00:00Z')] };
  const { feed, book } = newBook();
  await book.load();
  feed.dispatchEvent(connection('open'));
  feed.dispatchEvent(connection('closed'));
  // Meanwhile b was resolved.
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z')] };
  feed.dispatchEvent(connection('open'));
  await settle();
  assert.deepEqual(book.list().map((x) => x.id), ['a']);
});

test("the first open after load is no reconnect: nothing is asked again", async () => {
  const { feed, book } = newBook();
  await book.load();
  requests = [];
  feed.dispatchEvent(connection('connecting'));
  feed.dispatchEvent(connection('open'));
  await settle();
  assert.deepEqual(requests, []);
});

test('an alert the feed told of while the API was being asked is kept', async () => {
  const { feed, book } = newBook();
  await book.load();
  feed.dispatchEvent(connection('open'));
  // The API's lists are taken before the feed's snapshot brings `new1`: they do not have it.
  answers[OPEN] = async () => {
    await book.received({ id: 'new1', kind: 'off_route', state: 'open', vehicle: 'v', t: '2026-11-29T12:00:00Z' });
    return { alerts: [] };
  };
  feed.dispatchEvent(connection('open'));
  await settle();
  assert.equal(book.alerts.has('new1'), true);
});

test('a failed resync keeps the alerts as they were', async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z')] };
  const { book } = newBook();
  await book.load();
  answers[OPEN] = { status: 503, body: { error: 'try later' } };
  await book.resync();
  assert.deepEqual(book.list().map((x) => x.id), ['a']);
});

test("acknowledge posts the note and keeps the server's record, fresh mark and all", async () => {
  const { book } = newBook();
  await book.load();
  answers['/api/v1/alerts/a%2F1'] = record('a/1', 'open', '2026-11-29T12:00:00Z');
  await book.received({ id: 'a/1', kind: 'off_route', state: 'open', vehicle: 'truck-07', t: '2026-11-29T12:00:00Z' });
  answers['/api/v1/alerts/a%2F1/ack'] = record('a/1', 'acknowledged', '2026-11-29T12:00:00Z', { acknowledged_by: 'dan', note: 'called' });
  const answered = await book.acknowledge('a/1', 'called');
  assert.equal(answered.state, 'acknowledged');
  // The id is one path segment, escaped.
  const post = requests.find((r) => r.what === 'POST /api/v1/alerts/a%2F1/ack');
  assert.deepEqual(JSON.parse(post.body), { note: 'called' });
  const kept = book.alerts.get('a/1');
  assert.equal(kept.state, 'acknowledged');
  assert.equal(kept.acknowledged_by, 'dan');
  assert.equal(kept.fresh, true);
});

test('resolving without a note sends an empty body, and the resolved alert leaves the book', async () => {
  answers[ACKNOWLEDGED] = { alerts: [record('a', 'acknowledged', '2026-11-29T10:00:00Z')] };
  const { book } = newBook();
  await book.load();
  answers['/api/v1/alerts/a/resolve'] = record('a', 'resolved', '2026-11-29T10:00:00Z');
  await book.resolve('a');
  assert.deepEqual(JSON.parse(requests.find((r) => r.what === 'POST /api/v1/alerts/a/resolve').body), {});
  assert.equal(book.alerts.has('a'), false);
});

test('when someone else was quicker (409) the book shows what they did and the error still comes', async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z')] };
  const { book } = newBook();
  await book.load();
  answers['/api/v1/alerts/a/ack'] = { status: 409, body: { error: 'the alert is already acknowledged' } };
  answers['/api/v1/alerts/a'] = record('a', 'acknowledged', '2026-11-29T10:00:00Z', { acknowledged_by: 'ida' });
  await assert.rejects(book.acknowledge('a', 'me too'), { status: 409, message: 'the alert is already acknowledged' });
  assert.equal(book.alerts.get('a').acknowledged_by, 'ida');
});

test('another refusal leaves the alert as it was', async () => {
  answers[OPEN] = { alerts: [record('a', 'open', '2026-11-29T10:00:00Z')] };
  const { book } = newBook();
  await book.load();
  answers['/api/v1/alerts/a/ack'] = { status: 403, body: { error: 'not yours' } };
  await assert.rejects(book.acknowledge('a', 'note'), { status: 403 });
  assert.equal(book.alerts.get('a').state, 'open');
  assert.ok(!requests.some((r) => r.what === 'GET /api/v1/alerts/a'), 'no second look on a 403');
});
