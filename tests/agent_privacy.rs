//! `privacy = "moves_only"` on a real agent reading a pseudo-terminal, against a real server
//! (embedded broker, SQLite): the server publishes the vehicle's move windows, retained; the
//! agent records and sends only the fixes taken inside them, numbers those without gaps, and
//! keeps the windows so that, restarted with no broker to reach, it still spools inside a move
//! and nothing outside one.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_agent::config::BrokerAddress;
use convoy_agent::privacy::Privacy;
use convoy_core::move_windows::MoveWindows;
use convoy_core::VehicleId;
use serde_json::json;

/// Every stored fix time of the vehicle within a day of now, with its seq.
async fn stored(server: &TestServer, vehicle: &VehicleId) -> Vec<(u64, DateTime<Utc>)> {
    let now = Utc::now();
    let mut stream = server.store.track_stream(vehicle, now - TimeSpan::days(1), now + TimeSpan::days(1));
    let mut fixes = Vec::new();
    while let Some(position) = stream.recv().await {
        let position = position.unwrap().position;
        fixes.push((position.seq, position.t));
    }
    fixes
}

/// The windows the agent keeps in its state directory, once they contain `t`.
async fn kept_windows_containing(state: &Path, vehicle: &VehicleId, t: DateTime<Utc>) -> MoveWindows {
    eventually(Duration::from_secs(40), "the agent to keep windows containing the move", || async {
        let bytes = std::fs::read(state.join("move_windows.json")).ok()?;
        MoveWindows::decode(&bytes, vehicle).ok().filter(|w| w.contains(t))
    })
    .await
}

/// The agent's counter `name` in its metrics file, written as it stops.
fn agent_metric(file: &Path, name: &str) -> f64 {
    metric(&std::fs::read_to_string(file).unwrap(), name).unwrap_or_else(|| panic!("{name} in the metrics"))
}

fn moves_only(state: PathBuf, metrics: PathBuf) -> impl FnOnce(&mut convoy_agent::AgentConfig) {
    move |config| {
        config.privacy = Privacy::MovesOnly;
        config.state_dir = state;
        config.metrics_file = Some(metrics);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moves_only_agent_records_nothing_outside_its_vehicles_moves_even_after_a_restart_offline() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (truck, password) = register_vehicle(&server, "truck-private").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let metrics = dir.path().join("agent.prom");
    let broker = BrokerAddress::plain("127.0.0.1", server.mqtt.port());
    let now = Utc::now().trunc_subsecs(0);

    // No move yet: the server tells the agent it has no windows, and what it reads is dropped.
    let agent = TestAgent::start_configured(
        &truck,
        &password,
        broker.clone(),
        moves_only(state.clone(), metrics.clone()),
    );
    let empty = eventually(Duration::from_secs(40), "the agent to keep its (empty) windows", || async {
        let bytes = std::fs::read(state.join("move_windows.json")).ok()?;
        MoveWindows::decode(&bytes, &truck).ok()
    })
    .await;
    assert!(empty.windows.is_empty());
    let before_any_move = receiver_epochs(now - TimeSpan::minutes(50), 10);
    agent.feed(nmea(&before_any_move)).join().unwrap();

    // A move with the truck, running from 10 minutes ago for an hour.
    let route = json!({ "type": "LineString", "coordinates": [[11.575, 48.137], [11.575, 48.2]] });
    let plan = json!({
        "name": "private truck's move",
        "vehicles": [truck.as_str()],
        "route": route,
        "corridor_m": 150,
        "window": { "from": now - TimeSpan::minutes(10), "to": now + TimeSpan::hours(1) },
    });
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(&token)
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let windows = kept_windows_containing(&state, &truck, now).await;
    assert_eq!(windows.windows.len(), 1);
    assert_eq!(windows.windows[0].from, now - TimeSpan::minutes(10));
    assert_eq!(windows.windows[0].to, Some(now + TimeSpan::hours(1)));

    // Inside, then before the window (a receiver replaying an old log), then inside again.
    let inside = receiver_epochs(now - TimeSpan::minutes(5), 10);
    let outside = receiver_epochs(now - TimeSpan::minutes(40), 10);
    let inside_again = receiver_epochs(now - TimeSpan::minutes(3), 10);
    for fixes in [&inside, &outside, &inside_again] {
        agent.feed(nmea(fixes)).join().unwrap();
    }
    let expected: Vec<DateTime<Utc>> = inside.iter().chain(&inside_again).map(|f| f.t).collect();
    let got = eventually(Duration::from_secs(30), "the fixes inside the move stored", || async {
        let got = stored(&server, &truck).await;
        (got.len() >= expected.len()).then_some(got)
    })
    .await;
    agent.stop().await;
    assert_eq!(got.iter().map(|(_, t)| *t).collect::<Vec<_>>(), expected, "only the fixes inside the move");
    assert_eq!(
        got.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=expected.len() as u64).collect::<Vec<_>>(),
        "fixes dropped outside the move take no number"
    );
    assert_eq!(agent_metric(&metrics, "convoy_agent_withheld_total"), 20.0);
    assert_eq!(agent_metric(&metrics, "convoy_agent_fixes_total"), 40.0, "every epoch was read");

    // Restarted with no broker to reach: it still knows the move from its state directory,
    // spools what is inside and drops what is outside.
    let nowhere = BrokerAddress::plain("127.0.0.1", convoy_testkit::free_port());
    let offline =
        TestAgent::start_configured(&truck, &password, nowhere, moves_only(state.clone(), metrics.clone()));
    let inside_offline = receiver_epochs(now - TimeSpan::minutes(1), 5);
    let outside_offline = receiver_epochs(now + TimeSpan::hours(2), 5);
    offline.feed(nmea(&inside_offline)).join().unwrap();
    offline.feed(nmea(&outside_offline)).join().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    offline.stop().await;
    assert_eq!(agent_metric(&metrics, "convoy_agent_withheld_total"), 5.0);
    let (mut spool, _) =
        convoy_agent::spool::Spool::open(&state.join("spool"), &truck, Default::default()).unwrap();
    let spooled: Vec<DateTime<Utc>> = spool.next_unsent(100).unwrap().positions.iter().map(|p| p.t).collect();
    assert_eq!(spooled, inside_offline.iter().map(|f| f.t).collect::<Vec<_>>());
    drop(spool);

    // Back in reach of the broker: what it spooled offline is stored, numbered on.
    let back =
        TestAgent::start_configured(&truck, &password, broker, moves_only(state.clone(), metrics.clone()));
    let all = eventually(Duration::from_secs(30), "the fixes spooled offline stored", || async {
        let got = stored(&server, &truck).await;
        (got.len() >= expected.len() + inside_offline.len()).then_some(got)
    })
    .await;
    back.stop().await;
    let offline_stored: Vec<(u64, DateTime<Utc>)> = all[expected.len()..].to_vec();
    assert_eq!(
        offline_stored,
        inside_offline.iter().enumerate().map(|(i, f)| (21 + i as u64, f.t)).collect::<Vec<_>>()
    );
    server.stop().await;
}
