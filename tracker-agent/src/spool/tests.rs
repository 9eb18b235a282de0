//! The spool against a simple in-memory model (proptest), and the damage a crash or a bad disk
//! can do to its files.

use std::collections::VecDeque;

use chrono::DateTime;
use convoy_core::FixMode;
use proptest::prelude::*;

use super::*;

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

fn seqs(positions: &[Position]) -> Vec<u64> {
    positions.iter().map(|p| p.seq).collect()
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
        record::encode(&position(seq), &mut bytes);
        assert_eq!(record::decode(&bytes), Ok((position(seq), bytes.len())));
    }
}

#[test]
fn fixes_come_back_in_order_after_a_reopen_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    assert_eq!(seqs(&spool.next_unsent(4).unwrap()), vec![1, 2, 3, 4]);
    spool.ack_through(4).unwrap();
    assert_eq!(spool.next_unsent(100).unwrap(), (5..=10).map(position).collect::<Vec<_>>());
    drop(spool);
    // A crash before the broker acknowledged 5..10: they are published again.
    let (mut spool, recovery) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery, Recovery { pending: 6, corrupt_records: 0, truncated_bytes: 0 });
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), vec![5, 6, 7, 8, 9, 10]);
    assert_eq!(spool.last_seq(), 10);
    assert!(spool.append(&position(10)).is_err(), "a seq is never spooled twice");
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), small(5)).unwrap();
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
    let (mut spool, _) = Spool::open(dir.path(), small(1000)).unwrap();
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
    let (mut spool, _) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    drop(spool);
    let segment = last_segment(dir.path());
    let len = fs::metadata(&segment).unwrap().len();
    OpenOptions::new().write(true).open(&segment).unwrap().set_len(len - 5).unwrap();

    let (mut spool, recovery) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery.pending, 9);
    assert!(recovery.truncated_bytes > 0);
    spool.append(&position(11)).unwrap();
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
}

#[test]
fn a_flipped_bit_loses_that_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
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

    let (mut spool, recovery) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery, Recovery { pending: 9, corrupt_records: 1, truncated_bytes: 0 });
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), vec![1, 2, 3, 4, 6, 7, 8, 9, 10]);
}

#[test]
fn a_zero_filled_tail_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    for seq in 1..=10 {
        spool.append(&position(seq)).unwrap();
    }
    drop(spool);
    // Some file systems leave zeros where a write was under way at a power cut.
    let mut file = OpenOptions::new().append(true).open(last_segment(dir.path())).unwrap();
    file.write_all(&[0u8; 4096]).unwrap();
    drop(file);

    let (mut spool, recovery) = Spool::open(dir.path(), SpoolConfig::default()).unwrap();
    assert_eq!(recovery, Recovery { pending: 10, corrupt_records: 0, truncated_bytes: 4096 });
    spool.append(&position(11)).unwrap();
    assert_eq!(seqs(&spool.next_unsent(100).unwrap()), (1..=11).collect::<Vec<_>>());
}

#[test]
fn a_damaged_head_file_is_an_error_not_a_silent_resend_or_loss() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("head"), "?").unwrap();
    assert!(Spool::open(dir.path(), SpoolConfig::default()).is_err());
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
        let (mut spool, _) = Spool::open(dir.path(), small(max_fixes)).unwrap();
        // The model: unacknowledged seqs, how many were handed out, what was dropped.
        let mut pending: VecDeque<u64> = VecDeque::new();
        let mut sent = 0usize;
        let mut dropped = 0u64;
        let mut next_seq = 1u64;
        for op in ops {
            match op {
                Op::Append(n) => {
                    for _ in 0..n {
                        spool.append(&position(next_seq)).unwrap();
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
                    prop_assert_eq!(got, expected);
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
                    let (reopened, recovery) = Spool::open(dir.path(), small(max_fixes)).unwrap();
                    prop_assert_eq!(recovery, Recovery { pending: pending.len() as u64, corrupt_records: 0, truncated_bytes: 0 });
                    spool = reopened;
                    sent = 0;
                    dropped = 0;
                }
                Op::ResendAll => {
                    spool.resend_all();
                    sent = 0;
                }
            }
            prop_assert_eq!(spool.depth(), pending.len() as u64);
            prop_assert_eq!(spool.in_flight(), sent);
            prop_assert_eq!(spool.dropped(), dropped);
        }
    }
}

#[test]
fn numbering_never_falls_below_what_was_deleted_even_without_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), small(1000)).unwrap();
    for seq in 1..=40 {
        spool.append(&position(seq)).unwrap();
    }
    spool.next_unsent(100).unwrap();
    spool.ack_through(40).unwrap();
    // A crash: no Drop, no final sync.
    std::mem::forget(spool);
    let (spool, _) = Spool::open(dir.path(), small(1000)).unwrap();
    assert!(spool.last_seq() >= 36, "numbering resumes above every deleted fix: {}", spool.last_seq());
}
