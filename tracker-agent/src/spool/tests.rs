//! The spool against a simple in-memory model (proptest), and the damage a crash or a bad disk
//! can do to its files.

use std::collections::VecDeque;

use chrono::DateTime;
use convoy_core::FixMode;
use proptest::prelude::*;

use super::*;
use convoy_core::signing::ChainHash;

fn position(seq: u64) -> Position {
    Position {
        seq,
        t: DateTime::from_timestamp_millis(1_764_000_000_000 + seq as i64 * 1000).unwrap(),
        lat: 48.0 + seq as f64 * 1e-5,
        lon: 11.5,
        alt_m: (seq % 2 == 0).then_some(519.5),
        speed_mps: Some(12.25),
        course_deg: (seq % 3 == 0).then_some(87.5),
        fix: Some(if seq % 2 == 0 { FixMode::ThreeD } else { FixMode::TwoD }),
        sats: (seq % 5 != 0).then_some(9),
        hdop: Some(0.9),
        accuracy_m: None,
    }
}

fn small(max_fixes: u64) -> SpoolConfig {
    SpoolConfig { max_fixes, fsync: FsyncPolicy::Never, segment_bytes: 300 }
}

fn seqs(unsent: &Unsent) -> Vec<u64> {
    unsent.positions.iter().map(|p| p.seq).collect()
}

fn truck() -> VehicleId {
    VehicleId::new("truck-07").unwrap()
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut segments: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

#[test]
fn a_record_round_trips_with_every_field() {
    for seq in 0..30 {
        let mut bytes = Vec::new();
        let prev = ChainHash([seq as u8; 32]);
        record::encode(&position(seq), &prev, &mut bytes);
        let record = Record { position: position(seq), prev: Some(prev) };
        assert_eq!(record::decode(&bytes), Ok((record, bytes.len())));
    }
}

#[test]
fn fixes_come_back_in_order_after_a_reopen_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    assert_eq!(seqs(&spool.next_unsent(4).unwrap()), vec![1, 2, 3, 4]);
    spool.ack_through(4).unwrap();
    assert_eq!(spool.next_unsent(100).unwrap().positions, (5..=10).map(position).collect::<Vec<_>>());
    drop(spool);
    // A crash before the broker acknowledged 5..10: they are published again.
    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!(
        recovery,
        Recovery { pending: 6, corrupt_records: 0, truncated_bytes: 0, chain: recovery.chain }
    );
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), vec![5, 6, 7, 8, 9, 10]);
    assert_eq!(spool.last_seq(), 10);
    assert!(spool.append(&position(10)).is_err(), "a seq is never spooled twice");
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), small(5)).unwrap();
    for seq in 1..=8 {
        spool.append(&position(seq)).unwrap();
    }
    assert_eq!((spool.depth(), spool.dropped()), (5, 3));
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), vec![4, 5, 6, 7, 8]);
    assert_eq!(spool.oldest().unwrap(), Some(position(4)));
}

#[test]
fn acknowledged_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), small(1000)).unwrap();
    for seq in 1..=50 {
        spool.append(&position(seq)).unwrap();
    }
    let before = fs::read_dir(dir.path()).unwrap().count();
    assert!(before > 5, "small segments make several files: {before}");
    spool.next_unsent(100).unwrap();
    spool.ack_through(50).unwrap();
    let segments = fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "seg"))
        .count();
    assert_eq!(segments, 1, "only the segment being written is kept");
    assert_eq!(spool.depth(), 0);
}

#[test]
fn a_torn_last_record_is_cut_off_and_appends_follow_whole_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    drop(spool);
    let segment = last_segment(dir.path());
    let len = fs::metadata(&segment).unwrap().len();
    OpenOptions::new().write(true).open(&segment).unwrap().set_len(len - 5).unwrap();

    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery.pending, 9);
    assert!(recovery.truncated_bytes > 0);
    spool.append(&position(11)).unwrap();
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
}

#[test]
fn a_flipped_bit_loses_that_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    let mut offsets = Vec::new();
    for seq in 1..=10 {
        offsets.push(fs::metadata(last_segment(dir.path())).map(|m| m.len()).unwrap_or(0));
        spool.append(&position(seq)).unwrap();
    }
    drop(spool);
    let segment = last_segment(dir.path());
    let mut bytes = fs::read(&segment).unwrap();
    bytes[offsets[4] as usize + 20] ^= 0x10; // inside the payload of seq 5
    fs::write(&segment, bytes).unwrap();

    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!(
        recovery,
        Recovery { pending: 9, corrupt_records: 1, truncated_bytes: 0, chain: recovery.chain }
    );
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), vec![1, 2, 3, 4, 6, 7, 8, 9, 10]);
}

#[test]
fn a_zero_filled_tail_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    drop(spool);
    // Some file systems leave zeros where a write was under way at a power cut.
    let mut file = OpenOptions::new().append(true).open(last_segment(dir.path())).unwrap();
    file.write_all(&[0u8; 4096]).unwrap();
    drop(file);

    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!(
        recovery,
        Recovery { pending: 10, corrupt_records: 0, truncated_bytes: 4096, chain: recovery.chain }
    );
    spool.append(&position(11)).unwrap();
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), (1..=11).collect::<Vec<_>>());
}

#[test]
fn a_damaged_head_file_is_an_error_not_a_silent_resend_or_loss() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("head"), "?").unwrap();
    assert!(Spool::open(dir.path(), &truck(), SpoolConfig::default()).is_err());
}

#[derive(Clone, Debug)]
enum Op {
    Append(u8),
    Send(u8),
    /// Acknowledge this many of the fixes handed out.
    Ack(u8),
    Reopen,
    ResendAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..8).prop_map(Op::Append),
        3 => (1u8..6).prop_map(Op::Send),
        3 => (1u8..6).prop_map(Op::Ack),
        1 => Just(Op::Reopen),
        1 => Just(Op::ResendAll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_spool_behaves_like_a_bounded_queue(ops in proptest::collection::vec(op(), 1..60), max_fixes in 3u64..30) {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = Spool::open(dir.path(), &truck(), small(max_fixes)).unwrap();
        // The model: unacknowledged seqs, how many were handed out, what was dropped.
        let mut pending: VecDeque<u64> = VecDeque::new();
        let mut sent = 0usize;
        let mut dropped = 0u64;
        let mut next_seq = 1u64;
        // The chain: each fix's prev, and the tip.
        let mut prevs = std::collections::HashMap::new();
        let mut tip = ChainTip::default();
        for op in ops {
            match op {
                Op::Append(n) => {
                    for _ in 0..n {
                        spool.append(&position(next_seq)).unwrap();
                        prevs.insert(next_seq, tip.hash);
                        tip = ChainTip { seq: next_seq, hash: link(&tip.hash, &truck(), &position(next_seq)) };
                        pending.push_back(next_seq);
                        next_seq += 1;
                        if pending.len() as u64 > max_fixes {
                            pending.pop_front();
                            sent = sent.saturating_sub(1);
                            dropped += 1;
                        }
                    }
                }
                Op::Send(k) => {
                    let got = spool.next_unsent(k as usize).unwrap();
                    let end = (sent + k as usize).min(pending.len());
                    let expected: Vec<Position> = pending.range(sent..end).map(|&s| position(s)).collect();
                    if let Some(first) = expected.first() {
                        prop_assert_eq!(got.prev, prevs[&first.seq]);
                    }
                    prop_assert_eq!(got.positions, expected);
                    sent = end;
                }
                Op::Ack(k) => {
                    if sent > 0 {
                        let through = pending[(k as usize).min(sent) - 1];
                        spool.ack_through(through).unwrap();
                        while pending.front().is_some_and(|&s| s <= through) {
                            pending.pop_front();
                            sent -= 1;
                        }
                    }
                }
                Op::Reopen => {
                    drop(spool);
                    let (reopened, recovery) = Spool::open(dir.path(), &truck(), small(max_fixes)).unwrap();
                    prop_assert_eq!(recovery, Recovery { pending: pending.len() as u64, corrupt_records: 0, truncated_bytes: 0, chain: tip });
                    spool = reopened;
                    sent = 0;
                    dropped = 0;
                }
                Op::ResendAll => {
                    spool.resend_all();
                    sent = 0;
                }
            }
            prop_assert_eq!(spool.chain_tip(), tip);
            prop_assert_eq!(spool.depth(), pending.len() as u64);
            prop_assert_eq!(spool.in_flight(), sent);
            prop_assert_eq!(spool.dropped(), dropped);
        }
    }
}

#[test]
fn numbering_never_falls_below_what_was_deleted_even_without_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), small(1000)).unwrap();
    for seq in 1..=40 {
        spool.append(&position(seq)).unwrap();
    }
    spool.next_unsent(100).unwrap();
    spool.ack_through(40).unwrap();
    // A crash: no Drop, no final sync.
    std::mem::forget(spool);
    let (spool, _) = Spool::open(dir.path(), &truck(), small(1000)).unwrap();
    assert!(spool.last_seq() >= 36, "numbering resumes above every deleted fix: {}", spool.last_seq());
}

/// The chain hashes of fixes 1..=n linked from GENESIS: `hashes[s]` is fix `s`'s, `hashes[0]`
/// GENESIS.
fn chain_through(n: u64) -> Vec<ChainHash> {
    let mut hashes = vec![GENESIS];
    for seq in 1..=n {
        let prev = hashes[seq as usize - 1];
        hashes.push(link(&prev, &truck(), &position(seq)));
    }
    hashes
}

#[test]
fn each_fix_links_to_the_one_before_across_batches_and_a_reopen() {
    let hashes = chain_through(11);
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery.chain, ChainTip { seq: 0, hash: GENESIS });
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    assert_eq!(spool.chain_tip(), ChainTip { seq: 10, hash: hashes[10] });
    let first = spool.next_unsent(4).unwrap();
    assert_eq!((first.prev, seqs(&first)), (GENESIS, vec![1, 2, 3, 4]));
    assert_eq!(spool.next_unsent(100).unwrap().prev, hashes[4]);
    spool.ack_through(4).unwrap();
    spool.sync().unwrap();
    // SIGKILL: no Drop.
    std::mem::forget(spool);

    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery.chain, ChainTip { seq: 10, hash: hashes[10] });
    spool.append(&position(11)).unwrap();
    let again = spool.next_unsent(100).unwrap();
    assert_eq!((again.prev, seqs(&again)), (hashes[4], (5..=11).collect()));
    assert_eq!(spool.chain_tip(), ChainTip { seq: 11, hash: hashes[11] });
}

#[test]
fn the_chain_tip_is_kept_when_every_fix_has_left_and_its_records_are_lost() {
    let hashes = chain_through(41);
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), small(1000)).unwrap();
    for seq in 1..=40 {
        spool.append(&position(seq)).unwrap();
    }
    spool.next_unsent(100).unwrap();
    spool.ack_through(40).unwrap();
    drop(spool);
    // The records are gone (here cut off by hand; a power cut with fsync = "never" can do it):
    // the head file still knows the tip.
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "seg") {
            OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
        }
    }
    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), small(1000)).unwrap();
    assert_eq!((recovery.pending, recovery.chain), (0, ChainTip { seq: 40, hash: hashes[40] }));
    spool.append(&position(41)).unwrap();
    let unsent = spool.next_unsent(100).unwrap();
    assert_eq!((unsent.prev, seqs(&unsent)), (hashes[40], vec![41]));
}

#[test]
fn a_torn_last_record_leaves_the_chain_at_the_last_whole_one() {
    let hashes = chain_through(10);
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    std::mem::forget(spool);
    let segment = last_segment(dir.path());
    let len = fs::metadata(&segment).unwrap().len();
    OpenOptions::new().write(true).open(&segment).unwrap().set_len(len - 5).unwrap();

    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!((recovery.pending, recovery.chain), (9, ChainTip { seq: 9, hash: hashes[9] }));
    // Fix 10 is lost: the next fix (numbered 11 by the agent's seq floor) links to fix 9.
    spool.append(&position(11)).unwrap();
    spool.next_unsent(9).unwrap();
    let after = spool.next_unsent(100).unwrap();
    assert_eq!((after.prev, seqs(&after)), (hashes[9], vec![11]));
    assert_eq!(spool.chain_tip().hash, link(&hashes[9], &truck(), &position(11)));
}

#[test]
fn a_corrupt_middle_record_takes_nothing_else_of_the_chain() {
    let hashes = chain_through(10);
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    let mut offsets = Vec::new();
    for seq in 1..=10 {
        offsets.push(fs::metadata(last_segment(dir.path())).map(|m| m.len()).unwrap_or(0));
        spool.append(&position(seq)).unwrap();
    }
    drop(spool);
    let segment = last_segment(dir.path());
    let mut bytes = fs::read(&segment).unwrap();
    bytes[offsets[4] as usize + 20] ^= 0x10; // inside the payload of seq 5
    fs::write(&segment, bytes).unwrap();

    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!((recovery.corrupt_records, recovery.chain), (1, ChainTip { seq: 10, hash: hashes[10] }));
    let before = spool.next_unsent(4).unwrap();
    assert_eq!((before.prev, seqs(&before)), (GENESIS, vec![1, 2, 3, 4]));
    // Fix 6 still names the lost fix 5's hash as its prev: a verifier sees the gap for what it
    // is, and every link after it holds.
    let after = spool.next_unsent(100).unwrap();
    assert_eq!((after.prev, seqs(&after)), (hashes[5], vec![6, 7, 8, 9, 10]));
}

#[test]
fn fixes_dropped_from_a_full_spool_leave_the_rest_linked() {
    let hashes = chain_through(8);
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), &truck(), small(5)).unwrap();
    for seq in 1..=8 {
        spool.append(&position(seq)).unwrap();
    }
    let unsent = spool.next_unsent(100).unwrap();
    assert_eq!((unsent.prev, seqs(&unsent)), (hashes[3], vec![4, 5, 6, 7, 8]));
    assert_eq!(spool.chain_tip(), ChainTip { seq: 8, hash: hashes[8] });
}

#[test]
fn version_1_records_are_linked_from_the_tip_recovery_knows() {
    let hashes = chain_through(7);
    // An agent before the chain: version 1 records and a one-line head file (fix 1 acknowledged).
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for seq in 1..=5 {
        record::encode_v1(&position(seq), &mut bytes);
    }
    fs::write(dir.path().join(format!("{:020}.seg", 1)), &bytes).unwrap();
    fs::write(dir.path().join("head"), "1\n").unwrap();

    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    // The chain starts at the first record on disk, from GENESIS, as if each were appended now.
    assert_eq!((recovery.pending, recovery.chain), (4, ChainTip { seq: 5, hash: hashes[5] }));
    let first = spool.next_unsent(2).unwrap();
    assert_eq!((first.prev, seqs(&first)), (hashes[1], vec![2, 3]));
    let second = spool.next_unsent(2).unwrap();
    assert_eq!((second.prev, seqs(&second)), (hashes[3], vec![4, 5]));
    spool.append(&position(6)).unwrap();
    spool.ack_through(5).unwrap();
    drop(spool);
    // Version 2 from now on, mixed with version 1 in the same segment, and the head file carries
    // the tip.
    let (mut spool, recovery) = Spool::open(dir.path(), &truck(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery.chain, ChainTip { seq: 6, hash: hashes[6] });
    spool.append(&position(7)).unwrap();
    let unsent = spool.next_unsent(100).unwrap();
    assert_eq!((unsent.prev, seqs(&unsent)), (hashes[5], vec![6, 7]));
    assert_eq!(spool.chain_tip(), ChainTip { seq: 7, hash: hashes[7] });
    let head = fs::read_to_string(dir.path().join("head")).unwrap();
    assert_eq!(head, format!("5\n6 {}\n", hashes[6]), "the head file: acknowledged seq, then the tip");
}
