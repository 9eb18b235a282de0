//! Each vehicle's chain, checked as its fixes stream past: every fix's `prev` links to the fix
//! before, each signed head verifies under the vehicle's key valid at its fix's time and equals
//! the chain hash recomputed up to its seq, every fix of a signed vehicle is covered by a head,
//! and every seq jump is a gap (with its duration, and whether the agent reported dropping
//! fixes from its spool then). Memory: one entry per key, head and gap, never one per fix.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use convoy_core::signing::{link, ChainHash, PublicKey, SignedHead};
use convoy_core::VehicleId;
use convoy_history::evidence::lines::{AgentStatusLine, ChainGapLine, FixLine, VehicleKeyLine};

/// How long after a gap an agent's status report still counts as telling of it: the agent
/// reports its spool's drops when it is back.
const DROP_REPORT_WINDOW: Duration = Duration::minutes(5);

/// A jump in a vehicle's seqs.
#[derive(Clone, Debug, PartialEq)]
pub struct Gap {
    pub after_seq: u64,
    pub before_seq: u64,
    pub from_t: DateTime<Utc>,
    pub to_t: DateTime<Utc>,
    /// Whether an agent status in the gap (or just after) reported more spool drops.
    pub spool_drops: bool,
}

/// What the verdict says of one vehicle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VehicleChain {
    /// The agent's fixes (phones' fixes are counted apart: they have no chain).
    pub fixes: u64,
    pub phone_fixes: u64,
    pub signed: bool,
    pub unsigned_fixes: u64,
    pub covered_fixes: u64,
    pub heads_checked: u64,
    pub keys: Vec<String>,
    pub gaps: Vec<Gap>,
    /// Fixes covered by no signed head (first seq, last seq), where that is not a failure.
    pub not_covered: Vec<(u64, u64)>,
    last: Option<(u64, DateTime<Utc>, ChainHash)>,
    first_seq: Option<u64>,
    /// The first seq (and how many fixes) since the last signed head.
    run: Option<(u64, u64)>,
    /// Each status report: when, and the spool's drop count it gave.
    drops: Vec<(DateTime<Utc>, Option<u64>)>,
}

/// Every vehicle's chain.
#[derive(Default)]
pub struct Chains {
    keys: HashMap<VehicleId, Vec<(DateTime<Utc>, PublicKey)>>,
    heads: HashMap<VehicleId, BTreeMap<u64, SignedHead>>,
    /// The seqs ingest recorded missing (first, last), by vehicle.
    recorded_gaps: HashMap<VehicleId, Vec<(u64, u64)>>,
    pub vehicles: BTreeMap<VehicleId, VehicleChain>,
}

impl Chains {
    pub fn key(&mut self, line: VehicleKeyLine, failures: &mut Vec<String>) {
        if line.public_key.id() != line.key {
            failures.push(format!(
                "{} key {}: the public key given is not that key (its id is {})",
                line.vehicle,
                line.key,
                line.public_key.id()
            ));
        }
        let chain = self.vehicles.entry(line.vehicle.clone()).or_default();
        chain.signed = true;
        chain.keys.push(format!("{} from {}", line.key, line.valid_from.to_rfc3339()));
        let keys = self.keys.entry(line.vehicle).or_default();
        keys.push((line.valid_from, line.public_key));
        keys.sort_by_key(|(from, _)| *from);
    }

    pub fn head(&mut self, head: SignedHead, failures: &mut Vec<String>) {
        let heads = self.heads.entry(head.vehicle.clone()).or_default();
        if heads.contains_key(&head.seq) {
            failures.push(format!("{} has two signed heads at seq {}", head.vehicle, head.seq));
        }
        heads.insert(head.seq, head);
    }

    pub fn gap(&mut self, gap: ChainGapLine) {
        self.recorded_gaps.entry(gap.vehicle).or_default().push((gap.from_seq, gap.to_seq));
    }

    fn key_at(&self, vehicle: &VehicleId, t: DateTime<Utc>) -> Option<&PublicKey> {
        self.keys.get(vehicle)?.iter().rev().find(|(from, _)| *from <= t).map(|(_, key)| key)
    }

    pub fn fix(&mut self, line: &FixLine, failures: &mut Vec<String>) {
        let vehicle = &line.vehicle;
        let fix = &line.position;
        let seq = fix.seq;
        let head = self.heads.get_mut(vehicle).and_then(|heads| heads.remove(&seq));
        let key = head.as_ref().and_then(|_| self.key_at(vehicle, fix.t).copied());
        let chain = self.vehicles.entry(vehicle.clone()).or_default();
        if line.source.is_some() {
            chain.phone_fixes += 1;
            return;
        }
        let mut start = line.prev;
        if let Some((last_seq, last_t, last_hash)) = chain.last {
            if seq <= last_seq {
                let what = if seq == last_seq {
                    format!("{vehicle} fix seq {seq} appears twice (a fix added)")
                } else {
                    format!("{vehicle} fix seq {seq} comes after seq {last_seq} (fixes reordered, or a fix added out of place)")
                };
                failures.push(what);
                return;
            }
            let jump = seq > last_seq + 1;
            if jump {
                chain.gaps.push(Gap {
                    after_seq: last_seq,
                    before_seq: seq,
                    from_t: last_t,
                    to_t: fix.t,
                    spool_drops: false,
                });
            }
            // The agent links the fixes it sends, so a gap (seqs it never sent) still links;
            // a jump that does not link is fixes removed, unless the server recorded the chain
            // starting again there.
            let recorded = self
                .recorded_gaps
                .get(vehicle)
                .is_some_and(|gaps| gaps.iter().any(|(from, to)| last_seq < *from && *to < seq));
            match line.prev {
                None => {}
                Some(prev) if prev == last_hash => start = Some(last_hash),
                Some(_) if jump && recorded => {
                    if let Some((from, n)) = chain.run.take() {
                        failures.push(format!(
                            "{vehicle} fixes seq {from} to {last_seq} ({n}): covered by no signed head before the chain starts again at seq {seq}"
                        ));
                    }
                }
                Some(_) => {
                    let what = if !jump {
                        format!("{vehicle} fix seq {seq}: does not link to seq {last_seq} (its prev is not seq {last_seq}'s chain hash as the bundle has it: seq {last_seq} was changed, or a fix removed, added or reordered there)")
                    } else {
                        let missing = if seq == last_seq + 2 {
                            format!("seq {} is", last_seq + 1)
                        } else {
                            format!("seqs {} to {} are", last_seq + 1, seq - 1)
                        };
                        format!("{vehicle} fix seq {seq}: {missing} missing and seq {seq} does not link to seq {last_seq} (a fix removed, or seq {last_seq} changed)")
                    };
                    failures.push(what);
                    // Carry the hash recomputed from the bundle's own fixes, so the break
                    // shows at the next signed head too.
                    start = Some(last_hash);
                }
            }
        }
        chain.fixes += 1;
        chain.first_seq.get_or_insert(seq);
        let Some(start) = start else {
            chain.unsigned_fixes += 1;
            chain.last = Some((seq, fix.t, ChainHash([0; 32])));
            return;
        };
        chain.signed = true;
        let hash = link(&start, vehicle, fix);
        chain.last = Some((seq, fix.t, hash));
        let run = chain.run.get_or_insert((seq, 0));
        run.1 += 1;
        let Some(head) = head else { return };
        chain.heads_checked += 1;
        let (from, n) = chain.run.take().unwrap_or((seq, 1));
        let Some(key) = key else {
            failures.push(format!(
                "{vehicle} signed head at seq {seq}: no key of the vehicle in the bundle is valid at its fix time {}",
                fix.t.to_rfc3339()
            ));
            return;
        };
        if key.id() != head.key {
            failures.push(format!(
                "{vehicle} signed head at seq {seq}: signed by key {}, but the vehicle's key valid at {} is {} (a public key or the head was replaced)",
                head.key,
                fix.t.to_rfc3339(),
                key.id()
            ));
            return;
        }
        if head.verify(&key).is_err() {
            failures.push(format!(
                "{vehicle} signed head at seq {seq}: its signature does not verify under key {} (the head or the vehicle's public key was changed)",
                key.id()
            ));
            return;
        }
        if head.head != hash {
            failures.push(format!(
                "{vehicle} fix seq {from}: its chain hash does not match the signed head at seq {seq} (a fix changed, removed, added or reordered between seq {from} and {seq})"
            ));
            return;
        }
        chain.covered_fixes += n;
    }

    pub fn status(&mut self, line: &AgentStatusLine) {
        let dropped = serde_json::from_str::<serde_json::Value>(&line.status)
            .ok()
            .and_then(|s| s.get("spool_dropped").and_then(serde_json::Value::as_u64));
        self.vehicles.entry(line.vehicle.clone()).or_default().drops.push((line.received_at, dropped));
    }

    /// The checks that need the whole track: uncovered tails, heads no fix met, spool drops.
    pub fn finish(&mut self, cut: bool, failures: &mut Vec<String>) {
        for (vehicle, chain) in &mut self.vehicles {
            if let (Some((from, n)), Some((last, _, _))) = (chain.run.take(), chain.last) {
                if cut {
                    chain.not_covered.push((from, last));
                } else {
                    failures.push(format!(
                        "{vehicle} fixes seq {from} to {last} ({n}): covered by no signed head (added after signing, or their head removed)"
                    ));
                }
            }
            if let (Some(heads), Some(first), Some((last, _, _))) =
                (self.heads.get(vehicle), chain.first_seq, chain.last)
            {
                for seq in heads.keys().filter(|s| (first..=last).contains(*s)) {
                    failures.push(format!(
                        "{vehicle} signed head at seq {seq}: no fix of that seq is in the bundle (a fix removed)"
                    ));
                }
            }
            chain.drops.sort_by_key(|(at, _)| *at);
            for gap in &mut chain.gaps {
                let before =
                    chain.drops.iter().filter(|(at, _)| *at < gap.from_t).filter_map(|(_, d)| *d).max();
                let window = gap.from_t..=gap.to_t + DROP_REPORT_WINDOW;
                gap.spool_drops = chain
                    .drops
                    .iter()
                    .filter(|(at, _)| window.contains(at))
                    .filter_map(|(_, d)| *d)
                    .any(|d| d > before.unwrap_or(0));
            }
        }
    }
}
