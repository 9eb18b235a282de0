// @ts-check
// `#/password` (everyone, from the header's "Password" button): changing one's own password.
// The current one is required; the new one is checked by the server as when a person is added
// (12 characters to 1,024 bytes). This session goes on; every other session of the person ends.

import { api } from './api.js';
import { el, field, messageLine } from './dom.js';

/**
 * What is wrong with a new password before it is sent, or null: the server checks it again.
 * @param {string} password
 * @param {string} repeated
 * @returns {string | null}
 */
export function newPasswordProblem(password, repeated) {
  if ([...password].length < 12) return 'The new password needs at least 12 characters.';
  if (new TextEncoder().encode(password).length > 1024) return 'The new password may have at most 1,024 bytes.';
  if (password !== repeated) return 'The two new passwords differ.';
  return null;
}

/**
 * @param {HTMLElement} container
 */
export async function mountPassword(container) {
  const message = messageLine();
  const current = el('input', { name: 'current', type: 'password', required: true, autocomplete: 'current-password' });
  const fresh = el('input', { name: 'new', type: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
  const repeated = el('input', { name: 'repeat', type: 'password', required: true, autocomplete: 'new-password' });
  const submit = el('button', { type: 'submit', text: 'Change my password' });

  async function change() {
    message.clear();
    const problem = newPasswordProblem(fresh.value, repeated.value);
    if (problem) {
      message.error(problem);
      return;
    }
    submit.disabled = true;
    try {
      /** @type {{ revoked: number }} */
      const answer = await api.put('/api/v1/me/password', { current: current.value, new: fresh.value });
      message.ok(`Your password is changed; ${answer.revoked} other session(s) ended.`);
    } catch (e) {
      message.error(e.status === 403 ? 'Your current password is wrong.' : `Not changed: ${e.message}`);
    } finally {
      current.value = '';
      fresh.value = '';
      repeated.value = '';
      submit.disabled = false;
    }
  }

  container.append(el('section', { class: 'page password' },
    el('h1', { text: 'My password' }),
    el('form', { class: 'password-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); change(); } } },
      field('Current password', current),
      field('New password', fresh, 'At least 12 characters. Your other sessions end; this one goes on.'),
      field('New password again', repeated),
      submit, message.node)));
  return () => { container.textContent = ''; };
}
