//! The OsmAnd protocol (<https://www.traccar.org/osmand/>), which Traccar Client speaks over
//! HTTP in two forms:
//!
//! - parameters, in the query string or an `application/x-www-form-urlencoded` body
//!   ([`decode_params`]): `id=123456&lat=60.0&lon=30.0&timestamp=1377177267&speed=0.0...`;
//! - the JSON body of Traccar Client 9 and later ([`decode_json`]), the native format of the
//!   background location SDK it uses: `{"location": {...}, "device_id": "..."}`, where
//!   `location` is one object or, when the SDK syncs what it held while offline, an array.
//!
//! The two forms use different units: a parameter `speed` is in knots (the protocol comes from
//! NMEA trackers), the JSON `speed` in m/s. Both say "unknown" with a negative number (-1) for
//! speed, course and accuracy, and for the JSON battery level; that becomes `None`.
//!
//! Unlike Traccar, Convoy requires the fix time (a report without one cannot be told from its
//! own retry) and refuses a parameter it reads given twice (`lat=1&lat=2`: which one is the
//! fix?), including two names of one thing (`id` and `deviceid`, `bearing` and `heading`,
//! `accuracy` and `hacc`, `location` and `lat`/`lon`). Parameters it does not read are ignored,
//! even repeated: the protocol repeats `cell` and `wifi` by design. An empty value is taken as
//! absent, as the apps fill a template whose unknown values stay empty.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{
    device_id, excerpt, json_kind, json_number, json_object, time_from_number, time_from_text, PhoneError,
    PhoneFix, MAX_PHONE_PAYLOAD_BYTES,
};

/// One request of a device: its id and its fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub device_id: String,
    /// Empty when the app says the location is not valid (`valid=false` or `valid=0`), or
    /// sends an empty batch.
    pub fixes: Vec<PhoneFix>,
}

/// The most locations one JSON batch may carry, as for a batch of the agent.
pub const MAX_BATCH_LOCATIONS: usize = crate::wire::MAX_BATCH_POSITIONS;

/// A knot in metres per second (one nautical mile, 1852 m, an hour).
const KNOT_MPS: f64 = 1852.0 / 3600.0;

/// The parameters Convoy reads, each at most once.
#[derive(Default)]
struct Params<'a> {
    id: Option<Cow<'a, str>>,
    valid: Option<Cow<'a, str>>,
    timestamp: Option<Cow<'a, str>>,
    lat: Option<Cow<'a, str>>,
    lon: Option<Cow<'a, str>>,
    location: Option<Cow<'a, str>>,
    speed: Option<Cow<'a, str>>,
    bearing: Option<Cow<'a, str>>,
    altitude: Option<Cow<'a, str>>,
    accuracy: Option<Cow<'a, str>>,
    hdop: Option<Cow<'a, str>>,
    batt: Option<Cow<'a, str>>,
}

impl<'a> Params<'a> {
    fn parse(params: &'a str) -> Result<Self, PhoneError> {
        let mut read = Params::default();
        for (name, value) in form_urlencoded::parse(params.as_bytes()) {
            let slot = match name.as_ref() {
                "id" | "deviceid" => &mut read.id,
                "valid" => &mut read.valid,
                "timestamp" => &mut read.timestamp,
                "lat" => &mut read.lat,
                "lon" => &mut read.lon,
                "location" => &mut read.location,
                "speed" => &mut read.speed,
                "bearing" | "heading" => &mut read.bearing,
                "altitude" => &mut read.altitude,
                "accuracy" | "hacc" => &mut read.accuracy,
                "hdop" => &mut read.hdop,
                "batt" => &mut read.batt,
                _ => continue,
            };
            if slot.is_some() {
                return Err(PhoneError::RepeatedParameter(excerpt(&name)));
            }
            *slot = Some(value);
        }
        if read.location.is_some() && (read.lat.is_some() || read.lon.is_some()) {
            return Err(PhoneError::RepeatedParameter("location".into()));
        }
        Ok(read)
    }
}

/// Decodes a query string (without '?') or an `application/x-www-form-urlencoded` body;
/// `now` is the receiving clock, for the future-time check.
pub fn decode_params(params: &str, now: DateTime<Utc>) -> Result<Report, PhoneError> {
    if params.len() > MAX_PHONE_PAYLOAD_BYTES {
        return Err(PhoneError::TooLarge(params.len()));
    }
    let read = Params::parse(params)?;
    let device_id = device_id(&present(read.id).ok_or(PhoneError::MissingField("id"))?)?;
    match present(read.valid).as_deref() {
        None | Some("true" | "1") => {}
        Some("false" | "0") => return Ok(Report { device_id, fixes: Vec::new() }),
        Some(other) => {
            return Err(PhoneError::Malformed(format!(
                "`valid` must be true, false, 1 or 0, not {:?}",
                excerpt(other)
            )))
        }
    }
    let (lat, lon) = match present(read.location) {
        Some(location) => {
            let (lat, lon) = location
                .split_once(',')
                .ok_or_else(|| PhoneError::Malformed("`location` must be lat,lon".into()))?;
            (number(lat, "location")?, number(lon, "location")?)
        }
        None => (required_number(read.lat, "lat")?, required_number(read.lon, "lon")?),
    };
    let timestamp = present(read.timestamp).ok_or(PhoneError::MissingField("timestamp"))?;
    let mut fix = PhoneFix::at(time_from_text(&timestamp)?, lat, lon);
    let p = &mut fix.position;
    p.speed_mps = optional_number(read.speed, "speed")?.filter(|s| *s >= 0.0).map(|knots| knots * KNOT_MPS);
    p.course_deg = optional_number(read.bearing, "bearing")?.filter(|c| *c >= 0.0);
    p.alt_m = optional_number(read.altitude, "altitude")?;
    p.accuracy_m = optional_number(read.accuracy, "accuracy")?.filter(|a| *a >= 0.0);
    p.hdop = optional_number(read.hdop, "hdop")?;
    fix.battery_pct = optional_number(read.batt, "batt")?.filter(|b| *b >= 0.0);
    Ok(Report { device_id, fixes: vec![fix.checked(now)?] })
}

/// A parameter's value, `None` when it is absent or empty.
fn present(value: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    value.filter(|v| !v.is_empty())
}

/// A decimal number; "NaN", "inf" and numbers too large for a double are not numbers.
fn number(text: &str, name: &'static str) -> Result<f64, PhoneError> {
    text.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or(PhoneError::NotANumber(name))
}

fn optional_number(value: Option<Cow<'_, str>>, name: &'static str) -> Result<Option<f64>, PhoneError> {
    present(value).map(|v| number(&v, name)).transpose()
}

fn required_number(value: Option<Cow<'_, str>>, name: &'static str) -> Result<f64, PhoneError> {
    optional_number(value, name)?.ok_or(PhoneError::MissingField(name))
}

/// Decodes the JSON body of Traccar Client 9; `now` is the receiving clock, for the
/// future-time check. One bad location refuses the whole body, as for a batch of the agent.
pub fn decode_json(body: &[u8], now: DateTime<Utc>) -> Result<Report, PhoneError> {
    let object = json_object(body)?;
    let device_id = match object.get("device_id") {
        Some(Value::String(id)) => device_id(id)?,
        None | Some(Value::Null) => return Err(PhoneError::MissingField("device_id")),
        Some(other) => return Err(PhoneError::BadDeviceId(excerpt(&other.to_string()))),
    };
    let fixes = match object.get("location") {
        Some(Value::Array(locations)) if locations.len() > MAX_BATCH_LOCATIONS => {
            return Err(PhoneError::Malformed(format!(
                "{} locations; at most {MAX_BATCH_LOCATIONS} are accepted",
                locations.len()
            )))
        }
        Some(Value::Array(locations)) => {
            locations.iter().map(|l| json_fix(l, now)).collect::<Result<Vec<_>, _>>()?
        }
        Some(location @ Value::Object(_)) => vec![json_fix(location, now)?],
        None | Some(Value::Null) => return Err(PhoneError::MissingField("location")),
        Some(other) => {
            return Err(PhoneError::Malformed(format!(
                "`location` must be an object or an array, not {}",
                json_kind(other)
            )))
        }
    };
    Ok(Report { device_id, fixes })
}

/// One location of the SDK: `timestamp`, `coords` and `battery`; the rest (`is_moving`,
/// `activity`, `extras`, `odometer`...) is not read.
fn json_fix(location: &Value, now: DateTime<Utc>) -> Result<PhoneFix, PhoneError> {
    let Value::Object(location) = location else {
        return Err(PhoneError::Malformed(format!(
            "a location must be an object, not {}",
            json_kind(location)
        )));
    };
    let t = match location.get("timestamp") {
        Some(Value::String(text)) => time_from_text(text)?,
        Some(Value::Number(n)) => time_from_number(n.as_f64().ok_or(PhoneError::NotANumber("timestamp"))?)?,
        None | Some(Value::Null) => return Err(PhoneError::MissingField("timestamp")),
        Some(other) => return Err(PhoneError::BadTime(format!("a time is not {}", json_kind(other)))),
    };
    let coords = object(location, "coords")?.ok_or(PhoneError::MissingField("coords"))?;
    let lat = json_number(coords, "latitude")?.ok_or(PhoneError::MissingField("latitude"))?;
    let lon = json_number(coords, "longitude")?.ok_or(PhoneError::MissingField("longitude"))?;
    let mut fix = PhoneFix::at(t, lat, lon);
    let p = &mut fix.position;
    p.accuracy_m = json_number(coords, "accuracy")?.filter(|a| *a >= 0.0);
    p.speed_mps = json_number(coords, "speed")?.filter(|s| *s >= 0.0);
    p.course_deg = json_number(coords, "heading")?.filter(|c| *c >= 0.0);
    // iOS reports an altitude of 0 with an accuracy of -1 when it has none.
    let altitude_unknown = json_number(coords, "altitude_accuracy")?.is_some_and(|a| a < 0.0);
    p.alt_m = json_number(coords, "altitude")?.filter(|_| !altitude_unknown);
    if let Some(battery) = object(location, "battery")? {
        // A level from 0 to 1, to a hundredth of a percent (0.79 is 79 %, not 79.00000000000001).
        let level = json_number(battery, "level")?.filter(|l| *l >= 0.0);
        fix.battery_pct = level.map(|l| (l * 10_000.0).round() / 100.0);
    }
    fix.checked(now)
}

/// An object field: `None` when absent or null.
fn object<'a>(
    parent: &'a Map<String, Value>,
    key: &'static str,
) -> Result<Option<&'a Map<String, Value>>, PhoneError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(other) => {
            Err(PhoneError::Malformed(format!("`{key}` must be an object, not {}", json_kind(other))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::{seq_from_time, PHONE_ERROR_REASONS};
    use crate::position::Position;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn params(text: &str) -> Result<Report, PhoneError> {
        decode_params(text, now())
    }

    fn json(text: &str) -> Result<Report, PhoneError> {
        decode_json(text.as_bytes(), now())
    }

    fn one_fix(report: Result<Report, PhoneError>) -> PhoneFix {
        let report = report.unwrap();
        assert_eq!(report.fixes.len(), 1, "{report:?}");
        report.fixes.into_iter().next().unwrap()
    }

    /// A position with only what every fix has, at `ms` since 1970.
    fn bare(ms: i64, lat: f64, lon: f64) -> Position {
        let t = DateTime::from_timestamp_millis(ms).unwrap();
        Position::bare(seq_from_time(t), t, lat, lon)
    }

    fn fix(position: Position, battery_pct: Option<f64>) -> PhoneFix {
        PhoneFix { position, battery_pct }
    }

    const JSON_MOTIONCHANGE: &str = include_str!("fixtures/osmand/json_motionchange.json");
    const JSON_EXTRAS: &str = include_str!("fixtures/osmand/json_extras.json");
    const JSON_IOS_SIMULATOR: &str = include_str!("fixtures/osmand/json_ios_simulator.json");
    const JSON_MOVING: &str = include_str!("fixtures/osmand/json_moving.json");
    const JSON_BODIES: [&str; 4] = [JSON_MOTIONCHANGE, JSON_EXTRAS, JSON_IOS_SIMULATOR, JSON_MOVING];

    const QUERY_CELLS_NO_POSITION: &str = include_str!("fixtures/osmand/query_cells_no_position.txt");
    const QUERY_NO_ID: &str = include_str!("fixtures/osmand/query_no_id.txt");
    const QUERY_ISO_TIME: &str = include_str!("fixtures/osmand/query_iso_time.txt");
    const QUERY_MILLIS: &str = include_str!("fixtures/osmand/query_millis.txt");
    const QUERY_SPACE_TIME: &str = include_str!("fixtures/osmand/query_space_time.txt");
    const QUERY_BEARING: &str = include_str!("fixtures/osmand/query_bearing.txt");
    const QUERY_MINIMAL: &str = include_str!("fixtures/osmand/query_minimal.txt");
    const QUERY_DEVICEID_NO_TIME: &str = include_str!("fixtures/osmand/query_deviceid_no_time.txt");
    const QUERY_BATTERY_NO_TIME: &str = include_str!("fixtures/osmand/query_battery_no_time.txt");
    const QUERY_LOCATION: &str = include_str!("fixtures/osmand/query_location.txt");
    const QUERY_EXTRA_FIELDS: &str = include_str!("fixtures/osmand/query_extra_fields.txt");
    const QUERIES: [&str; 11] = [
        QUERY_CELLS_NO_POSITION,
        QUERY_NO_ID,
        QUERY_ISO_TIME,
        QUERY_MILLIS,
        QUERY_SPACE_TIME,
        QUERY_BEARING,
        QUERY_MINIMAL,
        QUERY_DEVICEID_NO_TIME,
        QUERY_BATTERY_NO_TIME,
        QUERY_LOCATION,
        QUERY_EXTRA_FIELDS,
    ];

    #[test]
    fn traccars_json_bodies_decode_to_their_values() {
        let report = json(JSON_MOTIONCHANGE).unwrap();
        assert_eq!(report.device_id, "48241179");
        let position = Position {
            accuracy_m: Some(5.0),
            speed_mps: Some(0.0),
            alt_m: Some(5.0),
            ..bare(1_749_995_112_862, 37.4219983, -122.084)
        };
        assert_eq!(report.fixes, [fix(position.clone(), Some(100.0))]);
        assert_eq!(report.fixes[0].position.seq, 1_749_995_112_862);

        // The same, with extras Convoy does not read.
        assert_eq!(json(JSON_EXTRAS), Ok(report));

        // The iOS simulator: speed, course, altitude and battery all unknown.
        let report = json(JSON_IOS_SIMULATOR).unwrap();
        assert_eq!(report.device_id, "658765");
        let position = Position { accuracy_m: Some(5.0), ..bare(1_746_763_890_579, 37.785834, -122.406417) };
        assert_eq!(report.fixes, [fix(position, None)]);

        let report = json(JSON_MOVING).unwrap();
        assert_eq!(report.device_id, "8737767034");
        let position = Position {
            accuracy_m: Some(3.8),
            speed_mps: Some(18.67),
            course_deg: Some(63.0),
            alt_m: Some(35.7),
            ..bare(1_626_854_794_444, -6.1148096, 106.6837015)
        };
        assert_eq!(report.fixes, [fix(position, Some(79.0))]);
    }

    #[test]
    fn traccars_queries_with_a_position_decode_to_their_values() {
        let report = params(QUERY_ISO_TIME).unwrap();
        assert_eq!(report.device_id, "902064");
        let position = Position {
            hdop: Some(6.0),
            alt_m: Some(224.0),
            speed_mps: Some(0.0),
            ..bare(1_453_920_947_000, 42.06288, -88.23412)
        };
        assert_eq!(report.fixes, [fix(position.clone(), None)]);

        let millis = Position { seq: 1_442_068_686_579, t: bare(1_442_068_686_579, 0.0, 0.0).t, ..position };
        assert_eq!(one_fix(params(QUERY_MILLIS)), fix(millis, None));

        let report = params(QUERY_SPACE_TIME).unwrap();
        assert_eq!(report.device_id, "353861053849681");
        let position = Position {
            alt_m: Some(384.7),
            speed_mps: Some(0.0),
            ..bare(1_401_873_011_000, 49.60688, 6.15788)
        };
        assert_eq!(report.fixes, [fix(position, None)]);

        let report = params(QUERY_BEARING).unwrap();
        assert_eq!(report.device_id, "123456");
        let position = Position {
            speed_mps: Some(0.0),
            course_deg: Some(0.0),
            alt_m: Some(0.0),
            hdop: Some(0.0),
            ..bare(1_377_177_267_000, 60.0, 30.0)
        };
        assert_eq!(report.fixes, [fix(position, None)]);

        let minimal = Report {
            device_id: "123456".into(),
            fixes: vec![fix(bare(1_377_177_267_000, 60.0, 30.0), None)],
        };
        assert_eq!(params(QUERY_MINIMAL), Ok(minimal.clone()));
        assert_eq!(params(QUERY_LOCATION), Ok(minimal));

        let report = params(QUERY_EXTRA_FIELDS).unwrap();
        assert_eq!(report.device_id, "123456789012345");
        let position = Position {
            course_deg: Some(7.19889788244),
            speed_mps: Some(40.0 * 1852.0 / 3600.0),
            ..bare(1_504_763_810_000, 40.7232948571, -74.0061408571)
        };
        assert_eq!(report.fixes, [fix(position, None)]);
        assert!((report.fixes[0].position.speed_mps.unwrap() - 20.577_778).abs() < 1e-6, "40 knots");
    }

    #[test]
    fn traccars_queries_without_a_time_or_a_position_are_refused() {
        // Traccar stamps these with its own clock; Convoy needs the phone's, for the key.
        assert_eq!(params(QUERY_DEVICEID_NO_TIME), Err(PhoneError::MissingField("timestamp")));
        assert_eq!(params(QUERY_BATTERY_NO_TIME), Err(PhoneError::MissingField("timestamp")));
        // Cells and Wi-Fi access points only (repeated, as the protocol does): no position.
        assert_eq!(params(QUERY_CELLS_NO_POSITION), Err(PhoneError::MissingField("lat")));
        assert_eq!(params(QUERY_NO_ID), Err(PhoneError::MissingField("id")));
        // The battery of the query without a time, once it has one.
        let with_time = format!("{QUERY_BATTERY_NO_TIME}&timestamp=1377177267");
        let f = one_fix(params(&with_time));
        assert_eq!((f.battery_pct, f.position.alt_m), (Some(87.0), Some(350.059479)));
        let with_time = format!("{QUERY_DEVICEID_NO_TIME}&timestamp=1377177267");
        let f = one_fix(params(&with_time));
        assert_eq!((f.position.accuracy_m, f.position.course_deg), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn an_invalid_location_gives_a_report_with_no_fixes() {
        for valid in ["false", "0"] {
            let text = format!("id=123456&valid={valid}&lat=0&lon=0");
            assert_eq!(params(&text), Ok(Report { device_id: "123456".into(), fixes: Vec::new() }));
        }
        for valid in ["true", "1"] {
            let text = format!("id=123456&valid={valid}&lat=1&lon=2&timestamp=1377177267");
            assert_eq!(params(&text).unwrap().fixes.len(), 1);
        }
        assert_eq!(params("id=1&valid=yes&lat=1&lon=2&timestamp=1").unwrap_err().reason(), "malformed");
        assert_eq!(params("valid=false").unwrap_err(), PhoneError::MissingField("id"));
    }

    #[test]
    fn unknown_values_are_none() {
        let f =
            one_fix(params("id=1&lat=1&lon=2&timestamp=1377177267&speed=-1&bearing=-1&accuracy=-1&batt=-1"));
        assert_eq!(f, fix(bare(1_377_177_267_000, 1.0, 2.0), None));
        let f = one_fix(params("id=1&lat=1&lon=2&timestamp=1377177267&speed=&bearing=&altitude=&hdop="));
        assert_eq!(f, fix(bare(1_377_177_267_000, 1.0, 2.0), None));
        let f = one_fix(params("id=1&lat=1&lon=2&timestamp=1377177267&heading=90.5&hacc=12&batt=55.5"));
        assert_eq!(
            (f.position.course_deg, f.position.accuracy_m, f.battery_pct),
            (Some(90.5), Some(12.0), Some(55.5))
        );
    }

    #[test]
    fn percent_encoding_and_plus_are_decoded() {
        let f = one_fix(params("id=jane%2Dphone&lat=%2B1.5&lon=2&timestamp=2014-06-04%2009:10:11"));
        assert_eq!(f.position.lat, 1.5);
        assert_eq!(f.position.t, Utc.with_ymd_and_hms(2014, 6, 4, 9, 10, 11).unwrap());
        assert_eq!(params("id=jane+phone&lat=1&lon=2&timestamp=1").unwrap_err().reason(), "bad_device_id");
        assert_eq!(params("id=%FF&lat=1&lon=2&timestamp=1").unwrap_err().reason(), "bad_device_id");
    }

    #[test]
    fn a_parameter_given_twice_is_refused_and_named() {
        let repeated = |text: &str| match params(text) {
            Err(PhoneError::RepeatedParameter(name)) => name,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(repeated("id=1&lat=1&lat=2&lon=2&timestamp=1"), "lat");
        assert_eq!(repeated("id=1&lat=1&lon=2&timestamp=1&timestamp=2"), "timestamp");
        assert_eq!(repeated("id=1&deviceid=2&lat=1&lon=2&timestamp=1"), "deviceid");
        assert_eq!(repeated("id=1&id=1&lat=1&lon=2&timestamp=1"), "id");
        assert_eq!(repeated("id=1&lat=1&lon=2&timestamp=1&bearing=1&heading=1"), "heading");
        assert_eq!(repeated("id=1&lat=1&lon=2&timestamp=1&accuracy=1&hacc=1"), "hacc");
        assert_eq!(repeated("id=1&lat=1&lon=2&location=1,2&timestamp=1"), "location");
        assert_eq!(repeated("id=1&lat=&lat=1&lon=2&timestamp=1"), "lat");
        assert_eq!(repeated("id=1&lat=1&lon=2&timestamp=1&valid=1&valid=1"), "valid");
        // Parameters Convoy does not read may repeat.
        assert!(params("id=1&lat=1&lon=2&timestamp=1&cell=1&cell=2&x=&x=").is_ok());
    }

    #[test]
    fn numbers_that_are_not_numbers_are_refused() {
        for (name, value) in [
            ("lat", "abc"),
            ("lon", "NaN"),
            ("speed", "fast"),
            ("speed", "NaN"),
            ("speed", "inf"),
            ("speed", "1e999"),
            ("speed", "true"),
            ("bearing", "north"),
            ("altitude", "1,5"),
            ("accuracy", "5m"),
            ("hdop", "0x1"),
            ("batt", "87%"),
        ] {
            let base = [("id", "1"), ("lat", "1"), ("lon", "2"), ("timestamp", "1377177267")];
            let others = base.iter().filter(|(n, _)| *n != name).map(|(n, v)| format!("{n}={v}"));
            let text = others.chain([format!("{name}={value}")]).collect::<Vec<_>>().join("&");
            assert_eq!(params(&text), Err(PhoneError::NotANumber(name)), "{text}");
        }
        assert_eq!(params("id=1&location=a,2&timestamp=1"), Err(PhoneError::NotANumber("location")));
        assert_eq!(params("id=1&location=1,2,3&timestamp=1"), Err(PhoneError::NotANumber("location")));
        assert_eq!(params("id=1&location=1&timestamp=1").unwrap_err().reason(), "malformed");
    }

    #[test]
    fn required_parameters_are_named() {
        assert_eq!(params(""), Err(PhoneError::MissingField("id")));
        assert_eq!(params("id=&lat=1&lon=2&timestamp=1"), Err(PhoneError::MissingField("id")));
        assert_eq!(params("id=1&lon=2&timestamp=1"), Err(PhoneError::MissingField("lat")));
        assert_eq!(params("id=1&lat=1&timestamp=1"), Err(PhoneError::MissingField("lon")));
        assert_eq!(params("id=1&lat=1&lon=2"), Err(PhoneError::MissingField("timestamp")));
        assert_eq!(params("id=1&lat=1&lon=2&timestamp="), Err(PhoneError::MissingField("timestamp")));
        // With the '?', the first parameter is "?id", which Convoy does not read.
        assert_eq!(params("?id=1&lat=1&lon=2&timestamp=1"), Err(PhoneError::MissingField("id")));
    }

    #[test]
    fn out_of_range_positions_and_times_are_refused() {
        let reason = |text: &str| params(text).unwrap_err().reason();
        assert_eq!(reason("id=1&lat=90.1&lon=2&timestamp=1"), "latitude_out_of_range");
        assert_eq!(reason("id=1&lat=1&lon=-180.1&timestamp=1"), "longitude_out_of_range");
        assert_eq!(reason("id=1&location=91,2&timestamp=1"), "latitude_out_of_range");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=1&bearing=400"), "field_out_of_range");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=1&hdop=-1"), "field_out_of_range");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=1&batt=150"), "field_out_of_range");
        let ahead = now().timestamp() + 301;
        assert_eq!(reason(&format!("id=1&lat=1&lon=2&timestamp={ahead}")), "future_fix");
        assert_eq!(reason(&format!("id=1&lat=1&lon=2&timestamp={}", ahead * 1000)), "future_fix");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=2099-01-01T00:00:00Z"), "future_fix");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=-5"), "bad_time");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=1969-12-31T23:59:59Z"), "bad_time");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=yesterday"), "bad_time");
        assert_eq!(reason("id=1&lat=1&lon=2&timestamp=99999999999999999999999"), "bad_time");
    }

    #[test]
    fn bad_device_ids_are_refused() {
        for id in ["%20", "a%2Fb", "a+b", "%2B", "%23", "%C3%A9", &"x".repeat(65)] {
            let text = format!("id={id}&lat=1&lon=2&timestamp=1");
            assert_eq!(params(&text).unwrap_err().reason(), "bad_device_id", "{id}");
        }
        for id in [r#""""#, r#""a/b""#, "48241179", "true", "{}"] {
            let text = format!(r#"{{"device_id":{id},"location":{{}}}}"#);
            assert_eq!(json(&text).unwrap_err().reason(), "bad_device_id", "{id}");
        }
        assert!(params(&format!("id={}&lat=1&lon=2&timestamp=1", "x".repeat(64))).is_ok());
    }

    #[test]
    fn bodies_over_the_limit_are_refused() {
        let huge = format!("id=1&lat=1&lon=2&timestamp=1&pad={}", "x".repeat(MAX_PHONE_PAYLOAD_BYTES));
        assert_eq!(params(&huge), Err(PhoneError::TooLarge(huge.len())));
        let huge = vec![b' '; MAX_PHONE_PAYLOAD_BYTES + 1];
        assert_eq!(decode_json(&huge, now()), Err(PhoneError::TooLarge(MAX_PHONE_PAYLOAD_BYTES + 1)));
    }

    fn location(fields: &str) -> String {
        format!(r#"{{"device_id":"48241179","location":{{{fields}}}}}"#)
    }

    const COORDS: &str = r#""coords":{"latitude":1,"longitude":2}"#;

    #[test]
    fn json_batches_give_one_fix_per_location() {
        let one = format!(r#"{{"timestamp":"2025-06-15T13:45:12.862Z",{COORDS}}}"#);
        let two = format!(r#"{{"timestamp":"2025-06-15T13:45:13Z",{COORDS},"battery":{{"level":0.5}}}}"#);
        let body = format!(r#"{{"device_id":"48241179","location":[{one},{two}]}}"#);
        let report = json(&body).unwrap();
        let seqs: Vec<_> = report.fixes.iter().map(|f| f.position.seq).collect();
        assert_eq!(seqs, [1_749_995_112_862, 1_749_995_113_000]);
        assert_eq!(report.fixes[1].battery_pct, Some(50.0));
        assert_eq!(
            json(r#"{"device_id":"a","location":[]}"#),
            Ok(Report { device_id: "a".into(), fixes: vec![] })
        );
        let many =
            format!(r#"{{"device_id":"a","location":[{}]}}"#, vec!["1"; MAX_BATCH_LOCATIONS + 1].join(","));
        assert_eq!(json(&many).unwrap_err().reason(), "malformed");
        // One bad location refuses the batch.
        let bad = format!(
            r#"{{"device_id":"a","location":[{one},{{"timestamp":"2099-01-01T00:00:00Z",{COORDS}}}]}}"#
        );
        assert_eq!(json(&bad).unwrap_err().reason(), "future_fix");
    }

    #[test]
    fn json_times_may_be_numbers() {
        let f = one_fix(json(&location(&format!(r#""timestamp":1377177267,{COORDS}"#))));
        assert_eq!(f.position.seq, 1_377_177_267_000);
        let f = one_fix(json(&location(&format!(r#""timestamp":1442068686579,{COORDS}"#))));
        assert_eq!(f.position.seq, 1_442_068_686_579);
    }

    #[test]
    fn bad_json_bodies_are_refused_and_named() {
        let err = |text: &str| json(text).unwrap_err();
        for bad in ["", "not json", "[]", "null", r#"{"device_id":"a","location":{}"#] {
            assert_eq!(err(bad).reason(), "malformed", "{bad:?}");
        }
        assert_eq!(decode_json(b"{\"device_id\":\"\xff\"}", now()).unwrap_err().reason(), "malformed");
        assert_eq!(err(r#"{"location":{}}"#), PhoneError::MissingField("device_id"));
        assert_eq!(err(r#"{"device_id":"a"}"#), PhoneError::MissingField("location"));
        assert_eq!(err(r#"{"device_id":"a","location":"here"}"#).reason(), "malformed");
        assert_eq!(err(r#"{"device_id":"a","location":[1]}"#).reason(), "malformed");
        assert_eq!(err(&location(COORDS)), PhoneError::MissingField("timestamp"));
        assert_eq!(
            err(&location(r#""timestamp":"2025-06-15T13:45:12Z""#)),
            PhoneError::MissingField("coords")
        );
        let at = |coords: &str| {
            err(&location(&format!(r#""timestamp":"2025-06-15T13:45:12Z","coords":{coords}"#)))
        };
        assert_eq!(at(r#"{"longitude":2}"#), PhoneError::MissingField("latitude"));
        assert_eq!(at(r#"{"latitude":1}"#), PhoneError::MissingField("longitude"));
        assert_eq!(at(r#"{"latitude":"1","longitude":2}"#), PhoneError::NotANumber("latitude"));
        assert_eq!(at(r#"{"latitude":1,"longitude":2,"speed":"fast"}"#), PhoneError::NotANumber("speed"));
        assert_eq!(at(r#"{"latitude":1,"longitude":2,"heading":true}"#), PhoneError::NotANumber("heading"));
        assert_eq!(at(r#"{"latitude":95,"longitude":2}"#).reason(), "latitude_out_of_range");
        assert_eq!(at(r#"{"latitude":1,"longitude":200}"#).reason(), "longitude_out_of_range");
        assert_eq!(at(r#"{"latitude":1,"longitude":2,"heading":361}"#).reason(), "field_out_of_range");
        assert_eq!(at("[1,2]").reason(), "malformed");
        let time = |t: &str| err(&location(&format!(r#""timestamp":{t},{COORDS}"#))).reason();
        assert_eq!(time(r#""2099-01-01T00:00:00Z""#), "future_fix");
        assert_eq!(time(r#""1969-01-01T00:00:00Z""#), "bad_time");
        assert_eq!(time(r#""soon""#), "bad_time");
        assert_eq!(time("true"), "bad_time");
        assert_eq!(time("-1"), "bad_time");
        let battery = |b: &str| err(&location(&format!(r#""timestamp":1,{COORDS},"battery":{b}"#)));
        assert_eq!(battery("1").reason(), "malformed");
        assert_eq!(battery(r#"{"level":"full"}"#), PhoneError::NotANumber("level"));
        assert_eq!(battery(r#"{"level":1.5}"#).reason(), "field_out_of_range");
    }

    fn assert_known_reason(result: &Result<Report, PhoneError>) {
        if let Err(e) = result {
            assert!(PHONE_ERROR_REASONS.contains(&e.reason()), "{e:?}");
        }
    }

    mod properties {
        use super::*;
        use crate::phone::tests::mutated;
        use proptest::prelude::*;

        /// A query as Traccar Client writes it, from the values it should decode to.
        #[derive(Debug, Clone)]
        struct Made {
            id: String,
            timestamp_ms: i64,
            in_millis: bool,
            lat: f64,
            lon: f64,
            speed_knots: Option<f64>,
            bearing: Option<f64>,
            altitude: Option<f64>,
            accuracy: Option<f64>,
            batt: Option<f64>,
        }

        fn made() -> impl Strategy<Value = Made> {
            (
                "[A-Za-z0-9._-]{1,64}",
                (0i64..=now().timestamp() + 299, 0i64..1000, any::<bool>()),
                (-90.0f64..=90.0, -180.0f64..=180.0),
                proptest::option::of(0.0f64..200.0),
                proptest::option::of(0.0f64..=360.0),
                proptest::option::of(-400.0f64..9000.0),
                proptest::option::of(0.0f64..5000.0),
                proptest::option::of(0.0f64..=100.0),
            )
                .prop_map(
                    |(
                        id,
                        (seconds, ms, in_millis),
                        (lat, lon),
                        speed_knots,
                        bearing,
                        altitude,
                        accuracy,
                        batt,
                    )| {
                        Made {
                            id,
                            timestamp_ms: seconds * 1000 + if in_millis { ms } else { 0 },
                            in_millis,
                            lat,
                            lon,
                            speed_knots,
                            bearing,
                            altitude,
                            accuracy,
                            batt,
                        }
                    },
                )
                .prop_filter("within five minutes of now", |m| {
                    m.timestamp_ms <= (now().timestamp() + 299) * 1000
                })
        }

        fn query(m: &Made) -> String {
            let timestamp = if m.in_millis && m.timestamp_ms > 100_000_000_000 {
                m.timestamp_ms
            } else {
                m.timestamp_ms / 1000
            };
            let mut pairs = form_urlencoded::Serializer::new(String::new());
            pairs.append_pair("id", &m.id);
            pairs.append_pair("timestamp", &timestamp.to_string());
            pairs.append_pair("lat", &m.lat.to_string());
            pairs.append_pair("lon", &m.lon.to_string());
            let optional = [
                ("speed", m.speed_knots),
                ("bearing", m.bearing),
                ("altitude", m.altitude),
                ("accuracy", m.accuracy),
                ("batt", m.batt),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    pairs.append_pair(name, &value.to_string());
                }
            }
            pairs.finish()
        }

        proptest! {
            #[test]
            fn valid_queries_round_trip_to_the_values_they_were_made_from(m in made()) {
                let report = decode_params(&query(&m), now());
                let Ok(Report { device_id, fixes }) = report else {
                    return Err(TestCaseError::fail(format!("{report:?}")));
                };
                prop_assert_eq!(device_id, m.id.clone());
                let ms = if m.in_millis && m.timestamp_ms > 100_000_000_000 {
                    m.timestamp_ms
                } else {
                    m.timestamp_ms / 1000 * 1000
                };
                let position = Position {
                    speed_mps: m.speed_knots.map(|k| k * KNOT_MPS),
                    course_deg: m.bearing,
                    alt_m: m.altitude,
                    accuracy_m: m.accuracy,
                    ..bare(ms, m.lat, m.lon)
                };
                prop_assert_eq!(fixes, vec![fix(position, m.batt)]);
            }

            #[test]
            fn arbitrary_strings_never_panic(text in any::<String>()) {
                assert_known_reason(&decode_params(&text, now()));
            }

            #[test]
            fn arbitrary_parameters_never_panic(
                text in "((id|deviceid|lat|lon|location|timestamp|speed|bearing|heading|altitude|accuracy|hacc|hdop|batt|valid|x)=[-+0-9.,:eTZ%a-f]{0,12}&?){0,10}"
            ) {
                assert_known_reason(&decode_params(&text, now()));
            }

            #[test]
            fn arbitrary_bytes_never_panic_as_json(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                assert_known_reason(&decode_json(&bytes, now()));
            }

            #[test]
            fn mutated_real_json_bodies_never_panic(bytes in mutated(&JSON_BODIES)) {
                assert_known_reason(&decode_json(&bytes, now()));
            }

            #[test]
            fn mutated_real_queries_never_panic(bytes in mutated(&QUERIES)) {
                assert_known_reason(&decode_params(&String::from_utf8_lossy(&bytes), now()));
            }
        }
    }
}
