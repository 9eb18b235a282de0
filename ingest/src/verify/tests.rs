//! Checking a commit's signed batches against a real SQLite store: runs of linked batches
//! checked once, and what happens when a run holds a bad batch.

use chrono::{Duration as TimeSpan, SubsecRound, TimeZone};
use convoy_core::signing::{BatchSignature, SecretKey};
use convoy_core::{FixMode, Position};

use super::*;

fn fix(seq: u64) -> Position {
    let t0 = Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap();
    Position {
        seq,
        t: t0 + TimeSpan::seconds(seq as i64),
        lat: 48.137154,
        lon: 11.576124 + seq as f64 * 0.000134,
        alt_m: Some(519.0),
        speed_mps: Some(10.0),
        course_deg: Some(90.0),
        fix: Some(FixMode::ThreeD),
        sats: Some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    }
}

/// A store in `dir` with `vehicles` registered, each with its key valid from long before.
async fn store_with_keys(dir: &tempfile::TempDir, vehicles: &[(&VehicleId, &SecretKey)]) -> Store {
    let store = Store::open(&format!("sqlite://{}", dir.path().join("convoy.db").display())).await.unwrap();
    for (vehicle, key) in vehicles {
        store.add_vehicle(vehicle, "unused").await.unwrap();
        let registered = VehicleKey {
            vehicle: (*vehicle).clone(),
            key: key.public(),
            valid_from: Utc::now().trunc_subsecs(0) - TimeSpan::days(365),
            registered_at: Utc::now(),
            registered_by: "test".into(),
        };
        store.add_vehicle_key(&registered).await.unwrap();
    }
    store
}

/// A candidate of fixes `seqs` signed by `key` from `prev`, and its head.
fn signed(
    message: usize,
    vehicle: &VehicleId,
    key: &SecretKey,
    prev: ChainHash,
    seqs: std::ops::RangeInclusive<u64>,
) -> (Candidate, ChainHash) {
    let positions: Vec<Position> = seqs.map(fix).collect();
    let (signature, head) = BatchSignature::sign(key, vehicle, &prev, &positions).unwrap();
    let batch = VehiclePositions { vehicle: vehicle.clone(), positions, source: None, chain: None };
    (Candidate { message, batch, signed: Some(signature) }, head)
}

/// Each accepted batch's first seq and the seq of its stored head, if one is stored.
fn accepted(checked: &Checked) -> Vec<(u64, Option<u64>)> {
    checked
        .accepted
        .iter()
        .map(|b| {
            let head = b.chain.as_ref().and_then(|c| c.head.as_ref()).map(|h| h.seq);
            (b.positions[0].seq, head)
        })
        .collect()
}

fn refused(checked: &Checked) -> Vec<(usize, &'static str)> {
    checked.refused.iter().map(|(message, r)| (*message, r.reason)).collect()
}

#[tokio::test]
async fn linked_batches_of_a_commit_are_checked_with_one_signature_and_keep_only_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let (truck, escort) = (VehicleId::new("truck-1").unwrap(), VehicleId::new("escort-1").unwrap());
    let (truck_key, escort_key) = (SecretKey::generate(), SecretKey::generate());
    let store = store_with_keys(&dir, &[(&truck, &truck_key), (&escort, &escort_key)]).await;
    let (one, head) = signed(0, &truck, &truck_key, GENESIS, 1..=3);
    let (other, _) = signed(1, &escort, &escort_key, GENESIS, 1..=2);
    let (two, head) = signed(2, &truck, &truck_key, head, 4..=6);
    let (three, _) = signed(3, &truck, &truck_key, head, 7..=9);

    let mut heads = ChainHeads::default();
    let checked = check(&store, vec![one, other, two, three], Utc::now(), &mut heads).await.unwrap();

    assert!(checked.refused.is_empty());
    assert!(checked.gaps.is_empty());
    assert_eq!(checked.cost.signatures, 2, "one signature per vehicle's run");
    // The truck's run is accepted in its first batch's place; its last head alone is stored.
    assert_eq!(accepted(&checked), [(1, None), (4, None), (7, Some(9)), (1, Some(2))]);
    // Every fix keeps its link, the run's too.
    assert!(checked.accepted.iter().all(|b| b.chain.as_ref().unwrap().prevs.len() == b.positions.len()));
}

#[tokio::test]
async fn a_run_whose_last_signature_fails_is_checked_batch_by_batch() {
    let dir = tempfile::tempdir().unwrap();
    let truck = VehicleId::new("truck-1").unwrap();
    let key = SecretKey::generate();
    let store = store_with_keys(&dir, &[(&truck, &key)]).await;
    let (one, head) = signed(0, &truck, &key, GENESIS, 1..=3);
    let (two, head) = signed(1, &truck, &key, head, 4..=6);
    // The last batch links, but carries the signature of another batch.
    let (mut three, _) = signed(2, &truck, &key, head, 7..=9);
    three.signed.as_mut().unwrap().sig = two.signed.unwrap().sig;

    let checked = check(&store, vec![one, two, three], Utc::now(), &mut ChainHeads::default()).await.unwrap();

    assert_eq!(refused(&checked), [(2, "bad_signature")]);
    assert_eq!(accepted(&checked), [(1, Some(3)), (4, Some(6))], "each checked on its own, each head kept");
}

#[tokio::test]
async fn a_fix_changed_inside_a_run_breaks_the_run_and_refuses_only_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let truck = VehicleId::new("truck-1").unwrap();
    let key = SecretKey::generate();
    let store = store_with_keys(&dir, &[(&truck, &key)]).await;
    let (one, head) = signed(0, &truck, &key, GENESIS, 1..=3);
    let (mut two, head) = signed(1, &truck, &key, head, 4..=6);
    two.batch.positions[1].lat += 0.001;
    let (three, _) = signed(2, &truck, &key, head, 7..=9);

    let checked = check(&store, vec![one, two, three], Utc::now(), &mut ChainHeads::default()).await.unwrap();

    assert_eq!(refused(&checked), [(1, "bad_signature")]);
    assert_eq!(accepted(&checked), [(1, Some(3)), (7, Some(9))]);
    // The changed batch's seqs are a gap in the chain, as if it never came.
    let gaps: Vec<_> = checked.gaps.iter().map(|g| (g.from_seq, g.to_seq)).collect();
    assert_eq!(gaps, [(4, 6)]);
}

#[tokio::test]
async fn a_batch_of_another_key_starts_a_run_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let truck = VehicleId::new("truck-1").unwrap();
    let (key, stranger) = (SecretKey::generate(), SecretKey::generate());
    let store = store_with_keys(&dir, &[(&truck, &key)]).await;
    let (one, head) = signed(0, &truck, &key, GENESIS, 1..=3);
    // Linked to the first, but signed by a key the vehicle does not have.
    let (forged, _) = signed(1, &truck, &stranger, head, 4..=6);

    let checked = check(&store, vec![one, forged], Utc::now(), &mut ChainHeads::default()).await.unwrap();

    assert_eq!(refused(&checked), [(1, "unknown_key")]);
    assert_eq!(accepted(&checked), [(1, Some(3))]);
}
