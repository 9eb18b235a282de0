// The page on a phone and a tablet (tests/browser_cases/phone.rs): at 360x740 with a touch
// screen, an escort's live view fits the screen in one column with touch targets of at least 44x44 CSS
// px; an alert is acknowledged with a note in two taps; Follow keeps the map on a vehicle. At
// 768x1024, an admin's replay and report fit and show their controls. See harness.mjs for how
// the script and the test talk.
//
// CONFIG: {base, escort: {user, password}, admin: {user, password}, vehicle, alert_id, note, moved: {lat, lon}, move_id,
//          viewport, touch, shots_dir, download_dir, report_path}

import { config, logIn, markerAt, need, page, runSteps, screenshot } from './harness.mjs';

/** Taps made by this script: the acknowledgement must take exactly two. */
let taps = 0;
/** @param {import('playwright-core').Locator} locator */
async function tap(locator) {
  taps += 1;
  await locator.tap();
}

/** Whether the page is wider than the screen (it would scroll sideways). */
const overflow = () => page.evaluate(() => ({
  scroll_width: document.documentElement.scrollWidth,
  inner_width: window.innerWidth,
}));

/**
 * Every visible control a finger may hit — buttons, links, form fields, Leaflet's zoom
 * buttons — with its size; the smallest first. Markers on the map are left out: the list's
 * Follow button is the target for a vehicle.
 */
const targets = () => page.evaluate(() => {
  const found = [];
  for (const node of document.querySelectorAll('button, a[href], input, select, textarea, [role=button]')) {
    if (node.closest('.leaflet-marker-pane')) continue;
    const box = node.getBoundingClientRect();
    const style = getComputedStyle(node);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
    const name = `${node.tagName.toLowerCase()}.${[...node.classList].join('.')} "${(node.textContent || node.getAttribute('aria-label') || '').trim().slice(0, 30)}"`;
    found.push({ name, width: Math.round(box.width * 10) / 10, height: Math.round(box.height * 10) / 10 });
  }
  found.sort((a, b) => Math.min(a.width, a.height) - Math.min(b.width, b.height));
  return found;
});

/** The box of `selector`'s first match, in CSS px of the viewport, and the viewport's size. */
const box = (selector) => page.evaluate((s) => {
  const node = document.querySelector(s);
  if (!node) return null;
  const b = node.getBoundingClientRect();
  return { top: b.top, bottom: b.bottom, left: b.left, right: b.right, inner_width: window.innerWidth, inner_height: window.innerHeight };
}, selector);

const alertItem = () => page.locator(`.alert-panel .alert[data-alert-id="${config.alert_id}"]`);
const vehicleRow = () => page.locator(`.vehicle-row[data-vehicle="${config.vehicle}"]`);

const steps = {
  async live_fits_a_phone() {
    await page.goto(config.base);
    await logIn(config.escort);
    await page.locator('.view-live .live-map').waitFor();
    await page.locator('.live .connection[data-state="open"]').waitFor();
    await alertItem().waitFor();
    await vehicleRow().waitFor();
    await screenshot('phone-live', { fullPage: true });
    return {
      ...(await overflow()),
      targets: await targets(),
      map: await box('.live-map'),
      vehicles: await box('.side .vehicles'),
      alerts: await box('.side .alert-panel'),
      font_px: await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize)),
      nav_shown: await page.locator('.top .nav').isVisible(),
    };
  },

  async menu_opens_the_nav() {
    await page.locator('.top .menu-toggle').tap();
    await page.locator('.top .nav a[data-view="live"]').waitFor();
    await screenshot('phone-menu', { fullPage: true });
    const seen = {
      ...(await overflow()),
      expanded: await page.locator('.top .menu-toggle').getAttribute('aria-expanded'),
      nav: await page.locator('.top .nav a').allTextContents(),
      targets: await targets(),
    };
    // Choosing a view folds the menu again.
    await page.locator('.top .nav a[data-view="live"]').tap();
    await page.locator('.top .nav').waitFor({ state: 'hidden' });
    await page.locator('.live .connection[data-state="open"]').waitFor();
    await alertItem().waitFor();
    return { ...seen, expanded_after_choosing: await page.locator('.top .menu-toggle').getAttribute('aria-expanded') };
  },

  async acknowledge_with_two_taps() {
    // Touches the page itself receives, to check the script's count.
    await page.evaluate(() => {
      window.touches = 0;
      document.addEventListener('touchstart', () => { window.touches += 1; }, true);
    });
    const note = alertItem().locator('textarea[name=note]');
    await note.scrollIntoViewIfNeeded();
    await tap(note);
    const focused = await note.evaluate((n) => n === document.activeElement);
    await page.keyboard.type(config.note);
    await tap(alertItem().locator('button.ack'));
    await page.locator(`.alert-panel .alert[data-alert-id="${config.alert_id}"][data-state="acknowledged"]`).waitFor();
    await screenshot('phone-acknowledged', { fullPage: true });
    return {
      taps,
      touches: await page.evaluate(() => window.touches),
      note_focused_by_tap: focused,
      shown_note: await alertItem().locator('.alert-note').textContent(),
      message: await alertItem().locator('.alert-actions .message').textContent(),
    };
  },

  async follow_keeps_the_vehicle_centred() {
    // Scrolled to the end of the page, as after reading the alerts: the map is out of view.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    const mapBeforeTap = await box('.live-map');
    const follow = vehicleRow().locator('button.follow');
    await follow.scrollIntoViewIfNeeded();
    await follow.tap();
    const pressed = await follow.getAttribute('aria-pressed');
    const mapAfterTap = await box('.live-map');
    await need('move');
    await markerAt(config.vehicle, config.moved);
    await screenshot('phone-following');
    const centre = await page.evaluate((v) => {
      const map = document.querySelector('.live-map').getBoundingClientRect();
      const marker = document.querySelector(`.leaflet-marker-pane .vehicle[data-vehicle="${v}"]`).getBoundingClientRect();
      return {
        dx: (marker.left + marker.width / 2) - (map.left + map.width / 2),
        dy: (marker.top + marker.height / 2) - (map.top + map.height / 2),
      };
    }, config.vehicle);
    return { pressed, map_before_tap: mapBeforeTap, map_after_tap: mapAfterTap, ...centre };
  },

  async replay_fits_a_tablet() {
    await page.setViewportSize({ width: 768, height: 1024 });
    // Escorts watch live only: the admin replays and reads the report.
    await page.locator('.top .logout').tap();
    await logIn(config.admin);
    await page.locator('.view-live .live-map').waitFor();
    await page.goto(`${config.base}#/replay/${config.move_id}`);
    await page.locator('.replay .slider:not([disabled])').waitFor();
    await screenshot('tablet-replay');
    return {
      ...(await overflow()),
      load: await box('.replay .load'),
      play: await box('.replay .play'),
      slider: await box('.replay .slider'),
      map: await box('.replay-map'),
    };
  },

  async report_fits_a_tablet() {
    await page.goto(`${config.base}#/report/${config.move_id}`);
    await page.locator('.report .move-name').waitFor();
    await screenshot('tablet-report', { fullPage: true });
    return {
      ...(await overflow()),
      print: await box('.report .print'),
      map: await box('.report .report-map'),
    };
  },
};

await runSteps(steps);
