//! A move's evidence bundle through the real server and the real `convoy` binary: exported
//! over HTTP and by `convoy evidence export`, verified by `convoy evidence verify`, then each
//! tamper (made by editing the decompressed lines and recompressing) caught and named, and
//! what is not a bundle refused with exit status 2. On SQLite, and once on PostgreSQL.
//!
//! `van-02` reports unsigned over MQTT (the embedded broker) and leaves the corridor for 50 s:
//! the rules open and clear `off_route`, which a person acknowledges. `truck-01` is signed: its
//! key is registered and its batches, signed here with `convoy_core::signing` as the agent
//! signs them, go over MQTT and are verified by ingest before they are stored.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::signing::{BatchSignature, PublicKey, SecretKey, GENESIS};
use convoy_core::{Position, PositionBatch, Role};
use convoy_store::VehicleKey;
use serde_json::{json, Value};

const AUDITOR_USER: &str = "auditor-cy";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";
const LAT: f64 = 42.5;

/// A fix `i` seconds after `t0`, 10 m/s east along the route, `north_m` off it.
fn fix(seq: u64, t0: DateTime<Utc>, i: i64, north_m: f64) -> Position {
    Position {
        speed_mps: Some(10.0),
        ..Position::bare(
            seq,
            t0 + TimeSpan::seconds(i),
            LAT + north_m / 111_190.0,
            1.50 + i as f64 * 10.0 / 82_000.0,
        )
    }
}

struct Scenario {
    server: TestServer,
    admin: String,
    move_id: String,
    server_key: PublicKey,
    dir: tempfile::TempDir,
}

async fn post_json(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn drive(backend: Backend) -> Scenario {
    let server = TestServer::start(backend, BrokerKind::Embedded).await;
    convoy_registry::add_user(&server.store, AUDITOR_USER, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (truck, truck_password) = register_vehicle(&server, "truck-01").await;
    let (van, van_password) = register_vehicle(&server, "van-02").await;
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(140);
    let plan = json!({
        "name": "Evidence",
        "vehicles": ["truck-01", "van-02"],
        "route": {"type": "LineString", "coordinates": [[1.50, LAT], [1.60, LAT]]},
        "corridor_m": 150,
        "window": {"from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30)},
        "rules": {"late_after_s": 100_000, "signal_lost_after_s": 100_000},
    });
    let (status, body) = post_json(&server, &admin, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    let move_id = body["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The van, unsigned: off the corridor (500 m north) from 30 s to 80 s.
    let van_fixes: Vec<Position> =
        (0..120).map(|i| fix(i as u64 + 1, t0, i, if (30..80).contains(&i) { 500.0 } else { 0.0 })).collect();
    publish_fixes(&server, &van, &van_password, &van_fixes[..70], 5).await;
    let alert = eventually(Duration::from_secs(60), "the van's off_route alert", || async {
        let (_, body) = server.get_json(&format!("/api/v1/alerts?move={move_id}"), &admin).await;
        body["alerts"].as_array()?.iter().find(|a| a["kind"] == "off_route").cloned()
    })
    .await;
    let alert_id = alert["id"].as_str().unwrap().to_string();
    let (status, body) =
        post_json(&server, &admin, &format!("/api/v1/alerts/{alert_id}/ack"), json!({"note": "seen"})).await;
    assert_eq!(status, 200, "{body}");
    publish_fixes(&server, &van, &van_password, &van_fixes[70..], 5).await;
    eventually(Duration::from_secs(60), "the van's alert cleared by its rule", || async {
        let (_, body) = server.get_json(&format!("/api/v1/alerts/{alert_id}"), &admin).await;
        (!body["cleared_t"].is_null()).then_some(())
    })
    .await;

    // The truck, signed: its key, then its batches of 5, verified by ingest.
    let truck_key = SecretKey::generate();
    let registered = VehicleKey {
        vehicle: truck.clone(),
        key: truck_key.public(),
        valid_from: t0 - TimeSpan::days(1),
        registered_at: Utc::now(),
        registered_by: "test".into(),
    };
    server.store.add_vehicle_key(&registered).await.unwrap();
    let truck_fixes: Vec<Position> = (0..60).map(|i| fix(i as u64 + 1, t0, i, 0.0)).collect();
    let mut prev = GENESIS;
    let mut batches = Vec::new();
    for batch in truck_fixes.chunks(5) {
        let (signed, head) = BatchSignature::sign(&truck_key, &truck, &prev, batch).unwrap();
        batches.push(PositionBatch {
            signed: Some(signed),
            ..PositionBatch::new(truck.clone(), batch.to_vec())
        });
        prev = head;
    }
    publish_batches(&server, &truck, &truck_password, &batches).await;
    eventually(Duration::from_secs(30), "the truck's signed fixes stored", || async {
        let mut stored = server.store.track_stream(&truck, t0 - TimeSpan::minutes(1), Utc::now());
        let (mut fixes, mut signed) = (0, 0);
        while let Some(fix) = stored.recv().await {
            fixes += 1;
            signed += usize::from(fix.unwrap().prev_hash.is_some());
        }
        (fixes == truck_fixes.len() && signed == fixes).then_some(())
    })
    .await;
    let key_file = server.config.data_dir.join("server-signing.key");
    let server_key = SecretKey::from_file_text(&std::fs::read_to_string(key_file).unwrap()).unwrap().public();
    Scenario { server, admin, move_id, server_key, dir: tempfile::tempdir().unwrap() }
}

impl Scenario {
    async fn download(&self, token: &str) -> (u16, String, String, Vec<u8>) {
        let path = format!("/api/v1/moves/{}/evidence", self.move_id);
        let response =
            reqwest::Client::new().get(self.server.url(&path)).bearer_auth(token).send().await.unwrap();
        let header = |name: &str| {
            response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
        };
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        let status = response.status().as_u16();
        (status, content_type, disposition, response.bytes().await.unwrap().to_vec())
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `convoy evidence verify FILE [--server-key KEY]`: exit status and stdout.
    fn verify(&self, file: &Path, with_key: bool) -> (i32, String) {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_convoy"));
        command.args(["evidence", "verify"]).arg(file);
        if with_key {
            command.args(["--server-key", &self.server_key.to_string()]);
        }
        let output = command.output().unwrap();
        (output.status.code().unwrap(), String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

fn lines_of(file: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text).unwrap();
    enc.finish().unwrap()
}

/// The lines recompressed, the manifest left as it was.
fn recompressed(lines: &[Value]) -> Vec<u8> {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    gzip(text.as_bytes())
}

/// The lines with a new manifest, hashed and signed with `key` (a tamperer's).
fn resigned(lines: &[Value], key: &SecretKey) -> Vec<u8> {
    use sha2::Digest;
    let body: Vec<String> = lines[..lines.len() - 1].iter().map(|l| format!("{l}\n")).collect();
    let digest: [u8; 32] = sha2::Sha256::digest(body.concat().as_bytes()).into();
    let mut manifest = lines[lines.len() - 1].clone();
    manifest["sha256"] = json!(hex::encode(digest));
    manifest["key"] = json!(key.public().id().to_string());
    manifest["public_key"] = json!(key.public().to_string());
    manifest["sig"] = json!(key.sign(convoy_core::signing::Purpose::Manifest, &digest).to_string());
    gzip(format!("{}{manifest}\n", body.concat()).as_bytes())
}

fn fix_index(lines: &[Value], vehicle: &str, seq: u64) -> usize {
    lines.iter().position(|l| l["section"] == "fix" && l["vehicle"] == vehicle && l["seq"] == seq).unwrap()
}

fn assert_named(s: &Scenario, what: &str, bytes: &[u8], with_key: bool, expected: &[&str]) {
    let (code, out) = s.verify(&s.file(&format!("{what}.gz"), bytes), with_key);
    assert_eq!(code, 1, "{what}: {out}");
    assert!(out.contains("VERDICT: does not hold"), "{what}: {out}");
    for text in expected {
        assert!(out.contains(text), "{what}: expected {text:?} in:\n{out}");
    }
}

async fn a_real_move_exports_verifies_and_every_tamper_is_named(s: &Scenario) {
    let (status, content_type, disposition, bundle) = s.download(&s.admin).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bundle));
    assert_eq!(content_type, "application/gzip");
    assert_eq!(disposition, format!("attachment; filename=\"move-{}.convoy-evidence.jsonl.gz\"", s.move_id));
    let (code, out) = s.verify(&s.file("bundle.gz", &bundle), true);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VERDICT: holds"), "{out}");
    assert!(out.contains("truck-01: 60 fixes, signed: 60 covered by 12 signed heads"), "{out}");
    assert!(out.contains("van-02: 120 fixes, UNSIGNED"), "{out}");
    assert!(out.contains("Alerts: 1 recorded by the rules, 1 raised by replaying"), "{out}");
    assert!(out.contains("(the server key given)"), "{out}");
    let (code, out) = s.verify(&s.file("bundle.gz", &bundle), false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("compare {} with the server's published key", s.server_key.id())), "{out}");

    let lines = lines_of(&bundle);
    assert_eq!(lines[0]["section"], "bundle");
    assert_eq!(lines[0]["cut"], false);
    assert!(lines.iter().any(|l| l["section"] == "audit" && l["action"] == "evidence.export"));
    assert!(lines.iter().any(|l| l["section"] == "audit" && l["action"] == "alert.ack"));
    let tamperer = SecretKey::generate();

    let mut changed = lines.clone();
    let i = fix_index(&changed, "truck-01", 23);
    changed[i]["lat"] = json!(changed[i]["lat"].as_f64().unwrap() + 0.001);
    assert_named(s, "coordinate", &recompressed(&changed), true, &["manifest: its sha256"]);
    assert_named(
        s,
        "coordinate-resigned",
        &resigned(&changed, &tamperer),
        false,
        &[
            "truck-01 fix seq 24: does not link to seq 23",
            "truck-01 fix seq 21: its chain hash does not match the signed head at seq 25",
        ],
    );

    let mut removed = lines.clone();
    removed.remove(fix_index(&removed, "truck-01", 23));
    assert_named(
        s,
        "removed",
        &resigned(&removed, &tamperer),
        false,
        &["truck-01 fix seq 24: seq 23 is missing"],
    );

    let mut swapped = lines.clone();
    let i = fix_index(&swapped, "truck-01", 23);
    swapped.swap(i, i + 1);
    assert_named(
        s,
        "swapped",
        &resigned(&swapped, &tamperer),
        false,
        &["truck-01 fix seq 23 comes after seq 24"],
    );

    let mut added = lines.clone();
    let i = fix_index(&added, "truck-01", 23);
    let copy = added[i].clone();
    added.insert(i + 1, copy);
    assert_named(s, "added", &resigned(&added, &tamperer), false, &["truck-01 fix seq 23 appears twice"]);

    let mut transition = lines.clone();
    let i = transition.iter().position(|l| l["section"] == "alert").unwrap();
    let acked =
        transition[i]["transitions"].as_array().unwrap().iter().position(|t| t["state"] == "acknowledged");
    transition[i]["transitions"][acked.unwrap()]["by"] = json!("someone-else");
    assert_named(s, "transition", &recompressed(&transition), true, &["manifest: its sha256"]);
    assert_named(
        s,
        "transition-resigned",
        &resigned(&transition, &tamperer),
        false,
        &["its transition alert.ack by someone-else at", "has no matching audit entry"],
    );

    let mut key = lines.clone();
    let i = key.iter().position(|l| l["section"] == "vehicle_key").unwrap();
    let other = SecretKey::generate().public();
    key[i]["key"] = json!(other.id().to_string());
    key[i]["public_key"] = json!(other.to_string());
    assert_named(
        s,
        "key",
        &resigned(&key, &tamperer),
        false,
        &["truck-01 signed head at seq 5: signed by key"],
    );

    assert_named(s, "resigned", &resigned(&lines, &tamperer), true, &["not by the server's key"]);

    assert_named(s, "truncated", &bundle[..bundle.len() / 2], true, &["cut short"]);
}

async fn what_is_not_a_bundle_exits_2(s: &Scenario) {
    let not_a_bundle = |name: &str, bytes: &[u8], expected: &str| {
        let (code, out) = s.verify(&s.file(name, bytes), false);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(out.contains("VERDICT: not a bundle") && out.contains(expected), "{name}: {out}");
    };
    not_a_bundle("not-gzip", b"{\"section\":\"bundle\"}\n", "not gzip");
    not_a_bundle("not-json", &gzip(b"hello world\n"), "line 1 is not JSON");
    // A bundle's first lines, then one fix line repeated 24 MiB long: about 110 KB compressed.
    let (_, _, _, bundle) = s.download(&s.admin).await;
    let lines = lines_of(&bundle);
    let first_fix = lines.iter().position(|l| l["section"] == "fix").unwrap();
    let mut text: String = lines[..=first_fix].iter().map(|l| format!("{l}\n")).collect();
    let repeated = format!("{}\n", lines[first_fix]);
    text.push_str(&repeated.repeat((24 << 20) / repeated.len()));
    let bomb = gzip(text.as_bytes());
    assert!(bomb.len() < 256 * 1024, "{}", bomb.len());
    not_a_bundle("bomb", &bomb, "zip bomb");
    not_a_bundle("zeros", &gzip(&vec![0u8; 20 << 20]), "longer than");
    let huge = format!("{{\"section\":\"bundle\",\"pad\":\"{}\"}}\n", "x".repeat(2 << 20));
    not_a_bundle("huge-line", &gzip(huge.as_bytes()), "longer than");
    // A manifest naming a count the file does not have: read, and does not hold.
    let mut lines = lines;
    let last = lines.len() - 1;
    lines[last]["counts"]["fix"] = json!(1_000_000);
    assert_named(s, "counts", &recompressed(&lines), true, &["manifest: its counts"]);
}

async fn auditors_get_a_cut_bundle_and_escorts_none(s: &Scenario) {
    let auditor = s.server.login(AUDITOR_USER, AUDITOR_PASSWORD).await;
    let (status, _, _, bundle) = s.download(&auditor).await;
    assert_eq!(status, 200);
    let lines = lines_of(&bundle);
    // The move began minutes ago: behind the 60 minutes' delay, an auditor reads none of it.
    assert_eq!(lines[0]["cut"], true);
    assert!(!lines.iter().any(|l| l["section"] == "fix"), "no fix newer than the delay");
    let (code, out) = s.verify(&s.file("auditor.gz", &bundle), true);
    assert_eq!(code, 0, "{out}");
    let escort = s.server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (status, _, _, _) = s.download(&escort).await;
    assert_eq!(status, 403);
}

async fn the_cli_exports_the_same_move(s: &Scenario) {
    let out = s.dir.path().join("cli.gz");
    let data_dir = s.server.config.data_dir.to_str().unwrap().to_string();
    s.server
        .cli(
            "evidence",
            &["export", "--move", &s.move_id, "--out", out.to_str().unwrap(), "--data-dir", &data_dir],
        )
        .unwrap();
    let (code, text) = s.verify(&out, true);
    assert_eq!(code, 0, "{text}");
    let lines = lines_of(&std::fs::read(&out).unwrap());
    assert_eq!(lines[0]["exported_by"], "cli:ops");
}

#[tokio::test(flavor = "multi_thread")]
async fn evidence_on_sqlite() {
    let s = drive(Backend::Sqlite).await;
    a_real_move_exports_verifies_and_every_tamper_is_named(&s).await;
    what_is_not_a_bundle_exits_2(&s).await;
    auditors_get_a_cut_bundle_and_escorts_none(&s).await;
    the_cli_exports_the_same_move(&s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn evidence_on_postgres() {
    let s = drive(Backend::Postgres).await;
    a_real_move_exports_verifies_and_every_tamper_is_named(&s).await;
    the_cli_exports_the_same_move(&s).await;
}
