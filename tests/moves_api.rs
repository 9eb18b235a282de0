//! Moves and alerts through the HTTP API, with a real server: plans in every accepted form,
//! every kind of bad plan refused with its reason, counted, and nothing stored; the alert
//! endpoints' checks and roles; the live feed's lock.

mod common;

use common::*;
use convoy_core::{Role, VehicleId};
use serde_json::{json, Value};

async fn server_with_vehicles() -> (TestServer, String) {
    let server = TestServer::start(Backend::Sqlite, BrokerKind::Embedded).await;
    for id in ["truck-07", "escort-1"] {
        convoy_registry::register_vehicle(&server.store, &VehicleId::new(id).unwrap()).await.unwrap();
    }
    let token = server.login(ADMIN_USER, ADMIN_PASSWORD).await;
    (server, token)
}

async fn post(
    server: &TestServer,
    token: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn plan() -> Value {
    json!({
        "name": "office move",
        "vehicles": ["truck-07", "escort-1"],
        "escorts": { "truck-07": "escort-1" },
        "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17], [11.58, 48.17]] },
        "corridor_m": 200,
        "zones": { "type": "FeatureCollection", "features": [
            { "type": "Feature", "geometry": { "type": "Point", "coordinates": [11.56, 48.16] },
              "properties": { "name": "depot", "kind": "origin", "radius_m": 100 } },
            { "type": "Feature", "geometry": { "type": "Polygon", "coordinates": [[[11.575, 48.165], [11.576, 48.165], [11.576, 48.166], [11.575, 48.166], [11.575, 48.165]]] },
              "properties": { "name": "yard", "kind": "forbidden" } },
        ]},
        "window": { "from": "2026-12-01T06:00:00Z", "to": "2026-12-01T18:00:00Z" },
        "rules": { "speed_limit_mps": 25 },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_is_created_from_json_gpx_and_kml_and_read_back_normalized() {
    let (server, token) = server_with_vehicles().await;
    let (status, body) =
        post(&server, &token, "/api/v1/moves", "application/json", plan().to_string().into_bytes()).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let (status, stored) = server.get_json(&format!("/api/v1/moves/{id}"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(stored["name"], "office move");
    assert_eq!(stored["created_by"], ADMIN_USER);
    assert_eq!(stored["plan"]["route"]["coordinates"][1], json!([11.57, 48.17]));
    assert_eq!(stored["plan"]["zones"]["features"].as_array().unwrap().len(), 2);
    assert_eq!(stored["plan"]["rules"]["speed_limit_mps"], 25);

    let gpx = std::fs::read(data_path("drives/gpxpy/around-visnjan-with-car.gpx")).unwrap();
    let path =
        "/api/v1/moves?name=Visnjan&vehicles=truck-07,escort-1&escorts=truck-07:escort-1&corridor_m=120";
    let (status, body) = post(&server, &token, path, "application/gpx+xml", gpx).await;
    assert_eq!(status, 201, "{body}");
    let (_, stored) =
        server.get_json(&format!("/api/v1/moves/{}", body["id"].as_str().unwrap()), &token).await;
    assert_eq!(stored["plan"]["route"]["coordinates"].as_array().unwrap().len(), 104, "every trkpt");
    assert_eq!(stored["plan"]["corridor_m"], 120.0);

    let kml = br#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>route</name>
<LineString><coordinates>11.56,48.16,500 11.57,48.17,510 11.58,48.17,505</coordinates></LineString>
</Placemark></Document></kml>"#;
    let (status, body) = post(
        &server,
        &token,
        "/api/v1/moves?name=K&vehicles=truck-07",
        "application/vnd.google-earth.kml+xml",
        kml.to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (_, list) = server.get_json("/api/v1/moves", &token).await;
    assert_eq!(list["moves"].as_array().unwrap().len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plans_are_refused_with_their_reason_counted_and_nothing_stored() {
    let (server, token) = server_with_vehicles().await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut p = plan();
        change(&mut p);
        p.to_string().into_bytes()
    };
    let bow_tie = json!({ "type": "Feature", "geometry": { "type": "Polygon", "coordinates": [[[11.0, 48.0], [11.01, 48.01], [11.01, 48.0], [11.0, 48.01], [11.0, 48.0]]] },
        "properties": { "name": "bow tie", "kind": "forbidden" } });
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "one route point",
            "application/json",
            with(&|p| p["route"]["coordinates"] = json!([[11.56, 48.16]])),
            400,
            "route_too_short",
        ),
        (
            "latitude 91",
            "application/json",
            with(&|p| p["route"]["coordinates"][0] = json!([11.56, 91.0])),
            400,
            "coordinate_out_of_range",
        ),
        (
            "a bow-tie zone",
            "application/json",
            with(&|p| p["zones"]["features"] = json!([bow_tie.clone()])),
            400,
            "self_intersecting_zone",
        ),
        (
            "a 5 m corridor",
            "application/json",
            with(&|p| p["corridor_m"] = json!(5)),
            400,
            "corridor_out_of_range",
        ),
        (
            "a 20 km corridor",
            "application/json",
            with(&|p| p["corridor_m"] = json!(20000)),
            400,
            "corridor_out_of_range",
        ),
        (
            "an unregistered vehicle",
            "application/json",
            with(&|p| p["vehicles"] = json!(["truck-07", "escort-1", "ghost-9"])),
            422,
            "unknown_vehicle",
        ),
        (
            "a reversed window",
            "application/json",
            with(&|p| p["window"] = json!({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"})),
            400,
            "invalid_window",
        ),
        (
            "an unknown rule",
            "application/json",
            with(&|p| p["rules"] = json!({"stop_after": 1})),
            400,
            "invalid_rules",
        ),
        ("not JSON", "application/json", b"{\"name\": ".to_vec(), 400, "malformed"),
        (
            "a GPX that is not GPX",
            "application/gpx+xml",
            b"<html><body>hello</body></html>".to_vec(),
            400,
            "malformed",
        ),
        ("a 5 MB plan", "application/json", vec![b' '; 5 * 1024 * 1024], 413, "too_large"),
        ("another content type", "text/csv", b"lat,lon".to_vec(), 415, "malformed"),
    ];
    let before = server.metrics().await;
    for (what, content_type, body, status, reason) in &cases {
        let path = "/api/v1/moves?name=x&vehicles=truck-07";
        let (got, answer) = post(&server, &token, path, content_type, body.clone()).await;
        assert_eq!(got, *status, "{what}: {answer}");
        assert_eq!(answer["reason"], *reason, "{what}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: a message for a person");
    }
    let after = server.metrics().await;
    for reason in ["route_too_short", "corridor_out_of_range", "unknown_vehicle", "too_large", "malformed"] {
        let sample = format!("convoy_gateway_plans_rejected_total{{reason=\"{reason}\"}}");
        let expected = cases.iter().filter(|c| c.4 == reason).count() as f64;
        assert_eq!(
            metric(&after, &sample).unwrap() - metric(&before, &sample).unwrap(),
            expected,
            "{sample}"
        );
    }
    let (_, list) = server.get_json("/api/v1/moves", &token).await;
    assert_eq!(list["moves"], json!([]), "nothing stored from a refused plan");

    // Only admins and dispatchers plan moves.
    let escort = server.login(ESCORT_USER, ESCORT_PASSWORD).await;
    let (status, _) =
        post(&server, &escort, "/api/v1/moves", "application/json", plan().to_string().into_bytes()).await;
    assert_eq!(status, 403);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alert_endpoints_check_their_input_and_roles() {
    let (server, token) = server_with_vehicles().await;
    convoy_registry::add_user(&server.store, "audrey", Role::Auditor, "a long enough auditor password")
        .await
        .unwrap();
    let auditor = server.login("audrey", "a long enough auditor password").await;
    for bad in [
        "/api/v1/alerts?state=burning",
        "/api/v1/alerts?limit=0",
        "/api/v1/alerts?limit=5000",
        "/api/v1/alerts?vehicle=a%20b",
    ] {
        let (status, body) = server.get_json(bad, &token).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string());
    }
    let (status, body) = server.get_json("/api/v1/alerts?state=open&move=none", &token).await;
    assert_eq!((status, body), (200, json!({ "alerts": [] })));

    let ack = |token: String, id: &'static str, body: Value| {
        let url = server.url(&format!("/api/v1/alerts/{id}/ack"));
        async move {
            let response =
                reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap();
            response.status().as_u16()
        }
    };
    assert_eq!(ack(token.clone(), "no-such-alert", json!({"note": "x"})).await, 404);
    assert_eq!(ack(token.clone(), "no-such-alert", json!({"note": "x".repeat(2001)})).await, 400);
    assert_eq!(ack(auditor.clone(), "no-such-alert", json!({})).await, 403, "auditors look, they do not act");
    assert_eq!(ack("forged".into(), "no-such-alert", json!({})).await, 401);

    // The live feed needs a valid token too.
    let url = format!("ws://{}/api/v1/live?token=forged", server.http);
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    assert!(refused.to_string().contains("401"), "{refused}");
    server.stop().await;
}
