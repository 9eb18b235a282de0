// Vehicle administration on the page (tests/browser.rs): an admin registers a vehicle on the
// Vehicles view (its password and agent configuration shown once, the configuration
// downloaded), gives it a new password (after a confirmation; shown once), and disables it
// (after a confirmation), and reads the status history of a vehicle whose agent ran. See
// harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, vehicle, agent_vehicle, shots_dir, download_dir, report_path}

import fs from 'node:fs';
import path from 'node:path';

import { config, logIn, page, runSteps, screenshot, WAIT } from './harness.mjs';

const list = '.vehicles .vehicle-list';
const row = (id) => page.locator(`${list} tbody tr[data-vehicle="${id}"]`);
const shownOnce = '.vehicles .shown-once';

/** Accepts the next confirmation, keeping its question. */
function acceptNextDialog() {
  const asked = { question: null };
  page.once('dialog', (dialog) => { asked.question = dialog.message(); void dialog.accept(); });
  return asked;
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.top .nav a').first().waitFor();
    const nav = await page.locator('.top .nav a').allTextContents();
    await page.locator('.top .nav a', { hasText: 'Vehicles' }).click();
    await page.locator(list).waitFor();
    await screenshot('vehicles');
    return { nav, hash: await page.evaluate(() => location.hash) };
  },

  async register() {
    const form = '.vehicles form.vehicle-form';
    await page.fill(`${form} input[name=id]`, config.vehicle);
    await page.click(`${form} button[type=submit]`);
    await row(config.vehicle).waitFor();
    await page.locator(`${shownOnce} code.new-password`).waitFor();
    await screenshot('registered');
    const [download] = await Promise.all([
      page.waitForEvent('download', WAIT),
      page.click(`${shownOnce} button.download-config`),
    ]);
    const name = download.suggestedFilename();
    const file = path.join(config.download_dir, name);
    await download.saveAs(file);
    return {
      message: await page.locator(`${form} .message`).textContent(),
      password: await page.locator(`${shownOnce} code.new-password`).textContent(),
      config_shown: await page.locator(`${shownOnce} pre.agent-config`).textContent(),
      file_name: name,
      file_text: fs.readFileSync(file, 'utf8'),
      state: await row(config.vehicle).locator('td.state').textContent(),
      last_seen: await row(config.vehicle).locator('td.last-seen').textContent(),
    };
  },

  async rotate() {
    const asked = acceptNextDialog();
    await row(config.vehicle).locator('button.rotate').click();
    await page.locator('.vehicles > .message.ok').first().waitFor();
    const code = page.locator(`${shownOnce} code.new-password`);
    await code.waitFor();
    await screenshot('rotated');
    return { question: asked.question, password: await code.textContent(), once: await page.locator(`${shownOnce} .once`).textContent() };
  },

  async disable() {
    const asked = acceptNextDialog();
    await row(config.vehicle).locator('button.disable').click();
    await row(config.vehicle).locator('td.state', { hasText: 'Disabled' }).waitFor();
    await screenshot('disabled');
    return {
      question: asked.question,
      passwords_shown: await page.locator('.vehicles code.new-password').count(),
      enable_buttons: await row(config.vehicle).locator('button.enable').count(),
    };
  },

  async status() {
    await row(config.agent_vehicle).locator('button.status').click();
    const reports = page.locator('.vehicles .status-history table.status-reports tbody tr');
    await reports.first().waitFor();
    await screenshot('status-history');
    const column = (name) => reports.locator(`td.${name}`).allTextContents();
    return {
      heading: await page.locator('.vehicles .status-history h2').textContent(),
      last_heard: await page.locator('.vehicles .status-history .last-heard').textContent(),
      states: await column('state'),
      receivers: await column('receiver'),
      spools: await column('spool'),
      versions: await column('version'),
    };
  },

  async keys() {
    const before = await row(config.vehicle).locator('td.signing').textContent();
    await row(config.vehicle).locator('button.keys').click();
    const box = '.vehicles .keys';
    await page.locator(`${box} table.vehicle-keys td.empty`).waitFor();
    const empty = await page.locator(`${box} table.vehicle-keys td.empty`).textContent();
    await page.fill(`${box} input[name=public_key]`, config.public_key);
    await page.click(`${box} form.key-form button[type=submit]`);
    await page.locator(`${box} table.vehicle-keys td.key-id`).first().waitFor();
    await row(config.vehicle).locator('td.signing', { hasText: config.key_id }).waitFor();
    await screenshot('keys');
    return {
      before,
      empty,
      message: await page.locator(`${box} .message`).textContent(),
      key_ids: await page.locator(`${box} table.vehicle-keys td.key-id`).allTextContents(),
      valid_from: await page.locator(`${box} table.vehicle-keys td.valid-from`).allTextContents(),
      after: await row(config.vehicle).locator('td.signing').textContent(),
    };
  },
};

await runSteps(steps);
