//! The v1 wire format of `convoy/v1/vehicles/{vehicle}/positions`:
//!
//! ```json
//! {"v":1,"vehicle":"truck-07","positions":[{"seq":1042,"t":"2026-11-28T09:15:02.000Z",
//!  "lat":48.137154,"lon":11.576124,"alt_m":519.0,"speed_mps":12.4,"course_deg":87.5,
//!  "fix":"3d","sats":9,"hdop":0.9}]}
//! ```
//!
//! A batch may carry a `signed` field: the vehicle's signature over its hash chain (see
//! [`crate::signing::batch`] for the field and the canonical bytes). Version 1 without it
//! stays valid and is stored as unsigned.
//!
//! Decoding is where outside data enters the server, so it checks everything a position
//! promises and names what was wrong. Unknown fields are ignored, so later versions of the
//! agent may add fields without breaking older servers.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::position::Position;
use crate::signing::BatchSignature;
use crate::vehicle::{VehicleId, VehicleIdError};

/// The only version this server speaks.
pub const WIRE_VERSION: u32 = 1;
/// The largest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 512 * 1024;
/// The most positions one batch may carry.
pub const MAX_BATCH_POSITIONS: usize = 2000;
/// How far in the future a fix time may be before it is refused (receiver or clock fault).
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(5);

/// A batch of positions of one vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionBatch {
    pub v: u32,
    pub vehicle: VehicleId,
    pub positions: Vec<Position>,
    /// The vehicle's signature over the batch's chain head; absent from unsigned agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<BatchSignature>,
}

/// Why a payload was refused. [`WireError::reason`] gives the short label used in metrics and
/// in the dead-letter table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("payload is {0} bytes; at most {MAX_PAYLOAD_BYTES} are accepted")]
    TooLarge(usize),
    #[error("payload is not a v1 position batch: {0}")]
    Malformed(String),
    #[error("wire version {0} is not supported; this server speaks version {WIRE_VERSION}")]
    UnsupportedVersion(u64),
    #[error("bad vehicle id: {0}")]
    BadVehicleId(#[from] VehicleIdError),
    #[error("batch has no positions")]
    EmptyBatch,
    #[error("batch has {0} positions; at most {MAX_BATCH_POSITIONS} are accepted")]
    TooManyPositions(usize),
    #[error("position seq {seq}: latitude {lat} is outside [-90, 90]")]
    LatitudeOutOfRange { seq: u64, lat: f64 },
    #[error("position seq {seq}: longitude {lon} is outside [-180, 180]")]
    LongitudeOutOfRange { seq: u64, lon: f64 },
    #[error("position seq {seq}: {field} is not a finite number")]
    NotFinite { seq: u64, field: &'static str },
    #[error("position seq {seq}: fix time {t} is more than 5 minutes in the future")]
    FutureFix { seq: u64, t: String },
    #[error("position seq {seq}: {field} is out of its range")]
    FieldOutOfRange { seq: u64, field: &'static str },
    #[error("seq {0} is above the largest storable sequence number (2^63 - 1)")]
    SeqOutOfRange(u64),
    #[error("the batch's `signed` field is not a signature: {0}")]
    MalformedSignature(String),
}

impl WireError {
    /// A short, bounded label for counters and dead letters.
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::TooLarge(_) => "too_large",
            WireError::Malformed(_) => "malformed",
            WireError::UnsupportedVersion(_) => "unsupported_version",
            WireError::BadVehicleId(_) => "bad_vehicle_id",
            WireError::EmptyBatch => "empty_batch",
            WireError::TooManyPositions(_) => "too_many_positions",
            WireError::LatitudeOutOfRange { .. } => "latitude_out_of_range",
            WireError::LongitudeOutOfRange { .. } => "longitude_out_of_range",
            WireError::NotFinite { .. } => "not_finite",
            WireError::FutureFix { .. } => "future_fix",
            WireError::FieldOutOfRange { .. } => "field_out_of_range",
            WireError::SeqOutOfRange(_) => "seq_out_of_range",
            WireError::MalformedSignature(_) => "malformed_signature",
        }
    }
}

/// Every label [`WireError::reason`] can return, so counters can be shown at zero.
pub const WIRE_ERROR_REASONS: &[&str] = &[
    "too_large",
    "malformed",
    "unsupported_version",
    "bad_vehicle_id",
    "empty_batch",
    "too_many_positions",
    "latitude_out_of_range",
    "longitude_out_of_range",
    "not_finite",
    "future_fix",
    "field_out_of_range",
    "seq_out_of_range",
    "malformed_signature",
];

/// Only the version is read first, so a future version with another shape gets the right error.
#[derive(Deserialize)]
struct VersionProbe {
    v: Option<serde_json::Value>,
}

/// The batch before its vehicle id is validated, so a bad id gets its own error.
#[derive(Deserialize)]
struct RawBatch {
    vehicle: String,
    positions: Vec<Position>,
    /// Read apart, so a bad signature field gets its own reason.
    #[serde(default)]
    signed: Option<serde_json::Value>,
}

impl PositionBatch {
    pub fn new(vehicle: VehicleId, positions: Vec<Position>) -> Self {
        Self { v: WIRE_VERSION, vehicle, positions, signed: None }
    }

    /// Encodes the batch as UTF-8 JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a position batch always serializes")
    }

    /// Decodes and validates a payload; `now` is the receiving clock, for the future-time check.
    pub fn decode(payload: &[u8], now: DateTime<Utc>) -> Result<Self, WireError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(WireError::TooLarge(payload.len()));
        }
        let probe: VersionProbe =
            serde_json::from_slice(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
        match probe.v {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(WIRE_VERSION)) => {}
            Some(serde_json::Value::Number(n)) => {
                return Err(WireError::UnsupportedVersion(n.as_u64().unwrap_or(0)))
            }
            Some(other) => return Err(WireError::Malformed(format!("\"v\" must be a number, not {other}"))),
            None => return Err(WireError::Malformed("missing field `v`".into())),
        }
        let raw: RawBatch =
            serde_json::from_slice(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
        let mut batch = PositionBatch::new(VehicleId::new(raw.vehicle)?, raw.positions);
        batch.signed = match raw.signed {
            None | Some(serde_json::Value::Null) => None,
            Some(field) => Some(
                serde_json::from_value(field).map_err(|e| WireError::MalformedSignature(e.to_string()))?,
            ),
        };
        batch.validate(now)?;
        Ok(batch)
    }

    /// Checks every position: ranges, finiteness, and fix times not too far in the future.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), WireError> {
        if self.positions.is_empty() {
            return Err(WireError::EmptyBatch);
        }
        if self.positions.len() > MAX_BATCH_POSITIONS {
            return Err(WireError::TooManyPositions(self.positions.len()));
        }
        for p in &self.positions {
            validate_position(p, now)?;
        }
        Ok(())
    }
}

/// The sequence numbers of some fixes, for the debug log: `5`, `3..=7` when they run without a
/// gap, else each one. Formats only when the log line is written, so an event that is off
/// costs nothing.
#[derive(Clone, Copy)]
pub struct Seqs<'a>(pub &'a [Position]);

impl std::fmt::Debug for Seqs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_seqs(f, self.0.iter().map(|p| p.seq))
    }
}

/// The sequence numbers in a position batch's payload, read only when the log line is written
/// (as [`Seqs`]; `-` for a payload that is not a batch). Nothing else of the payload is read.
#[derive(Clone, Copy)]
pub struct PayloadSeqs<'a>(pub &'a [u8]);

impl std::fmt::Debug for PayloadSeqs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[derive(Deserialize)]
        struct SeqOnly {
            seq: u64,
        }
        #[derive(Deserialize)]
        struct SeqsOnly {
            positions: Vec<SeqOnly>,
        }
        match serde_json::from_slice::<SeqsOnly>(self.0) {
            Ok(batch) => write_seqs(f, batch.positions.iter().map(|p| p.seq)),
            Err(_) => f.write_str("-"),
        }
    }
}

fn write_seqs(f: &mut std::fmt::Formatter<'_>, seqs: impl Iterator<Item = u64> + Clone) -> std::fmt::Result {
    let mut all = seqs.clone();
    let Some(first) = all.next() else { return f.write_str("-") };
    let (mut last, mut unbroken) = (first, true);
    for seq in all {
        unbroken &= seq == last + 1;
        last = seq;
    }
    match (first == last, unbroken) {
        (true, _) => write!(f, "{first}"),
        (false, true) => write!(f, "{first}..={last}"),
        (false, false) => f.debug_list().entries(seqs).finish(),
    }
}

/// Checks one position's ranges and time; phone decoders check theirs the same way.
pub(crate) fn validate_position(p: &Position, now: DateTime<Utc>) -> Result<(), WireError> {
    let seq = p.seq;
    if seq > i64::MAX as u64 {
        // Databases store seq as a signed 64-bit integer.
        return Err(WireError::SeqOutOfRange(seq));
    }
    let numbers = [
        ("lat", Some(p.lat)),
        ("lon", Some(p.lon)),
        ("alt_m", p.alt_m),
        ("speed_mps", p.speed_mps),
        ("course_deg", p.course_deg),
        ("hdop", p.hdop),
        ("accuracy_m", p.accuracy_m),
    ];
    for (field, value) in numbers {
        if value.is_some_and(|v| !v.is_finite()) {
            return Err(WireError::NotFinite { seq, field });
        }
    }
    if !(-90.0..=90.0).contains(&p.lat) {
        return Err(WireError::LatitudeOutOfRange { seq, lat: p.lat });
    }
    if !(-180.0..=180.0).contains(&p.lon) {
        return Err(WireError::LongitudeOutOfRange { seq, lon: p.lon });
    }
    if p.accuracy_m.is_some_and(|a| a < 0.0) {
        return Err(WireError::FieldOutOfRange { seq, field: "accuracy_m" });
    }
    if p.sats.is_some_and(|s| s > 255) {
        return Err(WireError::FieldOutOfRange { seq, field: "sats" });
    }
    if p.t > now + MAX_FUTURE_SKEW {
        return Err(WireError::FutureFix { seq, t: crate::position::format_time(&p.t) });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::FixMode;
    use chrono::TimeZone;

    #[test]
    fn seqs_are_logged_as_one_a_run_or_a_list() {
        let at = |seq| Position { seq, ..decode(EXAMPLE).unwrap().positions[0].clone() };
        assert_eq!(format!("{:?}", Seqs(&[at(5)])), "5");
        assert_eq!(format!("{:?}", Seqs(&[at(3), at(4), at(5)])), "3..=5");
        assert_eq!(format!("{:?}", Seqs(&[at(3), at(9)])), "[3, 9]");
        assert_eq!(format!("{:?}", Seqs(&[])), "-");
        let payload = PositionBatch::new(VehicleId::new("truck").unwrap(), vec![at(7), at(8)]).encode();
        assert_eq!(format!("{:?}", PayloadSeqs(&payload)), "7..=8");
        assert_eq!(format!("{:?}", PayloadSeqs(br#"{"state":"online"}"#)), "-");
    }

    const EXAMPLE: &str = r#"{"v":1,"vehicle":"truck-07","positions":[{"seq":1042,"t":"2026-11-28T09:15:02.000Z","lat":48.137154,"lon":11.576124,"alt_m":519.0,"speed_mps":12.4,"course_deg":87.5,"fix":"3d","sats":9,"hdop":0.9}]}"#;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 30).unwrap()
    }

    fn with_position(position_json: &str) -> String {
        format!(r#"{{"v":1,"vehicle":"truck-07","positions":[{position_json}]}}"#)
    }

    fn decode(text: &str) -> Result<PositionBatch, WireError> {
        PositionBatch::decode(text.as_bytes(), now())
    }

    #[test]
    fn the_design_example_decodes_to_its_values() {
        let batch = decode(EXAMPLE).unwrap();
        assert_eq!(batch.vehicle.as_str(), "truck-07");
        let p = &batch.positions[0];
        assert_eq!(p.seq, 1042);
        assert_eq!(p.t, Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 2).unwrap());
        assert_eq!((p.lat, p.lon), (48.137154, 11.576124));
        assert_eq!(p.alt_m, Some(519.0));
        assert_eq!(p.speed_mps, Some(12.4));
        assert_eq!(p.course_deg, Some(87.5));
        assert_eq!(p.fix, Some(FixMode::ThreeD));
        assert_eq!(p.sats, Some(9));
        assert_eq!(p.hdop, Some(0.9));
    }

    #[test]
    fn encoding_the_design_example_gives_the_same_text() {
        let batch = decode(EXAMPLE).unwrap();
        assert_eq!(String::from_utf8(batch.encode()).unwrap(), EXAMPLE);
    }

    #[test]
    fn a_time_finer_than_a_millisecond_is_cut_to_it_and_reads_back_the_same() {
        let text = with_position(r#"{"seq":1,"t":"2026-11-28T09:15:02.0001Z","lat":1.5,"lon":2.5}"#);
        let batch = decode(&text).unwrap();
        assert_eq!(batch.positions[0].t, Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 2).unwrap());
        assert_eq!(PositionBatch::decode(&batch.encode(), now()).unwrap(), batch);
    }

    #[test]
    fn optional_fields_may_be_absent_and_stay_absent() {
        let text = with_position(r#"{"seq":1,"t":"2026-11-28T09:15:02.000Z","lat":1.5,"lon":2.5}"#);
        let batch = decode(&text).unwrap();
        let p = &batch.positions[0];
        assert_eq!(
            (p.alt_m, p.speed_mps, p.course_deg, p.fix, p.sats, p.hdop),
            (None, None, None, None, None, None)
        );
        assert_eq!(String::from_utf8(batch.encode()).unwrap(), text);
    }

    #[test]
    fn a_signed_batch_reads_back_with_its_signature_and_verifies() {
        use crate::signing::{BatchSignature, SecretKey, GENESIS};
        let plain = decode(EXAMPLE).unwrap();
        assert_eq!(plain.signed, None);
        let key = SecretKey::generate();
        let (signed, _) = BatchSignature::sign(&key, &plain.vehicle, &GENESIS, &plain.positions).unwrap();
        let batch = PositionBatch { signed: Some(signed), ..plain };
        let again = PositionBatch::decode(&batch.encode(), now()).unwrap();
        assert_eq!(again, batch);
        let head = signed.head(&again.vehicle, &again.positions).unwrap();
        assert_eq!(head.verify(&key.public()), Ok(()));
    }

    #[test]
    fn a_signed_field_that_is_not_a_signature_has_its_own_reason() {
        for field in [
            r#""yes""#,
            r#"{"key":"0011223344556677","prev":"00","sig":"AA=="}"#,
            r#"{"key":"0011223344556677","prev":"0000000000000000000000000000000000000000000000000000000000000000","sig":"c2hvcnQ="}"#,
        ] {
            let text = EXAMPLE.replacen("{\"v\":1,", &format!("{{\"v\":1,\"signed\":{field},"), 1);
            let err = decode(&text).unwrap_err();
            assert_eq!(err.reason(), "malformed_signature", "{field}: {err}");
        }
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let text = r#"{"v":1,"vehicle":"truck-07","extra":{"a":1},"positions":[{"seq":1,"t":"2026-11-28T09:15:02Z","lat":1,"lon":2,"pdop":1.2}]}"#;
        assert_eq!(decode(text).unwrap().positions[0].seq, 1);
    }

    #[test]
    fn out_of_range_coordinates_are_refused() {
        let lat = with_position(r#"{"seq":7,"t":"2026-11-28T09:15:02Z","lat":90.0001,"lon":2}"#);
        assert_eq!(decode(&lat).unwrap_err(), WireError::LatitudeOutOfRange { seq: 7, lat: 90.0001 });
        let lat = with_position(r#"{"seq":7,"t":"2026-11-28T09:15:02Z","lat":-90.5,"lon":2}"#);
        assert_eq!(decode(&lat).unwrap_err().reason(), "latitude_out_of_range");
        let lon = with_position(r#"{"seq":8,"t":"2026-11-28T09:15:02Z","lat":1,"lon":-180.01}"#);
        assert_eq!(decode(&lon).unwrap_err(), WireError::LongitudeOutOfRange { seq: 8, lon: -180.01 });
        let edges = with_position(r#"{"seq":9,"t":"2026-11-28T09:15:02Z","lat":-90,"lon":180}"#);
        assert!(decode(&edges).is_ok());
    }

    #[test]
    fn nan_and_infinite_numbers_are_refused() {
        // JSON has no NaN: the literal is a syntax error, and an overflowing number is too.
        let nan = with_position(r#"{"seq":1,"t":"2026-11-28T09:15:02Z","lat":NaN,"lon":2}"#);
        assert_eq!(decode(&nan).unwrap_err().reason(), "malformed");
        let inf = with_position(r#"{"seq":1,"t":"2026-11-28T09:15:02Z","lat":1e999,"lon":2}"#);
        assert_eq!(decode(&inf).unwrap_err().reason(), "malformed");
        // A batch built in memory can hold them; validation still refuses it.
        let mut batch = decode(EXAMPLE).unwrap();
        batch.positions[0].speed_mps = Some(f64::INFINITY);
        assert_eq!(batch.validate(now()), Err(WireError::NotFinite { seq: 1042, field: "speed_mps" }));
        batch.positions[0].speed_mps = None;
        batch.positions[0].lat = f64::NAN;
        assert_eq!(batch.validate(now()), Err(WireError::NotFinite { seq: 1042, field: "lat" }));
    }

    #[test]
    fn an_impossible_satellite_count_is_refused() {
        let text = with_position(r#"{"seq":4,"t":"2026-11-28T09:15:02Z","lat":1,"lon":2,"sats":256}"#);
        assert_eq!(decode(&text).unwrap_err(), WireError::FieldOutOfRange { seq: 4, field: "sats" });
    }

    #[test]
    fn a_seq_beyond_signed_64_bits_is_refused() {
        let text = with_position(r#"{"seq":9223372036854775808,"t":"2026-11-28T09:15:02Z","lat":1,"lon":2}"#);
        assert_eq!(decode(&text).unwrap_err(), WireError::SeqOutOfRange(1 << 63));
    }

    #[test]
    fn a_fix_more_than_five_minutes_ahead_is_refused() {
        let ahead = with_position(r#"{"seq":3,"t":"2026-11-28T09:20:31Z","lat":1,"lon":2}"#);
        assert_eq!(decode(&ahead).unwrap_err().reason(), "future_fix");
        let just_inside = with_position(r#"{"seq":3,"t":"2026-11-28T09:20:29Z","lat":1,"lon":2}"#);
        assert!(decode(&just_inside).is_ok());
    }

    #[test]
    fn bad_vehicle_ids_are_refused() {
        for bad in ["", "truck/07", &"x".repeat(65), "truck 07", "+", "#"] {
            let text =
                format!(r#"{{"v":1,"vehicle":{},"positions":[]}}"#, serde_json::to_string(bad).unwrap());
            assert_eq!(decode(&text).unwrap_err().reason(), "bad_vehicle_id", "{bad:?}");
        }
    }

    #[test]
    fn other_versions_and_shapes_are_refused() {
        assert_eq!(
            decode(r#"{"v":2,"vehicle":"a","positions":[]}"#).unwrap_err(),
            WireError::UnsupportedVersion(2)
        );
        assert_eq!(decode(r#"{"vehicle":"a","positions":[]}"#).unwrap_err().reason(), "malformed");
        assert_eq!(decode(r#"{"v":"1","vehicle":"a","positions":[]}"#).unwrap_err().reason(), "malformed");
        assert_eq!(decode(r#"{"v":1,"vehicle":"a","positions":[]}"#).unwrap_err(), WireError::EmptyBatch);
        assert_eq!(decode("not json").unwrap_err().reason(), "malformed");
        assert_eq!(
            decode(&with_position(r#"{"seq":-1,"t":"2026-11-28T09:15:02Z","lat":1,"lon":2}"#))
                .unwrap_err()
                .reason(),
            "malformed"
        );
        assert_eq!(
            decode(&with_position(r#"{"seq":1,"t":"yesterday","lat":1,"lon":2}"#)).unwrap_err().reason(),
            "malformed"
        );
        assert_eq!(
            decode(&with_position(r#"{"seq":1,"t":"2026-11-28T09:15:02Z","lat":1,"lon":2,"fix":"4d"}"#))
                .unwrap_err()
                .reason(),
            "malformed"
        );
        let huge = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert_eq!(
            PositionBatch::decode(&huge, now()).unwrap_err(),
            WireError::TooLarge(MAX_PAYLOAD_BYTES + 1)
        );
    }

    #[test]
    fn every_reason_is_listed() {
        let errors = [
            WireError::TooLarge(0),
            WireError::Malformed(String::new()),
            WireError::UnsupportedVersion(0),
            WireError::BadVehicleId(VehicleIdError::Empty),
            WireError::EmptyBatch,
            WireError::TooManyPositions(0),
            WireError::LatitudeOutOfRange { seq: 0, lat: 0.0 },
            WireError::LongitudeOutOfRange { seq: 0, lon: 0.0 },
            WireError::NotFinite { seq: 0, field: "lat" },
            WireError::FutureFix { seq: 0, t: String::new() },
            WireError::FieldOutOfRange { seq: 0, field: "sats" },
            WireError::SeqOutOfRange(0),
            WireError::MalformedSignature(String::new()),
        ];
        let reasons: Vec<_> = errors.iter().map(WireError::reason).collect();
        assert_eq!(reasons, WIRE_ERROR_REASONS);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn position() -> impl Strategy<Value = Position> {
            (
                0..=i64::MAX as u64,
                0i64..4_000_000_000_000,
                -90.0f64..=90.0,
                -180.0f64..=180.0,
                proptest::option::of(-500.0f64..9000.0),
                proptest::option::of(0.0f64..100.0),
                proptest::option::of(0.0f64..360.0),
                proptest::option::of(prop_oneof![Just(FixMode::TwoD), Just(FixMode::ThreeD)]),
                proptest::option::of(0u32..64),
                proptest::option::of(0.0f64..50.0),
            )
                .prop_map(
                    |(seq, ms, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop)| Position {
                        seq,
                        t: DateTime::from_timestamp_millis(ms).unwrap(),
                        lat,
                        lon,
                        alt_m,
                        speed_mps,
                        course_deg,
                        fix,
                        sats,
                        hdop,
                        accuracy_m: None,
                    },
                )
        }

        proptest! {
            #[test]
            fn valid_batches_round_trip(positions in proptest::collection::vec(position(), 1..20)) {
                let batch = PositionBatch::new(VehicleId::new("truck-07").unwrap(), positions);
                let far_future = DateTime::from_timestamp_millis(5_000_000_000_000).unwrap();
                let decoded = PositionBatch::decode(&batch.encode(), far_future).unwrap();
                prop_assert_eq!(decoded, batch);
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = PositionBatch::decode(&bytes, now());
            }
        }
    }
}
