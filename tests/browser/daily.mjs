// An admin reads the daily report in the page's Daily report view (tests/browser.rs): it
// opens on yesterday (UTC) with every vehicle that drove, a chosen day and vehicle show their
// row (km, h:mm, coverage, alerts by kind), an unknown vehicle gets the server's reason, and
// "Download CSV" saves the same rows. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, day, vehicle, shots_dir, download_dir, report_path}

import fs from 'node:fs';
import path from 'node:path';

import { config, logIn, page, runSteps, screenshot, WAIT } from './harness.mjs';

const rows = '.daily-list tbody tr[data-vehicle]';

/** Each row's cells, as text. */
async function table() {
  return page.locator(rows).evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live').waitFor();
    const nav = await page.locator('.top .nav a').allTextContents();
    await page.locator('.top .nav a', { hasText: 'Daily report' }).click();
    await page.locator('.daily .daily-span:not(:empty)').waitFor(WAIT);
    await screenshot('daily');
    return {
      nav,
      hash: await page.evaluate(() => location.hash),
      day: await page.inputValue('.daily input[name=day]'),
      span: await page.locator('.daily .daily-span').textContent(),
      headers: await page.locator('.daily-list thead th').allTextContents(),
      rows: await table(),
      empty: await page.locator('.daily-list td.empty').allTextContents(),
    };
  },

  async choose() {
    await page.fill('.daily input[name=day]', config.day);
    await page.fill('.daily input[name=vehicle]', config.vehicle);
    await page.click('.daily form.daily-form button[type=submit]');
    await page.locator('.daily .daily-span', { hasText: config.day }).waitFor(WAIT);
    await page.locator(rows).first().waitFor(WAIT);
    await screenshot('daily-day');
    return {
      span: await page.locator('.daily .daily-span').textContent(),
      rows: await table(),
    };
  },

  async unknown() {
    await page.fill('.daily input[name=vehicle]', 'truck-nobody');
    await page.click('.daily form.daily-form button[type=submit]');
    const error = page.locator('.daily .message.error');
    await error.waitFor(WAIT);
    return { message: await error.textContent(), rows: await page.locator(rows).count() };
  },

  async download() {
    await page.fill('.daily input[name=vehicle]', '');
    const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('.daily button.csv')]);
    const name = download.suggestedFilename();
    const file = path.join(config.download_dir, name);
    await download.saveAs(file);
    await page.locator('.daily .message.ok', { hasText: `Saved ${name}.` }).waitFor();
    await screenshot('daily-csv');
    return { file_name: name, text: fs.readFileSync(file, 'utf8') };
  },
};

await runSteps(steps);
