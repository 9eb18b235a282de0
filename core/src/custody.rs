//! Seal checkpoints (custody): the words a checkpoint is recorded in, and the incident a seal
//! seen broken or missing raises, which the gateway hands the server (that opens a `seal`
//! alert on the move).

use chrono::{DateTime, Utc};

use crate::VehicleId;

/// Where in the move a checkpoint is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Loading,
    Handover,
    Unloading,
}

/// What a seal was seen as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealState {
    Intact,
    Broken,
    Missing,
}

/// How sensitive what a sealed item holds is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sensitivity {
    Normal,
    Confidential,
    Secret,
}

macro_rules! words {
    ($type:ident: $($variant:ident = $word:literal),* $(,)?) => {
        impl $type {
            pub const ALL: &'static [$type] = &[$($type::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($type::$variant => $word),* }
            }

            /// The word as the API spells it; `None` for anything else.
            pub fn parse(text: &str) -> Option<$type> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }
    };
}

words!(Stage: Loading = "loading", Handover = "handover", Unloading = "unloading");
words!(SealState: Intact = "intact", Broken = "broken", Missing = "missing");
words!(Sensitivity: Normal = "normal", Confidential = "confidential", Secret = "secret");

impl SealState {
    /// Whether this state opens a `seal` alert at once.
    pub fn is_alarming(self) -> bool {
        self != SealState::Intact
    }
}

/// A seal seen broken or missing at a checkpoint, already recorded: the server opens a `seal`
/// alert on the move from it.
#[derive(Clone, Debug, PartialEq)]
pub struct SealIncident {
    pub move_id: String,
    /// The checkpoint's vehicle, else the seal's, else the move's first.
    pub vehicle: VehicleId,
    /// The checkpoint's time.
    pub t: DateTime<Utc>,
    /// The position the checkpoint recorded, if any.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub seal_number: String,
    /// `{"stage", "state", "seal", "label", "by", "note"}`.
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_and_nothing_else_reads() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(*stage));
        }
        for state in SealState::ALL {
            assert_eq!(SealState::parse(state.as_str()), Some(*state));
        }
        for sensitivity in Sensitivity::ALL {
            assert_eq!(Sensitivity::parse(sensitivity.as_str()), Some(*sensitivity));
        }
        assert_eq!(Stage::parse("Loading"), None);
        assert_eq!(SealState::parse(""), None);
        assert_eq!(Sensitivity::parse("top secret"), None);
    }

    #[test]
    fn only_a_broken_or_missing_seal_alarms() {
        assert!(!SealState::Intact.is_alarming());
        assert!(SealState::Broken.is_alarming() && SealState::Missing.is_alarming());
    }
}
