// An admin sets a phone up from the page's Phones view (tests/browser.rs): a name holding HTML
// is refused and the refusal shown as text; an OwnTracks phone registered for the HTTP endpoint
// the page offers shows its QR code, its secret (shown once) and downloads as NAME.otrc, which
// the test then uses as the app would; removed (after a confirmation), it is gone from the list.
// A dispatcher is offered no Phones view, not even by typing its address. See harness.mjs for
// how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, dispatcher: {user, password},
//          phone: {name, device, vehicle, html_name}, shots_dir, download_dir, report_path}

import path from 'node:path';
import { config, logIn, need, page, runSteps, screenshot } from './harness.mjs';

const { phone } = config;
const form = '.phones form.phone-form';
const row = () => page.locator(`.phone-list tr[data-phone="owntracks:${phone.name}"]`);

/** Fills the form for an OwnTracks phone named `name` and submits it; returns the API's answer. */
async function register(name) {
  await page.selectOption(`${form} select[name=kind]`, 'owntracks');
  await page.fill(`${form} input[name=name]`, name);
  await page.fill(`${form} input[name=device]`, phone.device);
  await page.selectOption(`${form} select[name=vehicle]`, phone.vehicle);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/phones') && r.request().method() === 'POST'),
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
    await page.locator('.top .nav a', { hasText: 'Phones' }).click();
    await page.locator(`${form} select[name=vehicle] option[value="${phone.vehicle}"]`).waitFor({ state: 'attached' });
    await screenshot('phones');
    const endpoint = await page.inputValue(`${form} input[name=endpoint]`);
    // Traccar Client: this server has no [phones] osmand_listen, so nothing is filled in.
    await page.selectOption(`${form} select[name=kind]`, 'traccar');
    const traccar = {
      endpoint: await page.inputValue(`${form} input[name=endpoint]`),
      hint: await page.locator(`${form} small.hint`).last().textContent(),
    };
    await page.selectOption(`${form} select[name=kind]`, 'owntracks');
    return {
      nav,
      hash: await page.evaluate(() => location.hash),
      rows: await page.locator('.phone-list tbody tr[data-phone]').count(),
      endpoint,
      traccar,
      persons: await page.locator(`${form} select[name=person] option`).allTextContents(),
    };
  },

  async html_name_refused() {
    const { status } = await register(phone.html_name);
    const error = page.locator(`${form} .message.error`);
    await error.waitFor();
    await screenshot('html-name-refused');
    return {
      status,
      message: await error.textContent(),
      elements_in_message: await error.locator('*').count(),
      injected_script_ran: await page.evaluate(() => Boolean(/** @type {any} */ (window).__convoy_xss)),
      rows: await page.locator('.phone-list tbody tr[data-phone]').count(),
      setup_shown: await page.locator('.phone-setup').isVisible(),
    };
  },

  async register() {
    const { status, body } = await register(phone.name);
    await row().waitFor();
    const qr = page.locator('.phone-setup img.qr');
    // Drawn by the browser from the data: URL (the page's policy allows data: images).
    await page.waitForFunction(() => {
      const img = /** @type {HTMLImageElement | null} */ (document.querySelector('.phone-setup img.qr'));
      return img && img.complete && img.naturalWidth > 0;
    });
    await screenshot('registered');
    return {
      status,
      answer: body,
      message: await page.locator(`${form} .message.ok`).textContent(),
      qr_src: await qr.getAttribute('src'),
      qr_width: await qr.evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth),
      secret: await page.locator('.phone-setup code.secret').textContent(),
      once: await page.locator('.phone-setup .once').textContent(),
      import_link: await page.locator('.phone-setup a.import-link').getAttribute('href'),
      row: await row().locator('td').allTextContents(),
    };
  },

  async download_otrc() {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.phone-setup button.download-otrc')]);
    const file = path.join(config.download_dir, download.suggestedFilename());
    await download.saveAs(file);
    return { file_name: download.suggestedFilename(), file };
  },

  async phone_reports() {
    await need('report');
    return {};
  },

  async remove() {
    let question = null;
    page.once('dialog', (dialog) => { question = dialog.message(); dialog.accept(); });
    await row().locator('button.remove').click();
    await row().waitFor({ state: 'detached' });
    await page.locator('.phones .message.ok', { hasText: `Phone ${phone.name} removed.` }).waitFor();
    await screenshot('removed');
    return { question, rows: await page.locator('.phone-list tbody tr[data-phone]').count() };
  },

  async phone_refused() {
    await need('report again');
    return {};
  },

  async dispatcher() {
    await page.click('header.top button.logout');
    await logIn(config.dispatcher);
    await page.locator('.view-live').waitFor();
    const nav = await page.locator('.top .nav a').allTextContents();
    await page.goto(`${config.base}#/phones`);
    await page.waitForFunction(() => location.hash === '#/live');
    await page.locator('.view-live').waitFor();
    await screenshot('dispatcher-no-phones');
    return { nav, landed: await page.evaluate(() => location.hash), phone_forms: await page.locator(form).count() };
  },
};

await runSteps(steps);
