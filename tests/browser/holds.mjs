// An admin places and releases a legal hold from the page's Holds view (tests/browser.rs): a
// reversed range is refused and the refusal shown; a hold on the move (over its window) is
// placed and listed; released with a reason, the list says by whom and why. An auditor sees the
// list and no form to place or release. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, auditor: {user, password}, move_id, vehicle,
//          shots_dir, report_path}

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

const form = '.holds form.hold-form';
const rows = '.hold-list tbody tr[data-hold]';

/** Submits the form and returns the API's answer. */
async function submit() {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/holds') && r.request().method() === 'POST'),
    page.click(`${form} button[type=submit]`),
  ]);
  return { status: answer.status(), body: await answer.json() };
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live').waitFor();
    const nav = await page.locator('.top .nav a').allTextContents();
    await page.locator('.top .nav a', { hasText: 'Holds' }).click();
    await page.locator(`${form} select[name=move] option[value="${config.move_id}"]`).waitFor({ state: 'attached' });
    await screenshot('holds');
    return { nav, hash: await page.evaluate(() => location.hash), rows: await page.locator(rows).count() };
  },

  async reversed_range_refused() {
    await page.selectOption(`${form} select[name=scope]`, 'vehicle');
    await page.selectOption(`${form} select[name=vehicle]`, config.vehicle);
    await page.fill(`${form} input[name=from]`, '2026-03-02T10:00');
    await page.fill(`${form} input[name=to]`, '2026-03-01T10:00');
    await page.fill(`${form} input[name=reason]`, 'claim');
    const { status, body } = await submit();
    const error = page.locator(`${form} .message.error`);
    await error.waitFor();
    await screenshot('reversed-refused');
    return { status, reason: body.reason, message: await error.textContent(), rows: await page.locator(rows).count() };
  },

  async place_on_move() {
    await page.selectOption(`${form} select[name=scope]`, 'move');
    await page.selectOption(`${form} select[name=move]`, config.move_id);
    await page.fill(`${form} input[name=from]`, '');
    await page.fill(`${form} input[name=to]`, '');
    await page.fill(`${form} input[name=reason]`, 'accident inquiry');
    await page.fill(`${form} input[name=reference]`, 'INQ-7');
    const { status, body } = await submit();
    const row = page.locator(`${rows}[data-hold="${body.id}"]`);
    await row.waitFor();
    await screenshot('placed');
    return {
      status,
      answer: body,
      message: await page.locator(`${form} .message.ok`).textContent(),
      covers: await row.locator('td.covers').textContent(),
      state: await row.locator('td.state').textContent(),
    };
  },

  async release() {
    const row = page.locator(rows).first();
    await row.locator('input[name=release-reason]').fill('inquiry closed');
    await row.locator('button.release').click();
    await page.locator('.holds .message.ok', { hasText: 'released.' }).waitFor();
    await row.locator('td.state', { hasText: 'Released' }).waitFor();
    await screenshot('released');
    return {
      state: await row.locator('td.state').textContent(),
      release_forms: await page.locator('.holds form.release-form').count(),
    };
  },

  async auditor() {
    await page.click('header.top button.logout');
    await logIn(config.auditor);
    await page.locator('.top .nav a', { hasText: 'Holds' }).click();
    await page.locator(rows).first().waitFor();
    await screenshot('auditor');
    return {
      rows: await page.locator(rows).count(),
      state: await page.locator(`${rows} td.state`).first().textContent(),
      place_forms: await page.locator(form).count(),
      release_forms: await page.locator('.holds form.release-form').count(),
    };
  },
};

await runSteps(steps);
