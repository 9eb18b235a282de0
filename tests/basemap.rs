//! The base map served from a file (`[web] base_map`): the streets of an OpenStreetMap extract
//! as JSON vector tiles and the tiles of a raster MBTiles archive, without a token; refused tile
//! requests counted by reason; what `GET /api/v1/me` tells the page; and a file that cannot be
//! read stopping `convoy serve` before it serves anything.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::basemap::{andorra, from_file, png, raster_archive, RASTER_TILE, TARRAGONA_Z16};
use common::*;
use serde_json::Value;

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    reqwest::Client::new().get(server.url(path)).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streets_of_an_extract_are_served_as_vector_tiles_without_a_token() {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.base_map = from_file(&andorra())
    })
    .await;
    let (z, x, y) = TARRAGONA_Z16;
    let response = get(&server, &format!("/basemap/streets/{z}/{x}/{y}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let tile: Value = response.json().await.unwrap();
    assert_eq!(
        (tile["z"].as_u64(), tile["x"].as_u64(), tile["y"].as_u64()),
        (Some(16), Some(33043), Some(24204))
    );
    let lines = tile["lines"].as_array().unwrap();
    let tarragona =
        lines.iter().find(|l| l["name"] == "Avinguda de Tarragona").expect("the avenue is in its tile");
    assert_eq!(tarragona["class"], "primary");
    assert!(tarragona["points"].as_array().unwrap().iter().all(|v| v.is_i64()));

    // Far from Andorra: an empty tile, not an error.
    let munich: Value = get(&server, "/basemap/streets/14/8719/5686").await.json().await.unwrap();
    assert_eq!(munich["lines"].as_array().map(Vec::len), Some(0));

    // What the page is told.
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, me) = server.get_json("/api/v1/me", &token).await;
    assert_eq!(status, 200);
    let base_map = &me["web"]["base_map"];
    assert_eq!(base_map["kind"], "streets");
    assert_eq!(base_map["url"], "/basemap/streets/{z}/{x}/{y}");
    assert_eq!(base_map["attribution"], "© OpenStreetMap contributors");
    let bounds: Vec<f64> =
        base_map["bounds"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(bounds[0] < 1.45 && bounds[2] > 1.75 && bounds[1] < 42.45 && bounds[3] > 42.65, "{bounds:?}");
    // The settings the page read before stay as they were.
    assert_eq!(me["web"]["tile_url"], Value::Null);
    assert_eq!(me["web"]["coordinates"], "wgs84");
    assert!(me["web"].get("base_map_path").is_none() && !me.to_string().contains("andorra.osm.pbf"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tile_requests_are_refused_with_a_reason_and_counted() {
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.base_map = from_file(&andorra())
    })
    .await;
    for path in [
        "/basemap/streets/23/0/0",
        "/basemap/streets/2/4/0",
        "/basemap/streets/a/0/0",
        "/basemap/streets/2/0/-1",
    ] {
        let response = get(&server, path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["reason"], "bad_tile", "{path}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let response = get(&server, "/basemap/tiles/2/2/1").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["reason"], "no_base_map");
    let metrics = server.metrics().await;
    let count = |reason: &str| {
        metric(&metrics, &format!("convoy_gateway_basemap_refused_total{{reason=\"{reason}\"}}"))
    };
    assert_eq!(count("bad_tile"), Some(4.0));
    assert_eq!(count("no_base_map"), Some(1.0));
    assert_eq!(count("not_in_archive"), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raster_archive_is_served_tile_by_tile_with_its_rows_flipped() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("region.mbtiles");
    raster_archive(&archive, "png");
    let server = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.base_map = from_file(&archive)
    })
    .await;
    let (z, x, y) = RASTER_TILE;
    let response = get(&server, &format!("/basemap/tiles/{z}/{x}/{y}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png());
    // The same row counted from the south is another tile, which the archive lacks.
    let flipped = (1u32 << z) - 1 - y;
    let missing = get(&server, &format!("/basemap/tiles/{z}/{x}/{flipped}")).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["reason"], "not_in_archive");
    let streets = get(&server, "/basemap/streets/2/2/1").await;
    assert_eq!(
        (streets.status().as_u16(), streets.json::<Value>().await.unwrap()["reason"].clone()),
        (404, "no_base_map".into())
    );
    let metrics = server.metrics().await;
    assert_eq!(
        metric(&metrics, "convoy_gateway_basemap_refused_total{reason=\"not_in_archive\"}"),
        Some(1.0)
    );

    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (_, me) = server.get_json("/api/v1/me", &token).await;
    let base_map = &me["web"]["base_map"];
    assert_eq!(base_map["kind"], "tiles");
    assert_eq!(base_map["url"], "/basemap/tiles/{z}/{x}/{y}");
    assert_eq!(base_map["attribution"], "© Test Maps Ltd", "from the archive's metadata");
    assert_eq!((base_map["min_zoom"].as_u64(), base_map["max_zoom"].as_u64()), (Some(0), Some(4)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_base_map_the_page_is_told_none_or_the_tile_server() {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (_, me) = server.get_json("/api/v1/me", &token).await;
    assert_eq!(me["web"]["base_map"]["kind"], "none");
    assert_eq!(me["web"]["base_map"]["url"], Value::Null);
    let tiles = TestServer::start_configured(Backend::Sqlite, BrokerKind::Embedded, |c| {
        c.web.tile_url = Some("/tiles/{z}/{x}/{y}.png".into());
        c.web.tile_attribution = Some("© Someone".into());
    })
    .await;
    let token = tiles.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let (_, me) = tiles.get_json("/api/v1/me", &token).await;
    assert_eq!(me["web"]["tile_url"], "/tiles/{z}/{x}/{y}.png");
    assert_eq!(me["web"]["base_map"]["kind"], "tiles");
    assert_eq!(me["web"]["base_map"]["url"], "/tiles/{z}/{x}/{y}.png");
    assert_eq!(me["web"]["base_map"]["attribution"], "© Someone");
}

/// `convoy serve` with `[web]` set to `web`: its exit code and standard error, waiting at most
/// a minute; and whether anything ever answered on its HTTP port.
fn serve_with(dir: &Path, web: &str) -> (Option<i32>, String, bool) {
    let config = dir.join("convoy.toml");
    std::fs::write(&config, format!("[web]\n{web}\n")).unwrap();
    let http_port = convoy_testkit::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--mqtt-listen", &format!("127.0.0.1:{}", convoy_testkit::free_port())])
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut answered = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        answered |= std::net::TcpStream::connect(("127.0.0.1", http_port)).is_ok();
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr, answered)
}

#[test]
fn a_base_map_that_cannot_be_read_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("maps");
    std::fs::create_dir(&files).unwrap();
    let extract = std::fs::read(andorra()).unwrap();
    std::fs::write(files.join("truncated.osm.pbf"), &extract[..extract.len() / 2]).unwrap();
    std::fs::write(files.join("notes.osm.pbf"), "not a map at all\n").unwrap();
    std::fs::write(files.join("region.osm"), "<html><body>a web page</body></html>").unwrap();
    std::fs::write(files.join("photo.jpg"), png()).unwrap();
    raster_archive(&files.join("vector.mbtiles"), "pbf");
    let cases = [
        ("missing.osm.pbf", "cannot open it"),
        ("truncated.osm.pbf", "not a readable OpenStreetMap PBF file"),
        ("notes.osm.pbf", "not a readable OpenStreetMap PBF file"),
        ("region.osm", "not an OpenStreetMap XML file"),
        ("photo.jpg", "not a map archive"),
        ("vector.mbtiles", "use an .osm.pbf extract"),
    ];
    for (name, says) in cases {
        let path = files.join(name);
        let (status, stderr, answered) =
            serve_with(dir.path(), &format!("base_map = {:?}", path.display().to_string()));
        assert!(status.is_some_and(|code| code != 0), "{name}: exit {status:?}\n{stderr}");
        assert!(stderr.contains(name) && stderr.contains(says), "{name}: {stderr}");
        assert!(!answered, "{name}: something answered on the HTTP port");
        assert!(!dir.path().join("data").exists(), "{name}: the data directory was made");
    }
    let both = format!(
        "tile_url = \"https://tiles.example.org/{{z}}/{{x}}/{{y}}.png\"\nbase_map = {:?}",
        andorra().display().to_string()
    );
    let (status, stderr, answered) = serve_with(dir.path(), &both);
    assert!(status.is_some_and(|code| code != 0), "both: exit {status:?}\n{stderr}");
    assert!(stderr.contains("tile_url and base_map are exclusive"), "{stderr}");
    assert!(!answered);
}
