// An auditor's view of the page (tests/browser.rs): logged in through the form, they are
// offered the record — moves, replay, exports, reports, the audit log — and nothing live: no
// live map (so no live feed and no alert to acknowledge, though one is open), no planning of
// moves, not even by typing the address. They open a replay, download an export, read the
// report and their own entries in the audit log. See harness.mjs for how the script and the
// test talk.
//
// CONFIG: {base, auditor: {user, password}, move_id, move_name, past_vehicle, detour_vehicle,
//          alert_id, shots_dir, download_dir, report_path}

import path from 'node:path';

import { config, exportFile, logIn, page, runSteps, screenshot } from './harness.mjs';

/** Controls of the live map and its alert panel, wherever the page is: all absent for an auditor. */
const liveControls = async () => ({
  live_maps: await page.locator('.live-map').count(),
  connection_lines: await page.locator('.connection').count(),
  alert_panels: await page.locator('.alert-panel').count(),
  ack_buttons: await page.locator('button.ack').count(),
  resolve_buttons: await page.locator('button.resolve').count(),
  note_fields: await page.locator('textarea[name=note]').count(),
  setup_forms: await page.locator('form.setup-form').count(),
});

/** Goes to `hash` as if typed into the address bar; returns where the page ended up. */
async function typeAddress(hash) {
  await page.goto(`${config.base}${hash}`);
  await page.waitForFunction(() => location.hash === '#/moves' && document.querySelector('table.moves tbody tr[data-move]'));
  return page.evaluate(() => location.hash);
}

const moveRow = () => page.locator(`table.moves tbody tr[data-move="${config.move_id}"]`);

const steps = {
  async login() {
    await page.goto(config.base);
    await logIn(config.auditor);
    await moveRow().waitFor();
    await screenshot('auditor-moves');
    return {
      hash: await page.evaluate(() => location.hash),
      who: await page.locator('.top .who').textContent(),
      nav: await page.locator('.top .nav a').allTextContents(),
      // An alert is open, but the auditor's page keeps no alert book: no badge.
      badge_visible: await page.locator('.top .alert-badge').isVisible(),
      move_name: await moveRow().locator('td').first().textContent(),
      move_links: await moveRow().locator('td.links a').allTextContents(),
      plan_links: await page.locator('a[href="#/setup"]').count(),
      ...(await liveControls()),
    };
  },

  async no_live_map() {
    const landed = await typeAddress('#/live');
    await screenshot('auditor-live-refused');
    return { landed, ...(await liveControls()) };
  },

  async no_move_setup() {
    const landed = await typeAddress('#/setup');
    return { landed, ...(await liveControls()) };
  },

  async replay() {
    await moveRow().locator('td.links a', { hasText: 'Replay' }).click();
    await page.locator('.replay .slider:not([disabled])').waitFor();
    const alertMark = page.locator(`.timeline .mark.alert[data-vehicle="${config.detour_vehicle}"]`);
    await alertMark.click();
    const at = await page.locator('section.replay').getAttribute('data-t');
    await screenshot('auditor-replay');
    return {
      hash: await page.evaluate(() => location.hash),
      message: await page.locator('.replay .message.ok').textContent(),
      alert_marks: await alertMark.count(),
      at_alert: at,
      markers: await page.locator('.replay-map .leaflet-marker-pane .vehicle').evaluateAll((nodes) => nodes.map((n) => n.dataset.vehicle).sort()),
      play_enabled: await page.locator('.replay button.play').isEnabled(),
      ...(await liveControls()),
    };
  },

  async exports() {
    await page.locator('.top .nav a', { hasText: 'Exports' }).click();
    const buttons = page.locator('.exports .export-buttons button');
    await page.locator('.exports .export-buttons button:not([disabled])').first().waitFor();
    const shown = {
      buttons: await buttons.allTextContents(),
      enabled: await buttons.evaluateAll((nodes) => nodes.map((b) => !b.disabled)),
      vehicle: await page.inputValue('.exports select.vehicle-picker'),
    };
    // Every vehicle of the move in one file; the test reads it.
    const { text, ...saved } = await exportFile('geojson');
    // The move's evidence bundle, which an auditor may take: the test verifies it.
    const [bundle] = await Promise.all([page.waitForEvent('download'), page.click('.exports button.evidence-bundle')]);
    const evidence_file = path.join(config.download_dir, bundle.suggestedFilename());
    await bundle.saveAs(evidence_file);
    await page.locator('.exports .message.ok', { hasText: `Saved ${bundle.suggestedFilename()}.` }).waitFor();
    return { ...shown, ...saved, evidence_file, evidence_name: bundle.suggestedFilename(), ...(await liveControls()) };
  },

  async move_report() {
    await page.locator('.top .nav a', { hasText: /^Report$/ }).click();
    await page.locator('.report .report-alert').first().waitFor();
    await screenshot('auditor-report', { fullPage: true });
    return {
      name_shown: await page.locator('.report h1 .move-name').textContent(),
      alerts: await page.locator('.report .report-alert').evaluateAll((nodes) => nodes.map((n) => n.dataset.alertId)),
      print_buttons: await page.locator('.report button.print').count(),
      ...(await liveControls()),
    };
  },

  async audit_log() {
    await page.locator('.top .nav a', { hasText: 'Audit log' }).click();
    await page.locator('.audit tbody tr').first().waitFor();
    // Their own entries: what this session did.
    await page.fill('.audit input[name=actor]', config.auditor.user);
    await page.click('.audit form button[type=submit]');
    await page.waitForFunction((user) => {
      const actors = [...document.querySelectorAll('.audit tbody td.actor')].map((td) => td.textContent);
      return actors.length > 0 && actors.every((a) => a === user);
    }, config.auditor.user);
    await screenshot('auditor-audit-log');
    return {
      actions: await page.locator('.audit tbody td.action').allTextContents(),
      actors: await page.locator('.audit tbody td.actor').allTextContents(),
      head: await page.locator('.audit-head').textContent(),
      ...(await liveControls()),
    };
  },
};

await runSteps(steps);
