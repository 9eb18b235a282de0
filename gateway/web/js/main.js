// The page: login, the views by hash route (#/live, #/moves, #/setup, #/replay/ID,
// #/exports/ID, #/report/ID, #/audit), the navigation a role may use, logout, and the live feed and
// alert book shared by the views.

import { api, ApiError, setToken, token } from './api.js';
import { AlertBook, unlockAudio } from './alerts.js';
import { el, messageLine, replace } from './dom.js';
import { LiveFeed } from './feed.js';
import { mountLive } from './live.js';
import { mountMoves } from './moves.js';
import { mountSetup } from './setup.js';
import { mountReplay } from './replay.js';
import { mountExports } from './exports.js';
import { mountReport } from './report.js';
import { mountAudit } from './audit.js';
import { can, home } from './roles.js';

const header = document.querySelector('.top');
const view = document.querySelector('.view');
const nav = header.querySelector('.nav');
const badge = header.querySelector('.alert-badge');

/** Views by the first part of the hash route, with the ability a role needs for each. */
const VIEWS = {
  live: { title: 'Live map', needs: 'live', mount: mountLive },
  moves: { title: 'Moves', needs: 'moves', mount: mountMoves },
  setup: { title: 'Plan a move', needs: 'plan', mount: mountSetup },
  replay: { title: 'Replay', needs: 'replay', mount: mountReplay },
  exports: { title: 'Exports', needs: 'exports', mount: mountExports },
  report: { title: 'Report', needs: 'report', mount: mountReport },
  audit: { title: 'Audit log', needs: 'audit', mount: mountAudit },
};

const ctx = { me: null, feed: new LiveFeed(), book: null };
ctx.book = new AlertBook(ctx.feed);
let unmount = null;
/** Counts route changes: a view that finishes mounting after the next change is unmounted. */
let generation = 0;
/** A message for the next login form (why the session ended). */
let loginNotice = null;

// Sound needs a first gesture on the page.
for (const type of ['pointerdown', 'keydown']) window.addEventListener(type, unlockAudio, { once: true });
window.addEventListener('convoy:unauthorized', () => endSession('Your session has ended; please log in again.'));
window.addEventListener('hashchange', route);
header.querySelector('.logout').addEventListener('click', logout);
ctx.book.addEventListener('change', () => {
  const open = ctx.book.openCount();
  badge.hidden = open === 0;
  badge.textContent = `${open} open alert${open === 1 ? '' : 's'}`;
});

start();

async function start() {
  if (token()) {
    try {
      await beginSession();
    } catch (e) {
      endSession(e instanceof ApiError && e.status === 401 ? null : e.message);
      return;
    }
  }
  route();
}

/** After login: who this is, what they may see, the live feed for those who watch it. */
async function beginSession() {
  ctx.me = await api.get('/api/v1/me');
  replace(header.querySelector('.who'), `${ctx.me.name} (${ctx.me.role})`);
  replace(nav, Object.entries(VIEWS)
    .filter(([, v]) => !v.hidden && can(ctx.me.role, v.needs))
    .map(([name, v]) => el('a', { href: `#/${name}`, data: { view: name }, text: v.title })));
  header.hidden = false;
  if (can(ctx.me.role, 'live')) {
    // The book first, so the feed's opening snapshot is not taken for new alerts.
    await ctx.book.load();
    ctx.feed.start();
  }
}

function endSession(message) {
  setToken(null);
  ctx.feed.stop();
  ctx.me = null;
  header.hidden = true;
  loginNotice = message;
  go('#/login');
}

/** Goes to a hash route (a hash change routes by itself; the same hash routes again). */
function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else route();
}

async function logout() {
  try { await api.post('/api/v1/logout'); } catch { /* the token is dropped here anyway */ }
  endSession(null);
}

async function route() {
  const mine = ++generation;
  if (unmount) {
    try { unmount(); } catch { /* a view that failed to mount */ }
    unmount = null;
  }
  replace(view);
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  if (!ctx.me || name === 'login') {
    if (ctx.me) { go(home(ctx.me.role)); return; }
    showLogin(loginNotice);
    loginNotice = null;
    return;
  }
  const target = VIEWS[name];
  if (!target || !can(ctx.me.role, target.needs)) {
    go(home(ctx.me.role));
    return;
  }
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('current', link.dataset.view === name);
  document.title = `${target.title} — Convoy`;
  document.body.dataset.view = name;
  const container = el('div', { class: `view-${name}` });
  view.append(container);
  try {
    const cleanup = await target.mount(container, ctx, rest.map(decodeURIComponent));
    if (mine === generation) unmount = cleanup;
    else if (cleanup) cleanup();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    container.append(el('p', { class: 'message error', role: 'alert', text: `Could not show this view: ${e.message}` }));
  }
}

function showLogin(notice) {
  document.body.dataset.view = 'login';
  document.title = 'Log in — Convoy';
  replace(view);
  const message = messageLine();
  if (notice) message.error(notice);
  const username = el('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = el('button', { type: 'submit', text: 'Log in' });
  const form = el('form', { class: 'login', on: { submit: async (e) => {
    e.preventDefault();
    unlockAudio();
    submit.disabled = true;
    message.clear();
    try {
      const session = await api.post('/api/v1/login', { username: username.value, password: password.value });
      setToken(session.token);
      await beginSession();
      go(home(ctx.me.role));
    } catch (err) {
      setToken(null);
      message.error(err.status === 401 ? 'Wrong user name or password.' : err.message);
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  } } },
  el('h1', { text: 'Convoy' }),
  el('label', { class: 'field' }, el('span', { class: 'field-label', text: 'User name' }), username),
  el('label', { class: 'field' }, el('span', { class: 'field-label', text: 'Password' }), password),
  submit, message.node);
  view.append(form);
}
