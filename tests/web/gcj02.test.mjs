// GCJ-02 in the page (gateway/web/js/gcj02.js): the published pairs, both ways, and the round
// trip; the same figures as the server's core/src/gcj02.rs tests.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { gcj02ToWgs84, outOfChina, wgs84ToGcj02 } from '../../gateway/web/js/gcj02.js';

/** WGS-84 → GCJ-02 pairs published with eviltransform (Shanghai, Shenzhen, Beijing) and gcoord. */
const PUBLISHED = [
  [[31.1774276, 121.5272106], [31.17530398364597, 121.531541859215]],
  [[22.543847, 113.912316], [22.540796131694766, 113.9171764808363]],
  [[39.911954, 116.377817], [39.91334545536069, 116.38404722455657]],
  [[44.99804071, 122.99395597], [45.0, 123.0]],
];

/** Metres between two [lat, lon] points, near enough for a few metres. */
function metres([lat1, lon1], [lat2, lon2]) {
  const k = 111320;
  return Math.hypot((lat1 - lat2) * k, (lon1 - lon2) * k * Math.cos((lat1 * Math.PI) / 180));
}

test('the published pairs are matched both ways', () => {
  for (const [wgs, gcj] of PUBLISHED) {
    assert.ok(metres(wgs84ToGcj02(wgs[0], wgs[1]), gcj) < 0.05, `${wgs} → ${wgs84ToGcj02(wgs[0], wgs[1])}`);
    assert.ok(metres(gcj02ToWgs84(gcj[0], gcj[1]), wgs) < 0.05, `${gcj} → ${gcj02ToWgs84(gcj[0], gcj[1])}`);
  }
});

test('outside China nothing moves', () => {
  for (const [lat, lon] of [[48.137, 11.575], [42.5063, 1.5218], [-33.86, 151.2]]) {
    assert.deepEqual(wgs84ToGcj02(lat, lon), [lat, lon]);
    assert.deepEqual(gcj02ToWgs84(lat, lon), [lat, lon]);
  }
  assert.ok(outOfChina(56, 120) && !outOfChina(30, 110));
});

test('there and back is the same place to under a centimetre across China', () => {
  for (let lat = 1; lat < 55.8; lat += 2.7) {
    for (let lon = 72.5; lon < 137.8; lon += 3.1) {
      const [glat, glon] = wgs84ToGcj02(lat, lon);
      assert.ok(metres(gcj02ToWgs84(glat, glon), [lat, lon]) < 0.01, `${lat}, ${lon}`);
    }
  }
});
