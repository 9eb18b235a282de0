// Vehicle labels stay inside the map (tests/browser_cases/labels.rs): the map is dragged until
// the vehicle sits by its right edge, then by its bottom edge, and each time the label's box
// must be inside the map's. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, vehicle, shots_dir, download_dir, report_path}

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

const marker = () => page.locator(`.leaflet-marker-pane .vehicle[data-vehicle="${config.vehicle}"]`);

/** Drags the map so the marker's centre ends at (x, y) in the page, and reports the boxes. */
async function dragMarkerTo(x, y, name) {
  const box = await marker().boundingBox();
  const from = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  // Grab the map beside the marker (grabbing the marker would open its popup).
  const grab = { x: from.x - 40, y: from.y - 40 };
  await page.mouse.move(grab.x, grab.y);
  await page.mouse.down();
  await page.mouse.move(grab.x + (x - from.x), grab.y + (y - from.y), { steps: 12 });
  // Held still before letting go, so Leaflet's inertia does not carry the map further.
  await page.waitForTimeout(300);
  await page.mouse.up();
  // The label is placed when the map's move ends.
  await page.waitForTimeout(300);
  await screenshot(`labels-${name}`);
  const map = await page.locator('.view-live .live-map').boundingBox();
  const label = await marker().locator('.vehicle-label').boundingBox();
  const after = await marker().boundingBox();
  return {
    map, label,
    marker_x: after.x + after.width / 2,
    marker_y: after.y + after.height / 2,
    label_left: await marker().locator('.vehicle-label').evaluate((l) => l.classList.contains('left')),
  };
}

const steps = {
  async live() {
    await page.goto(config.base);
    await logIn(config.admin);
    await marker().waitFor();
    await screenshot('labels-live');
    const map = await page.locator('.view-live .live-map').boundingBox();
    const middle = await dragMarkerTo(map.x + map.width / 2, map.y + map.height / 2, 'middle');
    const right = await dragMarkerTo(map.x + map.width - 8, map.y + map.height / 2, 'right');
    const bottom = await dragMarkerTo(map.x + map.width / 2, map.y + map.height - 6, 'bottom');
    return { middle, right, bottom };
  },
};

await runSteps(steps);
