//! A base map drawn in GCJ-02 (Chinese tiles): the page draws positions shifted to match it.

use crate::*;
use convoy_gateway::MapCoordinates;

/// With `[web] coordinates = "gcj02"`, a truck in Shanghai is drawn at the GCJ-02 coordinates
/// of its fix (as the server's own transform gives them, some 450 m off), while the fix the
/// page holds, and the store keeps, stays WGS-84.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gcj02_base_map_draws_each_vehicle_shifted_to_match_its_tiles_in_chromium() {
    let shots = screenshots_dir("gcj02");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |config| {
        config.web.coordinates = MapCoordinates::Gcj02;
    })
    .await;
    let (vehicle, password) = register_vehicle(&server, "truck-sh").await;
    // Eastward along a Shanghai street, the last fix at eviltransform's published point.
    let (lat, lon) = (31.1774276, 121.5272106);
    let points = [Point::new(lon - 0.0002, lat), Point::new(lon - 0.0001, lat), Point::new(lon, lat)];
    let sent = fixes(&points, Utc::now().trunc_subsecs(0) - TimeSpan::seconds(3), 1);
    publish_fixes(&server, &vehicle, &password, &sent, 3).await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "vehicle": vehicle.as_str(),
    });
    let mut browser = BrowserScript::start("gcj02.mjs", config, work.path(), &shots);
    let report = tokio::time::timeout(Duration::from_secs(300), async {
        if let Some(what) = browser.next_need().await {
            panic!("gcj02.mjs needs something unknown: {what}");
        }
        browser.report().await
    })
    .await
    .expect("the browser session finishes within 5 minutes");
    let live = &report["steps"]["live"];

    assert_eq!(live["map_coordinates"], "gcj02", "{live}");
    let at = |lat: &str, lon: &str| Point::new(live[lon].as_f64().unwrap(), live[lat].as_f64().unwrap());
    let (fix, drawn) = (at("lat", "lon"), at("map_lat", "map_lon"));
    assert!(distance_m(fix, Point::new(lon, lat)) < 0.01, "the page holds the fix as sent: {live}");
    let (gcj_lat, gcj_lon) = convoy_core::gcj02::wgs84_to_gcj02(lat, lon);
    assert!(
        distance_m(drawn, Point::new(gcj_lon, gcj_lat)) < 0.05,
        "drawn where GCJ-02 tiles show it: {live}"
    );
    assert!(distance_m(drawn, fix) > 300.0, "the shift is there: {live}");
    // What is kept is what was sent.
    let stored = server.store.latest_positions().await.unwrap();
    assert_eq!((stored[0].position.lat, stored[0].position.lon), (lat, lon));
    server.stop().await;
}
