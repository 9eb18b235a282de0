#!/usr/bin/env python3
"""Compare two results files (row_index,in_corridor,distance_m,zone_ids) on their common rows.

    python3 scripts/geofence-bench/compare.py A.csv B.csv [--data DIR] [--show 20]

Prints the number of common rows, the in_corridor disagreements (with both distances, so a
boundary case shows as such), the distance differences and the zone_ids disagreements. With
--data, disagreeing rows are shown with their move and position. Exit status 0 whatever the
counts: it reports, it does not judge.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--data", default=None, help="data dir, to show positions of disagreeing rows")
    ap.add_argument("--show", type=int, default=10)
    args = ap.parse_args()
    a, b = common.read_results(args.a), common.read_results(args.b)
    na, nb = os.path.basename(args.a), os.path.basename(args.b)
    rows = sorted(set(a) & set(b))
    print(f"{len(rows)} common rows ({len(a)} in {na}, {len(b)} in {nb})")
    if not rows:
        return
    pos = None
    if args.data:
        moves, lons, lats = common.load_positions(args.data, limit=rows[-1] + 1)
        pos = lambda i: f" move {moves[i]} at {lons[i]:.7f} {lats[i]:.7f}"  # noqa: E731
    else:
        pos = lambda i: ""  # noqa: E731

    corridor = [i for i in rows if a[i][0] != b[i][0]]
    diffs = sorted(abs(a[i][1] - b[i][1]) for i in rows)
    rel = sorted(abs(a[i][1] - b[i][1]) / a[i][1] for i in rows if a[i][1] >= 10.0) or [0.0]
    zones = [i for i in rows if a[i][2] != b[i][2]]
    inside = sum(1 for i in rows if a[i][0])
    with_zone = sum(1 for i in rows if a[i][2])

    def pct(xs, q):
        return xs[min(len(xs) - 1, int(q * len(xs)))]

    print(f"in_corridor: {len(corridor)} disagreements ({inside} rows inside per {na})")
    for i in corridor[:args.show]:
        print(f"  row {i}: {na} {a[i][0]} {a[i][1]:.3f} m, {nb} {b[i][0]} {b[i][1]:.3f} m{pos(i)}")
    print(f"distance_m: |difference| median {pct(diffs, 0.5):.4f} m, p99 {pct(diffs, 0.99):.4f} m, "
          f"max {diffs[-1]:.4f} m; relative max {rel[-1]:.1e} (rows 10 m or more away)")
    worst = sorted(rows, key=lambda i: -abs(a[i][1] - b[i][1]))[:3]
    for i in worst:
        print(f"  row {i}: {na} {a[i][1]:.3f} m, {nb} {b[i][1]:.3f} m{pos(i)}")
    print(f"zone_ids: {len(zones)} disagreements ({with_zone} rows in some zone per {na})")
    for i in zones[:args.show]:
        print(f"  row {i}: {na} {sorted(a[i][2])}, {nb} {sorted(b[i][2])}{pos(i)}")


if __name__ == "__main__":
    main()
