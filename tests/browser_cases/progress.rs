//! Each vehicle's progress along its route, distance left and estimated arrival on the live
//! map, as the live feed brings them.

use crate::*;

/// A straight route east along 48.1° N, about 7.4 km.
const ROUTE: [(f64, f64); 2] = [(11.50, 48.10), (11.60, 48.10)];

/// A vehicle drives half its route, then halts: its list entry and popup give the distance
/// done and left with an arrival said to be an estimate, then say there is none while stopped;
/// the figures are the API's. Once the move is ended they are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_live_map_shows_each_vehicles_progress_and_estimated_arrival_in_chromium() {
    let shots = screenshots_dir("progress");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (vehicle, password) = register_vehicle(&server, "truck-eta").await;
    let plan = json!({
        "name": "progress move",
        "vehicles": [vehicle.as_str()],
        "route": { "type": "LineString", "coordinates": ROUTE.map(|(lon, lat)| [lon, lat]) },
        "corridor_m": 100,
        "window": { "from": Utc::now() - TimeSpan::hours(1), "to": Utc::now() + TimeSpan::hours(1) },
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
    });
    let move_id = create_move(&server, &token, &plan).await;

    // Six minutes from the start to half-way at a steady pace, then 90 s standing there.
    let half_way = Point::new((ROUTE[0].0 + ROUTE[1].0) / 2.0, ROUTE[0].1);
    let mut points: Vec<Point> = (0..=360)
        .map(|s| Point::new(ROUTE[0].0 + (half_way.x() - ROUTE[0].0) * s as f64 / 360.0, ROUTE[0].1))
        .collect();
    let driven = points.len();
    points.extend(std::iter::repeat_n(half_way, 90));
    let all = fixes(&points, Utc::now().trunc_subsecs(0) - TimeSpan::seconds(600), 1);
    let (drive, halt) = all.split_at(driven);
    let as_of = |fixes: &[Position]| convoy_core::position::format_time(&fixes.last().unwrap().t);
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "vehicle": vehicle.as_str(),
        "driven_as_of": as_of(drive),
        "halted_as_of": as_of(halt),
    });

    let progress_path = format!("/api/v1/moves/{move_id}/progress");
    // The API's figures once the fix taken at `at` is evaluated.
    let figures_as_of = |at: String| {
        let (server, token, path) = (&server, &token, &progress_path);
        async move {
            eventually(Duration::from_secs(30), "the figures of the last fix", || async {
                let (_, answer) = server.get_json(path, token).await;
                let progress = answer["vehicles"][0].clone();
                (progress["as_of"] == json!(at)).then_some(progress)
            })
            .await
        }
    };
    let mut browser = BrowserScript::start("progress.mjs", config, work.path(), &shots);
    let mut api = Vec::new();
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(what) = browser.next_need().await {
            match what.as_str() {
                "drive" => {
                    publish_fixes(&server, &vehicle, &password, drive, 20).await;
                    api.push(figures_as_of(as_of(drive)).await);
                }
                "halt" => {
                    publish_fixes(&server, &vehicle, &password, halt, 10).await;
                    api.push(figures_as_of(as_of(halt)).await);
                }
                "end" => {
                    let ended = reqwest::Client::new()
                        .post(server.url(&format!("/api/v1/moves/{move_id}/end")))
                        .bearer_auth(&token)
                        .json(&json!({ "reason": "delivered" }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(ended.status(), 200);
                }
                _ => panic!("progress.mjs needs something unknown: {what}"),
            }
            browser.done(&what).await;
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let steps = &report["steps"];
    let km = |progress: &Value, name: &str| format!("{:.1} km", progress[name].as_f64().unwrap() / 1000.0);

    // Moving: half the route done and left, and the arrival at the API's estimate, in the
    // page's own time zone, to the minute.
    let moving = &api[0];
    assert_eq!(moving["state"], "on_route", "{moving}");
    let length_m =
        convoy_core::route_index::RouteIndex::new(&geo::LineString::from(ROUTE.to_vec())).unwrap().length_m();
    assert!((moving["progress_m"].as_f64().unwrap() - length_m / 2.0).abs() < 3.0, "{moving}");
    let offset = TimeSpan::minutes(steps["moving"]["utc_offset_min"].as_i64().unwrap());
    let arrives = (time(&moving["eta"]) + offset).format("%H:%M");
    let expected = format!(
        "{} done · {} left · arrives ≈ {arrives} (estimate)",
        km(moving, "progress_m"),
        km(moving, "remaining_m")
    );
    assert_eq!(steps["moving"]["entry"], json!(expected), "{}", steps["moving"]);
    assert_eq!(steps["moving"]["popup"], json!(expected), "{}", steps["moving"]);

    // Halted for 90 s: the same place, no arrival, and why.
    let halted = &api[1];
    assert_eq!((&halted["state"], &halted["eta"]), (&json!("stopped"), &Value::Null), "{halted}");
    let expected = format!(
        "{} done · {} left · no arrival estimate: stopped",
        km(halted, "progress_m"),
        km(halted, "remaining_m")
    );
    assert_eq!(steps["halted"]["entry"], json!(expected), "{}", steps["halted"]);
    assert_eq!(steps["halted"]["popup"], json!(expected), "{}", steps["halted"]);

    // Ended: no figures in the entry or the popup.
    assert_eq!(steps["ended"], json!({ "entry": "", "popup": "" }));
    server.stop().await;
}
