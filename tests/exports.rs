//! A move's history through the real server: exports (GPX, GeoJSON, KML, CSV), the replay and
//! the move report, on SQLite and PostgreSQL.
//!
//! Two vehicles drive barefoot's Munich drive, their fixes published over MQTT as the vehicles:
//! `truck-1` halts 6 minutes on the way (the rules raise `unplanned_stop`, which a person
//! acknowledges with a note while the truck still stands), `van-2` goes silent for 3 minutes.
//! The fixes are published in seconds with their real one-second spacing in fix time, ending
//! just before now (see `alert_scenarios.rs`). Every export must hold exactly the stored fixes;
//! the replay must show the halt as one stop and the silence as one gap; the report must tell
//! who acknowledged the alert and why.

mod common;

use std::time::Duration;

use chrono::{DateTime, Duration as TimeSpan, SecondsFormat, SubsecRound, Utc};
use common::*;
use convoy::demo::simulator::Route;
use convoy_core::geometry::distance_m;
use convoy_core::{FixMode, Position, Role, VehicleId};
use geo::Point;
use serde_json::{json, Value};

/// Markup and quotes, which every format must carry safely.
const MOVE_NAME: &str = r#"Office move <A&B> "north" 'wing'"#;
const AUDITOR_USER: &str = "auditor-cy";
const AUDITOR_PASSWORD: &str = "a long enough auditor password";
const NOTE: &str = "driver on a break <ok> & checked";
/// The truck halts at this second of the drive, for 6 minutes.
const HALT_AT: usize = 300;
const HALT_S: usize = 360;
/// The van is silent from this second of the drive, for 3 minutes.
const SILENT_FROM: usize = 600;
const SILENT_S: usize = 180;

fn munich() -> Vec<Point> {
    Route::munich().unwrap().points().to_vec()
}

/// Stops at `at` for `seconds`, with a parked receiver's few metres of drift.
fn with_halt(points: &[Point], at: usize, seconds: usize) -> Vec<Point> {
    let mut out = points[..at].to_vec();
    for s in 0..seconds {
        let wobble = ((s * 7919) % 11) as f64 - 5.0;
        let p = points[at];
        let east = wobble * 0.6 / (111_320.0 * p.y().to_radians().cos());
        out.push(Point::new(p.x() + east, p.y() - wobble * 0.4 / 111_190.0));
    }
    out.extend_from_slice(&points[at..]);
    out
}

/// Fixes one second apart from `t0`, with the speed the points imply.
fn fixes(points: &[Point], t0: DateTime<Utc>) -> Vec<Position> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| Position {
            seq: i as u64 + 1,
            t: t0 + TimeSpan::seconds(i as i64),
            lat: p.y(),
            lon: p.x(),
            alt_m: Some(519.0 + (i % 7) as f64),
            speed_mps: Some(if i == 0 { 0.0 } else { distance_m(points[i - 1], *p) }),
            course_deg: Some(87.5),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            accuracy_m: None,
        })
        .collect()
}

async fn post_json(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A download: status, content type, content disposition and text.
struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    text: String,
}

async fn download(server: &TestServer, token: &str, path: &str) -> Download {
    let response = reqwest::Client::new().get(server.url(path)).bearer_auth(token).send().await.unwrap();
    let header = |name: &str| {
        response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    Download { status, content_type, disposition, text: response.text().await.unwrap() }
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn query_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An XML element as read back with quick-xml: local name, attributes, children, text.
#[derive(Debug)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
    }

    fn attr(&self, name: &str) -> &str {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap()
    }
}

/// Reads a whole XML document, refusing anything not well-formed.
fn parse_xml(text: &str) -> Node {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;
    let mut stack = vec![Node { name: String::new(), attrs: vec![], children: vec![], text: String::new() }];
    loop {
        match reader.read_event().unwrap() {
            Event::Start(start) => {
                let attrs = start
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        let value =
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned();
                        (String::from_utf8(a.key.local_name().as_ref().to_vec()).unwrap(), value)
                    })
                    .collect();
                let name = String::from_utf8(start.local_name().as_ref().to_vec()).unwrap();
                stack.push(Node { name, attrs, children: vec![], text: String::new() });
            }
            Event::End(_) => {
                let node = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(node);
            }
            Event::Text(text) => stack.last_mut().unwrap().text.push_str(&text.decode().unwrap()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => match reference.decode().unwrap().as_ref() {
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "amp" => "&".to_string(),
                        "apos" => "'".to_string(),
                        "quot" => "\"".to_string(),
                        other => panic!("unknown entity {other}"),
                    },
                };
                stack.last_mut().unwrap().text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().unwrap();
    assert!(stack.is_empty() && document.children.len() == 1, "one closed root element");
    document.children.pop().unwrap()
}

/// `(t, lat, lon)` of a fix.
type Fix = (DateTime<Utc>, f64, f64);

/// Whether an export's fixes are exactly the stored ones: count, order, times, and coordinates
/// to 1e-7 degrees.
fn assert_same_fixes(what: &str, read: &[Fix], stored: &[Position]) {
    assert_eq!(read.len(), stored.len(), "{what}: number of fixes");
    for (n, ((t, lat, lon), p)) in read.iter().zip(stored).enumerate() {
        assert_eq!(*t, p.t, "{what}: time of fix {n}");
        assert!((lat - p.lat).abs() < 1e-7 && (lon - p.lon).abs() < 1e-7, "{what}: place of fix {n}");
    }
}

/// A GPX file's fixes per `<trk>` name, each as its segments.
fn gpx_tracks(root: &Node) -> Vec<(String, Vec<Vec<Fix>>)> {
    root.all("trk")
        .map(|trk| {
            let segments = trk
                .all("trkseg")
                .map(|seg| {
                    seg.all("trkpt")
                        .map(|pt| {
                            (
                                time(&pt.child("time").text),
                                pt.attr("lat").parse().unwrap(),
                                pt.attr("lon").parse().unwrap(),
                            )
                        })
                        .collect()
                })
                .collect();
            (trk.child("name").text.clone(), segments)
        })
        .collect()
}

/// A KML file's fixes per `<Folder>` (vehicle), each as its placemarks (stretches).
fn kml_tracks(root: &Node) -> Vec<(String, Vec<Vec<Fix>>)> {
    root.child("Document")
        .all("Folder")
        .map(|folder| {
            let segments = folder
                .all("Placemark")
                .map(|placemark| {
                    placemark
                        .child("MultiTrack")
                        .all("Track")
                        .flat_map(|track| {
                            let whens: Vec<DateTime<Utc>> =
                                track.all("when").map(|w| time(&w.text)).collect();
                            let coords: Vec<Vec<f64>> = track
                                .all("coord")
                                .map(|c| c.text.split(' ').map(|n| n.parse().unwrap()).collect())
                                .collect();
                            assert_eq!(whens.len(), coords.len());
                            whens.into_iter().zip(coords).map(|(t, c)| (t, c[1], c[0])).collect::<Vec<_>>()
                        })
                        .collect()
                })
                .collect();
            (folder.child("name").text.clone(), segments)
        })
        .collect()
}

/// A GeoJSON file's fixes per vehicle, in file order.
fn geojson_fixes(value: &Value, vehicle: &str) -> Vec<Fix> {
    value["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["vehicle"] == vehicle)
        .map(|f| {
            assert_eq!(f["geometry"]["type"], "Point");
            let c = &f["geometry"]["coordinates"];
            (time(f["properties"]["t"].as_str().unwrap()), c[1].as_f64().unwrap(), c[0].as_f64().unwrap())
        })
        .collect()
}

/// A CSV file's header and its fixes per vehicle. The data has nothing to quote, so RFC 4180
/// comes down to CRLF line ends and commas.
fn csv_fixes(text: &str, vehicle: &str) -> (Vec<String>, Vec<Fix>) {
    assert!(!text.contains('"'), "nothing here needs quoting");
    let lines: Vec<&str> = text.strip_suffix("\r\n").unwrap().split("\r\n").collect();
    assert!(!text.replace("\r\n", "").contains('\n'), "every line ends in CRLF");
    let header: Vec<String> = lines[0].split(',').map(str::to_string).collect();
    let fixes = lines[1..]
        .iter()
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| fields[0] == vehicle)
        .map(|fields| (time(fields[2]), fields[3].parse().unwrap(), fields[4].parse().unwrap()))
        .collect();
    (header, fixes)
}

/// What the scenario left behind.
struct Scenario {
    server: TestServer,
    admin: String,
    move_id: String,
    alert_id: String,
    truck: VehicleId,
    van: VehicleId,
    t0: DateTime<Utc>,
    /// Where the truck halted.
    halt_place: Point,
}

impl Scenario {
    async fn stored(&self, vehicle: &VehicleId) -> Vec<Position> {
        self.server
            .store
            .track(vehicle, self.t0 - TimeSpan::hours(1), Utc::now() + TimeSpan::hours(1))
            .await
            .unwrap()
    }
}

async fn drive(backend: Backend, broker: BrokerKind) -> Scenario {
    let server = TestServer::start(backend, broker).await;
    convoy_registry::add_user(&server.store, AUDITOR_USER, Role::Auditor, AUDITOR_PASSWORD).await.unwrap();
    let admin = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut vehicles = Vec::new();
    for name in ["truck-1", "van-2"] {
        let vehicle = VehicleId::new(name).unwrap();
        let password = convoy_registry::register_vehicle(&server.store, &vehicle).await.unwrap();
        vehicles.push((vehicle, password));
    }
    let route = munich();
    let truck_points = with_halt(&route, HALT_AT, HALT_S);
    let t0 = Utc::now().trunc_subsecs(0) - TimeSpan::seconds(truck_points.len() as i64 + 20);
    let plan = json!({
        "name": MOVE_NAME,
        "vehicles": ["truck-1", "van-2"],
        "route": { "type": "LineString", "coordinates": route.iter().map(|p| [p.x(), p.y()]).collect::<Vec<_>>() },
        "window": { "from": t0 - TimeSpan::seconds(5), "to": Utc::now() + TimeSpan::minutes(30) },
        // Fixes taken up to 25 minutes ago are news here, and the server's clock hears no silence.
        "rules": { "late_after_s": 100_000, "signal_lost_after_s": 100_000 },
        // Named in the exports, never applied: their times stay UTC.
        "time_zone": "Europe/Berlin",
    });
    let (status, body) = post_json(&server, &admin, "/api/v1/moves", plan).await;
    assert_eq!(status, 201, "{body}");
    let move_id = body["id"].as_str().unwrap().to_string();
    // The alert service learns of the move before the vehicles drive.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let ((truck, truck_password), (van, van_password)) = (vehicles[0].clone(), vehicles[1].clone());
    let mut van_fixes = fixes(&route, t0);
    van_fixes.drain(SILENT_FROM..SILENT_FROM + SILENT_S);
    for (n, fix) in van_fixes.iter_mut().enumerate() {
        // The agent numbers the fixes it has; a silent receiver gives none.
        fix.seq = n as u64 + 1;
    }
    publish_fixes(&server, &van, &van_password, &van_fixes, 5).await;

    // The truck until 5 min 40 s into its halt: the alert opens at 5 min, and a person
    // acknowledges it while the truck still stands.
    let truck_fixes = fixes(&truck_points, t0);
    let standing = HALT_AT + 340;
    publish_fixes(&server, &truck, &truck_password, &truck_fixes[..standing], 5).await;
    let alert = eventually(Duration::from_secs(60), "the unplanned_stop alert", || async {
        let (_, body) = server.get_json(&format!("/api/v1/alerts?move={move_id}"), &admin).await;
        body["alerts"].as_array()?.iter().find(|a| a["kind"] == "unplanned_stop").cloned()
    })
    .await;
    let alert_id = alert["id"].as_str().unwrap().to_string();
    let (status, body) =
        post_json(&server, &admin, &format!("/api/v1/alerts/{alert_id}/ack"), json!({ "note": NOTE })).await;
    assert_eq!(status, 200, "{body}");
    publish_fixes(&server, &truck, &truck_password, &truck_fixes[standing..], 5).await;

    let scenario = Scenario { server, admin, move_id, alert_id, truck, van, t0, halt_place: route[HALT_AT] };
    let expected = [(&scenario.truck, truck_fixes.len()), (&scenario.van, van_fixes.len())];
    for (vehicle, count) in expected {
        eventually(Duration::from_secs(60), "every fix stored", || async {
            (scenario.stored(vehicle).await.len() == count).then_some(())
        })
        .await;
    }
    eventually(Duration::from_secs(60), "the halt's alert resolved by its rule", || async {
        let (_, body) =
            scenario.server.get_json(&format!("/api/v1/alerts/{}", scenario.alert_id), &scenario.admin).await;
        (body["state"] == "resolved").then_some(())
    })
    .await;
    scenario
}

async fn exports_hold_exactly_the_stored_fixes(s: &Scenario) {
    let (truck, van) = (s.stored(&s.truck).await, s.stored(&s.van).await);
    let base = format!("/api/v1/moves/{}/export", s.move_id);

    let gpx = download(&s.server, &s.admin, &format!("{base}?format=gpx")).await;
    assert_eq!(gpx.status, 200, "{}", gpx.text);
    assert_eq!(gpx.content_type, "application/gpx+xml");
    assert_eq!(gpx.disposition, format!("attachment; filename=\"move-{}.gpx\"", s.move_id));
    let root = parse_xml(&gpx.text);
    assert_eq!(root.attr("version"), "1.1");
    assert_eq!(root.child("metadata").child("name").text, MOVE_NAME, "the name reads back");
    assert!(gpx.text.contains("Office move &lt;A&amp;B&gt; &quot;north&quot; &apos;wing&apos;"));
    assert!(
        gpx.text.contains("<convoy:time_zone>Europe/Berlin</convoy:time_zone>"),
        "the move's zone, named"
    );
    let tracks = gpx_tracks(&root);
    assert_eq!(tracks.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["truck-1", "van-2"]);
    assert_eq!(tracks[0].1.len(), 1, "the truck's data has no gap");
    assert_eq!(tracks[1].1.len(), 2, "the van's silence splits its track segment");
    assert_eq!(tracks[1].1[0].len(), SILENT_FROM);
    assert_same_fixes("GPX truck", &tracks[0].1.concat(), &truck);
    assert_same_fixes("GPX van", &tracks[1].1.concat(), &van);

    let kml = download(&s.server, &s.admin, &format!("{base}?format=kml")).await;
    assert_eq!(kml.status, 200, "{}", kml.text);
    assert_eq!(kml.content_type, "application/vnd.google-earth.kml+xml");
    assert_eq!(kml.disposition, format!("attachment; filename=\"move-{}.kml\"", s.move_id));
    let root = parse_xml(&kml.text);
    assert_eq!(root.child("Document").child("name").text, MOVE_NAME);
    let tracks = kml_tracks(&root);
    assert_eq!(tracks.iter().map(|(_, segments)| segments.len()).collect::<Vec<_>>(), [1, 2]);
    assert_same_fixes("KML truck", &tracks[0].1.concat(), &truck);
    assert_same_fixes("KML van", &tracks[1].1.concat(), &van);

    let geojson = download(&s.server, &s.admin, &format!("{base}?format=geojson")).await;
    assert_eq!(geojson.status, 200, "{}", geojson.text);
    assert_eq!(geojson.content_type, "application/geo+json");
    assert_eq!(geojson.disposition, format!("attachment; filename=\"move-{}.geojson\"", s.move_id));
    let value: Value = serde_json::from_str(&geojson.text).unwrap();
    assert_eq!(value["time_zone"], "Europe/Berlin");
    assert_eq!(value["type"], "FeatureCollection");
    assert_eq!(value["name"], MOVE_NAME);
    assert_same_fixes("GeoJSON truck", &geojson_fixes(&value, "truck-1"), &truck);
    assert_same_fixes("GeoJSON van", &geojson_fixes(&value, "van-2"), &van);
    let first = &value["features"][0]["properties"];
    assert_eq!(
        (first["seq"].as_u64(), first["sats"].as_u64(), first["fix"].as_str()),
        (Some(1), Some(9), Some("3d"))
    );

    let csv = download(&s.server, &s.admin, &format!("{base}?format=csv")).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
    assert_eq!(csv.disposition, format!("attachment; filename=\"move-{}.csv\"", s.move_id));
    let (header, truck_rows) = csv_fixes(&csv.text, "truck-1");
    assert_eq!(header[..6], ["vehicle", "seq", "t", "lat", "lon", "speed_mps"]);
    assert_same_fixes("CSV truck", &truck_rows, &truck);
    assert_same_fixes("CSV van", &csv_fixes(&csv.text, "van-2").1, &van);

    // One vehicle of the move, and a narrower range.
    let one = download(&s.server, &s.admin, &format!("{base}?format=gpx&vehicle=van-2")).await;
    assert_eq!(one.disposition, format!("attachment; filename=\"move-{}-van-2.gpx\"", s.move_id));
    let tracks = gpx_tracks(&parse_xml(&one.text));
    assert_eq!(tracks.len(), 1);
    assert_same_fixes("GPX of the van alone", &tracks[0].1.concat(), &van);
    let (from, to) = (s.t0 + TimeSpan::seconds(10), s.t0 + TimeSpan::seconds(20));
    let part = download(
        &s.server,
        &s.admin,
        &format!("{base}?format=csv&vehicle=truck-1&from={}&to={}", query_time(from), query_time(to)),
    )
    .await;
    assert_same_fixes("CSV of [from, to)", &csv_fixes(&part.text, "truck-1").1, &truck[10..20]);

    // A vehicle's own track as a file.
    let whole = format!("from={}&to={}", query_time(s.t0 - TimeSpan::minutes(1)), query_time(Utc::now()));
    let track =
        download(&s.server, &s.admin, &format!("/api/v1/vehicles/truck-1/track?format=kml&{whole}")).await;
    assert_eq!(track.status, 200, "{}", track.text);
    assert!(track.disposition.starts_with("attachment; filename=\"truck-1-"), "{}", track.disposition);
    assert_same_fixes("KML track", &kml_tracks(&parse_xml(&track.text))[0].1.concat(), &truck);

    // Simplified for display: fewer fixes, the ends kept, and the van's gap still a gap.
    let simplified = download(
        &s.server,
        &s.admin,
        &format!("/api/v1/vehicles/van-2/track?format=gpx&simplify_m=5&{whole}"),
    )
    .await;
    assert_eq!(simplified.status, 200, "{}", simplified.text);
    let segments = &gpx_tracks(&parse_xml(&simplified.text))[0].1;
    assert_eq!(segments.len(), 2, "split at the silence only, though kept fixes lie far apart");
    let kept = segments.concat();
    assert!(kept.len() >= 4 && kept.len() < van.len() / 2, "{} of {} fixes kept", kept.len(), van.len());
    assert_eq!((kept[0].0, kept.last().unwrap().0), (van[0].t, van.last().unwrap().t));
    assert_eq!(segments[0].last().unwrap().0, van[SILENT_FROM - 1].t, "the fix before the gap is kept");
}

async fn replay_shows_tracks_stops_gaps_and_alerts(s: &Scenario) {
    let (truck, van) = (s.stored(&s.truck).await, s.stored(&s.van).await);
    let (status, body) = s.server.get_json(&format!("/api/v1/moves/{}/replay", s.move_id), &s.admin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["move"], s.move_id.as_str());
    let tracks = body["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2);
    for (track, stored) in tracks.iter().zip([&truck, &van]) {
        let positions = track["positions"].as_array().unwrap();
        let read: Vec<Fix> = positions
            .iter()
            .map(|p| (time(p["t"].as_str().unwrap()), p["lat"].as_f64().unwrap(), p["lon"].as_f64().unwrap()))
            .collect();
        assert_same_fixes(&format!("replay of {}", track["vehicle"]), &read, stored);
    }

    // The 6-minute halt is one stop, where the truck halted; the van never stops.
    let stops = body["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 1, "{stops:?}");
    let stop = &stops[0];
    assert_eq!(stop["vehicle"], "truck-1");
    let duration = stop["duration_s"].as_f64().unwrap();
    assert!((350.0..=360.0).contains(&duration), "the halt lasted {duration} s");
    let halt_began = s.t0 + TimeSpan::seconds(HALT_AT as i64);
    assert!((time(stop["from"].as_str().unwrap()) - halt_began).num_seconds().abs() <= 5, "{stop}");
    let place = Point::new(stop["lon"].as_f64().unwrap(), stop["lat"].as_f64().unwrap());
    assert!(distance_m(place, s.halt_place) < 10.0, "{stop}");

    // The 3-minute silence is one gap, from the last fix before it to the first after it.
    let gaps = body["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["vehicle"], "van-2");
    assert_eq!(time(gaps[0]["from"].as_str().unwrap()), s.t0 + TimeSpan::seconds(SILENT_FROM as i64 - 1));
    assert_eq!(
        time(gaps[0]["to"].as_str().unwrap()),
        s.t0 + TimeSpan::seconds((SILENT_FROM + SILENT_S) as i64)
    );
    assert_eq!(gaps[0]["duration_s"], (SILENT_S + 1) as f64);

    let alerts = body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["id"], s.alert_id.as_str());
    assert_eq!(alerts[0]["kind"], "unplanned_stop");
    assert_eq!(alerts[0]["acknowledged_by"], ADMIN_USER);

    // One vehicle: its track only, and only its alerts.
    let (status, body) =
        s.server.get_json(&format!("/api/v1/moves/{}/replay?vehicle=van-2", s.move_id), &s.admin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tracks"].as_array().unwrap().len(), 1);
    assert_eq!(body["tracks"][0]["vehicle"], "van-2");
    assert_eq!(body["stops"], json!([]));
    assert_eq!(body["gaps"].as_array().unwrap().len(), 1);
    assert_eq!(body["alerts"], json!([]));
}

async fn report_tells_the_whole_move(s: &Scenario) {
    let (truck, van) = (s.stored(&s.truck).await, s.stored(&s.van).await);
    // The van's agent reports its spool dropped fixes: 2 before the move's first fix in this
    // run, 9 later, then, restarted, 3 more.
    let statuses = [(2, 0), (9, 60), (3, 120)]
        .map(|(dropped, after_s)| convoy_store::AgentStatus {
            vehicle: s.van.clone(),
            received_at: s.t0 + TimeSpan::seconds(after_s),
            status_json: json!({ "state": "online", "spool_dropped": dropped }).to_string(),
        })
        .to_vec();
    let write = convoy_store::IngestWrite { statuses, ..Default::default() };
    s.server.store.write_ingest(&write).await.unwrap();
    let asked_at = Utc::now();
    let (status, body) = s.server.get_json(&format!("/api/v1/moves/{}/report", s.move_id), &s.admin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["move"]["id"], s.move_id.as_str());
    assert_eq!(body["move"]["name"], MOVE_NAME);
    assert_eq!(body["move"]["plan"]["route"]["type"], "LineString");
    assert!(body["generated_at"].is_string());

    let vehicles = body["vehicles"].as_array().unwrap();
    assert_eq!(vehicles.len(), 2);
    for (view, stored) in vehicles.iter().zip([&truck, &van]) {
        assert_eq!(view["fixes"].as_u64(), Some(stored.len() as u64), "{}", view["vehicle"]);
        assert_eq!(time(view["first_fix"].as_str().unwrap()), stored[0].t);
        assert_eq!(time(view["last_fix"].as_str().unwrap()), stored.last().unwrap().t);
        let driven = view["driven"]["coordinates"].as_array().unwrap();
        assert_eq!(view["driven"]["type"], "LineString");
        assert!(driven.len() >= 2 && driven.len() < stored.len() / 2, "simplified: {} points", driven.len());
        assert_eq!(driven[0], json!([stored[0].lon, stored[0].lat]));
        let km = view["distance_km"].as_f64().unwrap();
        let straight_km = distance_m(
            Point::new(stored[0].lon, stored[0].lat),
            Point::new(stored.last().unwrap().lon, stored.last().unwrap().lat),
        ) / 1000.0;
        assert!(km > straight_km && km < 50.0, "{km} km driven, {straight_km} km as the crow flies");
        assert_eq!(view["off_route"], json!([]));
    }
    assert_eq!(vehicles[0]["stops"].as_array().unwrap().len(), 1);
    assert_eq!(vehicles[0]["gaps"], json!([]));
    assert_eq!(vehicles[1]["stops"], json!([]));
    assert_eq!(vehicles[1]["gaps"].as_array().unwrap().len(), 1);
    for (view, stored) in vehicles.iter().zip([&truck, &van]) {
        let c = &view["completeness"];
        assert_eq!(c["fixes"].as_u64(), Some(stored.len() as u64));
        assert_eq!(c["fix_interval_s"], 1.0, "{c}");
        // The window opens 5 s before the first fix.
        assert_eq!(c["silence_at_start_s"], 5.0, "{c}");
        // The move still runs: complete up to the moment the report was asked for.
        let silent_end = (asked_at - stored.last().unwrap().t).num_seconds() as f64;
        let end = c["silence_at_end_s"].as_f64().unwrap();
        assert!(end >= silent_end - 1.0 && end <= silent_end + 30.0, "{end} s silent at the end: {c}");
        let expected = c["expected_fixes"].as_u64().unwrap();
        assert!(expected > stored.len() as u64 + 5, "{c}");
        let coverage = c["coverage_at_rate"].as_f64().unwrap();
        assert!((coverage - stored.len() as f64 / expected as f64).abs() < 0.001, "{c}");
        // Neither vehicle has a key; none of their batches was refused.
        assert_eq!(c["unsigned_fixes"].as_u64(), Some(stored.len() as u64), "{c}");
        assert_eq!((c["refused_batches"].as_u64(), &c["refused_by_reason"]), (Some(0), &json!({})), "{c}");
    }
    assert_eq!(vehicles[0]["completeness"]["spool_drops"], 0);
    assert_eq!(vehicles[1]["completeness"]["spool_drops"], 7 + 3, "the rises, across the agent's restart");
    let (truck_c, van_c) = (&vehicles[0]["completeness"], &vehicles[1]["completeness"]);
    assert!(van_c["coverage_at_rate"].as_f64() < truck_c["coverage_at_rate"].as_f64(), "the van's silence");

    let alerts = body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    let transitions: Vec<(&str, &str, Option<&str>)> = alerts[0]["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["state"].as_str().unwrap(), t["by"].as_str().unwrap(), t["note"].as_str()))
        .collect();
    assert_eq!(
        transitions,
        [("open", "rule", None), ("acknowledged", ADMIN_USER, Some(NOTE)), ("resolved", "rule", None)],
        "who acknowledged, with which note"
    );
}

async fn bad_requests_are_refused_clearly(s: &Scenario) {
    let server = &s.server;
    let auditor = server.login(AUDITOR_USER, AUDITOR_PASSWORD).await;
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let id = &s.move_id;
    let now = Utc::now();

    // A move planned over a month: replaying all of it is too much at once.
    let (status, body) = post_json(
        server,
        &s.admin,
        "/api/v1/moves",
        json!({
            "name": "a long move",
            "vehicles": ["truck-1"],
            "route": { "type": "LineString", "coordinates": [[11.5, 48.1], [11.6, 48.2]] },
            "window": { "from": now - TimeSpan::days(20), "to": now + TimeSpan::days(10) },
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let long = body["id"].as_str().unwrap().to_string();

    let day = format!("from={}&to={}", query_time(now - TimeSpan::days(1)), query_time(now));
    let reversed = format!("from={}&to={}", query_time(now), query_time(now - TimeSpan::days(1)));
    for (path, token, status, says) in [
        (format!("/api/v1/moves/{id}/export?format=shp"), &s.admin, 400, "gpx, geojson, kml or csv"),
        (format!("/api/v1/moves/{id}/export"), &s.admin, 400, "format is required"),
        ("/api/v1/vehicles/truck-1/track?format=shp".to_string(), &s.admin, 400, "json, gpx"),
        (format!("/api/v1/moves/{id}/replay?{reversed}"), &s.admin, 400, "from must be before to"),
        (format!("/api/v1/moves/{id}/export?format=gpx&{reversed}"), &s.admin, 400, "from must be before to"),
        (format!("/api/v1/moves/{long}/replay"), &s.admin, 400, "at most 7 days"),
        (format!("/api/v1/moves/{long}/report"), &s.admin, 400, "at most 7 days"),
        (format!("/api/v1/moves/{id}/replay?from=yesterday"), &s.admin, 400, "from"),
        (format!("/api/v1/moves/{id}/replay?vehicle=nobody"), &s.admin, 400, "not part of move"),
        (format!("/api/v1/moves/{id}/replay?vehicle=bad%20id"), &s.admin, 400, "vehicle"),
        ("/api/v1/moves/m-none/replay".to_string(), &s.admin, 404, "no such move"),
        ("/api/v1/moves/m-none/export?format=gpx".to_string(), &s.admin, 404, "no such move"),
        ("/api/v1/moves/m-none/report".to_string(), &s.admin, 404, "no such move"),
        (format!("/api/v1/moves/{id}/replay"), &escort, 403, "escort"),
        (format!("/api/v1/moves/{id}/export?format=gpx"), &escort, 403, "escort"),
        (format!("/api/v1/moves/{id}/report"), &escort, 403, "escort"),
        ("/api/v1/vehicles/truck-1/track?format=gpx".to_string(), &escort, 403, "escort"),
    ] {
        let (got, body) = server.get_json(&path, token).await;
        assert_eq!(got, status, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_else(|| panic!("{path}: no error message: {body}"));
        assert!(message.contains(says), "{path}: {message:?} does not say {says:?}");
    }

    // Each refusal of bad input is counted by its reason (403s and 404s are not bad input).
    let metrics = server.metrics().await;
    for (reason, count) in [
        ("bad_format", 3.0),
        ("bad_range", 2.0),
        ("range_too_long", 2.0),
        ("bad_query", 1.0),
        ("bad_vehicle", 2.0),
    ] {
        let sample = format!("convoy_gateway_history_requests_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&metrics, &sample), Some(count), "{sample}");
    }

    // Auditors read history: a day of the long move, and the whole of the short one.
    for path in [
        format!("/api/v1/moves/{long}/replay?{day}"),
        format!("/api/v1/moves/{id}/replay"),
        format!("/api/v1/moves/{id}/report"),
        format!("/api/v1/moves/{id}/export?format=csv"),
        "/api/v1/vehicles/van-2/track?format=geojson".to_string(),
    ] {
        let response = download(server, &auditor, &path).await;
        assert_eq!(response.status, 200, "{path}: {}", response.text);
    }
    let anonymous = reqwest::get(server.url(&format!("/api/v1/moves/{id}/replay"))).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // Every look at the history left a trace, by whom.
    let (status, body) = server.get_json("/api/v1/audit?limit=10000", &s.admin).await;
    assert_eq!(status, 200, "{body}");
    let seen = |action: &str, actor: &str| {
        body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == action && e["actor"] == actor && e["target"] == id.as_str())
    };
    for action in ["export.download", "move.replay", "move.report"] {
        assert!(seen(action, ADMIN_USER), "{action} by the admin is in the audit log");
        assert!(seen(action, AUDITOR_USER), "{action} by the auditor is in the audit log");
    }
}

async fn a_moves_history(backend: Backend, broker: BrokerKind) {
    let scenario = drive(backend, broker).await;
    exports_hold_exactly_the_stored_fixes(&scenario).await;
    replay_shows_tracks_stops_gaps_and_alerts(&scenario).await;
    report_tells_the_whole_move(&scenario).await;
    bad_requests_are_refused_clearly(&scenario).await;
    scenario.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moves_exports_replay_and_report_hold_its_record_on_sqlite() {
    a_moves_history(Backend::Sqlite, BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moves_exports_replay_and_report_hold_its_record_on_postgres() {
    a_moves_history(Backend::Postgres, BrokerKind::Mosquitto).await;
}
