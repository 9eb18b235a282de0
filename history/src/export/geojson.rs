//! GeoJSON (RFC 7946): a FeatureCollection with a Point feature per fix, in vehicle order and
//! then fix-time order. A feature's coordinates are `[lon, lat]`, or `[lon, lat, alt]` when the
//! fix has an altitude; its properties are the fix as on the wire (as the JSON track shows it,
//! marks included) with its `vehicle`. The collection carries `name`, `description`,
//! `generated_at` and, for a move, its `time_zone` (IANA; the times stay UTC) as foreign members.

use convoy_core::position::format_time;
use convoy_core::VehicleId;
use convoy_store::StoredPosition;
use serde::Serialize;
use serde_json::json;

use super::{ExportMeta, FormatWriter};
use crate::TrackFix;

#[derive(Default)]
pub(super) struct GeoJson {
    /// A feature has been written (the next one needs a comma).
    any: bool,
}

#[derive(Serialize)]
struct Properties<'a> {
    vehicle: &'a VehicleId,
    #[serde(flatten)]
    fix: TrackFix<'a>,
}

impl FormatWriter for GeoJson {
    fn start(&mut self, out: &mut Vec<u8>, meta: &ExportMeta) {
        let mut head = json!({
            "name": meta.title,
            "description": meta.description,
            "generated_at": format_time(&meta.generated_at),
        });
        if let Some(zone) = &meta.time_zone {
            head["time_zone"] = json!(zone);
        }
        let head = head.to_string();
        // `{"description":…,"generated_at":…,"name":…,"time_zone":…` then the rest of the
        // collection.
        out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
        out.extend_from_slice(b",\"type\":\"FeatureCollection\",\"features\":[\n");
    }

    fn fix(&mut self, out: &mut Vec<u8>, vehicle: &VehicleId, fix: &StoredPosition) {
        if self.any {
            out.extend_from_slice(b",\n");
        }
        self.any = true;
        let p = &fix.position;
        let coordinates = match p.alt_m {
            Some(alt) => json!([p.lon, p.lat, alt]),
            None => json!([p.lon, p.lat]),
        };
        let feature = json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": coordinates },
            "properties": Properties { vehicle, fix: TrackFix::of(fix) },
        });
        // A value of finite numbers and strings always serialises.
        let _ = serde_json::to_writer(&mut *out, &feature);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\n]}\n");
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::super::test_support::*;
    use super::super::{write_all, ExportFormat};
    use super::*;

    fn geojson(tracks: &[(VehicleId, Vec<StoredPosition>)]) -> Value {
        serde_json::from_slice(&write_all(ExportFormat::GeoJson, &meta(), tracks)).unwrap()
    }

    #[test]
    fn a_fix_is_a_point_feature_with_the_wire_fields() {
        let value = geojson(&[(vehicle("truck-07"), vec![fix(1, 0), fix(2, 1)])]);
        assert_eq!(value["type"], "FeatureCollection");
        assert_eq!(value["name"], meta().title);
        let features = value["features"].as_array().unwrap();
        assert_eq!(features.len(), 2);
        assert_eq!(
            features[0],
            json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [11.0, 48.137154, 519.5] },
                "properties": {
                    "vehicle": "truck-07", "seq": 1, "t": "2026-11-28T09:00:00.000Z", "lat": 48.137154,
                    "lon": 11.0, "alt_m": 519.5, "speed_mps": 12.4, "course_deg": 87.5, "fix": "3d",
                    "sats": 9, "hdop": 0.9,
                },
            })
        );
        assert_eq!(features[1]["properties"]["late"], true);
    }

    #[test]
    fn no_fixes_is_an_empty_collection() {
        let value = geojson(&[(vehicle("v"), vec![])]);
        assert_eq!(value["features"], json!([]));
    }

    #[test]
    fn the_collection_names_the_moves_time_zone_and_times_stay_utc() {
        let value = geojson(&[(vehicle("v"), vec![fix(1, 0)])]);
        assert_eq!(value["time_zone"], "Asia/Shanghai");
        assert!(value["features"][0]["properties"]["t"].as_str().unwrap().ends_with('Z'), "{value}");
    }

    proptest! {
        /// Any tracks give GeoJSON that reads back to every fix, exactly.
        #[test]
        fn any_tracks_read_back(tracks in any_tracks()) {
            let value = geojson(&tracks);
            let features = value["features"].as_array().unwrap();
            let expected: Vec<(&VehicleId, &StoredPosition)> =
                tracks.iter().flat_map(|(v, fixes)| fixes.iter().map(move |f| (v, f))).collect();
            prop_assert_eq!(features.len(), expected.len());
            for (feature, (vehicle, fix)) in features.iter().zip(expected) {
                let coordinates = feature["geometry"]["coordinates"].as_array().unwrap();
                prop_assert_eq!(coordinates[0].as_f64().unwrap(), fix.position.lon);
                prop_assert_eq!(coordinates[1].as_f64().unwrap(), fix.position.lat);
                prop_assert_eq!(coordinates.get(2).and_then(Value::as_f64), fix.position.alt_m);
                prop_assert_eq!(&feature["properties"]["vehicle"], vehicle.as_str());
                let read: convoy_core::Position = serde_json::from_value(feature["properties"].clone()).unwrap();
                prop_assert_eq!(&read, &fix.position);
                prop_assert_eq!(feature["properties"]["late"].as_bool().unwrap_or(false), fix.late);
            }
        }
    }
}
