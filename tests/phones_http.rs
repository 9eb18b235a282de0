//! Phones as trackers over HTTP, against a real `convoy serve` with its phones registered by the
//! CLI: OwnTracks in HTTP mode (`POST /api/v1/phones/owntracks`) and Traccar Client's OsmAnd
//! protocol on its own listener (`[phones] osmand_listen`). Where a test needs what only the
//! library offers (a PostgreSQL of its own to stop, a shorter store patience, TLS), the server
//! runs in the test's process.
//!
//! The OsmAnd requests are those of Traccar's decoder test
//! (src/test/java/org/traccar/protocol/OsmAndProtocolDecoderTest.java, https://github.com/traccar/traccar,
//! Copyright Anton Tananaev, Apache License 2.0; see core/src/phone/fixtures/SOURCE.txt), with
//! the registered device id and fix times near now.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use common::served::{add_admin, add_user, add_vehicle, convoy, Served};
use common::{
    eventually, register_phone, register_traccar, trusting_client, Backend, BrokerKind, Captured, TestServer,
};
use convoy::config::PhoneSettings;
use convoy_core::VehicleId;
use convoy_gateway::tls::TlsFiles;
use convoy_store::{Store, StoredPosition};
use convoy_testkit::{PgCluster, TestCa};
use serde_json::{json, Value};

const ADMIN: &str = "admin-phones";
const ADMIN_PASSWORD: &str = "a long enough admin password";

/// A server with a vehicle per phone and the phones registered.
struct World {
    server: Served,
    data: PathBuf,
    osmand_port: u16,
    admin: String,
    _dir: tempfile::TempDir,
}

impl World {
    /// Registers what `setup` registers (with the CLI, before the server starts), then starts
    /// the server with the OsmAnd listener on.
    async fn start(setup: impl FnOnce(&Path, u16)) -> World {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        add_admin(&data, ADMIN, ADMIN_PASSWORD);
        let osmand_port = convoy_testkit::free_port();
        setup(&data, osmand_port);
        let config = dir.path().join("convoy.toml");
        std::fs::write(&config, format!("[phones]\nosmand_listen = \"127.0.0.1:{osmand_port}\"\n")).unwrap();
        let server =
            Served::spawn(&data, &dir.path().join("server.log"), &["--config", config.to_str().unwrap()]);
        server.ready().await;
        server.wait_for_log("phone listener listening").await;
        let admin = login(&server, ADMIN, ADMIN_PASSWORD).await;
        World { server, data, osmand_port, admin, _dir: dir }
    }

    async fn store(&self) -> Store {
        Store::open(&format!("sqlite://{}", self.data.join("convoy.db").display())).await.unwrap()
    }

    /// Every fix stored for `vehicle` in the last day and the next hour.
    async fn track(&self, vehicle: &str) -> Vec<StoredPosition> {
        track(&self.store().await, vehicle).await
    }

    async fn refused(&self, source: &str, reason: &str) -> f64 {
        let text = reqwest::get(self.server.url("/metrics")).await.unwrap().text().await.unwrap();
        refused(&text, source, reason)
    }

    fn osmand_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.osmand_port)
    }
}

/// Every fix `store` holds for `vehicle` in the last day and the next hour.
async fn track(store: &Store, vehicle: &str) -> Vec<StoredPosition> {
    let now = Utc::now();
    let vehicle = VehicleId::new(vehicle).unwrap();
    let mut stream =
        store.track_stream(&vehicle, now - chrono::Duration::days(1), now + chrono::Duration::hours(1));
    let mut fixes = Vec::new();
    while let Some(fix) = stream.recv().await {
        fixes.push(fix.unwrap());
    }
    fixes
}

/// `convoy_gateway_phone_refused_total{source, reason}` in the metrics `text`.
fn refused(text: &str, source: &str, reason: &str) -> f64 {
    let labels = [format!("reason=\"{reason}\""), format!("source=\"{source}\"")];
    text.lines()
        .filter(|l| l.starts_with("convoy_gateway_phone_refused_total{"))
        .find(|l| labels.iter().all(|label| l.contains(label.as_str())))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no refusal counter for {source} {reason}"))
}

async fn login(server: &Served, user: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "login of {user}");
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

/// The secret a `convoy phone add-*` command prints on its first line.
fn first_line(printed: &str) -> String {
    printed.lines().next().unwrap().trim().to_string()
}

// --- OwnTracks -----------------------------------------------------------------------------

const OT_USER: &str = "anna-phone";
const OT_DEVICE: &str = "pixel";
const OT_VEHICLE: &str = "escort-1";

/// A location as the Android app POSTs it in HTTP mode.
fn owntracks_location(tst: i64, lat: f64) -> Value {
    json!({
        "_type": "location", "acc": 12, "alt": 220, "batt": 80, "cog": 90, "lat": lat, "lon": 1.5211,
        "tid": "ne", "tst": tst, "vel": 36, "topic": format!("owntracks/{OT_USER}/{OT_DEVICE}"),
    })
}

/// POSTs `body` as the app does, with `credentials` and its X-Limit headers.
async fn post_owntracks(
    world: &World,
    credentials: Option<(&str, &str)>,
    limit: Option<(&str, &str)>,
    body: Vec<u8>,
) -> (u16, Option<String>, Value) {
    post_owntracks_to(&world.server.url("/api/v1/phones/owntracks"), credentials, limit, body).await
}

/// [`post_owntracks`] to the intake at `url`.
async fn post_owntracks_to(
    url: &str,
    credentials: Option<(&str, &str)>,
    limit: Option<(&str, &str)>,
    body: Vec<u8>,
) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/json").body(body);
    if let Some((user, secret)) = credentials {
        request = request.basic_auth(user, Some(secret));
    }
    if let Some((user, device)) = limit {
        request = request.header("X-Limit-U", user).header("X-Limit-D", device);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    (status, challenge, response.json().await.unwrap_or(Value::Null))
}

fn bytes(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owntracks_locations_are_stored_once_and_bad_reports_refused_and_counted() {
    let mut secret = String::new();
    let world = World::start(|data, _| {
        add_vehicle(data, OT_VEHICLE);
        let printed = convoy(
            &["phone", "add-owntracks", OT_USER, "--device", OT_DEVICE, "--vehicle", OT_VEHICLE],
            data,
        );
        secret = first_line(&printed);
    })
    .await;
    let me = Some((OT_USER, secret.as_str()));
    let limit = Some((OT_USER, OT_DEVICE));
    let tst = Utc::now().timestamp() - 5;

    // A location, twice (the app sends again what it is not sure was delivered): stored once.
    let location = owntracks_location(tst, 42.5064);
    for _ in 0..2 {
        let (status, _, answer) = post_owntracks(&world, me, limit, bytes(&location)).await;
        assert_eq!((status, answer), (200, json!([])));
    }
    let track = world.track(OT_VEHICLE).await;
    assert_eq!(track.len(), 1, "stored once: {track:?}");
    let fix = &track[0];
    assert_eq!(fix.position.seq, tst as u64 * 1000, "the fix time is its seq");
    assert_eq!(fix.position.t.timestamp(), tst);
    assert_eq!((fix.position.lat, fix.position.lon), (42.5064, 1.5211));
    assert_eq!(fix.position.accuracy_m, Some(12.0));
    assert_eq!(fix.position.alt_m, Some(220.0));
    assert_eq!(fix.position.course_deg, Some(90.0));
    assert!((fix.position.speed_mps.unwrap() - 10.0).abs() < 1e-9, "36 km/h");
    assert_eq!(fix.source.as_deref(), Some("owntracks:anna-phone"));

    // It reached the live map.
    let vehicles: Value = reqwest::Client::new()
        .get(world.server.url("/api/v1/vehicles"))
        .bearer_auth(&world.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let escort = vehicles["vehicles"].as_array().unwrap().iter().find(|v| v["id"] == OT_VEHICLE).unwrap();
    assert_eq!(escort["position"]["lat"], 42.5064, "{vehicles}");
    assert_eq!(escort["position"]["seq"], tst * 1000, "{vehicles}");

    // Other messages are accepted and not kept; so is `?u=&d=` naming the phone rightly.
    let transition = json!({
        "_type": "transition", "event": "enter", "desc": "depot", "lat": 42.5, "lon": 1.52,
        "tst": tst, "wtst": tst - 100, "acc": 10, "t": "c", "tid": "ne",
    });
    let (status, _, answer) = post_owntracks(&world, me, limit, bytes(&transition)).await;
    assert_eq!((status, answer), (200, json!([])));
    assert_eq!(world.track(OT_VEHICLE).await.len(), 1, "a transition stores nothing");

    // Credentials: none, a wrong secret, an unknown user. Each 401 with the Basic challenge.
    let basic = Some("Basic realm=\"convoy\"".to_string());
    let later = bytes(&owntracks_location(tst + 1, 42.6));
    let (status, challenge, answer) = post_owntracks(&world, None, limit, later.clone()).await;
    assert_eq!((status, challenge, answer["reason"].clone()), (401, basic.clone(), json!("no_credentials")));
    let wrong = "A".repeat(24);
    for credentials in [(OT_USER, wrong.as_str()), ("nobody-phone", secret.as_str())] {
        let (status, challenge, answer) =
            post_owntracks(&world, Some(credentials), None, later.clone()).await;
        assert_eq!((status, challenge), (401, basic.clone()), "{credentials:?}");
        assert_eq!(answer["reason"], "wrong_credentials");
    }
    assert_eq!(world.refused("owntracks_http", "wrong_credentials").await, 2.0);
    assert_eq!(world.refused("owntracks_http", "no_credentials").await, 1.0);

    // The user and device the request names must be the registration's.
    let (status, _, answer) = post_owntracks(&world, me, Some((OT_USER, "iphone")), later.clone()).await;
    assert_eq!((status, answer["reason"].clone()), (400, json!("device_mismatch")));
    let response = reqwest::Client::new()
        .post(world.server.url("/api/v1/phones/owntracks?u=someone-else&d=pixel"))
        .basic_auth(OT_USER, Some(&secret))
        .body(later.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let mut elsewhere = owntracks_location(tst + 1, 42.6);
    elsewhere["topic"] = json!(format!("owntracks/{OT_USER}/iphone"));
    let (status, _, _) = post_owntracks(&world, me, None, bytes(&elsewhere)).await;
    assert_eq!(status, 400, "the topic names another device");
    assert_eq!(world.refused("owntracks_http", "device_mismatch").await, 3.0);

    // Bad reports: 400 with the decoder's reason, each counted.
    let mut no_tst = owntracks_location(tst + 1, 42.6);
    no_tst.as_object_mut().unwrap().remove("tst");
    let future = owntracks_location(Utc::now().timestamp() + 86_400, 42.6);
    let cases: [(Vec<u8>, &str); 4] = [
        (b"{\"_type\":\"location\",\"lat\":42.5,".to_vec(), "malformed"),
        (bytes(&no_tst), "missing_field"),
        (bytes(&owntracks_location(tst + 1, 91.0)), "latitude_out_of_range"),
        (bytes(&future), "future_fix"),
    ];
    for (body, reason) in cases {
        let (status, _, answer) = post_owntracks(&world, me, limit, body).await;
        assert_eq!((status, answer["reason"].clone()), (400, json!(reason)));
        assert_eq!(world.refused("owntracks_http", reason).await, 1.0, "{reason}");
    }

    // Over 64 KiB: 413, counted.
    let mut huge = owntracks_location(tst + 1, 42.6);
    huge["desc"] = json!("x".repeat(64 * 1024));
    let (status, _, _) = post_owntracks(&world, me, limit, bytes(&huge)).await;
    assert_eq!(status, 413);
    assert_eq!(world.refused("owntracks_http", "too_large").await, 1.0);

    assert_eq!(world.track(OT_VEHICLE).await.len(), 1, "nothing refused was stored");
    let log = world.server.log_text();
    assert!(!log.contains(&secret), "the secret is never logged");
    assert!(!log.contains("42.5064"), "no position is logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_phone_is_stored_only_within_their_moves_and_told_its_mode() {
    let mut secret = String::new();
    let world = World::start(|data, _| {
        add_vehicle(data, "escort-2");
        add_user(data, "bob", "escort", "a long enough escort password");
        let printed = convoy(
            &[
                "phone",
                "add-owntracks",
                "bob-phone",
                "--device",
                "iphone",
                "--vehicle",
                "escort-2",
                "--person",
                "bob",
            ],
            data,
        );
        secret = first_line(&printed);
    })
    .await;
    let me = Some(("bob-phone", secret.as_str()));
    let location = |tst: i64| {
        json!({ "_type": "location", "lat": 48.16, "lon": 11.56, "tst": tst, "acc": 8,
                "topic": "owntracks/bob-phone/iphone" })
    };
    let command = |monitoring: i32| {
        json!([{ "_type": "cmd", "action": "setConfiguration",
                 "configuration": { "_type": "configuration", "monitoring": monitoring } }])
    };
    let tst = Utc::now().timestamp() - 10;

    // Bob is on no move: accepted, not stored, counted; the app is put in significant-changes
    // mode (never quiet mode, from which HTTP could not wake it).
    let (status, _, answer) = post_owntracks(&world, me, None, bytes(&location(tst))).await;
    assert_eq!((status, answer), (200, command(1)));
    assert!(world.track("escort-2").await.is_empty(), "not stored outside Bob's moves");
    assert_eq!(world.refused("owntracks_http", "outside_moves").await, 1.0);

    // A move Bob escorts, running now: stored, and the app is put in move mode.
    let now = Utc::now();
    let window = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let plan = json!({
        "name": "bob's move",
        "vehicles": ["escort-2"],
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17], [11.58, 48.17]] },
        "corridor_m": 200,
        "window": { "from": window(now - chrono::Duration::hours(1)), "to": window(now + chrono::Duration::hours(1)) },
    });
    let client = reqwest::Client::new();
    let created = client
        .post(world.server.url("/api/v1/moves"))
        .bearer_auth(&world.admin)
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let team = client
        .put(world.server.url(&format!("/api/v1/moves/{id}/team")))
        .bearer_auth(&world.admin)
        .json(&json!({ "users": ["bob"] }))
        .send()
        .await
        .unwrap();
    assert!(team.status().is_success(), "{}", team.status());
    let (status, _, answer) = post_owntracks(&world, me, None, bytes(&location(tst + 1))).await;
    assert_eq!((status, answer), (200, command(2)));
    let track = world.track("escort-2").await;
    assert_eq!(track.len(), 1);
    assert_eq!(track[0].position.t.timestamp(), tst + 1);
    assert_eq!(world.refused("owntracks_http", "outside_moves").await, 1.0);
}

/// `CREATE DATABASE name` on `cluster`; the new database's URL.
async fn create_database(cluster: &PgCluster, name: &str) -> String {
    let (client, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port)
}

/// Stops PostgreSQL as an operator would (`pg_ctl stop -m fast`: every connection is closed).
async fn stop_postgres(cluster: &Arc<PgCluster>) {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || cluster.stop()).await.unwrap();
}

async fn start_postgres(cluster: &Arc<PgCluster>) {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || cluster.start_again()).await.unwrap();
}

/// What the gateway logs each time a phone's report finds the store failing and waits to retry.
const WAITS_FOR_STORE: &str = "a phone's report waits for the store";

/// How many lines of `log` hold `text`.
fn count(log: &Captured, text: &str) -> usize {
    log.lines().iter().filter(|line| line.contains(text)).count()
}

/// The app takes any answer as delivered, so a location waits for a failing store (PostgreSQL
/// stopped under a running server): back within the patience, the location is answered 200 only
/// once committed, and stored once; down past the patience (shortened to 3 s), it is answered
/// 503, counted, and never stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owntracks_location_waits_for_a_stopped_postgres_and_is_stored_once_or_503_past_the_patience() {
    let log = Captured::install("convoy_gateway=warn");
    let postgres = Arc::new(tokio::task::spawn_blocking(PgCluster::start).await.unwrap());
    let now = Utc::now().timestamp();
    let times =
        |fixes: Vec<StoredPosition>| fixes.iter().map(|f| f.position.t.timestamp()).collect::<Vec<_>>();

    // The shipped patience (60 s): PostgreSQL is back well within it.
    let database = create_database(&postgres, "back_within_patience").await;
    let server = TestServer::start_on_database(database, BrokerKind::Embedded, |_| {}).await;
    let secret = register_phone(&server, OT_USER, OT_DEVICE, OT_VEHICLE, None).await;
    let url = server.url("/api/v1/phones/owntracks");
    let me = Some((OT_USER, secret.as_str()));
    let (status, _, _) = post_owntracks_to(&url, me, None, bytes(&owntracks_location(now - 30, 42.5))).await;
    assert_eq!(status, 200, "stored while PostgreSQL is up");

    stop_postgres(&postgres).await;
    let waited = count(&log, WAITS_FOR_STORE);
    let request = tokio::spawn({
        let (url, secret) = (url.clone(), secret.clone());
        let body = bytes(&owntracks_location(now - 20, 42.6));
        async move { post_owntracks_to(&url, Some((OT_USER, secret.as_str())), None, body).await }
    });
    eventually(Duration::from_secs(60), "the report to find the store failing", || async {
        (count(&log, WAITS_FOR_STORE) > waited).then_some(())
    })
    .await;
    assert!(!request.is_finished(), "answered while PostgreSQL is down");
    start_postgres(&postgres).await;
    let (status, _, answer) = request.await.unwrap();
    assert_eq!((status, answer), (200, json!([])));
    // Answered only once committed: the fix is there at once (no polling), and once.
    assert_eq!(times(track(&server.store, OT_VEHICLE).await), [now - 30, now - 20]);
    server.stop().await;

    // A patience of 3 s: PostgreSQL stays down past it.
    let database = create_database(&postgres, "down_past_patience").await;
    let server = TestServer::start_on_database(database, BrokerKind::Embedded, |config| {
        config.phone_store_patience = Duration::from_secs(3);
    })
    .await;
    let secret = register_phone(&server, OT_USER, OT_DEVICE, OT_VEHICLE, None).await;
    let url = server.url("/api/v1/phones/owntracks");
    let me = Some((OT_USER, secret.as_str()));
    stop_postgres(&postgres).await;
    let waited = count(&log, WAITS_FOR_STORE);
    let answered = post_owntracks_to(&url, me, None, bytes(&owntracks_location(now - 10, 42.7)));
    let (status, _, answer) =
        tokio::time::timeout(Duration::from_secs(60), answered).await.expect("an answer within a minute");
    assert_eq!((status, answer["reason"].clone()), (503, json!("store_unavailable")));
    assert!(count(&log, WAITS_FOR_STORE) > waited, "the store was retried before the refusal");
    start_postgres(&postgres).await;
    assert_eq!(refused(&server.metrics().await, "owntracks_http", "store_unavailable"), 1.0);
    assert!(track(&server.store, OT_VEHICLE).await.is_empty(), "the refused location is not stored");
    // The next location is stored, and only it.
    let (status, _, _) = post_owntracks_to(&url, me, None, bytes(&owntracks_location(now - 5, 42.8))).await;
    assert_eq!(status, 200);
    assert_eq!(times(track(&server.store, OT_VEHICLE).await), [now - 5]);
    server.stop().await;
}

// --- Traccar Client (OsmAnd) -----------------------------------------------------------------

const TRACCAR_ID: &str = "48241179";
const TRACCAR_VEHICLE: &str = "truck-9";

/// Registers the Traccar phone and returns the URL the app is given (`URL/SECRET`).
fn add_traccar(data: &Path, port: u16) -> String {
    add_vehicle(data, TRACCAR_VEHICLE);
    let base = format!("http://127.0.0.1:{port}");
    let printed = convoy(
        &["phone", "add-traccar", TRACCAR_ID, "--vehicle", TRACCAR_VEHICLE, "--server-url", &base],
        data,
    );
    first_line(&printed)
}

/// Traccar's query requests (`verifyPosition` ones), with our id and the fix time `t` in the
/// request's own time format (added where the original had none).
fn traccar_queries(t: DateTime<Utc>) -> Vec<(String, Expect)> {
    let id = TRACCAR_ID;
    let s = t.timestamp();
    let ms = t.timestamp_millis();
    let iso = t.format("%Y-%m-%dT%H%%3A%M%%3A%SZ");
    let spaced = (t + chrono::Duration::seconds(2)).format("%Y-%m-%d+%H%%3A%M%%3A%S");
    let knots = 1852.0 / 3600.0;
    let at = |n: i64| s + n;
    vec![
        (
            format!("id={id}&lat=42.06288&lon=-88.23412&timestamp={iso}&hdop=6.0&altitude=224.0&speed=0.0"),
            Expect { t: at(0), lat: 42.06288, lon: -88.23412, speed: Some(0.0), alt: Some(224.0) },
        ),
        (
            format!("id={id}&lat=42.06288&lon=-88.23412&timestamp={}&hdop=6.0&altitude=224.0&speed=0.0", ms + 1000),
            Expect { t: at(1), lat: 42.06288, lon: -88.23412, speed: Some(0.0), alt: Some(224.0) },
        ),
        (
            format!("lat=49.60688&lon=6.15788&timestamp={spaced}&altitude=384.7&speed=0.0&id={id}"),
            Expect { t: at(2), lat: 49.60688, lon: 6.15788, speed: Some(0.0), alt: Some(384.7) },
        ),
        (
            format!("id={id}&timestamp={}&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&hdop=0.0", at(3)),
            Expect { t: at(3), lat: 60.0, lon: 30.0, speed: Some(0.0), alt: Some(0.0) },
        ),
        (
            format!("id={id}&timestamp={}&lat=60.0&lon=30.0", at(4)),
            Expect { t: at(4), lat: 60.0, lon: 30.0, speed: None, alt: None },
        ),
        (
            format!("lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid={id}&timestamp={}", at(5)),
            Expect { t: at(5), lat: 60.0, lon: 30.0, speed: Some(0.0), alt: Some(0.0) },
        ),
        (
            format!("id={id}&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87&timestamp={}", at(6)),
            Expect { t: at(6), lat: 41.666667, lon: -0.883333, speed: Some(0.0), alt: Some(350.059479) },
        ),
        (
            format!("id={id}&timestamp={}&location=60.0,30.0", at(7)),
            Expect { t: at(7), lat: 60.0, lon: 30.0, speed: None, alt: None },
        ),
        (
            format!(
                "id={id}&timestamp={}&lat=40.7232948571&lon=-74.0061408571&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
                at(8)
            ),
            Expect { t: at(8), lat: 40.7232948571, lon: -74.0061408571, speed: Some(40.0 * knots), alt: None },
        ),
    ]
}

#[derive(Debug, Clone, Copy)]
struct Expect {
    t: i64,
    lat: f64,
    lon: f64,
    speed: Option<f64>,
    alt: Option<f64>,
}

fn check_fix(fix: &StoredPosition, expect: &Expect) {
    let p = &fix.position;
    assert_eq!(p.t.timestamp(), expect.t, "{fix:?}");
    assert_eq!(p.seq, p.t.timestamp_millis() as u64);
    assert_eq!((p.lat, p.lon), (expect.lat, expect.lon), "{fix:?}");
    match (p.speed_mps, expect.speed) {
        (Some(got), Some(want)) => assert!((got - want).abs() < 1e-9, "speed {got} != {want}"),
        (got, want) => assert_eq!(got, want, "speed"),
    }
    assert_eq!(p.alt_m, expect.alt, "{fix:?}");
    assert_eq!(fix.source.as_deref(), Some("traccar:48241179"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traccar_client_reports_are_stored_from_queries_forms_and_json() {
    let mut url = String::new();
    let world = World::start(|data, port| url = add_traccar(data, port)).await;
    let path = url.strip_prefix(&format!("http://127.0.0.1:{}", world.osmand_port)).unwrap().to_string();
    let secret = path.trim_start_matches('/').to_string();
    assert_eq!(secret.len(), 24, "the URL ends with the secret: {url}");
    let client = reqwest::Client::new();
    // The page's phone setup is told where this listener is, to fill in a phone's endpoint.
    let phones: Value = client
        .get(world.server.url("/api/v1/phones"))
        .bearer_auth(&world.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(phones["traccar_listener"], json!({ "port": world.osmand_port, "tls": false }), "{phones}");
    let base = Utc::now() - chrono::Duration::seconds(60);
    let base = DateTime::from_timestamp(base.timestamp(), 0).unwrap();

    // Traccar's query requests, alternately as GET and as a POST without a body (as the
    // Android app of old sends them).
    let queries = traccar_queries(base);
    for (n, (query, _)) in queries.iter().enumerate() {
        let request_url = world.osmand_url(&format!("{path}?{query}"));
        let request = if n % 2 == 0 { client.get(&request_url) } else { client.post(&request_url) };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{query}: {}", response.text().await.unwrap());
        assert!(response.bytes().await.unwrap().is_empty(), "an empty body");
    }
    // A form body; speed in knots.
    let form_t = base.timestamp() + 20;
    let form =
        format!("id={TRACCAR_ID}&lat=52.52&lon=13.405&timestamp={form_t}&speed=10&bearing=180&accuracy=4");
    let response = client
        .post(world.osmand_url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Traccar Client 9's JSON (a real body of Traccar's test); speed in m/s.
    let json_t = base + chrono::Duration::seconds(30) + chrono::Duration::milliseconds(444);
    let mut body: Value =
        serde_json::from_str(include_str!("../core/src/phone/fixtures/osmand/json_moving.json")).unwrap();
    body["device_id"] = json!(TRACCAR_ID);
    body["location"]["timestamp"] = json!(json_t.to_rfc3339_opts(SecondsFormat::Millis, true));
    let response = client.post(world.osmand_url(&path)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let track = world.track(TRACCAR_VEHICLE).await;
    assert_eq!(track.len(), queries.len() + 2, "{track:#?}");
    for ((_, expect), fix) in queries.iter().zip(&track) {
        check_fix(fix, expect);
    }
    let knots = 1852.0 / 3600.0;
    let form_fix = &track[queries.len()];
    check_fix(form_fix, &Expect { t: form_t, lat: 52.52, lon: 13.405, speed: Some(10.0 * knots), alt: None });
    assert_eq!((form_fix.position.course_deg, form_fix.position.accuracy_m), (Some(180.0), Some(4.0)));
    let json_fix = &track[queries.len() + 1];
    check_fix(
        json_fix,
        &Expect {
            t: json_t.timestamp(),
            lat: -6.1148096,
            lon: 106.6837015,
            speed: Some(18.67),
            alt: Some(35.7),
        },
    );
    assert_eq!(json_fix.position.t, json_t, "to the millisecond");
    assert_eq!((json_fix.position.course_deg, json_fix.position.accuracy_m), (Some(63.0), Some(3.8)));

    // Sent again (the app resends what it is unsure of): stored once.
    let response = client.get(world.osmand_url(&format!("{path}?{}", queries[3].0))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = client.post(world.osmand_url(&path)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(world.track(TRACCAR_VEHICLE).await.len(), queries.len() + 2, "duplicates stored once");

    // Bad reports: 400 with the reason, counted.
    let t = base.timestamp() + 40;
    for (query, reason) in [
        (format!("id={TRACCAR_ID}&lat=1&lat=2&lon=3&timestamp={t}"), "repeated_parameter"),
        (format!("id={TRACCAR_ID}&lat=1&lon=3&timestamp={t}&speed=abc"), "not_a_number"),
    ] {
        let response = client.get(world.osmand_url(&format!("{path}?{query}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(response.json::<Value>().await.unwrap()["reason"], reason);
        assert_eq!(world.refused("osmand", reason).await, 1.0, "{reason}");
    }
    // Over 64 KiB: 413.
    let response = client
        .post(world.osmand_url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("id={TRACCAR_ID}&lat=1&lon=3&timestamp={t}&pad={}", "x".repeat(64 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(world.refused("osmand", "too_large").await, 1.0);

    // Credentials: a wrong secret, an unknown id, no secret at all: 401, counted.
    let good = format!("id={TRACCAR_ID}&lat=1&lon=3&timestamp={t}");
    let wrong = format!("/{}?{good}", "B".repeat(24));
    let unknown = format!("{path}?id=99999999&lat=1&lon=3&timestamp={t}");
    for request in [wrong, unknown] {
        let response = client.get(world.osmand_url(&request)).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    assert_eq!(world.refused("osmand", "wrong_credentials").await, 2.0);
    let response = client.get(world.osmand_url(&format!("/?{good}"))).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(world.refused("osmand", "no_credentials").await, 1.0);

    assert_eq!(world.track(TRACCAR_VEHICLE).await.len(), queries.len() + 2, "nothing refused was stored");
    let log = world.server.log_text();
    assert!(!log.contains(&secret), "the secret (the URL's path) is never logged");
}

/// Traccar Client over HTTPS (`osmand_tls = true`, with `[http_tls]`'s certificate): a client
/// trusting the test CA reports and its fix is stored; plain HTTP to that port gets no HTTP
/// answer, a client trusting another CA fails the handshake, and neither stores anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_a_trusting_clients_report_is_stored_and_plain_http_or_an_untrusting_client_stores_nothing()
{
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let cert = ca.server("convoy-server");
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.http_tls = Some(TlsFiles {
            cert_file: cert.cert_file.clone(),
            key_file: cert.key_file.clone(),
            client_ca_file: None,
        });
        config.phones =
            PhoneSettings { osmand_listen: Some("127.0.0.1:0".parse().unwrap()), osmand_tls: true };
    })
    .await;
    let port = server.server.as_ref().unwrap().osmand_addr.expect("the OsmAnd listener").port();
    let secret = register_traccar(&server, TRACCAR_ID, TRACCAR_VEHICLE).await;
    let t = Utc::now().timestamp() - 60;
    let report = |scheme: &str, t: i64| {
        format!("{scheme}://127.0.0.1:{port}/{secret}?id={TRACCAR_ID}&lat=52.52&lon=13.405&timestamp={t}")
    };

    // Plain HTTP to the TLS port: no HTTP answer at all.
    let plain = reqwest::Client::new().post(report("http", t)).send().await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    // A client trusting another CA: the handshake fails on the server's certificate.
    let other_dir = tempfile::tempdir().unwrap();
    let untrusting = trusting_client(&TestCa::new(other_dir.path()));
    let error = untrusting.post(report("https", t + 1)).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    // (UnknownIssuer, or BadSignature: both test CAs have the same name.)
    assert!(format!("{error:?}").contains("InvalidCertificate"), "{error:?}");
    // A client trusting the test CA: answered 200 (an empty body) once stored.
    let response = trusting_client(&ca).post(report("https", t + 2)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty(), "an empty body");

    let track = track(&server.store, TRACCAR_VEHICLE).await;
    let times: Vec<i64> = track.iter().map(|f| f.position.t.timestamp()).collect();
    assert_eq!(times, [t + 2], "only the report over TLS is stored");
    assert_eq!(track[0].source.as_deref(), Some("traccar:48241179"));
    assert_eq!((track[0].position.lat, track[0].position.lon), (52.52, 13.405));
    server.stop().await;
}
