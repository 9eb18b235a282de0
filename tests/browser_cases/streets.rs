//! The streets base map: drawn by the page from the server's own OpenStreetMap extract.

use crate::*;

/// A place on a road of the extract, exactly: the middle of the longest segment of
/// `name`'s line in the zoom-16 tile `(x, y)`, as the server cut it.
async fn place_on_road(
    server: &TestServer,
    name: &str,
    (z, x, y): (u8, u32, u32),
) -> (f64, f64, Vec<[f64; 2]>) {
    let tile: Value = reqwest::get(server.url(&format!("/basemap/streets/{z}/{x}/{y}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let line = tile["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .expect("the road is in its tile");
    let points: Vec<f64> = line["points"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let n = f64::from(1u32 << z) * 256.0;
    let lon_lat = |px: f64, py: f64| {
        let (mx, my) = ((f64::from(x) * 256.0 + px) / n, (f64::from(y) * 256.0 + py) / n);
        [mx * 360.0 - 180.0, (std::f64::consts::PI * (1.0 - 2.0 * my)).sinh().atan().to_degrees()]
    };
    let longest = (0..points.len() / 2 - 1)
        .max_by(|&a, &b| {
            let length =
                |i: usize| (points[2 * i + 2] - points[2 * i]).hypot(points[2 * i + 3] - points[2 * i + 1]);
            length(a).total_cmp(&length(b))
        })
        .unwrap();
    let i = 2 * longest;
    let [lon, lat] = lon_lat((points[i] + points[i + 2]) / 2.0, (points[i + 1] + points[i + 3]) / 2.0);
    let route = points.chunks(2).map(|p| lon_lat(p[0], p[1])).collect();
    (lat, lon, route)
}

/// A server whose base map is the Andorra extract and a move planned along Avinguda de
/// Tarragona: the live map draws the streets on canvas tiles (the pixels where the avenue runs
/// are painted, in a street's colours), shows "© OpenStreetMap contributors", and the page
/// fetches nothing from anywhere but the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_live_map_draws_the_streets_of_the_servers_extract_and_fetches_nothing_elsewhere_in_chromium() {
    let shots = screenshots_dir("streets");
    let work = tempfile::tempdir().unwrap();
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.base_map = common::basemap::from_file(&common::basemap::andorra())
    })
    .await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    for vehicle in ["truck-ad", "escort-ad"] {
        register_vehicle(&server, vehicle).await;
    }
    let road = "Avinguda de Tarragona";
    let (lat, lon, route) = place_on_road(&server, road, common::basemap::TARRAGONA_Z16).await;
    let plan = json!({
        "name": "Andorra la Vella",
        "vehicles": ["truck-ad", "escort-ad"],
        "route": { "type": "LineString", "coordinates": route },
        "corridor_m": 100,
    });
    create_move(&server, &token, &plan).await;
    let config = json!({
        "base": server.url("/"),
        "admin": { "user": ADMIN_USER, "password": ADMIN_PASSWORD },
        "road": { "lat": lat, "lon": lon, "name": road },
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
    let steps = &report["steps"];

    // Where the avenue runs, the tile is painted in the primary road's colours (its fill
    // #fcd6a4 or casing #a06b00), and the tile is neither empty nor painted all over.
    for step in ["open", "close_up"] {
        let tiles = steps[step]["tiles"].as_array().unwrap();
        let drawn: Vec<&Value> = tiles.iter().filter(|t| t["painted_around"].as_u64() > Some(0)).collect();
        assert!(!drawn.is_empty(), "{step}: the road's pixels are painted: {tiles:?}");
        for tile in drawn {
            let colours = tile["colours"].as_array().unwrap();
            assert!(colours.iter().any(|c| c == "#fcd6a4" || c == "#a06b00"), "{step}: {tile}");
            let share = tile["painted_share"].as_f64().unwrap();
            assert!(share > 0.0 && share < 0.9, "{step}: {tile}");
        }
    }
    assert_eq!(steps["open"]["background"], "rgb(242, 239, 233)", "the land colour under the streets");
    assert_eq!(steps["attribution"]["text"], "© OpenStreetMap contributors");
    let requests = &steps["requests"];
    assert_eq!(requests["foreign"], json!([]), "every request went to the server itself: {requests}");
    assert!(requests["street_tiles"].as_u64().unwrap() >= 4, "{requests}");
    server.stop().await;
}
