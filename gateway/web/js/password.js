// @ts-check
// `#/password` (everyone, from the header's "Password" button): changing one's own password.
// The current one is required; the new one is checked by the server as when a person is added
// (12 characters to 1,024 bytes). This session goes on; every other session of the person ends.

import { api } from './api.js';
import { el, field, messageLine } from './dom.js';
import { formatNumber, translator } from './i18n.js';
import messages from './lang/people.js';
import { errorText } from './error_text.js';

const t = translator(messages);

/**
 * What is wrong with a new password before it is sent, or null: the server checks it again.
 * @param {string} password
 * @param {string} repeated
 * @returns {string | null}
 */
export function newPasswordProblem(password, repeated) {
  if ([...password].length < 12) return t('password.too_short');
  if (new TextEncoder().encode(password).length > 1024) return t('password.too_long');
  if (password !== repeated) return t('password.differ');
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
  const submit = el('button', { type: 'submit', text: t('password.change') });

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
      message.ok(t('password.changed', { revoked: formatNumber(answer.revoked) }));
    } catch (e) {
      message.error(e.status === 403 ? t('password.wrong') : t('password.not_changed', { why: errorText(e) }));
    } finally {
      current.value = '';
      fresh.value = '';
      repeated.value = '';
      submit.disabled = false;
    }
  }

  container.append(el('section', { class: 'page password' },
    el('h1', { text: t('password.title') }),
    el('form', { class: 'password-form', on: { submit: (/** @type {SubmitEvent} */ e) => { e.preventDefault(); change(); } } },
      field(t('password.current'), current),
      field(t('password.new'), fresh, t('password.new_hint')),
      field(t('password.again'), repeated),
      submit, message.node)));
  return () => { container.textContent = ''; };
}
