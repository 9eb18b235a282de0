// @ts-check
// The page's texts for its alerts part, in English and Simplified Chinese (see i18n.js).

/** @type {import('../i18n.js').Catalogue} */
export default {
  en: {},
  'zh-CN': {},
};
