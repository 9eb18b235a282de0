// @ts-check
// GCJ-02, the coordinate system Chinese base maps (AMap/Gaode, Tencent) are drawn in: WGS-84
// shifted by 100-700 m. With `[web] coordinates = "gcj02"` the page draws every position
// shifted so, and takes clicks back to WGS-84; nothing it sends or stores is GCJ-02. The same
// arithmetic as the server's core/src/gcj02.rs (the published transform), identity outside
// the rectangle it defines for China.

const A = 6378245.0;
const EE = 0.006693421622965943;

/**
 * Whether the transform leaves a point alone.
 * @param {number} lat
 * @param {number} lon
 */
export function outOfChina(lat, lon) {
  return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
}

/**
 * @param {number} x
 * @param {number} y
 */
function latSeries(x, y) {
  return -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
    + (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3
    + (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3
    + (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
}

/**
 * @param {number} x
 * @param {number} y
 */
function lonSeries(x, y) {
  return 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
    + (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3
    + (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3
    + (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
}

/**
 * The shift GCJ-02 adds at a WGS-84 point, in degrees.
 * @param {number} lat
 * @param {number} lon
 * @returns {[number, number]}
 */
function shift(lat, lon) {
  const radLat = lat / 180 * Math.PI;
  const magic = 1 - EE * Math.sin(radLat) ** 2;
  const sqrtMagic = Math.sqrt(magic);
  const dlat = latSeries(lon - 105, lat - 35) * 180 / ((A * (1 - EE)) / (magic * sqrtMagic) * Math.PI);
  const dlon = lonSeries(lon - 105, lat - 35) * 180 / (A / sqrtMagic * Math.cos(radLat) * Math.PI);
  return [dlat, dlon];
}

/**
 * The GCJ-02 `[lat, lon]` of a WGS-84 point.
 * @param {number} lat
 * @param {number} lon
 * @returns {[number, number]}
 */
export function wgs84ToGcj02(lat, lon) {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || outOfChina(lat, lon)) return [lat, lon];
  const [dlat, dlon] = shift(lat, lon);
  return [lat + dlat, lon + dlon];
}

/**
 * The WGS-84 `[lat, lon]` whose GCJ-02 coordinates these are (by iteration, to well under a
 * millimetre).
 * @param {number} lat
 * @param {number} lon
 * @returns {[number, number]}
 */
export function gcj02ToWgs84(lat, lon) {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || outOfChina(lat, lon)) return [lat, lon];
  const [dlat, dlon] = shift(lat, lon);
  let [wlat, wlon] = [lat - dlat, lon - dlon];
  for (let i = 0; i < 10; i += 1) {
    const [glat, glon] = wgs84ToGcj02(wlat, wlon);
    const [elat, elon] = [glat - lat, glon - lon];
    wlat -= elat;
    wlon -= elon;
    if (Math.abs(elat) < 1e-10 && Math.abs(elon) < 1e-10) break;
  }
  return [wlat, wlon];
}
