// A move's seals and checkpoints on the page (tests/browser_cases/seals.rs), in two sessions:
// part "admin" lists two sealed items from the Moves list's Seals link; part "escort", on a
// phone (360x740, touch), opens Seals from the live map (below its vehicles), records loading with every
// seal intact, then unloading with one seal broken, sees both checkpoints listed, and finds
// the seal alert in the live map's alert panel. See harness.mjs for how the script and the
// test talk.
//
// CONFIG: {base, part, admin: {user, password}, escort: {user, password}, move_id, seals: [{label, number, contents, sensitivity, vehicle}],
//          viewport?, touch?, shots_dir, report_path}

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

/** Every visible control a finger may hit in the Seals view, smallest first. */
const targets = () => page.evaluate(() => {
  const found = [];
  for (const node of document.querySelectorAll('.seals-view button, .seals-view a[href], .seals-view input, .seals-view select, .seals-view textarea, .seals-view label.seal-state')) {
    // A radio button is hit through its label, which holds it.
    if (node.matches('input[type=radio]')) continue;
    const box = node.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const name = `${node.tagName.toLowerCase()}.${[...node.classList].join('.')} "${(node.textContent || node.getAttribute('aria-label') || '').trim().slice(0, 30)}"`;
    found.push({ name, width: Math.round(box.width * 10) / 10, height: Math.round(box.height * 10) / 10 });
  }
  found.sort((a, b) => Math.min(a.width, a.height) - Math.min(b.width, b.height));
  return found;
});

const overflow = () => page.evaluate(() => ({ scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth }));

/** Records a checkpoint at `stage`, each seal's state by its number; returns the API's answer. */
async function record(stage, states) {
  const form = page.locator('form.checkpoint-form');
  await form.locator('select[name=stage]').selectOption(stage);
  for (const [number, state] of Object.entries(states)) {
    const seal = form.locator('fieldset.seal-seen', { has: page.locator('legend code', { hasText: number }) });
    const choice = seal.locator(`label.seal-state.${state}`);
    if (config.touch) await choice.tap(); else await choice.click();
  }
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/v1/moves/${config.move_id}/checkpoints`) && r.request().method() === 'POST'),
    form.locator('button.record').click(),
  ]);
  await page.locator('.seals-view .message.ok').waitFor();
  return { status: answer.status(), body: await answer.json(), message: await page.locator('.seals-view .message').textContent() };
}

const adminSteps = {
  async list_two_seals() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live').waitFor();
    await page.goto(`${config.base}#/moves`);
    await page.locator(`tr[data-move="${config.move_id}"] a.seals-link`).click();
    const rows = page.locator('.seal-list-form .seal-row');
    await rows.first().waitFor();
    for (const [index, seal] of config.seals.entries()) {
      if (index > 0) await page.click('.seal-list-form button.add-seal');
      const row = rows.nth(index);
      await row.locator('input[name=label]').fill(seal.label);
      await row.locator('input[name=number]').fill(seal.number);
      await row.locator('input[name=contents]').fill(seal.contents);
      await row.locator('select[name=sensitivity]').selectOption(seal.sensitivity);
      await row.locator('select[name=vehicle]').selectOption(seal.vehicle);
    }
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/v1/moves/${config.move_id}/seals`) && r.request().method() === 'PUT'),
      page.click('.seal-list-form button.save-seals'),
    ]);
    await page.locator('.seals-view .message.ok').waitFor();
    await screenshot('admin-listed');
    return {
      hash: await page.evaluate(() => location.hash),
      status: answer.status(),
      numbers: await page.locator('.seal-list-form .seal-row input[name=number]').evaluateAll((inputs) => inputs.map((i) => i.value)),
      labels: await page.locator('.seal-list-form .seal-row input[name=label]').evaluateAll((inputs) => inputs.map((i) => i.value)),
      message: await page.locator('.seals-view .message').textContent(),
    };
  },
};

const escortSteps = {
  async open_from_the_live_map() {
    await page.goto(config.base);
    await logIn(config.escort);
    await page.locator('.view-live .live-map').waitFor();
    const link = page.locator('.live .move-seals a.seals-link');
    await link.waitFor();
    await link.tap();
    await page.locator('form.checkpoint-form').waitFor();
    await screenshot('escort-seals');
    return {
      hash: await page.evaluate(() => location.hash),
      seals: await page.locator('fieldset.seal-seen legend code').allTextContents(),
      list_forms: await page.locator('.seal-list-form').count(),
      ...(await overflow()),
      targets: await targets(),
    };
  },

  async loading_all_intact() {
    const states = Object.fromEntries(config.seals.map((s) => [s.number, 'intact']));
    const done = await record('loading', states);
    await page.locator('.checkpoints > li.checkpoint').first().waitFor();
    await screenshot('loading-recorded');
    return done;
  },

  async unloading_one_broken() {
    const [first, second] = config.seals;
    const done = await record('unloading', { [first.number]: 'broken', [second.number]: 'intact' });
    await page.locator('.checkpoints > li.checkpoint.alarming').waitFor();
    await screenshot('unloading-recorded', { fullPage: true });
    return {
      ...done,
      checkpoints: await page.locator('.checkpoints > li.checkpoint').evaluateAll((items) => items.map((li) => ({
        stage: li.dataset.stage,
        alarming: li.classList.contains('alarming'),
        line: li.querySelector('strong')?.textContent,
        states: [...li.querySelectorAll('.seen-seal')].map((s) => s.dataset.state),
      }))),
      ...(await overflow()),
    };
  },

  async the_alert_is_in_the_panel() {
    await page.goto(`${config.base}#/live`);
    const item = page.locator('.alert-panel .alert', { hasText: 'Seal broken or missing' });
    await item.first().waitFor();
    await screenshot('seal-alert');
    return { text: await item.first().textContent(), count: await item.count() };
  },
};

await runSteps(config.part === 'admin' ? adminSteps : escortSteps);
