//! A vehicle's move windows: when the server wants its positions. The server publishes them,
//! retained, on `convoy/v1/vehicles/{id}/windows` (v1 contract); an agent configured with
//! `privacy = "moves_only"` records and sends fixes taken inside them only.
//!
//! ```json
//! {"v":1,"vehicle":"truck-07","windows":[{"from":"2026-12-07T08:00:00Z","to":"2026-12-07T18:00:00Z"},
//!                                       {"from":"2026-12-09T06:00:00Z","to":null}]}
//! ```
//!
//! `to` null is a move without an end. An empty list means the vehicle has no move now or
//! ahead: record nothing. The message comes from the broker, so the agent reads it as outside
//! data: bounded, every field checked, a clear reason for what it refuses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::VehicleId;

/// The version of the message this code writes and reads.
pub const WINDOWS_VERSION: u32 = 1;
/// The most windows one message holds: the server sends the soonest ones, and publishes again
/// as moves end.
pub const MAX_WINDOWS: usize = 64;
/// The largest message: [`MAX_WINDOWS`] windows of two RFC 3339 times fit in 8 KiB.
pub const MAX_WINDOWS_BYTES: usize = 8 * 1024;

/// Where a vehicle's windows are published (server to vehicle, retained).
pub fn windows_topic(vehicle: &VehicleId) -> String {
    format!("convoy/v1/vehicles/{vehicle}/windows")
}

/// One move's window: from `from`, until `to` if it has an end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

impl Window {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && self.to.is_none_or(|to| t <= to)
    }
}

/// The windows message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveWindows {
    pub v: u32,
    pub vehicle: VehicleId,
    pub windows: Vec<Window>,
}

/// Why a windows message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WindowsError {
    #[error("message of {0} bytes, over {MAX_WINDOWS_BYTES}")]
    TooLarge(usize),
    #[error("not a windows message: {0}")]
    Malformed(String),
    #[error("version {0}, this agent reads {WINDOWS_VERSION}")]
    Version(u32),
    #[error("{0} windows, over {MAX_WINDOWS}")]
    TooMany(usize),
    #[error("a window ends before it starts")]
    Reversed,
    #[error("for vehicle {0}, not this one")]
    OtherVehicle(String),
}

/// Every [`WindowsError::reason`], for counters by reason.
pub const WINDOWS_ERROR_REASONS: [&str; 6] =
    ["too_large", "malformed", "version", "too_many", "reversed", "other_vehicle"];

impl WindowsError {
    /// A bounded label for counters, one of [`WINDOWS_ERROR_REASONS`].
    pub fn reason(&self) -> &'static str {
        match self {
            WindowsError::TooLarge(_) => "too_large",
            WindowsError::Malformed(_) => "malformed",
            WindowsError::Version(_) => "version",
            WindowsError::TooMany(_) => "too_many",
            WindowsError::Reversed => "reversed",
            WindowsError::OtherVehicle(_) => "other_vehicle",
        }
    }
}

impl MoveWindows {
    /// The soonest [`MAX_WINDOWS`] of `windows`, by start.
    pub fn new(vehicle: VehicleId, mut windows: Vec<Window>) -> Self {
        windows.sort_by_key(|w| w.from);
        windows.truncate(MAX_WINDOWS);
        Self { v: WINDOWS_VERSION, vehicle, windows }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("windows serialise")
    }

    /// Reads a message meant for `vehicle`.
    pub fn decode(payload: &[u8], vehicle: &VehicleId) -> Result<Self, WindowsError> {
        if payload.len() > MAX_WINDOWS_BYTES {
            return Err(WindowsError::TooLarge(payload.len()));
        }
        // The version first, so a later version's other fields read as what they are.
        #[derive(Deserialize)]
        struct Versioned {
            v: u32,
        }
        let versioned: Versioned =
            serde_json::from_slice(payload).map_err(|e| WindowsError::Malformed(e.to_string()))?;
        if versioned.v != WINDOWS_VERSION {
            return Err(WindowsError::Version(versioned.v));
        }
        let message: MoveWindows =
            serde_json::from_slice(payload).map_err(|e| WindowsError::Malformed(e.to_string()))?;
        if &message.vehicle != vehicle {
            return Err(WindowsError::OtherVehicle(message.vehicle.to_string()));
        }
        if message.windows.len() > MAX_WINDOWS {
            return Err(WindowsError::TooMany(message.windows.len()));
        }
        if message.windows.iter().any(|w| w.to.is_some_and(|to| to < w.from)) {
            return Err(WindowsError::Reversed);
        }
        Ok(message)
    }

    /// Whether a fix taken at `t` falls in one of the windows.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.windows.iter().any(|w| w.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn truck() -> VehicleId {
        VehicleId::new("truck-07").unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_documented_message_is_read_and_judges_fix_times() {
        let text = r#"{"v":1,"vehicle":"truck-07","windows":[
            {"from":"2026-12-07T08:00:00Z","to":"2026-12-07T18:00:00Z"},
            {"from":"2026-12-09T06:00:00Z","to":null}]}"#;
        let windows = MoveWindows::decode(text.as_bytes(), &truck()).unwrap();
        assert!(!windows.contains(at("2026-12-07T07:59:59Z")));
        assert!(windows.contains(at("2026-12-07T08:00:00Z")));
        assert!(windows.contains(at("2026-12-07T18:00:00Z")));
        assert!(!windows.contains(at("2026-12-07T18:00:01Z")));
        assert!(!windows.contains(at("2026-12-08T12:00:00Z")));
        assert!(windows.contains(at("2030-01-01T00:00:00Z")));
        assert_eq!(MoveWindows::decode(&windows.encode(), &truck()), Ok(windows));
    }

    #[test]
    fn no_windows_contain_nothing() {
        let none = MoveWindows::new(truck(), Vec::new());
        assert!(!none.contains(Utc::now()));
        assert_eq!(MoveWindows::decode(&none.encode(), &truck()), Ok(none));
    }

    #[test]
    fn bad_messages_are_refused_with_their_reason() {
        let window = r#"{"from":"2026-12-07T08:00:00Z","to":"2026-12-07T18:00:00Z"}"#;
        let many = vec![window; MAX_WINDOWS + 1].join(",");
        let cases = [
            ("not json".to_string(), "malformed"),
            (r#"{"v":2,"anything":true}"#.to_string(), "version"),
            (r#"{"v":1,"vehicle":"truck-07"}"#.to_string(), "malformed"),
            (r#"{"v":1,"vehicle":"truck-08","windows":[]}"#.to_string(), "other_vehicle"),
            (r#"{"v":1,"vehicle":"truck 07","windows":[]}"#.to_string(), "malformed"),
            (
                r#"{"v":1,"vehicle":"truck-07","windows":[{"from":"2026-12-07T18:00:00Z","to":"2026-12-07T08:00:00Z"}]}"#
                    .to_string(),
                "reversed",
            ),
            (
                r#"{"v":1,"vehicle":"truck-07","windows":[{"from":"yesterday","to":null}]}"#.to_string(),
                "malformed",
            ),
            (
                r#"{"v":1,"vehicle":"truck-07","windows":[{"from":"2026-12-07T08:00:00Z","to":null,"x":1}]}"#
                    .to_string(),
                "malformed",
            ),
            (format!(r#"{{"v":1,"vehicle":"truck-07","windows":[{many}]}}"#), "too_many"),
            (" ".repeat(MAX_WINDOWS_BYTES + 1), "too_large"),
        ];
        for (text, reason) in cases {
            let error = MoveWindows::decode(text.as_bytes(), &truck()).unwrap_err();
            assert_eq!(error.reason(), reason, "{text:.80}: {error}");
            assert!(WINDOWS_ERROR_REASONS.contains(&reason));
        }
    }

    #[test]
    fn the_largest_message_fits_its_bound() {
        let window =
            Window { from: at("2026-12-07T08:00:00.123Z"), to: Some(at("2026-12-07T18:00:00.123Z")) };
        let vehicle = VehicleId::new("v".repeat(crate::vehicle::MAX_VEHICLE_ID_LEN)).unwrap();
        let largest = MoveWindows::new(vehicle.clone(), vec![window; MAX_WINDOWS + 10]);
        assert_eq!(largest.windows.len(), MAX_WINDOWS);
        let bytes = largest.encode();
        assert!(bytes.len() <= MAX_WINDOWS_BYTES, "{} bytes", bytes.len());
        assert_eq!(MoveWindows::decode(&bytes, &vehicle), Ok(largest));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = MoveWindows::decode(&bytes, &truck());
        }

        #[test]
        fn generated_windows_round_trip(spans in proptest::collection::vec((0i64..4_000_000_000, proptest::option::of(0i64..100_000_000)), 0..MAX_WINDOWS)) {
            let windows = spans.into_iter().map(|(from, length)| {
                let from = DateTime::from_timestamp(from, 0).unwrap();
                Window { from, to: length.map(|l| from + chrono::Duration::seconds(l)) }
            }).collect();
            let message = MoveWindows::new(truck(), windows);
            prop_assert_eq!(MoveWindows::decode(&message.encode(), &truck()), Ok(message));
        }
    }
}
