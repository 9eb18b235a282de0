//! `convoy evidence verify`: reads a bundle once, line by line, and checks everything it can
//! without the server: the manifest (hash, counts, signature), each vehicle's chain and signed
//! heads ([`chain`]), the rules replayed against the recorded alerts ([`rules`]), and the audit
//! entries' hashes ([`audit`]). The result is a [`Verdict`] a person reads.

mod audit;
mod chain;
mod custody;
mod render;
mod rules;

use std::collections::BTreeMap;
use std::io::Read;

use convoy_core::signing::{PublicKey, Purpose, SignedHead};
use convoy_history::evidence::lines::{
    AgentStatusLine, AlertLine, AuditLine, BundleLine, ChainGapLine, FixLine, ManifestLine, PlanLine,
    PlanVersionLine, ReportLine, SealCheckpointLine, VehicleKeyLine,
};
use convoy_history::evidence::{Section, FORMAT};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::reader::{LineReader, ReadError};
pub use chain::{Gap, VehicleChain};
pub use rules::RulesReport;

/// What the manifest check found.
#[derive(Debug, Default, PartialEq)]
pub struct ManifestCheck {
    pub sha256: String,
    pub key: String,
    pub public_key: String,
    /// Whether the key is the one given with `--server-key` (else only the file names it).
    pub key_given: bool,
}

/// What verifying a bundle found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Why the file is not a bundle at all (exit status 2).
    pub not_a_bundle: Option<String>,
    pub bundle: Option<BundleLine>,
    pub vehicles: BTreeMap<String, VehicleChain>,
    pub rules: Option<RulesReport>,
    pub audit_checked: u64,
    /// Seals seen broken or missing at the checkpoints, each matched to its `seal` alert.
    pub seals_not_intact: u64,
    pub counts: BTreeMap<String, u64>,
    pub manifest: Option<ManifestCheck>,
    /// Everything that does not hold, each named precisely (the first [`MAX_FAILURES`]).
    pub failures: Vec<String>,
    /// Failures past [`MAX_FAILURES`], counted only: a hostile file cannot make the verdict
    /// grow with its length.
    pub more_failures: u64,
}

/// The most failures a verdict names.
pub const MAX_FAILURES: usize = 1000;

impl Verdict {
    pub fn holds(&self) -> bool {
        self.not_a_bundle.is_none() && self.failures.is_empty()
    }

    /// 0 when everything holds, 1 when something does not, 2 when the file is not a bundle.
    pub fn exit_code(&self) -> i32 {
        match (&self.not_a_bundle, self.failures.is_empty()) {
            (Some(_), _) => 2,
            (None, true) => 0,
            (None, false) => 1,
        }
    }
}

/// Verifies the bundle `file`. With `server_key`, only a manifest signed by that key holds.
pub fn verify(file: impl Read, server_key: Option<&PublicKey>) -> Verdict {
    let mut verdict = Verdict::default();
    let mut run = Run::default();
    if let Err(reason) = run.read(file, server_key, &mut verdict) {
        verdict.not_a_bundle = Some(reason);
    }
    verdict
}

#[derive(Default)]
struct Run {
    hash: Sha256,
    last: Option<Section>,
    chains: chain::Chains,
    replay: Option<rules::Replay>,
    audit: audit::AuditCheck,
    custody: custody::CustodyCheck,
    plan: bool,
}

impl Run {
    /// Reads every line; an `Err` is why the file is not a bundle.
    fn read(
        &mut self,
        file: impl Read,
        key: Option<&PublicKey>,
        verdict: &mut Verdict,
    ) -> Result<(), String> {
        let mut reader = LineReader::new(file);
        let mut manifest = None;
        let mut n = 0u64;
        loop {
            let raw = match reader.next_line() {
                Ok(Some(raw)) => raw,
                Ok(None) => break,
                Err(ReadError::Truncated(e)) if verdict.bundle.is_some() => {
                    verdict
                        .failures
                        .push(format!("the file is cut short after line {n} ({e}): it was truncated"));
                    break;
                }
                Err(e) => return Err(e.to_string()),
            };
            n += 1;
            let value: serde_json::Value =
                serde_json::from_slice(raw).map_err(|e| format!("line {n} is not JSON ({e})"))?;
            let name = value
                .get("section")
                .and_then(|s| s.as_str())
                .ok_or(format!("line {n} has no \"section\""))?;
            let section = Section::parse(name).ok_or_else(|| {
                let shown: String = name.chars().take(40).collect();
                format!("line {n}: unknown section {shown:?}")
            })?;
            self.order(n, section)?;
            if section == Section::Manifest {
                manifest = Some(parse::<ManifestLine>(n, value)?);
                continue;
            }
            self.hash.update(raw);
            *verdict.counts.entry(section.name().to_string()).or_default() += 1;
            self.line(n, section, value, verdict)?;
            if verdict.failures.len() > MAX_FAILURES {
                verdict.more_failures += (verdict.failures.len() - MAX_FAILURES) as u64;
                verdict.failures.truncate(MAX_FAILURES);
            }
        }
        if verdict.bundle.is_none() {
            return Err("the file is empty".into());
        }
        self.chains.finish(verdict.bundle.as_ref().is_some_and(|b| b.cut), &mut verdict.failures);
        if let Some(replay) = self.replay.take() {
            verdict.rules = Some(replay.finish(&mut verdict.failures));
        }
        self.audit.finish(&mut verdict.failures);
        self.custody.finish(&mut verdict.failures);
        verdict.seals_not_intact = self.custody.not_intact;
        verdict.audit_checked = self.audit.checked;
        verdict.vehicles =
            std::mem::take(&mut self.chains.vehicles).into_iter().map(|(v, c)| (v.to_string(), c)).collect();
        match manifest {
            None => verdict.failures.push("the file ends without its manifest: it was truncated".into()),
            Some(manifest) => self.manifest(manifest, key, verdict),
        }
        Ok(())
    }

    fn order(&mut self, n: u64, section: Section) -> Result<(), String> {
        match self.last {
            None if section != Section::Bundle => {
                return Err(format!("line 1 is a {:?} line, not the bundle line", section.name()))
            }
            Some(Section::Manifest) => return Err(format!("line {n} comes after the manifest")),
            Some(last) if section < last => {
                return Err(format!(
                    "line {n}: a {} line after a {} line (sections out of order)",
                    section.name(),
                    last.name()
                ))
            }
            Some(last) if section == last && section.is_single() => {
                return Err(format!("line {n}: a second {} line", section.name()))
            }
            _ => {}
        }
        self.last = Some(section);
        Ok(())
    }

    fn line(
        &mut self,
        n: u64,
        section: Section,
        value: serde_json::Value,
        verdict: &mut Verdict,
    ) -> Result<(), String> {
        let failures = &mut verdict.failures;
        match section {
            Section::Bundle => {
                let bundle = parse::<BundleLine>(n, value)?;
                if bundle.format != FORMAT {
                    let shown: String = bundle.format.chars().take(40).collect();
                    return Err(format!("the format is {shown:?}, not {FORMAT}"));
                }
                verdict.bundle = Some(bundle);
            }
            Section::Plan => {
                let plan = parse::<PlanLine>(n, value)?;
                let bundle = verdict.bundle.as_ref().ok_or("no bundle line")?;
                if plan.id != bundle.move_id {
                    failures.push(format!(
                        "the plan is of move {}, the bundle of move {}",
                        plan.id, bundle.move_id
                    ));
                }
                match rules::Replay::new(bundle, &plan) {
                    Ok(replay) => self.replay = Some(replay),
                    Err(e) => failures.push(format!("the rules cannot be replayed: {e}")),
                }
                self.plan = true;
            }
            Section::PlanVersion => {
                parse::<PlanVersionLine>(n, value)?;
            }
            Section::VehicleKey => self.chains.key(parse::<VehicleKeyLine>(n, value)?, failures),
            Section::SignedHead => self.chains.head(parse::<SignedHead>(n, value)?, failures),
            Section::ChainGap => self.chains.gap(parse::<ChainGapLine>(n, value)?),
            Section::Fix => {
                let fix = parse::<FixLine>(n, value)?;
                self.chains.fix(&fix, failures);
                if let Some(replay) = &mut self.replay {
                    replay.fix(&fix);
                }
            }
            Section::AgentStatus => {
                let status = parse::<AgentStatusLine>(n, value)?;
                self.chains.status(&status);
                if let Some(replay) = &mut self.replay {
                    replay.status(&status);
                }
            }
            Section::Alert => {
                let alert = parse::<AlertLine>(n, value)?;
                self.audit.alert(&alert);
                self.custody.alert(&alert);
                if let Some(replay) = &mut self.replay {
                    replay.alert(&alert);
                }
            }
            Section::SealCheckpoint => self.custody.checkpoint(&parse::<SealCheckpointLine>(n, value)?),
            Section::Audit => self.audit.entry(&parse::<AuditLine>(n, value)?, failures),
            Section::Report => {
                parse::<ReportLine>(n, value)?;
            }
            Section::Manifest => unreachable!("read apart"),
        }
        if section > Section::Plan && !self.plan {
            return Err(format!("line {n}: a {} line before the plan", section.name()));
        }
        Ok(())
    }

    fn manifest(&mut self, manifest: ManifestLine, key: Option<&PublicKey>, verdict: &mut Verdict) {
        let digest: [u8; 32] = std::mem::take(&mut self.hash).finalize().into();
        let failures = &mut verdict.failures;
        if hex::encode(digest) != manifest.sha256 {
            failures.push(format!(
                "manifest: its sha256 {} is not that of the lines before it ({}): a line was changed, added or removed after the export",
                manifest.sha256,
                hex::encode(digest)
            ));
        }
        if manifest.counts != verdict.counts {
            let show = |counts: &BTreeMap<String, u64>| {
                counts.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
            };
            failures.push(format!(
                "manifest: its counts ({}) are not the file's ({})",
                show(&manifest.counts),
                show(&verdict.counts)
            ));
        }
        if manifest.public_key.id() != manifest.key {
            failures.push(format!(
                "manifest: its public key is not key {} (its id is {})",
                manifest.key,
                manifest.public_key.id()
            ));
        }
        if let Some(server) = key {
            if *server != manifest.public_key {
                failures.push(format!(
                    "manifest: signed by key {}, not by the server's key {} given with --server-key (re-signed by someone else)",
                    manifest.key,
                    server.id()
                ));
            }
        }
        if manifest.public_key.verify(Purpose::Manifest, &digest, &manifest.sig).is_err() {
            failures.push(format!(
                "manifest: its signature does not verify under key {} over the lines' sha256",
                manifest.key
            ));
        }
        verdict.manifest = Some(ManifestCheck {
            sha256: manifest.sha256,
            key: manifest.key.to_string(),
            public_key: manifest.public_key.to_string(),
            key_given: key.is_some(),
        });
    }
}

fn parse<T: DeserializeOwned>(n: u64, value: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("line {n} does not read as its section: {e}"))
}

#[cfg(test)]
mod tests;
