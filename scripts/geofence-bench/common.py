"""Shared by the benchmark scripts: reading the CSV files, the sampled rows, the results file."""

import csv
import os
import random
import sys
import time

csv.field_size_limit(1 << 30)

# Rows sampled for per-position runs and for the results files: the same for every method, so
# results can be compared row by row (the results files carry the row index anyway).
SAMPLE_SEED = 20240601


def parse_coords(text):
    """`lon lat;lon lat;...` -> [(lon, lat), ...]"""
    out = []
    for pair in text.split(";"):
        lon, lat = pair.split()
        out.append((float(lon), float(lat)))
    return out


def load_routes(data_dir):
    """[(move_id, corridor_m, coords_text)] in file order."""
    with open(os.path.join(data_dir, "routes.csv"), newline="") as f:
        return [(int(r["move_id"]), float(r["corridor_m"]), r["coords"]) for r in csv.DictReader(f)]


def load_zones(data_dir):
    with open(os.path.join(data_dir, "zones.csv"), newline="") as f:
        rows = []
        for r in csv.DictReader(f):
            rows.append({
                "zone_id": int(r["zone_id"]),
                "move_id": int(r["move_id"]),
                "kind": r["kind"],
                "name": r["name"],
                "shape": r["shape"],
                "coords": r["coords"],
                "radius_m": float(r["radius_m"]) if r["radius_m"] else None,
            })
        return rows


def load_positions(data_dir, limit=None):
    """(move_ids, lons, lats) as lists, row i = data row i of positions.csv (0-based)."""
    moves, lons, lats = [], [], []
    with open(os.path.join(data_dir, "positions.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        assert header == ["move_id", "vehicle", "lon", "lat", "t_ms"], header
        for i, r in enumerate(reader):
            if limit is not None and i >= limit:
                break
            moves.append(int(r[0]))
            lons.append(float(r[2]))
            lats.append(float(r[3]))
    return moves, lons, lats


def sample_rows(total, n):
    """`n` row indexes out of `total`, spread over the whole stream, ascending."""
    n = min(n, total)
    return sorted(random.Random(SAMPLE_SEED).sample(range(total), n))


def write_results(path, rows):
    """rows: (row_index, in_corridor, distance_m, zone_ids) ascending by row_index."""
    with open(path, "w", newline="") as f:
        f.write("row_index,in_corridor,distance_m,zone_ids\n")
        for i, inside, dist, zones in rows:
            zs = ";".join(str(z) for z in sorted(zones))
            f.write(f"{i},{'true' if inside else 'false'},{dist:.3f},{zs}\n")


def read_results(path):
    """{row_index: (in_corridor, distance_m, frozenset(zone_ids))}"""
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            zones = frozenset(int(z) for z in r["zone_ids"].split(";") if z)
            out[int(r["row_index"])] = (r["in_corridor"] == "true", float(r["distance_m"]), zones)
    return out


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
