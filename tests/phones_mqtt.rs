//! OwnTracks phones over MQTT (issue 17), with rumqttc playing the app as it connects by default
//! (its own client id, clean session off, an `lwt` will on its topic, retained QoS 1 locations,
//! subscriptions to everyone's positions and to its own commands):
//! - through the embedded broker's door: a location is acknowledged once stored, as its
//!   vehicle's fix, once; bad logins are refused and counted; a phone posing as another is cut
//!   off; it reads only its own commands, and none once it unsubscribes from them (staying
//!   connected); a person's phone off duty stores nothing;
//! - over the door's TLS listener with client certificates required: a phone logs in only with
//!   a certificate naming its OwnTracks user;
//! - through Mosquitto with the shipped deploy/mosquitto.acl: a phone stores its location, and
//!   one publishing on another's topic is denied.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use convoy::config::{BrokerChoice, MqttTls};
use convoy_core::VehicleId;
use convoy_store::StoredPosition;
use convoy_testkit::{CertFiles, TestCa};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, LastWill, MqttOptions, Packet, QoS,
    SubscribeFilter, SubscribeReasonCode, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;

/// What the app's event loop saw: packets, then the error that ended it.
type Events = mpsc::UnboundedReceiver<Result<Packet, ConnectionError>>;

/// Connects as the OwnTracks app does: client id "USER DEVICE", clean session off, a retained
/// `lwt` will on its own topic. The event loop stops at its first error (so rumqttc never
/// reconnects and resends on its own).
fn app(port: u16, user: &str, device: &str, secret: &str) -> (AsyncClient, Events) {
    app_with(port, user, device, secret, |_| {})
}

/// [`app`] with its options changed by `configure` (TLS, keep-alive) before it connects.
fn app_with(
    port: u16,
    user: &str,
    device: &str,
    secret: &str,
    configure: impl FnOnce(&mut MqttOptions),
) -> (AsyncClient, Events) {
    let mut options = MqttOptions::new(format!("{user} {device}"), "127.0.0.1", port);
    options.set_credentials(user, secret);
    options.set_clean_session(false);
    options.set_keep_alive(Duration::from_secs(60));
    let will = format!(r#"{{"_type":"lwt","tst":{}}}"#, Utc::now().timestamp());
    options.set_last_will(LastWill::new(format!("owntracks/{user}/{device}"), will, QoS::AtLeastOnce, true));
    configure(&mut options);
    let (client, eventloop) = AsyncClient::new(options, 100);
    (client, events_of(eventloop))
}

/// Polls `eventloop` in a task of its own; what it sees, until its first error.
fn events_of(mut eventloop: rumqttc::EventLoop) -> Events {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(packet)) => {
                    if tx.send(Ok(packet)).is_err() {
                        return;
                    }
                }
                Ok(Event::Outgoing(_)) => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    rx
}

/// The server's side of the phones' commands: its own account on rumqttd's internal port, where
/// `src/phone_modes.rs` publishes them.
fn connect_server_side(server: &TestServer) -> (AsyncClient, Events) {
    let (internal_addr, internal) = server.server.as_ref().unwrap().internal_mqtt.clone().unwrap();
    let mut options = MqttOptions::new("test-server-side", "127.0.0.1", internal_addr.port());
    options.set_credentials(internal.username.clone(), internal.password.clone());
    let (client, eventloop) = AsyncClient::new(options, 100);
    (client, events_of(eventloop))
}

/// Publishes `command` on `topic` from the server's side (QoS 1, retained as the phone modes
/// send theirs) and waits for rumqttd's PUBACK.
async fn send_command(server_side: &AsyncClient, events: &mut Events, topic: &str, command: &str) {
    server_side.publish(topic, QoS::AtLeastOnce, true, command).await.unwrap();
    until(events, |p| matches!(p, Packet::PubAck(_))).await;
}

/// The next packet, or the error that ended the connection.
async fn next(events: &mut Events) -> Result<Packet, ConnectionError> {
    tokio::time::timeout(Duration::from_secs(20), events.recv())
        .await
        .expect("an event within 20 s")
        .expect("the event loop reports how it ended")
}

/// Waits for the CONNACK; panics on a refusal.
async fn connected(events: &mut Events) {
    match next(events).await {
        Ok(Packet::ConnAck(ack)) => assert_eq!(ack.code, ConnectReturnCode::Success),
        other => panic!("expected a CONNACK, got {other:?}"),
    }
}

/// The packets until the first that `stop` accepts (returned last).
async fn until(events: &mut Events, mut stop: impl FnMut(&Packet) -> bool) -> Vec<Packet> {
    let mut seen = Vec::new();
    loop {
        let packet = next(events).await.unwrap_or_else(|e| panic!("connection ended: {e}; saw {seen:?}"));
        let done = stop(&packet);
        seen.push(packet);
        if done {
            return seen;
        }
    }
}

/// A real OwnTracks location (the booklet's fields, as the Android app sends them).
fn location(tst: i64) -> String {
    format!(
        r#"{{"_type":"location","acc":12,"alt":220,"batt":80,"bs":1,"cog":90,"conn":"m","lat":42.5064,"lon":1.5211,"t":"u","tid":"ne","tst":{tst},"vel":36}}"#
    )
}

/// Publishes as the app does (QoS 1, retained) and waits for its PUBACK.
async fn publish_acked(client: &AsyncClient, events: &mut Events, topic: &str, payload: String) {
    client.publish(topic, QoS::AtLeastOnce, true, payload).await.unwrap();
    until(events, |p| matches!(p, Packet::PubAck(_))).await;
}

/// Publishes and waits for the connection to be closed by the broker, with no PUBACK before.
async fn publish_refused(client: &AsyncClient, events: &mut Events, topic: &str, payload: String) {
    client.publish(topic, QoS::AtLeastOnce, true, payload).await.unwrap();
    loop {
        match next(events).await {
            Ok(Packet::PubAck(ack)) => panic!("PUBACK {ack:?} for a refused publish on {topic}"),
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

async fn stored(server: &TestServer, vehicle: &str, around: DateTime<Utc>) -> Vec<StoredPosition> {
    let vehicle = VehicleId::new(vehicle).unwrap();
    let hour = chrono::Duration::hours(1);
    let mut stream = server.store.track_stream(&vehicle, around - hour, around + hour);
    let mut positions = Vec::new();
    while let Some(position) = stream.recv().await {
        positions.push(position.unwrap());
    }
    positions
}

fn refused(metrics: &str, reason: &str) -> f64 {
    metric(metrics, &format!("convoy_gateway_mqtt_refused_total{{reason=\"{reason}\"}}")).unwrap()
}

/// The app's four default subscriptions, in one SUBSCRIBE.
fn default_subscriptions(user: &str, device: &str) -> Vec<SubscribeFilter> {
    ["owntracks/+/+".to_string(), "owntracks/+/+/event".into(), "owntracks/+/+/info".into()]
        .into_iter()
        .chain([format!("owntracks/{user}/{device}/cmd")])
        .map(|filter| SubscribeFilter::new(filter, QoS::AtLeastOnce))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phones_location_is_acknowledged_once_stored_as_its_vehicles_fix_once() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let secret = register_phone(&server, "ana", "pixel", "escort-car", None).await;
    let (client, mut events) = app(server.mqtt.port(), "ana", "pixel", &secret);
    connected(&mut events).await;

    let tst = Utc::now().timestamp() - 60;
    let t = DateTime::from_timestamp(tst, 0).unwrap();
    publish_acked(&client, &mut events, "owntracks/ana/pixel", location(tst)).await;
    // The PUBACK waited for ingest's commit: the fix is there already, no polling.
    let positions = stored(&server, "escort-car", t).await;
    assert_eq!(positions.len(), 1, "{positions:?}");
    let fix = &positions[0];
    assert_eq!((fix.position.t, fix.position.lat, fix.position.lon), (t, 42.5064, 1.5211));
    assert_eq!(fix.position.accuracy_m, Some(12.0));
    assert_eq!(fix.source.as_deref(), Some("owntracks:ana"));

    // The app sends it again (no PUBACK seen, say): stored once.
    publish_acked(&client, &mut events, "owntracks/ana/pixel", location(tst)).await;
    assert_eq!(stored(&server, "escort-car", t).await.len(), 1);
    // A region event and a card are answered by the door, and go no further.
    let event = format!(r#"{{"_type":"transition","event":"enter","desc":"depot","tst":{tst}}}"#);
    publish_acked(&client, &mut events, "owntracks/ana/pixel/event", event).await;
    publish_acked(
        &client,
        &mut events,
        "owntracks/ana/pixel/info",
        r#"{"_type":"card","name":"Ana"}"#.into(),
    )
    .await;
    assert_eq!(stored(&server, "escort-car", t).await.len(), 1);
    assert!(
        server.store.dead_letters(10).await.unwrap().is_empty(),
        "the card and the event are no dead letters"
    );
    assert_eq!(refused(&server.metrics().await, "foreign_topic"), 0.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_secret_and_an_unknown_user_are_refused_and_counted() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let secret = register_phone(&server, "ana", "pixel", "escort-car", None).await;
    for (user, secret) in [("ana", "not the secret"), ("nobody", secret.as_str()), ("ana", "")] {
        let (_client, mut events) = app(server.mqtt.port(), user, "pixel", secret);
        match next(&mut events).await {
            Err(ConnectionError::ConnectionRefused(code)) => {
                assert_eq!(code, ConnectReturnCode::BadUserNamePassword, "{user}")
            }
            other => panic!("{user} with a bad secret: {other:?}"),
        }
    }
    let metrics = server.metrics().await;
    assert_eq!(refused(&metrics, "bad_credentials"), 3.0);
    assert_eq!(metric(&metrics, "convoy_gateway_mqtt_auth_failures_total"), Some(3.0));
    // The right secret gets in.
    let (_client, mut events) = app(server.mqtt.port(), "ana", "pixel", &secret);
    connected(&mut events).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_publishing_as_another_phone_or_device_is_cut_off_and_nothing_is_stored() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let secret_a = register_phone(&server, "ana", "pixel", "car-a", None).await;
    register_phone(&server, "bo", "iphone", "car-b", None).await;
    let tst = Utc::now().timestamp() - 60;
    let t = DateTime::from_timestamp(tst, 0).unwrap();

    for (n, foreign) in
        ["owntracks/bo/iphone", "owntracks/ana/other", "owntracks/ana/pixel/cmd"].iter().enumerate()
    {
        let (client, mut events) = app(server.mqtt.port(), "ana", "pixel", &secret_a);
        connected(&mut events).await;
        publish_refused(&client, &mut events, foreign, location(tst - n as i64)).await;
    }
    assert_eq!(refused(&server.metrics().await, "foreign_topic"), 3.0);

    // Ana's own location afterwards is stored; once it is, what came before it would be too,
    // had it been forwarded (ingest commits in order).
    let (client, mut events) = app(server.mqtt.port(), "ana", "pixel", &secret_a);
    connected(&mut events).await;
    publish_acked(&client, &mut events, "owntracks/ana/pixel", location(tst + 1)).await;
    let own: Vec<i64> = stored(&server, "car-a", t).await.iter().map(|p| p.position.t.timestamp()).collect();
    assert_eq!(own, [tst + 1], "only Ana's own location");
    assert!(stored(&server, "car-b", t).await.is_empty(), "nothing stored as Bo");
    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, "convoy_ingest_rejected_total{reason=\"device_mismatch\"}"), Some(0.0));
    assert_eq!(metric(&metrics, "convoy_gateway_mqtt_auth_failures_total"), Some(0.0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_reads_its_own_commands_and_no_other_phones_locations() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let secret_a = register_phone(&server, "ana", "pixel", "car-a", None).await;
    let secret_b = register_phone(&server, "bo", "iphone", "car-b", None).await;
    let tst = Utc::now().timestamp() - 60;

    // The server side (its account on rumqttd's internal port) leaves a retained command for
    // each phone.
    let (server_side, mut server_events) = connect_server_side(&server);
    let command = r#"{"_type":"cmd","action":"setConfiguration","configuration":{"_type":"configuration","locatorInterval":60}}"#;
    for user_device in ["ana/pixel", "bo/iphone"] {
        send_command(&server_side, &mut server_events, &format!("owntracks/{user_device}/cmd"), command)
            .await;
    }

    // Bo's location is stored (retained, as the app sends it).
    let (bo, mut bo_events) = app(server.mqtt.port(), "bo", "iphone", &secret_b);
    connected(&mut bo_events).await;
    publish_acked(&bo, &mut bo_events, "owntracks/bo/iphone", location(tst)).await;

    // Ana subscribes as the app does: only her command topic is granted, and she gets its
    // retained command, none of Bo's.
    let (ana, mut ana_events) = app(server.mqtt.port(), "ana", "pixel", &secret_a);
    connected(&mut ana_events).await;
    ana.subscribe_many(default_subscriptions("ana", "pixel")).await.unwrap();
    let seen = until(&mut ana_events, |p| matches!(p, Packet::Publish(_))).await;
    let suback = seen.iter().find_map(|p| match p {
        Packet::SubAck(suback) => Some(suback.return_codes.clone()),
        _ => None,
    });
    assert_eq!(
        suback,
        Some(vec![
            SubscribeReasonCode::Failure,
            SubscribeReasonCode::Failure,
            SubscribeReasonCode::Failure,
            SubscribeReasonCode::Success(QoS::AtLeastOnce)
        ])
    );
    let Some(Packet::Publish(retained)) = seen.last() else { unreachable!() };
    assert_eq!(
        (retained.topic.as_str(), &retained.payload[..]),
        ("owntracks/ana/pixel/cmd", command.as_bytes())
    );

    // Bo publishes again; then the server sends Ana a command: it is the next thing she gets.
    publish_acked(&bo, &mut bo_events, "owntracks/bo/iphone", location(tst + 1)).await;
    let now_command = r#"{"_type":"cmd","action":"reportLocation"}"#;
    server_side.publish("owntracks/ana/pixel/cmd", QoS::AtLeastOnce, false, now_command).await.unwrap();
    let seen = until(&mut ana_events, |p| matches!(p, Packet::Publish(_))).await;
    let Some(Packet::Publish(next_one)) = seen.last() else { unreachable!() };
    assert_eq!(
        (next_one.topic.as_str(), &next_one.payload[..]),
        ("owntracks/ana/pixel/cmd", now_command.as_bytes())
    );
    assert!(
        !seen.iter().any(|p| matches!(p, Packet::Publish(p) if p.topic.starts_with("owntracks/bo"))),
        "{seen:?}"
    );

    // Nothing of a phone is retained by rumqttd but the server's commands: a new subscriber to
    // every owntracks topic gets those two, then the marker published after them.
    server_side.subscribe("owntracks/#", QoS::AtLeastOnce).await.unwrap();
    until(&mut server_events, |p| matches!(p, Packet::SubAck(_))).await;
    server_side.publish("owntracks/zz/marker/cmd", QoS::AtLeastOnce, false, "marker").await.unwrap();
    let seen =
        until(&mut server_events, |p| matches!(p, Packet::Publish(p) if p.topic.contains("marker"))).await;
    let topics: Vec<&str> = seen
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p.topic.as_str()),
            _ => None,
        })
        .collect();
    assert!(!topics.iter().any(|t| t.ends_with("/iphone") || t.ends_with("/pixel")), "{topics:?}");

    let metrics = server.metrics().await;
    assert_eq!(refused(&metrics, "subscription_refused"), 3.0);
    assert_eq!(refused(&metrics, "foreign_subscription"), 0.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_persons_phone_outside_their_moves_stores_nothing_and_is_still_acknowledged() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let secret = register_phone(&server, "ana", "pixel", "escort-car", Some(ESCORT_USER)).await;
    let (client, mut events) = app(server.mqtt.port(), "ana", "pixel", &secret);
    connected(&mut events).await;
    let tst = Utc::now().timestamp() - 60;
    // Held until ingest committed the batch that kept it private: the PUBACK comes all the same.
    publish_acked(&client, &mut events, "owntracks/ana/pixel", location(tst)).await;
    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, "convoy_ingest_rejected_total{reason=\"outside_moves\"}"), Some(1.0));
    assert!(stored(&server, "escort-car", DateTime::from_timestamp(tst, 0).unwrap()).await.is_empty());
    assert_eq!(server.store.dead_letters(10).await.unwrap().len(), 0, "not even a dead letter");
    server.stop().await;
}

/// The app over MQTT over TLS to `mqtts`, trusting `ca`, presenting `certificate` if given.
fn app_over_tls(
    mqtts: SocketAddr,
    ca: &TestCa,
    certificate: Option<&CertFiles>,
    user: &str,
    device: &str,
    secret: &str,
) -> (AsyncClient, Events) {
    let files = convoy_agent::tls::TlsFiles {
        ca_file: ca.ca_file.clone(),
        client_cert: certificate.map(|c| (c.cert_file.clone(), c.key_file.clone())),
    };
    let config = Arc::new(convoy_agent::tls::client_config(&files).unwrap());
    app_with(mqtts.port(), user, device, secret, |options| {
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
    })
}

/// On the door's TLS listener with client certificates required (`[mqtt_tls] client_ca_file`),
/// the certificate must name the phone's OwnTracks user, as it must name a vehicle, and the
/// phone still needs its secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_tls_a_phone_logs_in_only_with_a_certificate_naming_its_user_and_its_location_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let broker = ca.server("broker");
    let tls = MqttTls {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert_file: broker.cert_file,
        key_file: broker.key_file,
        client_ca_file: Some(ca.ca_file.clone()),
    };
    let server =
        TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| c.mqtt_tls = Some(tls)).await;
    let mqtts = server.server.as_ref().unwrap().mqtts_addr.expect("the TLS listener");
    let secret = register_phone(&server, "ana", "pixel", "escort-car", None).await;
    register_phone(&server, "bo", "iphone", "car-b", None).await;
    let (ana_certificate, bo_certificate) = (ca.client("ana"), ca.client("bo"));

    // Ana's secret with Bo's certificate: refused as not authorised, counted before the answer.
    let (_client, mut events) = app_over_tls(mqtts, &ca, Some(&bo_certificate), "ana", "pixel", &secret);
    match next(&mut events).await {
        Err(ConnectionError::ConnectionRefused(code)) => assert_eq!(code, ConnectReturnCode::NotAuthorized),
        other => panic!("Ana with Bo's certificate: {other:?}"),
    }
    assert_eq!(refused(&server.metrics().await, "client_cert_mismatch"), 1.0);
    // Her own certificate without her secret: a certificate adds to the secret, it does not
    // replace it.
    let (_client, mut events) = app_over_tls(mqtts, &ca, Some(&ana_certificate), "ana", "pixel", "");
    match next(&mut events).await {
        Err(ConnectionError::ConnectionRefused(code)) => {
            assert_eq!(code, ConnectReturnCode::BadUserNamePassword)
        }
        other => panic!("Ana's certificate without her secret: {other:?}"),
    }
    assert_eq!(refused(&server.metrics().await, "bad_credentials"), 1.0);
    // No certificate: the handshake fails (the client may see the alert or only the closed
    // connection), no CONNACK comes, and it is counted.
    let (_client, mut events) = app_over_tls(mqtts, &ca, None, "ana", "pixel", &secret);
    let ended = next(&mut events).await;
    assert!(ended.is_err(), "{ended:?}");
    eventually(Duration::from_secs(10), "the failed handshake counted", || async {
        (refused(&server.metrics().await, "tls_handshake") == 1.0).then_some(())
    })
    .await;

    // Ana's own certificate and secret: in, and her location is stored once acknowledged.
    let (client, mut events) = app_over_tls(mqtts, &ca, Some(&ana_certificate), "ana", "pixel", &secret);
    connected(&mut events).await;
    let tst = Utc::now().timestamp() - 60;
    let t = DateTime::from_timestamp(tst, 0).unwrap();
    publish_acked(&client, &mut events, "owntracks/ana/pixel", location(tst)).await;
    let positions = stored(&server, "escort-car", t).await;
    assert_eq!(positions.iter().map(|p| p.position.t).collect::<Vec<_>>(), [t]);
    assert_eq!(positions[0].source.as_deref(), Some("owntracks:ana"));
    let metrics = server.metrics().await;
    assert_eq!(refused(&metrics, "client_cert_mismatch"), 1.0);
    assert_eq!(refused(&metrics, "bad_credentials"), 1.0);
    server.stop().await;
}

/// A setConfiguration command as the server sends it, told apart by its interval.
fn interval_command(seconds: u32) -> String {
    format!(
        r#"{{"_type":"cmd","action":"setConfiguration","configuration":{{"_type":"configuration","locatorInterval":{seconds}}}}}"#
    )
}

/// The PUBLISHes among `packets`, as (topic, payload, retain).
fn publishes(packets: &[Packet]) -> Vec<(String, String, bool)> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => {
                Some((p.topic.clone(), String::from_utf8_lossy(&p.payload).into_owned(), p.retain))
            }
            _ => None,
        })
        .collect()
}

/// UNSUBSCRIBE through the door: of a filter never granted, it is answered and changes nothing;
/// of the phone's own command topic, it is answered and the server's next command no longer
/// reaches the phone, whose connection stays open (pings answered, locations stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_unsubscribed_from_its_commands_gets_no_more_and_stays_connected() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let secret = register_phone(&server, "ana", "pixel", "escort-car", None).await;
    let (server_side, mut server_events) = connect_server_side(&server);
    let topic = "owntracks/ana/pixel/cmd";
    send_command(&server_side, &mut server_events, topic, &interval_command(60)).await;

    // A keep-alive of 5 s: the app sends a PINGREQ every 5 s.
    let (ana, mut events) = app_with(server.mqtt.port(), "ana", "pixel", &secret, |options| {
        options.set_keep_alive(Duration::from_secs(5));
    });
    connected(&mut events).await;
    ana.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    let seen = until(&mut events, |p| matches!(p, Packet::Publish(_))).await;
    assert_eq!(publishes(&seen), [(topic.to_string(), interval_command(60), true)], "the retained command");

    // A filter it was never granted: UNSUBACK, and its command topic still delivers.
    ana.unsubscribe("owntracks/+/+").await.unwrap();
    until(&mut events, |p| matches!(p, Packet::UnsubAck(_))).await;
    send_command(&server_side, &mut server_events, topic, &interval_command(30)).await;
    let seen = until(&mut events, |p| matches!(p, Packet::Publish(_))).await;
    assert_eq!(publishes(&seen), [(topic.to_string(), interval_command(30), false)], "still subscribed");

    // Its own command topic: UNSUBACK; then the server's next command.
    ana.unsubscribe(topic).await.unwrap();
    until(&mut events, |p| matches!(p, Packet::UnsubAck(_))).await;
    send_command(&server_side, &mut server_events, topic, &interval_command(10)).await;
    // The connection stays open: a PINGREQ is answered, a location is acknowledged once stored.
    let mut since = until(&mut events, |p| matches!(p, Packet::PingResp)).await;
    let tst = Utc::now().timestamp() - 60;
    ana.publish("owntracks/ana/pixel", QoS::AtLeastOnce, true, location(tst)).await.unwrap();
    since.extend(until(&mut events, |p| matches!(p, Packet::PubAck(_))).await);
    let t = DateTime::from_timestamp(tst, 0).unwrap();
    assert_eq!(stored(&server, "escort-car", t).await.iter().map(|p| p.position.t).collect::<Vec<_>>(), [t]);
    // Subscribed again, it gets the command it missed as the retained one: the first command
    // since it unsubscribed, and the only one.
    ana.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    let resubscribed = since.len();
    since.extend(until(&mut events, |p| matches!(p, Packet::Publish(_))).await);
    assert_eq!(publishes(&since), [(topic.to_string(), interval_command(10), true)], "{since:?}");
    assert!(since[resubscribed..].iter().any(|p| matches!(p, Packet::SubAck(_))), "{since:?}");

    let metrics = server.metrics().await;
    for reason in
        ["subscription_refused", "foreign_subscription", "subscription_not_allowed", "foreign_topic"]
    {
        assert_eq!(refused(&metrics, reason), 0.0, "{reason}");
    }
    server.stop().await;
}

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(file)
}

/// Runs deploy/mosquitto-passwd.sh with `args` and `stdin`.
fn mosquitto_passwd(args: &[&str], stdin: &str) {
    use std::io::Write;
    let mut child = Command::new(deploy("mosquitto-passwd.sh"))
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_mosquitto_with_the_shipped_acl_a_phone_stores_only_on_its_own_topic() {
    let dir = tempfile::tempdir().unwrap();
    // Mosquitto runs as its own user (started as root): it must reach its files.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let passwd = dir.path().join("passwd");
    let server_password = dir.path().join("server-password");
    std::fs::write(&server_password, "the server's broker password\n").unwrap();
    let passwd_arg = passwd.to_str().unwrap();
    mosquitto_passwd(&["server", passwd_arg, "convoy-ingest", server_password.to_str().unwrap()], "");
    let chown = |path: &Path| {
        if nix::unistd::Uid::effective().is_root() {
            assert!(Command::new("chown").arg("mosquitto:").arg(path).status().unwrap().success());
        }
    };
    chown(&passwd);
    let port = convoy_testkit::free_port();
    let config = format!(
        "per_listener_settings false\nallow_anonymous false\npassword_file {}\nacl_file {}\n\
         persistence false\nmax_inflight_messages 1000\nlistener {port} 127.0.0.1\n",
        passwd.display(),
        deploy("mosquitto.acl").display()
    );
    let mosquitto = convoy_testkit::Mosquitto::start_with_config(&config, port);

    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.broker = BrokerChoice::External {
            host: "127.0.0.1".into(),
            port,
            username: Some("convoy-ingest".into()),
            password: Some("the server's broker password".into()),
            tls: None,
        };
    })
    .await;
    let secret_a = register_phone(&server, "ana", "pixel", "car-a", None).await;
    let secret_b = register_phone(&server, "bo", "iphone", "car-b", None).await;
    mosquitto_passwd(&["phones", passwd_arg], &format!("ana {secret_a}\nbo {secret_b}\n"));
    mosquitto.reload();

    // Ana's location is stored (published until ingest, connecting to Mosquitto on its own
    // time, has subscribed: the same fix is stored once however often it comes).
    let tst = Utc::now().timestamp() - 60;
    let t = DateTime::from_timestamp(tst, 0).unwrap();
    let (ana, mut ana_events) = eventually(Duration::from_secs(20), "Mosquitto to read the phones", || async {
        let (client, mut events) = app(port, "ana", "pixel", &secret_a);
        matches!(next(&mut events).await, Ok(Packet::ConnAck(ack)) if ack.code == ConnectReturnCode::Success)
            .then_some((client, events))
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        publish_acked(&ana, &mut ana_events, "owntracks/ana/pixel", location(tst)).await;
        if !stored(&server, "car-a", t).await.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "Ana's location not stored within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Bo on Ana's topic: Mosquitto acknowledges and drops it. Bo's own next location arrives
    // after it would have, and is stored.
    let (bo, mut bo_events) = app(port, "bo", "iphone", &secret_b);
    connected(&mut bo_events).await;
    publish_acked(&bo, &mut bo_events, "owntracks/ana/pixel", location(tst + 5)).await;
    publish_acked(&bo, &mut bo_events, "owntracks/bo/iphone", location(tst + 6)).await;
    eventually(Duration::from_secs(30), "Bo's own location stored", || async {
        (!stored(&server, "car-b", t).await.is_empty()).then_some(())
    })
    .await;
    let ana_fixes: Vec<i64> =
        stored(&server, "car-a", t).await.iter().map(|p| p.position.t.timestamp()).collect();
    assert_eq!(ana_fixes, [tst], "nothing of Bo's stored as Ana's");
    // And Bo reads no one's positions. (Mosquitto 2.0 grants the app's owntracks/+/+, but
    // checks each message against the ACL as it delivers it.) Ana publishes again, then the
    // server sends Bo a command: that is the first thing Bo gets, Ana's retained location and
    // her new one are not delivered.
    bo.subscribe_many(default_subscriptions("bo", "iphone")).await.unwrap();
    until(&mut bo_events, |p| matches!(p, Packet::SubAck(_))).await;
    publish_acked(&ana, &mut ana_events, "owntracks/ana/pixel", location(tst + 10)).await;
    let mut options = MqttOptions::new("convoy-ingest-commands", "127.0.0.1", port);
    options.set_credentials("convoy-ingest", "the server's broker password");
    let (server_side, mut server_loop) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while server_loop.poll().await.is_ok() {} });
    let command = r#"{"_type":"cmd","action":"reportLocation"}"#;
    server_side.publish("owntracks/bo/iphone/cmd", QoS::AtLeastOnce, false, command).await.unwrap();
    let seen = until(&mut bo_events, |p| matches!(p, Packet::Publish(_))).await;
    let Some(Packet::Publish(first)) = seen.last() else { unreachable!() };
    assert_eq!((first.topic.as_str(), &first.payload[..]), ("owntracks/bo/iphone/cmd", command.as_bytes()));
    server.stop().await;
}

/// The command a phone gets next, as JSON: within a check of the server's retained messages
/// (`convoy::retained::CHECK_EVERY`, 10 s) and ample slack for a loaded machine.
async fn next_command(events: &mut Events) -> serde_json::Value {
    let wait = Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout(wait, events.recv()).await.expect("a command within 30 s");
        match event.expect("the event loop reports how it ended") {
            Ok(Packet::Publish(command)) => {
                assert_eq!(command.topic, "owntracks/ana/pixel/cmd");
                return serde_json::from_slice(&command.payload).unwrap();
            }
            Ok(_) => {}
            Err(e) => panic!("the phone's connection ended: {e}"),
        }
    }
}

/// A person's phone is told by the server (retained, on its own command topic) to be quiet
/// while no move of theirs runs, and to report in move mode once one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_persons_phone_is_told_to_be_quiet_and_then_to_report_during_their_move() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let secret = register_phone(&server, "ana", "pixel", "escort-car", Some(ESCORT_USER)).await;
    let (client, mut events) = app(server.mqtt.port(), "ana", "pixel", &secret);
    connected(&mut events).await;
    client.subscribe("owntracks/ana/pixel/cmd", QoS::AtLeastOnce).await.unwrap();
    // Told at the server's next check (the phone was registered after its start), and kept
    // retained for whenever the phone connects: quiet.
    let quiet = next_command(&mut events).await;
    assert_eq!(quiet["action"], "setConfiguration");
    assert_eq!(quiet["configuration"]["monitoring"], -1, "{quiet}");

    // A move of hers starts: within a check (10 s) the phone is told to report.
    let now = Utc::now();
    let plan = serde_json::json!({
        "name": "ana escorts",
        "vehicles": ["escort-car"],
        "route": { "type": "LineString", "coordinates": [[1.52, 42.50], [1.53, 42.51]] },
        "window": { "from": now - chrono::Duration::minutes(1), "to": now + chrono::Duration::minutes(30) },
    });
    let plan = convoy_core::plan::MovePlan::from_json(&serde_json::to_vec(&plan).unwrap()).unwrap();
    let record = convoy_registry::store_new_move(&server.store, &plan, ADMIN_USER).await.unwrap();
    server.store.set_move_team(&record.id, &[ESCORT_USER.to_string()]).await.unwrap();
    let report = next_command(&mut events).await;
    assert_eq!(report["configuration"]["monitoring"], 2, "{report}");
    server.stop().await;
}
