//! The store's upkeep, run in the background by the server: partitions made ahead of time, and
//! the retention purge.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::{NewAuditEntry, PurgeReport, Store};

/// How long positions are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub days: u32,
}

impl Retention {
    /// Fix times before this are due for deletion at `now`.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.days))
    }
}

/// Prepares partitions and purges what retention says, at once and then every `every`, until
/// `shutdown` is cancelled. Failures are logged and retried at the next round: upkeep never
/// stops the server.
pub async fn run_housekeeping(
    store: Store,
    retention: Option<Retention>,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let now = Utc::now();
        if let Err(e) = store.prepare_ahead(now).await {
            tracing::error!(error = %e, "cannot prepare partitions ahead");
        }
        if let Some(retention) = retention {
            match store.purge(retention.cutoff(now), now).await {
                Ok(report) => {
                    tracing::info!(
                        cutoff = %report.cutoff,
                        positions_deleted = report.positions_deleted,
                        partitions_dropped = report.partitions_dropped,
                        positions_held = report.positions_held,
                        dead_letters_deleted = report.dead_letters_deleted,
                        "retention purge"
                    );
                    if let Err(e) = store.append_audit(&purge_audit_entry(&report)).await {
                        tracing::error!(error = %e, "cannot record the retention purge in the audit log");
                    }
                }
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
        }
        // The server's log is kept apart from the database: a head written there hourly lets
        // `convoy audit verify --expect-head` catch a tail cut by the database's owner.
        match store.audit_head().await {
            Ok(head) => tracing::info!(%head, "audit log head"),
            Err(e) => tracing::error!(error = %e, "cannot read the audit log head"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// The audit log's record of a purge: deleting positions is an access to them too.
fn purge_audit_entry(report: &PurgeReport) -> NewAuditEntry {
    NewAuditEntry {
        actor: Some("system".to_string()),
        action: "retention.purge".to_string(),
        target: "positions".to_string(),
        from_addr: None,
        detail: serde_json::json!({
            "cutoff": report.cutoff,
            "positions_deleted": report.positions_deleted,
            "partitions_dropped": report.partitions_dropped,
            "positions_held": report.positions_held,
            "dead_letters_deleted": report.dead_letters_deleted,
        }),
    }
}
