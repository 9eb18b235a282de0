// The page's message catalogues (gateway/web/js/lang/*.js) and the language choice
// (gateway/web/js/i18n.js): every key has a non-empty text in both languages with the same
// placeholders, so the page never shows an empty string or a key.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chooseLanguage, LANGUAGES, setLanguage, translator } from '../../gateway/web/js/i18n.js';

const LANG_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../gateway/web/js/lang');

/** @param {string} text */
const placeholders = (text) => (text.match(/\{\w+\}/g) || []).sort();

test('every catalogue has every key in both languages, non-empty, with the same placeholders', async () => {
  const files = fs.readdirSync(LANG_DIR).filter((f) => f.endsWith('.js'));
  for (const file of files) {
    const catalogue = (await import(path.join(LANG_DIR, file))).default;
    const keys = new Set(LANGUAGES.flatMap((l) => Object.keys(catalogue[l] || {})));
    for (const key of keys) {
      for (const lang of LANGUAGES) {
        const text = catalogue[lang][key];
        assert.ok(typeof text === 'string' && text.trim() !== '', `${file}: ${key} has no ${lang} text`);
      }
      assert.deepEqual(placeholders(catalogue['zh-CN'][key]), placeholders(catalogue.en[key]), `${file}: ${key}'s placeholders differ`);
    }
  }
});

test('the language is the saved one, else the browser first known, else English', () => {
  assert.equal(chooseLanguage('zh-CN', ['en-GB']), 'zh-CN');
  assert.equal(chooseLanguage('fr', ['zh-CN', 'en']), 'zh-CN');
  assert.equal(chooseLanguage(null, ['zh']), 'zh-CN');
  assert.equal(chooseLanguage(null, ['zh-Hans-CN']), 'zh-CN');
  assert.equal(chooseLanguage(null, ['zh-TW', 'en-US']), 'en');
  assert.equal(chooseLanguage(null, ['de-DE', 'fr']), 'en');
  assert.equal(chooseLanguage(undefined, []), 'en');
});

test('a translator fills placeholders, falls back to English, then to the key', () => {
  const t = translator({ en: { hello: 'Hello {name}', only_en: 'Only English' }, 'zh-CN': { hello: '你好 {name}' } });
  setLanguage('zh-CN');
  assert.equal(t('hello', { name: 'truck-01' }), '你好 truck-01');
  assert.equal(t('only_en'), 'Only English');
  assert.equal(t('missing'), 'missing');
  setLanguage('en');
  assert.equal(t('hello', { name: 'A' }), 'Hello A');
});
