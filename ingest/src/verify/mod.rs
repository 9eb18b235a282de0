//! Signed tracks checked before they are stored (issue 15).
//!
//! For each agent batch of a commit:
//! - its vehicle has no key: stored unsigned, as before keys existed (one that carries a
//!   signature anyway is counted: there is nothing to check it with);
//! - its vehicle has keys: the batch must be signed by the key valid at its last fix's time (a
//!   key signs from its `valid_from` to the next key's). An unsigned batch whose fixes are all
//!   older than the first key is from before the truck had one, and is stored unsigned.
//!   The signatures of a commit are checked together (Ed25519 batch verification), and one by
//!   one only when that fails, to find which.
//! - batches of one vehicle in the same commit that link one to the next (each one's `prev` is
//!   the head of the one before, its first seq the next) are a run, and only the run's last
//!   signature is checked: its head is the chain hash over every fix of the run, so it vouches
//!   for all of them (the heads of the others are stored only as their fixes' links). Under
//!   load, when a commit holds many batches of each vehicle, one signature is checked per
//!   vehicle and commit instead of one per batch (docs/BENCHMARKS.md). Should the last one fail,
//!   each batch of the run is checked on its own.
//! - a verified batch must link to the vehicle's chain: if the fix before its first is known
//!   (stored, or accepted earlier in this commit), the batch's `prev` must be that fix's chain
//!   hash (`chain_broken` if not; a fix stored unsigned, from before the key, starts the chain
//!   anew). If it is not known, the seqs between the last stored fix and the batch are
//!   recorded as a gap and the batch is stored (it verifies on its own); a vehicle's very first
//!   batch starting from `GENESIS` has no gap. A redelivery links like the first delivery.
//!
//! A refused batch is a dead letter with its reason (`REASONS`), counted, and told to the alert
//! service as an `integrity` alert on the vehicle's move.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use convoy_core::signing::{chain_links, BatchSignature, ChainHash, SignedHead, GENESIS};
use convoy_core::VehicleId;
use convoy_store::{ChainGap, ChainPoint, SignedChain, Store, StoreError, VehicleKey, VehiclePositions};

/// The reasons a signed track is refused, as dead letters and the counter's labels.
pub const REASONS: &[&str] = &[
    "missing_signature",
    "unknown_key",
    "key_not_valid",
    "bad_signature",
    "chain_broken",
    "chain_out_of_order",
];

/// A batch refused for its integrity: what the dead letter and the `integrity` alert say.
#[derive(Clone, Debug, PartialEq)]
pub struct IntegrityRefusal {
    pub vehicle: VehicleId,
    pub reason: &'static str,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The last fix's time and place.
    pub t: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    /// The key id the batch claims, if signed.
    pub key: Option<String>,
}

impl IntegrityRefusal {
    /// The alert's detail.
    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "reason": self.reason,
            "seqs": [self.first_seq, self.last_seq],
            "key": self.key,
        })
    }
}

/// An agent's batch waiting to be checked, with the index of the message it came in.
pub(crate) struct Candidate {
    pub message: usize,
    pub batch: VehiclePositions,
    pub signed: Option<BatchSignature>,
}

/// What checking a commit's agent batches decided.
#[derive(Default)]
pub(crate) struct Checked {
    /// In the order they came.
    pub accepted: Vec<VehiclePositions>,
    /// The message index and why.
    pub refused: Vec<(usize, IntegrityRefusal)>,
    pub gaps: Vec<ChainGap>,
    /// Batches signed by a vehicle with no key registered: stored unsigned.
    pub signed_without_key: u64,
    pub cost: VerifyCost,
}

/// What verifying a commit cost: the time on the CPU (chains hashed, signatures checked; not
/// the store's answers) and the signatures checked.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct VerifyCost {
    pub cpu: Duration,
    pub signatures: u64,
}

impl VerifyCost {
    /// Checks one claim's signature on its own, counted.
    fn check(&mut self, claim: &Claim) -> bool {
        self.signatures += 1;
        claim.head.verify(&claim.key.key).is_ok()
    }
}

/// Each vehicle's newest chain head ingest accepted: the fix before a live batch's first is
/// almost always the last one accepted, so it is linked without asking the store. A head kept
/// here whose commit then fails is harmless: a failed commit is retried until it is stored.
#[derive(Default)]
pub(crate) struct ChainHeads(HashMap<VehicleId, (u64, ChainHash)>);

/// The CPU time this thread has used: verification runs without a pause in between, on one
/// thread, so the difference is its own cost however busy the machine is (wall time is not:
/// under load the thread waits for a core).
fn thread_cpu_time() -> Duration {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// A batch whose signature is still to check.
struct Claim {
    candidate: Candidate,
    head: SignedHead,
    prevs: Vec<ChainHash>,
    key: VehicleKey,
}

pub(crate) async fn check(
    store: &Store,
    candidates: Vec<Candidate>,
    now: DateTime<Utc>,
    heads: &mut ChainHeads,
) -> Result<Checked, StoreError> {
    let mut checked = Checked::default();
    let mut vehicles: Vec<VehicleId> = candidates.iter().map(|c| c.batch.vehicle.clone()).collect();
    vehicles.sort();
    vehicles.dedup();
    let mut keys: HashMap<VehicleId, Vec<VehicleKey>> = HashMap::new();
    for key in store.vehicle_keys_among(&vehicles).await? {
        keys.entry(key.vehicle.clone()).or_default().push(key);
    }
    // The order batches are accepted in: unsigned ones at once, signed ones after checking.
    let started = thread_cpu_time();
    let mut claims = Vec::new();
    for candidate in candidates {
        let Some(vehicle_keys) = keys.get(&candidate.batch.vehicle) else {
            checked.signed_without_key += u64::from(candidate.signed.is_some());
            checked.accepted.push(candidate.batch);
            continue;
        };
        match decide(candidate, vehicle_keys) {
            Decision::Unsigned(candidate) => checked.accepted.push(candidate.batch),
            Decision::Claim(claim) => claims.push(*claim),
            Decision::Refuse(candidate, reason) => {
                checked.refused.push((candidate.message, refusal(&candidate, reason)));
            }
        }
    }
    let verified = verify_signatures(linked_runs(claims), &mut checked);
    checked.cost.cpu = thread_cpu_time().saturating_sub(started);
    link_all(store, verified, now, heads, &mut checked).await?;
    Ok(checked)
}

/// What to do with a batch of a vehicle that has keys, before its signature is checked.
enum Decision {
    /// Unsigned, and older than the vehicle's first key.
    Unsigned(Candidate),
    Claim(Box<Claim>),
    Refuse(Candidate, &'static str),
}

fn decide(candidate: Candidate, keys: &[VehicleKey]) -> Decision {
    let last = candidate.batch.positions.last().map(|p| p.t).unwrap_or_default();
    // Keys are ordered by valid_from: the one valid at `last` is the last that starts by then.
    let valid = keys.iter().rev().find(|k| k.valid_from <= last);
    let Some(signed) = candidate.signed else {
        return match valid {
            Some(_) => Decision::Refuse(candidate, "missing_signature"),
            None => Decision::Unsigned(candidate),
        };
    };
    if !keys.iter().any(|k| k.key_id() == signed.key) {
        return Decision::Refuse(candidate, "unknown_key");
    }
    let Some(key) = valid.filter(|k| k.key_id() == signed.key) else {
        return Decision::Refuse(candidate, "key_not_valid");
    };
    let batch = &candidate.batch;
    let Some((prevs, head)) = chain_links(&signed.prev, &batch.vehicle, &batch.positions) else {
        return Decision::Refuse(candidate, "chain_out_of_order");
    };
    let head = SignedHead {
        vehicle: candidate.batch.vehicle.clone(),
        seq: candidate.batch.positions.last().map_or(0, |p| p.seq),
        head,
        key: signed.key,
        sig: signed.sig,
    };
    Decision::Claim(Box::new(Claim { head, prevs, key: key.clone(), candidate }))
}

/// Consecutive batches of one vehicle, each linked to the one before: the last one's signature
/// vouches for every fix of the run.
struct Run(Vec<Claim>);

impl Run {
    fn last(&self) -> &Claim {
        self.0.last().expect("a run holds at least one batch")
    }

    /// Whether `next` continues this run: the same vehicle and key, its first seq the next one,
    /// and its `prev` this run's head.
    fn continues_with(&self, next: &Claim) -> bool {
        let last = self.last();
        let first_seq = next.candidate.batch.positions.first().map(|p| p.seq);
        last.head.vehicle == next.head.vehicle
            && last.head.key == next.head.key
            && first_seq == last.head.seq.checked_add(1)
            && next.prevs.first() == Some(&last.head.head)
    }
}

/// The claims grouped into runs, in the order of each run's first batch.
fn linked_runs(claims: Vec<Claim>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    // Each vehicle's newest run.
    let mut open: HashMap<VehicleId, usize> = HashMap::new();
    for claim in claims {
        match open.get(&claim.head.vehicle) {
            Some(&index) if runs[index].continues_with(&claim) => runs[index].0.push(claim),
            _ => {
                open.insert(claim.head.vehicle.clone(), runs.len());
                runs.push(Run(vec![claim]));
            }
        }
    }
    runs
}

/// The batches whose signature holds or is vouched for by a later one of their run, in their
/// order, each with whether its own signature was checked (only those heads are stored). A run
/// whose last signature fails is split, each batch checked on its own: those that fail are
/// refused `bad_signature`.
fn verify_signatures(runs: Vec<Run>, checked: &mut Checked) -> Vec<(Claim, bool)> {
    let pairs: Vec<_> = runs.iter().map(|run| (&run.last().head, &run.last().key.key)).collect();
    checked.cost.signatures += pairs.len() as u64;
    let all_hold = pairs.is_empty() || SignedHead::verify_all(&pairs).is_ok();
    let mut good = Vec::new();
    for run in runs {
        if all_hold || checked.cost.check(run.last()) {
            let last = run.0.len() - 1;
            good.extend(run.0.into_iter().enumerate().map(|(i, claim)| (claim, i == last)));
            continue;
        }
        // The last one failed; alone, it is refused as it is. In a longer run, the others may
        // hold on their own.
        let alone = run.0.len() == 1;
        for claim in run.0 {
            if !alone && checked.cost.check(&claim) {
                good.push((claim, true));
            } else {
                checked.refused.push((claim.candidate.message, refusal(&claim.candidate, "bad_signature")));
            }
        }
    }
    good
}

/// Links each verified batch to its vehicle's chain, in the order they came.
async fn link_all(
    store: &Store,
    claims: Vec<(Claim, bool)>,
    now: DateTime<Utc>,
    heads: &mut ChainHeads,
    checked: &mut Checked,
) -> Result<(), StoreError> {
    // Heads accepted in this commit, by vehicle and seq: a later batch may link to them.
    let mut accepted: HashMap<VehicleId, HashMap<u64, ChainHash>> = HashMap::new();
    for (claim, signature_checked) in claims {
        let vehicle = claim.candidate.batch.vehicle.clone();
        let first = claim.candidate.batch.positions.first().map_or(0, |p| p.seq);
        let prev = claim.prevs.first().copied().unwrap_or(GENESIS);
        let before = match first.checked_sub(1) {
            None => ChainPoint::NotStored,
            Some(seq) => match accepted.get(&vehicle).and_then(|m| m.get(&seq)) {
                Some(head) => ChainPoint::Head(*head),
                None => match heads.0.get(&vehicle) {
                    Some((at, head)) if *at == seq => ChainPoint::Head(*head),
                    _ => store.chain_head_at(&vehicle, seq).await?,
                },
            },
        };
        match before {
            ChainPoint::Head(head) if head != prev => {
                checked.refused.push((claim.candidate.message, refusal(&claim.candidate, "chain_broken")));
                continue;
            }
            ChainPoint::Head(_) | ChainPoint::Unsigned => {}
            ChainPoint::NotStored => {
                let in_commit =
                    accepted.get(&vehicle).and_then(|m| m.keys().filter(|&&s| s < first).max().copied());
                let stored = store.last_stored_seq(&vehicle, first).await?;
                let last = in_commit.max(stored);
                let from = last.map_or(1, |s| s + 1);
                let starts_chain = last.is_none() && prev == GENESIS;
                if !starts_chain && first > from {
                    checked.gaps.push(ChainGap {
                        vehicle: vehicle.clone(),
                        from_seq: from,
                        to_seq: first - 1,
                        detected_at: now,
                    });
                }
            }
        }
        accepted.entry(vehicle.clone()).or_default().insert(claim.head.seq, claim.head.head);
        if heads.0.get(&vehicle).is_none_or(|(at, _)| *at <= claim.head.seq) {
            heads.0.insert(vehicle, (claim.head.seq, claim.head.head));
        }
        let mut batch = claim.candidate.batch;
        let head = signature_checked.then_some(claim.head);
        batch.chain = Some(SignedChain { prevs: claim.prevs, head });
        checked.accepted.push(batch);
    }
    Ok(())
}

fn refusal(candidate: &Candidate, reason: &'static str) -> IntegrityRefusal {
    let positions = &candidate.batch.positions;
    let (first, last) = (positions.first(), positions.last());
    IntegrityRefusal {
        vehicle: candidate.batch.vehicle.clone(),
        reason,
        first_seq: first.map_or(0, |p| p.seq),
        last_seq: last.map_or(0, |p| p.seq),
        t: last.map_or_else(Utc::now, |p| p.t),
        lat: last.map_or(0.0, |p| p.lat),
        lon: last.map_or(0.0, |p| p.lon),
        key: candidate.signed.map(|s| s.key.to_string()),
    }
}

#[cfg(test)]
mod tests;
