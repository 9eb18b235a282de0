//! OwnTracks messages (<https://owntracks.org/booklet/tech/json/>), as the apps publish them on
//! `owntracks/USER/DEVICE` over MQTT or POST them over HTTP (the same JSON, with a `topic`).
//!
//! Every message names its kind in `_type`. Only a `location` carries a fix; the others (the
//! broker's `lwt`, `transition`, `card`, `waypoint`s, `status`, `steps`, `beacon`, `cmd`,
//! `configuration`...) are accepted as [`Message::Other`], so a phone that sends them is not
//! counted as faulty, and nothing of them is stored. An `encrypted` message is refused: Convoy
//! holds no key, and a phone set up to encrypt would otherwise look silent.
//!
//! A location is `lat`, `lon` and `tst` (seconds since 1970; the apps send an integer, a
//! fraction is accepted), and may add `acc` (metres), `alt` (metres), `vel` (km/h), `cog`
//! (degrees) and `batt` (percent). The apps leave `acc`, `alt`, `cog` and `vel` out when they
//! are zero or unknown, so an absent field stays `None`. A negative `vel` or `batt` is the
//! platform's "unknown" (the booklet's Recorder example sends `"batt": -1`) and becomes `None`.
//! The numbers must be JSON numbers: the strings the apps sent before 2015 are refused.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{excerpt, json_number, json_object, time_from_seconds, PhoneError, PhoneFix};

/// What ingest subscribes to.
pub const FILTER: &str = "owntracks/+/+";

/// A message of the OwnTracks apps.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Location(Location),
    /// Any other `_type` (its first 64 characters): accepted, with nothing to store.
    Other {
        kind: String,
    },
}

/// A `location` message.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub fix: PhoneFix,
    /// The topic it was published on, which the apps add in HTTP mode
    /// (`owntracks/USER/DEVICE`; see [`parse_topic`]).
    pub topic: Option<String>,
    /// The tracker id, a short name the apps show on their maps.
    pub tid: Option<String>,
}

/// Decodes and validates one message; `now` is the receiving clock, for the future-time check.
pub fn decode(payload: &[u8], now: DateTime<Utc>) -> Result<Message, PhoneError> {
    let object = json_object(payload)?;
    match object.get("_type") {
        Some(Value::String(kind)) => match kind.as_str() {
            "location" => decode_location(&object, now).map(Message::Location),
            "encrypted" => Err(PhoneError::Encrypted),
            _ => Ok(Message::Other { kind: excerpt(kind) }),
        },
        Some(_) => Err(PhoneError::Malformed("`_type` must be a string".into())),
        None => Err(PhoneError::Malformed("missing field `_type`".into())),
    }
}

fn decode_location(object: &Map<String, Value>, now: DateTime<Utc>) -> Result<Location, PhoneError> {
    let lat = json_number(object, "lat")?.ok_or(PhoneError::MissingField("lat"))?;
    let lon = json_number(object, "lon")?.ok_or(PhoneError::MissingField("lon"))?;
    let tst = json_number(object, "tst")?.ok_or(PhoneError::MissingField("tst"))?;
    let mut fix = PhoneFix::at(time_from_seconds(tst)?, lat, lon);
    let p = &mut fix.position;
    p.accuracy_m = json_number(object, "acc")?;
    p.alt_m = json_number(object, "alt")?;
    p.speed_mps = json_number(object, "vel")?.filter(|v| *v >= 0.0).map(|kmh| kmh / 3.6);
    p.course_deg = json_number(object, "cog")?;
    fix.battery_pct = json_number(object, "batt")?.filter(|b| *b >= 0.0);
    Ok(Location { fix: fix.checked(now)?, topic: text(object, "topic")?, tid: text(object, "tid")? })
}

/// A string field: `None` when absent or null.
fn text(object: &Map<String, Value>, key: &str) -> Result<Option<String>, PhoneError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PhoneError::Malformed(format!("`{key}` must be a string"))),
    }
}

/// Splits `owntracks/USER/DEVICE` into its user and device; `None` for anything else: the
/// sub-topics (`.../event`, `.../cmd`...), another prefix, an empty level, or a wildcard.
/// The parts are returned raw: the caller decides which users and devices it knows.
pub fn parse_topic(topic: &str) -> Option<(&str, &str)> {
    let (user, device) = topic.strip_prefix("owntracks/")?.split_once('/')?;
    let plain = |level: &str| !level.is_empty() && !level.contains(['/', '+', '#']);
    (plain(user) && plain(device)).then_some((user, device))
}

/// Where a device publishes its locations: `owntracks/{user}/{device}`.
pub fn topic(user: &str, device: &str) -> String {
    format!("owntracks/{user}/{device}")
}

/// Where a device listens for commands (`reportLocation`...): `owntracks/{user}/{device}/cmd`.
pub fn command_topic(user: &str, device: &str) -> String {
    format!("owntracks/{user}/{device}/cmd")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::{seq_from_time, MAX_PHONE_PAYLOAD_BYTES, PHONE_ERROR_REASONS};
    use crate::position::Position;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn decode_text(text: &str) -> Result<Message, PhoneError> {
        decode(text.as_bytes(), now())
    }

    fn location(text: &str) -> Location {
        match decode_text(text) {
            Ok(Message::Location(location)) => location,
            other => panic!("not a location: {other:?}"),
        }
    }

    fn reason(text: &str) -> &'static str {
        decode_text(text).unwrap_err().reason()
    }

    /// A position with only what every location has.
    fn bare(tst: i64, lat: f64, lon: f64) -> Position {
        let t = DateTime::from_timestamp(tst, 0).unwrap();
        Position::bare(seq_from_time(t), t, lat, lon)
    }

    const QUICKSETUP_MQTT: &str = include_str!("fixtures/owntracks/quicksetup_mqtt.json");
    const QUICKSETUP_RECORDER: &str = include_str!("fixtures/owntracks/quicksetup_recorder.json");
    const TRACCAR_TID: &str = include_str!("fixtures/owntracks/traccar_tid.json");
    const TRACCAR_TOPIC_WITHOUT_TST: &str = include_str!("fixtures/owntracks/traccar_topic_without_tst.json");
    const TRACCAR_HTTP: &str = include_str!("fixtures/owntracks/traccar_http.json");
    const POI_IMAGE: &str = include_str!("fixtures/owntracks/poi_image.json");
    const LUA_BATTERY_UNKNOWN: &str = include_str!("fixtures/owntracks/lua_battery_unknown.json");

    const REAL_PAYLOADS: [&str; 7] = [
        QUICKSETUP_MQTT,
        QUICKSETUP_RECORDER,
        TRACCAR_TID,
        TRACCAR_TOPIC_WITHOUT_TST,
        TRACCAR_HTTP,
        POI_IMAGE,
        LUA_BATTERY_UNKNOWN,
    ];

    #[test]
    fn the_booklets_mqtt_location_decodes_to_its_values() {
        let l = location(QUICKSETUP_MQTT);
        let position =
            Position { alt_m: Some(154.0), speed_mps: Some(0.0), ..bare(1706856298, 48.856826, 2.292713) };
        assert_eq!(l.fix, PhoneFix { position, battery_pct: Some(53.0) });
        assert_eq!(l.fix.position.seq, 1_706_856_298_000);
        assert_eq!((l.topic, l.tid.as_deref()), (None, Some("j1")));

        let l = location(QUICKSETUP_RECORDER);
        assert_eq!(l.fix.position.t, Utc.with_ymd_and_hms(2024, 2, 2, 7, 15, 49).unwrap());
        assert_eq!(l.fix.battery_pct, Some(53.0));
    }

    #[test]
    fn the_booklets_http_locations_decode_to_their_values() {
        let l = location(TRACCAR_HTTP);
        let position = Position {
            accuracy_m: Some(5.0),
            alt_m: Some(167.0),
            speed_mps: Some(61.0 / 3.6),
            course_deg: Some(271.0),
            ..bare(1497508651, 48.85833, 2.29513)
        };
        assert_eq!(l.fix, PhoneFix { position, battery_pct: Some(41.0) });
        assert!((l.fix.position.speed_mps.unwrap() - 16.944_444).abs() < 1e-6);
        assert_eq!(l.topic.as_deref(), Some("owntracks/jane/iphone"));
        assert_eq!(l.tid.as_deref(), Some("JJ"));

        let l = location(TRACCAR_TID);
        assert_eq!(l.fix, PhoneFix { position: bare(1497476456, 48.85833, 2.29513), battery_pct: None });
        assert_eq!((l.topic, l.tid.as_deref()), (None, Some("JJ")));

        // The booklet's second example leaves out the fix time, which Convoy needs.
        assert_eq!(decode_text(TRACCAR_TOPIC_WITHOUT_TST), Err(PhoneError::MissingField("tst")));
    }

    #[test]
    fn the_booklets_poi_and_recorder_examples_decode_to_their_values() {
        let l = location(POI_IMAGE);
        let position =
            Position { accuracy_m: Some(5.0), alt_m: Some(0.0), ..bare(1734377712, 52.085284, 5.120975) };
        assert_eq!(l.fix, PhoneFix { position, battery_pct: None });

        // `"batt": -1`: the app could not read the battery.
        let l = location(LUA_BATTERY_UNKNOWN);
        assert_eq!(l.fix, PhoneFix { position: bare(1441984413, 48.85833, 2.29513), battery_pct: None });
    }

    #[test]
    fn a_fraction_of_a_second_is_kept_to_the_millisecond() {
        let l = location(r#"{"_type":"location","lat":1,"lon":2,"tst":1706856298.25}"#);
        assert_eq!(l.fix.position.seq, 1_706_856_298_250);
        assert_eq!(l.fix.position.t, DateTime::from_timestamp_millis(1_706_856_298_250).unwrap());
    }

    #[test]
    fn other_kinds_are_accepted_with_nothing_to_store() {
        for kind in ["lwt", "transition", "card", "waypoint", "waypoints", "status", "steps", "beacon", "cmd"]
        {
            let text = format!(r#"{{"_type":"{kind}","tst":1380738247}}"#);
            assert_eq!(decode_text(&text), Ok(Message::Other { kind: kind.into() }));
        }
        assert_eq!(
            decode_text(r#"{"_type":"configuration","mode":0,"waypoints":[]}"#),
            Ok(Message::Other { kind: "configuration".into() })
        );
        // A card's face image may be large, but under the limit it is simply not read.
        let card = format!(r#"{{"_type":"card","name":"Jane","face":"{}"}}"#, "A".repeat(60_000));
        assert_eq!(decode_text(&card), Ok(Message::Other { kind: "card".into() }));
    }

    #[test]
    fn a_message_without_a_kind_or_encrypted_is_refused() {
        assert_eq!(reason(r#"{"lat":1,"lon":2,"tst":1}"#), "malformed");
        assert_eq!(reason(r#"{"_type":7,"lat":1,"lon":2,"tst":1}"#), "malformed");
        assert_eq!(reason(r#"{"_type":null,"lat":1,"lon":2,"tst":1}"#), "malformed");
        assert_eq!(decode_text(r#"{"_type":"encrypted","data":"aGVsbG8="}"#), Err(PhoneError::Encrypted));
    }

    #[test]
    fn missing_required_fields_are_named() {
        assert_eq!(
            decode_text(r#"{"_type":"location","lon":2,"tst":1}"#),
            Err(PhoneError::MissingField("lat"))
        );
        assert_eq!(
            decode_text(r#"{"_type":"location","lat":1,"tst":1}"#),
            Err(PhoneError::MissingField("lon"))
        );
        assert_eq!(
            decode_text(r#"{"_type":"location","lat":1,"lon":2,"tst":null}"#),
            Err(PhoneError::MissingField("tst"))
        );
    }

    #[test]
    fn numbers_that_are_not_numbers_are_refused() {
        let with = |field: &str, value: &str| {
            let mut object: Map<String, Value> =
                serde_json::from_str(r#"{"_type":"location","lat":1,"lon":2,"tst":1700000000}"#).unwrap();
            object.insert(field.into(), serde_json::from_str(value).unwrap());
            decode_text(&Value::Object(object).to_string())
        };
        for field in ["lat", "lon", "tst", "acc", "alt", "vel", "cog", "batt"] {
            for value in [r#""12""#, r#""abc""#, r#""NaN""#, "true", "[1]", "{}"] {
                assert_eq!(with(field, value), Err(PhoneError::NotANumber(field)), "{field}: {value}");
            }
        }
        assert_eq!(with("tid", "5").unwrap_err().reason(), "malformed");
        assert_eq!(with("topic", "[]").unwrap_err().reason(), "malformed");
        // JSON itself has no NaN, and a number too large for a double is a syntax error.
        assert_eq!(reason(r#"{"_type":"location","lat":NaN,"lon":2,"tst":1}"#), "malformed");
        assert_eq!(reason(r#"{"_type":"location","lat":1e999,"lon":2,"tst":1}"#), "malformed");
    }

    #[test]
    fn positions_out_of_range_are_refused_with_the_agents_reasons() {
        let at = |fields: &str| reason(&format!(r#"{{"_type":"location","tst":1700000000,{fields}}}"#));
        assert_eq!(at(r#""lat":90.5,"lon":2"#), "latitude_out_of_range");
        assert_eq!(at(r#""lat":-91,"lon":2"#), "latitude_out_of_range");
        assert_eq!(at(r#""lat":1,"lon":180.01"#), "longitude_out_of_range");
        assert_eq!(at(r#""lat":1,"lon":2,"cog":361"#), "field_out_of_range");
        assert_eq!(at(r#""lat":1,"lon":2,"cog":-1"#), "field_out_of_range");
        assert_eq!(at(r#""lat":1,"lon":2,"acc":-5"#), "field_out_of_range");
        assert_eq!(at(r#""lat":1,"lon":2,"batt":101"#), "field_out_of_range");
        let edges = r#"{"_type":"location","tst":1700000000,"lat":-90,"lon":180,"cog":360,"batt":100}"#;
        assert_eq!(location(edges).fix.position.course_deg, Some(360.0));
        // A negative speed is the platform's "unknown".
        let unknown = r#"{"_type":"location","tst":1700000000,"lat":1,"lon":2,"vel":-1}"#;
        assert_eq!(location(unknown).fix.position.speed_mps, None);
    }

    #[test]
    fn times_far_ahead_before_1970_or_absurd_are_refused() {
        let at = |tst: &str| reason(&format!(r#"{{"_type":"location","lat":1,"lon":2,"tst":{tst}}}"#));
        let now = now().timestamp();
        assert_eq!(at(&(now + 301).to_string()), "future_fix");
        assert!(
            decode_text(&format!(r#"{{"_type":"location","lat":1,"lon":2,"tst":{}}}"#, now + 299)).is_ok()
        );
        // Milliseconds by mistake: the year 56000, not a clock's mistake but garbage.
        assert_eq!(at("1706856298000"), "bad_time");
        assert_eq!(at("253402300800"), "bad_time");
        assert_eq!(at("253402300799"), "future_fix");
        assert_eq!(at("-1"), "bad_time");
        assert_eq!(at("1e300"), "bad_time");
        assert_eq!(at("18446744073709551615"), "bad_time");
    }

    #[test]
    fn bodies_over_the_limit_or_not_json_objects_are_refused() {
        let huge = vec![b' '; MAX_PHONE_PAYLOAD_BYTES + 1];
        assert_eq!(decode(&huge, now()), Err(PhoneError::TooLarge(MAX_PHONE_PAYLOAD_BYTES + 1)));
        for bad in ["", "not json", "[]", "null", "42", r#""location""#, r#"{"_type":"location""#] {
            assert_eq!(reason(bad), "malformed", "{bad:?}");
        }
        assert_eq!(decode(b"{\"_type\":\"loc\xffation\"}", now()).unwrap_err().reason(), "malformed");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(reason(&deep), "malformed");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let text = r#"{"_type":"location","lat":1,"lon":2,"tst":1700000000,"inregions":["Home"],"SSID":"x","p":101.2,"m":1}"#;
        assert_eq!(location(text).fix.position, bare(1700000000, 1.0, 2.0));
    }

    #[test]
    fn topics_are_split_into_user_and_device() {
        assert_eq!(parse_topic("owntracks/jane/phone"), Some(("jane", "phone")));
        assert_eq!(parse_topic(&topic("jane", "nokia")), Some(("jane", "nokia")));
        assert_eq!(command_topic("jane", "phone"), "owntracks/jane/phone/cmd");
        for other in [
            "owntracks/jane/phone/event",
            "owntracks/jane/phone/cmd",
            "owntracks/jane/phone/",
            "owntracks/jane",
            "owntracks/jane/",
            "owntracks//phone",
            "owntracks/+/+",
            "owntracks/jane/#",
            "owntracks/ja+ne/phone",
            "OwnTracks/jane/phone",
            "convoy/v1/vehicles/truck-07/positions",
            "/owntracks/jane/phone",
            "",
        ] {
            assert_eq!(parse_topic(other), None, "{other:?}");
        }
        assert_eq!(FILTER, "owntracks/+/+");
    }

    fn assert_known_reason(result: &Result<Message, PhoneError>) {
        if let Err(e) = result {
            assert!(PHONE_ERROR_REASONS.contains(&e.reason()), "{e:?}");
        }
    }

    mod properties {
        use super::*;
        use crate::phone::tests::mutated;
        use proptest::prelude::*;

        /// A location as the apps write it, from the values it should decode to.
        #[derive(Debug, Clone)]
        struct Made {
            tst: i64,
            lat: f64,
            lon: f64,
            acc: Option<u32>,
            alt: Option<i32>,
            vel: Option<u32>,
            cog: Option<u32>,
            batt: Option<u8>,
            tid: Option<String>,
        }

        fn made() -> impl Strategy<Value = Made> {
            (
                0i64..=now().timestamp() + 299,
                -90.0f64..=90.0,
                -180.0f64..=180.0,
                proptest::option::of(0u32..5000),
                proptest::option::of(-400i32..9000),
                proptest::option::of(0u32..400),
                proptest::option::of(0u32..=360),
                proptest::option::of(0u8..=100),
                proptest::option::of("[A-Za-z0-9]{1,2}"),
            )
                .prop_map(|(tst, lat, lon, acc, alt, vel, cog, batt, tid)| Made {
                    tst,
                    lat,
                    lon,
                    acc,
                    alt,
                    vel,
                    cog,
                    batt,
                    tid,
                })
        }

        fn payload(m: &Made) -> Vec<u8> {
            let mut object =
                serde_json::json!({"_type": "location", "tst": m.tst, "lat": m.lat, "lon": m.lon});
            let fields = [
                ("acc", m.acc.map(Value::from)),
                ("alt", m.alt.map(Value::from)),
                ("vel", m.vel.map(Value::from)),
                ("cog", m.cog.map(Value::from)),
                ("batt", m.batt.map(Value::from)),
                ("tid", m.tid.clone().map(Value::from)),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    object[key] = value;
                }
            }
            serde_json::to_vec(&object).unwrap()
        }

        proptest! {
            #[test]
            fn valid_locations_round_trip_to_the_values_they_were_made_from(m in made()) {
                let decoded = decode(&payload(&m), now());
                let Ok(Message::Location(l)) = decoded else {
                    return Err(TestCaseError::fail(format!("{decoded:?}")));
                };
                let t = DateTime::from_timestamp(m.tst, 0).unwrap();
                let position = Position {
                    seq: m.tst as u64 * 1000,
                    t,
                    lat: m.lat,
                    lon: m.lon,
                    alt_m: m.alt.map(f64::from),
                    speed_mps: m.vel.map(|v| f64::from(v) / 3.6),
                    course_deg: m.cog.map(f64::from),
                    fix: None,
                    sats: None,
                    hdop: None,
                    accuracy_m: m.acc.map(f64::from),
                };
                prop_assert_eq!(l.fix, PhoneFix { position, battery_pct: m.batt.map(f64::from) });
                prop_assert_eq!(l.tid, m.tid);
                prop_assert_eq!(l.topic, None);
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                assert_known_reason(&decode(&bytes, now()));
            }

            #[test]
            fn arbitrary_json_like_text_never_panics(text in r#"\{("[_a-z]{1,5}":(-?[0-9.e]{1,12}|"[a-z]{0,9}"|null|true|\[\]|\{\}),?){0,8}\}"#) {
                assert_known_reason(&decode_text(&text));
                let with_type = text.replacen('{', r#"{"_type":"location","#, 1);
                assert_known_reason(&decode_text(&with_type));
            }

            #[test]
            fn mutated_real_payloads_never_panic(bytes in mutated(&REAL_PAYLOADS)) {
                assert_known_reason(&decode(&bytes, now()));
            }
        }
    }
}
