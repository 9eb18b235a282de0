// A move's times in its own zone (tests/browser_cases/time_zone.rs): the browser runs in
// another zone (CONFIG.timezone_id, harness.mjs), and the moves list, the move report and the
// edit form still show the move's times in the move's zone, and name it.
//
// CONFIG: {base, admin: {user, password}, timezone_id, shanghai: {id}, utc: {id},
//          shots_dir, report_path}

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

const row = (/** @type {string} */ id) => page.locator(`table.moves tr[data-move="${id}"]`);

/** What a move's row shows of its times. */
async function times(/** @type {string} */ id) {
  const r = row(id);
  return {
    window: await r.locator('td.window').textContent(),
    zone: await r.locator('.time-zone').textContent(),
    created: await r.locator('td').nth(5).textContent(),
  };
}

const steps = {
  async moves() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live').waitFor();
    await page.goto(`${config.base}#/moves`);
    await row(config.shanghai.id).waitFor();
    await screenshot('moves');
    return {
      // Where the browser itself is: not the move's zone.
      browser_zone: await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
      shanghai: await times(config.shanghai.id),
      utc: await times(config.utc.id),
    };
  },

  async report() {
    await page.goto(`${config.base}#/report/${encodeURIComponent(config.shanghai.id)}`);
    await page.locator('.report .time-zone').waitFor();
    await screenshot('report', { fullPage: true });
    return {
      meta: await page.locator('.report p.meta').first().textContent(),
      zone: await page.locator('.report .time-zone').textContent(),
    };
  },

  async edit() {
    await page.goto(`${config.base}#/edit/${encodeURIComponent(config.shanghai.id)}`);
    const input = page.locator('form.plan-edit input[name=time_zone]');
    await input.waitFor();
    return {
      value: await input.inputValue(),
      disabled: await input.isDisabled(),
      offered: await page.locator('form.plan-edit datalist option[value="Asia/Shanghai"]').count(),
      // The window's end as the form writes it: a wall time in the move's zone, not New York's.
      to: await page.locator('form.plan-edit input[name=to]').inputValue(),
    };
  },

  async extend() {
    // A Shanghai wall time typed in New York: read in the move's zone.
    await page.locator('form.plan-edit input[name=to]').fill(config.new_to);
    await page.locator('form.plan-edit button[type=submit]').click();
    await page.locator('.page .message.ok, .page .message.error').waitFor();
    await screenshot('time-zone-extended');
    return { ok: await page.locator('.page .message.ok').count(), message: await page.locator('.page .message').textContent() };
  },
};

await runSteps(steps);
