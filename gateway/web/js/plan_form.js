// @ts-check
// The plan edit form's pure parts (move_edit.js): the fields a plan and team are shown as, the
// plan and team the fields make, which fields a running move may still change, and how a
// version's changes read.

import { translator } from './i18n.js';
import messages from './lang/moves.js';

const t = translator(messages);

/** @typedef {import('./api.js').Plan} Plan */

/**
 * The edit form's fields, as text.
 * @typedef {object} PlanFields
 * @property {string} name
 * @property {string} vehicles comma-separated
 * @property {string} escorts `cargo:escort` pairs, comma-separated
 * @property {string} corridor_m
 * @property {string} from local time as a datetime-local input shows it, or empty
 * @property {string} to
 * @property {string} route GeoJSON LineString
 * @property {string} zones GeoJSON FeatureCollection, or empty
 * @property {string} rules JSON object of rule overrides, or empty
 * @property {string} time_zone IANA name, or empty for the server's default
 * @property {string} team people, comma-separated
 */

/** The fields a move may still change once it runs: its end time and its team. */
export const EDITABLE_ONCE_STARTED = /** @type {const} */ (['to', 'team']);

/**
 * The fields showing a plan and team; times through `toLocal` (a datetime-local value).
 * @param {Plan & { rules?: object }} plan
 * @param {string[]} team
 * @param {(iso: string) => string} toLocal
 * @returns {PlanFields}
 */
export function fieldsOf(plan, team, toLocal) {
  const json = (/** @type {unknown} */ value) => (value === undefined || value === null ? '' : JSON.stringify(value, null, 1));
  const rules = plan.rules && Object.keys(plan.rules).length ? json(plan.rules) : '';
  const zones = plan.zones && plan.zones.features && plan.zones.features.length ? json(plan.zones) : '';
  return {
    name: plan.name || '',
    vehicles: (plan.vehicles || []).join(', '),
    escorts: Object.entries(plan.escorts || {}).map(([cargo, escort]) => `${cargo}:${escort}`).join(', '),
    corridor_m: plan.corridor_m === undefined ? '' : String(plan.corridor_m),
    from: plan.window ? toLocal(plan.window.from) : '',
    to: plan.window ? toLocal(plan.window.to) : '',
    route: json(plan.route),
    zones,
    rules,
    time_zone: plan.time_zone || '',
    team: team.join(', '),
  };
}

/** @param {string} text */
function list(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * @param {string} text
 * @param {'route' | 'zones' | 'rules'} what
 */
function parsed(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(t('plan.not_json', { what: t(`plan.the_${what}`), why: e.message }));
  }
}

/**
 * The plan and team the fields make. A time left as it was shown keeps the plan's own, to the
 * millisecond (the input shows minutes): an untouched start is no change. Throws an Error
 * saying what is wrong with a field that does not read; the server judges the rest.
 * @param {PlanFields} fields
 * @param {PlanFields} shown the fields as first shown
 * @param {Plan} plan the plan they were shown from
 * @param {(local: string) => string | null} fromLocal a datetime-local value as RFC 3339
 * @returns {{ plan: Record<string, unknown>, team: string[] }}
 */
export function planFromFields(fields, shown, plan, fromLocal) {
  /** @type {Record<string, unknown>} */
  const made = {
    name: fields.name.trim(),
    vehicles: list(fields.vehicles),
    route: parsed(fields.route, 'route'),
  };
  const escorts = Object.fromEntries(list(fields.escorts).map((pair) => {
    const [cargo, escort = ''] = pair.split(':').map((s) => s.trim());
    return [cargo, escort];
  }));
  if (Object.keys(escorts).length) made.escorts = escorts;
  if (fields.corridor_m.trim()) made.corridor_m = Number(fields.corridor_m);
  if (fields.zones.trim()) made.zones = parsed(fields.zones, 'zones');
  if (fields.rules.trim()) made.rules = parsed(fields.rules, 'rules');
  if (fields.time_zone.trim()) made.time_zone = fields.time_zone.trim();
  if (fields.from || fields.to) {
    /** @param {'from' | 'to'} end */
    const time = (end) => {
      if (plan.window && fields[end] === shown[end]) return plan.window[end];
      const at = fromLocal(fields[end]);
      if (!at) throw new Error(t(end === 'from' ? 'plan.bad_start' : 'plan.bad_end'));
      return at;
    };
    made.window = { from: time('from'), to: time('to') };
  }
  return { plan: made, team: list(fields.team) };
}

/** The fields the API names, each read as `plan.field.NAME` in the catalogue. */
const FIELD_NAMES = ['name', 'vehicles', 'escorts', 'route', 'corridor_m', 'zones', 'window.from', 'window.to', 'rules', 'time_zone', 'team'];

/**
 * What a version changed, in words: version 1 is the plan as created.
 * @param {string[]} changes as the API names the fields
 */
export function describeChanges(changes) {
  if (!changes.length) return t('plan.created');
  const names = changes.map((c) => (FIELD_NAMES.includes(c) ? t(`plan.field.${c}`) : c));
  return t('plan.changed', { fields: names.join(t('plan.list_separator')) });
}
