//! One behaviour suite, run against both backends: the embedded SQLite file, a real
//! PostgreSQL server (a fresh database per test), and TimescaleDB (a server per test, see
//! tests/timescale).

use chrono::{DateTime, Duration, TimeZone, Utc};
use convoy_core::alert::{AlertKind, AlertState};
use convoy_core::plausibility::Implausible;
use convoy_core::{FixMode, Language, Position, Role, VehicleId};
use convoy_store::{
    AgentStatus, AlertChange, AlertFilter, AlertHistoryQuery, AlertKey, AlertRecord, AlertTransition,
    AuditBreak, AuditFilter, AuditHead, DeadLetter, Delivery, Device, DeviceKind, HeldPositions, HoldRecord,
    HoldRelease, IngestWrite, LegalHold, MoveEnd, MoveRecord, MoveState, NewAuditEntry, Person, PersonChange,
    PersonChanged, ReleaseOutcome, Store, StoreError, StoredPosition, User, VehicleLogin, VehiclePositions,
    GENESIS_HASH,
};
use serde_json::json;

// The suite's tests, a file per part of the store; the fixtures and the lists of tests
// per backend are here.
#[path = "behaviour/positions.rs"]
mod positions;
use positions::*;
#[path = "behaviour/accounts.rs"]
mod accounts;
use accounts::*;
#[path = "behaviour/retention.rs"]
mod retention;
use retention::*;
#[path = "behaviour/moves.rs"]
mod moves;
use moves::*;
#[path = "behaviour/alerts.rs"]
mod alerts;
use alerts::*;
#[path = "behaviour/audit.rs"]
mod audit;
use audit::*;
#[path = "behaviour/signing.rs"]
mod signing;
use signing::*;
#[path = "behaviour/plan_versions.rs"]
mod plan_versions;
use plan_versions::{
    a_stale_edit_or_one_of_an_ended_move_changes_nothing, concurrent_edits_of_one_version_store_exactly_one,
    each_plan_edit_is_a_new_version_and_the_newest_is_the_moves_plan,
};

/// A store of the given backend, kept alive with whatever it needs (the SQLite directory).
struct Fixture {
    store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
    _timescale: Option<convoy_testkit::Timescale>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("convoy.db").display());
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: Some(dir), _timescale: None }
}

async fn postgres() -> Fixture {
    let url = convoy_testkit::fresh_postgres_database().await;
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: None, _timescale: None }
}

async fn timescale() -> Fixture {
    let server = tokio::task::spawn_blocking(convoy_testkit::Timescale::start).await.unwrap();
    // The test server serves one session at a time.
    let url = format!("{}?pool_max_size=1", server.url());
    Fixture { store: Store::open(&url).await.unwrap(), url, _dir: None, _timescale: Some(server) }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 0).unwrap()
}

fn vehicle(id: &str) -> VehicleId {
    VehicleId::new(id).unwrap()
}

fn position(seq: u64, seconds: i64) -> Position {
    Position {
        seq,
        t: t0() + Duration::seconds(seconds),
        lat: 48.137154 + seq as f64 * 1e-5,
        lon: 11.576124,
        alt_m: Some(519.0),
        speed_mps: Some(12.4),
        course_deg: Some(87.5),
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    }
}

fn write_of(id: &str, positions: Vec<Position>) -> IngestWrite {
    IngestWrite {
        received_at: Some(t0() + Duration::minutes(1)),
        positions: vec![VehiclePositions { vehicle: vehicle(id), positions, source: None, chain: None }],
        ..Default::default()
    }
}

async fn reopening_keeps_the_data_and_the_schema(f: Fixture) {
    f.store.write_ingest(&write_of("truck-07", vec![position(1, 0)])).await.unwrap();
    let reopened = Store::open(&f.url).await.unwrap();
    assert_eq!(whole_track(&reopened, "truck-07").await.len(), 1);
    reopened.ping().await.unwrap();
}

macro_rules! suite_on {
    ($backend:ident, $fixture:ident: $($name:ident),* $(,)?) => {
        mod $backend {
            $(#[tokio::test] async fn $name() { super::$name(super::$fixture().await).await })*
        }
    };
}

macro_rules! every_backend {
    ($($name:ident),* $(,)?) => {
        suite_on!(on_sqlite, sqlite: $($name),*);
        suite_on!(on_postgres, postgres: $($name),*);
        suite_on!(on_timescale, timescale: $($name),*);
    };
}

// Opening a second store while the first holds its connection needs more than the one
// session the TimescaleDB test server serves.
suite_on!(on_sqlite_reopened, sqlite: reopening_keeps_the_data_and_the_schema, an_unknown_alert_kind_reads_back_as_corrupt);
suite_on!(on_postgres_reopened, postgres: reopening_keeps_the_data_and_the_schema, an_unknown_alert_kind_reads_back_as_corrupt);
// Tampering needs a second connection beside the store's.
suite_on!(on_sqlite_tampered, sqlite: the_audit_log_refuses_changes_and_finds_them_when_forced, a_cut_tail_of_the_audit_log_is_found);
suite_on!(on_postgres_tampered, postgres: the_audit_log_refuses_changes_and_finds_them_when_forced, a_cut_tail_of_the_audit_log_is_found);

every_backend!(
    a_redelivered_position_is_stored_once,
    the_latest_position_never_moves_back_in_fix_time,
    a_track_is_bounded_by_its_time_range,
    optional_fields_stay_absent,
    dead_letters_keep_their_raw_bytes,
    a_vehicle_is_registered_once,
    a_vehicles_password_hash_is_replaced_only_if_it_is_registered,
    a_disabled_vehicle_keeps_its_password_and_positions_until_enabled,
    a_phones_fixes_keep_their_accuracy_and_source,
    a_phone_is_registered_once_per_kind_and_name,
    a_token_logs_its_user_in_until_it_expires,
    a_disabled_persons_tokens_end_and_no_token_of_theirs_is_valid,
    the_last_enabled_admin_cannot_be_disabled_or_demoted,
    a_new_password_ends_every_token_but_the_one_kept,
    people_are_listed_with_their_state_and_last_login,
    a_persons_language_is_kept_until_changed,
    a_backlog_is_stored_marked_late,
    an_implausible_fix_is_kept_raw_and_marked_but_never_becomes_the_live_position,
    a_fix_older_than_the_retention_is_marked,
    a_long_track_streams_whole_and_in_order,
    the_latest_agent_status_is_kept,
    retention_deletes_old_positions_and_records_the_purge,
    a_legal_hold_keeps_its_positions_until_released,
    holds_are_listed_with_who_placed_and_released_them,
    a_purge_records_which_hold_kept_what,
    fresh_positions_are_the_clean_fixes_of_a_write_in_its_order,
    the_status_history_keeps_every_report_until_retention,
    the_newest_statuses_come_newest_first_up_to_a_limit,
    moves_are_kept_by_id_and_listed_by_creation,
    a_move_is_ended_or_cancelled_once_and_keeps_who_and_why,
    each_plan_edit_is_a_new_version_and_the_newest_is_the_moves_plan,
    a_stale_edit_or_one_of_an_ended_move_changes_nothing,
    concurrent_edits_of_one_version_store_exactly_one,
    an_alert_is_opened_once,
    the_rule_clearing_an_alert_resolves_it,
    a_clearing_after_a_person_resolved_keeps_who_resolved,
    an_alert_is_acknowledged_then_resolved_with_each_transition,
    a_change_to_the_state_an_alert_is_past_changes_nothing,
    alerts_are_listed_newest_first_and_filtered,
    the_alert_history_pages_to_the_end_without_gaps_or_repeats,
    the_alert_history_is_filtered_by_time_move_vehicle_kind_state_and_note,
    deliveries_are_kept_in_order,
    audit_entries_chain_in_order_from_genesis,
    concurrent_audit_appends_make_one_contiguous_chain,
    a_vehicles_keys_rotate_forward_and_a_key_is_one_trucks,
    signed_fixes_keep_their_chain_and_heads_and_unsigned_ones_none,
    chain_gaps_are_kept_once_with_their_span,
);

// The daily report's queries, in a file of their own (this one is long enough).
#[path = "behaviour/daily_report.rs"]
mod daily_report;

#[tokio::test]
async fn an_unknown_database_url_is_refused() {
    assert!(matches!(Store::open("mysql://x").await, Err(StoreError::BadUrl(_))));
}
