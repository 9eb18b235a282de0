// The check of a view in Chinese: no English word left in what a person sees. Words people
// typed (vehicle ids, move names, user names) and the names no translation changes (Convoy,
// OpenStreetMap, file formats, IANA time zones) are allowed; everything else made of Latin
// letters is reported, so a string the catalogue forgot fails the test that walks the view.

import { page } from './harness.mjs';

/** Names shown as they are in every language. */
const ALWAYS_ALLOWED = [
  'Convoy', 'OpenStreetMap', 'Leaflet', 'GPX', 'KML', 'CSV', 'GeoJSON', 'JSON', 'UTC', 'GMT', 'NMEA', 'GNSS', 'GPS',
  'MQTT', 'OwnTracks', 'Traccar Client', 'English', 'km/h', 'km', 'ms',
];

/**
 * The English words in the page's visible text (`innerText`, which leaves out what is hidden) of
 * the elements `selector` finds (the whole body by default; `main.view` for a view alone), after
 * removing `allowed` (whole tokens such as `truck-01`) and the names above. IANA zone names
 * (`Europe/Berlin`), ids of the form `m20261207-…` and hashes (16 hex digits or more) are
 * allowed too.
 * @param {string[]} allowed
 * @param {string} [selector]
 * @returns {Promise<string[]>} each word left, once
 */
export async function englishWords(allowed = [], selector = 'body') {
  const text = await page.evaluate((s) => [...document.querySelectorAll(s)].map((n) => /** @type {HTMLElement} */ (n).innerText).join('\n'), selector);
  return wordsLeft(text, allowed);
}

/**
 * @param {string} text
 * @param {string[]} allowed
 */
export function wordsLeft(text, allowed) {
  let rest = text;
  // Longest first, so `truck-01` goes before a shorter allowed name inside it.
  for (const name of [...allowed, ...ALWAYS_ALLOWED].sort((a, b) => b.length - a.length)) {
    rest = rest.split(name).join(' ');
  }
  rest = rest.replace(/\b[A-Z][A-Za-z_]+\/[A-Za-z_/+-]+/g, ' '); // IANA zones
  rest = rest.replace(/\bm\d{8}-[0-9a-f]+\b/g, ' '); // move ids
  rest = rest.replace(/\b[0-9a-f]{16,}\b/g, ' '); // hashes (the audit chain's head)
  const words = rest.match(/[A-Za-z]{2,}/g) || [];
  return [...new Set(words)];
}
