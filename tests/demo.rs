//! `convoy demo`, run as a user runs it: the real binary, its printed login, its four simulated
//! vehicles (three agents and a car reported by a phone) moving on the API within 20 seconds, the planned move, its first alerts (leaving
//! the depot, then the scripted detour), and a clean stop on Ctrl-C: the vehicles stop before
//! the server, so no agent loses its broker on the way out.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::eventually;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_its_vehicles_and_phone_escort_moving_and_their_alerts_and_stops_on_ctrl_c() {
    let data_dir = tempfile::tempdir().unwrap();
    let http = format!("127.0.0.1:{}", convoy_testkit::free_port());
    let mut demo = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["demo", "--data-dir"])
        .arg(data_dir.path())
        .args(["--http-listen", &http])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    // The log, read as it comes (a full pipe would stop the demo).
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr = BufReader::new(demo.stderr.take().unwrap());
    let log_reader = std::thread::spawn({
        let log = log.clone();
        move || {
            for line in stderr.lines().map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        }
    });

    // The logins are printed one a line, indented: `  USER  PASSWORD`, before "Press Ctrl-C".
    let stdout = BufReader::new(demo.stdout.take().unwrap());
    let banner: Vec<String> =
        stdout.lines().map(Result::unwrap).take_while(|line| !line.starts_with("Press Ctrl-C")).collect();
    let logins: std::collections::HashMap<String, String> = banner
        .iter()
        .filter_map(|line| {
            let (user, password) = line.strip_prefix("  ")?.split_once(' ')?;
            matches!(user, "admin" | "escort" | "auditor")
                .then(|| (user.to_string(), password.trim().to_string()))
        })
        .collect();
    assert_eq!(logins.len(), 3, "one login per role: {logins:?}");
    let (user, password) = ("admin".to_string(), logins["admin"].clone());
    // The banner's mosquitto_sub line, followed as printed: the alerts come to the observer.
    let observed = watch_alerts_as_printed(&banner).await;
    assert!(password.len() >= 20, "a random password, not a default: {password:?}");

    let client = reqwest::Client::new();
    let token = login(&client, &http, &user, &password).await;
    // Its base map: the streets of the extract built into the binary, served by the demo itself.
    let me: Value = client
        .get(format!("http://{http}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base_map = &me["web"]["base_map"];
    assert_eq!(
        (base_map["kind"].as_str(), base_map["attribution"].as_str()),
        (Some("streets"), Some("© OpenStreetMap contributors"))
    );
    let tile: Value = client
        .get(format!("http://{http}/basemap/streets/12/2065/1512"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tile["lines"].as_array().is_some_and(|lines| !lines.is_empty()), "Andorra's streets: {tile}");
    let vehicles = |client: reqwest::Client, token: String, http: String| async move {
        let body: Value = client
            .get(format!("http://{http}/api/v1/vehicles"))
            .bearer_auth(token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let list = body["vehicles"].as_array()?.clone();
        let with_positions: Vec<_> = list.iter().filter(|v| !v["position"].is_null()).cloned().collect();
        (with_positions.len() == 4).then_some(with_positions)
    };
    let first = eventually(Duration::from_secs(20), "four vehicles with positions", || {
        vehicles(client.clone(), token.clone(), http.clone())
    })
    .await;
    let ids: Vec<_> = first.iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, vec!["escort-1", "escort-2", "truck-01", "truck-02"]);
    // escort-2 has no agent: its phone reports it, with the accuracy a phone gives.
    assert_eq!(first[1]["position"]["accuracy_m"], 12.0, "{:?}", first[1]);

    // They move: each one's newest fix is replaced by a later one at another place.
    let later = eventually(Duration::from_secs(10), "newer positions", || {
        let (client, token, http, first) = (client.clone(), token.clone(), http.clone(), first.clone());
        async move {
            let now = vehicles(client, token, http).await?;
            let all_newer = now
                .iter()
                .zip(&first)
                .all(|(n, f)| n["position"]["seq"].as_u64() > f["position"]["seq"].as_u64());
            all_newer.then_some(now)
        }
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(20), "moving positions within 20 s of starting");
    let moved =
        later.iter().zip(&first).filter(|(n, f)| n["position"]["lat"] != f["position"]["lat"]).count();
    assert!(moved >= 2, "at least the trucks on the road changed place: {later:?}");

    // The planned move, and its script's first alerts: truck-01 leaves the depot in Santa
    // Coloma, then turns the wrong way up a side street (off the corridor about 45 s in, so the
    // alert about 30 s later).
    let get = |path: &str| {
        let (client, token, url) = (client.clone(), token.clone(), format!("http://{http}{path}"));
        async move { client.get(url).bearer_auth(token).send().await.ok()?.json::<Value>().await.ok() }
    };
    let moves = get("/api/v1/moves").await.unwrap();
    assert_eq!(moves["moves"].as_array().unwrap().len(), 1, "{moves}");
    assert_eq!(moves["moves"][0]["vehicles"], json!(["truck-01", "escort-1", "truck-02", "escort-2"]));
    assert_eq!(moves["moves"][0]["name"], "Demo: data centre move, Andorra");
    assert_eq!(moves["moves"][0]["time_zone"], "Europe/Andorra", "the move's times are Andorra's");
    let alerts = eventually(Duration::from_secs(120), "the detour's off_route alert", || async {
        let body = get("/api/v1/alerts?vehicle=truck-01").await?;
        let alerts = body["alerts"].as_array()?.clone();
        alerts.iter().any(|a| a["kind"] == "off_route").then_some(alerts)
    })
    .await;
    let departure = alerts.iter().find(|a| a["kind"] == "zone_exit").expect("truck-01 left the depot");
    assert_eq!(departure["zone"], "Depot, Santa Coloma (origin)");
    let off_route = alerts.iter().find(|a| a["kind"] == "off_route").unwrap();
    assert!(off_route["detail"]["distance_m"].as_f64().unwrap() > 150.0, "{off_route}");
    eventually(Duration::from_secs(30), "the off_route alert on MQTT, to the observer", || async {
        observed.lock().unwrap().iter().any(|a| a["id"] == off_route["id"]).then_some(())
    })
    .await;

    // The map is served, and the escort sees the demo move: they are on its team.
    let page = client.get(format!("http://{http}/")).send().await.unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("Convoy"));
    let escort = login(&client, &http, "escort", &logins["escort"]).await;
    let escort_moves: Value = client
        .get(format!("http://{http}/api/v1/moves"))
        .bearer_auth(&escort)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(escort_moves["moves"][0]["id"], moves["moves"][0]["id"], "{escort_moves}");

    // Its sealed items, and the escort's loading checkpoint (10 s in): every seal intact.
    let move_id = moves["moves"][0]["id"].as_str().unwrap();
    let seals = get(&format!("/api/v1/moves/{move_id}/seals")).await.unwrap();
    assert_eq!(seals["seals"].as_array().unwrap().len(), 4, "{seals}");
    let checkpoints = get(&format!("/api/v1/moves/{move_id}/checkpoints")).await.unwrap();
    let loading: Vec<&Value> =
        checkpoints["checkpoints"].as_array().unwrap().iter().filter(|c| c["stage"] == "loading").collect();
    assert_eq!(loading.len(), 2, "one per truck: {checkpoints}");
    assert!(loading.iter().all(|c| c["by"] == "escort" && c["fix"].is_object()), "{checkpoints}");
    assert!(
        loading.iter().flat_map(|c| c["seals"].as_array().unwrap()).all(|s| s["state"] == "intact"),
        "{checkpoints}"
    );

    // The trucks' agents sign their tracks with keys the demo made and registered; the phone
    // escort's fixes are unsigned, and shown so.
    let fleet = get("/api/v1/vehicles").await.unwrap();
    let signed: std::collections::BTreeMap<&str, bool> = fleet["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap(), v["signed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        signed,
        [("escort-1", true), ("escort-2", false), ("truck-01", true), ("truck-02", true)].into(),
        "{fleet}"
    );
    let alerts = get(&format!("/api/v1/alerts?move={move_id}")).await.unwrap();
    let integrity = alerts["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "integrity").count();
    assert_eq!(integrity, 0, "every signed batch verified: {alerts}");

    let logged_before_stop = log.lock().unwrap().len();
    kill(Pid::from_raw(demo.id() as i32), Signal::SIGINT).unwrap();
    let status = tokio::task::spawn_blocking(move || demo.wait()).await.unwrap().unwrap();
    assert!(status.success(), "Ctrl-C stops the demo cleanly: {status}");
    log_reader.join().unwrap();
    let log = log.lock().unwrap();
    let stopping = &log[logged_before_stop..];
    assert!(
        !stopping
            .iter()
            .any(|line| line.contains("broker connection failed") || line.contains("stopped with an error")),
        "the agents stop before the server, without losing their broker:\n{}",
        stopping.join("\n")
    );
    // What a newcomer reads first and last: no error from the start-up probe or the shutdown
    // (rumqttd logs ordinary disconnects as ERRORs), and ingest subscribed once, not per filter.
    let errors: Vec<&String> = log.iter().filter(|line| line.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "no ERROR line in the demo's log:\n{}", log.join("\n"));
    assert_eq!(log.iter().filter(|line| line.contains("ingest subscribed")).count(), 1, "{}", log.join("\n"));

    // The move's evidence bundle, exported from the demo's data and verified offline, as the
    // README shows.
    let bundle = data_dir.path().join("demo.convoy-evidence.jsonl.gz");
    let export = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["evidence", "export", "--move", move_id, "--out"])
        .arg(&bundle)
        .arg("--data-dir")
        .arg(data_dir.path())
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let verify = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["evidence", "verify"])
        .arg(&bundle)
        .output()
        .unwrap();
    let verdict = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && verdict.contains("VERDICT: holds"), "{verdict}");
}

/// Follows the banner's `mosquitto_sub -h HOST -p PORT -u USER -P "$(cat FILE)" -t 'TOPIC'`
/// line with an MQTT client of its own; returns the alerts it receives, as they come.
async fn watch_alerts_as_printed(banner: &[String]) -> Arc<Mutex<Vec<Value>>> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let line = banner
        .iter()
        .find(|line| line.trim_start().starts_with("mosquitto_sub "))
        .expect("the banner says how to watch the alerts with mosquitto_sub");
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |flag: &str| words[words.iter().position(|w| *w == flag).expect(flag) + 1];
    let (host, port, user, topic) = (after("-h"), after("-p"), after("-u"), after("-t"));
    // -P "$(cat FILE)": the password is the file's.
    assert_eq!(after("-P"), "\"$(cat", "{line}");
    let file = words[words.iter().position(|w| *w == "-P").unwrap() + 2];
    let file = file.strip_suffix(")\"").expect("-P \"$(cat FILE)\"");
    let password = std::fs::read_to_string(file).unwrap();
    let mut options = MqttOptions::new("demo-test-observer", host, port.parse().unwrap());
    options.set_credentials(user, password.trim());
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    client.subscribe(topic.trim_matches('\''), QoS::AtLeastOnce).await.unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let (granted_tx, granted_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _keep = client;
        let mut granted_tx = Some(granted_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(suback))) => {
                    if let Some(tx) = granted_tx.take() {
                        let _ = tx.send(suback.return_codes);
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    sink.lock().unwrap().push(serde_json::from_slice(&p.payload).unwrap());
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    let granted = tokio::time::timeout(Duration::from_secs(10), granted_rx).await.unwrap().unwrap();
    assert_eq!(granted, [rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce)], "{line}");
    received
}

/// Logs in to the demo as a person it printed; returns the bearer token.
async fn login(client: &reqwest::Client, http: &str, user: &str, password: &str) -> String {
    let login: Value = client
        .post(format!("http://{http}/api/v1/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["token"].as_str().unwrap().to_string()
}
