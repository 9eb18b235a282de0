//! A stored fix as the API shows it: the wire position, and its marks when set (`signed`: its
//! batch's signature and chain were verified at ingest; absent, the fix is unsigned).

use convoy_core::Position;
use convoy_store::StoredPosition;
use serde::Serialize;

/// A stored fix as on the wire, with the marks ingest gave it when they are set.
#[derive(Serialize)]
pub struct TrackFix<'a> {
    #[serde(flatten)]
    position: &'a Position,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    late: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    implausible: Option<&'static str>,
    /// Stored from a batch whose signature and chain ingest verified; absent: unsigned.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    signed: bool,
}

impl<'a> TrackFix<'a> {
    pub fn of(fix: &'a StoredPosition) -> Self {
        TrackFix {
            position: &fix.position,
            late: fix.late,
            implausible: fix.implausible.map(|r| r.as_str()),
            signed: fix.prev_hash.is_some(),
        }
    }
}
