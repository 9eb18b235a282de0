// Each vehicle's progress along the route on the live map (tests/browser_cases/progress.rs):
// its list entry and its popup say how far it is along, how far it has left and when it should
// arrive (an estimate), then why there is no estimate once it halts, and nothing once the move
// is ended. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, vehicle, driven_as_of, halted_as_of, shots_dir,
//          download_dir, report_path}

import { config, logIn, need, page, runSteps, screenshot } from './harness.mjs';

const progressCell = () => page.locator(`.vehicle-row[data-vehicle="${config.vehicle}"] .progress`);

/** Waits until the vehicle's entry shows the figures of the fix taken at `asOf`, in `state`. */
const showsFix = (asOf, state) => page.locator(
  `.vehicle-row[data-vehicle="${config.vehicle}"] .progress[data-as-of="${asOf}"][data-state="${state}"]`,
).waitFor();

/** The entry's line, and the popup's once the marker is clicked. */
async function figures() {
  const entry = await progressCell().textContent();
  await page.locator(`.leaflet-marker-pane .vehicle[data-vehicle="${config.vehicle}"]`).click();
  const popup = page.locator(`.leaflet-popup .vehicle-popup[data-vehicle="${config.vehicle}"] .popup-progress`);
  await popup.waitFor();
  const popupText = await popup.textContent();
  await page.locator('.leaflet-popup-close-button').click();
  return { entry, popup: popupText };
}

const steps = {
  async moving() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live .live-map').waitFor();
    await page.locator('.live .connection[data-state="open"]').waitFor();
    await need('drive');
    await showsFix(config.driven_as_of, 'on_route');
    const seen = await figures();
    await screenshot('progress-moving');
    // The page's time zone, to read the arrival's clock time as the page shows it.
    return { ...seen, utc_offset_min: await page.evaluate(() => -new Date().getTimezoneOffset()) };
  },

  async halted() {
    await need('halt');
    await showsFix(config.halted_as_of, 'stopped');
    const seen = await figures();
    await screenshot('progress-halted');
    return seen;
  },

  async ended() {
    await need('end');
    await progressCell().waitFor({ state: 'hidden' });
    await page.locator(`.leaflet-marker-pane .vehicle[data-vehicle="${config.vehicle}"]`).click();
    const popup = page.locator(`.leaflet-popup .vehicle-popup[data-vehicle="${config.vehicle}"] .popup-progress`);
    await popup.waitFor({ state: 'attached' });
    const popupText = await popup.textContent();
    await screenshot('progress-ended');
    return { entry: await progressCell().textContent(), popup: popupText };
  },
};

await runSteps(steps);
