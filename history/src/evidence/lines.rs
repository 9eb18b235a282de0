//! What each line of a bundle holds (besides its `"section"`, which the writer puts first and
//! a reader takes out before reading the rest into these). Times are RFC 3339 in UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use convoy_core::alert::{AlertKind, AlertState};
use convoy_core::rules::RuleSettings;
use convoy_core::signing::{ChainHash, KeyId, PublicKey, Signature};
use convoy_core::{Position, VehicleId};
use convoy_store::{AlertRecord, AlertTransition, AuditEntry, MoveRecord, PlanVersion, StoredPosition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Line 1: what the bundle is of, and the span its fixes cover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BundleLine {
    pub format: String,
    #[serde(rename = "move")]
    pub move_id: String,
    pub exported_at: DateTime<Utc>,
    pub exported_by: String,
    /// Fix times from here on.
    pub from: DateTime<Utc>,
    /// Fix times and receive times before this: the move's end, the export's moment, or for an
    /// auditor the newest place they may read (`[access] auditor_delay_minutes`).
    pub until: DateTime<Utc>,
    /// Whether `until` is an auditor's cut (the move went on after it): fixes after the last
    /// signed head are then expected, and alerts still open at the cut are compared as open.
    pub cut: bool,
    /// The server's rule thresholds (a plan's own overrides are in the plan): a verifier
    /// replays the rules with them.
    pub rules: RuleSettings,
}

/// The move and its current plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// When a person ended or cancelled the move, if one did.
    pub ended_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
    pub plan: Value,
}

impl PlanLine {
    pub fn of(record: &MoveRecord) -> Self {
        PlanLine {
            id: record.id.clone(),
            name: record.name.clone(),
            version: record.version,
            created_at: record.created_at,
            created_by: record.created_by.clone(),
            ended_at: record.end.as_ref().map(|e| e.at),
            cancelled: record.end.as_ref().is_some_and(|e| e.cancelled),
            plan: record.plan.clone(),
        }
    }
}

/// One version of the plan (version 1 as created, one per edit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanVersionLine {
    pub version: u32,
    pub at: DateTime<Utc>,
    pub by: String,
    pub changes: Vec<String>,
    pub team: Option<Vec<String>>,
    pub plan: Value,
}

impl PlanVersionLine {
    pub fn of(v: &PlanVersion) -> Self {
        PlanVersionLine {
            version: v.version,
            at: v.at,
            by: v.by.clone(),
            changes: v.changes.clone(),
            team: v.team.clone(),
            plan: v.plan.clone(),
        }
    }
}

/// A vehicle's public key, valid for fixes from `valid_from` until the next key's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleKeyLine {
    pub vehicle: VehicleId,
    pub key: KeyId,
    pub public_key: PublicKey,
    pub valid_from: DateTime<Utc>,
}

/// Seqs missing from a vehicle's chain, as ingest recorded them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainGapLine {
    pub vehicle: VehicleId,
    /// The first and last seq missing.
    pub from_seq: u64,
    pub to_seq: u64,
    pub detected_at: DateTime<Utc>,
}

/// A stored fix: as on the wire, with what the server added.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixLine {
    pub vehicle: VehicleId,
    #[serde(flatten)]
    pub position: Position,
    pub received_at: DateTime<Utc>,
    pub late: bool,
    /// `too_fast`, `older_than_retention`, or null.
    pub implausible: Option<String>,
    /// The chain hash of the fix before (the vehicle's chain), null for an unsigned vehicle.
    pub prev: Option<ChainHash>,
    /// The phone that sent it; null for the vehicle's agent.
    pub source: Option<String>,
}

impl FixLine {
    pub fn of(vehicle: &VehicleId, stored: &StoredPosition) -> Self {
        FixLine {
            vehicle: vehicle.clone(),
            position: stored.position.clone(),
            received_at: stored.received_at,
            late: stored.late,
            implausible: stored.implausible.map(|i| i.as_str().to_string()),
            prev: stored.prev_hash,
            source: stored.source.clone(),
        }
    }
}

/// An agent's status report, its text as received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentStatusLine {
    pub vehicle: VehicleId,
    pub received_at: DateTime<Utc>,
    pub status: String,
}

/// A change of an alert's state made by a person (or the rules' clearing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransitionLine {
    pub state: AlertState,
    pub at: DateTime<Utc>,
    pub by: String,
    pub note: Option<String>,
}

/// An alert of the move with every transition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertLine {
    pub id: String,
    pub vehicle: VehicleId,
    pub kind: AlertKind,
    pub zone: Option<String>,
    pub state: AlertState,
    /// The fix time it opened at, and the one the rule cleared it at.
    pub opened_t: DateTime<Utc>,
    pub cleared_t: Option<DateTime<Utc>>,
    pub late: bool,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub detail: Value,
    pub transitions: Vec<TransitionLine>,
}

impl AlertLine {
    pub fn of(alert: &AlertRecord, transitions: &[AlertTransition]) -> Self {
        AlertLine {
            id: alert.id.clone(),
            vehicle: alert.vehicle.clone(),
            kind: alert.kind,
            zone: alert.zone.clone(),
            state: alert.state,
            opened_t: alert.opened_t,
            cleared_t: alert.cleared_t,
            late: alert.late,
            lat: alert.lat,
            lon: alert.lon,
            detail: alert.detail.clone(),
            transitions: transitions
                .iter()
                .map(|t| TransitionLine { state: t.state, at: t.at, by: t.by.clone(), note: t.note.clone() })
                .collect(),
        }
    }
}

/// A seal checkpoint of the move: which seals were seen in which state, by whom, when, where
/// the vehicle was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealCheckpointLine {
    pub id: i64,
    /// `loading`, `handover` or `unloading`.
    pub stage: String,
    pub vehicle: Option<VehicleId>,
    /// When it was recorded, by the server's clock.
    pub at: DateTime<Utc>,
    pub by: String,
    pub note: Option<String>,
    /// The vehicle's latest stored fix then.
    pub fix: Option<CheckpointFixLine>,
    pub seals: Vec<SealSeenLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointFixLine {
    pub t: DateTime<Utc>,
    pub seq: u64,
    pub lat: f64,
    pub lon: f64,
}

/// One seal as seen at a checkpoint, with its number and label then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealSeenLine {
    pub seal_id: String,
    pub number: String,
    pub label: String,
    /// `intact`, `broken` or `missing`.
    pub state: String,
    pub note: Option<String>,
}

impl SealCheckpointLine {
    pub fn of(c: &convoy_store::Checkpoint) -> Self {
        SealCheckpointLine {
            id: c.id,
            stage: c.stage.clone(),
            vehicle: c.vehicle.clone(),
            at: c.at,
            by: c.by.clone(),
            note: c.note.clone(),
            fix: c.fix.as_ref().map(|f| CheckpointFixLine { t: f.t, seq: f.seq, lat: f.lat, lon: f.lon }),
            seals: c
                .seals
                .iter()
                .map(|s| SealSeenLine {
                    seal_id: s.seal_id.clone(),
                    number: s.number.clone(),
                    label: s.label.clone(),
                    state: s.state.clone(),
                    note: s.note.clone(),
                })
                .collect(),
        }
    }
}

/// An audit log entry about the move (or one of its alerts), with its chain fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditLine {
    pub seq: u64,
    /// To the millisecond, as hashed.
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: String,
    pub from: Option<String>,
    /// The detail as the JSON text hashed.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditLine {
    pub fn of(entry: &AuditEntry) -> Self {
        AuditLine {
            seq: entry.seq,
            at: entry.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            from: entry.from_addr.clone(),
            detail: entry.detail.clone(),
            prev_hash: entry.prev_hash.clone(),
            hash: entry.hash.clone(),
        }
    }

    /// The entry back, to recompute its hash; `None` if `at` is not a time.
    pub fn entry(&self) -> Option<AuditEntry> {
        let at = DateTime::parse_from_rfc3339(&self.at).ok()?.with_timezone(&Utc);
        Some(AuditEntry {
            seq: self.seq,
            at,
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            from_addr: self.from.clone(),
            detail: self.detail.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        })
    }
}

/// The move report as `GET /api/v1/moves/{id}/report` gives it for the bundle's span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    pub report: Value,
}

/// The last line: how many lines of each section, the SHA-256 of every line before it (each
/// line's bytes with its newline), and the server's signature over those 32 bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestLine {
    pub counts: BTreeMap<String, u64>,
    pub sha256: String,
    pub key: KeyId,
    pub public_key: PublicKey,
    pub sig: Signature,
}
