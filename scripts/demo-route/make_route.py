#!/usr/bin/env python3
"""Makes data/drives/andorra/demo-route.json: the route `convoy demo` drives, on the real roads
of the OpenStreetMap extract of Andorra (ODbL, (c) OpenStreetMap contributors).

    python3 -m venv target/demo-route-venv
    target/demo-route-venv/bin/pip install osmium==4.3.2
    target/demo-route-venv/bin/python scripts/demo-route/make_route.py \
        data/osm/andorra.osm.pbf data/drives/andorra/demo-route.json

Deterministic: the same extract gives the same file. What it picks, and why:
- the route: the quickest way by road (Dijkstra on travel time at each road's speed, one-way
  streets and roundabouts driven their way only) from a car park in Santa Coloma's business
  strip on the CG-1 (the depot) to one at Encamp's southern entrance on the CG-2 (the data
  centre), through Andorra la Vella and Escaldes; and the quickest way back, which takes the
  other carriageway where the road is split and the other side of each roundabout;
- each segment's speed: its `maxspeed`, else a default per highway class, never above what a
  loaded truck drives on these roads (TRUCK_MAX_KMH); a short piece without `maxspeed` (under
  UNTAGGED_GAP_M, a junction or bridge the mapper split off) between two pieces with the same
  `maxspeed` has theirs: the limit does not drop for 50 m of untagged road;
- the detour: the shortest way off the route that starts in the route's first 300 m, comes back
  to it and reaches more than DETOUR_MIN_FAR_M from it, avoiding the route's own nodes: a wrong
  turn out of the depot up the Avinguda d'Enclar and back down Carrer Prat Salit; the forbidden
  zone is centred on its farthest point, small enough to stay clear of the corridor;
- the halt: the first point past HALT_FROM_M along the route, on a primary road, more than
  HALT_CLEAR_M from every allowed place (a roadside stop on the CG-1 in Andorra la Vella);
- the rest area: the `amenity=parking` nearest the route's middle part (at most PARKING_NEAR_M
  from the road, away from both ends).
"""
import heapq
import json
import math
import sys

import osmium

DRIVABLE = {'primary', 'primary_link', 'secondary', 'secondary_link', 'tertiary',
            'unclassified', 'residential', 'road', 'living_street', 'service'}
# km/h where a road has no maxspeed: Andorra's urban and mountain defaults, per class.
DEFAULT_KMH = {'primary': 50, 'primary_link': 40, 'secondary': 50, 'secondary_link': 40,
               'tertiary': 40, 'unclassified': 40, 'residential': 30, 'road': 30,
               'living_street': 20, 'service': 20}
# A loaded truck on the valley's roads: 80 km/h even where cars may drive 90.
TRUCK_MAX_KMH = 80
DEPOT = (42.49451, 1.50058)        # amenity=parking, way 176491189, Santa Coloma
DATA_CENTRE = (42.53248, 1.57809)  # amenity=parking, way 183000422, Encamp
DETOUR_MIN_FAR_M = 220
DETOUR_LEAVES_WITHIN_M = 300
HALT_FROM_M = 3500
HALT_CLEAR_M = 400
PARKING_NEAR_M = 60
UNTAGGED_GAP_M = 100


class Extract(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.ways = {}
        self.loc = {}
        self.parkings = []

    def way(self, w):
        tags = dict(w.tags)
        if (tags.get('highway') in DRIVABLE and tags.get('access') not in ('private', 'no')
                and tags.get('motor_vehicle') not in ('no', 'private')
                and tags.get('service') != 'parking_aisle'):
            self.ways[w.id] = (tags, [n.ref for n in w.nodes])
            for n in w.nodes:
                self.loc[n.ref] = (n.location.lon, n.location.lat)
        elif tags.get('amenity') == 'parking' and tags.get('access') != 'private':
            pts = [(n.location.lon, n.location.lat) for n in w.nodes]
            self.parkings.append((w.id, tags.get('name') or tags.get('operator'), sum(p[0] for p in pts) / len(pts),
                                  sum(p[1] for p in pts) / len(pts)))


def metres(a, b):
    (x1, y1), (x2, y2) = a, b
    kx = 111320 * math.cos(math.radians((y1 + y2) / 2))
    return math.hypot((x2 - x1) * kx, (y2 - y1) * 111190)


def speed_kmh(tags):
    try:
        kmh = int(tags.get('maxspeed', '').split(';')[0])
    except ValueError:
        kmh = DEFAULT_KMH[tags['highway']]
    return min(kmh, TRUCK_MAX_KMH)


def build_graph(ex):
    graph = {}
    for wid, (tags, nodes) in sorted(ex.ways.items()):
        one_way = tags.get('oneway') in ('yes', '1', 'true') or tags.get('junction') == 'roundabout'
        for a, b in zip(nodes, nodes[1:]):
            d = metres(ex.loc[a], ex.loc[b])
            graph.setdefault(a, []).append((b, d, wid))
            if not one_way:
                graph.setdefault(b, []).append((a, d, wid))
    return graph


def shortest(graph, start, goal, cost, blocked=frozenset()):
    best, prev, queue = {start: 0.0}, {}, [(0.0, start)]
    while queue:
        d, u = heapq.heappop(queue)
        if u == goal:
            break
        if d > best[u] or (u in blocked and u != start):
            continue
        for v, length, wid in graph.get(u, []):
            if u == start and v in blocked and v != goal:
                continue
            dv = d + cost(length, wid)
            if dv < best.get(v, math.inf):
                best[v], prev[v] = dv, (u, wid)
                heapq.heappush(queue, (dv, v))
    if goal not in prev:
        return None
    nodes, ways = [goal], []
    while nodes[-1] != start:
        u, wid = prev[nodes[-1]]
        nodes.append(u)
        ways.append(wid)
    return nodes[::-1], ways[::-1]


def main(pbf, out):
    ex = Extract()
    ex.apply_file(pbf, locations=True)
    graph = build_graph(ex)
    loc = ex.loc

    def nearest(lat, lon):
        return min((n for n in sorted(graph) if len(graph[n]) >= 1),
                   key=lambda n: metres(loc[n], (lon, lat)))

    def travel_s(length, wid):
        return length / (speed_kmh(ex.ways[wid][0]) / 3.6)

    route, route_ways = shortest(graph, nearest(*DEPOT), nearest(*DATA_CENTRE), travel_s)
    back, back_ways = shortest(graph, route[-1], route[0], travel_s)
    along = [0.0]
    for a, b in zip(route, route[1:]):
        along.append(along[-1] + metres(loc[a], loc[b]))
    pts = [loc[n] for n in route]
    back_pts = [loc[n] for n in back]

    def off_route_m(p, lines=(pts, back_pts)):
        """How far `p` is from the planned way, out or back."""
        best = math.inf
        kx = 111320 * math.cos(math.radians(p[1]))
        segments = [pair for line in lines for pair in zip(line, line[1:])]
        for (ax, ay), (bx, by) in segments:
            ax, ay, bx, by = ax * kx, ay * 111190, bx * kx, by * 111190
            px, py = p[0] * kx, p[1] * 111190
            dx, dy = bx - ax, by - ay
            t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy or 1)))
            best = min(best, math.hypot(ax + t * dx - px, ay + t * dy - py))
        return best

    # The detour: the shortest way off the route and back that goes far enough.
    # Off the way out; it may share a stretch with the way back (which is inside the corridor
    # too): how far it goes is measured from both.
    on_route = frozenset(route)
    detour = None
    for i, leave in enumerate(route):
        if along[i] > DETOUR_LEAVES_WITHIN_M:
            break
        for j in range(i + 1, len(route)):
            found = shortest(graph, leave, route[j], lambda length, wid: length, on_route)
            if not found or len(found[0]) < 3:
                continue
            far = max(off_route_m(loc[n]) for n in found[0])
            length = sum(metres(loc[a], loc[b]) for a, b in zip(found[0], found[0][1:]))
            if far > DETOUR_MIN_FAR_M and length < 1500 and (detour is None or length < detour[0]):
                detour = (length, i, j, found)
    _, leaves, rejoins, (detour_nodes, detour_ways) = detour
    farthest = max(detour_nodes, key=lambda n: off_route_m(loc[n]))
    forbidden_radius = math.floor(min(150.0, off_route_m(loc[farthest]) - 120.0))

    origin, destination = pts[0], pts[-1]
    # The rest area: a car park beside the road, away from both ends.
    parkings = [p for p in ex.parkings
                if off_route_m((p[2], p[3])) <= PARKING_NEAR_M
                and metres((p[2], p[3]), origin) > 1500 and metres((p[2], p[3]), destination) > 1500]
    rest = min(parkings, key=lambda p: (off_route_m((p[2], p[3])), p[0]))
    rest_point = (rest[2], rest[3])
    allowed = [origin, destination, rest_point]
    halt = next(k for k in range(len(route) - 1)
                if along[k] > HALT_FROM_M and ex.ways[route_ways[k]][0]['highway'] == 'primary'
                and all(metres(loc[route[k]], place) > HALT_CLEAR_M for place in allowed))

    def line(nodes, ways):
        return {
            'points': [[round(loc[n][0], 7), round(loc[n][1], 7)] for n in nodes],
            'speeds_kmh': speeds_along(nodes, ways),
            'roads': [ex.ways[w][0].get('name') or ex.ways[w][0].get('ref') or ex.ways[w][0]['highway']
                      for w in ways],
        }

    def speeds_along(nodes, ways):
        speeds = [speed_kmh(ex.ways[w][0]) for w in ways]
        # A roundabout keeps its own (default) speed: nobody takes one at the road's.
        tagged = ['maxspeed' in ex.ways[w][0] or ex.ways[w][0].get('junction') == 'roundabout' for w in ways]
        k = 0
        while k < len(ways):
            if tagged[k]:
                k += 1
                continue
            end = k
            while end < len(ways) and not tagged[end]:
                end += 1
            length = sum(metres(loc[nodes[j]], loc[nodes[j + 1]]) for j in range(k, end))
            if 0 < k and end < len(ways) and speeds[k - 1] == speeds[end] and length < UNTAGGED_GAP_M:
                speeds[k:end] = [speeds[end]] * (end - k)
            k = end
        return speeds

    def place(name, p, extra=None):
        return {'name': name, 'lon': round(p[0], 7), 'lat': round(p[1], 7), **(extra or {})}

    document = {
        'source': 'Derived from the OpenStreetMap extract of Andorra (2013-05-23), ODbL 1.0, '
                  '(c) OpenStreetMap contributors; made by scripts/demo-route/make_route.py',
        'route': line(route, route_ways),
        'back': line(back, back_ways),
        'detour': {'leaves_at': leaves, 'rejoins_at': rejoins, **line(detour_nodes, detour_ways)},
        'origin': place('Depot, Santa Coloma', origin, {'osm_way': 176491189}),
        'destination': place('Data centre, Encamp', destination, {'osm_way': 183000422}),
        'rest_area': place(f'{rest[1]} car park' if rest[1] else 'Car park', rest_point, {'osm_way': rest[0]}),
        'forbidden': place('Restricted site', loc[farthest], {'radius_m': forbidden_radius}),
        'halt_at': halt,
    }
    with open(out, 'w') as f:
        # One key a line: small, and a change of the route reads as a change of a line or two.
        f.write('{\n' + ',\n'.join(f' {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}'
                                   for k, v in document.items()) + '\n}\n')
    print(f'route {along[-1]:.0f} m, {len(route)} points, back {len(back)} points; detour {detour[0]:.0f} m leaving at '
          f'{along[leaves]:.0f} m, {off_route_m(loc[farthest]):.0f} m off; rest area way {rest[0]} '
          f'{off_route_m(rest_point):.0f} m off at {min(range(len(pts)), key=lambda k: metres(pts[k], rest_point))}; '
          f'halt at point {halt} ({along[halt]:.0f} m)')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
