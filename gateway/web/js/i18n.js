// @ts-check
// The page's languages: English and Simplified Chinese. Every string a person reads comes from
// a catalogue (js/lang/*.js, one per part of the page, each with both languages side by side so a
// missing translation is seen where the English is written), and every date and number is
// formatted by Intl for the language. The language comes from the person's saved choice, else
// the browser's, and can be switched on the page (main.js re-renders the view).

/** @typedef {'en' | 'zh-CN'} Language */

/**
 * One part of the page's messages: for each language, text by key. A text may hold `{name}`
 * placeholders, filled from the params given to `t`.
 * @typedef {{ en: Record<string, string>, 'zh-CN': Record<string, string> }} Catalogue
 */

/** @type {Language[]} */
export const LANGUAGES = ['en', 'zh-CN'];

/** Each language's name in itself, for the switch. */
export const LANGUAGE_NAMES = { en: 'English', 'zh-CN': '中文' };

/** @type {Language} */
let current = 'en';

/** @returns {Language} the language the page speaks now */
export function language() {
  return current;
}

/**
 * Makes the page speak `lang` from now on (views already drawn are drawn again by main.js).
 * @param {Language} lang
 */
export function setLanguage(lang) {
  current = lang;
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
}

/**
 * The language to speak: the person's saved choice if it is one of ours, else the first of the
 * browser's languages that is (any `zh` but the traditional scripts reads Simplified Chinese), else
 * English.
 * @param {string | null | undefined} saved
 * @param {readonly string[]} browserLanguages `navigator.languages`
 * @returns {Language}
 */
export function chooseLanguage(saved, browserLanguages) {
  const known = LANGUAGES.find((l) => l === saved);
  if (known) return known;
  for (const tag of browserLanguages) {
    const lower = tag.toLowerCase();
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
    if (lower === 'zh' || lower.startsWith('zh-')) {
      if (/^zh-(hant|tw|hk|mo)\b/.test(lower)) continue;
      return 'zh-CN';
    }
  }
  return 'en';
}

/**
 * The `t` of one catalogue: `t('key', { name: 'truck-01' })` is the key's text in the current
 * language with its placeholders filled. A key missing in the current language falls back to
 * English, and one missing there too shows as the key itself, so the page never shows an empty
 * string (tests/web/i18n.test.mjs fails on any missing or empty text first).
 * @param {Catalogue} catalogue
 * @returns {(key: string, params?: Record<string, string | number>) => string}
 */
export function translator(catalogue) {
  return (key, params) => {
    const text = catalogue[current][key] || catalogue.en[key] || key;
    return params ? fill(text, params) : text;
  };
}

/**
 * @param {string} text
 * @param {Record<string, string | number>} params
 */
function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/**
 * A number formatted for the language (`maximumFractionDigits` and the like as Intl takes them).
 * @param {number} value
 * @param {Intl.NumberFormatOptions} [options]
 */
export function formatNumber(value, options) {
  return new Intl.NumberFormat(current, options).format(value);
}

/**
 * A date and time formatted for the language, in `timeZone` (an IANA name) or the browser's.
 * @param {number | Date} time
 * @param {Intl.DateTimeFormatOptions} options
 * @param {string} [timeZone]
 */
export function formatDate(time, options, timeZone) {
  return new Intl.DateTimeFormat(current, timeZone ? { ...options, timeZone } : options).format(time);
}
