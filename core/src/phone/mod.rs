//! Positions sent by phone apps: OwnTracks ([`owntracks`]: JSON over MQTT or HTTP) and Traccar
//! Client ([`osmand`]: the OsmAnd protocol over HTTP, as query or form parameters, or the JSON
//! body of Traccar Client 9).
//!
//! A phone's report becomes the same [`Position`] the truck agent sends, so everything after
//! ingest (the store, the rules, the alerts) treats a phone like any vehicle. Phones send no
//! sequence number: a phone fix's `seq` is its fix time in milliseconds since 1970
//! ([`seq_from_time`]), so a report the app sends again lands on the same (vehicle, seq, t) key
//! and is stored once. Fix times are kept to the millisecond for the same reason.
//!
//! These decoders are where a phone's data enters the server. They take any bytes, never panic,
//! and refuse with a [`PhoneError`] whose [`PhoneError::reason`] is a bounded label. Every
//! position passes the agent's checks ([`crate::wire`]: ranges, finiteness, no fix from the
//! future) and the ranges of what phones add (course, speed, hdop, battery). Each app says
//! "unknown" in its own way (a field left out, or -1); that becomes `None`, never a number.

pub mod osmand;
pub mod owntracks;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::position::Position;
use crate::wire::{validate_position, WireError};

/// The largest report accepted from a phone, in bytes (an OwnTracks location is ~300 bytes;
/// cards with a face image can be bigger and are refused).
pub const MAX_PHONE_PAYLOAD_BYTES: usize = 64 * 1024;

/// Why a phone's report was refused. [`PhoneError::reason`] gives the short label used in
/// metrics and logs; the message names the field and quotes at most 64 characters of input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhoneError {
    #[error("report is {0} bytes; at most {MAX_PHONE_PAYLOAD_BYTES} are accepted")]
    TooLarge(usize),
    #[error("report is not in the app's format: {0}")]
    Malformed(String),
    #[error("required field `{0}` is missing")]
    MissingField(&'static str),
    #[error("`{0}` is not a number")]
    NotANumber(&'static str),
    #[error("parameter `{0}` is given more than once")]
    RepeatedParameter(String),
    #[error("bad fix time: {0}")]
    BadTime(String),
    #[error("bad device id {0:?}: 1 to 64 ASCII letters, digits, '.', '_' or '-' are accepted")]
    BadDeviceId(String),
    #[error("report is encrypted, and Convoy has no key")]
    Encrypted,
    #[error("invalid position: {0}")]
    Invalid(#[from] WireError),
}

impl PhoneError {
    /// A short, bounded label for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            PhoneError::TooLarge(_) => "too_large",
            PhoneError::Malformed(_) => "malformed",
            PhoneError::MissingField(_) => "missing_field",
            PhoneError::NotANumber(_) => "not_a_number",
            PhoneError::RepeatedParameter(_) => "repeated_parameter",
            PhoneError::BadTime(_) => "bad_time",
            PhoneError::BadDeviceId(_) => "bad_device_id",
            PhoneError::Encrypted => "encrypted",
            PhoneError::Invalid(e) => e.reason(),
        }
    }
}

/// Every label [`PhoneError::reason`] can return (for counters shown at zero), including the
/// reasons of the [`WireError`]s `Invalid` carries: the decoders wrap only what
/// [`validate_position`] returns and their own range checks.
pub const PHONE_ERROR_REASONS: &[&str] = &[
    "too_large",
    "malformed",
    "missing_field",
    "not_a_number",
    "repeated_parameter",
    "bad_time",
    "bad_device_id",
    "encrypted",
    "seq_out_of_range",
    "not_finite",
    "latitude_out_of_range",
    "longitude_out_of_range",
    "field_out_of_range",
    "future_fix",
];

/// A phone fix's sequence number: its time in milliseconds since 1970.
pub fn seq_from_time(t: DateTime<Utc>) -> u64 {
    // The decoders refuse times before 1970, so the fallback is never taken.
    u64::try_from(t.timestamp_millis()).unwrap_or(0)
}

/// One fix from a phone, with what the phone adds.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneFix {
    pub position: Position,
    /// The phone's battery level, in percent (0 to 100).
    pub battery_pct: Option<f64>,
}

impl PhoneFix {
    /// A fix at `t`, with nothing known but where it is; the decoders fill in the rest and
    /// then call [`PhoneFix::checked`].
    fn at(t: DateTime<Utc>, lat: f64, lon: f64) -> Self {
        PhoneFix { position: Position::bare(seq_from_time(t), t, lat, lon), battery_pct: None }
    }

    /// The agent's checks of the position, then the ranges the wire format leaves open but a
    /// phone's numbers must keep.
    fn checked(self, now: DateTime<Utc>) -> Result<Self, PhoneError> {
        let p = &self.position;
        validate_position(p, now)?;
        let out_of_range = |field| PhoneError::Invalid(WireError::FieldOutOfRange { seq: p.seq, field });
        if p.course_deg.is_some_and(|c| !(0.0..=360.0).contains(&c)) {
            return Err(out_of_range("course_deg"));
        }
        if p.speed_mps.is_some_and(|v| v < 0.0) {
            return Err(out_of_range("speed_mps"));
        }
        if p.hdop.is_some_and(|h| h < 0.0) {
            return Err(out_of_range("hdop"));
        }
        if self.battery_pct.is_some_and(|b| !(0.0..=100.0).contains(&b)) {
            return Err(out_of_range("battery_pct"));
        }
        Ok(self)
    }
}

/// The end of year 9999, in milliseconds since 1970: a later fix time is not a clock's mistake
/// but garbage (and would not fit the store's timestamps).
const MAX_TIME_MS: f64 = 253_402_300_799_999.0;

/// A fix time from milliseconds since 1970 (a fraction is dropped).
fn time_from_millis(ms: f64) -> Result<DateTime<Utc>, PhoneError> {
    if !(0.0..=MAX_TIME_MS).contains(&ms) {
        return Err(PhoneError::BadTime(format!("{ms} ms since 1970 is before 1970 or after 9999")));
    }
    // In range, so the cast is exact and the time exists.
    DateTime::from_timestamp_millis(ms as i64).ok_or_else(|| PhoneError::BadTime(format!("{ms} ms")))
}

/// A fix time from seconds since 1970, to the nearest millisecond.
fn time_from_seconds(seconds: f64) -> Result<DateTime<Utc>, PhoneError> {
    time_from_millis((seconds * 1000.0).round())
}

/// A numeric fix time as Traccar's apps send it: seconds, or milliseconds when above 10^11
/// (10^11 seconds is in the year 5138; 10^11 milliseconds is in 1973).
fn time_from_number(n: f64) -> Result<DateTime<Utc>, PhoneError> {
    if n > 1e11 {
        time_from_millis(n.floor())
    } else {
        time_from_seconds(n)
    }
}

/// A fix time as text: a number ([`time_from_number`]), RFC 3339 (`2016-01-27T18:55:47Z`,
/// any offset), or a date and time without an offset (`2014-06-04 09:10:11`,
/// `2014-06-04T09:10:11.5`), taken as UTC.
fn time_from_text(text: &str) -> Result<DateTime<Utc>, PhoneError> {
    let bad = || PhoneError::BadTime(format!("{:?} is not a time", excerpt(text)));
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return time_from_number(text.parse().map_err(|_| bad())?);
    }
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&Utc)
    } else {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .into_iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .ok_or_else(bad)?
            .and_utc()
    };
    // Through the millisecond count, so the time is kept to the millisecond like `seq`.
    time_from_millis(t.timestamp_millis() as f64)
}

/// A device id as the OsmAnd protocol names a device: 1 to 64 ASCII letters, digits, '.', '_'
/// or '-' (IMEIs, Traccar Client's random numbers, names).
fn device_id(id: &str) -> Result<String, PhoneError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if (1..=64).contains(&id.len()) && id.bytes().all(allowed) {
        Ok(id.to_owned())
    } else {
        Err(PhoneError::BadDeviceId(excerpt(id)))
    }
}

/// At most 64 characters of some input, for an error message.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A number of a JSON object: `None` when absent or null, [`PhoneError::NotANumber`] when it
/// is anything but a number (a string, a boolean...).
fn json_number(
    object: &serde_json::Map<String, serde_json::Value>,
    key: &'static str,
) -> Result<Option<f64>, PhoneError> {
    match object.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_f64().map(Some).ok_or(PhoneError::NotANumber(key)),
        Some(_) => Err(PhoneError::NotANumber(key)),
    }
}

/// Parses a JSON object, refusing what is over the size limit, not JSON or not an object.
fn json_object(payload: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, PhoneError> {
    if payload.len() > MAX_PHONE_PAYLOAD_BYTES {
        return Err(PhoneError::TooLarge(payload.len()));
    }
    match serde_json::from_slice(payload) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(other) => Err(PhoneError::Malformed(format!("expected a JSON object, not {}", json_kind(&other)))),
        Err(e) => Err(PhoneError::Malformed(e.to_string())),
    }
}

/// What kind of JSON value this is, for an error message (the value itself may be long).
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn every_reason_is_listed() {
        let seq = 0;
        let errors = [
            PhoneError::TooLarge(0),
            PhoneError::Malformed(String::new()),
            PhoneError::MissingField("lat"),
            PhoneError::NotANumber("lat"),
            PhoneError::RepeatedParameter(String::new()),
            PhoneError::BadTime(String::new()),
            PhoneError::BadDeviceId(String::new()),
            PhoneError::Encrypted,
            PhoneError::Invalid(WireError::SeqOutOfRange(seq)),
            PhoneError::Invalid(WireError::NotFinite { seq, field: "lat" }),
            PhoneError::Invalid(WireError::LatitudeOutOfRange { seq, lat: 0.0 }),
            PhoneError::Invalid(WireError::LongitudeOutOfRange { seq, lon: 0.0 }),
            PhoneError::Invalid(WireError::FieldOutOfRange { seq, field: "course_deg" }),
            PhoneError::Invalid(WireError::FutureFix { seq, t: String::new() }),
        ];
        let reasons: Vec<_> = errors.iter().map(PhoneError::reason).collect();
        assert_eq!(reasons, PHONE_ERROR_REASONS);
    }

    #[test]
    fn a_fix_time_is_its_own_sequence_number() {
        let t = Utc.with_ymd_and_hms(2024, 2, 2, 7, 15, 49).unwrap();
        assert_eq!(seq_from_time(t), 1_706_858_149_000);
        assert_eq!(seq_from_time(DateTime::UNIX_EPOCH), 0);
        assert_eq!(seq_from_time(t + chrono::Duration::milliseconds(862)), 1_706_858_149_862);
    }

    #[test]
    fn times_are_read_in_every_form_the_apps_send() {
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        assert_eq!(time_from_text("1377177267"), Ok(at(1_377_177_267_000)));
        assert_eq!(time_from_text("1442068686579"), Ok(at(1_442_068_686_579)));
        assert_eq!(time_from_text("1377177267.25"), Ok(at(1_377_177_267_250)));
        assert_eq!(time_from_text("2016-01-27T18:55:47Z"), Ok(at(1_453_920_947_000)));
        assert_eq!(time_from_text("2016-01-27T19:55:47+01:00"), Ok(at(1_453_920_947_000)));
        assert_eq!(time_from_text("2025-06-15T13:45:12.862Z"), Ok(at(1_749_995_112_862)));
        assert_eq!(time_from_text("2014-06-04 09:10:11"), Ok(at(1_401_873_011_000)));
        assert_eq!(time_from_text("2014-06-04T09:10:11.5"), Ok(at(1_401_873_011_500)));
        // Kept to the millisecond, like the sequence number made from it.
        assert_eq!(time_from_text("2014-06-04T09:10:11.123456Z"), Ok(at(1_401_873_011_123)));
        assert_eq!(time_from_text("0"), Ok(DateTime::UNIX_EPOCH));
    }

    #[test]
    fn times_before_1970_after_9999_or_unreadable_are_bad() {
        for bad in [
            "",
            ".",
            "1.2.3",
            "-1",
            "yesterday",
            "1969-12-31T23:59:59Z",
            "2016-13-01T00:00:00Z",
            "2016-01-27",
            "18:55:47",
            "1e5",
            "NaN",
            "inf",
            "99999999999999999999999999",
            "253402300800000",
        ] {
            assert_eq!(time_from_text(bad).map_err(|e| e.reason()), Err("bad_time"), "{bad:?}");
        }
        assert_eq!(time_from_seconds(-0.5).map_err(|e| e.reason()), Err("bad_time"));
        assert_eq!(time_from_seconds(f64::NAN).map_err(|e| e.reason()), Err("bad_time"));
        assert_eq!(time_from_seconds(1e300).map_err(|e| e.reason()), Err("bad_time"));
        assert!(time_from_millis(MAX_TIME_MS).is_ok());
    }

    #[test]
    fn device_ids_are_short_plain_ascii() {
        for good in ["123456", "353861053849681", "phone.jane_2-b", &"x".repeat(64)] {
            assert_eq!(device_id(good).as_deref(), Ok(good));
        }
        for bad in ["", &"x".repeat(65), "jane phone", "jane/phone", "+", "#", "téléphone", "a\0b"] {
            assert_eq!(device_id(bad).map_err(|e| e.reason()), Err("bad_device_id"), "{bad:?}");
        }
        let long = "é".repeat(100);
        let PhoneError::BadDeviceId(quoted) = device_id(&long).unwrap_err() else { unreachable!() };
        assert_eq!(quoted.chars().count(), 65, "64 characters and an ellipsis");
    }

    #[test]
    fn a_phone_fix_keeps_its_numbers_in_range() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let fix = PhoneFix::at(now, 1.0, 2.0);
        let reason = |f: PhoneFix| f.checked(now).map(|_| ()).map_err(|e| e.to_string());
        let mut f = fix.clone();
        f.position.course_deg = Some(360.0);
        f.position.speed_mps = Some(0.0);
        f.battery_pct = Some(100.0);
        assert_eq!(reason(f), Ok(()));
        let mut f = fix.clone();
        f.position.course_deg = Some(360.5);
        assert!(reason(f).unwrap_err().contains("course_deg"));
        let mut f = fix.clone();
        f.position.speed_mps = Some(-0.1);
        assert!(reason(f).unwrap_err().contains("speed_mps"));
        let mut f = fix.clone();
        f.position.hdop = Some(-1.0);
        assert!(reason(f).unwrap_err().contains("hdop"));
        let mut f = fix.clone();
        f.battery_pct = Some(100.5);
        assert!(reason(f).unwrap_err().contains("battery_pct"));
        let mut f = fix;
        f.position.accuracy_m = Some(-1.0);
        assert!(reason(f).unwrap_err().contains("accuracy_m"));
    }

    /// Small changes to a real payload: bytes replaced, inserted, removed.
    pub(super) fn mutated(payloads: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::sample::select(payloads),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        )
            .prop_map(|(payload, edits)| {
                let mut bytes = payload.as_bytes().to_vec();
                for (at, byte, kind) in edits {
                    let i = at.index(bytes.len() + 1);
                    match kind {
                        0 if i < bytes.len() => bytes[i] = byte,
                        1 => bytes.insert(i, byte),
                        _ if i < bytes.len() => {
                            bytes.remove(i);
                        }
                        _ => bytes.push(byte),
                    }
                }
                bytes
            })
    }
}
