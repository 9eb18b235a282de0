// A dispatcher ends a running move in the page's Moves view (tests/browser.rs): the list shows
// each move's state; a running move offers "End move" and a planned one "Cancel move", each with
// a reason; dismissing the confirmation changes nothing; accepting it ends the move, and the
// row then shows it ended, by whom and why, with nothing left to end. An auditor sees the
// states and no such controls. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, dispatcher: {user, password}, auditor: {user, password},
//          running: {id, name}, planned: {id, name}, reason, shots_dir, report_path}

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

const row = (/** @type {string} */ id) => page.locator(`table.moves tr[data-move="${id}"]`);

/** What a move's row shows: its state, its end, and which controls it offers. */
async function shown(/** @type {string} */ id) {
  const r = row(id);
  return {
    state: await r.locator('.move-state').textContent(),
    end: (await r.locator('.move-end').count()) ? await r.locator('.move-end').textContent() : null,
    end_buttons: await r.locator('form.stop-move.end button').count(),
    cancel_buttons: await r.locator('form.stop-move.cancel button').count(),
  };
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.dispatcher);
    await page.locator('.view-live').waitFor();
    await page.goto(`${config.base}#/moves`);
    await row(config.running.id).waitFor();
    await screenshot('moves');
    return { running: await shown(config.running.id), planned: await shown(config.planned.id) };
  },

  async dismissed() {
    let question = null;
    page.once('dialog', (dialog) => { question = dialog.message(); void dialog.dismiss(); });
    await row(config.running.id).locator('form.stop-move input[name=reason]').fill('changed my mind');
    await row(config.running.id).locator('form.stop-move button').click();
    // The list is not reloaded after a dismissal: what it shows is what the server had.
    return { question, running: await shown(config.running.id) };
  },

  async end() {
    let question = null;
    page.once('dialog', (dialog) => { question = dialog.message(); void dialog.accept(); });
    await row(config.running.id).locator('form.stop-move input[name=reason]').fill(config.reason);
    await row(config.running.id).locator('form.stop-move button', { hasText: 'End move' }).click();
    await row(config.running.id).locator('.move-state.ended').waitFor();
    await screenshot('ended');
    return {
      question,
      message: await page.locator('.page .message.ok').textContent(),
      running: await shown(config.running.id),
      planned: await shown(config.planned.id),
    };
  },

  async auditor() {
    await page.click('header.top button.logout');
    await logIn(config.auditor);
    await page.locator('.top .nav a').first().waitFor();
    await page.goto(`${config.base}#/moves`);
    await row(config.planned.id).waitFor();
    await screenshot('auditor');
    return {
      running: await shown(config.running.id),
      planned: await shown(config.planned.id),
      forms: await page.locator('form.stop-move').count(),
    };
  },
};

await runSteps(steps);
