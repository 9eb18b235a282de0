// An admin walks the admin views in Simplified Chinese (tests/browser_cases/chinese_admin.rs):
// the browser speaks zh-CN; on each view (moves, setup, plan editing, people, password,
// vehicles with an agent's status history, phones, legal holds, audit log) the script fills
// what a person fills (Chinese names where a person would type them), meets one refusal or
// more, takes a screenshot and lists the English words left in the view (`main.view`: the
// header, nav and login are another part's). See harness.mjs for how the script and the test
// talk.
//
// CONFIG: {base, admin: {user, password}, planned: {id, name}, running: {id, name},
//          vehicle, escort_vehicle, allowed: [names the test made], shots_dir, report_path}

import { Buffer } from 'node:buffer';

import { englishWords } from './english.mjs';
import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

/** The whole page: the header and navigation as well as the view. */
const VIEW = 'body';

/** Goes to a view by its hash, as a nav link does. */
async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

/** The English words left in `selector` (the whole page by default), with `more` allowed. */
async function english(more = [], selector = VIEW) {
  return englishWords([...config.allowed, ...more], selector);
}

/** The text of the first element `selector` finds, trimmed. */
async function text(selector) {
  return (await page.locator(selector).first().textContent() ?? '').trim();
}

/** Answers the next confirm() with OK, keeping its question. */
function acceptNextDialog() {
  return new Promise((resolve) => {
    page.once('dialog', async (dialog) => {
      const question = dialog.message();
      await dialog.accept();
      resolve(question);
    });
  });
}

/** Clicks `button` and returns the answer of the request to `path` it sends. */
async function answerOf(path, method, button) {
  const [answer] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === method),
    page.click(button),
  ]);
  return { status: answer.status(), body: await answer.json().catch(() => null) };
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.view-live').waitFor();
    // The shell (main.js) chooses the language at login: the person's saved one, else the
    // browser's (zh-CN here). What it chose, as the page's own module says.
    const lang = await page.evaluate(async () => {
      const i18n = await import('/assets/js/i18n.js');
      return { language: i18n.language(), browser: [...navigator.languages], html_lang: document.documentElement.lang };
    });
    return lang;
  },

  async moves() {
    await go('#/moves');
    const planned = page.locator(`.moves tbody tr[data-move="${config.planned.id}"]`);
    await planned.waitFor();
    await screenshot('moves');
    const seen = {
      heading: await text(`${VIEW} h1`),
      headers: await page.locator('.moves thead th').allTextContents(),
      planned_state: await planned.locator('.move-state').textContent(),
      zone_note: await planned.locator('.time-zone').textContent(),
      window: await planned.locator('td.window').evaluate((n) => n.firstChild?.textContent ?? ''),
      english: await english(),
    };
    const running = page.locator(`.moves tbody tr[data-move="${config.running.id}"]`);
    await running.locator('input[name=reason]').fill('客户要求提前结束');
    const question = acceptNextDialog();
    await running.locator('form.stop-move button').click();
    await page.locator(`.moves tbody tr[data-move="${config.running.id}"] .move-state.ended`).waitFor();
    await screenshot('move-ended');
    const ended = page.locator(`.moves tbody tr[data-move="${config.running.id}"]`);
    return {
      ...seen,
      question: await question,
      message: await text(`${VIEW} .message.ok`),
      ended_state: await ended.locator('.move-state').textContent(),
      end_note: await ended.locator('.move-end').textContent(),
      english_after: await english(),
    };
  },

  async setup() {
    await go('#/setup');
    const form = '.setup-form';
    await page.locator(`${form} input[name=vehicle][value="${config.vehicle}"]`).waitFor();
    await page.fill(`${form} input[name=name]`, '数据中心搬迁');
    await page.click(`${form} > button[type=submit]`);
    const noRoute = await text(`${form} > p.message.error`);
    // A route of one point: the server refuses it, and the page says why in Chinese.
    const routeMessage = `${form} fieldset p.message`;
    await page.setInputFiles(`${form} input[name=route]`, {
      name: 'route.geojson', mimeType: 'application/geo+json',
      buffer: Buffer.from(JSON.stringify({ type: 'LineString', coordinates: [[11.56, 48.16]] })),
    });
    await page.locator(`${routeMessage}.error`).waitFor();
    const routeRefused = await text(`${routeMessage}.error`);
    await screenshot('setup-route-refused');
    await page.setInputFiles(`${form} input[name=route]`, {
      name: 'route.geojson', mimeType: 'application/geo+json',
      buffer: Buffer.from(JSON.stringify({ type: 'LineString', coordinates: [[11.56, 48.16], [11.565, 48.165], [11.57, 48.17]] })),
    });
    await page.locator(`${routeMessage}.ok`).waitFor();
    const routeRead = await text(`${routeMessage}.ok`);
    await page.check(`${form} input[name=vehicle][value="${config.vehicle}"]`);
    await page.fill(`${form} input[name=time_zone]`, 'Asia/Shanghai');
    await page.locator('.setup-map').click({ position: { x: 200, y: 200 } });
    await page.locator(`${form} .zone-row`).waitFor();
    const zone = {
      name: await page.locator(`${form} .zone-name`).inputValue(),
      kind: await page.locator(`${form} .zone-kind`).evaluate((s) => /** @type {HTMLSelectElement} */ (s).selectedOptions[0].textContent),
    };
    // The form; the map beside it labels its zones through map.js, the live map's part.
    const before = await english(['route.geojson'], form);
    await screenshot('setup-filled');
    const created = await answerOf('/api/v1/moves', 'POST', `${form} > button[type=submit]`);
    await page.locator(`${form} > p.message.ok`).waitFor();
    await screenshot('setup-created');
    return {
      heading: await text(`${form} h1`),
      legends: await page.locator(`${form} legend`).allTextContents(),
      no_route: noRoute,
      route_refused: routeRefused,
      route_read: routeRead,
      zone,
      english: before,
      created,
      message: await text(`${form} > p.message.ok`),
      english_after: await english(['route.geojson'], form),
    };
  },

  async edit() {
    await go(`#/edit/${config.planned.id}`);
    const form = 'form.plan-edit';
    await page.locator(`${form} input[name=name]`).waitFor();
    await page.locator('.plan-versions li').first().waitFor();
    const before = { heading: await text(`${VIEW} h1`), note: await text('.plan-edit-state'), english: await english() };
    await screenshot('edit');
    await page.fill(`${form} input[name=name]`, `${config.planned.name}（第二期）`);
    await page.click(`${form} button[type=submit]`);
    await page.locator(`${VIEW} .message.ok`).waitFor();
    await page.locator('.plan-versions li[data-version="2"]').waitFor();
    await screenshot('edit-saved');
    return {
      ...before,
      message: await text(`${VIEW} .message.ok`),
      versions: (await page.locator('.plan-versions li').allTextContents()).map((v) => v.trim()),
      english_after: await english(),
    };
  },

  async people() {
    await go('#/people');
    await page.locator('.people-list tbody tr[data-person]').first().waitFor();
    const form = '.person-form';
    await page.fill(`${form} input[name=name]`, 'zhang.wei');
    await page.selectOption(`${form} select[name=role]`, 'dispatcher');
    await page.fill(`${form} input[name=password]`, '张伟的密码很长很长很长很长');
    await page.click(`${form} button[type=submit]`);
    await page.locator(`${form} .message.ok`).waitFor();
    const added = await text(`${form} .message.ok`);
    const row = page.locator('.people-list tbody tr[data-person="zhang.wei"]');
    await row.waitFor();
    // The same name again: refused (409 already_exists), said in Chinese.
    await page.fill(`${form} input[name=name]`, 'zhang.wei');
    await page.fill(`${form} input[name=password]`, '张伟的密码很长很长很长很长');
    await page.click(`${form} button[type=submit]`);
    await page.locator(`${form} .message.error`).waitFor();
    await screenshot('people');
    return {
      heading: await text(`${VIEW} h1`),
      added,
      refused: await text(`${form} .message.error`),
      state: await row.locator('td.state').textContent(),
      last_login: await row.locator('td.last-login').textContent(),
      role: await row.locator('select[name=role]').evaluate((s) => /** @type {HTMLSelectElement} */ (s).selectedOptions[0].textContent),
      english: await english(),
    };
  },

  async password() {
    await go('#/password');
    const form = '.password-form';
    await page.locator(form).waitFor();
    await page.fill(`${form} input[name=current]`, config.admin.password);
    await page.fill(`${form} input[name=new]`, '一二三四五六七八九十一二三');
    await page.fill(`${form} input[name=repeat]`, '一二三四五六七八九十一二四');
    await page.click(`${form} button[type=submit]`);
    await page.locator(`${form} .message.error`).waitFor();
    await screenshot('password');
    return { heading: await text(`${VIEW} h1`), refused: await text(`${form} .message.error`), english: await english() };
  },

  async vehicles() {
    await go('#/vehicles');
    await page.locator(`.vehicle-list tbody tr[data-vehicle="${config.vehicle}"]`).waitFor();
    const list = await english();
    await page.fill('.vehicle-form input[name=id]', 'van-3');
    const registered = await answerOf('/api/v1/vehicles', 'POST', '.vehicle-form button[type=submit]');
    await page.locator('.vehicle-form .message.ok').waitFor();
    await page.locator('.shown-once code.new-password').waitFor();
    await screenshot('vehicle-registered');
    // The agent's configuration file (a <pre>) is the file's own text; the rest is checked,
    // with the password and the path of its file the server gave.
    const outsideTheFile = `${VIEW} h1, ${VIEW} table, ${VIEW} form, ${VIEW} .shown-once p, ${VIEW} .shown-once button`;
    const registeredWords = await english([registered.body.password, registered.body.password_file], outsideTheFile);
    await page.click(`.vehicle-list tbody tr[data-vehicle="${config.vehicle}"] button.status`);
    await page.locator('.status-reports tbody tr').first().waitFor();
    await screenshot('status-history');
    const first = page.locator('.status-reports tbody tr').first();
    return {
      heading: await text(`${VIEW} h1`),
      english: list,
      registered: await text('.vehicle-form .message.ok'),
      download: await text('.shown-once button.download-config'),
      english_registered: registeredWords,
      status_heading: await text('.status-history h2'),
      last_heard: await text('.status-history .last-heard'),
      status_columns: await page.locator('.status-reports thead th').allTextContents(),
      report: {
        received: await first.locator('td.received').textContent(),
        state: await first.locator('td.state').textContent(),
        receiver: await first.locator('td.receiver').textContent(),
        spool: await first.locator('td.spool').textContent(),
      },
      english_status: await english([], `${VIEW} .status-history`),
    };
  },

  async phones() {
    await go('#/phones');
    const form = '.phone-form';
    await page.locator(`${form} select[name=vehicle] option[value="${config.vehicle}"]`).waitFor({ state: 'attached' });
    await page.locator('.phone-list tbody td.empty').waitFor();
    // The addresses and the scheme an admin types, and OwnTracks' file type, are the same in
    // every language.
    const literal = ['/api/v1/phones/owntracks', 'mqtts://', 'mqtt://', '.otrc'];
    const empty = { none: await text('.phone-list tbody td.empty'), english: await english(literal) };
    await page.fill(`${form} input[name=name]`, 'zhang-phone');
    await page.fill(`${form} input[name=device]`, 'pixel');
    await page.selectOption(`${form} select[name=vehicle]`, config.vehicle);
    const registered = await answerOf('/api/v1/phones', 'POST', `${form} button[type=submit]`);
    await page.locator('.phone-setup code.secret').waitFor();
    await page.locator('.phone-list tbody tr[data-phone]').waitFor();
    await screenshot('phone-registered');
    return {
      heading: await text(`${VIEW} h1`),
      empty,
      status: registered.status,
      message: await text(`${form} .message.ok`),
      setup_heading: await text('.phone-setup h2'),
      download: await text('.phone-setup button.download-otrc'),
      english: await english([...literal, 'zhang-phone', 'pixel', 'zhang-phone.otrc', registered.body.secret]),
    };
  },

  async holds() {
    await go('#/holds');
    const form = '.holds form.hold-form';
    await page.locator(`${form} select[name=move] option[value="${config.planned.id}"]`).waitFor({ state: 'attached' });
    const empty = await text('.hold-list tbody td.empty');
    await page.selectOption(`${form} select[name=scope]`, 'vehicle');
    await page.selectOption(`${form} select[name=vehicle]`, config.vehicle);
    await page.fill(`${form} input[name=from]`, '2026-03-02T10:00');
    await page.fill(`${form} input[name=to]`, '2026-03-01T10:00');
    await page.fill(`${form} input[name=reason]`, '事故调查');
    const refused = await answerOf('/api/v1/holds', 'POST', `${form} button[type=submit]`);
    await page.locator(`${form} .message.error`).waitFor();
    const refusal = await text(`${form} .message.error`);
    await page.selectOption(`${form} select[name=scope]`, 'move');
    await page.selectOption(`${form} select[name=move]`, config.planned.id);
    await page.fill(`${form} input[name=from]`, '');
    await page.fill(`${form} input[name=to]`, '');
    await page.fill(`${form} input[name=reason]`, '事故调查');
    await page.fill(`${form} input[name=reference]`, '案件七号');
    const placed = await answerOf('/api/v1/holds', 'POST', `${form} button[type=submit]`);
    const row = page.locator(`.hold-list tbody tr[data-hold="${placed.body.id}"]`);
    await row.waitFor();
    await screenshot('holds');
    return {
      heading: await text(`${VIEW} h1`),
      empty,
      refused_reason: refused.body?.reason,
      refusal,
      placed_status: placed.status,
      message: await text(`${form} .message.ok`),
      covers: await row.locator('td.covers').textContent(),
      state: await row.locator('td.state').textContent(),
      english: await english(),
    };
  },

  async audit() {
    await go('#/audit');
    await page.locator('.audit tbody tr').first().waitFor();
    await screenshot('audit');
    const created = page.locator('.audit tbody td.action[title="move.create"]').first();
    return {
      heading: await text(`${VIEW} h1`),
      columns: await page.locator('.audit thead th').allTextContents(),
      move_create: await created.textContent(),
      head: await text('.audit-head'),
      detail_summaries: await page.locator('.audit tbody details summary').count(),
      // The phone is named by its app's kind and its name, as recorded.
      english: await english(['owntracks:zhang-phone']),
    };
  },
};

await runSteps(steps);
