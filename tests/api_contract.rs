//! The API's answers are what its OpenAPI document says they are.
//!
//! A server with a planned move whose vehicles drove (with a stop and a gap in the data), an
//! alert acknowledged with a note and another resolved, and audit entries; then every route is
//! called for its success answer (JSON bodies, streamed tracks, the replay and the report, the
//! files, the page, the live feed's messages), and for the refusals each answers with (400,
//! 401, 403, 404, 409, 415, 422). Each answer is checked against the server's own document
//! (`common::contract`): its status must be documented for the operation, its content type
//! too, and a JSON body must validate against the schema (strictly: no undocumented field).
//! Every operation's success must have been checked.

mod common;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use common::contract::{Answer, Contract};
use common::*;
use convoy_core::{FixMode, Position, Role, VehicleId};
use convoy_store::AlertRecord;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite;

const AUDITOR_USER: &str = "auditor-contract";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";

/// Calls the server and checks every answer against the contract, keeping what disagrees.
struct Caller<'a> {
    server: &'a TestServer,
    contract: &'a Contract,
    wrong: Vec<String>,
}

impl Caller<'_> {
    /// The status and (when JSON) the body of a call; the answer is checked.
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> (u16, Value) {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new().request(verb, self.server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let bytes = response.bytes().await.unwrap();
        let answer = Answer { method, path, status, content_type: content_type.as_deref(), body: &bytes };
        if let Err(e) = self.contract.check(&answer) {
            self.wrong.push(e);
        }
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&mut self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call("GET", path, token, None).await
    }

    /// Asserts the status of a call (the contract is checked either way).
    async fn expect(
        &mut self,
        status: u16,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let (got, answer) = self.call(method, path, token, body).await;
        if got != status {
            self.wrong.push(format!("{method} {path}: expected {status}, got {got}: {answer}"));
        }
        answer
    }
}

/// 1 Hz fixes along a line eastwards from Munich: moving, a 3-minute halt, moving, 60 s of
/// silence, moving.
fn drive(t0: DateTime<Utc>) -> Vec<Position> {
    let mut fixes = Vec::new();
    let (mut lon, lat) = (11.56, 48.16);
    for second in 0..600i64 {
        let halted = (120..300).contains(&second);
        let silent = (420..480).contains(&second);
        if !halted {
            lon += 0.0002; // about 15 m/s
        }
        if silent {
            continue;
        }
        fixes.push(Position {
            seq: fixes.len() as u64 + 1,
            t: t0 + chrono::Duration::seconds(second),
            lat,
            lon,
            alt_m: Some(520.0),
            speed_mps: Some(if halted { 0.0 } else { 15.0 }),
            course_deg: Some(90.0),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.8),
            accuracy_m: None,
        });
    }
    fixes
}

/// Opens an `off_route` alert on the move as the rules would.
async fn open_alert(server: &TestServer, id: &str, move_id: &str, vehicle: &str, at: DateTime<Utc>) {
    let record = AlertRecord { lat: Some(48.17), lon: Some(11.58), ..opened_alert(id, move_id, vehicle, at) };
    assert!(server.store.open_alert(&record).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_as_the_openapi_document_says() {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.base_map = common::basemap::from_file(&common::basemap::andorra())
    })
    .await;
    convoy_registry::add_user(&server.store, AUDITOR_USER, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
    let contract = Contract::of(&server).await;
    let mut c = Caller { server: &server, contract: &contract, wrong: Vec::new() };

    // The system's public routes.
    c.expect(200, "GET", "/healthz", None, None).await;
    c.expect(200, "GET", "/metrics", None, None).await;
    c.expect(200, "GET", "/", None, None).await;
    c.expect(200, "GET", "/assets/js/main.js", None, None).await;
    c.expect(200, "GET", "/assets/vendor/leaflet/images/layers.png", None, None).await;
    c.expect(404, "GET", "/assets/no-such-file.js", None, None).await;
    // The base map: the streets of this server's extract, and a raster archive's tiles on a
    // second server (a server has one base map).
    let (z, x, y) = common::basemap::TARRAGONA_Z16;
    c.expect(200, "GET", &format!("/basemap/streets/{z}/{x}/{y}"), None, None).await;
    c.expect(400, "GET", "/basemap/streets/3/8/0", None, None).await;
    c.expect(404, "GET", "/basemap/tiles/2/2/1", None, None).await;
    let archive_dir = tempfile::tempdir().unwrap();
    let archive = archive_dir.path().join("region.mbtiles");
    common::basemap::raster_archive(&archive, "png");
    let raster = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.base_map = common::basemap::from_file(&archive)
    })
    .await;
    let mut r = Caller { server: &raster, contract: &contract, wrong: Vec::new() };
    let (z, x, y) = common::basemap::RASTER_TILE;
    r.expect(200, "GET", &format!("/basemap/tiles/{z}/{x}/{y}"), None, None).await;
    r.expect(404, "GET", "/basemap/tiles/2/0/0", None, None).await;
    r.expect(404, "GET", "/basemap/streets/2/0/0", None, None).await;
    c.wrong.append(&mut r.wrong);
    raster.stop().await;
    c.expect(200, "GET", "/api/v1/openapi.json", None, None).await;

    // People.
    let login = json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD });
    let admin = c.expect(200, "POST", "/api/v1/login", None, Some(login)).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = admin.as_str();
    let wrong_password = json!({ "username": ADMIN_USER, "password": "not the password at all" });
    c.expect(401, "POST", "/api/v1/login", None, Some(wrong_password)).await;
    c.expect(400, "POST", "/api/v1/login", None, Some(json!({ "username": ADMIN_USER }))).await;
    let login = json!({ "username": AUDITOR_USER, "password": AUDITOR_PASSWORD });
    let auditor = c.expect(200, "POST", "/api/v1/login", None, Some(login)).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let auditor = auditor.as_str();
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let escort = escort.as_str();
    c.expect(200, "GET", "/api/v1/me", Some(admin), None).await;
    c.expect(401, "GET", "/api/v1/me", None, None).await;
    c.expect(401, "GET", "/api/v1/me", Some("forged-token-forged-token"), None).await;
    c.expect(200, "GET", "/api/v1/users", Some(admin), None).await;
    c.expect(403, "GET", "/api/v1/users", Some(auditor), None).await;
    let new_user =
        json!({ "name": "contract-new", "role": "dispatcher", "password": "a long enough new password" });
    c.expect(201, "POST", "/api/v1/users", Some(admin), Some(new_user.clone())).await;
    c.expect(409, "POST", "/api/v1/users", Some(admin), Some(new_user)).await;
    let unknown_field =
        json!({ "name": "x-y", "role": "escort", "password": "a long enough password", "admin": true });
    c.expect(400, "POST", "/api/v1/users", Some(admin), Some(unknown_field)).await;
    c.call("POST", "/api/v1/users", Some(admin), Some(("text/plain", b"name".to_vec()))).await;
    c.expect(200, "DELETE", "/api/v1/users/contract-new/tokens", Some(admin), None).await;
    c.expect(404, "DELETE", "/api/v1/users/nobody-here/tokens", Some(admin), None).await;
    c.expect(200, "DELETE", "/api/v1/users/contract-new/login-holds", Some(admin), None).await;
    c.expect(404, "DELETE", "/api/v1/users/nobody-here/login-holds", Some(admin), None).await;
    c.expect(403, "DELETE", "/api/v1/users/contract-new/login-holds", Some(auditor), None).await;
    c.expect(200, "DELETE", "/api/v1/me/login-holds", Some(auditor), None).await;
    c.expect(401, "DELETE", "/api/v1/me/login-holds", None, None).await;
    // Changing people: contract-new (a dispatcher) changed; the only admin kept; nobody unknown.
    let role = |r: &str| Some(json!({ "role": r }));
    c.expect(200, "PUT", "/api/v1/users/contract-new/role", Some(admin), role("escort")).await;
    c.expect(400, "PUT", "/api/v1/users/contract-new/role", Some(admin), role("boss")).await;
    c.expect(404, "PUT", "/api/v1/users/nobody-here/role", Some(admin), role("escort")).await;
    let only_admin = format!("/api/v1/users/{ADMIN_USER}");
    c.expect(409, "PUT", &format!("{only_admin}/role"), Some(admin), role("auditor")).await;
    c.expect(403, "PUT", "/api/v1/users/contract-new/role", Some(auditor), role("admin")).await;
    c.expect(200, "POST", "/api/v1/users/contract-new/disable", Some(admin), None).await;
    c.expect(409, "POST", &format!("{only_admin}/disable"), Some(admin), None).await;
    c.expect(404, "POST", "/api/v1/users/nobody-here/disable", Some(admin), None).await;
    c.expect(200, "POST", "/api/v1/users/contract-new/enable", Some(admin), None).await;
    c.expect(404, "POST", "/api/v1/users/nobody-here/enable", Some(admin), None).await;
    c.expect(200, "POST", "/api/v1/users/contract-new/password", Some(admin), None).await;
    c.expect(404, "POST", "/api/v1/users/nobody-here/password", Some(admin), None).await;
    let own = |current: &str, new: &str| Some(json!({ "current": current, "new": new }));
    let (new_password, wrong) = ("a new auditor password", "not the auditor's password");
    c.expect(403, "PUT", "/api/v1/me/password", Some(auditor), own(wrong, new_password)).await;
    c.expect(400, "PUT", "/api/v1/me/password", Some(auditor), own(AUDITOR_PASSWORD, "short")).await;
    c.expect(200, "PUT", "/api/v1/me/password", Some(auditor), own(AUDITOR_PASSWORD, new_password)).await;
    c.expect(200, "PUT", "/api/v1/me/password", Some(auditor), own(new_password, AUDITOR_PASSWORD)).await;
    c.expect(401, "PUT", "/api/v1/me/password", None, own(AUDITOR_PASSWORD, new_password)).await;
    let me = c.expect(200, "GET", "/api/v1/me", Some(auditor), None).await;
    assert_eq!(me["language"], Value::Null, "never chosen: {me}");
    let language = |language: &str| Some(json!({ "language": language }));
    c.expect(204, "PUT", "/api/v1/me/language", Some(auditor), language("zh-CN")).await;
    c.expect(400, "PUT", "/api/v1/me/language", Some(auditor), language("fr")).await;
    c.expect(401, "PUT", "/api/v1/me/language", None, language("en")).await;
    let me = c.expect(200, "GET", "/api/v1/me", Some(auditor), None).await;
    assert_eq!(me["language"], "zh-CN", "{me}");

    // Vehicles and a move they drive.
    let created =
        c.expect(201, "POST", "/api/v1/vehicles", Some(admin), Some(json!({ "id": "truck-9" }))).await;
    let password = created["password"].as_str().unwrap().to_string();
    c.expect(201, "POST", "/api/v1/vehicles", Some(admin), Some(json!({ "id": "escort-9" }))).await;
    c.expect(409, "POST", "/api/v1/vehicles", Some(admin), Some(json!({ "id": "truck-9" }))).await;
    c.expect(400, "POST", "/api/v1/vehicles", Some(admin), Some(json!({ "id": "bad id" }))).await;
    c.expect(201, "POST", "/api/v1/vehicles", Some(admin), Some(json!({ "id": "spare-9" }))).await;
    c.expect(200, "POST", "/api/v1/vehicles/spare-9/password", Some(admin), None).await;
    c.expect(404, "POST", "/api/v1/vehicles/nothing-9/password", Some(admin), None).await;
    c.expect(200, "POST", "/api/v1/vehicles/spare-9/disable", Some(admin), None).await;
    c.expect(404, "POST", "/api/v1/vehicles/nothing-9/disable", Some(admin), None).await;
    c.expect(200, "POST", "/api/v1/vehicles/spare-9/enable", Some(admin), None).await;
    c.expect(404, "POST", "/api/v1/vehicles/nothing-9/enable", Some(admin), None).await;
    // An agent's report as ingest stores it, so the answer's schema is checked with one in it.
    let report = convoy_store::AgentStatus {
        vehicle: VehicleId::new("spare-9").unwrap(),
        received_at: Utc::now().trunc_subsecs(3),
        status_json: r#"{"v":1,"state":"online","version":"0.1.0","gnss":"fix","spool_depth":3}"#.into(),
    };
    let statuses = convoy_store::IngestWrite { statuses: vec![report], ..Default::default() };
    server.store.write_ingest(&statuses).await.unwrap();
    c.expect(200, "GET", "/api/v1/vehicles/spare-9/status", Some(admin), None).await;
    c.expect(400, "GET", "/api/v1/vehicles/spare-9/status?from=soon", Some(admin), None).await;
    c.expect(404, "GET", "/api/v1/vehicles/nothing-9/status", Some(admin), None).await;
    // A vehicle's public keys (signed tracks): a listed vehicle then shows it signed.
    let key = convoy_core::signing::SecretKey::generate().public().to_string();
    let valid_from = "2026-01-01T00:00:00Z";
    let new_key = json!({ "public_key": key, "valid_from": valid_from });
    c.expect(201, "POST", "/api/v1/vehicles/spare-9/keys", Some(admin), Some(new_key.clone())).await;
    c.expect(409, "POST", "/api/v1/vehicles/spare-9/keys", Some(admin), Some(new_key)).await;
    let bad_key = json!({ "public_key": "ed25519:short" });
    c.expect(400, "POST", "/api/v1/vehicles/spare-9/keys", Some(admin), Some(bad_key)).await;
    let unknown = json!({ "public_key": convoy_core::signing::SecretKey::generate().public().to_string() });
    c.expect(404, "POST", "/api/v1/vehicles/nothing-9/keys", Some(admin), Some(unknown)).await;
    c.expect(200, "GET", "/api/v1/vehicles/spare-9/keys", Some(admin), None).await;
    c.expect(404, "GET", "/api/v1/vehicles/nothing-9/keys", Some(admin), None).await;
    c.expect(200, "GET", "/api/v1/vehicles", Some(admin), None).await;

    let fixes = drive(Utc::now().trunc_subsecs(0) - chrono::Duration::seconds(700));
    let t0 = fixes[0].t;
    let plan = json!({
        "name": "contract move",
        "vehicles": ["truck-9", "escort-9"],
        "escorts": { "truck-9": "escort-9" },
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.60, 48.16], [11.70, 48.16]] },
        "corridor_m": 300,
        "zones": { "type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [11.56, 48.16] },
            "properties": { "name": "depot", "kind": "origin", "radius_m": 200 },
        }] },
        "window": { "from": t0 - chrono::Duration::seconds(60), "to": Utc::now() + chrono::Duration::minutes(30) },
        "rules": { "late_after_s": 100000, "signal_lost_after_s": 100000 },
    });
    let move_id = c.expect(201, "POST", "/api/v1/moves", Some(admin), Some(plan)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let move_id = move_id.as_str();
    let unknown = json!({ "name": "n", "vehicles": ["nobody-9"], "route": { "type": "LineString", "coordinates": [[11.5, 48.1], [11.6, 48.2]] } });
    c.expect(422, "POST", "/api/v1/moves", Some(admin), Some(unknown)).await;
    c.expect(400, "POST", "/api/v1/moves", Some(admin), Some(json!({ "name": "no route" }))).await;
    let (status, _) = c.call("POST", "/api/v1/moves", Some(admin), Some(("text/plain", b"x".to_vec()))).await;
    assert_eq!(status, 415);
    let gpx = r#"<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><rte><rtept lat="48.16" lon="11.56"/><rtept lat="48.17" lon="11.58"/></rte></gpx>"#;
    let (status, _) = c
        .call(
            "POST",
            "/api/v1/moves?name=from%20gpx&vehicles=truck-9",
            Some(admin),
            Some(("application/gpx+xml", gpx.as_bytes().to_vec())),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = c
        .call(
            "POST",
            "/api/v1/routes/parse",
            Some(admin),
            Some(("application/gpx+xml", gpx.as_bytes().to_vec())),
        )
        .await;
    assert_eq!(status, 200);
    c.expect(
        200,
        "PUT",
        &format!("/api/v1/moves/{move_id}/team"),
        Some(admin),
        Some(json!({ "users": [ESCORT_USER] })),
    )
    .await;
    c.expect(
        422,
        "PUT",
        &format!("/api/v1/moves/{move_id}/team"),
        Some(admin),
        Some(json!({ "users": ["nobody-known"] })),
    )
    .await;
    c.expect(404, "PUT", "/api/v1/moves/no-such-move/team", Some(admin), Some(json!({ "users": [] }))).await;

    publish_fixes(&server, &VehicleId::new("truck-9").unwrap(), &password, &fixes, 20).await;
    eventually(Duration::from_secs(60), "every fix stored", || async {
        let stored = server.store.track(&VehicleId::new("truck-9").unwrap(), t0, Utc::now()).await.unwrap();
        (stored.len() == fixes.len()).then_some(())
    })
    .await;
    open_alert(&server, "alert-contract-1", move_id, "truck-9", t0 + chrono::Duration::seconds(200)).await;
    open_alert(&server, "alert-contract-2", move_id, "truck-9", t0 + chrono::Duration::seconds(400)).await;

    // Alerts.
    c.expect(
        200,
        "POST",
        "/api/v1/alerts/alert-contract-1/ack",
        Some(escort),
        Some(json!({ "note": "on it" })),
    )
    .await;
    c.expect(409, "POST", "/api/v1/alerts/alert-contract-1/ack", Some(admin), Some(json!({}))).await;
    c.expect(200, "POST", "/api/v1/alerts/alert-contract-1/resolve", Some(admin), None).await;
    c.expect(
        200,
        "POST",
        "/api/v1/alerts/alert-contract-2/resolve",
        Some(admin),
        Some(json!({ "note": "seen" })),
    )
    .await;
    c.expect(404, "POST", "/api/v1/alerts/no-such-alert/ack", Some(admin), None).await;
    c.expect(403, "POST", "/api/v1/alerts/alert-contract-2/ack", Some(auditor), None).await;
    c.expect(200, "GET", "/api/v1/alerts", Some(admin), None).await;
    c.expect(
        200,
        "GET",
        &format!("/api/v1/alerts?state=resolved&move={move_id}&vehicle=truck-9&limit=5"),
        Some(escort),
        None,
    )
    .await;
    c.expect(400, "GET", "/api/v1/alerts?limit=many", Some(admin), None).await;
    c.expect(400, "GET", "/api/v1/alerts?state=asleep", Some(admin), None).await;
    // The alert history: a page with its cursor, the next page, the CSV, and refusals.
    let page = c.expect(200, "GET", "/api/v1/alerts/history?limit=1", Some(admin), None).await;
    let next = page["next"].as_str().expect("two alerts: a next page").to_string();
    c.expect(200, "GET", &format!("/api/v1/alerts/history?limit=1&cursor={next}"), Some(admin), None).await;
    c.expect(
        200,
        "GET",
        &format!("/api/v1/alerts/history?move={move_id}&vehicle=truck-9&kind=off_route&state=resolved&text=seen&from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"),
        Some(escort),
        None,
    )
    .await;
    c.expect(200, "GET", "/api/v1/alerts/history?format=csv", Some(auditor), None).await;
    c.expect(400, "GET", "/api/v1/alerts/history?cursor=forged", Some(admin), None).await;
    c.expect(400, "GET", "/api/v1/alerts/history?kind=teleported", Some(admin), None).await;
    c.expect(200, "GET", "/api/v1/alerts/alert-contract-1", Some(admin), None).await;
    c.expect(404, "GET", "/api/v1/alerts/no-such-alert", Some(admin), None).await;

    // Moves and their history.
    c.expect(200, "GET", "/api/v1/moves", Some(admin), None).await;
    c.expect(200, "GET", &format!("/api/v1/moves/{move_id}"), Some(escort), None).await;
    c.expect(404, "GET", "/api/v1/moves/no-such-move", Some(admin), None).await;
    // Its vehicles' progress along the route, once the rules have matched the fixes.
    let progress_path = format!("/api/v1/moves/{move_id}/progress");
    eventually(Duration::from_secs(30), "truck-9's progress", || async {
        let (_, answer) = server.get_json(&progress_path, admin).await;
        answer["vehicles"].as_array().is_some_and(|v| !v.is_empty()).then_some(())
    })
    .await;
    let progress = c.expect(200, "GET", &progress_path, Some(escort), None).await;
    assert_eq!(progress["vehicles"][0]["vehicle"], "truck-9", "{progress}");
    c.expect(404, "GET", "/api/v1/moves/no-such-move/progress", Some(escort), None).await;
    c.expect(403, "GET", &progress_path, Some(auditor), None).await;
    let (_, vehicles) = c.get("/api/v1/vehicles", Some(admin)).await;
    let truck = vehicles["vehicles"].as_array().unwrap().iter().find(|v| v["id"] == "truck-9").cloned();
    assert!(truck.is_some_and(|t| t["position"].is_object()), "{vehicles}");
    c.expect(200, "GET", "/api/v1/vehicles", Some(auditor), None).await;
    // The auditor's replay ends an hour ago (`[access] auditor_delay_minutes`): before this move.
    let replay = c.expect(200, "GET", &format!("/api/v1/moves/{move_id}/replay"), Some(auditor), None).await;
    assert_eq!(replay["tracks"][0]["positions"], serde_json::json!([]), "{replay}");
    let replay = c.expect(200, "GET", &format!("/api/v1/moves/{move_id}/replay"), Some(admin), None).await;
    let (stops, gaps) = (&replay["stops"], &replay["gaps"]);
    assert!(
        stops.as_array().is_some_and(|s| !s.is_empty()) && gaps.as_array().is_some_and(|g| !g.is_empty()),
        "{stops} {gaps}"
    );
    c.expect(200, "GET", &format!("/api/v1/moves/{move_id}/replay?vehicle=truck-9"), Some(admin), None).await;
    c.expect(400, "GET", &format!("/api/v1/moves/{move_id}/replay?from=yesterday"), Some(admin), None).await;
    c.expect(400, "GET", &format!("/api/v1/moves/{move_id}/replay?vehicle=nobody"), Some(admin), None).await;
    c.expect(403, "GET", &format!("/api/v1/moves/{move_id}/replay"), Some(escort), None).await;
    c.expect(404, "GET", "/api/v1/moves/no-such-move/replay", Some(admin), None).await;
    let report = c.expect(200, "GET", &format!("/api/v1/moves/{move_id}/report"), Some(admin), None).await;
    assert!(
        report["vehicles"][0]["driven"].is_object() && !report["alerts"][0]["transitions"].is_null(),
        "{report}"
    );
    c.expect(400, "GET", &format!("/api/v1/moves/{move_id}/report?to=never"), Some(admin), None).await;
    c.expect(404, "GET", "/api/v1/moves/no-such-move/report", Some(admin), None).await;
    // The daily report of the fixes' day, as JSON and as CSV, and its refusals.
    let daily = |query: &str| format!("/api/v1/reports/daily?{query}");
    let day = t0.format("%Y-%m-%d").to_string();
    let report = c.expect(200, "GET", &daily(&format!("day={day}")), Some(admin), None).await;
    let rows = report["vehicles"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["vehicle"] == "truck-9" && r["fixes"].as_u64() > Some(0)), "{report}");
    c.expect(200, "GET", &daily(&format!("day={day}&vehicle=truck-9&format=csv")), Some(admin), None).await;
    c.expect(200, "GET", &daily(&format!("day={day}")), Some(auditor), None).await;
    c.expect(400, "GET", &daily("day=yesterday"), Some(admin), None).await;
    c.expect(400, "GET", &daily("day=2999-01-01"), Some(admin), None).await;
    c.expect(404, "GET", &daily(&format!("day={day}&vehicle=nobody")), Some(admin), None).await;
    c.expect(403, "GET", &daily(&format!("day={day}")), Some(escort), None).await;
    for format in ["gpx", "geojson", "kml", "csv"] {
        c.expect(200, "GET", &format!("/api/v1/moves/{move_id}/export?format={format}"), Some(admin), None)
            .await;
    }
    c.expect(400, "GET", &format!("/api/v1/moves/{move_id}/export?format=shp"), Some(admin), None).await;
    c.expect(404, "GET", "/api/v1/moves/no-such-move/export?format=gpx", Some(admin), None).await;
    c.expect(200, "GET", &format!("/api/v1/moves/{move_id}/evidence"), Some(admin), None).await;
    c.expect(200, "GET", &format!("/api/v1/moves/{move_id}/evidence"), Some(auditor), None).await;
    c.expect(404, "GET", "/api/v1/moves/no-such-move/evidence", Some(admin), None).await;
    c.expect(403, "GET", &format!("/api/v1/moves/{move_id}/evidence"), Some(escort), None).await;

    // Ending a running move and cancelling a planned one, and their refusals.
    let route = json!({ "type": "LineString", "coordinates": [[11.56, 48.16], [11.60, 48.16]] });
    let running = json!({ "name": "to end", "vehicles": ["truck-9"], "route": route });
    let running = c.expect(201, "POST", "/api/v1/moves", Some(admin), Some(running)).await["id"].clone();
    let end = format!("/api/v1/moves/{}/end", running.as_str().unwrap());
    c.expect(400, "POST", &end, Some(admin), Some(json!({ "reason": " " }))).await;
    c.expect(409, "POST", &end.replace("/end", "/cancel"), Some(admin), Some(json!({ "reason": "r" }))).await;
    let ended = c.expect(200, "POST", &end, Some(admin), Some(json!({ "reason": "delivered early" }))).await;
    assert_eq!(
        (ended["state"].as_str(), ended["end"]["reason"].as_str()),
        (Some("ended"), Some("delivered early"))
    );
    c.expect(409, "POST", &end, Some(admin), Some(json!({ "reason": "again" }))).await;
    c.expect(404, "POST", "/api/v1/moves/no-such-move/end", Some(admin), Some(json!({ "reason": "r" })))
        .await;
    c.expect(403, "POST", &end, Some(escort), Some(json!({ "reason": "r" }))).await;
    let (status, _) = c.call("POST", &end, Some(admin), Some(("text/plain", b"x".to_vec()))).await;
    assert_eq!(status, 415);
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let window = json!({ "from": tomorrow, "to": tomorrow + chrono::Duration::hours(2) });
    let planned = json!({ "name": "to cancel", "vehicles": ["truck-9"], "route": route, "window": window });
    let planned = c.expect(201, "POST", "/api/v1/moves", Some(admin), Some(planned)).await["id"].clone();
    let cancel = format!("/api/v1/moves/{}/cancel", planned.as_str().unwrap());
    let cancelled = c.expect(200, "POST", &cancel, Some(admin), Some(json!({ "reason": "postponed" }))).await;
    assert_eq!(cancelled["state"], "cancelled");
    c.expect(404, "POST", "/api/v1/moves/no-such-move/cancel", Some(admin), Some(json!({ "reason": "r" })))
        .await;

    // Editing a plan (a new version), its refusals, and the versions.
    let to_edit = json!({ "name": "to edit", "vehicles": ["truck-9"], "route": route, "window": window });
    let to_edit =
        c.expect(201, "POST", "/api/v1/moves", Some(admin), Some(to_edit.clone())).await["id"].clone();
    let edit = format!("/api/v1/moves/{}/plan", to_edit.as_str().unwrap());
    let renamed = json!({ "name": "edited", "vehicles": ["truck-9"], "route": route, "window": window });
    let edited = c
        .expect(200, "PUT", &edit, Some(admin), Some(json!({ "replaces": 1, "plan": renamed.clone() })))
        .await;
    assert_eq!((edited["version"].as_u64(), edited["name"].as_str()), (Some(2), Some("edited")));
    c.expect(409, "PUT", &edit, Some(admin), Some(json!({ "replaces": 1, "plan": renamed.clone() }))).await;
    let too_narrow = json!({ "name": "x", "vehicles": ["truck-9"], "route": route, "corridor_m": 1 });
    c.expect(400, "PUT", &edit, Some(admin), Some(json!({ "replaces": 2, "plan": too_narrow }))).await;
    let unknown = json!({ "name": "x", "vehicles": ["truck-none"], "route": route });
    c.expect(422, "PUT", &edit, Some(admin), Some(json!({ "replaces": 2, "plan": unknown }))).await;
    c.expect(
        404,
        "PUT",
        "/api/v1/moves/no-such-move/plan",
        Some(admin),
        Some(json!({ "replaces": 1, "plan": renamed })),
    )
    .await;
    c.expect(403, "PUT", &edit, Some(escort), Some(json!({ "replaces": 2, "plan": renamed }))).await;
    let (status, _) = c.call("PUT", &edit, Some(admin), Some(("text/plain", b"x".to_vec()))).await;
    assert_eq!(status, 415);
    let versions = format!("/api/v1/moves/{}/versions", to_edit.as_str().unwrap());
    let listed = c.expect(200, "GET", &versions, Some(admin), None).await;
    assert_eq!(listed["versions"].as_array().map(Vec::len), Some(2), "{listed}");
    c.expect(404, "GET", "/api/v1/moves/no-such-move/versions", Some(admin), None).await;
    let from = (t0 - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let track =
        c.expect(200, "GET", &format!("/api/v1/vehicles/truck-9/track?from={from}"), Some(admin), None).await;
    assert_eq!(track["positions"].as_array().map(Vec::len), Some(fixes.len()));
    c.expect(
        200,
        "GET",
        &format!("/api/v1/vehicles/truck-9/track?from={from}&simplify_m=5"),
        Some(auditor),
        None,
    )
    .await;
    c.expect(200, "GET", "/api/v1/vehicles/truck-9/track?format=json", Some(admin), None).await;
    for format in ["gpx", "geojson", "kml", "csv"] {
        c.expect(
            200,
            "GET",
            &format!("/api/v1/vehicles/truck-9/track?format={format}&from={from}"),
            Some(admin),
            None,
        )
        .await;
        c.expect(
            200,
            "GET",
            &format!("/api/v1/vehicles/truck-9/track?format={format}&simplify_m=10"),
            Some(admin),
            None,
        )
        .await;
    }
    c.expect(400, "GET", "/api/v1/vehicles/truck-9/track?from=soon", Some(admin), None).await;
    c.expect(400, "GET", "/api/v1/vehicles/truck-9/track?simplify_m=-1", Some(admin), None).await;
    c.expect(404, "GET", "/api/v1/vehicles/no-such-van/track", Some(admin), None).await;
    c.expect(403, "GET", "/api/v1/vehicles/truck-9/track", Some(escort), None).await;

    // The audit log.
    c.expect(200, "GET", "/api/v1/audit", Some(auditor), None).await;
    c.expect(200, "GET", "/api/v1/audit?action=alert.ack&limit=10&after_seq=0", Some(admin), None).await;
    c.expect(400, "GET", "/api/v1/audit?limit=0", Some(admin), None).await;
    c.expect(403, "GET", "/api/v1/audit", Some(escort), None).await;

    // The live feed: a ticket, then the feed's messages, each against the `LiveMessage` schema
    // the operation names.
    let ticket = c.expect(200, "POST", "/api/v1/live/ticket", Some(escort), None).await;
    c.expect(403, "POST", "/api/v1/live/ticket", Some(auditor), None).await;
    let operation = &contract.document()["paths"]["/api/v1/live"]["get"];
    let messages =
        operation["x-websocket-messages"]["$ref"].as_str().expect("the live feed names its messages");
    let url = format!("ws://{}/api/v1/live?ticket={}", server.http, ticket["ticket"].as_str().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    assert!(operation["responses"].get("101").is_some());
    contract.saw("GET", "/api/v1/live", 101);
    socket.send(tungstenite::Message::Ping(b"snapshot".to_vec().into())).await.unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = socket.next().await {
            match message.unwrap() {
                tungstenite::Message::Text(text) => {
                    let message: Value = serde_json::from_str(text.as_str()).unwrap();
                    kinds.insert(message["type"].as_str().unwrap_or_default().to_string());
                    if let Err(e) = contract.validate(messages.trim_start_matches('#'), &message) {
                        c.wrong.push(format!("live message {message}: {e}"));
                    }
                }
                tungstenite::Message::Pong(payload) if &payload[..] == b"snapshot" => return,
                _ => {}
            }
        }
    })
    .await
    .expect("the live feed answers the ping");
    assert!(kinds.contains("position") && kinds.contains("progress"), "{kinds:?}");
    socket.close(None).await.unwrap();

    c.expect(204, "POST", "/api/v1/logout", Some(escort), None).await;

    // A phone's reports (HTTP Basic with its own credentials): the escort's phone is told its
    // monitoring mode; refusals in the API's error shape.
    let phone = convoy_registry::NewPhone {
        kind: convoy_store::DeviceKind::OwnTracks,
        name: "contract-phone".into(),
        owntracks_device: Some("pixel".into()),
        vehicle: VehicleId::new("escort-9").unwrap(),
        person: Some(ESCORT_USER.into()),
    };
    let (_, secret) = convoy_registry::register_phone(&server.store, phone).await.unwrap();
    let tst = Utc::now().timestamp() - 5;
    let location = json!({ "_type": "location", "lat": 48.16, "lon": 11.56, "tst": tst });
    let path = "/api/v1/phones/owntracks";
    for (credentials, body, status) in [
        (Some(secret.as_str()), location.to_string(), 200),
        (Some(secret.as_str()), "{\"_type\":".to_string(), 400),
        (Some("not-the-secret-at-all-xx"), location.to_string(), 401),
        (None, location.to_string(), 401),
        (Some(secret.as_str()), format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000)), 413),
    ] {
        let mut request = reqwest::Client::new().post(server.url(path)).body(body);
        if let Some(secret) = credentials {
            request = request.basic_auth("contract-phone", Some(secret));
        }
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let bytes = response.bytes().await.unwrap();
        let answer =
            Answer { method: "POST", path, status: got, content_type: content_type.as_deref(), body: &bytes };
        if let Err(e) = contract.check(&answer) {
            c.wrong.push(e);
        }
        if got != status {
            c.wrong.push(format!("POST {path}: expected {status}, got {got}"));
        }
        if got == 200 {
            let answer: Value = serde_json::from_slice(&bytes).unwrap();
            // The escort is on the contract move: move mode.
            assert_eq!(answer[0]["configuration"]["monitoring"], 2, "{answer}");
        }
    }

    // Setting phones up (admins): each kind's setup, the list, a removal, and the refusals.
    let owntracks = json!({
        "kind": "owntracks", "name": "contract-otrc", "device": "pixel", "vehicle": "escort-9",
        "person": ESCORT_USER, "endpoint": server.url("/api/v1/phones/owntracks"),
    });
    c.expect(201, "POST", "/api/v1/phones", Some(admin), Some(owntracks.clone())).await;
    let traccar = json!({ "kind": "traccar", "name": "contract-8623", "vehicle": "escort-9", "endpoint": "https://convoy.example.com:5055" });
    c.expect(201, "POST", "/api/v1/phones", Some(admin), Some(traccar)).await;
    c.expect(409, "POST", "/api/v1/phones", Some(admin), Some(owntracks)).await;
    let bad_endpoint =
        json!({ "kind": "traccar", "name": "t-1", "vehicle": "escort-9", "endpoint": "ftp://x" });
    c.expect(400, "POST", "/api/v1/phones", Some(admin), Some(bad_endpoint)).await;
    let unknown_vehicle =
        json!({ "kind": "traccar", "name": "t-1", "vehicle": "nobody-9", "endpoint": "https://x.example" });
    c.expect(422, "POST", "/api/v1/phones", Some(admin), Some(unknown_vehicle)).await;
    let (status, _) =
        c.call("POST", "/api/v1/phones", Some(admin), Some(("application/json", vec![b' '; 20_000]))).await;
    assert_eq!(status, 413);
    let (status, _) =
        c.call("POST", "/api/v1/phones", Some(admin), Some(("text/plain", b"x".to_vec()))).await;
    assert_eq!(status, 415);
    c.expect(403, "GET", "/api/v1/phones", Some(auditor), None).await;
    let phones = c.expect(200, "GET", "/api/v1/phones", Some(admin), None).await;
    assert_eq!(phones["phones"].as_array().map(Vec::len), Some(3), "{phones}");
    c.expect(204, "DELETE", "/api/v1/phones/traccar/contract-8623", Some(admin), None).await;
    c.expect(404, "DELETE", "/api/v1/phones/traccar/contract-8623", Some(admin), None).await;

    // Legal holds: one on the move (over its window), one on a vehicle, the list (an auditor's
    // too), a release, and the refusals.
    let on_move = json!({ "move": move_id, "reason": "contract inquiry", "reference": "INQ-1" });
    let hold = c.expect(201, "POST", "/api/v1/holds", Some(admin), Some(on_move)).await;
    let on_vehicle = json!({
        "vehicle": "truck-9", "from": t0, "to": t0 + chrono::Duration::hours(1), "reason": "claim",
    });
    c.expect(201, "POST", "/api/v1/holds", Some(admin), Some(on_vehicle)).await;
    let reversed =
        json!({ "all_vehicles": true, "from": t0, "to": t0 - chrono::Duration::hours(1), "reason": "x" });
    c.expect(400, "POST", "/api/v1/holds", Some(admin), Some(reversed)).await;
    let unknown = json!({ "move": "no-such-move", "reason": "x" });
    c.expect(422, "POST", "/api/v1/holds", Some(admin), Some(unknown)).await;
    let release = format!("/api/v1/holds/{}/release", hold["id"]);
    let done = json!({ "reason": "inquiry closed" });
    c.expect(200, "POST", &release, Some(admin), Some(done.clone())).await;
    c.expect(409, "POST", &release, Some(admin), Some(done.clone())).await;
    c.expect(404, "POST", "/api/v1/holds/999999/release", Some(admin), Some(done)).await;
    let holds = c.expect(200, "GET", "/api/v1/holds", Some(auditor), None).await;
    assert_eq!(holds["holds"].as_array().map(Vec::len), Some(2), "{holds}");

    // Seals and checkpoints: a list, a checkpoint with a broken seal, the report with both, and
    // the refusals.
    let sealed = json!({ "name": "sealed", "vehicles": ["truck-9"], "route": route });
    let sealed = c.expect(201, "POST", "/api/v1/moves", Some(admin), Some(sealed)).await["id"].clone();
    let sealed = sealed.as_str().unwrap();
    let seals_path = format!("/api/v1/moves/{sealed}/seals");
    let list = json!({ "seals": [
        { "label": "Rack 3 crate", "number": "SL-1", "contents": "disks", "sensitivity": "secret", "vehicle": "truck-9" },
        { "label": "Archive box", "number": "SL-2", "sensitivity": "normal" },
    ]});
    let listed = c.expect(200, "PUT", &seals_path, Some(admin), Some(list)).await;
    c.expect(
        400,
        "PUT",
        &seals_path,
        Some(admin),
        Some(json!({ "seals": [{ "label": "x", "number": "1", "sensitivity": "loud" }] })),
    )
    .await;
    c.expect(403, "PUT", &seals_path, Some(auditor), Some(json!({ "seals": [] }))).await;
    c.expect(200, "GET", &seals_path, Some(auditor), None).await;
    c.expect(404, "GET", "/api/v1/moves/no-such-move/seals", Some(admin), None).await;
    let checkpoints_path = format!("/api/v1/moves/{sealed}/checkpoints");
    let seen = json!({ "stage": "unloading", "vehicle": "truck-9", "note": "at the door",
        "seals": [{ "seal_id": listed["seals"][0]["id"], "state": "broken", "note": "cut" }] });
    c.expect(201, "POST", &checkpoints_path, Some(admin), Some(seen)).await;
    c.expect(400, "POST", &checkpoints_path, Some(admin), Some(json!({ "stage": "lunch", "seals": [] })))
        .await;
    c.expect(403, "POST", &checkpoints_path, Some(auditor), Some(json!({ "stage": "loading", "seals": [] })))
        .await;
    let removed = json!({ "seals": [] });
    c.expect(409, "PUT", &seals_path, Some(admin), Some(removed)).await;
    c.expect(200, "GET", &checkpoints_path, Some(admin), None).await;
    let report = c.expect(200, "GET", &format!("/api/v1/moves/{sealed}/report"), Some(admin), None).await;
    assert_eq!(report["checkpoints"].as_array().map(Vec::len), Some(1), "{report}");
    // The server's signed record: its keys and the purges' destruction records.
    let keys = c.expect(200, "GET", "/api/v1/server/keys", Some(auditor), None).await;
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(1), "{keys}");
    c.expect(200, "GET", "/api/v1/retention/purges", Some(auditor), None).await;
    c.expect(401, "GET", "/api/v1/retention/purges", None, None).await;

    let wrong = std::mem::take(&mut c.wrong);
    assert!(wrong.is_empty(), "{} answers are not as documented:\n{}", wrong.len(), wrong.join("\n"));
    let seen = contract.seen();
    for (method, path) in contract.operations() {
        let succeeded = seen
            .iter()
            .any(|(m, p, status)| (m, p) == (&method, &path) && (status.starts_with('2') || status == "101"));
        assert!(succeeded, "{method} {path}: no success checked against the document");
    }
    for code in ["400", "401", "403", "404", "409", "415", "422"] {
        assert!(
            seen.iter().any(|(_, _, status)| status == code),
            "a {code} checked against the document: {seen:?}"
        );
    }
    server.stop().await;
}

/// The check fails when an answer is not as documented: a field missing, one too many, or a
/// status the operation does not list.
#[test]
fn the_check_finds_what_the_document_does_not_say() {
    let doc = json!({
        "paths": { "/things/{id}": { "get": { "responses": {
            "200": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } },
            "404": { "$ref": "#/components/responses/NotFound" },
        } } } },
        "components": {
            "responses": { "NotFound": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } },
            "schemas": {
                "Thing": { "type": "object", "required": ["id", "at"], "properties": { "id": { "type": "string" }, "at": { "type": "string", "format": "date-time" } } },
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" }, "reason": { "type": "string" } } },
            },
        },
    });
    let contract = Contract::new(doc);
    let check = |status: u16, body: Value| {
        let body = body.to_string();
        contract.check(&Answer {
            method: "GET",
            path: "/things/7?x=1",
            status,
            content_type: Some("application/json"),
            body: body.as_bytes(),
        })
    };
    assert_eq!(check(200, json!({ "id": "7", "at": "2026-11-28T09:15:02.000Z" })), Ok(()));
    assert!(check(200, json!({ "id": "7" })).is_err(), "a field missing");
    assert!(
        check(200, json!({ "id": "7", "at": "2026-11-28T09:15:02.000Z", "extra": 1 })).is_err(),
        "one too many"
    );
    assert!(check(200, json!({ "id": 7, "at": "2026-11-28T09:15:02.000Z" })).is_err(), "a wrong type");
    assert!(check(200, json!({ "id": "7", "at": "yesterday" })).is_err(), "not a time");
    assert_eq!(check(404, json!({ "error": "no such thing", "reason": "gone" })), Ok(()));
    assert!(check(404, json!({ "message": "no such thing" })).is_err(), "not the error shape");
    assert!(check(500, json!({ "error": "boom" })).is_err(), "an undocumented status");
}
