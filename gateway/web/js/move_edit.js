// @ts-check
// `#/edit/ID`: editing a move's plan, for those who may plan. Before the move starts the whole
// plan is in the form, prefilled; once it runs only its end time and its team can be changed
// (the server refuses the rest, and says why). Each save is a new version of the plan; the
// versions are listed below the form with who made each, when, and what it changed. Every
// text a person wrote (names, reasons of a refusal) is shown as text.

import { api, seg } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { dateTime, fromLocalInput, ms, toLocalInput } from './format.js';
import { describeChanges, EDITABLE_ONCE_STARTED, fieldsOf, planFromFields } from './plan_form.js';
import { timeZoneInput } from './time_zones.js';

/**
 * A version of a move's plan, as `GET /api/v1/moves/{id}/versions` lists it.
 * @typedef {object} PlanVersion
 * @property {number} version
 * @property {string} at
 * @property {string} by
 * @property {string[]} changes
 * @property {string[] | null} team
 */

/** @typedef {import('./api.js').Move & { plan: import('./api.js').Plan, team: string[], version: number }} EditedMove */

/** The form's inputs, by field. @typedef {Record<keyof import('./plan_form.js').PlanFields, HTMLInputElement | HTMLTextAreaElement>} Inputs */

/**
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} _ctx
 * @param {string[]} params the move's id
 */
export async function mountMoveEdit(container, _ctx, params) {
  const id = params[0] || '';
  const message = messageLine();
  const heading = el('h1', { text: 'Edit a move' });
  const form = el('form', { class: 'plan-edit' });
  const versions = el('ol', { class: 'plan-versions', reversed: true });
  container.append(el('section', { class: 'page' },
    // The message under the form, beside its button: a refusal is read where the person saved.
    heading, el('p', {}, el('a', { href: '#/moves', text: '← Moves' })), form, message.node,
    el('h2', { text: 'Versions' }), versions));

  /** @type {EditedMove} */
  let move;
  /** @type {import('./plan_form.js').PlanFields} */
  let shown;
  /** @type {Inputs} */
  let inputs;

  async function load() {
    move = await api.get(`/api/v1/moves/${seg(id)}`);
    heading.textContent = `Edit ${move.name}`;
    shown = fieldsOf(move.plan, move.team, (iso) => toLocalInput(ms(iso)));
    const running = move.state === 'running';
    const over = move.state === 'ended' || move.state === 'cancelled';
    /**
     * @param {keyof import('./plan_form.js').PlanFields} name
     * @param {'input' | 'textarea'} tag
     * @param {Record<string, unknown>} [props]
     */
    const input = (name, tag, props = {}) => {
      const locked = over || (running && !(/** @type {readonly string[]} */ (EDITABLE_ONCE_STARTED)).includes(name));
      return el(tag, { name, value: shown[name], disabled: locked, ...props });
    };
    const zone = timeZoneInput(shown.time_zone, { disabled: over || running });
    inputs = {
      name: input('name', 'input', { maxlength: 200, required: true }),
      vehicles: input('vehicles', 'input'),
      escorts: input('escorts', 'input', { placeholder: 'cargo:escort, …' }),
      corridor_m: input('corridor_m', 'input', { type: 'number', min: 10, max: 10000 }),
      from: input('from', 'input', { type: 'datetime-local' }),
      to: input('to', 'input', { type: 'datetime-local' }),
      route: input('route', 'textarea', { rows: 4 }),
      zones: input('zones', 'textarea', { rows: 4 }),
      rules: input('rules', 'textarea', { rows: 2 }),
      time_zone: zone.input,
      team: input('team', 'input', { placeholder: 'people, comma-separated' }),
    };
    const note = over
      ? `This move is ${move.state}: its plan no longer changes.`
      : running
        ? 'This move is running: only its end time and its team can change.'
        : 'This move has not started: its whole plan can change until it does.';
    replace(form,
      el('p', { class: 'plan-edit-state', text: `${note} Version ${move.version}.` }),
      field('Name', inputs.name),
      field('Vehicles', inputs.vehicles, 'comma-separated'),
      field('Escorts', inputs.escorts),
      field('Corridor (m)', inputs.corridor_m),
      field('Start', inputs.from),
      field('End', inputs.to),
      field('Route (GeoJSON LineString)', inputs.route),
      field('Zones (GeoJSON FeatureCollection)', inputs.zones),
      field('Rule overrides (JSON)', inputs.rules),
      field('Time zone', inputs.time_zone, "an IANA name, e.g. Asia/Shanghai: the move's times are shown in it; empty: the server's default"), zone.list,
      field('Team', inputs.team, 'who escorts the move'),
      over ? null : el('button', { type: 'submit', text: 'Save as a new version' }));
    await listVersions();
  }

  async function listVersions() {
    /** @type {{ versions: PlanVersion[] }} */
    const body = await api.get(`/api/v1/moves/${seg(id)}/versions`);
    replace(versions, body.versions.map((v) => el('li', { data: { version: String(v.version) } },
      el('strong', { text: `Version ${v.version}` }), ' · ',
      el('span', { class: 'version-when', text: dateTime(v.at, move.time_zone) }), ' · ',
      el('span', { class: 'version-by', text: v.by }), ': ',
      el('span', { class: 'version-changes', text: describeChanges(v.changes) }))));
  }

  async function save() {
    message.clear();
    /** @type {import('./plan_form.js').PlanFields} */
    const fields = /** @type {any} */ (Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value])));
    let edit;
    try {
      edit = planFromFields(fields, shown, move.plan, fromLocalInput);
    } catch (e) {
      message.error(`Not saved: ${e.message}`);
      return;
    }
    try {
      /** @type {EditedMove} */
      const saved = await api.put(`/api/v1/moves/${seg(id)}/plan`, { replaces: move.version, plan: edit.plan, team: edit.team });
      await load();
      message.ok(`Saved as version ${saved.version}.`);
    } catch (e) {
      message.error(`Not saved: ${e.message}`);
    }
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); void save(); });
  try {
    await load();
  } catch (e) {
    message.error(`This move cannot be edited: ${e.message}`);
  }
  return () => replace(container);
}
