//! The store's upkeep, run in the background by the server: partitions made ahead of time, and
//! the retention purge.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use convoy_core::signing::SecretKey;

use crate::signed::{AuditSignature, DestructionSigner};
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

/// What the housekeeping does and how often.
#[derive(Clone, Debug)]
pub struct Housekeeping {
    /// How long positions are kept; `None`: forever (no purge).
    pub retention: Option<Retention>,
    pub every: Duration,
    /// Where the audit log's head is appended, if anywhere.
    pub head_file: Option<PathBuf>,
    /// The server's key: signs the audit log's head each time it is recorded, and each
    /// purge's destruction record.
    pub signing_key: Option<SecretKey>,
}

/// [`run_signed_housekeeping`] without a key: nothing is signed.
pub async fn run_housekeeping(
    store: Store,
    retention: Option<Retention>,
    every: Duration,
    head_file: Option<PathBuf>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_signed_housekeeping(store, Housekeeping { retention, every, head_file, signing_key: None }, shutdown)
        .await
}

/// Prepares partitions and purges what retention says, at once and then every `every`, until
/// `shutdown` is cancelled; records the audit log's head each time (so after each purge's
/// entry) and once more at the end, in the log and appended to `head_file`, signed with the
/// key if there is one. Failures are logged and retried at the next round: upkeep never stops
/// the server.
pub async fn run_signed_housekeeping(
    store: Store,
    housekeeping: Housekeeping,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Housekeeping { retention, every, head_file, signing_key } = housekeeping;
    loop {
        let now = Utc::now();
        if let Err(e) = store.prepare_ahead(now).await {
            tracing::error!(error = %e, "cannot prepare partitions ahead");
        }
        if let Some(retention) = retention {
            let signer =
                signing_key.clone().map(|key| DestructionSigner { key, retention_days: retention.days });
            match store.purge_with(retention.cutoff(now), now, signer).await {
                Ok((report, record)) => {
                    tracing::info!(
                        cutoff = %report.cutoff,
                        positions_deleted = report.positions_deleted,
                        partitions_dropped = report.partitions_dropped,
                        positions_held = report.positions_held,
                        held_by = %report.held_by_json(),
                        dead_letters_deleted = report.dead_letters_deleted,
                        destruction_record = record.as_ref().map(|r| r.id),
                        "retention purge"
                    );
                    let entry = purge_audit_entry(&report, record.as_ref().map(|r| r.id));
                    if let Err(e) = store.append_audit(&entry).await {
                        tracing::error!(error = %e, "cannot record the retention purge in the audit log");
                    }
                }
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
        }
        record_audit_head(&store, head_file.as_deref(), signing_key.as_ref()).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => {
                record_audit_head(&store, head_file.as_deref(), signing_key.as_ref()).await;
                return Ok(());
            }
        }
    }
}

/// Records the audit log's head outside the database, where `convoy audit verify` can later
/// check that no tail was cut: appended to the head file (the anchor to ship off the machine),
/// and in the server's log (whose writer escapes every value, so no request can fake the line).
/// With a key, the head is signed, the signature kept in the store and appended to the line.
async fn record_audit_head(store: &Store, head_file: Option<&Path>, key: Option<&SecretKey>) {
    let head = match store.audit_head().await {
        Ok(head) => head,
        Err(e) => return tracing::error!(error = %e, "cannot read the audit log head"),
    };
    let now = Utc::now();
    let signature = match key.map(|key| AuditSignature::sign(key, &head, now)) {
        Some(Ok(signature)) => match store.add_audit_signature(&signature).await {
            Ok(()) => Some(signature),
            Err(e) => {
                tracing::error!(error = %e, "cannot keep the audit head's signature");
                None
            }
        },
        Some(Err(e)) => {
            tracing::error!(error = %e, "cannot sign the audit log head");
            None
        }
        None => None,
    };
    match &signature {
        Some(signature) => tracing::info!(%head, key = %signature.key_id, "audit log head"),
        None => tracing::info!(%head, "audit log head"),
    }
    let Some(path) = head_file.map(Path::to_path_buf) else { return };
    // Synced to disk: off the async threads.
    let appended = tokio::task::spawn_blocking(move || {
        crate::append_audit_head(&path, now, &head, signature.as_ref()).map_err(|e| (path, e))
    })
    .await;
    if let Ok(Err((path, e))) = appended {
        tracing::error!(error = %e, path = %path.display(), "cannot append to the audit head file");
    }
}

/// The audit log's record of a purge: deleting positions is an access to them too.
fn purge_audit_entry(report: &PurgeReport, destruction_record: Option<i64>) -> NewAuditEntry {
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
            // Its signed record (`GET /api/v1/retention/purges`), if the server has a key.
            "destruction_record": destruction_record,
        }),
    }
}
