//! Signed tracks verified at ingest, with real parts: the server on SQLite with its embedded
//! broker, and on PostgreSQL with Mosquitto; batches signed in the test (as the agent signs
//! them) published over MQTT at QoS 1. Stored signed fixes keep their chain and head; forged,
//! tampered, unlinked, mis-keyed and unsigned batches of a vehicle with a key are dead letters,
//! counted by reason, each opening an `integrity` alert on the vehicle's move; a batch after
//! missing seqs is stored with a gap; a key rotation splits the track by fix time; a vehicle
//! without a key keeps working unsigned.

mod common;

use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::alert::AlertKind;
use convoy_core::signing::{BatchSignature, ChainHash, SecretKey, GENESIS};
use convoy_core::{FixMode, Position, PositionBatch, VehicleId};
use convoy_store::{AlertFilter, ChainGap, KeyAdded, VehicleKey};
use serde_json::json;

/// Fix `seq` at `t0 + seq` seconds, 10 m apart along a street of Munich.
fn fix(t0: DateTime<Utc>, seq: u64) -> Position {
    Position {
        seq,
        t: t0 + TimeSpan::seconds(seq as i64),
        lat: 48.137154,
        lon: 11.576124 + seq as f64 * 0.000134,
        alt_m: Some(519.0),
        speed_mps: Some(10.0),
        course_deg: Some(90.0),
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    }
}

fn fixes(t0: DateTime<Utc>, seqs: std::ops::RangeInclusive<u64>) -> Vec<Position> {
    seqs.map(|s| fix(t0, s)).collect()
}

/// A batch of `positions` signed by `key` linked from `prev`, and its head.
fn signed(
    vehicle: &VehicleId,
    key: &SecretKey,
    prev: ChainHash,
    positions: Vec<Position>,
) -> (PositionBatch, ChainHash) {
    let (signature, head) = BatchSignature::sign(key, vehicle, &prev, &positions).unwrap();
    let mut batch = PositionBatch::new(vehicle.clone(), positions);
    batch.signed = Some(signature);
    (batch, head)
}

/// The stored fixes' seqs and whether each is signed, once there are at least `count` (behind
/// Mosquitto the PUBACK does not wait for the commit).
async fn stored_at_least(
    server: &TestServer,
    vehicle: &VehicleId,
    t0: DateTime<Utc>,
    count: usize,
) -> Vec<(u64, bool)> {
    eventually(Duration::from_secs(30), "the stored fixes", || async {
        let seqs = stored_seqs(server, vehicle, t0).await;
        (seqs.len() >= count).then_some(seqs)
    })
    .await
}

async fn stored_seqs(server: &TestServer, vehicle: &VehicleId, t0: DateTime<Utc>) -> Vec<(u64, bool)> {
    let mut stream = server.store.track_stream(vehicle, t0 - TimeSpan::hours(1), t0 + TimeSpan::hours(1));
    let mut seqs = Vec::new();
    while let Some(p) = stream.recv().await {
        let p = p.unwrap();
        seqs.push((p.position.seq, p.prev_hash.is_some()));
    }
    seqs
}

/// Waits until the dead letters hold `count` with an integrity reason, and returns their reasons.
async fn integrity_dead_letters(server: &TestServer, count: usize) -> Vec<String> {
    eventually(Duration::from_secs(30), "the integrity dead letters", || async {
        let reasons: Vec<String> = server
            .store
            .dead_letters(100)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.reason)
            .filter(|r| convoy_ingest::INTEGRITY_REASONS.contains(&r.as_str()))
            .collect();
        (reasons.len() >= count).then_some(reasons)
    })
    .await
}

async fn signed_tracks(backend: Backend, broker: BrokerKind) {
    let server = TestServer::start(backend, broker).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (truck, truck_password) = register_vehicle(&server, "truck-signed").await;
    let (escort, escort_password) = register_vehicle(&server, "escort-plain").await;
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::minutes(10);
    let (first_key, second_key, stranger) =
        (SecretKey::generate(), SecretKey::generate(), SecretKey::generate());
    let register = |key: &SecretKey, valid_from: DateTime<Utc>| VehicleKey {
        vehicle: truck.clone(),
        key: key.public(),
        valid_from,
        registered_at: Utc::now(),
        registered_by: "test".into(),
    };
    assert_eq!(
        server.store.add_vehicle_key(&register(&first_key, t0 - TimeSpan::hours(1))).await.unwrap(),
        KeyAdded::Added
    );
    let plan = json!({
        "name": "signed move",
        "vehicles": ["truck-signed", "escort-plain"],
        "route": { "type": "LineString", "coordinates": [[11.5761, 48.137154], [11.60, 48.137154]] },
        "corridor_m": 100,
        "window": { "from": t0 - TimeSpan::minutes(5), "to": Utc::now() + TimeSpan::minutes(30) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(&token)
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let move_id = response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    // Two signed batches, the second linked to the first: stored with their chain.
    let (one, head_one) = signed(&truck, &first_key, GENESIS, fixes(t0, 1..=5));
    let (two, head_two) = signed(&truck, &first_key, head_one, fixes(t0, 6..=10));
    publish_batches(&server, &truck, &truck_password, &[one, two]).await;
    let stored = stored_at_least(&server, &truck, t0, 10).await;
    assert_eq!(stored, (1..=10).map(|s| (s, true)).collect::<Vec<_>>());
    let mut heads = server.store.signed_heads(&truck, 0, 100);
    let mut read = Vec::new();
    while let Some(h) = heads.recv().await {
        read.push(h.unwrap().head);
    }
    // The second's head is stored; the first's too unless both came in one commit, where the
    // second's signature vouches for both (ingest checks one signature per linked run).
    let read: Vec<_> = read.iter().map(|h| ((h.seq, h.head), h.verify(&first_key.public()))).collect();
    assert!(
        read == [((10, head_two), Ok(()))] || read == [((5, head_one), Ok(())), ((10, head_two), Ok(()))],
        "{read:?}"
    );

    // A forged batch (the right password, another key), a changed coordinate after signing, a
    // batch whose prev is not the stored fix 10's, and an unsigned one: none stored.
    let (forged, _) = signed(&truck, &stranger, head_two, fixes(t0, 11..=12));
    let (mut tampered, _) = signed(&truck, &first_key, head_two, fixes(t0, 11..=12));
    tampered.positions[1].lat += 0.001;
    let (unlinked, _) = signed(&truck, &first_key, GENESIS, fixes(t0, 11..=12));
    let unsigned = PositionBatch::new(truck.clone(), fixes(t0, 11..=12));
    publish_batches(&server, &truck, &truck_password, &[forged, tampered, unlinked, unsigned]).await;
    let mut reasons = integrity_dead_letters(&server, 4).await;
    reasons.sort();
    assert_eq!(reasons, ["bad_signature", "chain_broken", "missing_signature", "unknown_key"]);
    assert_eq!(stored_seqs(&server, &truck, t0).await.len(), 10, "nothing of a refused batch is stored");

    // The integrity alerts open on the vehicle's move, one per refused batch's reason.
    let alerts = eventually(Duration::from_secs(30), "the integrity alerts", || async {
        let filter = AlertFilter { move_id: Some(move_id.clone()), ..Default::default() };
        let alerts: Vec<_> = server
            .store
            .alerts(&filter)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.kind == AlertKind::Integrity)
            .collect();
        (alerts.len() >= 4).then_some(alerts)
    })
    .await;
    let forged_alert = alerts.iter().find(|a| a.zone.as_deref() == Some("unknown_key")).unwrap();
    assert_eq!(forged_alert.vehicle, truck);
    assert_eq!(forged_alert.detail["seqs"], json!([11, 12]));
    assert_eq!(forged_alert.detail["key"], json!(stranger.public().id().to_string()));

    // The right batch links on; one after missing seqs (13..=19 never arrive) is stored with a gap.
    let (three, head_three) = signed(&truck, &first_key, head_two, fixes(t0, 11..=12));
    let (_, head_lost) = signed(&truck, &first_key, head_three, fixes(t0, 13..=19));
    let (after_gap, head_after_gap) = signed(&truck, &first_key, head_lost, fixes(t0, 20..=21));
    publish_batches(&server, &truck, &truck_password, &[three, after_gap]).await;
    stored_at_least(&server, &truck, t0, 14).await;
    let gaps = server.store.chain_gaps(&truck, 0, 100).await.unwrap();
    assert_eq!(gaps.iter().map(|g| (g.from_seq, g.to_seq)).collect::<Vec<_>>(), vec![(13, 19)]);
    let _: &ChainGap = &gaps[0];

    // Rotation at t0 + 26 s: fixes before it verify with the first key, after it with the new.
    let rotation = t0 + TimeSpan::seconds(26);
    assert_eq!(
        server.store.add_vehicle_key(&register(&second_key, rotation)).await.unwrap(),
        KeyAdded::Added
    );
    let (before, head_before) = signed(&truck, &first_key, head_after_gap, fixes(t0, 22..=25));
    let (after, head_after) = signed(&truck, &second_key, head_before, fixes(t0, 26..=28));
    let (old_key_late, _) = signed(&truck, &first_key, head_after, fixes(t0, 29..=30));
    publish_batches(&server, &truck, &truck_password, &[before, after, old_key_late]).await;
    let reasons = integrity_dead_letters(&server, 5).await;
    assert!(reasons.contains(&"key_not_valid".to_string()), "{reasons:?}");
    let stored = stored_at_least(&server, &truck, t0, 21).await;
    let expected: Vec<u64> = (1..=12).chain(20..=28).collect();
    assert_eq!(stored.iter().map(|(s, _)| *s).collect::<Vec<_>>(), expected);
    assert!(stored.iter().all(|(_, signed)| *signed));

    // A vehicle without a key keeps working, unsigned; a signed batch of it too (nothing to
    // check it with), counted.
    let (signed_anyway, _) = signed(&escort, &stranger, GENESIS, fixes(t0, 4..=5));
    let plain_batch = PositionBatch::new(escort.clone(), fixes(t0, 1..=3));
    publish_batches(&server, &escort, &escort_password, &[plain_batch, signed_anyway]).await;
    let unsigned: Vec<(u64, bool)> = (1..=5).map(|s| (s, false)).collect();
    assert_eq!(stored_at_least(&server, &escort, t0, 5).await, unsigned);

    // The track API marks each signed fix; an unsigned one is as before, without the mark.
    let (status, track) = server.get_json("/api/v1/vehicles/truck-signed/track", &token).await;
    assert_eq!(status, 200, "{track}");
    let fixes = track["positions"].as_array().unwrap();
    assert_eq!(fixes.len(), 21);
    assert!(fixes.iter().all(|f| f["signed"] == json!(true)), "{track}");
    let (_, plain) = server.get_json("/api/v1/vehicles/escort-plain/track", &token).await;
    assert!(plain["positions"].as_array().unwrap().iter().all(|f| f.get("signed").is_none()), "{plain}");

    let metrics = server.metrics().await;
    for reason in ["unknown_key", "bad_signature", "chain_broken", "missing_signature", "key_not_valid"] {
        let sample = format!("convoy_ingest_integrity_refused_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&metrics, &sample), Some(1.0), "{sample}");
    }
    assert_eq!(
        metric(&metrics, "convoy_ingest_integrity_refused_total{reason=\"chain_out_of_order\"}"),
        Some(0.0)
    );
    assert_eq!(metric(&metrics, "convoy_ingest_signed_without_key_total"), Some(1.0));

    // The move report's completeness counts each vehicle's unsigned fixes and refused batches.
    let (status, report) = server.get_json(&format!("/api/v1/moves/{move_id}/report"), &token).await;
    assert_eq!(status, 200, "{report}");
    let completeness = |vehicle: &str| {
        let views = report["vehicles"].as_array().unwrap();
        views.iter().find(|v| v["vehicle"] == vehicle).unwrap()["completeness"].clone()
    };
    let truck_c = completeness("truck-signed");
    assert_eq!(
        (truck_c["fixes"].as_u64(), truck_c["unsigned_fixes"].as_u64()),
        (Some(21), Some(0)),
        "{truck_c}"
    );
    assert_eq!(truck_c["refused_batches"], 5, "{truck_c}");
    assert_eq!(
        truck_c["refused_by_reason"],
        json!({"bad_signature": 1, "chain_broken": 1, "key_not_valid": 1, "missing_signature": 1, "unknown_key": 1})
    );
    let escort_c = completeness("escort-plain");
    assert_eq!(
        (escort_c["unsigned_fixes"].as_u64(), escort_c["refused_batches"].as_u64()),
        (Some(5), Some(0))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_tracks_are_verified_through_the_embedded_broker_on_sqlite() {
    signed_tracks(Backend::Sqlite, BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_tracks_are_verified_through_mosquitto_on_postgres() {
    signed_tracks(Backend::Postgres, BrokerKind::Mosquitto).await;
}

async fn post_key(
    server: &TestServer,
    token: &str,
    vehicle: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/vehicles/{vehicle}/keys")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_registered_by_api_and_cli_with_each_refusal_counted() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    register_vehicle(&server, "truck-keys").await;
    register_vehicle(&server, "truck-other").await;
    let (first, second, third) = (SecretKey::generate(), SecretKey::generate(), SecretKey::generate());

    let body = json!({ "public_key": first.public().to_string(), "valid_from": "2026-01-01T00:00:00Z" });
    let (status, created) = post_key(&server, &token, "truck-keys", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["key_id"], json!(first.public().id().to_string()));
    assert_eq!(created["registered_by"], json!(ADMIN_USER));
    let refusals = [
        ("truck-keys", json!({ "public_key": "ed25519:AAAA" }), 400, "bad_public_key"),
        (
            "truck-keys",
            json!({ "public_key": second.public().to_string(), "valid_from": "soon" }),
            400,
            "bad_time",
        ),
        ("truck-keys", body.clone(), 409, "key_exists"),
        // A key id is one truck's: not another vehicle's too.
        ("truck-other", body, 409, "key_exists"),
        (
            "truck-keys",
            json!({ "public_key": second.public().to_string(), "valid_from": "2025-12-31T00:00:00Z" }),
            409,
            "valid_from_not_after_current",
        ),
        ("nobody", json!({ "public_key": second.public().to_string() }), 404, "unknown_vehicle"),
    ];
    for (vehicle, body, status, reason) in refusals {
        let (got, answer) = post_key(&server, &token, vehicle, body).await;
        assert_eq!((got, answer["reason"].as_str()), (status, Some(reason)), "{answer}");
    }
    // The CLI: a rotation with a later valid_from, then the list, oldest first.
    server
        .cli(
            "vehicle",
            &[
                "key",
                "add",
                "truck-keys",
                "--public-key",
                &second.public().to_string(),
                "--valid-from",
                "2026-06-01T00:00:00Z",
            ],
        )
        .unwrap();
    let early = [
        "key",
        "add",
        "truck-keys",
        "--public-key",
        &third.public().to_string(),
        "--valid-from",
        "2026-02-01T00:00:00Z",
    ];
    assert!(server.cli("vehicle", &early).unwrap_err().contains("newest key"));
    let listed = server.cli("vehicle", &["key", "list", "truck-keys"]).unwrap();
    let ids: Vec<String> = listed
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["key_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids, [first.public().id().to_string(), second.public().id().to_string()]);

    let (status, keys) = server.get_json("/api/v1/vehicles/truck-keys/keys", &token).await;
    assert_eq!(status, 200);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert_eq!(keys["keys"][1]["registered_by"], json!("cli:ops"));
    let (_, vehicles) = server.get_json("/api/v1/vehicles", &token).await;
    let row =
        |id: &str| vehicles["vehicles"].as_array().unwrap().iter().find(|v| v["id"] == id).unwrap().clone();
    assert_eq!(row("truck-keys")["signed"], json!(true));
    assert_eq!(row("truck-keys")["key_id"], json!(second.public().id().to_string()), "the key valid now");
    assert_eq!(
        (row("truck-other")["signed"].clone(), row("truck-other")["key_id"].clone()),
        (json!(false), json!(null))
    );

    let metrics = server.metrics().await;
    for (reason, count) in [
        ("bad_public_key", 1.0),
        ("bad_time", 1.0),
        ("key_exists", 2.0),
        ("valid_from_not_after_current", 1.0),
        ("unknown_vehicle", 1.0),
    ] {
        let sample = format!("convoy_gateway_vehicles_refused_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&metrics, &sample), Some(count), "{sample}");
    }
    let everything = convoy_store::AuditFilter { limit: 10_000, ..Default::default() };
    let audit = server.store.audit_entries(&everything).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "vehicle.key_add").count(), 2, "{actions:?}");
    assert!(actions.contains(&"vehicle.keys_view"));
    server.stop().await;
}
