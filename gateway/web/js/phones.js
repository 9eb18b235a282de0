// @ts-check
// `#/phones` (admin): the phones that report a vehicle's positions through OwnTracks or Traccar
// Client. The list with a Remove button; a form to register one (POST /api/v1/phones); and,
// once registered, what its owner needs to set the app up, shown this once: the secret, a QR
// code (an SVG the server drew, shown as an image), the OwnTracks configuration to download as
// NAME.otrc, or the server URL to type into Traccar Client.

import { api, save, seg } from './api.js';
import { el, field, messageLine, replace, select } from './dom.js';
import { translator } from './i18n.js';
import messages from './lang/phones.js';
import { errorText } from './error_text.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * A registered phone (`GET /api/v1/phones`).
 * @typedef {object} Phone
 * @property {'owntracks' | 'traccar'} kind
 * @property {string} name
 * @property {string | null} device
 * @property {string} vehicle
 * @property {string | null} person
 * @property {string} created_at
 */

/**
 * A phone just registered, with its setup (`POST /api/v1/phones`).
 * @typedef {object} PhoneSetup
 * @property {Phone} phone
 * @property {string} secret
 * @property {Record<string, unknown>} [configuration] OwnTracks only
 * @property {string} [import_link] OwnTracks only
 * @property {string} [server_url] Traccar Client only
 * @property {string} qr_svg
 */

/** @type {Record<Phone['kind'], string>} */
const APPS = { owntracks: 'OwnTracks', traccar: 'Traccar Client' };

/**
 * Traccar Client's listener on the server (`[phones] osmand_listen`), as the phone list gives it.
 * @typedef {object} TraccarListener
 * @property {number} port
 * @property {boolean} tls
 */

/**
 * Where a phone of `kind` reports, as far as the page can tell: OwnTracks over HTTP to this
 * server's own address; Traccar Client to the same host on its listener's port, or nothing
 * when that listener is off (the admin types where phones reach it).
 * @param {string} kind
 * @param {TraccarListener | null} traccar
 */
export function defaultEndpoint(kind, traccar) {
  if (kind !== 'traccar') return `${location.origin}/api/v1/phones/owntracks`;
  return traccar ? `${traccar.tls ? 'https:' : 'http:'}//${location.hostname}:${traccar.port}` : '';
}

/**
 * An SVG image's text as a `data:` URL, for an `<img>` (the page's policy allows `data:`
 * images; the SVG is never inserted as markup).
 * @param {string} svg
 */
export function svgDataUrl(svg) {
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

/**
 * @param {HTMLElement} container
 */
export async function mountPhones(container) {
  const listMessage = messageLine();
  const message = messageLine();
  const rows = el('tbody');
  const kind = select(Object.entries(APPS), { name: 'kind' });
  const name = el('input', { name: 'name', required: true, maxlength: 64, autocomplete: 'off', placeholder: t('phones.name_placeholder') });
  const device = el('input', { name: 'device', maxlength: 64, autocomplete: 'off', placeholder: t('phones.device_placeholder') });
  const vehicle = el('select', { name: 'vehicle', required: true });
  const person = el('select', { name: 'person' });
  /** @type {TraccarListener | null} */
  let traccarListener = null;
  const endpoint = el('input', { name: 'endpoint', required: true, maxlength: 512, value: defaultEndpoint(kind.value, traccarListener) });
  const submit = el('button', { type: 'submit', text: t('phones.register') });
  const deviceField = field(t('phones.device_id'), device);
  const nameHint = el('small', { class: 'hint' });
  const endpointHint = el('small', { class: 'hint' });
  const setup = el('section', { class: 'phone-setup', hidden: true });
  /** Whether the person typed an endpoint of their own (then a change of app keeps it). */
  let endpointTyped = false;

  function kindChanged() {
    const owntracks = kind.value === 'owntracks';
    deviceField.hidden = !owntracks;
    device.required = owntracks;
    nameHint.textContent = t(owntracks ? 'phones.name_hint_owntracks' : 'phones.name_hint_traccar');
    endpointHint.textContent = t(owntracks
      ? 'phones.endpoint_hint_owntracks'
      : traccarListener ? 'phones.endpoint_hint_traccar' : 'phones.endpoint_hint_traccar_off');
    if (!endpointTyped) endpoint.value = defaultEndpoint(kind.value, traccarListener);
  }
  kind.addEventListener('change', kindChanged);
  endpoint.addEventListener('input', () => { endpointTyped = true; });

  const form = el('form', { class: 'phone-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); register(); } } },
    el('h2', { text: t('phones.register_title') }),
    el('div', { class: 'row' }, field(t('phones.app'), kind), field(t('phones.vehicle'), vehicle), field(t('phones.person_optional'), person)),
    el('label', { class: 'field' }, el('span', { class: 'field-label', text: t('phones.name') }), name, nameHint),
    deviceField,
    el('label', { class: 'field' }, el('span', { class: 'field-label', text: t('phones.endpoint') }), endpoint, endpointHint),
    submit, message.node);
  container.append(el('section', { class: 'page phones' },
    el('h1', { text: t('phones.title') }),
    el('p', { class: 'hint', text: t('phones.hint') }),
    el('table', { class: 'phone-list' },
      el('thead', {}, el('tr', {}, [t('phones.app'), t('phones.name'), t('phones.device'), t('phones.vehicle'), t('phones.person'), t('phones.registered'), ''].map((h) => el('th', { text: h })))),
      rows),
    listMessage.node, form, setup));
  kindChanged();

  async function loadList() {
    /** @type {{ phones: Phone[], traccar_listener: TraccarListener | null }} */
    const { phones, traccar_listener: listener } = await api.get('/api/v1/phones');
    if (JSON.stringify(listener) !== JSON.stringify(traccarListener)) {
      traccarListener = listener;
      kindChanged();
    }
    replace(rows, phones.length ? null : el('tr', {}, el('td', { colspan: 7, class: 'empty', text: t('phones.none') })));
    for (const phone of phones) {
      const remove = el('button', { type: 'button', class: 'secondary remove', text: t('phones.remove'), on: { click: () => removePhone(phone) } });
      rows.append(el('tr', { data: { phone: `${phone.kind}:${phone.name}` } },
        el('td', { text: APPS[phone.kind] ?? phone.kind }),
        el('td', { class: 'name', text: phone.name }),
        el('td', { text: phone.device ?? '—' }),
        el('td', { text: phone.vehicle }),
        el('td', { text: phone.person ?? '—' }),
        el('td', { text: when(phone.created_at) }),
        el('td', {}, remove)));
    }
  }

  /** @param {Phone} phone */
  async function removePhone(phone) {
    const question = t('phones.confirm_remove', { app: APPS[phone.kind] ?? phone.kind, name: phone.name });
    if (!window.confirm(question)) return;
    listMessage.clear();
    try {
      await api.del(`/api/v1/phones/${seg(phone.kind)}/${seg(phone.name)}`);
      listMessage.ok(t('phones.removed', { name: phone.name }));
    } catch (e) {
      listMessage.error(t('phones.not_removed', { name: phone.name, why: errorText(e) }));
    }
    await loadList();
  }

  async function register() {
    message.clear();
    submit.disabled = true;
    const body = {
      kind: kind.value,
      name: name.value.trim(),
      device: kind.value === 'owntracks' ? device.value.trim() : undefined,
      vehicle: vehicle.value,
      person: person.value || null,
      endpoint: endpoint.value.trim(),
    };
    try {
      /** @type {PhoneSetup} */
      const answer = await api.post('/api/v1/phones', body);
      message.ok(t('phones.registered_for', { name: answer.phone.name, vehicle: answer.phone.vehicle }));
      showSetup(answer);
      name.value = '';
      device.value = '';
      await loadList();
    } catch (e) {
      message.error(t('phones.not_registered', { why: errorText(e) }));
    } finally {
      submit.disabled = false;
    }
  }

  /** @param {PhoneSetup} answer */
  function showSetup(answer) {
    const { phone } = answer;
    const qr = el('img', { class: 'qr', src: svgDataUrl(answer.qr_svg), alt: t('phones.qr_alt', { name: phone.name }) });
    /** @type {HTMLElement[]} */
    const how = [];
    if (answer.configuration) {
      const configuration = answer.configuration;
      const fileName = `${phone.name}.otrc`;
      how.push(
        el('p', { text: t('phones.how_owntracks') }),
        el('p', { class: 'buttons' },
          el('button', { type: 'button', class: 'download-otrc', text: t('phones.download', { file: fileName }), on: { click: () => {
            save(new Blob([`${JSON.stringify(configuration, null, 2)}\n`], { type: 'application/octet-stream' }), fileName);
          } } }),
          ' ',
          el('a', { class: 'import-link', href: answer.import_link ?? '', text: t('phones.open_owntracks') })));
    } else {
      how.push(
        el('p', { text: t('phones.how_traccar', { name: phone.name }) }),
        el('p', {}, el('code', { class: 'server-url', text: answer.server_url ?? '' })));
    }
    replace(setup,
      el('h2', {}, t('phones.set_up'), el('span', { class: 'setup-name', text: phone.name })),
      el('div', { class: 'setup-body' },
        qr,
        el('div', {},
          el('p', { class: 'once' }, el('strong', { text: t('phones.shown_once') }), t('phones.shown_once_secret')),
          el('p', {}, t('phones.secret'), el('code', { class: 'secret', text: answer.secret })),
          how)));
    setup.hidden = false;
    // Below the form: brought into view, or the admin may not see that a code was drawn.
    setup.scrollIntoView({ block: 'start' });
  }

  /** @type {[{ vehicles: { id: string }[] }, { users: { name: string }[] }]} */
  const [{ vehicles }, { users }] = await Promise.all([api.get('/api/v1/vehicles'), api.get('/api/v1/users')]);
  replace(vehicle, vehicles.length ? vehicles.map((v) => el('option', { value: v.id, text: v.id })) : el('option', { value: '', text: t('phones.no_vehicles') }));
  replace(person, el('option', { value: '', text: t('phones.nobody') }), users.map((u) => el('option', { value: u.name, text: u.name })));
  await loadList();
  return () => replace(container);
}
