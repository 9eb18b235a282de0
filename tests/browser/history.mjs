// An admin reads the alert history in the page's Alert history view (tests/browser.rs): the
// first page of 100, "More" to the end, a filter by state and note text (notes holding markup
// shown as text), and "Download CSV" of the filtered list. See harness.mjs for how the script
// and the test talk.
//
// CONFIG: {base, admin: {user, password}, shots_dir, download_dir, report_path}

import fs from 'node:fs';
import path from 'node:path';

import { config, logIn, page, runSteps, screenshot, WAIT } from './harness.mjs';

const rows = '.history-list tbody tr[data-alert]';
const more = '.history button.more';

/** Waits until the list holds `n` alerts. */
async function rowsAre(n) {
  await page.waitForFunction(([selector, n]) => document.querySelectorAll(selector).length === n, [rows, n], WAIT);
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live').waitFor();
    const nav = await page.locator('.top .nav a').allTextContents();
    await page.locator('.top .nav a', { hasText: 'Alert history' }).click();
    await rowsAre(100);
    await screenshot('history');
    return {
      nav,
      hash: await page.evaluate(() => location.hash),
      rows: await page.locator(rows).count(),
      more_visible: await page.locator(more).isVisible(),
      count: await page.locator('.history .history-count').textContent(),
      first: await page.locator(rows).first().getAttribute('data-alert'),
    };
  },

  async more() {
    await page.click(more);
    await rowsAre(130);
    await page.locator(more).waitFor({ state: 'hidden' });
    await screenshot('history-all');
    const ids = await page.locator(rows).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-alert')));
    return { rows: ids.length, distinct: new Set(ids).size, last: ids[ids.length - 1], count: await page.locator('.history .history-count').textContent() };
  },

  async filter() {
    await page.selectOption('.history select[name=state]', 'acknowledged');
    await page.fill('.history input[name=text]', 'ROADWORKS');
    await page.click('.history form.history-filters button[type=submit]');
    await rowsAre(2);
    await screenshot('history-filtered');
    return {
      ids: await page.locator(rows).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-alert'))),
      notes: await page.locator(`${rows} td.note`).allTextContents(),
      images: await page.locator('.history-list img').count(),
      xss: await page.evaluate(() => Boolean(/** @type {any} */ (window).__convoy_xss)),
      more_visible: await page.locator(more).isVisible(),
    };
  },

  async download() {
    const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('.history button.csv')]);
    const name = download.suggestedFilename();
    const file = path.join(config.download_dir, name);
    await download.saveAs(file);
    await page.locator('.history .message.ok', { hasText: `Saved ${name}.` }).waitFor();
    await screenshot('history-csv');
    return { file_name: name, text: fs.readFileSync(file, 'utf8') };
  },
};

await runSteps(steps);
