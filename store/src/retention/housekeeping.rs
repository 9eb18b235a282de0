//! The store's upkeep, run in the background by the server: partitions made ahead of time, and
//! the retention purge.

use std::path::{Path, PathBuf};
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
/// `shutdown` is cancelled; records the audit log's head each time and once more at the end,
/// in the log and appended to `head_file`. Failures are logged and retried at the next round:
/// upkeep never stops the server.
pub async fn run_housekeeping(
    store: Store,
    retention: Option<Retention>,
    every: Duration,
    head_file: Option<PathBuf>,
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
                        held_by = %report.held_by_json(),
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
        record_audit_head(&store, head_file.as_deref()).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => {
                record_audit_head(&store, head_file.as_deref()).await;
                return Ok(());
            }
        }
    }
}

/// Records the audit log's head outside the database, where `convoy audit verify` can later
/// check that no tail was cut: appended to the head file (the anchor to ship off the machine),
/// and in the server's log (whose writer escapes every value, so no request can fake the line).
async fn record_audit_head(store: &Store, head_file: Option<&Path>) {
    let head = match store.audit_head().await {
        Ok(head) => head,
        Err(e) => return tracing::error!(error = %e, "cannot read the audit log head"),
    };
    tracing::info!(%head, "audit log head");
    let Some(path) = head_file.map(Path::to_path_buf) else { return };
    // Synced to disk: off the async threads.
    let appended = tokio::task::spawn_blocking(move || {
        crate::append_audit_head(&path, Utc::now(), &head).map_err(|e| (path, e))
    })
    .await;
    if let Ok(Err((path, e))) = appended {
        tracing::error!(error = %e, path = %path.display(), "cannot append to the audit head file");
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
            // What was kept and why: each hold (its reason is in its `hold.place` entry) and
            // the due positions it kept.
            "held_by": report.held_by_json(),
            "dead_letters_deleted": report.dead_letters_deleted,
        }),
    }
}
