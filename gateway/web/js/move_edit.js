// @ts-check
// `#/edit/ID`: editing a move's plan, for those who may plan. Before the move starts the whole
// plan is in the form, prefilled; once it runs only its end time and its team can be changed
// (the server refuses the rest, and says why). Each save is a new version of the plan; the
// versions are listed below the form with who made each, when, and what it changed. Every
// text a person wrote (names, reasons of a refusal) is shown as text.

import { api, seg } from './api.js';
import { el, field, messageLine, replace } from './dom.js';
import { fromLocalInput, ms, toLocalInput } from './format.js';
import { translator } from './i18n.js';
import messages from './lang/moves.js';
import { stateName } from './moves.js';
import { describeChanges, EDITABLE_ONCE_STARTED, fieldsOf, planFromFields } from './plan_form.js';
import { errorText } from './error_text.js';
import { timeZoneInput } from './time_zones.js';
import { when } from './when.js';

const t = translator(messages);

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
  const heading = el('h1', { text: t('edit.title') });
  const form = el('form', { class: 'plan-edit' });
  const versions = el('ol', { class: 'plan-versions', reversed: true });
  container.append(el('section', { class: 'page' },
    // The message under the form, beside its button: a refusal is read where the person saved.
    heading, el('p', {}, el('a', { href: '#/moves', text: t('edit.back') })), form, message.node,
    el('h2', { text: t('edit.versions') }), versions));

  /** @type {EditedMove} */
  let move;
  /** @type {import('./plan_form.js').PlanFields} */
  let shown;
  /** @type {Inputs} */
  let inputs;

  async function load() {
    move = await api.get(`/api/v1/moves/${seg(id)}`);
    heading.textContent = t('edit.title_of', { name: move.name });
    // The window is written in the move's zone, as every time of the move is shown.
    shown = fieldsOf(move.plan, move.team, (iso) => toLocalInput(ms(iso), move.time_zone));
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
      escorts: input('escorts', 'input', { placeholder: t('edit.escorts_placeholder') }),
      corridor_m: input('corridor_m', 'input', { type: 'number', min: 10, max: 10000 }),
      from: input('from', 'input', { type: 'datetime-local' }),
      to: input('to', 'input', { type: 'datetime-local' }),
      route: input('route', 'textarea', { rows: 4 }),
      zones: input('zones', 'textarea', { rows: 4 }),
      rules: input('rules', 'textarea', { rows: 2 }),
      time_zone: zone.input,
      team: input('team', 'input', { placeholder: t('edit.team_placeholder') }),
    };
    const note = over
      ? t('edit.note_over', { state: stateName(move.state) })
      : running
        ? t('edit.note_running')
        : t('edit.note_planned');
    replace(form,
      el('p', { class: 'plan-edit-state', text: `${note} ${t('edit.version_now', { version: move.version })}` }),
      field(t('plan.name'), inputs.name),
      field(t('plan.vehicles'), inputs.vehicles, t('edit.comma_separated')),
      field(t('plan.escorts'), inputs.escorts),
      field(t('edit.corridor'), inputs.corridor_m),
      field(t('edit.start'), inputs.from),
      field(t('edit.end'), inputs.to),
      field(t('edit.route'), inputs.route),
      field(t('edit.zones'), inputs.zones),
      field(t('edit.rules'), inputs.rules),
      field(t('plan.time_zone'), inputs.time_zone, t('plan.time_zone_hint')), zone.list,
      field(t('edit.team'), inputs.team, t('edit.team_hint')),
      over ? null : el('button', { type: 'submit', text: t('edit.save') }));
    await listVersions();
  }

  async function listVersions() {
    /** @type {{ versions: PlanVersion[] }} */
    const body = await api.get(`/api/v1/moves/${seg(id)}/versions`);
    replace(versions, body.versions.map((v) => el('li', { data: { version: String(v.version) } },
      el('strong', { text: t('edit.version', { version: v.version }) }), ' · ',
      el('span', { class: 'version-when', text: when(v.at, move.time_zone) }), ' · ',
      el('span', { class: 'version-by', text: v.by }), ': ',
      el('span', { class: 'version-changes', text: describeChanges(v.changes) }))));
  }

  async function save() {
    message.clear();
    /** @type {import('./plan_form.js').PlanFields} */
    const fields = /** @type {any} */ (Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value])));
    let edit;
    try {
      const zone = fields.time_zone.trim() || move.time_zone;
      edit = planFromFields(fields, shown, move.plan, (value) => fromLocalInput(value, zone));
    } catch (e) {
      message.error(t('edit.not_saved', { why: e.message }));
      return;
    }
    try {
      /** @type {EditedMove} */
      const saved = await api.put(`/api/v1/moves/${seg(id)}/plan`, { replaces: move.version, plan: edit.plan, team: edit.team });
      await load();
      message.ok(t('edit.saved', { version: saved.version }));
    } catch (e) {
      message.error(t('edit.not_saved', { why: errorText(e) }));
    }
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); void save(); });
  try {
    await load();
  } catch (e) {
    message.error(t('edit.cannot', { why: errorText(e) }));
  }
  return () => replace(container);
}
