// @ts-check
// Vehicles' colours: the same vehicle keeps its colour on every view of a session, and no two
// vehicles share one while there are colours left (escort-1 and truck-02 once hashed to the
// same one: on the map, two trucks one cannot tell apart).

/** Colours told apart on a map, and from the route (#3949ab) and the zones' colours. */
export const VEHICLE_COLOURS = ['#d81b60', '#00897b', '#f4511e', '#5e35b1', '#6d4c41', '#039be5', '#7cb342', '#8e24aa'];

/** The colour each vehicle got, in the order they were first drawn. */
const given = new Map();

/**
 * A vehicle's colour: the one it got before, else the first colour nobody has from the slot its
 * id hashes to (so the colours do not depend only on the order vehicles appear), else, with
 * every colour taken, the hashed slot's.
 * @param {string} id
 * @returns {string}
 */
export function vehicleColour(id) {
  const known = given.get(id);
  if (known) return known;
  let hash = 0;
  // One code point per character: codePointAt(0) is never undefined here.
  for (const c of String(id)) hash = (hash * 31 + /** @type {number} */ (c.codePointAt(0))) >>> 0;
  const taken = new Set(given.values());
  const start = hash % VEHICLE_COLOURS.length;
  let colour = VEHICLE_COLOURS[start];
  for (let step = 0; step < VEHICLE_COLOURS.length; step += 1) {
    const candidate = VEHICLE_COLOURS[(start + step) % VEHICLE_COLOURS.length];
    if (!taken.has(candidate)) {
      colour = candidate;
      break;
    }
  }
  given.set(id, colour);
  return colour;
}
