//! One fix followed through the debug log, from the MQTT door to the alert: the real server
//! (embedded broker and its door, ingest, SQLite, the alert service) with the log captured as
//! an operator reads it with `RUST_LOG=...=debug`. The fix that enters a forbidden zone must
//! show, with its vehicle and seq, in the door's connection span, in an ingest batch's span,
//! and in the engine's evaluation span, where the rule opens the alert the service then
//! announces.

mod common;

use std::time::Duration;

use chrono::{Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::{FixMode, Position};
use serde_json::json;

/// Whether `line` has `name=value` as a whole field (in a span's braces or the event's own).
fn has_field(line: &str, name: &str, value: &str) -> bool {
    let wanted = format!("{name}={value}");
    line.split(|c: char| c.is_whitespace() || c == '{' || c == '}')
        .any(|token| token.trim_end_matches(':') == wanted)
}

/// The index of the first line at or after `from` that `matches`, or a failure that shows the log.
fn find(lines: &[String], from: usize, what: &str, matches: impl Fn(&str) -> bool) -> usize {
    match lines.iter().skip(from).position(|line| matches(line)) {
        Some(i) => from + i,
        None => panic!("no {what} in the debug log after line {from}:\n{}", lines[from..].join("\n")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_fix_can_be_followed_from_the_door_through_ingest_and_the_engine_to_its_alert() {
    let captured = Captured::install("warn,convoy_broker=debug,convoy_ingest=debug,convoy_alerts=debug");

    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (vehicle, password) = register_vehicle(&server, "truck-trail").await;

    // East along a straight road, a fix a second 22 m apart; a forbidden zone of 10 m around
    // the seventh fix only: it opens `zone_enter`, the eighth (12 m outside the edge, past the
    // zone's 5 m edge margin) clears it.
    const INSIDE: usize = 6;
    let point = |i: usize| (11.50 + i as f64 * 0.0003, 48.10);
    let t0 = Utc::now().trunc_subsecs(3) - TimeSpan::seconds(20);
    let fixes: Vec<Position> = (0..12)
        .map(|i| Position {
            seq: i as u64 + 1,
            t: t0 + TimeSpan::seconds(i as i64),
            lat: point(i).1,
            lon: point(i).0,
            alt_m: None,
            speed_mps: Some(22.0),
            course_deg: Some(90.0),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect();
    let seq = fixes[INSIDE].seq.to_string();
    let plan = json!({
        "name": "log trail",
        "vehicles": ["truck-trail"],
        "route": {
            "type": "LineString",
            "coordinates": [[point(0).0, point(0).1], [point(40).0, point(40).1]],
        },
        "corridor_m": 150,
        "zones": { "type": "FeatureCollection", "features": [{
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [point(INSIDE).0, point(INSIDE).1] },
            "properties": { "name": "no-go", "kind": "forbidden", "radius_m": 10.0 },
        }]},
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let response =
        reqwest::Client::new().post(server.url("/api/v1/moves")).bearer_auth(&token).json(&plan).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 201);
    let move_id = response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // The alert service watches the move before the vehicle drives.
    eventually(Duration::from_secs(10), "the alert service watching the move", || async {
        captured.lines().iter().any(|l| l.contains("watching move") && l.contains(&move_id)).then_some(())
    })
    .await;

    publish_fixes(&server, &vehicle, &password, &fixes, 1).await;
    let alert_line = eventually(Duration::from_secs(20), "the zone_enter alert announced", || async {
        captured.lines().into_iter().find(|l| {
            l.contains("convoy_alerts::announcer: alert ")
                && has_field(l, "kind", "\"zone_enter\"")
                && has_field(l, "vehicle", "truck-trail")
        })
    })
    .await;
    server.stop().await;
    let lines = captured.lines();

    // The door: the vehicle's connection span, and in it the PUBLISH carrying the fix.
    let door = find(&lines, 0, "door line for the fix", |l| {
        l.contains("mqtt_connection{")
            && has_field(l, "vehicle", "truck-trail")
            && l.contains("publish forwarded")
            && has_field(l, "seqs", &seq)
    });
    // Ingest: the batch that stored it, by vehicle and seq, committed then acknowledged.
    let stored = find(&lines, door, "ingest line for the fix", |l| {
        l.contains("ingest_batch{")
            && l.contains("fixes stored")
            && has_field(l, "vehicle", "truck-trail")
            && has_field(l, "seqs", &seq)
    });
    let batch = lines[stored].split("ingest_batch{").nth(1).unwrap().split('}').next().unwrap().to_string();
    find(&lines, stored, "the batch's acknowledgement", |l| {
        l.contains(&format!("ingest_batch{{{batch}}}")) && l.contains("batch acknowledged")
    });
    find(&lines, stored, "the door releasing a PUBACK once stored", |l| {
        l.contains("mqtt_connection{")
            && has_field(l, "vehicle", "truck-trail")
            && l.contains("PUBACK released")
    });
    // The engine: its evaluation of the fix for the move opens the alert.
    let opened = find(&lines, stored, "engine line opening the alert", |l| {
        l.contains("evaluate{")
            && has_field(l, "move", &move_id)
            && has_field(l, "vehicle", "truck-trail")
            && has_field(l, "seq", &seq)
            && l.contains("rule opens an alert")
    });
    let alert_id = lines[opened]
        .split_whitespace()
        .find_map(|token| token.strip_prefix("alert="))
        .expect("the engine names the alert")
        .to_string();
    // And the alert it opened follows: recorded and announced.
    let announced = find(&lines, opened, "the alert announced", |l| {
        l.contains("convoy_alerts::announcer: alert ")
            && has_field(l, "alert", &alert_id)
            && has_field(l, "state", "\"open\"")
    });
    assert_eq!(lines[announced], alert_line);
    // The fix before it opened nothing; the one after it clears the alert.
    let before = (fixes[INSIDE - 1].seq).to_string();
    assert!(
        !lines.iter().any(|l| has_field(l, "seq", &before) && l.contains("rule opens an alert")),
        "only the fix inside the zone opens it"
    );
    let after = (fixes[INSIDE + 1].seq).to_string();
    find(&lines, opened, "the next fix clearing the alert", |l| {
        has_field(l, "seq", &after) && l.contains("rule clears an alert") && has_field(l, "alert", &alert_id)
    });
    eprintln!(
        "The trail of seq {seq}:\n{}\n{}\n{}\n{}",
        lines[door], lines[stored], lines[opened], lines[announced]
    );
}
