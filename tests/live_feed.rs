//! The live feed under a client that does not keep up: it is told what it skipped, then gets
//! every vehicle's latest position, and the server stays up for everyone else.

mod common;

use std::time::Duration;

use chrono::{Duration as TimeSpan, SubsecRound, Utc};
use common::*;
use convoy_core::{FixMode, Position};
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// More positions than the live buffer holds (16,384), so a client that reads none must skip.
const FIXES: u64 = 40_000;

fn straight_drive(count: u64) -> Vec<Position> {
    let t0 = Utc::now().trunc_subsecs(3) - TimeSpan::seconds(count as i64);
    (0..count)
        .map(|i| Position {
            seq: i + 1,
            t: t0 + TimeSpan::seconds(i as i64),
            lat: 48.1 + i as f64 * 1e-5,
            lon: 11.5,
            alt_m: None,
            speed_mps: Some(1.1),
            course_deg: Some(0.0),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_and_caught_up_with_the_latest_positions() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (vehicle, password) = register_vehicle(&server, "truck-lag").await;

    let url = format!("ws://{}/api/v1/live?token={token}", server.http);
    let (mut slow, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    // This client reads nothing while the fleet publishes.
    publish_fixes(&server, &vehicle, &password, &straight_drive(FIXES), 50).await;
    eventually(Duration::from_secs(60), "every fix stored", || async {
        let track = server.store.track(&vehicle, Utc::now() - TimeSpan::days(1), Utc::now()).await.unwrap();
        (track.len() as u64 == FIXES).then_some(())
    })
    .await;

    let (mut lagged, mut positions, mut newest_seq) = (0u64, 0u64, 0u64);
    while newest_seq < FIXES {
        let message = tokio::time::timeout(Duration::from_secs(30), slow.next())
            .await
            .expect("the feed goes on")
            .expect("not closed")
            .unwrap();
        let Message::Text(text) = message else { continue };
        let event: Value = serde_json::from_str(&text).unwrap();
        match event["type"].as_str().unwrap() {
            "lagged" => lagged += event["missed"].as_u64().unwrap(),
            "position" => {
                positions += 1;
                newest_seq = newest_seq.max(event["position"]["seq"].as_u64().unwrap());
            }
            _ => {}
        }
    }
    assert!(lagged > 0, "the slow client was told it skipped positions");
    assert!(positions < FIXES, "it did not get every position ({positions})");
    assert_eq!(newest_seq, FIXES, "it ends with the vehicle's latest position");

    // Another client connecting now gets the current state at once.
    let (mut fresh, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), fresh.next()).await.unwrap().unwrap().unwrap();
    let event: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(event["type"], "position");
    assert_eq!(event["position"]["seq"], FIXES);
    server.stop().await;
}

/// Logs `token` out; the feed must end (within the server's 10 s recheck) without the client
/// doing anything.
async fn logout_and_see_the_feed_end<S>(server: &TestServer, token: &str, mut feed: S)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let logout =
        reqwest::Client::new().post(server.url("/api/v1/logout")).bearer_auth(token).send().await.unwrap();
    assert_eq!(logout.status(), 204);
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match feed.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the feed was still open 30 s after its token's logout");
}

#[tokio::test]
async fn an_open_feed_closes_when_its_token_is_revoked() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let url = format!("ws://{}/api/v1/live?token={token}", server.http);
    let (feed, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    logout_and_see_the_feed_end(&server, &token, feed).await;
    server.stop().await;
}

/// The web page opens the feed with a one-use ticket, so its token is never in a URL: the ticket
/// works once, a made-up or used one is refused, and the feed still ends with the token it
/// stands for.
#[tokio::test]
async fn a_ticket_opens_the_feed_once_and_the_feed_ends_with_its_token() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let answer = reqwest::Client::new()
        .post(server.url("/api/v1/live/ticket"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["expires_in_s"], 30);
    let ticket = answer["ticket"].as_str().unwrap().to_string();
    assert!(!ticket.contains(&token) && ticket != token);

    let url = |ticket: &str| format!("ws://{}/api/v1/live?ticket={ticket}", server.http);
    let (feed, _) = tokio_tungstenite::connect_async(url(&ticket)).await.expect("the ticket opens the feed");
    for refused in [ticket.as_str(), "made-up-ticket"] {
        match tokio_tungstenite::connect_async(url(refused)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
            other => panic!("{refused}: expected a 401, got {:?}", other.map(|(_, r)| r.status())),
        }
    }

    logout_and_see_the_feed_end(&server, &token, feed).await;
    server.stop().await;
}
