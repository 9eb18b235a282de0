//! One fix of one vehicle, as the agent records it and the server stores it.

use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The receiver's fix dimension. Epochs without a fix never become positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FixMode {
    #[serde(rename = "2d")]
    TwoD,
    #[serde(rename = "3d")]
    ThreeD,
}

impl FixMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FixMode::TwoD => "2d",
            FixMode::ThreeD => "3d",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "2d" => Some(FixMode::TwoD),
            "3d" => Some(FixMode::ThreeD),
            _ => None,
        }
    }
}

/// A position with its sequence number, exactly as on the wire (`convoy/v1/.../positions`).
///
/// `seq` rises by one per fix for the life of a vehicle's agent; `t` is the receiver's UTC fix
/// time (corrected by the agent when the receiver is past a GPS week rollover). Units are in the
/// field names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub seq: u64,
    #[serde(serialize_with = "serialize_millis", deserialize_with = "deserialize_rfc3339")]
    pub t: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sats: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdop: Option<f64>,
    /// The horizontal accuracy the source reports, in metres (a phone's; the agent's receiver
    /// gives `hdop` instead). The corridor rule takes it into account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

impl Position {
    /// A fix with nothing known but its number, time and place.
    pub fn bare(seq: u64, t: DateTime<Utc>, lat: f64, lon: f64) -> Self {
        Position {
            seq,
            t,
            lat,
            lon,
            alt_m: None,
            speed_mps: None,
            course_deg: None,
            fix: None,
            sats: None,
            hdop: None,
            accuracy_m: None,
        }
    }
}

/// Formats a fix time as the wire wants it: RFC 3339, UTC, milliseconds, `Z`.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn serialize_millis<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

/// Reads a fix time, cut to the wire's milliseconds: a finer time (`...:36.0001Z`) would be
/// kept by one store and not another, and written back as another time (found by the fuzz
/// target `wire_message`, fuzz/regressions/wire_message/).
pub(crate) fn deserialize_rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(3))
        .map_err(|e| serde::de::Error::custom(format!("time {text:?} is not RFC 3339: {e}")))
}
