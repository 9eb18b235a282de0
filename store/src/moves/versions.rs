//! The versions of a move's plan. Version 1 is the plan as created; each edit adds the next,
//! with who made it, when, which fields it changed, and the team it set. The move's current plan
//! (`MoveRecord::plan`, `MoveRecord::version`) is always the newest version's.
//!
//! An edit names the version it replaces and is one compare-and-set on the move's row: of two
//! edits of one version, the first is kept and the second is refused as stale, never lost. A
//! move a person ended or cancelled takes no edit.

use chrono::{DateTime, Utc};

use crate::Result;

/// One version of a move's plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanVersion {
    pub version: u32,
    pub plan: serde_json::Value,
    pub at: DateTime<Utc>,
    pub by: String,
    /// The fields this version changed (`name`, `route`, `window.to`, `team`, ...); empty for
    /// version 1.
    pub changes: Vec<String>,
    /// The team this version set; `None` if it left the team as it was.
    pub team: Option<Vec<String>>,
}

/// A person's edit of a move's plan, already judged.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanEdit {
    /// The version the edit was made from.
    pub replaces: u32,
    /// The plan's name (kept beside the plan, as the move's name).
    pub name: String,
    pub plan: serde_json::Value,
    pub at: DateTime<Utc>,
    pub by: String,
    pub changes: Vec<String>,
    /// The new team, if the edit sets one (its people must exist: check them first).
    pub team: Option<Vec<String>>,
}

/// What became of an edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanEdited {
    /// Stored as this version.
    Stored(u32),
    /// Another edit came first: the move is at `current` now. Nothing changed.
    Stale { current: u32 },
    /// A person ended or cancelled the move. Nothing changed.
    Over,
    /// No such move.
    UnknownMove,
}

forward! {
    /// Stores an edit as the move's next version, its plan (and team, if given) the move's own,
    /// in one transaction; see [`PlanEdited`] for what is refused.
    pub async fn edit_move_plan(&self, move_id: &str, edit: &PlanEdit) -> Result<PlanEdited>;

    /// A move's plan versions, newest first (empty for an unknown move).
    pub async fn plan_versions(&self, move_id: &str) -> Result<Vec<PlanVersion>>;
}
