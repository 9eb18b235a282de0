#!/usr/bin/env python3
"""Geofence facts per position with shapely 2 (GEOS): corridor, distance to route, zones.

    pip install shapely numpy
    python3 scripts/geofence-bench/shapely_bench.py [DATA_DIR] [--sample 20000] [--batch 4000] [--batch-rows N]

Projection: each move gets its own local tangent plane (east/north metres, orthographic) at the
centre of its route's bounding box, computed on the WGS 84 ellipsoid through ECEF coordinates
(numpy, no pyproj). Over a route's ~100 km box its scale error is below 1e-4 (under 1.5 cm on
a 150 m corridor). The moves' planes are then laid side by side, 1,000 km apart, in one plane,
so one STRtree holds the segments of every route and one the zones of every move, and a query
can only meet geometry of the position's own move (each position is projected in its own move's
frame).

Measured:
  shapely_per_position: one call chain per position (project; tree.query dwithin corridor;
      tree.query_nearest for the distance; polygon zones by `intersects`, circle zones by
      `dwithin` on their centres and the radius check) over --sample rows spread over the stream.
  shapely_batch<N>: the same per batch of N positions with vectorized calls
      (tree.query(points, predicate="dwithin", distance=corridors), query_nearest on the array,
      ...), over the first --batch-rows rows (default all). Results are left as arrays
      (in_corridor, distance, pairs of row and zone), not turned into Python lists.

Writes shapely_results.csv (row_index,in_corridor,distance_m,zone_ids) for the sampled rows, and
checks that the batch calls give the same facts on those rows. Summary lines on stdout:
`method positions_per_s`; details on stderr.
"""

import argparse
import math
import os
import sys

import numpy as np
import shapely
from shapely import STRtree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Timer, log  # noqa: E402

A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
SPACING = 1_000_000.0  # metres between the moves' planes
GRID = 64


class Frames:
    """Per-move local tangent planes, indexed by a dense move index."""

    def __init__(self, lon0, lat0):
        self.lam0 = np.radians(np.asarray(lon0, dtype=float))
        self.phi0 = np.radians(np.asarray(lat0, dtype=float))
        self.x0, self.y0, self.z0 = ecef(self.lam0, self.phi0)
        self.sl, self.cl = np.sin(self.lam0), np.cos(self.lam0)
        self.sp, self.cp = np.sin(self.phi0), np.cos(self.phi0)
        k = np.arange(len(lon0))
        self.ox = (k % GRID) * SPACING
        self.oy = (k // GRID) * SPACING
        # Plain Python copies for the scalar (per-position) path.
        self.py = [tuple(float(a[i]) for a in (self.x0, self.y0, self.z0, self.sl, self.cl, self.sp,
                                                self.cp, self.ox, self.oy)) for i in range(len(k))]

    def project(self, k, lon, lat):
        """Vectorized: move indexes k, degrees -> (x, y) metres in the shared plane."""
        x, y, z = ecef(np.radians(lon), np.radians(lat))
        dx, dy, dz = x - self.x0[k], y - self.y0[k], z - self.z0[k]
        e = -self.sl[k] * dx + self.cl[k] * dy
        n = -self.sp[k] * self.cl[k] * dx - self.sp[k] * self.sl[k] * dy + self.cp[k] * dz
        return e + self.ox[k], n + self.oy[k]

    def project1(self, k, lon, lat):
        """Scalar version of project()."""
        x0, y0, z0, sl, cl, sp, cp, ox, oy = self.py[k]
        lam, phi = math.radians(lon), math.radians(lat)
        s = math.sin(phi)
        c = math.cos(phi)
        nn = A / math.sqrt(1.0 - E2 * s * s)
        dx = nn * c * math.cos(lam) - x0
        dy = nn * c * math.sin(lam) - y0
        dz = nn * (1.0 - E2) * s - z0
        return -sl * dx + cl * dy + ox, -sp * cl * dx - sp * sl * dy + cp * dz + oy


def ecef(lam, phi):
    s = np.sin(phi)
    c = np.cos(phi)
    n = A / np.sqrt(1.0 - E2 * s * s)
    return n * c * np.cos(lam), n * c * np.sin(lam), n * (1.0 - E2) * s


class Index:
    def __init__(self, data_dir):
        routes = common.load_routes(data_dir)
        zones = common.load_zones(data_dir)
        self.move_ids = np.array([m for m, _, _ in routes])
        self.kindex = {m: k for k, m in enumerate(self.move_ids.tolist())}
        self.corridor = np.array([c for _, c, _ in routes])
        coords = [np.array(common.parse_coords(t)) for _, _, t in routes]
        lon0 = [(c[:, 0].min() + c[:, 0].max()) / 2 for c in coords]
        lat0 = [(c[:, 1].min() + c[:, 1].max()) / 2 for c in coords]
        self.frames = Frames(lon0, lat0)

        # Route segments.
        seg_parts, seg_move = [], []
        for k, c in enumerate(coords):
            x, y = self.frames.project(np.full(len(c), k), c[:, 0], c[:, 1])
            xy = np.column_stack([x, y])
            seg_parts.append(np.stack([xy[:-1], xy[1:]], axis=1))
            seg_move.append(np.full(len(c) - 1, k))
        segs = np.concatenate(seg_parts)
        self.seg_move = np.concatenate(seg_move)
        with Timer() as t:
            self.seg_geoms = shapely.linestrings(segs)
            self.seg_tree = STRtree(self.seg_geoms)
        log(f"shapely: {len(segs)} route segments, STRtree built in {t.s:.1f} s")

        # Zones: polygons in one tree, circle centres in another.
        poly_geoms, poly_ids, poly_move = [], [], []
        cx, cy, cr, circ_ids, circ_move = [], [], [], [], []
        for z in zones:
            k = self.kindex[z["move_id"]]
            c = np.array(common.parse_coords(z["coords"]))
            x, y = self.frames.project(np.full(len(c), k), c[:, 0], c[:, 1])
            if z["shape"] == "polygon":
                poly_geoms.append(shapely.polygons(np.column_stack([x, y])))
                poly_ids.append(z["zone_id"])
                poly_move.append(k)
            else:
                cx.append(x[0])
                cy.append(y[0])
                cr.append(z["radius_m"])
                circ_ids.append(z["zone_id"])
                circ_move.append(k)
        self.poly_ids = np.array(poly_ids)
        self.poly_move = np.array(poly_move)
        self.poly_tree = STRtree(poly_geoms)
        self.circ_x, self.circ_y, self.circ_r = np.array(cx), np.array(cy), np.array(cr)
        self.circ_ids = np.array(circ_ids)
        self.circ_move = np.array(circ_move)
        self.circ_tree = STRtree(shapely.points(self.circ_x, self.circ_y))
        self.max_radius = float(self.circ_r.max()) if len(cr) else 0.0
        # Plain lists for the scalar path.
        self.circ_list = list(zip(cx, cy, cr, circ_ids, circ_move))
        self.poly_id_list = poly_ids
        self.poly_move_list = poly_move
        self.corridor_list = self.corridor.tolist()
        self.seg_move_list = self.seg_move.tolist()
        log(f"shapely: {len(poly_ids)} polygon zones, {len(circ_ids)} circle zones")

    def one(self, k, lon, lat):
        """Facts for one position of move index k: (in_corridor, distance_m, [zone_ids])."""
        x, y = self.frames.project1(k, lon, lat)
        p = shapely.Point(x, y)
        hits = self.seg_tree.query(p, predicate="dwithin", distance=self.corridor_list[k])
        inside = any(self.seg_move_list[j] == k for j in hits)
        _, dist = self.seg_tree.query_nearest(p, return_distance=True, all_matches=False)
        zones = [self.poly_id_list[j] for j in self.poly_tree.query(p, predicate="intersects")
                 if self.poly_move_list[j] == k]
        for j in self.circ_tree.query(p, predicate="dwithin", distance=self.max_radius):
            zx, zy, zr, zid, zk = self.circ_list[j]
            if zk == k and math.hypot(x - zx, y - zy) <= zr:
                zones.append(zid)
        return inside, float(dist[0]), zones

    def batch(self, k, lon, lat):
        """Vectorized facts: (in_corridor[n], distance[n], zone_rows, zone_ids)."""
        x, y = self.frames.project(k, lon, lat)
        pts = shapely.points(x, y)
        pi, sj = self.seg_tree.query(pts, predicate="dwithin", distance=self.corridor[k])
        own = self.seg_move[sj] == k[pi]
        inside = np.zeros(len(pts), dtype=bool)
        inside[pi[own]] = True
        _, dist = self.seg_tree.query_nearest(pts, return_distance=True, all_matches=False)
        qi, zj = self.poly_tree.query(pts, predicate="intersects")
        own = self.poly_move[zj] == k[qi]
        rows_p, ids_p = qi[own], self.poly_ids[zj[own]]
        ci, cj = self.circ_tree.query(pts, predicate="dwithin", distance=self.max_radius)
        ok = (self.circ_move[cj] == k[ci]) & (
            np.hypot(x[ci] - self.circ_x[cj], y[ci] - self.circ_y[cj]) <= self.circ_r[cj])
        rows = np.concatenate([rows_p, ci[ok]])
        ids = np.concatenate([ids_p, self.circ_ids[cj[ok]]])
        return inside, dist, rows, ids


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", default="target/geofence-bench")
    ap.add_argument("--sample", type=int, default=20000, help="rows for the per-position run")
    ap.add_argument("--batch", type=int, default=4000)
    ap.add_argument("--batch-rows", type=int, default=None, help="rows for the batch run (default all)")
    ap.add_argument("--out", default=None, help="results file (default DATA/shapely_results.csv)")
    args = ap.parse_args()
    log(f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}, numpy {np.__version__}; "
        f"load average {common.load_average()}")

    with Timer() as t:
        idx = Index(args.data)
        moves, lons, lats = common.load_positions(args.data)
    log(f"shapely: loaded data and built indexes in {t.s:.1f} s")
    kof = idx.kindex
    kk = np.array([kof[m] for m in moves])
    lon_a, lat_a = np.array(lons), np.array(lats)
    total = len(moves)
    sample = common.sample_rows(total, args.sample)

    # Per position.
    results = []
    with Timer() as t:
        for i in sample:
            results.append(idx.one(kof[moves[i]], lons[i], lats[i]))
    pps = len(sample) / t.s
    log(f"shapely per position: {len(sample)} positions in {t.s:.2f} s "
        f"({1e6 * t.s / len(sample):.1f} us each); load {common.load_average()}")
    print(f"shapely_per_position {pps:.0f}", flush=True)
    out = args.out or os.path.join(args.data, "shapely_results.csv")
    common.write_results(out, [(i, ins, d, z) for i, (ins, d, z) in zip(sample, results)])
    log(f"shapely: wrote {out}")

    # Batches over the stream.
    n = total if args.batch_rows is None else min(total, args.batch_rows)
    with Timer() as t:
        inside_n = 0
        for s in range(0, n, args.batch):
            e = min(n, s + args.batch)
            inside, dist, rows, ids = idx.batch(kk[s:e], lon_a[s:e], lat_a[s:e])
            inside_n += int(inside.sum())
    bps = n / t.s
    log(f"shapely batch of {args.batch}: {n} positions in {t.s:.2f} s ({1e6 * t.s / n:.2f} us each), "
        f"{inside_n / n:.1%} in corridor; load {common.load_average()}")
    print(f"shapely_batch{args.batch} {bps:.0f}", flush=True)

    # The batch calls must give the per-position facts on the sampled rows.
    sa = np.array(sample)
    bad = 0
    for s in range(0, len(sa), args.batch):
        part = sa[s:s + args.batch]
        inside, dist, rows, ids = idx.batch(kk[part], lon_a[part], lat_a[part])
        zones = [[] for _ in part]
        for r, z in zip(rows.tolist(), ids.tolist()):
            zones[r].append(z)
        for j, i in enumerate(part.tolist()):
            ins1, d1, z1 = results[s + j]
            if bool(inside[j]) != ins1 or abs(float(dist[j]) - d1) > 1e-6 or sorted(zones[j]) != sorted(z1):
                bad += 1
    log(f"shapely: batch vs per-position on the {len(sa)} sampled rows: {bad} differences")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
