//! A read-only alert observer on the embedded broker (issue 18), with a real MQTT client
//! (rumqttc) logged in as `observer:NAME` through the front door: it receives the alerts the
//! rules raise from a vehicle's real fixes; its subscriptions to anything else (positions,
//! status, `#`, `$SYS`) are answered with the SUBACK's failure code, counted, and bring it
//! nothing; a publish closes its connection and is counted; a wrong password or an unknown
//! name is refused and counted.

mod common;

use std::time::Duration;

use chrono::{Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::topics::ALERTS_FILTER;
use convoy_core::{FixMode, Position};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS,
    SubscribeReasonCode,
};
use serde_json::{json, Value};

const OBSERVER: &str = "ops-wall";
const OBSERVER_PASSWORD: &str = "a long enough observer password";

/// A server on SQLite with the embedded broker and one observer, `observer:ops-wall`.
async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("observer.password");
    std::fs::write(&password_file, format!("{OBSERVER_PASSWORD}\n")).unwrap();
    let entries = [convoy::config::ObserverEntry { name: OBSERVER.into(), password_file }];
    // The password is read (and hashed) here: the file may go with `dir`.
    let accounts = convoy::config::observer_accounts(&entries).unwrap();
    TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.mqtt_observers = accounts;
    })
    .await
}

fn observer_options(server: &TestServer, user: &str, password: &str, client_id: &str) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, server.mqtt.ip().to_string(), server.mqtt.port());
    options.set_credentials(user, password);
    options.set_keep_alive(Duration::from_secs(30));
    options
}

/// Logs in as the observer; returns once the CONNACK has accepted it.
async fn observer(server: &TestServer, client_id: &str) -> (AsyncClient, EventLoop) {
    let options = observer_options(server, &format!("observer:{OBSERVER}"), OBSERVER_PASSWORD, client_id);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    match next_packet(&mut eventloop).await {
        Ok(Packet::ConnAck(connack)) => assert_eq!(connack.code, ConnectReturnCode::Success),
        other => panic!("expected a CONNACK, got {other:?}"),
    }
    (client, eventloop)
}

/// The next packet from the broker (within 30 s), or how the connection ended.
async fn next_packet(eventloop: &mut EventLoop) -> Result<Packet, ConnectionError> {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), eventloop.poll())
            .await
            .expect("something from the broker within 30 s")?;
        if let Event::Incoming(packet) = event {
            return Ok(packet);
        }
    }
}

/// Subscribes to `filter` at QoS 1; returns the SUBACK's return code.
async fn subscribe(client: &AsyncClient, eventloop: &mut EventLoop, filter: &str) -> SubscribeReasonCode {
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    loop {
        match next_packet(eventloop).await.unwrap() {
            Packet::SubAck(suback) => {
                assert_eq!(suback.return_codes.len(), 1);
                return suback.return_codes[0];
            }
            Packet::PingResp => {}
            other => panic!("{filter}: expected a SUBACK, got {other:?}"),
        }
    }
}

fn refused(metrics: &str, reason: &str) -> f64 {
    metric(metrics, &format!("convoy_gateway_mqtt_refused_total{{reason=\"{reason}\"}}")).unwrap_or(0.0)
}

/// A straight route east along 48.16° N, about 7.4 km, for `truck-07`.
fn plan() -> Value {
    json!({
        "name": "observed",
        "vehicles": ["truck-07"],
        "route": { "type": "LineString", "coordinates": [[11.50, 48.16], [11.60, 48.16]] },
        "corridor_m": 150,
        "rules": { "signal_lost_after_s": 100_000 },
    })
}

/// Fixes one second apart from `from`, 400 m north of the route (well outside its corridor).
fn off_route_drive(from: chrono::DateTime<Utc>, seconds: u64) -> Vec<Position> {
    (0..seconds)
        .map(|s| Position {
            seq: s + 1,
            t: from + TimeSpan::seconds(s as i64),
            lat: 48.16 + 400.0 / 111_190.0,
            lon: 11.52 + 10.0 * s as f64 / 74_300.0,
            alt_m: None,
            speed_mps: Some(10.0),
            course_deg: Some(90.0),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_observer_receives_the_alerts_the_rules_raise() {
    let server = start().await;
    let (truck, password) = register_vehicle(&server, "truck-07").await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/moves"))
        .bearer_auth(&admin)
        .json(&plan())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let (client, mut eventloop) = observer(&server, "wall-display").await;
    assert_eq!(
        subscribe(&client, &mut eventloop, ALERTS_FILTER).await,
        SubscribeReasonCode::Success(QoS::AtLeastOnce)
    );
    // The truck drives 400 m off its route: the rules open `off_route`, published on MQTT.
    // Taken from a minute ahead (fixes up to 5 minutes ahead are taken; the rules run on fix
    // time), as tests/move_end.rs does, so none is late.
    let from = Utc::now().trunc_subsecs(0) + TimeSpan::seconds(60);
    publish_fixes(&server, &truck, &password, &off_route_drive(from, 60), 5).await;
    let alert = loop {
        match next_packet(&mut eventloop).await.unwrap() {
            Packet::Publish(publish) => {
                assert_eq!(publish.topic, "convoy/v1/alerts/truck-07");
                break serde_json::from_slice::<Value>(&publish.payload).unwrap();
            }
            Packet::PingResp => {}
            other => panic!("expected an alert, got {other:?}"),
        }
    };
    assert_eq!(alert["kind"], "off_route", "{alert}");
    assert_eq!(alert["vehicle"], "truck-07", "{alert}");
    // The same alert the API lists.
    let (_, listed) = server.get_json("/api/v1/alerts", &admin).await;
    let ids: Vec<&str> =
        listed["alerts"].as_array().unwrap().iter().filter_map(|a| a["id"].as_str()).collect();
    assert!(ids.contains(&alert["id"].as_str().unwrap()), "{alert} among {ids:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_observer_may_subscribe_to_the_alerts_only_and_gets_nothing_else() {
    let log = Captured::install("convoy_broker=warn");
    let server = start().await;
    let (truck, password) = register_vehicle(&server, "truck-07").await;
    let (client, mut eventloop) = observer(&server, "curious").await;
    let others = [
        "convoy/v1/vehicles/+/positions",
        "convoy/v1/vehicles/truck-07/positions",
        "convoy/v1/vehicles/+/status",
        "#",
        "$SYS/#",
        "convoy/v1/alerts/#",
        "owntracks/+/+",
    ];
    for (n, filter) in others.into_iter().enumerate() {
        assert_eq!(
            subscribe(&client, &mut eventloop, filter).await,
            SubscribeReasonCode::Failure,
            "{filter}"
        );
        assert_eq!(refused(&server.metrics().await, "subscription_refused"), (n + 1) as f64, "{filter}");
    }
    // Still connected: the alerts filter is granted on the same connection.
    assert_eq!(
        subscribe(&client, &mut eventloop, ALERTS_FILTER).await,
        SubscribeReasonCode::Success(QoS::AtLeastOnce)
    );
    // The truck's positions flow through the broker (no move: no alert); each was routed by
    // rumqttd before its PUBACK (held until ingest, subscribed there, stored it). None reaches
    // the observer: it would be there at once, so a few seconds of silence tell.
    let fixes = off_route_drive(Utc::now().trunc_subsecs(0) - TimeSpan::seconds(30), 10);
    publish_fixes(&server, &truck, &password, &fixes, 2).await;
    let heard = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PingResp)) | Ok(Event::Outgoing(_)) => {}
                other => break other,
            }
        }
    })
    .await;
    assert!(heard.is_err(), "the observer got {heard:?}");
    assert_eq!(refused(&server.metrics().await, "subscription_refused"), others.len() as f64);
    // Logged with who asked for what (at most one line every 10 s: the first one is written).
    let warned: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|line| line.contains("alert observer's subscription refused"))
        .collect();
    assert!(
        warned.first().is_some_and(|line| line.contains("observer=\"observer:ops-wall\"")
            && line.contains("convoy/v1/vehicles/+/positions")),
        "{warned:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_observers_publish_closes_its_connection_and_is_counted() {
    let server = start().await;
    // Another observer on the alerts: a forged alert must not reach it.
    let (watcher, mut watching) = observer(&server, "watcher").await;
    assert_eq!(
        subscribe(&watcher, &mut watching, ALERTS_FILTER).await,
        SubscribeReasonCode::Success(QoS::AtLeastOnce)
    );
    for (n, topic) in ["convoy/v1/alerts/truck-07", "convoy/v1/vehicles/truck-07/positions", "anything"]
        .into_iter()
        .enumerate()
    {
        let (client, mut eventloop) = observer(&server, &format!("publisher-{n}")).await;
        client.publish(topic, QoS::AtLeastOnce, false, b"{\"kind\":\"forged\"}".to_vec()).await.unwrap();
        let ended = loop {
            match next_packet(&mut eventloop).await {
                Ok(Packet::PingResp) => {}
                Ok(other) => panic!("{topic}: expected the connection closed, got {other:?}"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(ended, ConnectionError::Io(_) | ConnectionError::MqttState(_)),
            "{topic}: {ended:?}"
        );
        assert_eq!(refused(&server.metrics().await, "observer_publish"), (n + 1) as f64, "{topic}");
    }
    // Refused before it was forwarded: rumqttd never had it, so the watcher hears nothing (it
    // would have been there at once).
    let heard = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match watching.poll().await {
                Ok(Event::Incoming(Packet::PingResp)) | Ok(Event::Outgoing(_)) => {}
                other => break other,
            }
        }
    })
    .await;
    assert!(heard.is_err(), "the watcher got {heard:?}");
    // A will is a publish too: refused at login.
    let mut options =
        observer_options(&server, &format!("observer:{OBSERVER}"), OBSERVER_PASSWORD, "willing");
    options.set_last_will(rumqttc::LastWill::new("convoy/v1/alerts/x", "gone", QoS::AtMostOnce, false));
    let (_client, mut eventloop) = AsyncClient::new(options, 10);
    assert!(matches!(
        next_packet(&mut eventloop).await,
        Err(ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized))
    ));
    assert_eq!(refused(&server.metrics().await, "will_not_allowed"), 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_password_or_an_unknown_observer_is_refused_and_counted() {
    let server = start().await;
    let user = format!("observer:{OBSERVER}");
    let attempts = [
        (user.as_str(), "a long enough observer passworD"),
        (user.as_str(), ""),
        ("observer:someone-else", OBSERVER_PASSWORD),
        ("observer:", OBSERVER_PASSWORD),
    ];
    for (n, (user, password)) in attempts.into_iter().enumerate() {
        let options = observer_options(&server, user, password, "guesser");
        let (_client, mut eventloop) = AsyncClient::new(options, 10);
        assert!(
            matches!(
                next_packet(&mut eventloop).await,
                Err(ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword))
            ),
            "{user} {password:?}"
        );
        let metrics = server.metrics().await;
        assert_eq!(refused(&metrics, "bad_credentials"), (n + 1) as f64, "{user}");
        assert_eq!(metric(&metrics, "convoy_gateway_mqtt_auth_failures_total"), Some((n + 1) as f64));
    }
    // The right password still logs in.
    let (client, _eventloop) = observer(&server, "after-the-guesses").await;
    client.disconnect().await.unwrap();
    server.stop().await;
}
