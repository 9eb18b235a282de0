// @ts-check
// What a person reads when a request fails, in the page's language. The server answers
// `{error: sentence, reason: code}` (api.js `ApiError`): in English the page shows the server's
// sentence as it always has (it names the value refused); in another language it shows the
// catalogue's text for the reason code, else for the HTTP status, else a generic sentence with
// the code, never the server's English.

import { language, translator } from './i18n.js';
import messages from './lang/errors.js';

const t = translator(messages);

/**
 * @param {{ message?: string, status?: number, reason?: string | null } | null | undefined} error
 *   an ApiError, or whatever else was thrown
 * @returns {string}
 */
export function errorText(error) {
  const message = (error && error.message) || '';
  if (language() === 'en' && message) return message;
  const reason = error && error.reason;
  if (reason && Object.hasOwn(messages.en, `reason.${reason}`)) return t(`reason.${reason}`);
  const status = error && typeof error.status === 'number' ? error.status : null;
  // Not an answer of the server: the page's own failure, said as the browser said it.
  if (status === null) return t('unexpected', { detail: message });
  if (Object.hasOwn(messages.en, `status.${status}`)) return t(`status.${status}`);
  if (status >= 500) return t('status.5xx');
  return t('generic', { code: reason || status });
}
