// The watching views in Simplified Chinese (tests/browser_cases/chinese_watch.rs): the browser
// speaks Chinese (config `locale`), so the page does from the login on. Each view is walked and
// checked for English words left (english.mjs), with a screenshot; then the header's switch
// turns the page to English and back, across reloads. See harness.mjs for how the script and
// the test talk.
//
// CONFIG: {base, locale, admin: {user, password}, move_id, alert_id, past_vehicle,
//          live_vehicle, note, day, allowed, shots_dir, download_dir, report_path}

import { englishWords } from './english.mjs';
import { config, logIn, marker, page, report, runSteps, screenshot, WAIT } from './harness.mjs';

/** Names the test made (user, vehicles), allowed in Chinese views; file names join them. */
const allowed = [...config.allowed];

/** The page's language, and the one saved in this browser. */
const language = () => page.evaluate(() => ({ lang: document.documentElement.lang, saved: localStorage.getItem('convoy.language') }));

/** Goes to a view through its link in the header's nav (behind the Menu on a phone). */
async function openView(name) {
  const link = page.locator(`.top .nav a[data-view="${name}"]`);
  if (!(await link.isVisible())) await page.click('.top .menu-toggle');
  await link.click();
  await page.locator(`.view-${name}`).waitFor();
}

const steps = {
  async login_form() {
    await page.goto(config.base);
    await page.locator('form.login').waitFor();
    await screenshot('login');
    return {
      ...(await language()),
      submit: await page.locator('form.login button[type=submit]').textContent(),
      english: await englishWords(allowed),
    };
  },

  async login_refused() {
    await logIn({ user: config.admin.user, password: 'not the password' });
    const error = page.locator('form.login .message.error');
    await error.waitFor();
    await screenshot('login-refused');
    return { message: await error.textContent(), english: await englishWords(allowed) };
  },

  async live() {
    await logIn(config.admin);
    await page.locator('.view-live .live-map').waitFor();
    const row = page.locator(`.vehicles li[data-vehicle="${config.live_vehicle}"]`);
    await page.locator(`.vehicles li[data-vehicle="${config.live_vehicle}"][data-agent="online"]`).waitFor();
    await row.locator('.progress:not([hidden])').waitFor();
    await page.locator(`.alert[data-alert-id="${config.alert_id}"]`).waitFor();
    await page.locator('.connection[data-state="open"]').waitFor();
    await screenshot('live');
    const alert = page.locator(`.alert[data-alert-id="${config.alert_id}"]`);
    return {
      who: await page.locator('.top .who').textContent(),
      nav: await page.locator('.top .nav a').allTextContents(),
      title: await page.title(),
      connection: await page.locator('.connection').textContent(),
      agent: await row.locator('.agent').textContent(),
      age: await row.locator('.age').textContent(),
      progress: await row.locator('.progress').textContent(),
      alert_kind: await alert.locator('.alert-kind').textContent(),
      alert_detail: await alert.locator('.alert-detail').textContent(),
      badge: await page.locator('.top .alert-badge').textContent(),
      english: await englishWords(allowed),
    };
  },

  async acknowledge() {
    const alert = page.locator(`.alert[data-alert-id="${config.alert_id}"]`);
    await alert.locator('textarea[name=note]').fill(config.note);
    await alert.locator('button.ack').click();
    await alert.locator('.message', { hasText: '已确认。' }).waitFor();
    await page.locator(`.alert[data-alert-id="${config.alert_id}"][data-state="acknowledged"] .alert-ack:not([hidden])`).waitFor();
    await screenshot('acknowledged');
    return {
      message: await alert.locator('.message').textContent(),
      note: await alert.locator('.alert-note').textContent(),
      line: await alert.locator('.alert-ack').textContent(),
      english: await englishWords(allowed),
    };
  },

  async replay() {
    await openView('replay');
    await page.locator('.replay .message.ok').waitFor();
    await screenshot('replay');
    return {
      message: await page.locator('.replay .message').textContent(),
      clock: await page.locator('.replay .replay-clock').textContent(),
      zone: await page.locator('.replay .time-zone').textContent(),
      english: await englishWords(allowed),
    };
  },

  async exports() {
    await openView('exports');
    await page.locator('.exports button.export-gpx:not([disabled])').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('.exports button.export-gpx')]);
    const name = download.suggestedFilename();
    allowed.push(name);
    await page.locator('.exports .message.ok').waitFor();
    await screenshot('exports');
    return { file_name: name, message: await page.locator('.exports .message').textContent(), english: await englishWords(allowed) };
  },

  async report() {
    await openView('report');
    await page.locator('.report .report-alerts').waitFor();
    await screenshot('report', { fullPage: true });
    return {
      alert_log: await page.locator('.report .report-alerts h2').textContent(),
      english: await englishWords(allowed),
    };
  },

  async history() {
    await openView('history');
    const row = page.locator(`.history-list tr[data-alert="${config.alert_id}"]`);
    await row.waitFor();
    await screenshot('history');
    return {
      count: await page.locator('.history .history-count').textContent(),
      state: await row.locator('td.state').textContent(),
      english: await englishWords(allowed),
    };
  },

  async history_empty() {
    await page.fill('.history input[name=text]', '没有这样的备注');
    await page.click('.history form.history-filters button[type=submit]');
    const empty = page.locator('.history-list td.empty');
    await empty.waitFor();
    await screenshot('history-empty');
    return { empty: await empty.textContent(), english: await englishWords(allowed) };
  },

  async daily() {
    await openView('daily');
    await page.fill('.daily input[name=day]', config.day);
    await page.click('.daily form button[type=submit]');
    const row = page.locator(`.daily-list tr[data-vehicle="${config.past_vehicle}"]`);
    await row.waitFor();
    await screenshot('daily');
    return {
      span: await page.locator('.daily .daily-span').textContent(),
      km: await row.locator('td.c1').textContent(),
      headings: await page.locator('.daily-list th').allTextContents(),
      english: await englishWords(allowed),
    };
  },

  async daily_refused() {
    await page.fill('.daily input[name=time_zone]', 'Mars/Olympus');
    await page.click('.daily form button[type=submit]');
    const error = page.locator('.daily .message.error');
    await error.waitFor();
    await screenshot('daily-refused');
    return { message: await error.textContent(), english: await englishWords(allowed) };
  },

  async to_english() {
    await openView('live');
    await page.locator(`.vehicles li[data-vehicle="${config.live_vehicle}"]`).waitFor();
    const socketsBefore = report.websockets.length;
    await page.selectOption('.top select.language', 'en');
    await page.locator('.view-live .vehicles h2', { hasText: 'Vehicles' }).waitFor();
    await page.locator('.view-live .alert-panel h2', { hasText: 'Alerts' }).waitFor();
    // The feed goes on: the driving vehicle moves on the map drawn anew.
    await page.locator(`.leaflet-marker-pane .vehicle[data-vehicle="${config.live_vehicle}"]`).waitFor();
    const first = await marker(config.live_vehicle);
    await page.waitForFunction(([v, lat, lon]) => {
      const node = document.querySelector(`.leaflet-marker-pane .vehicle[data-vehicle="${v}"]`);
      return node && (Number(node.dataset.lat) !== lat || Number(node.dataset.lon) !== lon);
    }, [config.live_vehicle, first.lat, first.lon], WAIT);
    await screenshot('english');
    return {
      heading: await page.locator('.view-live .vehicles h2').textContent(),
      nav_first: await page.locator('.top .nav a').first().textContent(),
      ...(await language()),
      sockets_before: socketsBefore,
      sockets_after: report.websockets.length,
      marker_moved: true,
    };
  },

  async english_reloaded() {
    await page.reload();
    await page.locator('.view-live .vehicles h2').waitFor();
    await screenshot('english-reloaded');
    return { heading: await page.locator('.view-live .vehicles h2').textContent(), ...(await language()) };
  },

  async back_to_chinese() {
    await page.selectOption('.top select.language', 'zh-CN');
    await page.locator('.view-live .vehicles h2', { hasText: '车辆' }).waitFor();
    const heading = await page.locator('.view-live .vehicles h2').textContent();
    await page.reload();
    await page.locator('.view-live .vehicles h2').waitFor();
    await screenshot('chinese-reloaded');
    return { heading, reloaded_heading: await page.locator('.view-live .vehicles h2').textContent(), ...(await language()) };
  },

  async resolve() {
    const alert = page.locator(`.alert[data-alert-id="${config.alert_id}"]`);
    await alert.locator('button.resolve').click();
    await alert.waitFor({ state: 'detached' });
    const empty = page.locator('.alert-panel .empty');
    await empty.waitFor();
    await screenshot('resolved');
    return {
      empty: await empty.textContent(),
      count: await page.locator('.alert-panel .count').textContent(),
      english: await englishWords(allowed),
    };
  },
};

await runSteps(steps);
