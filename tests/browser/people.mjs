// People administration on the page (tests/browser.rs): an admin adds a person on the People
// view, resets their password (after a confirmation; the new one shown once), and that person
// logs in with it in the browser and changes their own password on the My password form (a
// wrong current one refused first); the admin then disables them (after a confirmation), and
// their login is refused. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, person: {user, role, password}, new_password,
//          shots_dir, report_path}

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

const list = '.people .people-list';
const row = (name) => page.locator(`${list} tbody tr[data-person="${name}"]`);
const person = config.person;
/** The password the reset showed, once. */
let shown = null;

/** Accepts the next confirmation, keeping its question. */
function acceptNextDialog() {
  const asked = { question: null };
  page.once('dialog', (dialog) => { asked.question = dialog.message(); void dialog.accept(); });
  return asked;
}

async function openPeople() {
  await page.locator('.top .nav a', { hasText: 'People' }).click();
  await row(config.admin.user).waitFor();
}

const steps = {
  async open() {
    await page.goto(config.base);
    await logIn(config.admin);
    await page.locator('.top .nav a').first().waitFor();
    const nav = await page.locator('.top .nav a').allTextContents();
    await openPeople();
    await screenshot('people');
    return { nav, hash: await page.evaluate(() => location.hash), names: await page.locator(`${list} td.name`).allTextContents() };
  },

  async add() {
    const form = '.people form.person-form';
    await page.fill(`${form} input[name=name]`, person.user);
    await page.selectOption(`${form} select[name=role]`, person.role);
    await page.fill(`${form} input[name=password]`, person.password);
    await page.click(`${form} button[type=submit]`);
    await row(person.user).waitFor();
    await screenshot('added');
    return {
      message: await page.locator(`${form} .message`).textContent(),
      role: await row(person.user).locator('td.role select').inputValue(),
      state: await row(person.user).locator('td.state').textContent(),
      last_login: await row(person.user).locator('td.last-login').textContent(),
    };
  },

  async reset() {
    const asked = acceptNextDialog();
    await row(person.user).locator('button.reset').click();
    const code = page.locator('.people .shown-once code.new-password');
    await code.waitFor();
    shown = await code.textContent();
    await screenshot('reset-shown-once');
    return { question: asked.question, password: shown, once: await page.locator('.people .shown-once .once').textContent() };
  },

  async shown_only_once() {
    await page.locator('.top .nav a').first().click();
    await openPeople();
    return { passwords_shown: await page.locator('.people code.new-password').count() };
  },

  async log_in_as_them() {
    await page.click('header.top button.logout');
    await page.locator('form.login').waitFor();
    await logIn({ user: person.user, password: shown });
    await page.locator('header.top .who', { hasText: person.user }).waitFor();
    await screenshot('logged-in-as-them');
    return { who: await page.locator('header.top .who').textContent(), nav: await page.locator('.top .nav a').allTextContents() };
  },

  async wrong_current_password() {
    await page.click('header.top button.password');
    const form = '.password form.password-form';
    await page.locator(form).waitFor();
    await page.fill(`${form} input[name=current]`, 'not my password at all');
    await page.fill(`${form} input[name=new]`, config.new_password);
    await page.fill(`${form} input[name=repeat]`, config.new_password);
    await page.click(`${form} button[type=submit]`);
    const error = page.locator(`${form} .message.error`);
    await error.waitFor();
    await screenshot('wrong-current-password');
    return { hash: await page.evaluate(() => location.hash), message: await error.textContent() };
  },

  async change_own_password() {
    const form = '.password form.password-form';
    await page.fill(`${form} input[name=current]`, shown);
    await page.fill(`${form} input[name=new]`, config.new_password);
    await page.fill(`${form} input[name=repeat]`, config.new_password);
    await page.click(`${form} button[type=submit]`);
    const ok = page.locator(`${form} .message.ok`);
    await ok.waitFor();
    const message = await ok.textContent();
    await screenshot('password-changed');
    // This session goes on: another view still opens as the person.
    await page.locator('.top .nav a').first().click();
    await page.locator('header.top .who', { hasText: person.user }).waitFor();
    return { message, hash: await page.evaluate(() => location.hash), still_logged_in: await page.locator('form.login').count() === 0 };
  },

  async disable() {
    await page.click('header.top button.logout');
    await logIn(config.admin);
    await openPeople();
    const asked = acceptNextDialog();
    await row(person.user).locator('button.disable').click();
    await row(person.user).locator('td.state', { hasText: 'Disabled' }).waitFor();
    await screenshot('disabled');
    return {
      question: asked.question,
      message: await page.locator('.people > .message').first().textContent(),
      enable_buttons: await row(person.user).locator('button.enable').count(),
    };
  },

  async disabled_login_refused() {
    await page.click('header.top button.logout');
    await logIn({ user: person.user, password: config.new_password });
    const error = page.locator('form.login .message.error');
    await error.waitFor();
    await screenshot('disabled-login-refused');
    return { message: await error.textContent(), still_on_login: await page.locator('form.login').count() === 1 };
  },
};

await runSteps(steps);
