//! Legal holds through the API, on a real server over PostgreSQL: placing one on a move or a
//! vehicle, listing and releasing them, who may, what each refusal answers (and that it changes
//! nothing and is counted), the audit log's record, and the point of it all: a hold placed
//! through the API keeps its positions through a retention run that deletes everything around
//! them, and the purge's record says which hold kept how many.

mod common;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use common::*;
use convoy_core::plan::MovePlan;
use convoy_core::{Position, Role, VehicleId};
use convoy_store::{AuditFilter, IngestWrite, Retention, Store, VehiclePositions};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const AUDITOR: (&str, &str) = ("auditor-ida", "a long enough auditor password");
const DISPATCHER: (&str, &str) = ("dispatcher-dan", "a long enough dispatcher password");
/// The move's two vehicles, and one that is on no move.
const ON_MOVE: [&str; 2] = ["truck-07", "escort-1"];
const BYSTANDER: &str = "van-3";

struct World {
    server: TestServer,
    admin: String,
    auditor: String,
    dispatcher: String,
    move_id: String,
    now: DateTime<Utc>,
}

impl World {
    /// A server with the three vehicles registered and a move of two of them whose window was
    /// 41 to 39 days ago.
    async fn start() -> World {
        let server = TestServer::start(Backend::Postgres, BrokerKind::Embedded).await;
        for id in ON_MOVE.iter().chain([&BYSTANDER]) {
            convoy_registry::register_vehicle(&server.store, &VehicleId::new(*id).unwrap()).await.unwrap();
        }
        convoy_registry::add_user(&server.store, AUDITOR.0, Role::Auditor, AUDITOR.1).await.unwrap();
        convoy_registry::add_user(&server.store, DISPATCHER.0, Role::Dispatcher, DISPATCHER.1).await.unwrap();
        let now = Utc::now().trunc_subsecs(0);
        let plan = json!({
            "name": "the move under inquiry",
            "vehicles": ON_MOVE,
            "route": { "type": "LineString", "coordinates": [[11.56, 48.16], [11.57, 48.17]] },
            "corridor_m": 200,
            "window": { "from": now - Duration::days(41), "to": now - Duration::days(39) },
        });
        let plan = MovePlan::from_json(plan.to_string().as_bytes()).unwrap();
        let move_id = convoy_registry::store_new_move(&server.store, &plan, ADMIN_USER).await.unwrap().id;
        World {
            admin: server.login(ADMIN_USER, ADMIN_PASSWORD).await,
            auditor: server.login(AUDITOR.0, AUDITOR.1).await,
            dispatcher: server.login(DISPATCHER.0, DISPATCHER.1).await,
            server,
            move_id,
            now,
        }
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(self.server.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn holds(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.server.get_json("/api/v1/holds", token).await;
        assert_eq!(status, 200, "{body}");
        body["holds"].as_array().unwrap().clone()
    }

    /// `convoy_gateway_holds_rejected_total{reason}` as the server's metrics show it.
    async fn refusals(&self, reason: &str) -> u64 {
        let text = reqwest::get(self.server.url("/metrics")).await.unwrap().text().await.unwrap();
        let line = format!("convoy_gateway_holds_rejected_total{{reason=\"{reason}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(&line)).map_or(0, |n| n.trim().parse().unwrap())
    }
}

fn fix(seq: u64, t: DateTime<Utc>) -> Position {
    Position {
        seq,
        t,
        lat: 48.16,
        lon: 11.56,
        alt_m: None,
        speed_mps: None,
        course_deg: None,
        fix: None,
        sats: None,
        hdop: None,
        accuracy_m: None,
    }
}

/// Each vehicle's fixes: before the move's window, inside it, after it (all past a 30-day
/// retention), and yesterday.
const DAYS_AGO: [i64; 4] = [45, 40, 35, 1];

async fn write_fixes(store: &Store, now: DateTime<Utc>) {
    let positions = ON_MOVE
        .iter()
        .chain([&BYSTANDER])
        .map(|id| VehiclePositions {
            vehicle: VehicleId::new(*id).unwrap(),
            positions: DAYS_AGO
                .iter()
                .enumerate()
                .map(|(i, d)| fix(i as u64, now - Duration::days(*d)))
                .collect(),
            source: None,
            chain: None,
        })
        .collect();
    store.write_ingest(&IngestWrite { positions, ..Default::default() }).await.unwrap();
}

/// How many days ago each of a vehicle's stored fixes was.
async fn stored_days(store: &Store, id: &str, now: DateTime<Utc>) -> Vec<i64> {
    let track = store.track(&VehicleId::new(id).unwrap(), now - Duration::days(100), now).await.unwrap();
    track.iter().map(|p| (now - p.t).num_days()).collect()
}

/// Runs the server's own housekeeping with a 30-day retention until it has recorded a purge
/// after `after`, and returns that purge.
async fn retention_run(store: &Store, after: DateTime<Utc>) -> convoy_store::PurgeReport {
    let stop = CancellationToken::new();
    let housekeeping = tokio::spawn(convoy_store::run_housekeeping(
        store.clone(),
        Some(Retention { days: 30 }),
        StdDuration::from_secs(3600),
        None,
        stop.clone(),
    ));
    let report = eventually(StdDuration::from_secs(30), "a retention purge", || async {
        store.purges(1).await.unwrap().into_iter().find(|p| p.ran_at > after)
    })
    .await;
    stop.cancel();
    housekeeping.await.unwrap().unwrap();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_placed_through_the_api_survives_a_retention_run_that_deletes_everything_around_it() {
    let w = World::start().await;
    write_fixes(&w.server.store, w.now).await;
    let request = json!({ "move": w.move_id, "reason": "accident inquiry", "reference": "INQ-2026-17" });
    let (status, hold) = w.post("/api/v1/holds", &w.admin, request).await;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(hold["vehicles"], json!(["escort-1", "truck-07"]), "the move's vehicles: {hold}");
    assert_eq!((hold["move"].as_str(), hold["active"].as_bool()), (Some(w.move_id.as_str()), Some(true)));
    let id = hold["id"].as_i64().unwrap();

    let placed = Utc::now();
    let report = retention_run(&w.server.store, placed).await;
    for vehicle in ON_MOVE {
        assert_eq!(
            stored_days(&w.server.store, vehicle, w.now).await,
            [40, 1],
            "{vehicle}: the window's fix is kept"
        );
    }
    assert_eq!(stored_days(&w.server.store, BYSTANDER, w.now).await, [1], "no hold covers the bystander");
    assert_eq!((report.positions_deleted, report.positions_held), (7, 2), "{report:?}");
    assert_eq!(report.held_by, vec![convoy_store::HeldPositions { hold: id, positions: 2 }]);
    // The audit log's record of the purge says what was kept and under which hold.
    let filter = AuditFilter { action: Some("retention.purge".into()), limit: 10, ..Default::default() };
    let purges = w.server.store.audit_entries(&filter).await.unwrap();
    let last = purges.iter().max_by_key(|e| e.seq).unwrap();
    let detail: Value = serde_json::from_str(&last.detail).unwrap();
    assert_eq!(detail["held_by"], json!([{ "hold": id, "positions": 2 }]), "{detail}");

    // Released, the next run lets them go.
    let (status, released) =
        w.post(&format!("/api/v1/holds/{id}/release"), &w.admin, json!({ "reason": "inquiry closed" })).await;
    assert_eq!(status, 200, "{released}");
    let report = retention_run(&w.server.store, report.ran_at).await;
    assert_eq!((report.positions_deleted, report.positions_held), (2, 0), "{report:?}");
    assert!(report.held_by.is_empty());
    for vehicle in ON_MOVE {
        assert_eq!(stored_days(&w.server.store, vehicle, w.now).await, [1], "{vehicle}");
    }
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_are_placed_listed_and_released_by_admins_with_each_step_in_the_audit_log() {
    let w = World::start().await;
    let from = w.now - Duration::days(3);
    let on_vehicle = json!({
        "vehicle": "van-3", "from": from, "to": w.now, "reason": "  damage claim ", "reference": "CLAIM-9",
    });
    let (status, first) = w.post("/api/v1/holds", &w.admin, on_vehicle).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["vehicles"], json!(["van-3"]));
    assert_eq!(
        (first["reason"].as_str(), first["placed_by"].as_str()),
        (Some("damage claim"), Some(ADMIN_USER))
    );
    let everyone = json!({ "all_vehicles": true, "from": from, "to": w.now, "reason": "regulator request" });
    let (status, second) = w.post("/api/v1/holds", &w.admin, everyone).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!((second["vehicles"].clone(), second["move"].clone()), (Value::Null, Value::Null));
    // Over its window, unless a range is given.
    let ranged = json!({ "move": w.move_id, "from": from, "to": w.now, "reason": "later look" });
    let (status, third) = w.post("/api/v1/holds", &w.admin, ranged).await;
    assert_eq!(status, 201, "{third}");
    assert_eq!(third["from"].as_str().map(|t| t.parse::<DateTime<Utc>>().unwrap()), Some(from));

    let id = first["id"].as_i64().unwrap();
    let path = format!("/api/v1/holds/{id}/release");
    let (status, released) = w.post(&path, &w.admin, json!({ "reason": "claim settled" })).await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["active"], false);
    assert_eq!(
        (released["released_by"].as_str(), released["release_reason"].as_str()),
        (Some(ADMIN_USER), Some("claim settled"))
    );

    // An auditor sees the same list, newest first; a dispatcher none of it.
    let holds = w.holds(&w.auditor).await;
    let ids: Vec<_> = holds.iter().map(|h| h["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [third["id"].as_i64().unwrap(), second["id"].as_i64().unwrap(), id]);
    assert_eq!(holds[2], released);
    assert_eq!(w.server.get_json("/api/v1/holds", &w.dispatcher).await.0, 403);
    let (status, _) = w
        .post(
            "/api/v1/holds",
            &w.auditor,
            json!({ "all_vehicles": true, "from": from, "to": w.now, "reason": "x" }),
        )
        .await;
    assert_eq!(status, 403, "auditors only look");
    let (status, _) = w
        .post(&format!("/api/v1/holds/{}/release", second["id"]), &w.auditor, json!({ "reason": "x" }))
        .await;
    assert_eq!(status, 403);

    let entries =
        w.server.store.audit_entries(&AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let holds: Vec<_> = entries
        .iter()
        .filter(|e| e.action.starts_with("hold."))
        .map(|e| (e.action.as_str(), e.target.clone(), e.actor.clone().unwrap()))
        .collect();
    let target = |v: &Value| format!("hold:{}", v["id"]);
    let admin = ADMIN_USER.to_string();
    assert_eq!(
        holds,
        [
            ("hold.place", target(&first), admin.clone()),
            ("hold.place", target(&second), admin.clone()),
            ("hold.place", target(&third), admin.clone()),
            ("hold.release", target(&first), admin),
        ]
    );
    let place = entries.iter().find(|e| e.action == "hold.place").unwrap();
    let detail: Value = serde_json::from_str(&place.detail).unwrap();
    assert_eq!(
        (detail["reason"].as_str(), detail["reference"].as_str()),
        (Some("damage claim"), Some("CLAIM-9"))
    );
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_holds_and_releases_are_refused_with_their_reason_counted_and_nothing_changed() {
    let w = World::start().await;
    let (from, to) = (w.now - Duration::days(2), w.now);
    let hold = |extra: Value| {
        let mut body = json!({ "vehicle": "truck-07", "from": from, "to": to, "reason": "claim" });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (hold(json!({ "reason": "   " })), 400, "empty_reason"),
        (hold(json!({ "reason": "r".repeat(501) })), 400, "too_long"),
        (hold(json!({ "reference": "c".repeat(101) })), 400, "too_long"),
        (hold(json!({ "from": to, "to": from })), 400, "bad_range"),
        (hold(json!({ "from": from, "to": from })), 400, "bad_range"),
        (json!({ "vehicle": "truck-07", "from": from, "reason": "claim" }), 400, "bad_range"),
        (json!({ "vehicle": "truck-07", "reason": "claim" }), 400, "bad_range"),
        (hold(json!({ "all_vehicles": true })), 400, "bad_scope"),
        (json!({ "from": from, "to": to, "reason": "claim" }), 400, "bad_scope"),
        (hold(json!({ "vehicle": "bad name!" })), 400, "bad_name"),
        (hold(json!({ "vehicle": "truck-99" })), 422, "unknown_vehicle"),
        (json!({ "move": "no-such-move", "reason": "claim" }), 422, "unknown_move"),
    ];
    for (body, status, reason) in cases {
        let before = w.refusals(reason).await;
        let (got, answer) = w.post("/api/v1/holds", &w.admin, body.clone()).await;
        assert_eq!((got, answer["reason"].as_str()), (status, Some(reason)), "{body}: {answer}");
        assert_eq!(w.refusals(reason).await, before + 1, "{reason} counted");
    }
    assert!(w.holds(&w.admin).await.is_empty(), "no refused hold was stored");

    let (status, hold) = w.post("/api/v1/holds", &w.admin, hold(json!({}))).await;
    assert_eq!(status, 201, "{hold}");
    let path = format!("/api/v1/holds/{}/release", hold["id"]);
    let (status, answer) = w.post(&path, &w.admin, json!({ "reason": "" })).await;
    assert_eq!((status, answer["reason"].as_str()), (400, Some("empty_reason")));
    assert_eq!(w.holds(&w.admin).await[0]["active"], true, "an empty reason releases nothing");
    assert_eq!(w.post(&path, &w.admin, json!({ "reason": "settled" })).await.0, 200);
    let before = w.refusals("already_released").await;
    let (status, answer) = w.post(&path, &w.admin, json!({ "reason": "again" })).await;
    assert_eq!((status, answer["reason"].as_str()), (409, Some("already_released")), "{answer}");
    assert_eq!(w.refusals("already_released").await, before + 1);
    assert_eq!(w.holds(&w.admin).await[0]["release_reason"], "settled", "the first release stands");
    for unknown in ["/api/v1/holds/424242/release", "/api/v1/holds/not-a-number/release"] {
        assert_eq!(w.post(unknown, &w.admin, json!({ "reason": "x" })).await.0, 404, "{unknown}");
    }
    let entries =
        w.server.store.audit_entries(&AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let actions: Vec<_> =
        entries.iter().filter(|e| e.action.starts_with("hold.")).map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["hold.place", "hold.release"], "refusals leave no hold entries");
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convoy_hold_places_lists_and_releases_with_the_apis_checks_and_each_step_audited() {
    let w = World::start().await;
    let id = w
        .server
        .cli("hold", &["place", "--move", &w.move_id, "--reason", "inquiry", "--reference", "INQ-3"])
        .unwrap();
    let id: i64 = id.trim().parse().unwrap();
    let refused = w.server.cli(
        "hold",
        &[
            "place",
            "--all-vehicles",
            "--from",
            "2026-02-02T00:00:00Z",
            "--to",
            "2026-02-01T00:00:00Z",
            "--reason",
            "x",
        ],
    );
    assert!(refused.unwrap_err().contains("before its end"), "a reversed range is refused");
    let refused = w.server.cli(
        "hold",
        &[
            "place",
            "--vehicle",
            "truck-99",
            "--from",
            "2026-02-01T00:00:00Z",
            "--to",
            "2026-02-02T00:00:00Z",
            "--reason",
            "x",
        ],
    );
    assert!(refused.unwrap_err().contains("not registered"));

    let listed = w.server.cli("hold", &["list"]).unwrap();
    let holds: Vec<Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(holds.len(), 1, "{listed}");
    assert_eq!((holds[0]["id"].as_i64(), holds[0]["placed_by"].as_str()), (Some(id), Some("cli:ops")));
    assert_eq!(holds[0]["vehicles"], json!(["escort-1", "truck-07"]));
    // The API shows the same hold the same way.
    let api = w.holds(&w.auditor).await;
    assert_eq!(api, holds);

    w.server.cli("hold", &["release", &id.to_string(), "--reason", "closed"]).unwrap();
    let again = w.server.cli("hold", &["release", &id.to_string(), "--reason", "closed"]);
    assert!(again.unwrap_err().contains("released already"));
    let entries =
        w.server.store.audit_entries(&AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let steps: Vec<_> = entries
        .iter()
        .filter(|e| e.action.starts_with("hold."))
        .map(|e| (e.action.as_str(), e.actor.as_deref(), e.target.clone()))
        .collect();
    let target = format!("hold:{id}");
    assert_eq!(
        steps,
        [("hold.place", Some("cli:ops"), target.clone()), ("hold.release", Some("cli:ops"), target)]
    );
    w.server.stop().await;
}
