// @ts-check
// `#/people` (admins): the people who may log in, with their role, whether disabled, when
// added and when last logged in; adding one; and on each person changing the role, disabling
// or enabling, resetting the password (the new one shown once, here only) and ending every
// session. Each action that takes something away asks first. The server refuses what would
// leave no enabled admin; its message is shown as it says it.

import { api, seg } from './api.js';
import { el, field, messageLine, replace, select } from './dom.js';
import { formatNumber, translator } from './i18n.js';
import messages from './lang/people.js';
import { errorText } from './error_text.js';
import { when } from './when.js';

const t = translator(messages);

/**
 * A person (`GET /api/v1/users`).
 * @typedef {object} Person
 * @property {string} name
 * @property {string} role
 * @property {boolean} disabled
 * @property {string} created_at
 * @property {string | null} last_login_at
 */

/** The roles, as the server names them. */
export const ROLES = ['admin', 'dispatcher', 'escort', 'auditor'];
/**
 * A role in words (in English its name, as the server spells it).
 * @param {string} role
 */
export function roleName(role) {
  return ROLES.includes(role) ? t(`people.role_${role}`) : role;
}

/** @returns {[string, string][]} */
const roleOptions = () => ROLES.map((r) => [r, roleName(r)]);

/**
 * What the list says of a person's last login.
 * @param {Person} person
 */
export function lastLogin(person) {
  return person.last_login_at ? when(person.last_login_at) : t('people.never');
}

/**
 * The question asked before an action on a person, or null for one that takes nothing away.
 * @param {'role' | 'disable' | 'enable' | 'reset' | 'end'} action
 * @param {string} name
 * @param {string} [role] the new role, for 'role'
 * @returns {string | null}
 */
export function confirmation(action, name, role) {
  switch (action) {
    case 'role': return t('people.confirm_role', { name, role: roleName(role ?? '') });
    case 'disable': return t('people.confirm_disable', { name });
    case 'reset': return t('people.confirm_reset', { name });
    case 'end': return t('people.confirm_end', { name });
    default: return null;
  }
}

/**
 * @param {HTMLElement} container
 */
export async function mountPeople(container) {
  const listMessage = messageLine();
  const rows = el('tbody');
  const shownOnce = el('div', { class: 'shown-once' });
  const columns = [t('people.col_name'), t('people.col_role'), t('people.col_state'), t('people.col_added'), t('people.col_last_login'), ''];
  const page = el('section', { class: 'page people' },
    el('h1', { text: t('people.title') }),
    el('p', { class: 'hint', text: t('people.hint') }),
    el('table', { class: 'people-list' }, el('thead', {}, el('tr', {}, columns.map((h) => el('th', { text: h })))), rows),
    listMessage.node, shownOnce);
  container.append(page);

  async function loadList() {
    /** @type {{ users: Person[] }} */
    const { users } = await api.get('/api/v1/users');
    replace(rows, users.length ? null : el('tr', {}, el('td', { colspan: columns.length, class: 'empty', text: t('people.none') })));
    for (const person of users) rows.append(personRow(person));
  }

  /** @param {Person} person */
  function personRow(person) {
    const role = select(roleOptions(), { name: 'role' });
    role.value = person.role;
    const changeRole = el('button', { type: 'button', class: 'secondary change-role', text: t('people.change_role'),
      on: { click: () => act(person, 'role', role.value) } });
    const toggle = person.disabled
      ? el('button', { type: 'button', class: 'secondary enable', text: t('people.enable'), on: { click: () => act(person, 'enable') } })
      : el('button', { type: 'button', class: 'secondary disable', text: t('people.disable'), on: { click: () => act(person, 'disable') } });
    const reset = el('button', { type: 'button', class: 'secondary reset', text: t('people.reset'), on: { click: () => act(person, 'reset') } });
    const end = el('button', { type: 'button', class: 'secondary end-sessions', text: t('people.end_sessions'), on: { click: () => act(person, 'end') } });
    return el('tr', { data: { person: person.name }, class: person.disabled ? 'disabled' : 'enabled' },
      el('td', { class: 'name', text: person.name }),
      el('td', { class: 'role' }, role, changeRole),
      el('td', { class: 'state', text: t(person.disabled ? 'people.disabled' : 'people.enabled') }),
      el('td', { text: when(person.created_at) }),
      el('td', { class: 'last-login', text: lastLogin(person) }),
      el('td', { class: 'actions' }, toggle, reset, end));
  }

  /**
   * Does `action` to `person` after asking, says what came of it, and reloads the list.
   * @param {Person} person
   * @param {'role' | 'disable' | 'enable' | 'reset' | 'end'} action
   * @param {string} [role]
   */
  async function act(person, action, role) {
    const question = confirmation(action, person.name, role);
    if (question && !window.confirm(question)) return;
    listMessage.clear();
    replace(shownOnce);
    const path = `/api/v1/users/${seg(person.name)}`;
    try {
      if (action === 'role') {
        await api.put(`${path}/role`, { role });
        listMessage.ok(t('people.role_changed', { name: person.name, role: roleName(role ?? '') }));
      } else if (action === 'disable') {
        const answer = await api.post(`${path}/disable`);
        listMessage.ok(t('people.disabled_done', { name: person.name, revoked: formatNumber(answer.revoked) }));
      } else if (action === 'enable') {
        await api.post(`${path}/enable`);
        listMessage.ok(t('people.enabled_done', { name: person.name }));
      } else if (action === 'reset') {
        /** @type {{ name: string, password: string, revoked: number }} */
        const answer = await api.post(`${path}/password`);
        listMessage.ok(t('people.reset_done', { name: person.name, revoked: formatNumber(answer.revoked) }));
        replace(shownOnce,
          el('p', { class: 'once' }, el('strong', { text: t('people.shown_once') }), t('people.shown_once_password')),
          el('p', {}, t('people.new_password_of', { name: answer.name }), el('code', { class: 'new-password', text: answer.password })));
      } else {
        const answer = await api.del(`${path}/tokens`);
        listMessage.ok(t('people.sessions_ended', { name: person.name, revoked: formatNumber(answer.revoked) }));
      }
    } catch (e) {
      listMessage.error(t('people.not_done', { name: person.name, why: errorText(e) }));
    }
    await loadList();
  }

  page.append(addForm(loadList));
  await loadList();
  return () => replace(container);
}

/**
 * The form to add a person; `added` reloads the list.
 * @param {() => Promise<void>} added
 */
function addForm(added) {
  const message = messageLine();
  const name = el('input', { name: 'name', required: true, maxlength: 64, pattern: '[A-Za-z0-9._@\\-]+', autocomplete: 'off' });
  const role = select(roleOptions(), { name: 'role' });
  const password = el('input', { name: 'password', type: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
  const submit = el('button', { type: 'submit', text: t('people.add') });

  async function add() {
    message.clear();
    submit.disabled = true;
    try {
      /** @type {Person} */
      const person = await api.post('/api/v1/users', { name: name.value.trim(), role: role.value, password: password.value });
      message.ok(t('people.added', { name: person.name, role: roleName(person.role) }));
      name.value = '';
      password.value = '';
      await added();
    } catch (e) {
      message.error(t('people.not_added', { why: errorText(e) }));
    } finally {
      submit.disabled = false;
    }
  }

  return el('form', { class: 'person-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); add(); } } },
    el('h2', { text: t('people.add_title') }),
    el('div', { class: 'row' }, field(t('people.col_name'), name), field(t('people.col_role'), role)),
    field(t('people.password'), password, t('people.password_hint')),
    submit, message.node);
}
