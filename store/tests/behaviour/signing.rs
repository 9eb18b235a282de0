//! Signed tracks: vehicles' keys, fixes stored with their chain, signed heads, chain gaps.

use convoy_core::signing::{link, BatchSignature, SecretKey, GENESIS};
use convoy_store::{ChainGap, ChainPoint, KeyAdded, SignedChain, VehicleKey};

use super::*;

fn key_of(id: &str, secret: &SecretKey, valid_from: DateTime<Utc>) -> VehicleKey {
    VehicleKey {
        vehicle: vehicle(id),
        key: secret.public(),
        valid_from,
        registered_at: t0(),
        registered_by: "admin".into(),
    }
}

/// A write of `positions` signed by `secret`, linked from `prev`.
fn signed_write(
    id: &str,
    secret: &SecretKey,
    prev: convoy_core::signing::ChainHash,
    positions: Vec<Position>,
) -> IngestWrite {
    let (signature, _) = BatchSignature::sign(secret, &vehicle(id), &prev, &positions).unwrap();
    let head = signature.head(&vehicle(id), &positions).unwrap();
    let mut prevs = Vec::new();
    let mut before = prev;
    for p in &positions {
        prevs.push(before);
        before = link(&before, &vehicle(id), p);
    }
    let mut write = write_of(id, positions);
    write.positions[0].chain = Some(SignedChain { prevs, head: Some(head) });
    write
}

pub(super) async fn a_vehicles_keys_rotate_forward_and_a_key_is_one_trucks(f: Fixture) {
    f.store.add_vehicle(&vehicle("truck-07"), "hash").await.unwrap();
    f.store.add_vehicle(&vehicle("truck-08"), "hash").await.unwrap();
    let (old, new) = (SecretKey::generate(), SecretKey::generate());
    let first = key_of("truck-07", &old, t0());
    assert_eq!(f.store.add_vehicle_key(&first).await.unwrap(), KeyAdded::Added);
    // The same key again, for this vehicle or another, is refused.
    assert_eq!(f.store.add_vehicle_key(&first).await.unwrap(), KeyAdded::KeyExists);
    assert_eq!(f.store.add_vehicle_key(&key_of("truck-08", &old, t0())).await.unwrap(), KeyAdded::KeyExists);
    // A rotation must start after the newest key.
    let early = key_of("truck-07", &new, t0());
    assert_eq!(f.store.add_vehicle_key(&early).await.unwrap(), KeyAdded::NotAfterCurrent { current: t0() });
    assert_eq!(
        f.store.add_vehicle_key(&key_of("nobody", &new, t0())).await.unwrap(),
        KeyAdded::UnknownVehicle
    );
    let rotated = key_of("truck-07", &new, t0() + Duration::hours(1));
    assert_eq!(f.store.add_vehicle_key(&rotated).await.unwrap(), KeyAdded::Added);
    let keys = f.store.vehicle_keys(&vehicle("truck-07")).await.unwrap();
    assert_eq!(keys, vec![first.clone(), rotated.clone()], "oldest first, every field as written");
    assert!(f.store.vehicle_keys(&vehicle("truck-08")).await.unwrap().is_empty());
    let among = f.store.vehicle_keys_among(&[vehicle("truck-08"), vehicle("truck-07")]).await.unwrap();
    assert_eq!(among, vec![first, rotated]);
}

pub(super) async fn signed_fixes_keep_their_chain_and_heads_and_unsigned_ones_none(f: Fixture) {
    let secret = SecretKey::generate();
    let write =
        signed_write("truck-07", &secret, GENESIS, vec![position(1, 0), position(2, 1), position(3, 2)]);
    let head = write.positions[0].chain.clone().unwrap().head.unwrap();
    f.store.write_ingest(&write).await.unwrap();
    // A redelivery keeps one head.
    f.store.write_ingest(&write).await.unwrap();
    let next = signed_write("truck-07", &secret, head.head, vec![position(4, 3)]);
    let next_head = next.positions[0].chain.clone().unwrap().head.unwrap();
    f.store.write_ingest(&next).await.unwrap();
    f.store.write_ingest(&write_of("escort-1", vec![position(1, 0)])).await.unwrap();

    let track = stored_track(&f.store, "truck-07").await;
    assert_eq!(track[0].prev_hash, Some(GENESIS));
    assert_eq!(track[1].prev_hash, Some(link(&GENESIS, &vehicle("truck-07"), &position(1, 0))));
    assert_eq!(track[3].prev_hash, Some(head.head));
    assert_eq!(stored_track(&f.store, "escort-1").await[0].prev_hash, None);

    assert_eq!(f.store.chain_head_at(&vehicle("truck-07"), 3).await.unwrap(), ChainPoint::Head(head.head));
    assert_eq!(
        f.store.chain_head_at(&vehicle("truck-07"), 4).await.unwrap(),
        ChainPoint::Head(next_head.head)
    );
    assert_eq!(f.store.chain_head_at(&vehicle("truck-07"), 9).await.unwrap(), ChainPoint::NotStored);
    assert_eq!(f.store.chain_head_at(&vehicle("escort-1"), 1).await.unwrap(), ChainPoint::Unsigned);
    assert_eq!(f.store.last_stored_seq(&vehicle("truck-07"), u64::MAX).await.unwrap(), Some(4));
    assert_eq!(f.store.last_stored_seq(&vehicle("truck-07"), 3).await.unwrap(), Some(2));
    assert_eq!(f.store.last_stored_seq(&vehicle("nobody"), u64::MAX).await.unwrap(), None);
    let range = |id: &'static str, from_s: i64, to_s: i64| {
        let store = f.store.clone();
        async move {
            let (from, to) = (t0() + Duration::seconds(from_s), t0() + Duration::seconds(to_s));
            store.agent_seq_range(&vehicle(id), from, to).await.unwrap()
        }
    };
    assert_eq!(range("truck-07", -60, 60).await, Some((1, 4)));
    assert_eq!(range("truck-07", 1, 3).await, Some((2, 3)), "fix times in [from, to)");
    assert_eq!(range("truck-07", 10, 60).await, None);

    let mut heads = f.store.signed_heads(&vehicle("truck-07"), 0, 100);
    let mut read = Vec::new();
    while let Some(h) = heads.recv().await {
        read.push(h.unwrap());
    }
    assert_eq!(read.iter().map(|h| h.head.clone()).collect::<Vec<_>>(), vec![head.clone(), next_head]);
    assert_eq!(read[0].head.verify(&secret.public()), Ok(()), "the stored head still verifies");
    assert_eq!(read[0].received_at, t0() + Duration::minutes(1));
    let mut only_last = f.store.signed_heads(&vehicle("truck-07"), 4, 4);
    assert_eq!(only_last.recv().await.unwrap().unwrap().head.seq, 4);
    assert!(only_last.recv().await.is_none());
}

pub(super) async fn chain_gaps_are_kept_once_with_their_span(f: Fixture) {
    let gap = ChainGap { vehicle: vehicle("truck-07"), from_seq: 4, to_seq: 9, detected_at: t0() };
    let mut write = write_of("truck-07", vec![position(10, 10)]);
    write.gaps.push(gap.clone());
    f.store.write_ingest(&write).await.unwrap();
    f.store.write_ingest(&write).await.unwrap();
    let later = ChainGap { from_seq: 20, to_seq: 29, ..gap.clone() };
    let mut second = write_of("truck-07", vec![position(30, 30)]);
    second.gaps.push(later.clone());
    f.store.write_ingest(&second).await.unwrap();
    let truck = vehicle("truck-07");
    assert_eq!(f.store.chain_gaps(&truck, 0, 100).await.unwrap(), vec![gap.clone(), later.clone()]);
    assert_eq!(f.store.chain_gaps(&truck, 9, 19).await.unwrap(), vec![gap]);
    assert_eq!(f.store.chain_gaps(&truck, 25, 25).await.unwrap(), vec![later]);
    assert!(f.store.chain_gaps(&truck, 11, 19).await.unwrap().is_empty());
    assert!(f.store.chain_gaps(&vehicle("escort-1"), 0, 100).await.unwrap().is_empty());
}
