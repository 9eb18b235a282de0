//! Verifying the audit log: a walk over the whole chain in seq order that reports the first
//! place it is broken, and how (changed, removed, reordered, truncated).

use super::{AuditBreak, AuditEntry, AuditFilter, AuditHead, AuditProblem, AuditVerdict};
use crate::{Result, Store};

/// Entries read per round trip when verifying.
const VERIFY_PAGE: u32 = 1000;

/// How far from its place a moved entry is looked for, to tell "reordered" from "changed".
const MOVED_WINDOW: u64 = 2 * VERIFY_PAGE as u64;

/// Walks the chain one entry at a time, in seq order, remembering what a later check needs.
struct ChainWalk {
    last: AuditHead,
    entries: u64,
    /// Heads the chain must pass through: the stored head and the auditor's expected one.
    checkpoints: Vec<(AuditHead, &'static str)>,
}

impl ChainWalk {
    fn new(checkpoints: Vec<(AuditHead, &'static str)>) -> Self {
        Self { last: AuditHead::genesis(), entries: 0, checkpoints }
    }

    fn step(&mut self, entry: &AuditEntry) -> std::result::Result<(), AuditProblem> {
        let expected_seq = self.last.seq + 1;
        if entry.seq > expected_seq {
            let missing = if entry.seq == expected_seq + 1 {
                format!("entry {expected_seq} is missing")
            } else {
                format!("entries {expected_seq} to {} are missing", entry.seq - 1)
            };
            return Err(problem(expected_seq, AuditBreak::Removed, missing));
        }
        if entry.seq < expected_seq {
            let detail = format!("seq {} comes after seq {}", entry.seq, self.last.seq);
            return Err(problem(entry.seq, AuditBreak::Reordered, detail));
        }
        let content_ok = entry.computed_hash() == entry.hash;
        let link_ok = entry.prev_hash == self.last.hash;
        if !content_ok {
            if let Some(written_as) = written_seq(entry) {
                let detail = format!("it was written as entry {written_as}");
                return Err(problem(entry.seq, AuditBreak::Reordered, detail));
            }
            let detail = "its fields no longer give its hash".to_string();
            return Err(problem(entry.seq, AuditBreak::Changed, detail));
        }
        if !link_ok {
            // The entry is as it was written, but what came before it is not: the previous
            // entry was changed and given a new hash (or replaced).
            return Err(match entry.seq {
                1 => problem(1, AuditBreak::Changed, "it does not start from the genesis hash".into()),
                seq => problem(
                    seq - 1,
                    AuditBreak::Changed,
                    format!("its hash was rewritten: entry {seq} still links to the original"),
                ),
            });
        }
        for (checkpoint, what) in &self.checkpoints {
            if checkpoint.seq == entry.seq && checkpoint.hash != entry.hash {
                let detail = format!("its hash differs from the {what} ({checkpoint})");
                return Err(problem(entry.seq, AuditBreak::Changed, detail));
            }
        }
        self.last = entry.head();
        self.entries += 1;
        Ok(())
    }

    fn finish(self) -> AuditVerdict {
        let problem = self.checkpoints.iter().find(|(c, _)| c.seq > self.last.seq).map(|(c, what)| {
            let detail = format!("the log ends at entry {} but the {what} is {c}", self.last.seq);
            problem(self.last.seq + 1, AuditBreak::Truncated, detail)
        });
        AuditVerdict { entries: self.entries, head: self.last, problem }
    }

    fn broken(self, problem: AuditProblem) -> AuditVerdict {
        AuditVerdict { entries: self.entries, head: self.last, problem: Some(problem) }
    }
}

fn problem(seq: u64, kind: AuditBreak, detail: String) -> AuditProblem {
    AuditProblem { seq, kind, detail }
}

/// The seq an entry whose hash fails was written with, if it is near and nothing else changed.
fn written_seq(entry: &AuditEntry) -> Option<u64> {
    let low = entry.seq.saturating_sub(MOVED_WINDOW).max(1);
    (low..=entry.seq + MOVED_WINDOW).find(|&seq| seq != entry.seq && entry.hash_with_seq(seq) == entry.hash)
}

/// Reads the whole log in seq order and checks the chain; see [`Store::verify_audit`].
pub(super) async fn verify(store: &Store, expected: Option<&AuditHead>) -> Result<AuditVerdict> {
    // The stored head is read first: entries appended during the walk are then after it.
    let mut checkpoints = Vec::new();
    if let Some(stored) = store.stored_audit_head().await? {
        checkpoints.push((stored, "head the store recorded"));
    }
    if let Some(expected) = expected {
        checkpoints.push((expected.clone(), "expected head"));
    }
    let mut walk = ChainWalk::new(checkpoints);
    let mut after_seq = 0;
    loop {
        let filter = AuditFilter { after_seq: Some(after_seq), limit: VERIFY_PAGE, ..Default::default() };
        let page = store.audit_entries(&filter).await?;
        for entry in &page {
            if let Err(problem) = walk.step(entry) {
                return Ok(walk.broken(problem));
            }
        }
        match page.last() {
            Some(last) if page.len() == VERIFY_PAGE as usize => after_seq = last.seq,
            _ => return Ok(walk.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::audit::{NewAuditEntry, GENESIS_HASH};

    fn new(target: &str) -> NewAuditEntry {
        NewAuditEntry {
            actor: Some("ana".into()),
            action: "track.view".into(),
            target: target.into(),
            from_addr: Some("127.0.0.1".into()),
            detail: serde_json::json!({ "from": "2026-11-28T09:00:00Z" }),
        }
    }

    fn chain(n: u64) -> Vec<AuditEntry> {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
        let mut head = AuditHead::genesis();
        (0..n)
            .map(|i| {
                let entry = AuditEntry::chained(
                    &head,
                    t + chrono::Duration::seconds(i as i64),
                    &new(&format!("truck-{i}")),
                );
                head = entry.head();
                entry
            })
            .collect()
    }

    fn walk(entries: &[AuditEntry], checkpoints: Vec<(AuditHead, &'static str)>) -> AuditVerdict {
        let mut walk = ChainWalk::new(checkpoints);
        for entry in entries {
            if let Err(problem) = walk.step(entry) {
                return walk.broken(problem);
            }
        }
        walk.finish()
    }

    #[test]
    fn an_intact_chain_verifies_and_ends_at_its_head() {
        let entries = chain(5);
        let verdict = walk(&entries, vec![]);
        assert!(verdict.intact(), "{verdict:?}");
        assert_eq!((verdict.entries, verdict.head.clone()), (5, entries[4].head()));
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
    }

    #[test]
    fn fields_that_concatenate_alike_hash_differently() {
        let mut a = new("ab");
        a.actor = Some("x".into());
        let mut b = new("b");
        b.actor = Some("xa".into());
        let t = Utc::now();
        let (a, b) = (
            AuditEntry::chained(&AuditHead::genesis(), t, &a),
            AuditEntry::chained(&AuditHead::genesis(), t, &b),
        );
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn a_changed_field_is_found_at_its_entry() {
        let mut entries = chain(5);
        entries[2].target = "truck-99".into();
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Changed));
    }

    #[test]
    fn a_changed_entry_with_a_recomputed_hash_is_found_by_the_next_link() {
        let mut entries = chain(5);
        entries[2].target = "truck-99".into();
        entries[2].hash = entries[2].computed_hash();
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Changed));
    }

    #[test]
    fn a_removed_entry_is_a_gap() {
        let mut entries = chain(5);
        entries.remove(1);
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (2, AuditBreak::Removed));
        let problem = walk(&chain(3)[1..], vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (1, AuditBreak::Removed));
    }

    #[test]
    fn swapped_seqs_are_found_as_reordered() {
        let mut entries = chain(5);
        entries[2].seq = 4;
        entries[3].seq = 3;
        entries.swap(2, 3);
        let problem = walk(&entries, vec![]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (3, AuditBreak::Reordered), "{problem}");
        assert!(problem.detail.contains("written as entry 4"), "{problem}");
    }

    #[test]
    fn a_cut_tail_is_found_against_a_recorded_head() {
        let entries = chain(5);
        let verdict = walk(&entries[..3], vec![(entries[4].head(), "expected head")]);
        let problem = verdict.problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (4, AuditBreak::Truncated));
        let mut other = entries[1].head();
        other.hash = GENESIS_HASH.into();
        let problem = walk(&entries, vec![(other, "expected head")]).problem.unwrap();
        assert_eq!((problem.seq, problem.kind), (2, AuditBreak::Changed));
    }

    #[test]
    fn a_head_reads_back_from_its_text() {
        let head = chain(1)[0].head();
        assert_eq!(head.to_string().parse::<AuditHead>().unwrap(), head);
        assert!("12".parse::<AuditHead>().is_err());
        assert!("x:abc".parse::<AuditHead>().is_err());
        assert!("3:abc".parse::<AuditHead>().is_err());
    }
}
