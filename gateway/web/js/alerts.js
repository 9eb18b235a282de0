// @ts-check
// Alerts: the book of open and acknowledged alerts (loaded from the API, kept current by the
// live feed), the panel that lists them newest first, and the beep a new one makes.

import { api, seg } from './api.js';
import { el, replace } from './dom.js';
import { errorText } from './error_text.js';
import { alertDetail, alertKind, clock, dateTime, ms } from './format.js';
import { translator } from './i18n.js';
import messages from './lang/alerts.js';

const t = translator(messages);

/** @typedef {import('./api.js').Alert} Alert */

// ---- Sound ------------------------------------------------------------------------------

/** @type {AudioContext | null} */
let audio = null;
let beeps = 0;

/**
 * Browsers let a page make sound only after a person has interacted with it: the page calls
 * this on the first click or key press (and on login) so later alerts can beep.
 */
export function unlockAudio() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume();
  } catch { /* no audio output: alerts still stand out */ }
}

export function audioReady() {
  return Boolean(audio && audio.state === 'running');
}

/** A short two-tone beep made with WebAudio (no audio file). */
export function beep() {
  beeps += 1;
  document.body.dataset.beeps = String(beeps);
  try {
    audio = audio || new AudioContext();
    const start = audio.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.18, 660]]) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.25, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.16);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.17);
    }
  } catch { /* no audio output */ }
}

// ---- The book ---------------------------------------------------------------------------

/**
 * Open and acknowledged alerts by id. Emits `change` when the list changes and `new` (detail:
 * the alert) when one opens while the page is watching.
 */
export class AlertBook extends EventTarget {
  /** @param {EventTarget} feed the live feed (feed.js), or anything sending its `alert` and `connection` events */
  constructor(feed) {
    super();
    /** @type {Map<string, Alert>} */
    this.alerts = new Map();
    this.ready = false;
    /** Counts the feed's alert messages; `toldAt`: the count at each alert's latest. */
    this.told = 0;
    /** @type {Map<string, number>} */
    this.toldAt = new Map();
    /** Whether the feed has been open since the book was loaded (its next open is a reconnect). */
    this.wasOpen = false;
    /** @param {Event} event */
    this.onFeed = (event) => this.received(/** @type {CustomEvent} */ (event).detail.alert);
    feed.addEventListener('alert', this.onFeed);
    feed.addEventListener('connection', (event) => {
      if (/** @type {CustomEvent} */ (event).detail.state !== 'open') return;
      if (this.wasOpen) this.resync();
      this.wasOpen = true;
    });
  }

  /** Loads what is open or acknowledged now; call before the live feed starts. */
  async load() {
    /** @type {{ alerts: Alert[] }[]} */
    const [open, acknowledged] = await Promise.all([
      api.get('/api/v1/alerts?state=open'),
      api.get('/api/v1/alerts?state=acknowledged'),
    ]);
    this.alerts.clear();
    this.toldAt.clear();
    for (const alert of [...open.alerts, ...acknowledged.alerts]) this.alerts.set(alert.id, alert);
    this.ready = true;
    this.wasOpen = false;
    this.changed();
  }

  /**
   * After the feed has reconnected: drops the alerts resolved while it was down. The feed's
   * opening snapshot brings every alert not resolved (new and changed ones arrive by
   * themselves) but cannot tell of those resolved meanwhile: the API can. An alert the feed
   * told of after the API was asked is kept (the feed is newer).
   */
  async resync() {
    const asked = this.told;
    /** @type {{ alerts: Alert[] }[]} */
    let lists;
    try {
      lists = await Promise.all([api.get('/api/v1/alerts?state=open'), api.get('/api/v1/alerts?state=acknowledged')]);
    } catch {
      return; // kept as they are; the next reconnect tries again
    }
    const current = new Set(lists.flatMap((list) => list.alerts.map((a) => a.id)));
    const gone = [...this.alerts.keys()].filter((id) => !current.has(id) && !((this.toldAt.get(id) ?? 0) > asked));
    for (const id of gone) this.forget(id);
    if (gone.length) this.changed();
  }

  /** @param {string} id */
  forget(id) {
    this.toldAt.delete(id);
    return this.alerts.delete(id);
  }

  /** Newest first, by the time the alert opened. */
  list() {
    return [...this.alerts.values()].sort((a, b) => ms(b.opened_t || b.t) - ms(a.opened_t || a.t));
  }

  openCount() {
    return this.list().filter((a) => a.state === 'open').length;
  }

  /**
   * An alert message from the live feed (the AlertMessage shape, without who acted).
   * @param {Alert | undefined} message
   */
  async received(message) {
    if (!message || typeof message.id !== 'string') return;
    const known = this.alerts.get(message.id);
    this.told += 1;
    if (message.state === 'resolved') {
      if (this.forget(message.id)) this.changed();
      return;
    }
    this.toldAt.set(message.id, this.told);
    /** @type {Alert} */
    const record = { ...(known || { opened_t: message.t }), ...message };
    this.alerts.set(message.id, record);
    if (!known && message.state === 'open' && this.ready) {
      record.fresh = true;
      if (!message.late) beep();
      this.dispatchEvent(new CustomEvent('new', { detail: record }));
    }
    this.changed();
    // The feed's message says what changed, not who did it: the API has the whole record.
    try {
      /** @type {Alert} */
      const full = await api.get(`/api/v1/alerts/${seg(message.id)}`);
      if (this.alerts.has(full.id)) this.store(full);
    } catch { /* shown as the feed told it */ }
  }

  /**
   * @param {string} id
   * @param {string} [note]
   * @returns {Promise<Alert>}
   */
  async acknowledge(id, note) {
    return this.act(id, 'ack', note);
  }

  /**
   * @param {string} id
   * @param {string} [note]
   * @returns {Promise<Alert>}
   */
  async resolve(id, note) {
    return this.act(id, 'resolve', note);
  }

  /**
   * @param {string} id
   * @param {'ack' | 'resolve'} action
   * @param {string} [note]
   * @returns {Promise<Alert>}
   */
  async act(id, action, note) {
    try {
      /** @type {Alert} */
      const record = await api.post(`/api/v1/alerts/${seg(id)}/${action}`, note ? { note } : {});
      this.store(record);
      return record;
    } catch (e) {
      // Someone else was quicker (409): show what they did.
      if (e.status === 409) {
        try { this.store(await api.get(`/api/v1/alerts/${seg(id)}`)); } catch { /* keep the error */ }
      }
      throw e;
    }
  }

  /** @param {Alert} record the whole record, as the API answers it */
  store(record) {
    const fresh = this.alerts.get(record.id)?.fresh;
    if (record.state === 'resolved') this.forget(record.id);
    else this.alerts.set(record.id, { ...record, fresh });
    this.changed();
  }

  changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }
}

// ---- The panel --------------------------------------------------------------------------

/**
 * The alert panel in `container`. Items are updated in place (a note being typed survives
 * updates); open alerts stand out until acknowledged. `canAct`: whether this role may
 * acknowledge and resolve. `onPick(alert)`: a click on an alert (to show it on the map).
 * `zoneOf(alert)`: the IANA zone its times are shown in (its move's), null for the browser's.
 */
export class AlertPanel {
  /**
   * @param {HTMLElement} container
   * @param {AlertBook} book
   * @param {{ canAct?: boolean, onPick?: (alert: Alert) => void, zoneOf?: (alert: Alert) => string | null }} [options]
   */
  constructor(container, book, { canAct, onPick, zoneOf } = {}) {
    this.book = book;
    this.zoneOf = zoneOf || (() => null);
    this.canAct = Boolean(canAct);
    this.onPick = onPick;
    /** @type {Map<string, AlertItem>} */
    this.items = new Map();
    this.count = el('span', { class: 'count' });
    this.sound = el('button', { type: 'button', class: 'sound link', on: { click: () => { unlockAudio(); this.render(); } } });
    this.list = el('ol', { class: 'alert-list' });
    this.empty = el('p', { class: 'empty', text: t('panel.empty') });
    container.append(el('section', { class: 'alert-panel', 'aria-label': t('panel.label') },
      el('h2', {}, `${t('panel.title')} `, this.count, this.sound), this.empty, this.list));
    this.onChange = () => this.render();
    book.addEventListener('change', this.onChange);
    this.render();
  }

  destroy() {
    this.book.removeEventListener('change', this.onChange);
  }

  render() {
    const alerts = this.book.list();
    const open = alerts.filter((a) => a.state === 'open').length;
    this.count.textContent = t('panel.count', { open, acknowledged: alerts.length - open });
    this.sound.textContent = audioReady() ? t('sound.on') : t('sound.off');
    this.empty.hidden = alerts.length > 0;
    const seen = new Set();
    for (const alert of alerts) {
      seen.add(alert.id);
      let item = this.items.get(alert.id);
      if (!item) {
        item = new AlertItem(this.book, this.canAct, this.onPick);
        this.items.set(alert.id, item);
      }
      item.update(alert, this.zoneOf(alert));
      // Appending an element already in the list moves it: this puts them in order.
      this.list.append(item.node);
    }
    for (const [id, item] of this.items) {
      if (!seen.has(id)) {
        item.node.remove();
        this.items.delete(id);
      }
    }
  }
}

/** One alert in the panel. */
class AlertItem {
  /**
   * @param {AlertBook} book
   * @param {boolean} canAct
   * @param {((alert: Alert) => void) | undefined} onPick
   */
  constructor(book, canAct, onPick) {
    /** @type {Alert | null} the alert shown (set by `update`, before the item is shown) */
    this.alert = null;
    this.kind = el('span', { class: 'alert-kind' });
    this.vehicle = el('span', { class: 'alert-vehicle' });
    this.time = el('time', { class: 'alert-time' });
    this.detail = el('div', { class: 'alert-detail' });
    this.acknowledged = el('div', { class: 'alert-ack' });
    this.note = el('blockquote', { class: 'alert-note' });
    this.node = el('li', { class: 'alert' },
      el('div', { class: 'alert-head', on: { click: () => onPick && this.alert && onPick(this.alert) } }, this.kind, ' ', this.vehicle, ' ', this.time),
      this.detail, this.acknowledged, this.note);
    this.actions = canAct ? new AlertActions(book, () => this.alert) : null;
    if (this.actions) this.node.append(this.actions.node);
  }

  /**
   * @param {Alert} alert
   * @param {string | null} zone the IANA zone its times are shown in; null: the browser's
   */
  update(alert, zone) {
    this.alert = alert;
    const open = alert.state === 'open';
    this.node.className = `alert ${open ? 'unacknowledged' : 'acknowledged'}${alert.fresh && open ? ' fresh' : ''}${alert.late ? ' late' : ''}`;
    Object.assign(this.node.dataset, { alertId: alert.id, state: alert.state, kind: alert.kind, vehicle: alert.vehicle || '' });
    this.kind.textContent = alertKind(alert.kind);
    this.vehicle.textContent = alert.vehicle || '';
    this.time.textContent = clock(alert.opened_t || alert.t, zone);
    this.time.dateTime = alert.opened_t || alert.t || '';
    this.time.title = zone ? `${dateTime(alert.opened_t || alert.t, zone)}, ${zone}` : dateTime(alert.opened_t || alert.t);
    this.detail.textContent = alertDetail(alert, zone);
    if (alert.acknowledged_by || alert.acknowledged_t) {
      replace(this.acknowledged, t('acknowledged_by', { who: alert.acknowledged_by || t('someone'), time: dateTime(alert.acknowledged_t, zone) }));
    } else {
      replace(this.acknowledged);
    }
    this.acknowledged.hidden = !this.acknowledged.textContent;
    this.note.textContent = alert.note || '';
    this.note.hidden = !alert.note;
    if (this.actions) this.actions.update(open);
  }
}

/** The note, Acknowledge and Resolve of one alert in the panel, for those who may act on it. */
class AlertActions {
  /**
   * @param {AlertBook} book
   * @param {() => Alert | null} current the alert the item shows now
   */
  constructor(book, current) {
    this.book = book;
    this.current = current;
    this.noteInput = el('textarea', { name: 'note', rows: 2, maxlength: 2000, placeholder: t('note.to_acknowledge'), 'aria-label': t('note.label') });
    this.ackButton = el('button', { type: 'submit', class: 'ack', disabled: true, text: t('acknowledge') });
    this.resolveButton = el('button', { type: 'button', class: 'resolve secondary', text: t('resolve') });
    this.message = el('p', { class: 'message', role: 'status' });
    this.noteInput.addEventListener('input', () => { this.ackButton.disabled = !this.noteInput.value.trim(); });
    this.resolveButton.addEventListener('click', () => this.act('resolve'));
    this.node = el('form', { class: 'alert-actions', on: { submit: (e) => { e.preventDefault(); this.act('acknowledge'); } } },
      this.noteInput, el('div', { class: 'buttons' }, this.ackButton, this.resolveButton), this.message);
  }

  /** @param {'acknowledge' | 'resolve'} action */
  async act(action) {
    const alert = this.current();
    if (!alert) return;
    const note = this.noteInput.value.trim();
    if (action === 'acknowledge' && !note) {
      this.message.textContent = t('note_required');
      return;
    }
    this.ackButton.disabled = true;
    this.resolveButton.disabled = true;
    try {
      await (action === 'acknowledge' ? this.book.acknowledge(alert.id, note) : this.book.resolve(alert.id, note));
      this.noteInput.value = '';
      this.message.className = 'message ok';
      this.message.textContent = action === 'acknowledge' ? t('acknowledged') : t('resolved');
    } catch (e) {
      this.message.className = 'message error';
      this.message.textContent = errorText(e);
    } finally {
      this.resolveButton.disabled = false;
      this.ackButton.disabled = !this.noteInput.value.trim();
    }
  }

  /**
   * An open alert can be acknowledged (a note required); an acknowledged one only resolved.
   * @param {boolean} open
   */
  update(open) {
    this.ackButton.hidden = !open;
    this.noteInput.placeholder = open ? t('note.to_acknowledge') : t('note.to_resolve');
  }
}
