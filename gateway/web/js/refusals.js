// @ts-check
// Why the server refused a request, in the page's language. The API answers a refusal with
// `{error: English text, reason: code}` (api.js `ApiError`): in English the page shows the
// server's own text, as it always has; in Chinese a text of lang/refusals.js chosen by the
// code, or for a code the catalogue does not know a general sentence naming it. A server out of
// reach (status 0) says so.

import { language, translator } from './i18n.js';
import messages from './lang/refusals.js';

const t = translator(messages);

/**
 * Why `error` (an `ApiError`, or any Error thrown before a request) happened, to show a person.
 * @param {unknown} error
 * @returns {string}
 */
export function refusalText(error) {
  const e = /** @type {{ status?: number, reason?: string | null, message?: string }} */ (error ?? {});
  if (language() === 'en') return String(e.message ?? error);
  if (e.status === 0) return t('unreachable');
  const reason = typeof e.reason === 'string' ? e.reason : null;
  if (reason && Object.hasOwn(messages['zh-CN'], `reason.${reason}`)) return t(`reason.${reason}`);
  if (reason) return t('unknown_reason', { reason });
  return t('status', { status: e.status ?? '?' });
}
