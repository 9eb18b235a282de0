#!/usr/bin/env python3
"""Geofence facts per position with PostGIS (geography, WGS 84): corridor, distance, zones.

    pip install 'psycopg[binary]'          # psycopg 3
    apt-get install -y postgresql-15-postgis-3
    python3 scripts/geofence-bench/postgis_bench.py [DATA_DIR] [--dsn DSN] [--sample 20000]
        [--batch 4000] [--batch-rows 200000] [--skip-load]

DSN default: $GF_PG_DSN or postgres://postgres@127.0.0.1:54329/geofence_bench. The database is
created if missing (through the server's `postgres` database) and gets `CREATE EXTENSION postgis`.

Tables (dropped and loaded again unless --skip-load):
  routes(move_id int PK, corridor_m float8, geog geography(LineString,4326))   GiST on geog
  zones(zone_id int PK, move_id int, kind, name, shape, geog geography(Geometry,4326), radius_m)
      polygons as geography polygons, circles as geography points + radius_m;
      GiST on geog, btree on move_id

Measured (positions/s, client in Python over TCP on 127.0.0.1; session with jit = off unless --jit):
  postgis_per_position: one prepared query per position, waiting for each answer:
      ST_DWithin(route, pos, corridor_m), ST_Distance(route, pos) and the ids of the move's zones
      with ST_DWithin(zone, pos, radius_m) for circles, ST_Covers(zone, pos) for polygons;
      over --sample rows spread over the stream.
  postgis_per_position_pipelined: the same queries sent in pipeline mode (psycopg executemany,
      no wait for each round trip), same rows.
  postgis_set_batch<N>: one query per batch of N positions passed as arrays (unnest), joined to
      routes and zones, returning the same facts for every position; over the first --batch-rows.
      Positions are sorted by move in the query (PostGIS keeps a tree of the geography it saw
      last at each call site, so consecutive positions of one route reuse it).
  postgis_segments_*: the same three runs on a variant schema, not part of the brief's list
      but what one would try next: route_segments(move_id, seq, geog), one row per segment
      (1,999 per route) with a GiST index; corridor = EXISTS a segment of the move within
      corridor_m (index lookup), distance = min ST_Distance over the 8 segments nearest by
      KNN (<->). Left out with --no-segments.

Writes postgis_results.csv (row_index,in_corridor,distance_m,zone_ids) for the sampled rows from
the whole-route per-position query, checks that each set-based query gives the same facts as
its per-position query on those rows, and reports where the segments variant differs. Summary lines on stdout:
`method positions_per_s`; details on stderr.
"""

import argparse
import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Timer, log  # noqa: E402

DEFAULT_DSN = "postgres://postgres@127.0.0.1:54329/geofence_bench"

SCHEMA = """
DROP TABLE IF EXISTS routes, zones, routes_raw, zones_raw, route_segments;
CREATE UNLOGGED TABLE routes_raw (move_id int, corridor_m float8, coords text);
CREATE UNLOGGED TABLE zones_raw (zone_id int, move_id int, kind text, name text, shape text,
                                 coords text, radius_m float8);
CREATE TABLE routes (
    move_id    int PRIMARY KEY,
    corridor_m float8 NOT NULL,
    geog       geography(LineString, 4326) NOT NULL
);
CREATE TABLE zones (
    zone_id  int PRIMARY KEY,
    move_id  int NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('origin', 'destination', 'allowed_stop', 'forbidden')),
    name     text NOT NULL,
    shape    text NOT NULL CHECK (shape IN ('polygon', 'circle')),
    geog     geography(Geometry, 4326) NOT NULL,
    radius_m float8,
    CHECK ((shape = 'circle') = (radius_m IS NOT NULL))
);
"""

BUILD = """
INSERT INTO routes
SELECT move_id, corridor_m,
       ST_GeogFromText('SRID=4326;LINESTRING(' || replace(coords, ';', ',') || ')')
FROM routes_raw;
INSERT INTO zones
SELECT zone_id, move_id, kind, name, shape,
       CASE shape
         WHEN 'polygon' THEN ST_GeogFromText('SRID=4326;POLYGON((' || replace(coords, ';', ',') || '))')
         ELSE ST_GeogFromText('SRID=4326;POINT(' || coords || ')')
       END,
       radius_m
FROM zones_raw;
DROP TABLE routes_raw, zones_raw;
CREATE INDEX routes_geog ON routes USING gist (geog);
CREATE INDEX zones_geog ON zones USING gist (geog);
CREATE INDEX zones_move ON zones (move_id);
ANALYZE routes;
ANALYZE zones;
"""

# The zones of the position's move that hold it: circles by geodesic distance to the centre,
# polygons by ST_Covers (boundary counts as inside).
ZONE_TEST = """CASE WHEN z.shape = 'circle' THEN ST_DWithin(z.geog, p.g, z.radius_m)
                    ELSE ST_Covers(z.geog, p.g) END"""

PER_POSITION = f"""
SELECT ST_DWithin(r.geog, p.g, r.corridor_m) AS in_corridor,
       ST_Distance(r.geog, p.g) AS distance_m,
       ARRAY(SELECT z.zone_id FROM zones z
             WHERE z.move_id = r.move_id AND {ZONE_TEST}
             ORDER BY z.zone_id) AS zone_ids
FROM routes r,
     LATERAL (SELECT ST_SetSRID(ST_MakePoint(%s::float8, %s::float8), 4326)::geography AS g) p
WHERE r.move_id = %s::int
"""

# Positions sorted by move, so that consecutive calls see the same route (PostGIS keeps a tree
# of the last geography seen by each call site and reuses it for the same route).
SET_BASED = f"""
WITH p AS MATERIALIZED (
    SELECT u.i, u.m, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326)::geography AS g
    FROM unnest(%s::int8[], %s::int4[], %s::float8[], %s::float8[]) AS u(i, m, x, y)
    ORDER BY u.m
)
SELECT p.i,
       ST_DWithin(r.geog, p.g, r.corridor_m) AS in_corridor,
       ST_Distance(r.geog, p.g) AS distance_m,
       ARRAY(SELECT z.zone_id FROM zones z
             WHERE z.move_id = p.m AND {ZONE_TEST}
             ORDER BY z.zone_id) AS zone_ids
FROM p JOIN routes r ON r.move_id = p.m
"""


# Variant: each route cut into its segments, one row each, with a GiST index; the corridor test
# becomes an index lookup and the distance a nearest-neighbour search.
SEGMENTS = """
DROP TABLE IF EXISTS route_segments;
CREATE TABLE route_segments AS
SELECT r.move_id, (d.path)[1] AS seq, d.geom::geography AS geog
FROM routes r, LATERAL ST_DumpSegments(r.geog::geometry) d;
CREATE INDEX route_segments_geog ON route_segments USING gist (geog);
ANALYZE route_segments;
"""

# In the corridor: some segment of the move within corridor_m (the GiST index finds the
# segments near the position). Distance: the geodesic minimum over the 8 segments nearest on the
# sphere (KNN on the index), which holds the nearest on the spheroid.
SEG_FACTS = f"""EXISTS (SELECT 1 FROM route_segments s
               WHERE s.move_id = r.move_id AND ST_DWithin(s.geog, p.g, r.corridor_m)) AS in_corridor,
       (SELECT min(ST_Distance(n.geog, p.g))
        FROM (SELECT s.geog FROM route_segments s WHERE s.move_id = r.move_id
              ORDER BY s.geog <-> p.g LIMIT 8) n) AS distance_m,
       ARRAY(SELECT z.zone_id FROM zones z
             WHERE z.move_id = r.move_id AND {ZONE_TEST}
             ORDER BY z.zone_id) AS zone_ids"""

SEG_PER_POSITION = f"""
SELECT {SEG_FACTS}
FROM routes r,
     LATERAL (SELECT ST_SetSRID(ST_MakePoint(%s::float8, %s::float8), 4326)::geography AS g) p
WHERE r.move_id = %s::int
"""

SEG_SET_BASED = f"""
WITH p AS MATERIALIZED (
    SELECT u.i, u.m, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326)::geography AS g
    FROM unnest(%s::int8[], %s::int4[], %s::float8[], %s::float8[]) AS u(i, m, x, y)
)
SELECT p.i, {SEG_FACTS}
FROM p JOIN routes r ON r.move_id = p.m
"""


def ensure_database(dsn):
    """Create the database named in the DSN if it is missing, then the postgis extension."""
    parts = urlsplit(dsn)
    dbname = parts.path.lstrip("/") or "geofence_bench"
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as e:
        if f'"{dbname}" does not exist' not in str(e):
            raise
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as a:
            a.execute(f'CREATE DATABASE "{dbname}"')
        log(f"postgis: created database {dbname}")
        conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return conn


def load(conn, data_dir, segments=True):
    with Timer() as t:
        conn.execute(SCHEMA)
        for table, name in (("routes_raw", "routes.csv"), ("zones_raw", "zones.csv")):
            with conn.cursor() as cur, open(os.path.join(data_dir, name), "rb") as f:
                with cur.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
                    while chunk := f.read(1 << 20):
                        cp.write(chunk)
        conn.execute(BUILD)
    n_r = conn.execute("SELECT count(*) FROM routes").fetchone()[0]
    n_z = conn.execute("SELECT count(*) FROM zones").fetchone()[0]
    log(f"postgis: loaded {n_r} routes and {n_z} zones in {t.s:.1f} s")
    if segments:
        with Timer() as t:
            conn.execute(SEGMENTS)
        log(f"postgis: route_segments built and indexed in {t.s:.1f} s")


def run_method(conn, name, per_position, set_based, moves, lons, lats, sample, args):
    """Per position (one by one, then pipelined), then set-based; returns the per-position
    results [(row_index, in_corridor, distance_m, zone_ids)] and the number of rows where the
    set-based query differs from them."""
    label = name.replace("_", " ")
    cur = conn.cursor()
    cur.execute(per_position, (lons[0], lats[0], moves[0]), prepare=True)  # prepare outside the timing
    cur.fetchall()
    results = []
    with Timer() as t:
        for i in sample:
            cur.execute(per_position, (lons[i], lats[i], moves[i]), prepare=True)
            inside, dist, zones = cur.fetchone()
            results.append((i, inside, dist, zones))
    log(f"{label} per position: {len(sample)} positions in {t.s:.2f} s "
        f"({1e6 * t.s / len(sample):.0f} us each); load {common.load_average()}")
    print(f"{name}_per_position {len(sample) / t.s:.0f}", flush=True)

    # Per position, pipelined.
    with Timer() as t:
        cur.executemany(per_position, [(lons[i], lats[i], moves[i]) for i in sample], returning=True)
        piped = []
        while True:
            piped.append(cur.fetchone())
            if not cur.nextset():
                break
    same = sum(1 for r, p in zip(results, piped) if (r[1], r[2], r[3]) == tuple(p))
    log(f"{label} per position, pipelined: {len(sample)} positions in {t.s:.2f} s; "
        f"{same}/{len(sample)} answers equal to the one-by-one run; load {common.load_average()}")
    print(f"{name}_per_position_pipelined {len(sample) / t.s:.0f}", flush=True)

    # Set-based, one query per batch.
    def run_batch(rows):
        cur.execute(set_based, (rows, [moves[i] for i in rows], [lons[i] for i in rows],
                                [lats[i] for i in rows]), prepare=True)
        return cur.fetchall()

    n = min(len(moves), args.batch_rows)
    with Timer() as t:
        inside_n = 0
        for s in range(0, n, args.batch):
            got = run_batch(list(range(s, min(n, s + args.batch))))
            inside_n += sum(1 for r in got if r[1])
    log(f"{label} set-based, batches of {args.batch}: {n} positions in {t.s:.2f} s "
        f"({1e6 * t.s / n:.0f} us each), {inside_n / n:.1%} in corridor; load {common.load_average()}")
    print(f"{name}_set_batch{args.batch} {n / t.s:.0f}", flush=True)

    # The set-based query must give the per-position facts on the sampled rows.
    by_row = {}
    for s in range(0, len(sample), args.batch):
        for i, inside, dist, zones in run_batch(sample[s:s + args.batch]):
            by_row[i] = (inside, dist, zones)
    bad = sum(1 for i, inside, dist, zones in results
              if by_row[i][0] != inside or abs(by_row[i][1] - dist) > 1e-6 or by_row[i][2] != zones)
    log(f"{label}: set-based vs per-position on the {len(sample)} sampled rows: {bad} differences")
    return results, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", default="target/geofence-bench")
    ap.add_argument("--dsn", default=os.environ.get("GF_PG_DSN", DEFAULT_DSN))
    ap.add_argument("--sample", type=int, default=20000, help="rows for the per-position runs")
    ap.add_argument("--batch", type=int, default=4000)
    ap.add_argument("--batch-rows", type=int, default=200000, help="rows for the set-based run")
    ap.add_argument("--skip-load", action="store_true", help="use the tables already loaded")
    ap.add_argument("--no-segments", action="store_true", help="leave out the route_segments variant")
    ap.add_argument("--out", default=None, help="results file (default DATA/postgis_results.csv)")
    ap.add_argument("--jit", action="store_true",
                    help="leave JIT on (it compiles each set-based batch anew: ~0.25 s a batch here)")
    args = ap.parse_args()

    conn = ensure_database(args.dsn)
    server = conn.execute("SHOW server_version").fetchone()[0]
    postgis = conn.execute("SELECT postgis_full_version()").fetchone()[0]
    log(f"postgis: PostgreSQL {server}; {postgis}; psycopg {psycopg.__version__}; "
        f"load average {common.load_average()}")
    if not args.skip_load:
        load(conn, args.data, segments=not args.no_segments)
    if not args.jit:
        conn.execute("SET jit = off")

    moves, lons, lats = common.load_positions(args.data)
    sample = common.sample_rows(len(moves), args.sample)

    results, bad = run_method(conn, "postgis", PER_POSITION, SET_BASED, moves, lons, lats, sample, args)
    out = args.out or os.path.join(args.data, "postgis_results.csv")
    common.write_results(out, results)
    log(f"postgis: wrote {out}")

    if not args.no_segments:
        seg, seg_bad = run_method(conn, "postgis_segments", SEG_PER_POSITION, SEG_SET_BASED,
                                  moves, lons, lats, sample, args)
        bad += seg_bad
        corridor = sum(1 for a, b in zip(results, seg) if a[1] != b[1])
        zones = sum(1 for a, b in zip(results, seg) if a[3] != b[3])
        diffs = sorted((abs(a[2] - b[2]), a[0], a[2], b[2]) for a, b in zip(results, seg))
        _, row, d_route, d_seg = diffs[-1]
        log(f"postgis segments vs whole routes on the sampled rows: {corridor} in_corridor and "
            f"{zones} zone_ids differences; distance differs by more than 1 cm on "
            f"{sum(1 for d in diffs if d[0] > 0.01)} rows, at most at row {row}: "
            f"{d_route:.3f} m (whole route) vs {d_seg:.3f} m (segments)")
    conn.close()
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
