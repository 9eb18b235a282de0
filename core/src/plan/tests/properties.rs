//! Properties: arbitrary and mutated bodies never panic, and valid plans round-trip.

use super::*;

fn valid_bodies() -> Vec<(Vec<u8>, Option<RouteFormat>)> {
    vec![
        (full_document().to_string().into_bytes(), None),
        (GPX_RTE.as_bytes().to_vec(), Some(RouteFormat::Gpx)),
        (KML.as_bytes().to_vec(), Some(RouteFormat::Kml)),
        (full_document()["zones"].to_string().into_bytes(), Some(RouteFormat::GeoJson)),
        (full_document()["route"].to_string().into_bytes(), Some(RouteFormat::GeoJson)),
    ]
}

fn read(body: &[u8], format: Option<RouteFormat>) -> Result<MovePlan, PlanError> {
    match format {
        None => MovePlan::from_json(body),
        Some(format) => MovePlan::from_route_file(body, format, &fields()),
    }
}

/// One edit of a body: at a place, replace, delete, insert (a byte with meaning in JSON or
/// XML, or any byte), or cut the rest.
fn mutation() -> impl Strategy<Value = (prop::sample::Index, u8, u8)> {
    let interesting = prop::sample::select(b"<>/&;\"'=[]{},:-.0123456789eE \n#xX!?abz\xff\xc3".to_vec());
    (any::<prop::sample::Index>(), 0u8..5, prop_oneof![interesting, any::<u8>()])
}

fn mutate(mut body: Vec<u8>, mutations: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (place, op, byte) in mutations {
        let at = place.index(body.len() + 1);
        match op {
            0 if at < body.len() => body[at] = *byte,
            1 if at < body.len() => _ = body.remove(at),
            2 => body.insert(at, *byte),
            3 => body.truncate(at),
            _ => {
                // Duplicate a slice: repeats elements, brackets and numbers.
                let end = (at + usize::from(*byte) % 40).min(body.len());
                let copy = body[at.min(end)..end].to_vec();
                body.splice(at..at, copy);
            }
        }
    }
    body
}

/// A star-shaped ring around `center` with increasing angles: simple, and closed.
fn star_ring(center: (f64, f64), corners: Vec<(f64, f64)>) -> Value {
    let n = corners.len() as f64;
    let mut ring: Vec<Value> = corners
        .iter()
        .enumerate()
        .map(|(i, (jitter, radius))| {
            let angle = (i as f64 + jitter) * std::f64::consts::TAU / n;
            json!([center.0 + radius * angle.cos(), center.1 + radius * angle.sin()])
        })
        .collect();
    ring.push(ring[0].clone());
    Value::Array(ring)
}

fn valid_zone() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(vec!["origin", "destination", "allowed_stop", "forbidden"]);
    let name = "[A-Za-zäöüß][A-Za-z0-9 äöüß.&\"'-]{0,30}";
    let center = (-170.0f64..170.0, -80.0f64..80.0);
    let circle =
        (kind.clone(), name, center.clone(), 1e-3f64..=100_000.0).prop_map(|(kind, name, (x, y), radius)| {
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
               "properties": {"kind": kind, "name": name, "radius_m": radius}})
        });
    let corners = prop::collection::vec((0.05f64..0.95, 1e-4f64..1.0), 3..12);
    let polygon = (kind, name, center, corners).prop_map(|(kind, name, center, corners)| {
        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [star_ring(center, corners)]},
               "properties": {"kind": kind, "name": name}})
    });
    prop_oneof![circle, polygon]
}

fn valid_document() -> impl Strategy<Value = Value> {
    let vehicles = prop::collection::btree_set("[a-z]{1,8}-[0-9]{1,3}", 1..6);
    let route = prop::collection::vec((-180.0f64..=180.0, -90.0f64..=90.0), 2..30)
        .prop_filter("two different points", |points| points.iter().any(|p| *p != points[0]));
    let window = prop::option::of((0i64..4_000_000_000_000, 1i64..10_000_000_000, -12i32..=14));
    let rules = prop::option::of((0.0f64..1e6, prop::option::of(0.01f64..1000.0)));
    (
        "[A-Za-z0-9][A-Za-z0-9 äöüé_.:/-]{0,60}",
        vehicles,
        any::<bool>(),
        route,
        prop::option::of(10.0f64..=10_000.0),
        prop::collection::vec(valid_zone(), 0..5),
        window,
        rules,
    )
        .prop_map(|(name, vehicles, escorted, route, corridor, zones, window, rules)| {
            let vehicles: Vec<String> = vehicles.into_iter().collect();
            let mut document = json!({
                "name": name,
                "vehicles": vehicles,
                "route": {"type": "LineString", "coordinates": route.iter().map(|(x, y)| json!([x, y])).collect::<Vec<_>>()},
                "zones": {"type": "FeatureCollection", "features": zones},
            });
            if escorted && vehicles.len() >= 2 {
                let mut escorts = serde_json::Map::new();
                escorts.insert(vehicles[0].clone(), Value::String(vehicles[1].clone()));
                document["escorts"] = Value::Object(escorts);
            }
            if let Some(corridor) = corridor {
                document["corridor_m"] = json!(corridor);
            }
            if let Some((from_ms, length_ms, offset_h)) = window {
                let offset = FixedOffset::east_opt(offset_h * 3600).unwrap();
                let from = offset.timestamp_millis_opt(from_ms).unwrap();
                let to = from + chrono::Duration::milliseconds(length_ms);
                document["window"] = json!({"from": from.to_rfc3339(), "to": to.to_rfc3339()});
            }
            if let Some((stop_after_s, speed_limit)) = rules {
                document["rules"] = json!({"stop_after_s": stop_after_s});
                if let Some(limit) = speed_limit {
                    document["rules"]["speed_limit_mps"] = json!(limit);
                }
            }
            document
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..600)) {
        _ = MovePlan::from_json(&body);
        for format in [RouteFormat::GeoJson, RouteFormat::Gpx, RouteFormat::Kml] {
            _ = MovePlan::from_route_file(&body, format, &fields());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(<[a-zA-Z:]{0,6}( [a-z]{1,3}=\"[^\"]{0,6}\")?/?>|</[a-z]{0,5}>|&[a-z#0-9]{0,4};|[0-9.,\\- ]{0,10}|[\\[\\]{}\":,])*") {
        _ = MovePlan::from_json(text.as_bytes());
        for format in [RouteFormat::GeoJson, RouteFormat::Gpx, RouteFormat::Kml] {
            _ = MovePlan::from_route_file(text.as_bytes(), format, &fields());
        }
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        which in 0usize..5,
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let (body, format) = valid_bodies().swap_remove(which);
        let body = mutate(body, &mutations);
        match read(&body, format) {
            Ok(plan) => {
                // Whatever is accepted is a plan that survives its own document.
                prop_assert_eq!(MovePlan::from_json(plan.to_json().to_string().as_bytes()), Ok(plan));
            }
            Err(error) => {
                prop_assert!(PLAN_REJECTION_REASONS.contains(&error.reason()));
                prop_assert!(!error.to_string().is_empty());
            }
        }
        // The same edits, read as every other format.
        _ = MovePlan::from_json(&body);
        for format in [RouteFormat::GeoJson, RouteFormat::Gpx, RouteFormat::Kml] {
            _ = MovePlan::from_route_file(&body, format, &fields());
        }
    }

    #[test]
    fn valid_plans_survive_their_normalized_document(document in valid_document()) {
        let plan = match parse(&document) {
            Ok(plan) => plan,
            Err(error) => return Err(TestCaseError::fail(format!("{error} in {document}"))),
        };
        let normalized = plan.to_json();
        let again = MovePlan::from_json(normalized.to_string().as_bytes()).unwrap();
        prop_assert_eq!(&again, &plan);
        prop_assert_eq!(again.to_json(), normalized);
        // Coordinates are exact.
        let route: Vec<f64> = document["route"]["coordinates"].as_array().unwrap().iter()
            .flat_map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]).collect();
        let kept: Vec<f64> = again.route.0.iter().flat_map(|c| [c.x, c.y]).collect();
        prop_assert_eq!(route, kept);
    }
}
