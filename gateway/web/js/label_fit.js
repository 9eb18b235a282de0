// @ts-check
// Where a vehicle's label goes so that it stays inside the map: to the right of the marker as
// usual, to its left when the right would run past the map's edge, and moved up or down when
// the marker is near the bottom or the top (Leaflet clips what is outside the map's box).

/**
 * @typedef {object} LabelPlace
 * @property {'right' | 'left'} side which side of the marker the label is on
 * @property {number} shiftY pixels to move it down (negative: up) to keep it inside
 */

/** The label's gap from the marker's centre, in CSS px (app.css `.vehicle-label`). */
export const LABEL_GAP = 15;
/** How far above the marker's centre the label's top is, in CSS px. */
export const LABEL_TOP = 13;

/**
 * @param {{ x: number, y: number }} marker the marker's centre in the map's pixels
 * @param {{ width: number, height: number }} label the label's size
 * @param {{ width: number, height: number }} map the map's size
 * @returns {LabelPlace}
 */
export function labelPlace(marker, label, map) {
  const fitsRight = marker.x + LABEL_GAP + label.width <= map.width;
  const fitsLeft = marker.x - LABEL_GAP - label.width >= 0;
  const side = fitsRight || !fitsLeft ? 'right' : 'left';
  const top = marker.y - LABEL_TOP;
  let shiftY = 0;
  if (top < 0) shiftY = -top;
  else if (top + label.height > map.height) shiftY = map.height - (top + label.height);
  return { side, shiftY: Math.round(shiftY) };
}
