//! Failed logins against a real server: a guesser holds only its own (name, address) pair, so
//! the right password from elsewhere still logs in; a held pair is told when to retry; parallel
//! guesses never pass the limit; an admin, or the person themselves, lifts a hold; and a flood of
//! refused logins adds a bounded number of audit entries, the chain intact. Client addresses vary
//! by binding the client's socket to 127.0.0.x, or, behind a trusted proxy, by X-Forwarded-For.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Command;
use std::time::Instant;

use common::{
    metric, Backend, BrokerKind, TestServer, ADMIN_PASSWORD, ADMIN_USER, ESCORT_PASSWORD, ESCORT_USER,
};
use convoy_gateway::login_audit::{INTERVAL, MAX_PAIRS_PER_INTERVAL};
use convoy_gateway::throttle::{MAX_ADDRESS_FAILURES, MAX_FAILURES};
use convoy_store::{AuditEntry, AuditFilter};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// A client whose connections come from `from` (any 127.0.0.0/8 address reaches the server).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(from.parse::<IpAddr>().unwrap()).build().unwrap()
}

async fn try_login(
    client: &reqwest::Client,
    server: &TestServer,
    user: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(server.url("/api/v1/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn status_of_login(client: &reqwest::Client, server: &TestServer, user: &str, password: &str) -> u16 {
    try_login(client, server, user, password).await.status().as_u16()
}

async fn hold(server: &TestServer, client: &reqwest::Client, user: &str) {
    for attempt in 0..MAX_FAILURES {
        assert_eq!(
            status_of_login(client, server, user, "not the password at all").await,
            401,
            "attempt {attempt}"
        );
    }
    assert_eq!(status_of_login(client, server, user, ESCORT_PASSWORD).await, 429, "held");
}

async fn entries(store: &convoy_store::Store, action: &str) -> Vec<AuditEntry> {
    let filter = AuditFilter { action: Some(action.into()), limit: 10_000, ..Default::default() };
    store.audit_entries(&filter).await.unwrap()
}

async fn all_entries(store: &convoy_store::Store) -> Vec<AuditEntry> {
    store.audit_entries(&AuditFilter { limit: 10_000, ..Default::default() }).await.unwrap()
}

/// The entries of refused logins (not the retention purge at start, nor successful logins).
fn refusals(entries: Vec<AuditEntry>) -> Vec<AuditEntry> {
    entries.into_iter().filter(|e| ["login.failed", "login.throttled"].contains(&e.action.as_str())).collect()
}

fn count_of(entry: &AuditEntry) -> u64 {
    entry.detail_json()["count"].as_u64().unwrap_or_else(|| panic!("no count in {entry:?}"))
}

/// `convoy audit verify` (the real binary) on the server's database: its exit code and output.
fn verify(database: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["audit", "verify", "--database", database])
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap(), text)
}

#[tokio::test]
async fn the_right_password_from_another_address_logs_in_after_ten_wrong_ones() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let guesser = client_from("127.0.0.1");
    hold(&server, &guesser, ESCORT_USER).await;
    let owner = client_from("127.0.0.2");
    assert_eq!(status_of_login(&owner, &server, ESCORT_USER, ESCORT_PASSWORD).await, 200, "not locked out");
    assert_eq!(
        status_of_login(&guesser, &server, ADMIN_USER, ADMIN_PASSWORD).await,
        200,
        "another name is not held"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_held_pair_is_told_when_to_retry_counted_and_recorded_once_per_interval() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let client = client_from("127.0.0.1");
    hold(&server, &client, ESCORT_USER).await;
    let response = try_login(&client, &server, ESCORT_USER, ESCORT_PASSWORD).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let first_hold = convoy_gateway::throttle::FIRST_HOLD.as_secs();
    assert!((1..=first_hold).contains(&retry_after), "Retry-After: {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("too many failed logins"), "{body}");

    let metrics = server.metrics().await;
    assert_eq!(metric(&metrics, r#"convoy_gateway_logins_total{outcome="throttled"}"#), Some(2.0));
    assert_eq!(metric(&metrics, r#"convoy_gateway_logins_total{outcome="refused"}"#), Some(10.0));
    // The first refusal of each kind is written at once, its repeats counted until the
    // interval ends or the server stops.
    let store = server.store.clone();
    let throttled = entries(&store, "login.throttled").await;
    assert_eq!(throttled.len(), 1, "{throttled:?}");
    assert_eq!(
        (throttled[0].target.as_str(), throttled[0].from_addr.as_deref()),
        (ESCORT_USER, Some("127.0.0.1"))
    );
    assert_eq!(entries(&store, "login.failed").await.len(), 1);
    server.stop().await;
    let counts = |entries: Vec<AuditEntry>| entries.iter().map(count_of).collect::<Vec<_>>();
    assert_eq!(counts(entries(&store, "login.throttled").await), [1, 1]);
    assert_eq!(counts(entries(&store, "login.failed").await), [1, MAX_FAILURES as u64 - 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_never_pass_the_limit() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let client = client_from("127.0.0.1");
    let guesses: Vec<_> = (0..60)
        .map(|_| {
            let (client, url) = (client.clone(), server.url("/api/v1/login"));
            tokio::spawn(async move {
                let body = json!({ "username": ESCORT_USER, "password": "not the password at all" });
                client.post(url).json(&body).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    let mut statuses: HashMap<u16, u32> = HashMap::new();
    for guess in guesses {
        *statuses.entry(guess.await.unwrap()).or_default() += 1;
    }
    assert_eq!(statuses.get(&401), Some(&MAX_FAILURES), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&(60 - MAX_FAILURES)), "{statuses:?}");
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn an_admin_and_the_person_themselves_lift_a_hold() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let laptop = client_from("127.0.0.1");
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    hold(&server, &laptop, ESCORT_USER).await;
    let lift = |client: &reqwest::Client, path: &str, token: &str| {
        client.delete(server.url(path)).bearer_auth(token).send()
    };
    let response = lift(&laptop, &format!("/api/v1/users/{ESCORT_USER}/login-holds"), &admin).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "lifted": 1 }));
    assert_eq!(
        status_of_login(&laptop, &server, ESCORT_USER, ESCORT_PASSWORD).await,
        200,
        "lifted by an admin"
    );

    hold(&server, &laptop, ESCORT_USER).await;
    // Logged in on a phone elsewhere, the escort lifts the hold on their own name.
    let phone = client_from("127.0.0.2");
    let response = try_login(&phone, &server, ESCORT_USER, ESCORT_PASSWORD).await;
    let token = response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    assert_eq!(lift(&phone, "/api/v1/me/login-holds", &token).await.unwrap().status(), 200);
    assert_eq!(
        status_of_login(&laptop, &server, ESCORT_USER, ESCORT_PASSWORD).await,
        200,
        "lifted by themselves"
    );

    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let refused = lift(&laptop, &format!("/api/v1/users/{ADMIN_USER}/login-holds"), &escort).await.unwrap();
    assert_eq!(refused.status(), 403, "an escort lifts no one else's holds");
    let lifts = entries(&server.store, "login_holds.lift").await;
    let who: Vec<_> = lifts.iter().map(|e| (e.actor.as_deref(), e.target.as_str())).collect();
    assert_eq!(who, [(Some(ADMIN_USER), ESCORT_USER), (Some(ESCORT_USER), ESCORT_USER)]);
    server.stop().await;
}

/// Refused logins sent `concurrency` at a time; how many got each status.
async fn flood(
    requests: Vec<(reqwest::Client, reqwest::RequestBuilder)>,
    concurrency: usize,
) -> HashMap<u16, u64> {
    let statuses: Vec<u16> = futures_util::stream::iter(requests)
        .map(|(_client, request)| async move { request.send().await.unwrap().status().as_u16() })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut counts = HashMap::new();
    for status in statuses {
        *counts.entry(status).or_default() += 1;
    }
    counts
}

/// Intervals of the audit book begun within `elapsed` (each may write its own entries).
fn intervals_within(started: Instant) -> u64 {
    started.elapsed().as_secs() / INTERVAL.as_secs() + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_thousand_failed_logins_add_a_bounded_number_of_audit_entries() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let store = server.store.clone();
    let database = server.config.database.clone();
    let before = all_entries(&store).await.len();
    // A known name, another, and one nobody has, each guessed from its own address.
    let addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    let names = [ADMIN_USER, ESCORT_USER, "nobody-known"];
    let clients: Vec<_> = addresses.iter().map(|a| client_from(a)).collect();
    let requests = (0..3000)
        .map(|i| {
            let client = clients[i % addresses.len()].clone();
            let body = json!({ "username": names[i % names.len()], "password": "not the password at all" });
            let request = client.post(server.url("/api/v1/login")).json(&body);
            (client, request)
        })
        .collect();
    let started = Instant::now();
    let statuses = flood(requests, 8).await;
    assert_eq!(statuses.get(&401), Some(&(3 * MAX_FAILURES as u64)), "{statuses:?}");
    assert_eq!(statuses.values().sum::<u64>(), 3000, "{statuses:?}");
    let intervals = intervals_within(started);
    server.stop().await;

    let added = refusals(all_entries(&store).await.split_off(before));
    // Per interval, each (name, address) pair writes at most its first refusal and then one
    // entry with the count of its repeats, for each kind (failed, throttled).
    let bound = intervals * (2 * 2 * addresses.len() as u64);
    assert!(
        added.len() as u64 <= bound,
        "{} entries added, at most {bound} expected: {added:#?}",
        added.len()
    );
    let refused: u64 = added.iter().map(count_of).sum();
    assert_eq!(refused, 3000, "every refusal is counted, the last ones written at shutdown");
    let (code, output) = verify(&database);
    assert_eq!(code, 0, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_a_trusted_proxy_a_spray_of_names_is_held_by_address_and_summarised() {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.http.trusted_proxies =
            convoy_gateway::forwarded::TrustedProxies::parse(&["127.0.0.1"]).unwrap();
    })
    .await;
    let store = server.store.clone();
    let database = server.config.database.clone();
    // A peer that is not a trusted proxy is judged by its own address, whatever it writes.
    let untrusted = client_from("127.0.0.2");
    let spoofed = untrusted
        .post(server.url("/api/v1/login"))
        .header("x-forwarded-for", "198.51.100.1")
        .json(&json!({ "username": "spoofer", "password": "not the password at all" }));
    assert_eq!(spoofed.send().await.unwrap().status(), 401);
    let spoofer = entries(&store, "login.failed").await;
    assert_eq!(spoofer.last().unwrap().from_addr.as_deref(), Some("127.0.0.2"));

    let before = all_entries(&store).await.len();
    let proxy = client_from("127.0.0.1");
    let requests = (0..3000)
        .map(|i| {
            let body = json!({ "username": format!("sprayed-{i}"), "password": "not the password at all" });
            // The proxy appends the address it saw to whatever the client sent.
            let forwarded = format!("10.1.1.{}, 203.0.113.5", i % 250);
            let request =
                proxy.post(server.url("/api/v1/login")).header("x-forwarded-for", forwarded).json(&body);
            (proxy.clone(), request)
        })
        .collect();
    let started = Instant::now();
    let statuses = flood(requests, 8).await;
    assert_eq!(statuses.get(&401), Some(&(MAX_ADDRESS_FAILURES as u64)), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&(3000 - MAX_ADDRESS_FAILURES as u64)), "{statuses:?}");
    // Someone else behind the same proxy is not held.
    let owner = reqwest::Client::new()
        .post(server.url("/api/v1/login"))
        .header("x-forwarded-for", "192.0.2.44")
        .json(&json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }));
    assert_eq!(owner.send().await.unwrap().status(), 200);
    let intervals = intervals_within(started);
    // The clients' idle connections closed first: the stop then has nothing to drain.
    drop((proxy, untrusted));
    server.stop().await;

    let added = refusals(all_entries(&store).await.split_off(before));
    // Each pair is new: per interval at most MAX_PAIRS_PER_INTERVAL firsts (and as many counts
    // of repeats), and one summary per kind for all the others.
    let bound = intervals * (2 * MAX_PAIRS_PER_INTERVAL as u64 + 2);
    assert!(added.len() as u64 <= bound, "{} entries added, at most {bound} expected", added.len());
    assert!(added.iter().any(|e| e.target == "*"), "the pairs beyond the budget are summarised");
    assert!(
        added.iter().filter(|e| e.target != "*").all(|e| e.from_addr.as_deref() == Some("203.0.113.5")),
        "the client's address, from the proxy's header"
    );
    assert_eq!(added.iter().map(count_of).sum::<u64>(), 3000);
    let (code, output) = verify(&database);
    assert_eq!(code, 0, "{output}");
}

#[tokio::test]
async fn a_password_as_long_as_login_takes_can_be_set_and_no_longer() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let longest = "p".repeat(convoy_registry::people::MAX_PASSWORD_BYTES);
    let add = |name: &str, password: &str| {
        reqwest::Client::new()
            .post(server.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({ "name": name, "role": "escort", "password": password }))
            .send()
    };
    assert_eq!(add("long-pass", &longest).await.unwrap().status(), 201);
    let client = reqwest::Client::new();
    assert_eq!(status_of_login(&client, &server, "long-pass", &longest).await, 200);
    let too_long = format!("{longest}p");
    let refused = add("longer-pass", &too_long).await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("at most"), "{body}");
    server.stop().await;
}
