// The live map when its feed drops (tests/browser.rs). The page reaches the server through the
// test's proxy, which cuts the live feed's connection on demand (as a dropped network would:
// the page sees the server go away) and turns the page's new attempts away until it is told
// to let them through. Meanwhile the vehicle reports a fix and someone else resolves the alert
// on the page. The page must say it is reconnecting, try again later each time, and once
// through show what it missed: the fix, the alert gone, and then what comes after. See
// harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, vehicle, alert_id, positions: [{lat, lon} × 3],
//          shots_dir, download_dir, report_path}

import { config, logIn, marker, markerAt, need, page, runSteps, screenshot, WAIT } from './harness.mjs';

const connection = () => page.locator('.live .connection');
const connectionIs = (state) => page.locator(`.live .connection[data-state="${state}"]`).waitFor();
const alertItem = () => page.locator(`.alert-list .alert[data-alert-id="${config.alert_id}"]`);
/** Every line the connection status showed since the live map opened, in order. */
const connectionLog = () => page.evaluate(() => window.__connectionLog);

const steps = {
  async live() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live .live-map').waitFor();
    await connectionIs('open');
    await alertItem().waitFor();
    await page.evaluate(() => {
      const node = document.querySelector('.live .connection');
      const log = [{ state: node.dataset.state, text: node.textContent }];
      window.__connectionLog = log;
      new MutationObserver(() => {
        const last = log[log.length - 1];
        if (last.state !== node.dataset.state || last.text !== node.textContent) {
          log.push({ state: node.dataset.state, text: node.textContent });
        }
      }).observe(node, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    await need('position 1');
    await markerAt(config.vehicle, config.positions[0]);
    await screenshot('live');
    return { connection: await connection().textContent(), marker: await marker(config.vehicle) };
  },

  async cut() {
    await need('cut');
    await connectionIs('closed');
    await screenshot('feed-cut');
    return { connection: await connection().textContent() };
  },

  async while_cut() {
    // A fix, and the alert resolved by someone else, while the page cannot hear of them.
    await need('while cut');
    // The page tries again, is turned away, and waits longer before its next try.
    await page.waitForFunction(() => window.__connectionLog.some((e) => e.text.includes('retrying in 2 s')), null, WAIT);
    await screenshot('feed-retrying');
    return {
      marker: await marker(config.vehicle),
      alert_listed: await alertItem().count(),
      connection: await connection().textContent(),
    };
  },

  async reconnected() {
    await need('let through');
    await connectionIs('open');
    // What happened while it was cut: the fix is shown, the resolved alert is gone.
    await markerAt(config.vehicle, config.positions[1]);
    await alertItem().waitFor({ state: 'detached' });
    await screenshot('feed-reconnected');
    return {
      connection: await connection().textContent(),
      marker: await marker(config.vehicle),
      alerts_listed: await page.locator('.alert-list .alert').count(),
      badge_visible: await page.locator('.top .alert-badge').isVisible(),
    };
  },

  async after() {
    await need('position 3');
    await markerAt(config.vehicle, config.positions[2]);
    await screenshot('feed-after');
    return { marker: await marker(config.vehicle), connection_log: await connectionLog() };
  },
};

await runSteps(steps);
