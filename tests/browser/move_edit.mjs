// A dispatcher edits one move's plan in the page (tests/browser_cases/move_edit.rs): the Moves
// view offers "Edit"; before the move starts the whole plan is in the form, prefilled, and its
// name and corridor are changed (version 2); once it has started, the same form's change of the
// corridor is refused and the page shows why; opened again, only the end time and the team are
// open, and a later end time is saved (version 3); the versions list shows both edits with who
// made them. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, dispatcher: {user, password}, move: {id, name}, starts_at_ms, new_name,
//          new_corridor_m, shots_dir, report_path}

import { config, logIn, page, runSteps, screenshot, WAIT } from './harness.mjs';

const form = () => page.locator('form.plan-edit');
const input = (/** @type {string} */ name) => form().locator(`[name="${name}"]`);

/** The form's fields a person can change, by name. */
async function openFields() {
  return form().locator('input:not([disabled]), textarea:not([disabled])').evaluateAll(
    (nodes) => nodes.map((n) => /** @type {HTMLInputElement} */ (n).name));
}

/** The versions as listed, newest first. */
async function versions() {
  return page.locator('ol.plan-versions li').evaluateAll((items) => items.map((li) => ({
    version: Number(/** @type {HTMLElement} */ (li).dataset.version),
    by: li.querySelector('.version-by')?.textContent,
    changes: li.querySelector('.version-changes')?.textContent,
  })));
}

/**
 * A datetime-local value in the move's zone, which the edit form writes the window in: UTC,
 * the server's default, for this move that names none.
 */
function localInput(/** @type {number} */ millis) {
  return new Date(millis).toISOString().slice(0, 16);
}

async function submit() {
  await form().locator('button[type=submit]').click();
  await page.locator('.page .message.ok, .page .message.error').waitFor(WAIT);
  return page.locator('.page .message').textContent();
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.dispatcher);
    await page.locator('.view-live').waitFor();
    await page.goto(`${config.base}#/moves`);
    const row = page.locator(`table.moves tr[data-move="${config.move.id}"]`);
    await row.locator('a.edit-move').click();
    await input('name').waitFor();
    await screenshot('edit-planned');
    return {
      state: await page.locator('.plan-edit-state').textContent(),
      open_fields: await openFields(),
      name: await input('name').inputValue(),
      corridor_m: await input('corridor_m').inputValue(),
      versions: await versions(),
    };
  },

  async planned() {
    await input('name').fill(config.new_name);
    await input('corridor_m').fill(String(config.new_corridor_m));
    const message = await submit();
    await page.locator('ol.plan-versions li[data-version="2"]').waitFor(WAIT);
    await screenshot('edited-planned');
    return { message, heading: await page.locator('.page h1').textContent(), versions: await versions() };
  },

  async forbidden() {
    // The form still shows the plan as it was before the start; the move starts meanwhile.
    const wait = config.starts_at_ms + 1_000 - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);
    await input('corridor_m').fill('900');
    const message = await submit();
    await screenshot('refused');
    return { message, versions: await versions() };
  },

  async running() {
    await page.reload();
    await input('to').waitFor();
    await page.locator('.plan-edit-state', { hasText: 'running' }).waitFor(WAIT);
    const open = await openFields();
    await input('to').fill(localInput(Date.now() + 3 * 3_600_000));
    const message = await submit();
    await page.locator('ol.plan-versions li[data-version="3"]').waitFor(WAIT);
    await screenshot('edited-running');
    return { open_fields: open, message, versions: await versions() };
  },
};

await runSteps(steps);
