// @ts-check
// `#/seals/ID`: a move's sealed items and seal checkpoints. Admins and dispatchers edit the list
// (`plan`); those on the road (`checkpoints`: escorts of the move, dispatchers, admins) record a
// checkpoint — the stage, each seal ticked intact, broken or missing, a note — from a phone
// as well as a desk (one column, 44 px targets: app.css); everyone who sees the move reads the
// checkpoints below. A seal seen broken or missing opens a `seal` alert, which the alert
// panel shows as every alert. The bodies sent are seal_form.js's.

import { api, seg } from './api.js';
import { el, field, messageLine, replace, select } from './dom.js';
import { errorText } from './error_text.js';
import { sealStage, sealState } from './format.js';
import { translator } from './i18n.js';
import messages from './lang/seals.js';
import { getMove, moveVehicles } from './moves.js';
import { can } from './roles.js';
import { checkpointBody, isAlarming, SEAL_STATES, sealListBody, SENSITIVITIES, STAGES, stateCounts } from './seal_form.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * A sealed item (`GET /api/v1/moves/{id}/seals`).
 * @typedef {{ id: string, label: string, number: string, contents: string, sensitivity: string,
 *   vehicle: string | null, checked: boolean }} Seal
 */

/**
 * A checkpoint (`GET /api/v1/moves/{id}/checkpoints`).
 * @typedef {{ id: number, stage: string, vehicle: string | null, at: string, by: string,
 *   note: string | null, fix: { t: string, seq: number, lat: number, lon: number } | null,
 *   seals: { seal_id: string, number: string, label: string, state: string, note: string | null }[] }} Checkpoint
 */

/** @param {string} sensitivity */
const sensitivityName = (sensitivity) =>
  SENSITIVITIES.includes(sensitivity) ? t(`seals.sensitivity_${sensitivity}`) : sensitivity;

/**
 * @param {HTMLElement} container
 * @param {import('./main.js').Context} ctx
 * @param {string[]} params
 */
export async function mountSeals(container, ctx, params) {
  const { me } = ctx;
  const id = params[0] || '';
  const message = messageLine();
  const page = el('section', { class: 'page seals-view' });
  container.append(page);
  let move;
  try {
    move = await getMove(id);
  } catch (e) {
    replace(page, el('h1', { text: t('seals.no_move') }), el('p', { class: 'message error', text: errorText(e) }));
    return () => replace(container);
  }
  const zone = move.time_zone;
  const open = move.state === 'planned' || move.state === 'running';
  const vehicles = moveVehicles(move);
  const listSlot = el('div', { class: 'seal-list' });
  const recordSlot = el('div', { class: 'record-checkpoint' });
  const checkpointList = el('ol', { class: 'checkpoints' });
  replace(page,
    el('h1', { text: t('seals.title', { name: move.name }) }),
    open ? null : el('p', { class: 'closed', text: t('seals.closed') }),
    message.node,
    el('h2', { text: t('seals.list') }), listSlot,
    recordSlot,
    el('h2', { text: t('seals.checkpoints') }), checkpointList);

  /** @type {Seal[]} */
  let seals = [];

  async function load() {
    /** @type {{ seals: Seal[] }} */
    const list = await api.get(`/api/v1/moves/${seg(id)}/seals`);
    /** @type {{ checkpoints: Checkpoint[] }} */
    const checked = await api.get(`/api/v1/moves/${seg(id)}/checkpoints`);
    seals = list.seals;
    replace(listSlot, open && can(me, 'plan') ? listForm() : listTable());
    replace(recordSlot, open && can(me, 'checkpoints') && seals.length ? recordForm() : null);
    replace(checkpointList, checked.checkpoints.length
      ? checked.checkpoints.slice().reverse().map(checkpointItem)
      : el('li', { class: 'none', text: t('seals.no_checkpoints') }));
  }

  /** The list as read. */
  function listTable() {
    if (!seals.length) return el('p', { class: 'none', text: t('seals.none') });
    return el('table', { class: 'seals' },
      el('thead', {}, el('tr', {}, ['label', 'number', 'contents', 'sensitivity', 'vehicle'].map((c) => el('th', { text: t(`seals.col_${c}`) })))),
      el('tbody', {}, seals.map((s) => el('tr', { data: { seal: s.id } },
        el('td', { text: s.label }), el('td', {}, el('code', { text: s.number })), el('td', { text: s.contents }),
        el('td', { text: sensitivityName(s.sensitivity) }), el('td', { text: s.vehicle || t('seals.no_vehicle') })))));
  }

  /** The list as a planner edits it: a row of fields per item, rows added and removed, saved whole. */
  function listForm() {
    const rows = el('div', { class: 'seal-rows' });
    /** @param {Partial<Seal>} seal */
    const addRow = (seal) => {
      const input = (/** @type {string} */ name, /** @type {string} */ value, /** @type {number} */ max) =>
        el('input', { name, value, maxlength: max, 'aria-label': t(`seals.col_${name}`) });
      const sensitivity = select(SENSITIVITIES.map((s) => /** @type {[string, string]} */ ([s, sensitivityName(s)])), { name: 'sensitivity', 'aria-label': t('seals.col_sensitivity') });
      sensitivity.value = seal.sensitivity || 'normal';
      const vehicle = select([['', t('seals.no_vehicle')], ...vehicles.map((v) => /** @type {[string, string]} */ ([v, v]))], { name: 'vehicle', 'aria-label': t('seals.col_vehicle') });
      vehicle.value = seal.vehicle || '';
      const row = el('div', { class: 'seal-row', data: { seal: seal.id || '' } },
        field(t('seals.col_label'), input('label', seal.label || '', 200)),
        field(t('seals.col_number'), input('number', seal.number || '', 100)),
        field(t('seals.col_contents'), input('contents', seal.contents || '', 1000)),
        field(t('seals.col_sensitivity'), sensitivity),
        field(t('seals.col_vehicle'), vehicle),
        seal.checked
          ? el('small', { class: 'kept', text: t('seals.checked') })
          : el('button', { type: 'button', class: 'remove-seal', text: t('seals.remove'), on: { click: () => row.remove() } }));
      rows.append(row);
    };
    for (const seal of seals) addRow(seal);
    if (!seals.length) addRow({});
    const form = el('form', {
      class: 'seal-list-form',
      on: { submit: (/** @type {Event} */ e) => { e.preventDefault(); void save(); } },
    }, rows, el('p', { class: 'actions' },
      el('button', { type: 'button', class: 'add-seal', text: t('seals.add'), on: { click: () => addRow({}) } }), ' ',
      el('button', { type: 'submit', class: 'save-seals', text: t('seals.save') })));

    async function save() {
      const value = (/** @type {Element} */ row, /** @type {string} */ name) =>
        /** @type {HTMLInputElement} */ (row.querySelector(`[name="${name}"]`)).value;
      const body = sealListBody([...rows.querySelectorAll('.seal-row')].map((row) => ({
        id: /** @type {HTMLElement} */ (row).dataset.seal || undefined,
        label: value(row, 'label'), number: value(row, 'number'), contents: value(row, 'contents'),
        sensitivity: value(row, 'sensitivity'), vehicle: value(row, 'vehicle'),
      })));
      message.clear();
      try {
        await api.put(`/api/v1/moves/${seg(id)}/seals`, body);
        message.ok(t('seals.saved'));
      } catch (e) {
        message.error(t('seals.not_saved', { why: errorText(e) }));
        return;
      }
      await load();
    }
    return form;
  }

  /** Recording a checkpoint: the stage, the vehicle, each seal's state and note, a note. */
  function recordForm() {
    const stage = select(STAGES.map((s) => /** @type {[string, string]} */ ([s, sealStage(s)])), { name: 'stage', 'aria-label': t('seals.stage') });
    const vehicle = select([['', t('seals.any_vehicle')], ...vehicles.map((v) => /** @type {[string, string]} */ ([v, v]))], { name: 'vehicle', 'aria-label': t('seals.vehicle') });
    if (vehicles.length) vehicle.value = vehicles[0];
    const note = el('textarea', { name: 'note', maxlength: 1000, rows: 2, 'aria-label': t('seals.note') });
    const perSeal = seals.map((seal) => {
      const choices = ['', ...SEAL_STATES].map((state) => el('label', { class: `seal-state ${state || 'unseen'}` },
        el('input', { type: 'radio', name: `state-${seal.id}`, value: state, checked: state === '' }),
        ' ', state ? sealState(state) : t('seals.not_seen')));
      const sealNote = el('input', { name: `note-${seal.id}`, maxlength: 1000, placeholder: t('seals.seal_note', { number: seal.number }), 'aria-label': t('seals.seal_note', { number: seal.number }) });
      return el('fieldset', { class: 'seal-seen', data: { seal: seal.id } },
        el('legend', {}, el('code', { text: seal.number }), ' ', seal.label),
        el('div', { class: 'seal-states' }, choices), sealNote);
    });
    const form = el('form', {
      class: 'checkpoint-form',
      on: { submit: (/** @type {Event} */ e) => { e.preventDefault(); void record(); } },
    }, el('h2', { text: t('seals.record') }),
    field(t('seals.stage'), stage), field(t('seals.vehicle'), vehicle), perSeal,
    field(t('seals.note'), note),
    el('p', { class: 'actions' }, el('button', { type: 'submit', class: 'record', text: t('seals.submit') })));

    async function record() {
      const body = checkpointBody({
        stage: stage.value, vehicle: vehicle.value, note: note.value,
        seen: seals.map((seal) => ({
          seal_id: seal.id,
          state: /** @type {HTMLInputElement | null} */ (form.querySelector(`input[name="state-${CSS.escape(seal.id)}"]:checked`))?.value || '',
          note: /** @type {HTMLInputElement} */ (form.querySelector(`input[name="note-${CSS.escape(seal.id)}"]`)).value,
        })),
      });
      message.clear();
      if (!body.seals.length) { message.error(t('seals.pick_one')); return; }
      try {
        /** @type {Checkpoint} */
        const recorded = await api.post(`/api/v1/moves/${seg(id)}/checkpoints`, body);
        message.ok(t(isAlarming(recorded) ? 'seals.recorded_alarm' : 'seals.recorded'));
      } catch (e) {
        message.error(t('seals.not_recorded', { why: errorText(e) }));
        return;
      }
      await load();
    }
    return form;
  }

  /**
   * A checkpoint as a list item: stage, time, who, where, and each seal's state.
   * @param {Checkpoint} c
   */
  function checkpointItem(c) {
    const counts = stateCounts(c);
    const place = c.vehicle
      ? (c.fix
        ? t('seals.at_position', { vehicle: c.vehicle, lat: c.fix.lat.toFixed(5), lon: c.fix.lon.toFixed(5), time: when(c.fix.t, zone) })
        : t('seals.no_position', { vehicle: c.vehicle }))
      : null;
    return el('li', { class: `checkpoint${isAlarming(c) ? ' alarming' : ''}`, data: { stage: c.stage } },
      el('strong', { text: t('seals.checkpoint_line', { stage: sealStage(c.stage), at: when(c.at, zone), by: c.by }) }),
      place ? el('div', { class: 'place', text: place }) : null,
      el('div', { class: 'counts', text: t('seals.counts', counts) }),
      el('ul', { class: 'seen' }, c.seals.map((s) => el('li', { class: `seen-seal ${s.state}`, data: { state: s.state } },
        el('code', { text: s.number }), ` ${s.label}: `, el('span', { class: 'state', text: sealState(s.state) }),
        s.note ? ` — ${s.note}` : null))),
      c.note ? el('p', { class: 'note', text: c.note }) : null);
  }

  await load();
  return () => replace(container);
}
