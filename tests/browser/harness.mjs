// What the browser scripts share (run.mjs, auditor.mjs, reconnect.mjs): Debian's headless
// Chromium through playwright-core (no browser download), the page, screenshots, the report,
// and the conversation with the test that started the script.
//
//   node SCRIPT.mjs CONFIG.json
//
// CONFIG holds at least {base, shots_dir, report_path}; each script names the rest. Optional:
// `viewport` ({width, height} in CSS px; 1400x860 unless given), `touch` (true: a phone or
// tablet, with a touch screen and the page's viewport tag honoured, so `page.tap` works) and
// `timezone_id` (an IANA name: the browser runs in that time zone instead of the machine's) and
// `locale` (a BCP 47 tag such as `zh-CN`: the browser's language, `navigator.languages`).
//
// When a step needs the test to act (publish a fix, cut a connection, read the API), the
// script prints `NEED <what>` on standard output and waits for `DONE <what>` on standard input.
// Each step saves a screenshot to shots_dir. The report says what each step saw; a failed step
// is named in it with its error, with a screenshot of the page as it was.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

export const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
export const WAIT = { timeout: 60_000 };
/**
 * `page_errors`: script errors on the page (`page_error_details`: the step each happened in,
 * and its stack). `websockets`: every WebSocket the page opened, by path and the names of its query parameters
 * (their values, a ticket or a token, left out).
 */
export const report = { ok: false, steps: {}, console_errors: [], page_errors: [], page_error_details: [], websockets: [] };

const stdin = readline.createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();

/** Asks the test to do something and waits until it says it is done. */
export async function need(what) {
  process.stdout.write(`NEED ${what}\n`);
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`standard input closed while waiting for DONE ${what}`);
    if (value.trim() === `DONE ${what}`) return;
  }
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'convoy-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CONVOY_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  viewport: config.viewport || { width: 1400, height: 860 },
  hasTouch: Boolean(config.touch),
  isMobile: Boolean(config.touch),
  ...(config.timezone_id ? { timezoneId: config.timezone_id } : {}),
  ...(config.locale ? { locale: config.locale } : {}),
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
export const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(WAIT.timeout);
page.on('console', (m) => { if (m.type() === 'error') report.console_errors.push(m.text()); });
// Script errors on the page, each with the step it happened in and where.
let currentStep = null;
page.on('pageerror', (e) => {
  report.page_errors.push(e.message);
  report.page_error_details.push({ step: currentStep, stack: e.stack });
});
page.on('websocket', (ws) => {
  const url = new URL(ws.url());
  report.websockets.push({ path: url.pathname, params: [...url.searchParams.keys()] });
});

let shot = 0;
export async function screenshot(name, options = {}) {
  shot += 1;
  const file = path.join(config.shots_dir, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, ...options });
  return file;
}

/** The data attributes of a vehicle's marker on the map. */
export const marker = (vehicle) => page.evaluate((v) => {
  const node = document.querySelector(`.leaflet-marker-pane .vehicle[data-vehicle="${v}"]`);
  return node && { lat: Number(node.dataset.lat), lon: Number(node.dataset.lon), state: node.dataset.state, note: node.querySelector('.vehicle-note').textContent };
}, vehicle);

/** Waits until a vehicle's marker stands at `lat`, `lon`. */
export const markerAt = (vehicle, { lat, lon }) => page.waitForFunction(([v, lat, lon]) => {
  const node = document.querySelector(`.leaflet-marker-pane .vehicle[data-vehicle="${v}"]`);
  return node && Number(node.dataset.lat) === lat && Number(node.dataset.lon) === lon;
}, [vehicle, lat, lon], WAIT);

/** Logs in through the login form as `who` ({user, password}). */
export async function logIn(who) {
  await page.fill('input[name=username]', who.user);
  await page.fill('input[name=password]', who.password);
  await page.click('form.login button[type=submit]');
}

/**
 * On the exports page: clicks the button for `format` (gpx, csv, kml, geojson), saves what the
 * browser downloads in download_dir, and waits for the page to say it saved that file.
 */
export async function exportFile(format) {
  const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click(`.exports button.export-${format}`)]);
  const name = download.suggestedFilename();
  const file = path.join(config.download_dir, name);
  await download.saveAs(file);
  await page.locator('.exports .message.ok', { hasText: `Saved ${name}.` }).waitFor();
  await screenshot(`export-${format}`);
  return { file, file_name: name, message: await page.locator('.exports .message').textContent(), text: fs.readFileSync(file, 'utf8') };
}

/**
 * Runs the steps in order (each one's result goes into the report under its name) until one
 * fails; writes the report, closes the browser and exits 0 if all passed, 1 otherwise.
 */
export async function runSteps(steps) {
  let failed = null;
  for (const [name, step] of Object.entries(steps)) {
    currentStep = name;
    try {
      report.steps[name] = await step();
    } catch (e) {
      failed = name;
      report.failed_step = name;
      report.error = String(e && e.stack ? e.stack : e);
      try { await screenshot(`failed-${name}`, { fullPage: true }); } catch { /* the page is gone */ }
      break;
    }
  }
  report.ok = failed === null;
  fs.writeFileSync(config.report_path, JSON.stringify(report, null, 2));
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  stdin.close();
  process.exit(report.ok ? 0 : 1);
}
