//! Reads a move from the store into a bundle, section after section, a page of fixes at a
//! time. The HTTP route and `convoy evidence export` both call [`export_move`]; they differ in
//! where the compressed bytes go (the caller's `sink`).

use std::collections::HashSet;
use std::future::Future;

use chrono::{DateTime, Utc};
use convoy_core::rules::RuleSettings;
use convoy_core::signing::SecretKey;
use convoy_store::{AlertFilter, AuditFilter, Store, StoreError};
use serde_json::Value;

use super::lines::{
    AgentStatusLine, AlertLine, AuditLine, BundleLine, ChainGapLine, FixLine, PlanLine, PlanVersionLine,
    ReportLine, SealCheckpointLine, VehicleKeyLine,
};
use super::{BundleWriter, Section, FORMAT};
use crate::replay::MAX_MOVE_ALERTS;
use crate::{MoveHistory, Span};

/// Compressed bytes are handed to the sink in pieces of about this size.
const FLUSH_BYTES: usize = 64 * 1024;
/// How far past the span the rest of its last batch is looked for.
const BATCH_TAIL: chrono::Duration = chrono::Duration::hours(1);
/// Audit entries read per round trip while looking for the move's.
const AUDIT_PAGE: u32 = 1000;

/// What to export.
pub struct ExportRequest<'a> {
    pub history: &'a MoveHistory,
    /// The server's rule thresholds (without the plan's overrides).
    pub server_rules: &'a RuleSettings,
    /// Fix times `[from, to)`; `to` is the bundle's `until` (an auditor's is cut at the delay).
    pub span: Span,
    pub exported_by: String,
    pub exported_at: DateTime<Utc>,
    /// Whether the span was cut at the auditor delay.
    pub cut: bool,
    /// The move report for the span, as the API gives it.
    pub report: Value,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sink said stop (the client went away, the file could not be written).
    #[error("the bundle's reader went away")]
    Closed,
}

/// Writes the move's bundle, handing compressed bytes to `sink` as they are ready (it returns
/// false to stop), the manifest signed with `key`.
pub async fn export_move<F, Fut>(
    store: &Store,
    request: ExportRequest<'_>,
    key: &SecretKey,
    mut sink: F,
) -> Result<(), ExportError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = bool>,
{
    let ExportRequest { history, server_rules, span, exported_by, exported_at, cut, report } = request;
    let record = &history.record;
    let mut out = Bundle { writer: BundleWriter::new() };
    out.writer.line(
        Section::Bundle,
        &BundleLine {
            format: FORMAT.to_string(),
            move_id: record.id.clone(),
            exported_at,
            exported_by,
            from: span.from,
            until: span.to,
            cut,
            rules: server_rules.clone(),
        },
    );
    out.writer.line(Section::Plan, &PlanLine::of(record));
    let mut versions = store.plan_versions(&record.id).await?;
    versions.reverse();
    for version in &versions {
        out.writer.line(Section::PlanVersion, &PlanVersionLine::of(version));
    }
    // The agent's seqs in the span, per vehicle: the signed heads and gaps are written before
    // the fixes (see `section`), so their range is asked of the database first.
    let mut ranges = Vec::with_capacity(history.plan.vehicles.len());
    for vehicle in &history.plan.vehicles {
        ranges.push(store.agent_seq_range(vehicle, span.from, span.to).await?);
    }
    for key in store.vehicle_keys_among(&history.plan.vehicles).await? {
        let line = VehicleKeyLine {
            vehicle: key.vehicle.clone(),
            key: key.key.id(),
            public_key: key.key,
            valid_from: key.valid_from,
        };
        out.writer.line(Section::VehicleKey, &line);
    }
    // The head of the batch the span's last fix came in may be past the span: the bundle then
    // carries that batch's later fixes too, so every fix can be checked against a head. Not
    // for an auditor's bundle, which must hold nothing newer than its cut.
    let mut last_heads = Vec::with_capacity(ranges.len());
    for (vehicle, range) in history.plan.vehicles.iter().zip(&ranges) {
        let Some((first, last)) = *range else {
            last_heads.push(None);
            continue;
        };
        let mut heads = store.signed_heads(vehicle, first, u64::MAX);
        let mut last_head = None;
        while let Some(head) = heads.recv().await {
            let head = head?.head;
            if cut && head.seq > last {
                break;
            }
            out.writer.line(Section::SignedHead, &head);
            out.flush(&mut sink, FLUSH_BYTES).await?;
            last_head = Some(head.seq);
            if head.seq >= last {
                break;
            }
        }
        last_heads.push(last_head.filter(|seq| *seq > last));
    }
    for (vehicle, range) in history.plan.vehicles.iter().zip(&ranges) {
        let Some((first, last)) = *range else { continue };
        for gap in store.chain_gaps(vehicle, first, last).await? {
            let line = ChainGapLine {
                vehicle: gap.vehicle,
                from_seq: gap.from_seq,
                to_seq: gap.to_seq,
                detected_at: gap.detected_at,
            };
            out.writer.line(Section::ChainGap, &line);
        }
    }
    for (vehicle, last_head) in history.plan.vehicles.iter().zip(&last_heads) {
        let mut fixes = store.track_stream(vehicle, span.from, span.to);
        while let Some(fix) = fixes.recv().await {
            out.writer.line(Section::Fix, &FixLine::of(vehicle, &fix?));
            out.flush(&mut sink, FLUSH_BYTES).await?;
        }
        if let Some(head_seq) = *last_head {
            // The rest of the last batch: the agent's fixes up to its head.
            let mut rest = store.track_stream(vehicle, span.to, span.to + BATCH_TAIL);
            while let Some(fix) = rest.recv().await {
                let fix = fix?;
                if fix.source.is_some() {
                    continue;
                }
                if fix.position.seq > head_seq {
                    break;
                }
                out.writer.line(Section::Fix, &FixLine::of(vehicle, &fix));
            }
        }
    }
    for vehicle in &history.plan.vehicles {
        for status in store.status_history(vehicle, span.from, span.to).await? {
            let line = AgentStatusLine {
                vehicle: vehicle.clone(),
                received_at: status.received_at,
                status: status.status_json,
            };
            out.writer.line(Section::AgentStatus, &line);
        }
        out.flush(&mut sink, FLUSH_BYTES).await?;
    }
    let filter =
        AlertFilter { move_id: Some(record.id.clone()), limit: MAX_MOVE_ALERTS, ..Default::default() };
    let mut alerts: Vec<_> =
        store.alerts(&filter).await?.into_iter().filter(|a| a.opened_t < span.to).collect();
    alerts.sort_by(|a, b| a.opened_t.cmp(&b.opened_t).then_with(|| a.id.cmp(&b.id)));
    let mut targets: HashSet<String> = HashSet::from([record.id.clone()]);
    for alert in &alerts {
        let transitions = store.alert_transitions(&alert.id).await?;
        out.writer.line(Section::Alert, &AlertLine::of(alert, &transitions));
        targets.insert(alert.id.clone());
        out.flush(&mut sink, FLUSH_BYTES).await?;
    }
    // The checkpoints recorded before the bundle's end (an auditor's cut included), which are
    // also the audit log's targets of `checkpoint.record`.
    for checkpoint in store.checkpoints(&record.id).await?.iter().filter(|c| c.at < span.to) {
        out.writer.line(Section::SealCheckpoint, &SealCheckpointLine::of(checkpoint));
    }
    out.flush(&mut sink, FLUSH_BYTES).await?;
    let mut after_seq = None;
    loop {
        let page =
            store.audit_entries(&AuditFilter { after_seq, limit: AUDIT_PAGE, ..Default::default() }).await?;
        for entry in page.iter().filter(|e| targets.contains(&e.target)) {
            out.writer.line(Section::Audit, &AuditLine::of(entry));
        }
        out.flush(&mut sink, FLUSH_BYTES).await?;
        match page.last() {
            Some(last) if page.len() == AUDIT_PAGE as usize => after_seq = Some(last.seq),
            _ => break,
        }
    }
    out.writer.line(Section::Report, &ReportLine { report });
    let last = out.writer.finish(key);
    if !sink(last).await {
        return Err(ExportError::Closed);
    }
    Ok(())
}

struct Bundle {
    writer: BundleWriter,
}

impl Bundle {
    async fn flush<F, Fut>(&mut self, sink: &mut F, at_least: usize) -> Result<(), ExportError>
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = bool>,
    {
        if self.writer.pending() >= at_least && !sink(self.writer.take()).await {
            return Err(ExportError::Closed);
        }
        Ok(())
    }
}
