//! Moves (a plan of vehicles, route, zones and window, created by a person) and their teams:
//! the people assigned to a move, which is what an escort may see.
//!
//! Teams live here rather than with accounts because a team belongs to its move: its rows go
//! with the move (`ON DELETE CASCADE`), it is replaced whole for one move, and its callers ask
//! "who is on this move" or "which moves is this person on" beside the moves themselves, while
//! accounts only answer who may log in.

mod postgres;
mod sqlite;
mod state;
mod versions;
mod versions_postgres;
mod versions_sqlite;

pub use state::MoveState;
pub use versions::{PlanEdit, PlanEdited, PlanVersion};

use chrono::{DateTime, Utc};
use convoy_core::VehicleId;

use crate::{Result, StoreError};

/// A move and its plan, as created by a person.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveRecord {
    pub id: String,
    pub name: String,
    pub plan: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// The number of the plan's version `plan` is (1 as created; each edit adds one).
    pub version: u32,
    /// Set once a person ended or cancelled the move; `None` while only its window speaks.
    pub end: Option<MoveEnd>,
}

/// A person stopping a move before its window closed: ending it early (it ran), or cancelling
/// it (it never started).
#[derive(Clone, Debug, PartialEq)]
pub struct MoveEnd {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    pub cancelled: bool,
}

/// Who is on a move and until when, without its plan: what the vehicle list and people's scope
/// need, read without parsing every route.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveCrew {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub vehicles: Vec<VehicleId>,
    /// The start of the move's window, if it has one.
    pub starts_at: Option<DateTime<Utc>>,
    /// The end of the move's window, if it has one.
    pub ends_at: Option<DateTime<Utc>>,
    /// When a person ended or cancelled it, if one did.
    pub ended_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
    /// The version of its plan (1 as created, one more per edit): how the alert rules find
    /// plans edited elsewhere (another server's API) in the same look that finds new moves.
    pub plan_version: u32,
}

impl MoveCrew {
    /// From the plan's `vehicles` (JSON text) and `window.from` and `window.to` (RFC 3339) as the
    /// database gives them.
    pub(crate) fn from_parts(
        id: String,
        created_at: DateTime<Utc>,
        vehicles: Option<&str>,
        window: (Option<&str>, Option<&str>),
        ended: (Option<DateTime<Utc>>, bool),
        plan_version: u32,
    ) -> Result<MoveCrew> {
        let corrupt = |what: String| StoreError::Corrupt(format!("move {id}: {what}"));
        let names: Vec<String> = match vehicles {
            Some(text) => serde_json::from_str(text).map_err(|e| corrupt(format!("vehicles: {e}")))?,
            None => Vec::new(),
        };
        let vehicles = names
            .into_iter()
            .map(|name| VehicleId::new(name).map_err(|e| corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        let time = |text: Option<&str>| {
            text.map(|t| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)))
                .transpose()
                .map_err(|e| corrupt(format!("window: {e}")))
        };
        let (starts_at, ends_at) = (time(window.0)?, time(window.1)?);
        let (ended_at, cancelled) = ended;
        Ok(MoveCrew { id, created_at, vehicles, starts_at, ends_at, ended_at, cancelled, plan_version })
    }

    /// Whether the move is under way at `t`: inside its window (one without a window runs from
    /// its creation and never ends), and before a person ended it.
    pub fn is_running_at(&self, t: DateTime<Utc>) -> bool {
        self.starts_at.unwrap_or(self.created_at) <= t && !self.has_ended(t)
    }

    /// Whether the move's window ended before `now` (a move without one never ends), or a
    /// person ended or cancelled it at or before `now`.
    pub fn has_ended(&self, now: DateTime<Utc>) -> bool {
        self.ends_at.is_some_and(|end| end < now) || self.ended_at.is_some_and(|at| at <= now)
    }

    /// Where the move stops: the earlier of its window's end and a person's end; `None` for an
    /// open-ended move nobody ended.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        match (self.ends_at, self.ended_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Planned, running, ended or cancelled at `now`.
    pub fn state_at(&self, now: DateTime<Utc>) -> MoveState {
        let end = self.ended_at.map(|at| (at, self.cancelled));
        MoveState::at(now, self.starts_at.unwrap_or(self.created_at), self.ends_at, end)
    }
}

forward! {
    /// Adds a move, its plan as version 1 (whatever `record.version` says);
    /// [`StoreError::AlreadyExists`] if its id is taken.
    pub async fn add_move(&self, record: &MoveRecord) -> Result<()>;

    pub async fn move_record(&self, id: &str) -> Result<Option<MoveRecord>>;

    /// Every move, oldest first.
    pub async fn moves(&self) -> Result<Vec<MoveRecord>>;

    /// Every move's vehicles and end, oldest first, without reading the plans' routes.
    pub async fn move_crews(&self) -> Result<Vec<MoveCrew>>;

    /// Records that a person ended or cancelled a move. Returns false, changing nothing, if the
    /// move is unknown or was already ended or cancelled (whichever came first stands).
    pub async fn end_move(&self, id: &str, end: &MoveEnd) -> Result<bool>;

    /// Every move's id, oldest first: what is there, without reading every plan.
    pub async fn move_ids(&self) -> Result<Vec<String>>;

    /// Replaces the people assigned to a move (escorts see only their moves). Unknown names or
    /// an unknown move are a `Database` error from the foreign keys; check them first.
    pub async fn set_move_team(&self, move_id: &str, usernames: &[String]) -> Result<()>;

    /// The people assigned to a move, by name.
    pub async fn move_team(&self, move_id: &str) -> Result<Vec<String>>;

    /// The moves a person is assigned to, by id.
    pub async fn moves_of_user(&self, username: &str) -> Result<Vec<String>>;
}
