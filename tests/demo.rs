//! `convoy demo`, run as a user runs it: the real binary, its printed login, three simulated
//! vehicles moving on the API within 20 seconds, and a clean stop on Ctrl-C.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::eventually;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_three_moving_vehicles_and_stops_on_ctrl_c() {
    let data_dir = tempfile::tempdir().unwrap();
    let http = format!("127.0.0.1:{}", convoy_testkit::free_port());
    let mut demo = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["demo", "--data-dir"])
        .arg(data_dir.path())
        .args(["--http-listen", &http])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();

    // The login is printed on a line of its own: `login: USER PASSWORD`.
    let stdout = BufReader::new(demo.stdout.take().unwrap());
    let (user, password) = stdout
        .lines()
        .map(Result::unwrap)
        .find_map(|line| {
            let rest = line.strip_prefix("login: ")?;
            let (user, password) = rest.split_once(' ')?;
            Some((user.to_string(), password.to_string()))
        })
        .expect("the demo prints its login");
    assert!(password.len() >= 20, "a random password, not a default: {password:?}");

    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("http://{http}/api/v1/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
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
        (with_positions.len() == 3).then_some(with_positions)
    };
    let first = eventually(Duration::from_secs(20), "three vehicles with positions", || {
        vehicles(client.clone(), token.clone(), http.clone())
    })
    .await;
    let ids: Vec<_> = first.iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, vec!["escort-1", "truck-01", "truck-02"]);

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

    kill(Pid::from_raw(demo.id() as i32), Signal::SIGINT).unwrap();
    let status = tokio::task::spawn_blocking(move || demo.wait()).await.unwrap().unwrap();
    assert!(status.success(), "Ctrl-C stops the demo cleanly: {status}");
}
