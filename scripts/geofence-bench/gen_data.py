#!/usr/bin/env python3
"""Synthetic, deterministic data for the geofence benchmark: routes, zones and a position stream.

Plain Python 3 (no numpy). The same seed and sizes always give byte-identical files.

    python3 scripts/geofence-bench/gen_data.py                       # 1,000 moves, 1,000,000 positions
    python3 scripts/geofence-bench/gen_data.py --moves 10 --positions 10000 /tmp/gf-small

Writes routes.csv, zones.csv and positions.csv into the output directory (default
target/geofence-bench); README.md beside this file gives the format.
"""

import argparse
import math
import os
import random
import sys
import time

VERTICES = 2000  # per route
ZONES_PER_MOVE = 10
CORRIDOR_M = 150
T0_MS = 1_700_000_000_000  # first fix time of the stream (2023-11-14T22:13:20Z)

# WGS 84
A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)


def metres_per_degree(lat):
    """(east metres per degree of longitude, north metres per degree of latitude) at `lat`."""
    s = math.sin(math.radians(lat))
    w = 1.0 - E2 * s * s
    n = A / math.sqrt(w)
    m = A * (1.0 - E2) / (w * math.sqrt(w))
    return n * math.cos(math.radians(lat)) * math.pi / 180.0, m * math.pi / 180.0


class Move:
    """One move: its route in local metres (east, north of the centre) and its lon/lat frame."""

    __slots__ = ("move_id", "lon0", "lat0", "kx", "ky", "xs", "ys", "cum")

    def to_lonlat(self, x, y):
        return self.lon0 + x / self.kx, self.lat0 + y / self.ky


def gen_route(move_id, seed):
    """A random-walk road of VERTICES vertices with 20-60 m steps and smooth turns, kept within
    about 50 km of a centre (so within a ~100 km box); some double back over themselves."""
    rng = random.Random(f"{seed}/route/{move_id}")
    mv = Move()
    mv.move_id = move_id
    mv.lat0 = rng.uniform(40.6, 54.4)
    mv.kx, mv.ky = metres_per_degree(mv.lat0)
    margin = 50_000.0 / mv.kx
    mv.lon0 = rng.uniform(0.0 + margin, 20.0 - margin)

    x, y = rng.uniform(-30_000, 30_000), rng.uniform(-30_000, 30_000)
    heading = rng.uniform(-math.pi, math.pi)
    turn = 0.0  # radians per metre
    junction, junction_steps = 0.0, 0  # a turn at a junction, spread over a few vertices
    xs, ys = [x], [y]
    # A U-turn back over an earlier stretch (a road taken there and back, or a detour).
    doubles_back = rng.random() < 0.15
    u_turn_at = rng.randint(400, 1400) if doubles_back else -1
    straightness = rng.uniform(0.75, 0.85)
    while len(xs) < VERTICES:
        if len(xs) == u_turn_at:
            back = min(rng.randint(100, 400), len(xs) - 2)
            side = rng.uniform(-12.0, 12.0)  # the other side of the road, or the same lane
            n = len(xs)
            for k in range(n - 2, n - 2 - back, -1):
                dx, dy = xs[k + 1] - xs[k], ys[k + 1] - ys[k]
                d = math.hypot(dx, dy) or 1.0
                xs.append(xs[k] - side * dy / d)
                ys.append(ys[k] + side * dx / d)
                if len(xs) >= VERTICES:
                    break
            x, y = xs[-1], ys[-1]
            heading = math.atan2(ys[-1] - ys[-2], xs[-1] - xs[-2])
            turn = 0.0
            continue
        step = rng.uniform(20.0, 60.0)
        # Curvature: a damped random walk (bends), at most one turn of 60 m radius.
        turn = turn * straightness + rng.gauss(0.0, 0.0002)
        turn = max(-1 / 60.0, min(1 / 60.0, turn))
        r = math.hypot(x, y)
        if r > 40_000.0:  # steer back towards the centre
            want = math.atan2(-y, -x)
            diff = (want - heading + math.pi) % (2 * math.pi) - math.pi
            turn += max(-1 / 400.0, min(1 / 400.0, diff / 2000.0)) * (r - 40_000.0) / 5_000.0
            turn = max(-1 / 60.0, min(1 / 60.0, turn))
        if junction_steps == 0 and rng.random() < 0.01:
            junction_steps = rng.randint(2, 6)
            junction = rng.choice((-1, 1)) * math.radians(rng.uniform(20, 100)) / junction_steps
        if junction_steps > 0:
            junction_steps -= 1
            heading += junction
        heading += turn * step
        x += step * math.cos(heading)
        y += step * math.sin(heading)
        xs.append(x)
        ys.append(y)
    del xs[VERTICES:], ys[VERTICES:]
    cum = [0.0]
    for k in range(1, VERTICES):
        cum.append(cum[-1] + math.hypot(xs[k] - xs[k - 1], ys[k] - ys[k - 1]))
    mv.xs, mv.ys, mv.cum = xs, ys, cum
    return mv


def fmt(lon, lat):
    return f"{lon:.7f} {lat:.7f}"


def route_row(mv):
    to = mv.to_lonlat
    coords = ";".join(fmt(*to(x, y)) for x, y in zip(mv.xs, mv.ys))
    return f"{mv.move_id},{CORRIDOR_M},{coords}\n"


def gen_zones(mv, seed, first_zone_id):
    """Ten zones: origin at the start, destination at the end, four allowed stops on or beside
    the road and four forbidden areas 150-800 m off it (a few straddle the road)."""
    rng = random.Random(f"{seed}/zones/{mv.move_id}")
    xs, ys = mv.xs, mv.ys
    n = len(xs)
    picks = sorted(rng.sample(range(100, n - 100), 8))
    kinds = ["allowed_stop"] * 4 + ["forbidden"] * 4
    rng.shuffle(kinds)
    specs = [("origin", 0, 0.0, 200.0, 500.0), ("destination", n - 1, 0.0, 200.0, 500.0)]
    for k, idx in zip(kinds, picks):
        if k == "allowed_stop":
            specs.append((k, idx, rng.uniform(0.0, 100.0), 90.0, 300.0))
        else:
            off = rng.uniform(0.0, 150.0) if rng.random() < 0.15 else rng.uniform(150.0, 800.0)
            specs.append((k, idx, off, 90.0, 500.0))
    rows = []
    counters = {}
    for zi, (kind, idx, offset, lo, hi) in enumerate(specs):
        a, b = max(idx - 1, 0), min(idx + 1, n - 1)
        dx, dy = xs[b] - xs[a], ys[b] - ys[a]
        d = math.hypot(dx, dy) or 1.0
        side = rng.choice((-1.0, 1.0))
        cx = xs[idx] - side * offset * dy / d
        cy = ys[idx] + side * offset * dx / d
        counters[kind] = counters.get(kind, 0) + 1
        name = f"m{mv.move_id:04}-{kind}-{counters[kind]}"
        zone_id = first_zone_id + zi
        if rng.random() < 0.5:
            # Circle: radius 50-500 m (origin/destination 100-250 m).
            radius = rng.uniform(lo / 2, hi / 2) if kind in ("origin", "destination") else rng.uniform(50.0, hi)
            rows.append(f"{zone_id},{mv.move_id},{kind},{name},circle,{fmt(*mv.to_lonlat(cx, cy))},{radius:.1f}\n")
        else:
            # Star-shaped about its centre with strictly increasing angles, hence simple.
            across = rng.uniform(lo, hi)
            nv = rng.randint(5, 12)
            rot = rng.uniform(0, 2 * math.pi)
            ring = []
            for j in range(nv):
                ang = rot + 2 * math.pi * (j + rng.uniform(-0.3, 0.3)) / nv
                rr = across / 2 * rng.uniform(0.55, 1.0)
                ring.append(fmt(*mv.to_lonlat(cx + rr * math.cos(ang), cy + rr * math.sin(ang))))
            ring.append(ring[0])
            rows.append(f"{zone_id},{mv.move_id},{kind},{name},polygon,{';'.join(ring)},\n")
    return rows


class Vehicle:
    __slots__ = ("mv", "rng", "s", "seg", "speed", "dwell", "dev_len", "dev_j", "dev_amp",
                 "dev_side", "dev_ramp", "phase", "name")


def make_vehicle(mv, seed, steps):
    rng = random.Random(f"{seed}/vehicle/{mv.move_id}")
    v = Vehicle()
    v.mv, v.rng = mv, rng
    v.name = f"v{mv.move_id:04}"
    v.speed = rng.uniform(12.0, 25.0)
    length = mv.cum[-1]
    travel = v.speed * steps
    mode = rng.random()
    v.dwell = 0
    if mode < 0.1:  # leaves the origin after a wait there
        v.s = 0.0
        v.dwell = rng.randint(0, 120)
    elif mode < 0.2:  # arrives at the destination and waits there
        v.s = max(0.0, length - travel * rng.uniform(0.6, 0.95))
    else:
        v.s = rng.uniform(0.0, max(0.0, length - travel))
    v.seg = 0
    v.dev_len = v.dev_j = 0
    v.dev_amp = v.dev_side = 0.0
    v.dev_ramp = 1
    v.phase = rng.randrange(1000)
    return v


# A deviation starts with this chance per moving step; stretches last 30-150 s (mean 90 s), so
# about 5% of positions are off to the side.
DEV_START_P = 0.05 / (0.95 * 90.0)


def step_vehicle(v):
    """Advance one second and return (lon, lat)."""
    rng = v.rng
    mv = v.mv
    cum = mv.cum
    if v.dwell > 0:
        v.dwell -= 1
    else:
        v.speed = min(30.0, max(8.0, v.speed + rng.gauss(0.0, 0.5)))
        v.s = min(cum[-1], v.s + v.speed)
    s = v.s
    seg = v.seg
    last = len(cum) - 2
    while seg < last and cum[seg + 1] < s:
        seg += 1
    v.seg = seg
    xs, ys = mv.xs, mv.ys
    dx, dy = xs[seg + 1] - xs[seg], ys[seg + 1] - ys[seg]
    length = cum[seg + 1] - cum[seg]
    f = (s - cum[seg]) / length if length > 0 else 0.0
    f = min(1.0, max(0.0, f))
    x, y = xs[seg] + f * dx, ys[seg] + f * dy
    # Sideways deviation: ramps up to 100-1000 m, stays, ramps back.
    if v.dev_j < v.dev_len:
        j = v.dev_j
        v.dev_j += 1
        off = v.dev_amp * min(1.0, (j + 1) / v.dev_ramp, (v.dev_len - j) / v.dev_ramp)
        d = math.hypot(dx, dy) or 1.0
        x -= v.dev_side * off * dy / d
        y += v.dev_side * off * dx / d
    elif v.dwell == 0 and s < cum[-1] and rng.random() < DEV_START_P:
        v.dev_len = rng.randint(30, 150)
        v.dev_j = 0
        v.dev_amp = rng.uniform(100.0, 1000.0)
        v.dev_side = rng.choice((-1.0, 1.0))
        v.dev_ramp = max(3, min(v.dev_len // 3, int(v.dev_amp / 40.0)))
    # GPS noise 0-8 m.
    r = rng.uniform(0.0, 8.0)
    a = rng.uniform(0.0, 2 * math.pi)
    return mv.to_lonlat(x + r * math.cos(a), y + r * math.sin(a))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="target/geofence-bench")
    ap.add_argument("--moves", type=int, default=1000)
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t = time.time()

    moves = [gen_route(i, args.seed) for i in range(1, args.moves + 1)]
    with open(os.path.join(args.out, "routes.csv"), "w", newline="") as f:
        f.write("move_id,corridor_m,coords\n")
        for mv in moves:
            f.write(route_row(mv))
    with open(os.path.join(args.out, "zones.csv"), "w", newline="") as f:
        f.write("zone_id,move_id,kind,name,shape,coords,radius_m\n")
        for k, mv in enumerate(moves):
            f.writelines(gen_zones(mv, args.seed, 1 + k * ZONES_PER_MOVE))

    steps = -(-args.positions // max(1, args.moves))
    vehicles = [make_vehicle(mv, args.seed, steps) for mv in moves]
    vehicles.sort(key=lambda v: (v.phase, v.mv.move_id))  # stream order within each second
    left = args.positions
    with open(os.path.join(args.out, "positions.csv"), "w", newline="") as f:
        f.write("move_id,vehicle,lon,lat,t_ms\n")
        for step in range(steps):
            if left <= 0:
                break
            base = T0_MS + step * 1000
            out = []
            for v in vehicles[:left]:
                lon, lat = step_vehicle(v)
                out.append(f"{v.mv.move_id},{v.name},{lon:.7f},{lat:.7f},{base + v.phase}\n")
            left -= len(out)
            f.writelines(out)
    print(f"wrote {args.moves} routes, {args.moves * ZONES_PER_MOVE} zones, {args.positions} positions "
          f"to {args.out} in {time.time() - t:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
