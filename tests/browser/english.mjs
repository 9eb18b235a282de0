// The check of a view in Chinese: no English word left in what a person sees. Words people
// typed (vehicle ids, move names, user names) and the names no translation changes (Convoy,
// OpenStreetMap, file formats, IANA time zones) are allowed; everything else made of Latin
// letters is reported, so a string the catalogue forgot fails the test that walks the view.

import { page } from './harness.mjs';

/** Names shown as they are in every language. */
const ALWAYS_ALLOWED = [
  'Convoy', 'OpenStreetMap', 'Leaflet', 'GPX', 'KML', 'CSV', 'GeoJSON', 'JSON', 'UTC', 'GMT', 'NMEA', 'GNSS', 'GPS',
  'MQTT', 'OwnTracks', 'English', 'km/h', 'km', 'ms',
];

/**
 * The English words in the page's visible text (`document.body.innerText`, which leaves out
 * what is hidden), after removing `allowed` (whole tokens such as `truck-01`) and the names above.
 * IANA zone names (`Europe/Berlin`) and ids of the form `m20261207-…` are allowed too.
 * @param {string[]} allowed
 * @returns {Promise<string[]>} each word left, once
 */
export async function englishWords(allowed = []) {
  const text = await page.evaluate(() => document.body.innerText);
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
  const words = rest.match(/[A-Za-z]{2,}/g) || [];
  return [...new Set(words)];
}
