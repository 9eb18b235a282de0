//! The audit log: its chain, and what tampering it finds.

use super::*;

pub(super) fn audit_entry(actor: Option<&str>, action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.map(str::to_string),
        action: action.to_string(),
        target: target.to_string(),
        from_addr: Some("127.0.0.1".to_string()),
        detail: json!({ "why": "test", "n": 1 }),
    }
}

pub(super) async fn audit_entries_chain_in_order_from_genesis(f: Fixture) {
    let before = Utc::now() - Duration::seconds(1);
    assert_eq!(f.store.audit_head().await.unwrap(), AuditHead::genesis());
    let first = f.store.append_audit(&audit_entry(Some("ana"), "login.ok", "ana")).await.unwrap();
    f.store.append_audit(&audit_entry(None, "login.failed", "nobody")).await.unwrap();
    let third = f.store.append_audit(&audit_entry(Some("ana"), "track.view", "truck-07")).await.unwrap();

    let all = f.store.audit_entries(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0], first);
    assert_eq!(all[2], third);
    assert_eq!(all[0].prev_hash, GENESIS_HASH);
    assert_eq!(all[1].prev_hash, all[0].hash);
    assert_eq!(all[2].prev_hash, all[1].hash);
    assert!(all.iter().all(|e| e.computed_hash() == e.hash));
    assert!(all[0].at >= before && all[0].at <= Utc::now());
    assert_eq!(all[1].actor, None);
    assert_eq!(all[1].detail_json(), json!({ "why": "test", "n": 1 }));
    assert_eq!(all[1].from_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(f.store.audit_head().await.unwrap(), AuditHead { seq: 3, hash: third.hash.clone() });

    let filtered = |filter: AuditFilter| {
        let store = f.store.clone();
        async move { store.audit_entries(&filter).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>() }
    };
    assert_eq!(
        filtered(AuditFilter { actor: Some("ana".into()), limit: 100, ..Default::default() }).await,
        [1, 3]
    );
    assert_eq!(
        filtered(AuditFilter { action: Some("login.failed".into()), limit: 100, ..Default::default() }).await,
        [2]
    );
    assert_eq!(filtered(AuditFilter { after_seq: Some(1), limit: 1, ..Default::default() }).await, [2]);
    assert_eq!(
        filtered(AuditFilter { to: Some(before), limit: 100, ..Default::default() }).await,
        Vec::<u64>::new()
    );
    assert_eq!(
        filtered(AuditFilter { from: Some(before), limit: 100, ..Default::default() }).await,
        [1, 2, 3]
    );

    let verdict = f.store.verify_audit(None).await.unwrap();
    assert!(verdict.intact(), "{verdict:?}");
    assert_eq!((verdict.entries, verdict.head.seq), (3, 3));
    let expected = AuditHead { seq: 2, hash: all[1].hash.clone() };
    assert!(f.store.verify_audit(Some(&expected)).await.unwrap().intact());
    let ahead = AuditHead { seq: 4, hash: all[1].hash.clone() };
    let problem = f.store.verify_audit(Some(&ahead)).await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated));
}

pub(super) async fn concurrent_audit_appends_make_one_contiguous_chain(f: Fixture) {
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = f.store.audit_entries(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=40).collect::<Vec<_>>());
    let verdict = f.store.verify_audit(None).await.unwrap();
    assert!(verdict.intact(), "{verdict:?}");
    assert_eq!(verdict.entries, 40);
}

/// Runs SQL on the audit log as its owner would, behind the store's back; `Err` if refused.
pub(super) async fn audit_sql(f: &Fixture, sql: &str) -> Result<(), String> {
    if let Some(path) = f.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(sql).map_err(|e| e.to_string())
    } else {
        let (client, connection) = tokio_postgres::connect(&f.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .map_err(|e| e.as_db_error().map_or(e.to_string(), |d| d.message().into()))
    }
}

/// What an attacker with the database owner's rights does first.
pub(super) async fn drop_append_only_guards(f: &Fixture) {
    let sql = if f.url.starts_with("sqlite://") {
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
    } else {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;"
    };
    audit_sql(f, sql).await.unwrap();
}

pub(super) async fn the_audit_log_refuses_changes_and_finds_them_when_forced(f: Fixture) {
    for i in 0..5 {
        f.store.append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}"))).await.unwrap();
    }
    let refused = audit_sql(&f, "UPDATE audit_log SET target = 'truck-99' WHERE seq = 3").await.unwrap_err();
    assert!(refused.contains("append-only"), "{refused}");
    let refused = audit_sql(&f, "DELETE FROM audit_log WHERE seq = 5").await.unwrap_err();
    assert!(refused.contains("append-only"), "{refused}");
    assert!(f.store.verify_audit(None).await.unwrap().intact());

    drop_append_only_guards(&f).await;
    audit_sql(&f, "UPDATE audit_log SET target = 'truck-99' WHERE seq = 3").await.unwrap();
    let verdict = f.store.verify_audit(None).await.unwrap();
    let problem = verdict.problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Changed), "{problem}");
    assert_eq!(verdict.entries, 2);

    // Appends go on after a tampering; the break stays where it was.
    f.store.append_audit(&audit_entry(Some("ana"), "login.ok", "ana")).await.unwrap();
    assert_eq!(f.store.verify_audit(None).await.unwrap().problem.unwrap().seq, 3);
}

pub(super) async fn a_cut_tail_of_the_audit_log_is_found(f: Fixture) {
    for i in 0..5 {
        f.store.append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}"))).await.unwrap();
    }
    let recorded = f.store.verify_audit(None).await.unwrap().head;
    drop_append_only_guards(&f).await;
    audit_sql(&f, "DELETE FROM audit_log WHERE seq >= 4").await.unwrap();
    // The head the store keeps shows it ...
    let problem = f.store.verify_audit(None).await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated), "{problem}");
    // ... unless it is rewritten too; then only a head kept elsewhere does.
    let all = f.store.audit_entries(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    audit_sql(&f, &format!("UPDATE audit_head SET seq = 3, hash = '{}'", all[2].hash)).await.unwrap();
    assert!(f.store.verify_audit(None).await.unwrap().intact());
    let problem = f.store.verify_audit(Some(&recorded)).await.unwrap().problem.unwrap();
    assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated), "{problem}");
}

/// Two server processes appending at once (two pools on one database) still make one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_appends_from_two_processes_on_postgres_make_one_chain() {
    let f = postgres().await;
    let other = Store::open(&f.url).await.unwrap();
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let store = if i % 2 == 0 { f.store.clone() } else { other.clone() };
            tokio::spawn(async move {
                store
                    .append_audit(&audit_entry(Some("ana"), "track.view", &format!("truck-{i}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let verdict = f.store.verify_audit(None).await.unwrap();
    assert!(verdict.intact(), "{verdict:?}");
    assert_eq!(verdict.entries, 60);
}
