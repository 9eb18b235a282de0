// The main scenario (tests/browser.rs): a person logs in, watches vehicles move on the live
// map, acknowledges and resolves an alert, replays a move, downloads its exports in every
// format through the page's buttons, prints its report, plans a move, reads the audit log and
// logs out; then an escort's smaller view. The test starts the server, drives the vehicles,
// and checks this script's exit status and its JSON report against the API and what it
// published. See harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, escort: {user, password}, move_id, move_name,
//          live_vehicle, past_vehicle, detour_vehicle, past_start, halt_middle, note, resolve_note,
//          new_move: {name, gpx, corridor_m, zone_name, zone_radius_m},
//          shots_dir, download_dir, report_path}

import { config, exportFile, logIn, marker, need, page, report, runSteps, screenshot, WAIT } from './harness.mjs';

const steps = {
  async login_refused() {
    await page.goto(config.base);
    await logIn({ user: config.admin.user, password: 'not the password' });
    const error = page.locator('form.login .message.error');
    await error.waitFor();
    await screenshot('login-refused');
    return { message: await error.textContent(), still_on_login: await page.locator('form.login').isVisible() };
  },

  async login() {
    await logIn(config.admin);
    await page.locator('.view-live .live-map').waitFor();
    await page.locator(`.leaflet-marker-pane .vehicle[data-vehicle="${config.live_vehicle}"]`).waitFor();
    // The tile server cannot be reached: the map goes on without a base map.
    await page.locator('.live-map[data-tiles="unreachable"]').waitFor();
    await screenshot('live-map');
    return {
      tiles: await page.locator('.live-map').getAttribute('data-tiles'),
      attribution: await page.locator('.live-map .map-attribution').textContent(),
      route_drawn: await page.locator('.live-map path.planned-route').evaluate((p) => p.getAttribute('d').length > 100),
      corridor_drawn: await page.locator('.live-map path.corridor').count(),
      zones_drawn: await page.locator('.live-map path.zone-allowed_stop').count(),
      who: await page.locator('.top .who').textContent(),
      nav: await page.locator('.top .nav a').allTextContents(),
      move_option: await page.locator('.move-picker option:checked').textContent(),
      move_option_elements: await page.locator('.move-picker option:checked *').count(),
    };
  },

  async vehicles_move() {
    const first = await marker(config.live_vehicle);
    await page.waitForFunction(([v, lat, lon]) => {
      const node = document.querySelector(`.leaflet-marker-pane .vehicle[data-vehicle="${v}"]`);
      return node && (Number(node.dataset.lat) !== lat || Number(node.dataset.lon) !== lon);
    }, [config.live_vehicle, first.lat, first.lon], WAIT);
    const second = await marker(config.live_vehicle);
    const row = page.locator(`.vehicles li[data-vehicle="${config.live_vehicle}"]`);
    // Its agent's health report, as it publishes it.
    await page.locator(`.vehicles li[data-vehicle="${config.live_vehicle}"][data-agent="online"]`).waitFor();
    await screenshot('vehicles-moving');

    // Follow it: with its next fix the map is centred on it.
    await row.locator('button.follow').click();
    const followed = await marker(config.live_vehicle);
    await page.waitForFunction(([v, lat, lon]) => {
      const node = document.querySelector(`.leaflet-marker-pane .vehicle[data-vehicle="${v}"]`);
      return Number(node.dataset.lat) !== lat || Number(node.dataset.lon) !== lon;
    }, [config.live_vehicle, followed.lat, followed.lon], WAIT);
    const offCentre = await page.evaluate((v) => {
      const map = document.querySelector('.live-map').getBoundingClientRect();
      const icon = document.querySelector(`.leaflet-marker-pane .vehicle[data-vehicle="${v}"] .vehicle-arrow`).getBoundingClientRect();
      return Math.hypot(icon.x + icon.width / 2 - (map.x + map.width / 2), icon.y + icon.height / 2 - (map.y + map.height / 2));
    }, config.live_vehicle);
    await screenshot('following');
    const following = { off_centre_px: offCentre, pressed: await row.locator('button.follow').getAttribute('aria-pressed') };
    await row.locator('button.follow').click();
    return {
      first, second, following,
      agent: await row.locator('.agent').textContent(),
      past_marker: await marker(config.past_vehicle),
      past_row_classes: await page.locator(`.vehicles li[data-vehicle="${config.past_vehicle}"]`).getAttribute('class'),
      age: await row.locator('.age').textContent(),
      arrow_transform: await page.evaluate((v) => document.querySelector(`.vehicle[data-vehicle="${v}"] .vehicle-arrow`).style.transform, config.live_vehicle),
      connection: await page.locator('.connection').textContent(),
    };
  },

  async alert_appears() {
    const beepsBefore = Number(await page.evaluate(() => document.body.dataset.beeps || 0));
    await need('detour');
    const item = page.locator(`.alert[data-vehicle="${config.detour_vehicle}"][data-kind="off_route"][data-state="open"]`);
    await item.waitFor();
    const shown = {
      id: await item.getAttribute('data-alert-id'),
      classes: await item.getAttribute('class'),
      background: await item.evaluate((n) => getComputedStyle(n).backgroundColor),
      badge: await page.locator('.alert-badge').textContent(),
      beeps_before: beepsBefore,
      beeps_after: Number(await page.evaluate(() => document.body.dataset.beeps || 0)),
      ack_disabled_without_note: await item.locator('button.ack').isDisabled(),
    };
    await screenshot('alert-open');
    return shown;
  },

  async acknowledge() {
    const id = report.steps.alert_appears.id;
    const item = page.locator(`.alert[data-alert-id="${id}"]`);
    await item.locator('textarea[name=note]').fill(config.note);
    await item.locator('button.ack').click();
    await page.locator(`.alert[data-alert-id="${id}"][data-state="acknowledged"]`).waitFor();
    await item.locator('.alert-ack:not([hidden])').waitFor();
    await screenshot('alert-acknowledged');
    // The test reads the alert from the API now, before it is resolved.
    await need(`acknowledged ${id}`);
    return {
      note_shown: await item.locator('.alert-note').textContent(),
      acknowledged_line: await item.locator('.alert-ack').textContent(),
      images_in_alert_list: await page.locator('.alert-list img').count(),
      elements_in_note: await item.locator('.alert-note *').count(),
      injected_script_ran: await page.evaluate(() => window.__convoy_xss === true),
      classes: await item.getAttribute('class'),
    };
  },

  async resolve() {
    const id = report.steps.alert_appears.id;
    const item = page.locator(`.alert[data-alert-id="${id}"]`);
    await item.locator('textarea[name=note]').fill(config.resolve_note);
    await item.locator('button.resolve').click();
    await item.waitFor({ state: 'detached' });
    await screenshot('alert-resolved');
    return { alerts_left: await page.locator('.alert-list .alert').count(), panel: await page.locator('.alert-panel h2').textContent() };
  },

  async replay() {
    await page.goto(`${config.base}#/replay/${encodeURIComponent(config.move_id)}`);
    await page.locator('.replay .slider:not([disabled])').waitFor();
    const section = page.locator('section.replay');
    const state = () => section.evaluate((n) => ({ t: n.dataset.t, ms: Number(n.dataset.ms), wall: Number(n.dataset.wall), playing: n.dataset.playing }));
    const slider = () => page.locator('.replay .slider').evaluate((n) => Number(n.value));
    const seek = (iso) => page.locator('.replay .slider').evaluate((n, t) => {
      n.value = String(Date.parse(t) - (Number(document.querySelector('section.replay').dataset.ms) - Number(n.value)));
      n.dispatchEvent(new Event('input'));
    }, iso);

    // A gap in the data: the marker waits, greyed, at the last fix before it.
    const gap = page.locator(`.timeline .mark.gap[data-vehicle="${config.past_vehicle}"]`);
    const gapFrom = await gap.getAttribute('data-from');
    const gapTo = await gap.getAttribute('data-to');
    const middle = new Date((Date.parse(gapFrom) + Date.parse(gapTo)) / 2).toISOString();
    await seek(middle);
    const inGap = { at: (await state()).t, marker: await marker(config.past_vehicle) };
    await seek(new Date(Date.parse(middle) + 1000).toISOString());
    const laterInGap = await marker(config.past_vehicle);
    await screenshot('replay-gap');

    // Stops and alerts on the timeline: a click jumps there.
    const stops = page.locator(`.timeline .mark.stop[data-vehicle="${config.past_vehicle}"]`);
    const halt = Date.parse(config.halt_middle);
    let stop = null;
    for (const candidate of await stops.all()) {
      const [from, to] = [await candidate.getAttribute('data-from'), await candidate.getAttribute('data-to')];
      if (Date.parse(from) <= halt && halt <= Date.parse(to)) stop = candidate;
    }
    if (!stop) throw new Error(`no stop mark around ${config.halt_middle} among ${await stops.count()}`);
    await stop.click();
    const atStop = { mark: await stop.getAttribute('data-from'), mark_to: await stop.getAttribute('data-to'), t: (await state()).t };
    const alertMark = page.locator(`.timeline .mark.alert[data-vehicle="${config.detour_vehicle}"]`).first();
    await alertMark.click();
    const atAlert = { mark: await alertMark.getAttribute('data-from'), t: (await state()).t };

    // Play at 60x from the start of the past drive.
    await seek(config.past_start);
    await page.selectOption('.replay select.speed', '60');
    const seeked = await state();
    await page.click('.replay button.play');
    // A frame drawn while playing (the one drawn by the seek was not).
    await page.waitForFunction((ms) => Number(document.querySelector('section.replay').dataset.ms) > ms, seeked.ms);
    const before = { ...(await state()), slider: await slider(), marker: await marker(config.past_vehicle) };
    await page.waitForFunction((ms) => Number(document.querySelector('section.replay').dataset.ms) > ms + 60_000, before.ms, WAIT);
    const after = { ...(await state()), slider: await slider(), marker: await marker(config.past_vehicle) };
    await screenshot('replay-playing-60x');
    await page.click('.replay button.play');
    return {
      gap: { from: gapFrom, to: gapTo, in_gap: inGap, later_in_gap: laterInGap },
      at_stop: atStop,
      at_alert: atAlert,
      before, after,
      speed_shown: await page.locator('.replay-clock').textContent(),
    };
  },

  async export_gpx() {
    await page.goto(`${config.base}#/exports/${encodeURIComponent(config.move_id)}`);
    await page.locator('.exports select.vehicle-picker option', { hasText: config.past_vehicle }).waitFor({ state: 'attached' });
    await page.selectOption('.exports select.vehicle-picker', config.past_vehicle);
    const { text, ...saved } = await exportFile('gpx');
    // Parsed by the browser's own XML parser.
    const parsed = await page.evaluate((xml) => {
      const doc = new DOMParser().parseFromString(xml, 'application/xml');
      if (doc.querySelector('parsererror')) return { error: doc.querySelector('parsererror').textContent };
      const points = [...doc.getElementsByTagName('trkpt')].map((p) => ({
        lat: Number(p.getAttribute('lat')),
        lon: Number(p.getAttribute('lon')),
        t: p.getElementsByTagName('time')[0]?.textContent,
      }));
      return {
        root: doc.documentElement.localName,
        tracks: [...doc.getElementsByTagName('trk')].map((t) => t.getElementsByTagName('name')[0]?.textContent),
        segments: doc.getElementsByTagName('trkseg').length,
        points,
      };
    }, text);
    return { ...saved, bytes: text.length, ...parsed };
  },

  // The other formats through their own buttons, for the vehicle still picked. The test reads
  // the CSV and GeoJSON files itself; the KML is read here by the browser's XML parser.
  async export_csv() {
    const { text, ...saved } = await exportFile('csv');
    return { ...saved, vehicle: await page.inputValue('.exports select.vehicle-picker') };
  },

  async export_geojson() {
    const { text, ...saved } = await exportFile('geojson');
    return { ...saved, vehicle: await page.inputValue('.exports select.vehicle-picker') };
  },

  async export_kml() {
    const { text, ...saved } = await exportFile('kml');
    const parsed = await page.evaluate((xml) => {
      const GX = 'http://www.google.com/kml/ext/2.2';
      const doc = new DOMParser().parseFromString(xml, 'application/xml');
      if (doc.querySelector('parsererror')) return { error: doc.querySelector('parsererror').textContent };
      const texts = (nodes) => [...nodes].map((n) => n.textContent);
      const number = (text) => (text.trim() === '' ? null : Number(text));
      const placemarks = [...doc.getElementsByTagName('Placemark')].map((placemark) => {
        const points = [];
        // A placemark is one stretch without a gap: a gx:MultiTrack of gx:Tracks, each with
        // all its times, then all its coordinates, then its data arrays (seq, speed, course).
        for (const track of placemark.getElementsByTagNameNS(GX, 'Track')) {
          const whens = texts(track.getElementsByTagName('when'));
          const coords = texts(track.getElementsByTagNameNS(GX, 'coord')).map((c) => c.trim().split(/\s+/).map(Number));
          const arrays = Object.fromEntries([...track.getElementsByTagNameNS(GX, 'SimpleArrayData')]
            .map((a) => [a.getAttribute('name'), texts(a.getElementsByTagNameNS(GX, 'value')).map(number)]));
          whens.forEach((t, i) => points.push({
            t, lon: coords[i][0], lat: coords[i][1], alt: coords[i][2],
            seq: arrays.seq[i], speed_mps: arrays.speed_mps[i], course_deg: arrays.course_deg[i],
          }));
        }
        return { name: placemark.getElementsByTagName('name')[0]?.textContent, points };
      });
      return {
        root: doc.documentElement.localName,
        folders: [...doc.getElementsByTagName('Folder')].map((f) => f.getElementsByTagName('name')[0]?.textContent),
        placemarks,
      };
    }, text);
    return { ...saved, ...parsed };
  },

  async move_report() {
    await page.goto(`${config.base}#/report/${encodeURIComponent(config.move_id)}`);
    await page.locator('.report .report-alert').first().waitFor();
    await page.waitForTimeout(500); // let the map settle for the screenshot
    await screenshot('move-report', { fullPage: true });
    await page.emulateMedia({ media: 'print' });
    const print = {
      controls_visible: await page.locator('.report .leaflet-control-zoom').isVisible(),
      header_visible: await page.locator('header.top').isVisible(),
    };
    await screenshot('move-report-print', { fullPage: true });
    await page.emulateMedia({ media: 'screen' });
    return {
      name_shown: await page.locator('.report h1 .move-name').textContent(),
      elements_in_name: await page.locator('.report h1 .move-name *').count(),
      alert_log: await page.locator('.report .report-alerts').textContent(),
      notes: await page.locator('.report .report-alerts .notes').allTextContents(),
      vehicles: await page.locator('.report .report-vehicles tbody tr').count(),
      completeness: await page.locator('.report .report-completeness tbody tr')
        .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent))),
      zones: await page.locator('.report .report-zones .zone-name').allTextContents(),
      elements_in_zones: await page.locator('.report .report-zones .zone-name *').count(),
      print,
    };
  },

  async plan_move() {
    const plan = config.new_move;
    await page.goto(`${config.base}#/setup`);
    await page.locator(`.setup .vehicle-checks input[value="${config.past_vehicle}"]`).waitFor();
    await page.fill('.setup input[name=name]', plan.name);
    await page.check(`.setup .vehicle-checks input[value="${config.past_vehicle}"]`);
    await page.setInputFiles('.setup input[name=route]', { name: 'route.gpx', mimeType: 'application/gpx+xml', buffer: Buffer.from(plan.gpx) });
    const preview = page.locator('.setup fieldset .message.ok');
    await preview.waitFor();
    await page.fill('.setup input[name=corridor_m]', String(plan.corridor_m));
    // A zone where the map is clicked.
    await page.locator('.setup-map').click({ position: { x: 200, y: 200 } });
    const zone = page.locator('.setup .zone-row').first();
    await zone.waitFor();
    await zone.locator('.zone-name').fill(plan.zone_name);
    await zone.locator('.zone-kind').selectOption('forbidden');
    await zone.locator('.zone-radius').fill(String(plan.zone_radius_m));
    await page.check(`.setup .team-checks input[value="${config.escort.user}"]`);
    await screenshot('plan-move');
    await page.click('.setup form button[type=submit]');
    const done = page.locator('form.setup-form > p.message.ok');
    await done.waitFor();
    await screenshot('plan-move-created');
    const text = await done.textContent();
    return {
      route_preview: await preview.textContent(),
      message: text,
      move_id: (/Move (\S+) created/.exec(text) || [])[1] || null,
      corridor_paths: await page.locator('.setup-map path.corridor').count(),
      zone_paths: await page.locator('.setup-map path.zone-forbidden').count(),
    };
  },

  async audit_log() {
    await page.goto(`${config.base}#/audit`);
    await page.locator('.audit tbody tr').first().waitFor();
    await screenshot('audit-log');
    return {
      actions: await page.locator('.audit tbody td.action').allTextContents(),
      actors: await page.locator('.audit tbody td.actor').allTextContents(),
      head: await page.locator('.audit-head').textContent(),
      // What each download recorded (its format, vehicle and span).
      export_details: await page.locator('.audit tbody tr').evaluateAll((rows) => rows
        .filter((r) => r.querySelector('td.action').textContent === 'export.download')
        .map((r) => r.querySelector('code.detail').textContent)),
    };
  },

  async logout() {
    const token = await page.evaluate(() => sessionStorage.getItem('convoy.token'));
    await page.click('header.top button.logout');
    await page.locator('form.login').waitFor();
    return { token, token_after: await page.evaluate(() => sessionStorage.getItem('convoy.token')) };
  },

  async escort_view() {
    await logIn(config.escort);
    await page.locator('.view-live .live-map').waitFor();
    await screenshot('escort-live');
    await page.locator(`.vehicles li[data-vehicle="${config.past_vehicle}"]`).waitFor();
    // The page lists vehicles before it asks for the moves: wait for the picker too, since
    // allTextContents does not wait.
    await page.locator('.move-picker option').first().waitFor({ state: 'attached' });
    return {
      nav: await page.locator('.top .nav a').allTextContents(),
      vehicles: await page.locator('.vehicles li.vehicle-row').evaluateAll((rows) => rows.map((r) => r.dataset.vehicle)),
      moves: await page.locator('.move-picker option').allTextContents(),
    };
  },
};

await runSteps(steps);
