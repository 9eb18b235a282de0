// @ts-check
// `#/people` (admins): the people who may log in, with their role, whether disabled, when
// added and when last logged in; adding one; and on each person changing the role, disabling
// or enabling, resetting the password (the new one shown once, here only) and ending every
// session. Each action that takes something away asks first. The server refuses what would
// leave no enabled admin; its message is shown as it says it.

import { api, seg } from './api.js';
import { el, field, messageLine, replace, select } from './dom.js';
import { dateTime } from './format.js';

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
/** @type {[string, string][]} */
const ROLE_OPTIONS = ROLES.map((r) => [r, r]);

/**
 * What the list says of a person's last login.
 * @param {Person} person
 */
export function lastLogin(person) {
  return person.last_login_at ? dateTime(person.last_login_at) : 'never';
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
    case 'role': return `Make ${name} ${role}? What they may do changes at their next request.`;
    case 'disable': return `Disable ${name}? They cannot log in, and every session of theirs ends now.`;
    case 'reset': return `Reset the password of ${name}? Their password stops working and every session of theirs ends; the new one is shown once.`;
    case 'end': return `End every session of ${name}? They must log in again.`;
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
  const columns = ['Name', 'Role', 'State', 'Added', 'Last login', ''];
  const page = el('section', { class: 'page people' },
    el('h1', { text: 'People' }),
    el('p', { class: 'hint', text: 'Who may log in, and as what. Every change is in the audit log; passwords never are.' }),
    el('table', { class: 'people-list' }, el('thead', {}, el('tr', {}, columns.map((h) => el('th', { text: h })))), rows),
    listMessage.node, shownOnce);
  container.append(page);

  async function loadList() {
    /** @type {{ users: Person[] }} */
    const { users } = await api.get('/api/v1/users');
    replace(rows, users.length ? null : el('tr', {}, el('td', { colspan: columns.length, class: 'empty', text: 'No one yet.' })));
    for (const person of users) rows.append(personRow(person));
  }

  /** @param {Person} person */
  function personRow(person) {
    const role = select(ROLE_OPTIONS, { name: 'role' });
    role.value = person.role;
    const changeRole = el('button', { type: 'button', class: 'secondary change-role', text: 'Change role',
      on: { click: () => act(person, 'role', role.value) } });
    const toggle = person.disabled
      ? el('button', { type: 'button', class: 'secondary enable', text: 'Enable', on: { click: () => act(person, 'enable') } })
      : el('button', { type: 'button', class: 'secondary disable', text: 'Disable', on: { click: () => act(person, 'disable') } });
    const reset = el('button', { type: 'button', class: 'secondary reset', text: 'Reset password', on: { click: () => act(person, 'reset') } });
    const end = el('button', { type: 'button', class: 'secondary end-sessions', text: 'End sessions', on: { click: () => act(person, 'end') } });
    return el('tr', { data: { person: person.name }, class: person.disabled ? 'disabled' : 'enabled' },
      el('td', { class: 'name', text: person.name }),
      el('td', { class: 'role' }, role, changeRole),
      el('td', { class: 'state', text: person.disabled ? 'Disabled' : 'Enabled' }),
      el('td', { text: dateTime(person.created_at) }),
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
        listMessage.ok(`${person.name} is now ${role}.`);
      } else if (action === 'disable') {
        const answer = await api.post(`${path}/disable`);
        listMessage.ok(`${person.name} is disabled; ${answer.revoked} session(s) ended.`);
      } else if (action === 'enable') {
        await api.post(`${path}/enable`);
        listMessage.ok(`${person.name} is enabled.`);
      } else if (action === 'reset') {
        /** @type {{ name: string, password: string, revoked: number }} */
        const answer = await api.post(`${path}/password`);
        listMessage.ok(`${person.name} has a new password; ${answer.revoked} session(s) ended.`);
        replace(shownOnce,
          el('p', { class: 'once' }, el('strong', { text: 'Shown once: ' }),
            'give this password to the person only; it cannot be shown again (only a hash of it is kept).'),
          el('p', {}, `New password of ${answer.name}: `, el('code', { class: 'new-password', text: answer.password })));
      } else {
        const answer = await api.del(`${path}/tokens`);
        listMessage.ok(`${answer.revoked} session(s) of ${person.name} ended.`);
      }
    } catch (e) {
      listMessage.error(`Not done (${person.name}): ${e.message}`);
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
  const role = select(ROLE_OPTIONS, { name: 'role' });
  const password = el('input', { name: 'password', type: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
  const submit = el('button', { type: 'submit', text: 'Add' });

  async function add() {
    message.clear();
    submit.disabled = true;
    try {
      /** @type {Person} */
      const person = await api.post('/api/v1/users', { name: name.value.trim(), role: role.value, password: password.value });
      message.ok(`${person.name} added as ${person.role}.`);
      name.value = '';
      password.value = '';
      await added();
    } catch (e) {
      message.error(`Not added: ${e.message}`);
    } finally {
      submit.disabled = false;
    }
  }

  return el('form', { class: 'person-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); add(); } } },
    el('h2', { text: 'Add a person' }),
    el('div', { class: 'row' }, field('Name', name), field('Role', role)),
    field('Password', password, 'At least 12 characters; they can change it themselves.'),
    submit, message.node);
}
