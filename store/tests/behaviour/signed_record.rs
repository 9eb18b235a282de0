//! The server's signed record: its keys, audit head signatures and purges' destruction records.

use convoy_core::signing::SecretKey;
use convoy_store::{Destruction, DestructionSigner, TrustedKeys};

use super::audit::audit_sql;
use super::retention::write_three_days;
use super::*;

pub(super) async fn a_signed_purge_records_what_it_destroyed_per_vehicle_and_verifies(f: Fixture) {
    write_three_days(&f.store, "truck-07").await;
    write_three_days(&f.store, "van-3").await;
    // Keeps truck-07's fix of 40 days before t0.
    let hold = LegalHold {
        vehicles: Some(vec![vehicle("truck-07")]),
        move_id: None,
        from: t0() - Duration::days(41),
        to: t0() - Duration::days(39),
        reason: "inquiry".into(),
        reference: String::new(),
        created_by: "ana".into(),
    };
    let hold_id = f.store.add_legal_hold(&hold, t0()).await.unwrap();
    let key = SecretKey::generate();
    f.store.add_server_key(&key.public(), t0() - Duration::days(100)).await.unwrap();
    let signer = DestructionSigner { key: key.clone(), retention_days: 30 };
    let (report, record) = f.store.purge_with(t0() - Duration::days(30), t0(), Some(signer)).await.unwrap();
    let record = record.unwrap();
    assert_eq!((report.positions_deleted, report.positions_held), (1, 1));
    let body: Destruction = serde_json::from_str(&record.record).unwrap();
    assert_eq!((body.retention_days, body.positions_deleted, body.positions_held), (30, 1, 1));
    let per_vehicle: Vec<_> = body.vehicles.iter().map(|v| (v.vehicle.as_str(), v.positions)).collect();
    assert_eq!(per_vehicle, [("van-3", 1)]);
    assert_eq!(
        (body.deleted_from, body.deleted_to),
        (Some(t0() - Duration::days(40)), Some(t0() - Duration::days(40)))
    );
    assert_eq!(body.held_by, [convoy_store::HeldBy { hold: hold_id, positions: 1 }]);
    assert_eq!(record.key_id, key.public().id().to_string());
    assert_eq!(f.store.destruction_records(10).await.unwrap(), vec![record.clone()]);
    // A purge without a signer records none.
    f.store.purge(t0() - Duration::days(30), t0()).await.unwrap();
    assert_eq!(f.store.destruction_records(10).await.unwrap().len(), 1);

    let verdict = f.store.verify_signed_record(&TrustedKeys::Stored).await.unwrap();
    assert!(verdict.holds(), "{verdict:?}");
    assert_eq!(verdict.destruction_records, 1);
    let other = TrustedKeys::Given(vec![SecretKey::generate().public()]);
    let verdict = f.store.verify_signed_record(&other).await.unwrap();
    assert_eq!(verdict.problems.len(), 1, "{verdict:?}");
    assert!(verdict.problems[0].starts_with(&format!("destruction record {}", record.id)), "{verdict:?}");
}

pub(super) async fn audit_head_signatures_verify_under_a_key_valid_when_they_were_made(f: Fixture) {
    let key = SecretKey::generate();
    assert!(f.store.add_server_key(&key.public(), t0()).await.unwrap());
    assert!(!f.store.add_server_key(&key.public(), t0() + Duration::days(1)).await.unwrap(), "kept once");
    assert_eq!(f.store.server_keys().await.unwrap()[0].valid_from, t0());
    f.store.append_audit(&audit_entry(Some("ana"), "track.view", "truck-07")).await.unwrap();
    let signed = f.store.sign_audit_head(&key, t0() + Duration::hours(1)).await.unwrap();
    assert_eq!(signed.seq, 1);
    f.store.append_audit(&audit_entry(Some("ana"), "track.view", "truck-08")).await.unwrap();
    f.store.sign_audit_head(&key, t0() + Duration::hours(2)).await.unwrap();
    assert_eq!(f.store.audit_signatures().await.unwrap().iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 2]);
    let verdict = f.store.verify_signed_record(&TrustedKeys::Stored).await.unwrap();
    assert!(verdict.holds(), "{verdict:?}");
    assert_eq!((verdict.audit_signatures, verdict.newest_signed_seq), (2, Some(2)));
    let given = TrustedKeys::Given(vec![key.public()]);
    assert!(f.store.verify_signed_record(&given).await.unwrap().holds());

    // A signature dated before its key was valid, and one by a key the store does not list.
    f.store.sign_audit_head(&key, t0() - Duration::days(1)).await.unwrap();
    f.store.sign_audit_head(&SecretKey::generate(), t0() + Duration::hours(3)).await.unwrap();
    let verdict = f.store.verify_signed_record(&TrustedKeys::Stored).await.unwrap();
    assert_eq!(verdict.problems.len(), 2, "{verdict:?}");
    assert!(verdict.problems[0].contains("not valid yet"), "{verdict:?}");
    assert!(verdict.problems[1].contains("not a server key"), "{verdict:?}");
}

pub(super) async fn the_signed_record_is_append_only(f: Fixture) {
    let key = SecretKey::generate();
    f.store.add_server_key(&key.public(), t0()).await.unwrap();
    f.store.sign_audit_head(&key, t0()).await.unwrap();
    let signer = DestructionSigner { key, retention_days: 30 };
    f.store.purge_with(t0() - Duration::days(30), t0(), Some(signer)).await.unwrap();
    for sql in [
        "UPDATE server_keys SET valid_from = valid_from",
        "DELETE FROM server_keys",
        "UPDATE audit_signatures SET seq = 7",
        "DELETE FROM audit_signatures",
        "UPDATE destruction_records SET record = '{}'",
        "DELETE FROM destruction_records",
    ] {
        let sql = if f.url.starts_with("sqlite://") {
            sql.replace("valid_from", "valid_from_ms")
        } else {
            sql.to_string()
        };
        let refused = audit_sql(&f, &sql).await.unwrap_err();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
}
