//! Vehicle labels stay inside the map: dragged to the map's right edge, a vehicle's label
//! moves to its left; at the bottom edge, up.

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vehicles_label_stays_inside_the_map_at_its_edges_in_chromium() {
    let shots = screenshots_dir("labels");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let (vehicle, password) = register_vehicle(&server, "truck-edge").await;
    let points = [Point::new(11.5750, 48.1370), Point::new(11.5752, 48.1370), Point::new(11.5754, 48.1370)];
    let sent = fixes(&points, Utc::now().trunc_subsecs(0) - TimeSpan::seconds(3), 1);
    publish_fixes(&server, &vehicle, &password, &sent, 3).await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "vehicle": vehicle.as_str(),
    });
    let mut browser = BrowserScript::start("labels.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("labels.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let live = &report["steps"]["live"];
    let number = |v: &Value| v.as_f64().unwrap();
    let inside = |step: &Value| {
        let (map, label) = (&step["map"], &step["label"]);
        number(&label["x"]) >= number(&map["x"]) - 0.5
            && number(&label["x"]) + number(&label["width"])
                <= number(&map["x"]) + number(&map["width"]) + 0.5
            && number(&label["y"]) >= number(&map["y"]) - 0.5
            && number(&label["y"]) + number(&label["height"])
                <= number(&map["y"]) + number(&map["height"]) + 0.5
    };
    let (middle, right, bottom) = (&live["middle"], &live["right"], &live["bottom"]);
    assert!(inside(middle) && middle["label_left"] == false, "in the middle, right of the marker: {middle}");
    // The drag really put the marker by the edge, where a label on its right would be cut.
    let right_edge = number(&right["map"]["x"]) + number(&right["map"]["width"]);
    assert!(right_edge - number(&right["marker_x"]) < 40.0, "{right}");
    assert!(inside(right) && right["label_left"] == true, "by the right edge, left of the marker: {right}");
    let bottom_edge = number(&bottom["map"]["y"]) + number(&bottom["map"]["height"]);
    assert!(bottom_edge - number(&bottom["marker_y"]) < 20.0, "{bottom}");
    assert!(inside(bottom), "by the bottom edge, moved up: {bottom}");
    server.stop().await;
}
