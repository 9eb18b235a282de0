//! The web page in a real browser: Debian's headless Chromium driven by playwright-core
//! (scripts in tests/browser/) against a real server (embedded broker, SQLite) with vehicles
//! publishing over MQTT.
//!
//! One session walks what a person does: a refused then accepted login, vehicles moving on the
//! live map, an off-route alert that rings and is acknowledged with a note (which the API then
//! shows), a replay at 60x with its gap, stop and alert marks, the exports in every format
//! (GPX, CSV, KML, GeoJSON) downloaded through the page's buttons and read back point by point,
//! the printable report, logout, and an escort's smaller view. HTML in a move name, a zone name
//! and a note is shown as text.
//!
//! An auditor's session: the record (moves, replay, exports, report, audit log) and nothing
//! live. A live map whose feed is cut: it says so, retries with backoff, and catches up. An
//! admin setting a phone up on the Phones view, and the phone reporting with what it was given.
//!
//! Screenshots of every step are kept in target/browser-screenshots/, a folder per test.
//!
//! The tests are in tests/browser_cases/, a module per part of the page; this file holds what
//! they share (the browser script runner, plans, fixes and drives).

mod browser_cases;
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy::demo::simulator::Route;
use convoy_core::geometry::distance_m;
use convoy_core::{FixMode, Position, PositionBatch, Role, VehicleId};
use convoy_gateway::WebSettings;
use geo::Point;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::watch;

const MOVE_NAME: &str = "Move <b>bold</b> & <img src=x onerror=\"window.__convoy_xss=true\">";
const ZONE_NAME: &str = "Depot <script>window.__convoy_xss=true</script>";
const ATTRIBUTION: &str = "© <b>Tiles</b> & contributors";
const NEW_MOVE: &str = "Phase 2 <i>archive</i>";
const NEW_ZONE: &str = "Bridge <u>closed</u>";
const RESOLVE_NOTE: &str = "Back on the route <br> after the bridge";
const NOTE: &str = "Driver called: roadworks <img src=x onerror=\"window.__convoy_xss=true\"> & \"detour\"";
/// Where the recorded drive loses its data for a minute (fixes left out), and where it halts
/// (in an allowed stop zone: no alert).
const GAP_AT: usize = 300;
const GAP_FIXES: usize = 60;
const HALT_AT: usize = 800;
const HALT_S: usize = 150;
const AUDITOR_USER: &str = "auditor-ida";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";
const DISPATCHER_USER: &str = "dispatcher-dan";
const DISPATCHER_PASSWORD: &str = "a long enough dispatcher password";

/// target/browser-screenshots/NAME/, emptied for this run.
fn screenshots_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("browser-screenshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A script of tests/browser/ driving Chromium (`node SCRIPT CONFIG`), and the test's side of
/// their conversation: the script asks (`NEED what`), the test acts and answers (`DONE what`).
struct BrowserScript {
    script: &'static str,
    node: Child,
    to_node: ChildStdin,
    from_node: Lines<BufReader<ChildStdout>>,
    report_path: PathBuf,
}

impl BrowserScript {
    /// Starts `script` with `config`, to which it adds where screenshots go (`shots`) and
    /// where downloads, the config itself and the report go (`work`).
    fn start(script: &'static str, mut config: Value, work: &Path, shots: &Path) -> BrowserScript {
        let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            browser_dir.join("node_modules/playwright-core").is_dir(),
            "playwright-core is not installed: run `npm ci` in tests/browser (scripts/test.sh does)"
        );
        let report_path = work.join(format!("{script}.report.json"));
        config["shots_dir"] = json!(shots);
        config["download_dir"] = json!(work);
        config["report_path"] = json!(report_path);
        let config_path = work.join(format!("{script}.config.json"));
        std::fs::write(&config_path, config.to_string()).unwrap();
        let mut node = tokio::process::Command::new("node")
            .arg(browser_dir.join(script))
            .arg(&config_path)
            .current_dir(&browser_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js is installed by scripts/test.sh)");
        let to_node = node.stdin.take().unwrap();
        let from_node = BufReader::new(node.stdout.take().unwrap()).lines();
        BrowserScript { script, node, to_node, from_node, report_path }
    }

    /// What the script needs next, or None once it has ended.
    async fn next_need(&mut self) -> Option<String> {
        while let Some(line) = self.from_node.next_line().await.unwrap() {
            match line.trim().strip_prefix("NEED ") {
                Some(what) => return Some(what.to_string()),
                None => eprintln!("{}: {line}", self.script),
            }
        }
        None
    }

    async fn done(&mut self, what: &str) {
        self.to_node.write_all(format!("DONE {what}\n").as_bytes()).await.unwrap();
    }

    /// Waits for the script to end and returns its report, once it is known that every step
    /// passed and no script on the page failed.
    async fn report(&mut self) -> Value {
        let status = self.node.wait().await.unwrap();
        let report: Value = serde_json::from_str(
            &std::fs::read_to_string(&self.report_path)
                .unwrap_or_else(|e| panic!("{} writes its report ({status}): {e}", self.script)),
        )
        .unwrap();
        assert!(status.success() && report["ok"] == true, "the browser session failed: {report:#}");
        assert_eq!(report["page_errors"], json!([]), "no script error on the page: {report:#}");
        report
    }
}

/// Creates a move from a JSON plan through the API; returns its id.
async fn create_move(server: &TestServer, token: &str, plan: &Value) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(token)
        .json(plan)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

/// The records of an RFC 4180 text (quoted fields, doubled quotes, CRLF line ends).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut chars, mut quoted) = (text.chars().peekable(), false);
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "a line ends in CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && record.is_empty(), "the last line ends in CRLF");
    records
}

/// A fix as a row of the CSV export reads (vehicle, seq, t, lat, lon, speed_mps, course_deg,
/// alt_m, hdop, sats, fix, …): an empty field is an absent value.
fn csv_position(row: &[String]) -> Position {
    let number = |i: usize| (!row[i].is_empty()).then(|| row[i].parse::<f64>().unwrap());
    Position {
        seq: row[1].parse().unwrap(),
        t: row[2].parse().unwrap(),
        lat: row[3].parse().unwrap(),
        lon: row[4].parse().unwrap(),
        speed_mps: number(5),
        course_deg: number(6),
        alt_m: number(7),
        hdop: number(8),
        accuracy_m: None,
        sats: (!row[9].is_empty()).then(|| row[9].parse().unwrap()),
        fix: (!row[10].is_empty()).then(|| FixMode::parse(&row[10]).unwrap()),
    }
}

/// A GPX 1.1 route file through `points`.
fn gpx(points: &[Point]) -> String {
    let points: String =
        points.iter().map(|p| format!("<trkpt lat=\"{}\" lon=\"{}\"></trkpt>", p.y(), p.x())).collect();
    format!(
        "<?xml version=\"1.0\"?><gpx version=\"1.1\" creator=\"test\" xmlns=\"http://www.topografix.com/GPX/1/1\">\
         <trk><trkseg>{points}</trkseg></trk></gpx>"
    )
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap_or_else(|| panic!("a time: {value}")).parse().unwrap()
}

/// Fixes `step_s` seconds apart from `t0`, with the speed and course the points imply.
fn fixes(points: &[Point], t0: DateTime<Utc>, step_s: i64) -> Vec<Position> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let previous = points[i.saturating_sub(1)];
            Position {
                seq: i as u64 + 1,
                t: t0 + TimeSpan::seconds(i as i64 * step_s),
                lat: p.y(),
                lon: p.x(),
                alt_m: None,
                speed_mps: Some(distance_m(previous, *p) / step_s as f64),
                course_deg: (i > 0 && previous != *p).then(|| bearing(previous, *p)),
                fix: Some(FixMode::ThreeD),
                sats: Some(9),
                hdop: Some(0.9),
                accuracy_m: None,
            }
        })
        .collect()
}

fn bearing(a: Point, b: Point) -> f64 {
    let (lat1, lat2, dlon) = (a.y().to_radians(), b.y().to_radians(), (b.x() - a.x()).to_radians());
    let y = dlon.sin() * lat2.cos();
    let x = lat1.cos() * lat2.sin() - lat1.sin() * lat2.cos() * dlon.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

/// Stands at `at` for `seconds`.
fn with_halt(points: &[Point], at: usize, seconds: usize) -> Vec<Point> {
    let mut out = points[..at].to_vec();
    out.extend(std::iter::repeat_n(points[at], seconds));
    out.extend_from_slice(&points[at..]);
    out
}

/// Leaves the road at `from`, drives `offset_m` to its left, and comes back by `to`.
fn with_detour(points: &[Point], from: usize, to: usize, offset_m: f64) -> Vec<Point> {
    let mut out = points.to_vec();
    for i in from..to {
        let ramp = ((i - from) as f64 / 25.0).min((to - i) as f64 / 25.0).min(1.0);
        let (a, b) = (points[i - 1], points[i + 1]);
        let east = (b.x() - a.x()) * 111_320.0 * a.y().to_radians().cos();
        let north = (b.y() - a.y()) * 111_190.0;
        let length = (east * east + north * north).sqrt().max(1e-9);
        let (side_e, side_n) = (-north / length * offset_m * ramp, east / length * offset_m * ramp);
        let p = points[i];
        out[i] =
            Point::new(p.x() + side_e / (111_320.0 * p.y().to_radians().cos()), p.y() + side_n / 111_190.0);
    }
    out
}

fn mqtt_options(mqtt: std::net::SocketAddr, vehicle: &VehicleId, password: &str) -> MqttOptions {
    let mut options = MqttOptions::new(format!("convoy-agent-{vehicle}"), mqtt.ip().to_string(), mqtt.port());
    options.set_credentials(vehicle.to_string(), password);
    options
}

/// Drives `route` in real time, a fix a second taken now, with an agent's health report now
/// and then, until `driving` turns false; returns the fixes published.
async fn drive_live(
    mqtt: std::net::SocketAddr,
    vehicle: VehicleId,
    password: String,
    route: Vec<Point>,
    driving: Arc<AtomicBool>,
) -> Vec<Position> {
    let (client, mut eventloop) = AsyncClient::new(mqtt_options(mqtt, &vehicle, &password), 100);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let topic = convoy_core::topics::positions_topic(&vehicle);
    let status_topic = convoy_core::topics::status_topic(&vehicle);
    let mut sent = Vec::new();
    let mut second = tokio::time::interval(Duration::from_secs(1));
    for i in 0..route.len() - 1 {
        second.tick().await;
        if !driving.load(Ordering::Relaxed) {
            break;
        }
        // Its health report every few seconds (a real agent sends one every 30 s).
        if i % 5 == 0 {
            let status = json!({
                "v": 1, "vehicle": vehicle, "state": "online", "gnss": "fix", "spool_depth": 0, "t": Utc::now(),
            });
            client.publish(status_topic.clone(), QoS::AtLeastOnce, false, status.to_string()).await.unwrap();
        }
        // The speed and heading from the previous point; taken now.
        let mut fix = fixes(&route[i..i + 2], Utc::now(), 1).pop().unwrap();
        fix.t = Utc::now().trunc_subsecs(3);
        fix.seq = i as u64 + 1;
        let payload = PositionBatch::new(vehicle.clone(), vec![fix.clone()]).encode();
        client.publish(topic.clone(), QoS::AtLeastOnce, false, payload).await.unwrap();
        sent.push(fix);
    }
    let _ = client.disconnect().await;
    sent
}

/// Publishes a fix at `here` taken now, heading from `previous`, as the vehicle's agent would;
/// returns it.
async fn publish_fix_now(
    server: &TestServer,
    vehicle: &VehicleId,
    password: &str,
    previous: Point,
    here: Point,
    seq: u64,
) -> Position {
    let mut fix = fixes(&[previous, here], Utc::now(), 1).pop().unwrap();
    fix.t = Utc::now().trunc_subsecs(3);
    fix.seq = seq;
    publish_fixes(server, vehicle, password, std::slice::from_ref(&fix), 1).await;
    fix
}

/// A TCP proxy in front of the server for the browser. It passes everything through; on
/// demand it cuts the live feed's connections (as a dropped network would: the page sees the
/// server go away) and turns the page's new attempts at the feed away until it is told to let
/// them through again.
struct FeedCutter {
    addr: SocketAddr,
    state: Arc<CutterState>,
    task: tokio::task::JoinHandle<()>,
}

struct CutterState {
    blocked: AtomicBool,
    /// Counts the cuts; each live connection ends at the next one.
    cuts: watch::Sender<u32>,
    opened: AtomicUsize,
    cut: AtomicUsize,
    turned_away: AtomicUsize,
}

impl FeedCutter {
    async fn start(server: SocketAddr) -> FeedCutter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(CutterState {
            blocked: AtomicBool::new(false),
            cuts: watch::channel(0).0,
            opened: AtomicUsize::new(0),
            cut: AtomicUsize::new(0),
            turned_away: AtomicUsize::new(0),
        });
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(FeedCutter::pass(client, server, state.clone()));
                }
            }
        });
        FeedCutter { addr, state, task }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Cuts the live feed's open connections and turns new ones away.
    fn cut_live_feed(&self) {
        self.state.blocked.store(true, Ordering::SeqCst);
        self.state.cuts.send_modify(|n| *n += 1);
    }

    fn let_through(&self) {
        self.state.blocked.store(false, Ordering::SeqCst);
    }

    /// Live feed connections (passed through, cut, turned away).
    fn counts(&self) -> (usize, usize, usize) {
        let count = |n: &AtomicUsize| n.load(Ordering::SeqCst);
        (count(&self.state.opened), count(&self.state.cut), count(&self.state.turned_away))
    }

    async fn pass(mut client: TcpStream, server: SocketAddr, state: Arc<CutterState>) {
        let mut cuts = state.cuts.subscribe();
        // The request line says whether this connection is for the live feed.
        let mut head = Vec::new();
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 16 * 1024 {
            let mut buffer = [0; 4096];
            match client.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let live = head.starts_with(b"GET /api/v1/live");
        if live && state.blocked.load(Ordering::SeqCst) {
            state.turned_away.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let Ok(mut upstream) = TcpStream::connect(server).await else { return };
        if upstream.write_all(&head).await.is_err() {
            return;
        }
        if !live {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            return;
        }
        state.opened.fetch_add(1, Ordering::SeqCst);
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
            _ = cuts.changed() => {
                state.cut.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for FeedCutter {
    fn drop(&mut self) {
        self.task.abort();
    }
}
