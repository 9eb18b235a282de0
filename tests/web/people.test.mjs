// The People view's and the password form's pure parts (gateway/web/js/people.js,
// password.js): which actions ask first, what the list says of a last login, and what the
// form refuses before sending (the server checks again).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { confirmation, lastLogin, ROLES } from '../../gateway/web/js/people.js';
import { newPasswordProblem } from '../../gateway/web/js/password.js';

test('every action that takes something away asks first, naming the person', () => {
  for (const action of /** @type {const} */ (['role', 'disable', 'reset', 'end'])) {
    const question = confirmation(action, 'pat', 'escort');
    assert.ok(question && question.includes('pat'), `${action}: ${question}`);
  }
  assert.match(confirmation('role', 'pat', 'auditor') ?? '', /pat auditor/);
  assert.match(confirmation('reset', 'pat') ?? '', /shown once/);
  assert.equal(confirmation('enable', 'pat'), null, 'enabling takes nothing away');
});

test('the roles offered are the server\'s four', () => {
  assert.deepEqual(ROLES, ['admin', 'dispatcher', 'escort', 'auditor']);
});

test('a person who never logged in is shown as never', () => {
  const person = { name: 'pat', role: 'escort', disabled: false, created_at: '2026-11-28T09:00:00Z', last_login_at: null };
  assert.equal(lastLogin(person), 'never');
  assert.notEqual(lastLogin({ ...person, last_login_at: '2026-11-28T10:00:00Z' }), 'never');
});

test('a new password is refused before sending as the server would refuse it', () => {
  assert.match(newPasswordProblem('eleven char', 'eleven char') ?? '', /12 characters/);
  assert.equal(newPasswordProblem('twelve chars', 'twelve chars'), null);
  assert.equal(newPasswordProblem('é'.repeat(512), 'é'.repeat(512)), null, '1,024 bytes is the most');
  assert.match(newPasswordProblem('é'.repeat(513), 'é'.repeat(513)) ?? '', /1,024 bytes/);
  assert.match(newPasswordProblem('twelve chars', 'twelve charz') ?? '', /differ/);
});
