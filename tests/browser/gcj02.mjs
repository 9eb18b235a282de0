// A base map drawn in GCJ-02 (tests/browser_cases/gcj02.rs): with `[web] coordinates = "gcj02"`
// the live map draws a vehicle shifted into GCJ-02 while the fix it shows stays WGS-84. See
// harness.mjs for how the script and the test talk.
//
// CONFIG: {base, admin: {user, password}, vehicle, shots_dir, download_dir, report_path}

import { config, logIn, page, runSteps, screenshot } from './harness.mjs';

const steps = {
  async live() {
    await page.goto(config.base);
    await logIn(config.admin);
    const marker = page.locator(`.leaflet-marker-pane .vehicle[data-vehicle="${config.vehicle}"]`);
    await marker.waitFor();
    await screenshot('gcj02-live');
    const data = await marker.evaluate((node) => ({ ...node.dataset }));
    return {
      map_coordinates: await page.locator('.view-live .live-map').getAttribute('data-coordinates'),
      lat: Number(data.lat), lon: Number(data.lon), map_lat: Number(data.mapLat), map_lon: Number(data.mapLon),
    };
  },
};

await runSteps(steps);
