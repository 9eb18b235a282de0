// @ts-check
// The page: login, the views by hash route (#/live, #/moves, #/setup, #/replay/ID,
// #/edit/ID, #/seals/ID, #/exports/ID, #/report/ID, #/daily, #/history, #/audit, #/phones, #/holds, #/vehicles, #/people, #/password), the
// navigation a role may use, the header's own password and logout buttons, the language
// switch, and the live feed and alert book shared by the views.
//
// The language (i18n.js): before login the one saved in this browser, else the browser's; at
// login the person's saved choice first. Switching it in the header draws the header and the
// view again at once (the live feed and the alert book run on), saves it here and, for the
// person's other browsers, on the server.

import { api, ApiError, setToken, token } from './api.js';
import { AlertBook, unlockAudio } from './alerts.js';
import { el, messageLine, replace, select } from './dom.js';
import { errorText } from './error_text.js';
import { chooseLanguage, language, LANGUAGE_NAMES, LANGUAGES, setLanguage, translator } from './i18n.js';
import messages from './lang/common.js';
import { LiveFeed } from './feed.js';
import { mountLive } from './live.js';
import { mountMoves } from './moves.js';
import { mountMoveEdit } from './move_edit.js';
import { mountSetup } from './setup.js';
import { mountReplay } from './replay.js';
import { mountExports } from './exports.js';
import { mountReport } from './report.js';
import { mountAudit } from './audit.js';
import { mountPhones } from './phones.js';
import { mountHolds } from './holds.js';
import { mountSeals } from './seals.js';
import { mountDaily } from './daily.js';
import { mountHistory } from './history.js';
import { mountPeople } from './people.js';
import { mountVehicles } from './vehicles.js';
import { mountPassword } from './password.js';
import { can, home, seesMoves } from './roles.js';

const t = translator(messages);

/** Where this browser keeps the language chosen on the page. */
const LANGUAGE_KEY = 'convoy.language';

/**
 * What a view is given: who is logged in (never null while a view shows), and the live feed
 * and alert book the views share.
 * @typedef {object} Context
 * @property {import('./api.js').Me} me
 * @property {LiveFeed} feed
 * @property {AlertBook} book
 */

/**
 * A view: mounted into its container with the rest of the hash route (`#/replay/ID`: ['ID']);
 * returns what unmounts it. Its title is `view.NAME` in lang/common.js.
 * @typedef {object} View
 * @property {(me: import('./api.js').Me) => boolean} may whether this person may open it
 * @property {(container: HTMLElement, ctx: Context, params: string[]) => Promise<(() => void) | undefined>} mount
 * @property {boolean} [hidden] not in the navigation (reached another way)
 */

/** The page's fixed elements (index.html), missing only if that file is broken. */
const header = /** @type {HTMLElement} */ (document.querySelector('.top'));
const view = /** @type {HTMLElement} */ (document.querySelector('.view'));
const nav = /** @type {HTMLElement} */ (header.querySelector('.nav'));
const badge = /** @type {HTMLElement} */ (header.querySelector('.alert-badge'));
const menuToggle = /** @type {HTMLButtonElement} */ (header.querySelector('.menu-toggle'));
const passwordButton = /** @type {HTMLButtonElement} */ (header.querySelector('.password'));
const logoutButton = /** @type {HTMLButtonElement} */ (header.querySelector('.logout'));
/** The language switch, beside the Password button. */
const languageSelect = select(LANGUAGES.map((l) => /** @type {[string, string]} */ ([l, LANGUAGE_NAMES[l]])), {
  class: 'language', name: 'language', on: { change: () => switchLanguage(chooseLanguage(languageSelect.value, [])) },
});
passwordButton.before(languageSelect);

/**
 * The title of a view, in the page's language.
 * @param {string} name
 */
const viewTitle = (name) => t(`view.${name}`);

/**
 * Views by the first part of the hash route, with who may open each (from what the server
 * says the person may do: roles.js).
 * @type {Record<string, View>}
 */
const VIEWS = {
  live: { may: (me) => can(me, 'live'), mount: mountLive },
  moves: { may: seesMoves, mount: mountMoves },
  setup: { may: (me) => can(me, 'plan'), mount: mountSetup },
  // From a move's Edit link in the Moves view.
  edit: { may: (me) => can(me, 'plan'), mount: mountMoveEdit, hidden: true },
  replay: { may: (me) => can(me, 'replay'), mount: mountReplay },
  exports: { may: (me) => can(me, 'exports'), mount: mountExports },
  report: { may: (me) => can(me, 'report'), mount: mountReport },
  daily: { may: (me) => can(me, 'report'), mount: mountDaily },
  history: { may: (me) => Boolean(me), mount: mountHistory },
  audit: { may: (me) => can(me, 'audit'), mount: mountAudit },
  phones: { may: (me) => can(me, 'phones'), mount: mountPhones },
  holds: { may: (me) => can(me, 'view_holds'), mount: mountHolds },
  vehicles: { may: (me) => can(me, 'vehicles'), mount: mountVehicles },
  people: { may: (me) => can(me, 'users'), mount: mountPeople },
  // From a move's Seals link (the Moves list, the live map's toolbar); what each may do there
  // is the server's abilities (seals.js).
  seals: { may: (me) => Boolean(me), mount: mountSeals, hidden: true },
  // Everyone's, from the header's Password button.
  password: { may: () => true, mount: mountPassword, hidden: true },
};

const feed = new LiveFeed();
const book = new AlertBook(feed);
/**
 * Who is logged in: null until the login and after the session ends.
 * @type {import('./api.js').Me | null}
 */
let me = null;
/** @type {(() => void) | null | undefined} */
let unmount = null;
/** Counts route changes: a view that finishes mounting after the next change is unmounted. */
let generation = 0;
/**
 * A message for the next login form (why the session ended).
 * @type {string | null}
 */
let loginNotice = null;

// Sound needs a first gesture on the page.
for (const type of ['pointerdown', 'keydown']) window.addEventListener(type, unlockAudio, { once: true });
window.addEventListener('convoy:unauthorized', () => endSession(t('session_ended')));
window.addEventListener('hashchange', route);
logoutButton.addEventListener('click', logout);
passwordButton.addEventListener('click', () => go('#/password'));
// At phone width the nav folds behind the Menu button (app.css); choosing a view folds it again.
/** @param {boolean} open */
function setMenuOpen(open) {
  header.classList.toggle('menu-open', open);
  menuToggle.setAttribute('aria-expanded', String(open));
}
menuToggle.addEventListener('click', () => setMenuOpen(!header.classList.contains('menu-open')));
nav.addEventListener('click', (e) => { if (/** @type {Element} */ (e.target).closest('a')) setMenuOpen(false); });
book.addEventListener('change', showBadge);

function showBadge() {
  const open = book.openCount();
  badge.hidden = open === 0;
  badge.textContent = t(open === 1 ? 'header.badge_one' : 'header.badge_many', { n: open });
}

setLanguage(chooseLanguage(savedLanguage(), navigator.languages));
start();

/** The language chosen on the page in this browser, if any. */
function savedLanguage() {
  try { return localStorage.getItem(LANGUAGE_KEY); } catch { return null; }
}

/**
 * Speaks `lang` from now on: the header and the view are drawn again in it (the live feed and
 * the alert book are not touched), and the choice is kept in this browser and, for the person's
 * other browsers, on the server (a server without that route answers 404: the choice stays
 * here).
 * @param {import('./i18n.js').Language} lang
 */
function switchLanguage(lang) {
  try { localStorage.setItem(LANGUAGE_KEY, lang); } catch { /* private mode: this page only */ }
  if (lang === language()) return;
  setLanguage(lang);
  drawHeader();
  route();
  if (me) {
    api.put('/api/v1/me/language', { language: lang }).catch((e) => {
      if (!(e instanceof ApiError && e.status === 404)) console.warn(`the language was not saved on the server: ${e.message}`);
    });
  }
}

/** The header's texts, in the page's language: its buttons, who is logged in, the nav. */
function drawHeader() {
  menuToggle.textContent = t('header.menu');
  nav.setAttribute('aria-label', t('header.nav'));
  passwordButton.textContent = t('header.password');
  logoutButton.textContent = t('header.logout');
  languageSelect.setAttribute('aria-label', t('header.language'));
  languageSelect.value = language();
  if (me) {
    const who = me;
    const role = ['admin', 'dispatcher', 'escort', 'auditor'].includes(who.role) ? t(`role.${who.role}`) : who.role;
    replace(/** @type {HTMLElement} */ (header.querySelector('.who')), t('header.who', { name: who.name, role }));
    replace(nav, Object.entries(VIEWS)
      .filter(([, v]) => !v.hidden && v.may(who))
      .map(([name]) => el('a', { href: `#/${name}`, data: { view: name }, text: viewTitle(name) })));
    const [current] = location.hash.replace(/^#\/?/, '').split('/');
    for (const link of nav.querySelectorAll('a')) link.classList.toggle('current', link.dataset.view === current);
  }
  showBadge();
}

async function start() {
  if (token()) {
    try {
      await beginSession();
    } catch (e) {
      endSession(e instanceof ApiError && e.status === 401 ? null : errorText(e));
      return;
    }
  }
  route();
}

/**
 * After login: who this is, what they may see, the live feed for those who watch it.
 * @returns {Promise<import('./api.js').Me>}
 */
async function beginSession() {
  /** @type {import('./api.js').Me} */
  const who = await api.get('/api/v1/me');
  me = who;
  setLanguage(chooseLanguage(who.language ?? savedLanguage(), navigator.languages));
  drawHeader();
  header.hidden = false;
  if (can(who, 'live')) {
    // The book first, so the feed's opening snapshot is not taken for new alerts.
    await book.load();
    feed.start();
  }
  return who;
}

/** @param {string | null} message */
function endSession(message) {
  setToken(null);
  feed.stop();
  me = null;
  header.hidden = true;
  loginNotice = message;
  go('#/login');
}

/**
 * Goes to a hash route (a hash change routes by itself; the same hash routes again).
 * @param {string} hash
 */
function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else route();
}

/**
 * Goes to the view the person lands on. One who may open no view is told so here: sending
 * them to a view they may not open would route there again and again.
 * @param {import('./api.js').Me} who
 */
function goHome(who) {
  const hash = home(who);
  if (hash) go(hash);
  else view.append(el('p', { class: 'message error', role: 'alert', text: t('nothing_for_role') }));
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
  if (!me || name === 'login') {
    if (me) { goHome(me); return; }
    showLogin(loginNotice);
    loginNotice = null;
    return;
  }
  // Own keys only: `#/toString` names no view.
  const target = Object.hasOwn(VIEWS, name) ? VIEWS[name] : null;
  if (!target || !target.may(me)) {
    goHome(me);
    return;
  }
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('current', link.dataset.view === name);
  document.title = t('page_title', { view: viewTitle(name) });
  document.body.dataset.view = name;
  const container = el('div', { class: `view-${name}` });
  view.append(container);
  // A new view starts at its top: on a phone the one before was likely scrolled down.
  window.scrollTo(0, 0);
  try {
    const cleanup = await target.mount(container, { me, feed, book }, rest.map(decodeURIComponent));
    if (mine === generation) unmount = cleanup;
    else if (cleanup) cleanup();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    container.append(el('p', { class: 'message error', role: 'alert', text: t('view_failed', { error: errorText(e) }) }));
  }
}

/** @param {string | null} notice */
function showLogin(notice) {
  document.body.dataset.view = 'login';
  document.title = t('login.page_title');
  replace(view);
  const message = messageLine();
  if (notice) message.error(notice);
  const username = el('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = el('button', { type: 'submit', text: t('login.submit') });
  const form = el('form', { class: 'login', on: { submit: async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    unlockAudio();
    submit.disabled = true;
    message.clear();
    try {
      const session = await api.post('/api/v1/login', { username: username.value, password: password.value });
      setToken(session.token);
      goHome(await beginSession());
    } catch (err) {
      setToken(null);
      message.error(err.status === 401 ? t('login.wrong') : errorText(err));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  } } },
  el('h1', { text: 'Convoy' }),
  el('label', { class: 'field' }, el('span', { class: 'field-label', text: t('login.user') }), username),
  el('label', { class: 'field' }, el('span', { class: 'field-label', text: t('login.password') }), password),
  submit, message.node);
  view.append(form);
}
