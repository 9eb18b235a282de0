//! `convoy demo` in Chromium, run as a newcomer runs it (the real binary): its live map draws
//! real streets from the OpenStreetMap extract built into the binary, under the vehicles on
//! their Andorran roads, and the page fetches nothing from anywhere but the demo itself.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::*;

/// The demo's route file (the roads its vehicles drive; `data/drives/andorra/`).
const DEMO_ROUTE: &str = include_str!("../../data/drives/andorra/demo-route.json");

/// The demo's process, stopped as a person stops it (Ctrl-C) when the test ends, passed or not.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGINT);
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demos_map_draws_streets_from_its_built_in_extract_and_fetches_nothing_elsewhere_in_chromium() {
    let shots = screenshots_dir("demo_map");
    let work = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let http = format!("127.0.0.1:{}", convoy_testkit::free_port());
    let mut demo = Demo(
        Command::new(env!("CARGO_BIN_EXE_convoy"))
            .args(["demo", "--data-dir"])
            .arg(data_dir.path())
            .args(["--http-listen", &http])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The admin's login, printed before "Press Ctrl-C".
    let stdout = BufReader::new(demo.0.stdout.take().unwrap());
    let password = stdout
        .lines()
        .map(Result::unwrap)
        .take_while(|line| !line.starts_with("Press Ctrl-C"))
        .find_map(|line| line.strip_prefix("  admin").map(|rest| rest.trim().to_string()))
        .expect("the demo prints the admin's login");

    // A place on the road the demo's trucks drive, halfway along it.
    let route: Value = serde_json::from_str(DEMO_ROUTE).unwrap();
    let points = route["route"]["points"].as_array().unwrap();
    let middle = &points[points.len() / 2];
    let config = json!({
        "base": format!("http://{http}/"),
        "admin": { "user": "admin", "password": password },
        "road": { "lon": middle[0], "lat": middle[1], "name": "the demo's road" },
        "min_zoom": 11,
        "close_up": false,
    });
    let mut browser = BrowserScript::start("streets.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("streets.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    drop(demo);
    let steps = &report["steps"];

    let tiles = steps["open"]["tiles"].as_array().unwrap();
    assert!(
        tiles.iter().any(|t| t["painted_around"].as_u64() > Some(0)),
        "the road the trucks drive is drawn: {tiles:?}"
    );
    assert_eq!(steps["attribution"]["text"], "© OpenStreetMap contributors");
    let requests = &steps["requests"];
    assert_eq!(requests["foreign"], json!([]), "every request went to the demo itself: {requests}");
    assert!(requests["street_tiles"].as_u64().unwrap() >= 4, "{requests}");
}
