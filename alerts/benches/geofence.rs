//! What a position costs the alert engine, on the generated data set of
//! `scripts/geofence-bench` (routes.csv, zones.csv, positions.csv; its README gives the format),
//! so that the figures sit beside PostGIS's and shapely's on the same files, and the answers
//! can be compared row by row.
//!
//!     cargo bench -p convoy-alerts --bench geofence -- [DATA_DIR] [--runs N] [--naive N]
//!         [--sample N] [--no-compare]
//!
//! `DATA_DIR` defaults to `target/geofence-bench`; a relative path is taken from the workspace
//! root (cargo runs benches in the package's directory). Single-threaded, measured:
//! - `engine`: `Engine::on_position` over every position in file order (received 1 s after the
//!   fix), all rules; best of `--runs` (3) runs, each on a freshly built engine (the build is
//!   timed apart);
//! - `index_windowed`: the geometry alone, as the engine does it: `RouteIndex::locate` with the
//!   vehicle's previous match, then `ZoneIndex::for_each_containing`;
//! - `index_no_previous`: the same with no previous match, so the route's R-tree every time;
//! - `naive_geodesic`: `geometry::distance_to_route_m` (geodesic, every segment of the route)
//!   and `Zone::contains` on every zone of the move, on the first `--naive` (all) sampled rows.
//!
//! Writes, in DATA_DIR, for the sampled rows (the row indexes of `postgis_results.csv` or
//! `shapely_results.csv` if there, else of `sample_rows.txt`, made by `common.sample_rows`):
//! - `engine_results.csv`: the route index and the zone index with no previous match, the
//!   distance being to the nearest segment of the whole route (`locate(p, None, 0.0, 0.0)`:
//!   with a zero corridor `locate` goes straight to its R-tree nearest search), which is what
//!   PostGIS's `ST_Distance` gives;
//! - `engine_first_pass_results.csv`: `locate(p, None, corridor_m, ..)` as the engine calls it
//!   for a vehicle it has no match for. Inside the corridor that returns the segment with the
//!   least progress within the corridor (the "first pass"), which on a plain road is the one
//!   about `corridor_m` behind the position, so its distance is not the nearest (same
//!   `in_corridor`, different `distance_m`);
//! - `naive_results.csv`: the geodesic reference (`distance_to_route_m`, `Zone::contains`).
//!
//! then runs `compare.py` on them against PostGIS's and shapely's results when present, and
//! writes `engine_summary.txt`: one `method positions_per_s` line per method, as `run.sh`'s
//! summary.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use chrono::{DateTime, Utc};
use convoy_alerts::engine::{Change, Engine, MoveSpec, RuleEvent};
use convoy_core::geometry::distance_to_route_m;
use convoy_core::plan::{MovePlan, Zone, ZoneKind, ZoneShape};
use convoy_core::route_index::{RouteIndex, RouteMatch};
use convoy_core::rules::RuleSettings;
use convoy_core::zone_index::ZoneIndex;
use convoy_core::{Position, VehicleId};
use geo::{LineString, Point, Polygon};

/// As the engine's own bound (`MAX_ROUTE_SPEED_MPS` in alerts/src/engine/mod.rs).
const MAX_ROUTE_SPEED_MPS: f64 = 70.0;
/// Rows sampled when no results file gives them (the README's `--sample`).
const DEFAULT_SAMPLE: usize = 20_000;

struct Args {
    data: PathBuf,
    runs: usize,
    naive: Option<usize>,
    sample: usize,
    compare: bool,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn parse_args() -> Result<Args> {
    let root = workspace_root();
    let mut args = Args {
        data: root.join("target/geofence-bench"),
        runs: 3,
        naive: None,
        sample: DEFAULT_SAMPLE,
        compare: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<usize> {
            let v = it.next().with_context(|| format!("{name} needs a value"))?;
            v.parse().with_context(|| format!("{name} {v:?}"))
        };
        match arg.as_str() {
            "--bench" => {} // passed by `cargo bench`
            "--runs" => args.runs = value("--runs")?.max(1),
            "--naive" => args.naive = Some(value("--naive")?),
            "--sample" => args.sample = value("--sample")?,
            "--no-compare" => args.compare = false,
            s if s.starts_with("--") => bail!("unknown option {s}"),
            dir => {
                let dir = Path::new(dir);
                args.data = if dir.is_absolute() { dir.to_path_buf() } else { root.join(dir) };
            }
        }
    }
    Ok(args)
}

// ---------------------------------------------------------------------------------------------
// Reading the data set.

struct MoveData {
    move_id: u32,
    corridor_m: f64,
    route: LineString,
    zones: Vec<Zone>,
    /// `zone_id` of each of `zones`.
    zone_ids: Vec<u32>,
    vehicle: VehicleId,
}

/// One row of positions.csv.
struct Row {
    /// Index into the moves.
    m: u32,
    position: Position,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The data rows of a CSV file after checking its header.
fn data_lines<'a>(text: &'a str, header: &str, name: &str) -> Result<impl Iterator<Item = &'a str>> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    ensure!(first == header, "{name}: header {first:?}, expected {header:?}");
    Ok(lines.filter(|l| !l.is_empty()))
}

fn num<T: std::str::FromStr>(field: Option<&str>, what: &str, line: usize) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let text = field.with_context(|| format!("line {line}: {what} missing"))?;
    text.parse().map_err(|e| anyhow::anyhow!("line {line}: {what} {text:?}: {e}"))
}

fn parse_coords(text: &str) -> Result<Vec<(f64, f64)>> {
    text.split(';')
        .map(|pair| {
            let (lon, lat) = pair.split_once(' ').with_context(|| format!("point {pair:?}"))?;
            Ok((lon.parse()?, lat.parse()?))
        })
        .collect()
}

fn zone_kind(name: &str) -> Result<ZoneKind> {
    Ok(match name {
        "origin" => ZoneKind::Origin,
        "destination" => ZoneKind::Destination,
        "allowed_stop" => ZoneKind::AllowedStop,
        "forbidden" => ZoneKind::Forbidden,
        other => bail!("unknown zone kind {other:?}"),
    })
}

fn load(dir: &Path) -> Result<(Vec<MoveData>, Vec<Row>)> {
    let mut moves = Vec::new();
    let mut by_id: HashMap<u32, usize> = HashMap::new();
    let text = read(&dir.join("routes.csv"))?;
    for (n, line) in data_lines(&text, "move_id,corridor_m,coords", "routes.csv")?.enumerate() {
        let mut f = line.splitn(3, ',');
        let move_id: u32 = num(f.next(), "move_id", n + 2)?;
        let corridor_m: f64 = num(f.next(), "corridor_m", n + 2)?;
        let coords =
            parse_coords(f.next().unwrap_or_default()).with_context(|| format!("route {move_id}"))?;
        by_id.insert(move_id, moves.len());
        moves.push(MoveData {
            move_id,
            corridor_m,
            route: LineString::from(coords),
            zones: Vec::new(),
            zone_ids: Vec::new(),
            vehicle: VehicleId::new(format!("v{move_id:04}"))?,
        });
    }
    drop(text);

    let text = read(&dir.join("zones.csv"))?;
    for (n, line) in
        data_lines(&text, "zone_id,move_id,kind,name,shape,coords,radius_m", "zones.csv")?.enumerate()
    {
        let f: Vec<&str> = line.split(',').collect();
        ensure!(f.len() == 7, "zones.csv line {}: {} fields", n + 2, f.len());
        let zone_id: u32 = num(Some(f[0]), "zone_id", n + 2)?;
        let move_id: u32 = num(Some(f[1]), "move_id", n + 2)?;
        let coords = parse_coords(f[5]).with_context(|| format!("zone {zone_id}"))?;
        let shape = match f[4] {
            "polygon" => ZoneShape::Polygon(Polygon::new(LineString::from(coords), vec![])),
            "circle" => {
                ensure!(coords.len() == 1, "zone {zone_id}: a circle's centre is one point");
                ZoneShape::Circle {
                    center: Point::new(coords[0].0, coords[0].1),
                    radius_m: num(Some(f[6]), "radius_m", n + 2)?,
                }
            }
            other => bail!("zone {zone_id}: unknown shape {other:?}"),
        };
        let m = *by_id.get(&move_id).with_context(|| format!("zone {zone_id}: no move {move_id}"))?;
        moves[m].zones.push(Zone { name: f[3].to_string(), kind: zone_kind(f[2])?, shape });
        moves[m].zone_ids.push(zone_id);
    }
    drop(text);

    let text = read(&dir.join("positions.csv"))?;
    let mut seq = vec![0u64; moves.len()];
    let mut rows = Vec::with_capacity(text.len() / 45);
    for (n, line) in data_lines(&text, "move_id,vehicle,lon,lat,t_ms", "positions.csv")?.enumerate() {
        let mut f = line.split(',');
        let move_id: u32 = num(f.next(), "move_id", n + 2)?;
        let m = *by_id
            .get(&move_id)
            .with_context(|| format!("positions.csv line {}: no move {move_id}", n + 2))?;
        let vehicle = f.next().unwrap_or_default();
        ensure!(vehicle == moves[m].vehicle.as_str(), "positions.csv line {}: vehicle {vehicle:?}", n + 2);
        let lon: f64 = num(f.next(), "lon", n + 2)?;
        let lat: f64 = num(f.next(), "lat", n + 2)?;
        let t_ms: i64 = num(f.next(), "t_ms", n + 2)?;
        seq[m] += 1;
        rows.push(Row {
            m: m as u32,
            position: Position {
                seq: seq[m],
                t: DateTime::from_timestamp_millis(t_ms).context("t_ms out of range")?,
                lat,
                lon,
                alt_m: None,
                speed_mps: None,
                course_deg: None,
                fix: Some(convoy_core::FixMode::ThreeD),
                sats: None,
                hdop: None,
                accuracy_m: None,
            },
        });
    }
    Ok((moves, rows))
}

/// The sampled row indexes: from a results file already in `dir`, else `sample_rows.txt`
/// (made by `common.sample_rows` when missing). Returns the rows and where they came from.
fn sample_rows(dir: &Path, total: usize, n: usize) -> Result<(Vec<usize>, String)> {
    for name in ["postgis_results.csv", "shapely_results.csv"] {
        let path = dir.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let rows: Result<Vec<usize>, _> =
            text.lines().skip(1).map(|l| l.split(',').next().unwrap_or_default().parse::<usize>()).collect();
        match rows {
            Ok(rows) if !rows.is_empty() && rows.iter().all(|&i| i < total) => {
                return Ok((rows, name.into()))
            }
            _ => eprintln!("note: {} does not fit positions.csv; not using its rows", path.display()),
        }
    }
    let path = dir.join("sample_rows.txt");
    let want_header = format!("# common.sample_rows({total}, {n})");
    let fresh =
        std::fs::read_to_string(&path).ok().filter(|t| t.lines().next() == Some(want_header.as_str()));
    let text = match fresh {
        Some(text) => text,
        None => {
            let script = workspace_root().join("scripts/geofence-bench");
            let code = format!(
                "import sys; sys.path.insert(0, {:?}); import common\n\
                 print({want_header:?}); print('\\n'.join(map(str, common.sample_rows({total}, {n}))))",
                script.display().to_string()
            );
            let out = Command::new("python3").arg("-c").arg(&code).output().context("running python3")?;
            ensure!(out.status.success(), "python3: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout)?;
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            text
        }
    };
    let rows = text.lines().skip(1).map(str::parse).collect::<Result<Vec<usize>, _>>()?;
    ensure!(rows.iter().all(|&i| i < total), "{}: row out of range", path.display());
    Ok((rows, "sample_rows.txt".into()))
}

// ---------------------------------------------------------------------------------------------
// The measurements.

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn specs(moves: &[MoveData], created_at: DateTime<Utc>) -> Vec<MoveSpec> {
    moves
        .iter()
        .map(|mv| MoveSpec {
            id: format!("m{:04}", mv.move_id),
            plan: MovePlan {
                name: format!("move {}", mv.move_id),
                vehicles: vec![mv.vehicle.clone()],
                escorts: BTreeMap::new(),
                route: mv.route.clone(),
                corridor_m: mv.corridor_m,
                zones: mv.zones.clone(),
                window: None,
                rules: serde_json::Map::new(),
                time_zone: None,
                language: None,
            },
            created_at,
            ended_at: None,
        })
        .collect()
}

/// Events by kind (with the zone's kind for zone kinds) and change.
type EventCounts = BTreeMap<(String, &'static str), u64>;

/// One engine run: (build time, evaluation time, events by kind and change).
fn engine_run(
    specs: &[MoveSpec],
    moves: &[MoveData],
    rows: &[Row],
) -> Result<(Duration, Duration, EventCounts)> {
    let start = Instant::now();
    let mut engine = Engine::new(RuleSettings::default());
    for spec in specs {
        engine.add_move(spec)?;
    }
    let build = start.elapsed();
    let mut counts = EventCounts::new();
    let mut out: Vec<RuleEvent> = Vec::new();
    let second = chrono::Duration::seconds(1);
    let start = Instant::now();
    for row in rows {
        let vehicle = &moves[row.m as usize].vehicle;
        engine.on_position(vehicle, &row.position, row.position.t + second, &mut out);
        if !out.is_empty() {
            for e in out.drain(..) {
                let change = match e.change {
                    Change::Opened => "opened",
                    Change::Cleared => "cleared",
                };
                // Zone names are `m{move}-{kind}-{n}`.
                let kind = match e.zone.as_deref().and_then(|z| z.split('-').nth(1)) {
                    Some(zone_kind) => format!("{} ({zone_kind})", e.kind.as_str()),
                    None => e.kind.as_str().to_string(),
                };
                *counts.entry((kind, change)).or_default() += 1;
            }
        }
    }
    let eval = start.elapsed();
    black_box(&engine);
    Ok((build, eval, counts))
}

struct Indexed {
    route: RouteIndex,
    zones: ZoneIndex,
    corridor_m: f64,
}

fn build_indexes(moves: &[MoveData]) -> Result<Vec<Indexed>> {
    moves
        .iter()
        .map(|mv| {
            Ok(Indexed {
                route: RouteIndex::new(&mv.route).context("route too short")?,
                zones: ZoneIndex::new(&mv.zones),
                corridor_m: mv.corridor_m,
            })
        })
        .collect()
}

/// What a geometry pass found, as a check that the passes did the work (and agree).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Tally {
    inside: u64,
    zone_hits: u64,
}

/// The geometry as the engine does it: with the vehicle's previous match (`windowed`), or with
/// none every time.
fn geometry_run<'a>(
    index: &[Indexed],
    rows: impl Iterator<Item = &'a Row>,
    windowed: bool,
) -> (Duration, Tally) {
    let mut last: Vec<Option<(RouteMatch, DateTime<Utc>)>> = vec![None; index.len()];
    let mut zones: Vec<u32> = Vec::new();
    let mut tally = Tally::default();
    let start = Instant::now();
    for row in rows {
        let m = row.m as usize;
        let ix = &index[m];
        let p = Point::new(row.position.lon, row.position.lat);
        let matched = if windowed {
            let (previous, since_s) = match &last[m] {
                Some((matched, t)) => {
                    (Some(matched), (row.position.t - *t).num_milliseconds() as f64 / 1000.0)
                }
                None => (None, 0.0),
            };
            let matched = ix.route.locate(p, previous, ix.corridor_m, MAX_ROUTE_SPEED_MPS * since_s + 50.0);
            last[m] = Some((matched, row.position.t));
            matched
        } else {
            ix.route.locate(p, None, ix.corridor_m, 50.0)
        };
        zones.clear();
        ix.zones.for_each_containing(p, |i| zones.push(i as u32));
        zones.sort_unstable();
        tally.inside += u64::from(matched.distance_m <= ix.corridor_m);
        tally.zone_hits += zones.len() as u64;
        black_box(&zones);
    }
    (start.elapsed(), tally)
}

/// One results row: (row index, in corridor, distance, zone ids ascending).
type ResultRow = (usize, bool, f64, Vec<u32>);

fn naive_run(moves: &[MoveData], rows: &[Row], sample: &[usize]) -> (Duration, Vec<ResultRow>) {
    let mut out = Vec::with_capacity(sample.len());
    let start = Instant::now();
    for &i in sample {
        let row = &rows[i];
        let mv = &moves[row.m as usize];
        let p = Point::new(row.position.lon, row.position.lat);
        let distance = distance_to_route_m(p, &mv.route).unwrap_or(f64::INFINITY);
        let zones: Vec<u32> =
            mv.zones.iter().zip(&mv.zone_ids).filter(|(z, _)| z.contains(p)).map(|(_, &id)| id).collect();
        out.push((i, distance <= mv.corridor_m, distance, zones));
    }
    let elapsed = start.elapsed();
    for r in &mut out {
        r.3.sort_unstable();
    }
    (elapsed, out)
}

/// The index's answers for the sampled rows, with no previous match: as `locate` gives them
/// with the move's corridor (`first_pass`), or the nearest segment of the whole route (with a
/// zero corridor `locate` finds no pass inside a corridor and goes to its nearest search).
fn index_results(
    index: &[Indexed],
    moves: &[MoveData],
    rows: &[Row],
    sample: &[usize],
    first_pass: bool,
) -> Vec<ResultRow> {
    sample
        .iter()
        .map(|&i| {
            let row = &rows[i];
            let (ix, mv) = (&index[row.m as usize], &moves[row.m as usize]);
            let p = Point::new(row.position.lon, row.position.lat);
            let matched = ix.route.locate(p, None, if first_pass { ix.corridor_m } else { 0.0 }, 0.0);
            let mut zones = Vec::new();
            ix.zones.for_each_containing(p, |z| zones.push(mv.zone_ids[z]));
            zones.sort_unstable();
            (i, matched.distance_m <= ix.corridor_m, matched.distance_m, zones)
        })
        .collect()
}

fn write_results(path: &Path, rows: &[ResultRow]) -> Result<()> {
    let mut text = String::from("row_index,in_corridor,distance_m,zone_ids\n");
    for (i, inside, distance, zones) in rows {
        let zones: Vec<String> = zones.iter().map(u32::to_string).collect();
        writeln!(text, "{i},{inside},{distance:.3},{}", zones.join(";"))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn compare(a: &Path, b: &Path, data: Option<&Path>, show: usize) {
    if !b.exists() {
        println!("\n(no {}: not compared)", b.display());
        return;
    }
    let mut cmd = Command::new("python3");
    cmd.current_dir(workspace_root()).arg("scripts/geofence-bench/compare.py").arg(a).arg(b);
    cmd.arg("--show").arg(show.to_string());
    if let Some(data) = data {
        cmd.arg("--data").arg(data);
    }
    println!("\n$ compare.py {} {}", file_name(a), file_name(b));
    match cmd.output() {
        Ok(out) => {
            print!("{}", String::from_utf8_lossy(&out.stdout));
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
        Err(e) => println!("could not run compare.py: {e}"),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn per_s(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn ns_per(n: usize, d: Duration) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let dir = args.data.canonicalize().with_context(|| format!("data dir {}", args.data.display()))?;
    let gen_params = std::fs::read_to_string(dir.join(".gen-params")).unwrap_or_default();
    println!("geofence bench on {} ({})", dir.display(), gen_params.trim());
    println!("load average at start: {}", load_average());

    let start = Instant::now();
    let (moves, rows) = load(&dir)?;
    let segments: usize = moves.iter().map(|m| m.route.0.len().saturating_sub(1)).sum();
    let zones: usize = moves.iter().map(|m| m.zones.len()).sum();
    println!(
        "read {} moves ({segments} route segments), {zones} zones, {} positions in {:.2} s",
        moves.len(),
        rows.len(),
        start.elapsed().as_secs_f64()
    );
    ensure!(!rows.is_empty(), "no positions");
    let n = rows.len();
    let first_fix = rows.iter().map(|r| r.position.t).min().unwrap_or_default();
    let created_at = first_fix - chrono::Duration::seconds(1);
    let specs = specs(&moves, created_at);

    // (a) The engine.
    let mut engine_best: Option<Duration> = None;
    let mut builds = Vec::new();
    let mut events: Option<EventCounts> = None;
    for run in 1..=args.runs {
        let (build, eval, counts) = engine_run(&specs, &moves, &rows)?;
        println!(
            "engine run {run}: build {:.3} s, {n} evaluations in {:.3} s ({:.0}/s, {:.0} ns each)",
            build.as_secs_f64(),
            eval.as_secs_f64(),
            per_s(n, eval),
            ns_per(n, eval)
        );
        builds.push(build);
        engine_best = Some(engine_best.map_or(eval, |b| b.min(eval)));
        if let Some(first) = &events {
            ensure!(*first == counts, "run {run} gave other events than run 1");
        }
        events = Some(counts);
    }
    let engine_best = engine_best.unwrap_or_default();
    let build_best = builds.iter().min().copied().unwrap_or_default();

    // (b), (c) The geometry alone.
    let start = Instant::now();
    let index = build_indexes(&moves)?;
    let index_build = start.elapsed();
    println!("route and zone indexes of {} moves built in {:.3} s", moves.len(), index_build.as_secs_f64());
    // The same positions grouped by vehicle (each vehicle's in time order): the route data of
    // one move stays in cache from one fix to the next, as it does not in the live interleaving.
    let mut grouped: Vec<Row> = rows.iter().map(|r| Row { m: r.m, position: r.position.clone() }).collect();
    grouped.sort_by_key(|r| r.m);
    let best = |windowed: bool, by_vehicle: bool| {
        let mut best: Option<(Duration, Tally)> = None;
        for _ in 0..args.runs {
            let (d, tally) = if by_vehicle {
                geometry_run(&index, grouped.iter(), windowed)
            } else {
                geometry_run(&index, rows.iter(), windowed)
            };
            if let Some((_, t)) = best {
                assert_eq!(t, tally, "geometry runs disagree");
            }
            best = Some(best.map_or((d, tally), |(b, _)| (b.min(d), tally)));
        }
        best.unwrap_or_default()
    };
    let (windowed, windowed_tally) = best(true, false);
    let (anywhere, anywhere_tally) = best(false, false);
    let (windowed_grouped, _) = best(true, true);
    // The engine on the grouped positions: its cost with the route data in cache.
    let mut engine_grouped: Option<Duration> = None;
    for _ in 0..args.runs {
        let (_, eval, _) = engine_run(&specs, &moves, &grouped)?;
        engine_grouped = Some(engine_grouped.map_or(eval, |b| b.min(eval)));
    }
    let engine_grouped = engine_grouped.unwrap_or_default();
    // What one geodesic distance costs (the reference; the engine's hot path uses local
    // planar distances instead).
    // What one distance between consecutive fixes costs: the geodesic reference, and the local
    // planar one the engine's hot path uses.
    let (geodesic, short) = {
        let pairs: Vec<(Point, Point)> = grouped
            .windows(2)
            .filter(|pair| pair[0].m == pair[1].m)
            .map(|pair| {
                let (a, b) = (&pair[0].position, &pair[1].position);
                (Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
            })
            .collect();
        let time = |distance: fn(Point, Point) -> f64| {
            let mut sum = 0.0;
            let start = Instant::now();
            for &(a, b) in &pairs {
                sum += distance(a, b);
            }
            let elapsed = start.elapsed();
            black_box(sum);
            ns_per(pairs.len().max(1), elapsed)
        };
        (time(convoy_core::geometry::distance_m), time(convoy_core::geometry::short_distance_m))
    };
    println!(
        "index_windowed: {} of {n} in corridor, {} zone hits; index_no_previous: {} in corridor, {} zone hits",
        windowed_tally.inside, windowed_tally.zone_hits, anywhere_tally.inside, anywhere_tally.zone_hits
    );

    // Sampled rows and results files.
    let (sample, source) = sample_rows(&dir, n, args.sample)?;
    println!("{} sampled rows (from {source})", sample.len());
    let first_pass_results = index_results(&index, &moves, &rows, &sample, true);
    let nearest_results = index_results(&index, &moves, &rows, &sample, false);
    write_results(&dir.join("engine_results.csv"), &nearest_results)?;
    write_results(&dir.join("engine_first_pass_results.csv"), &first_pass_results)?;
    let first_pass =
        first_pass_results.iter().zip(&nearest_results).filter(|(a, b)| (a.2 - b.2).abs() > 1e-9).count();
    let worst = first_pass_results
        .iter()
        .zip(&nearest_results)
        .max_by(|(a, b), (c, d)| (a.2 - b.2).abs().total_cmp(&(c.2 - d.2).abs()));
    if let Some((a, b)) = worst {
        println!(
            "locate(p, None, corridor_m) vs the nearest segment: distance differs on {first_pass} sampled rows, \
             most at row {} ({:.3} m vs {:.3} m)",
            a.0, a.2, b.2
        );
    }

    // (d) The naive baseline on (part of) the sampled rows.
    let naive_rows = &sample[..args.naive.unwrap_or(sample.len()).min(sample.len())];
    let (naive, naive_results) = naive_run(&moves, &rows, naive_rows);
    write_results(&dir.join("naive_results.csv"), &naive_results)?;

    let load_end = load_average();
    let total_events: u64 = events.iter().flat_map(|e| e.values()).sum();

    println!("\nevents emitted by the engine (per run):");
    for ((kind, change), count) in events.unwrap_or_default() {
        println!("  {kind:<28} {change:<8} {count:>8}");
    }
    println!("  {:<37} {total_events:>8}", "total");

    println!(
        "\nbuild (not in the rates): engine {:.3} s (best of {}), indexes alone {:.3} s",
        build_best.as_secs_f64(),
        args.runs,
        index_build.as_secs_f64()
    );
    println!("\n{:<34} {:>10} {:>14} {:>12}", "method", "positions", "positions/s", "ns/position");
    let table = [
        ("engine (on_position, all rules)", n, engine_best),
        ("index_windowed (locate + zones)", n, windowed),
        ("index_no_previous (R-tree)", n, anywhere),
        ("naive_geodesic (all segments)", naive_rows.len(), naive),
    ];
    let mut summary = String::new();
    for (name, count, d) in table {
        println!("{name:<34} {count:>10} {:>14.0} {:>12.0}", per_s(count, d), ns_per(count, d));
        let method = name.split_whitespace().next().unwrap_or_default();
        writeln!(summary, "rust_{method} {:.0}", per_s(count, d))?;
    }
    std::fs::write(dir.join("engine_summary.txt"), summary)?;
    println!(
        "for reference, with the positions grouped by vehicle (route data stays in cache): engine {:.0} \
         ns/position ({:.0}/s), index_windowed {:.0} ns/position; one distance between fixes: geodesic \
         {geodesic:.0} ns, local planar {short:.1} ns",
        ns_per(n, engine_grouped),
        per_s(n, engine_grouped),
        ns_per(n, windowed_grouped)
    );
    println!("load average at end: {load_end}");

    if args.compare {
        let ours = dir.join("engine_results.csv");
        let data = Some(dir.as_path());
        compare(&ours, &dir.join("postgis_results.csv"), data, 10);
        compare(&ours, &dir.join("shapely_results.csv"), data, 10);
        compare(&ours, &dir.join("naive_results.csv"), None, 3);
        compare(&dir.join("naive_results.csv"), &dir.join("postgis_results.csv"), None, 3);
        compare(&dir.join("engine_first_pass_results.csv"), &dir.join("postgis_results.csv"), None, 3);
    }
    Ok(())
}
