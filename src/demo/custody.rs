//! The demo move's seal checkpoints (custody): a few sealed items listed on the move, and each
//! cycle a checkpoint at loading (at the depot, before the trucks leave) and at unloading (at
//! the data centre, while they stand there), every seal intact, recorded by the move's escort
//! with each truck's latest stored fix, through the store as the API records them. No seal is
//! ever broken here: the demo's alerts stay those of its script (`tests.rs`).

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use convoy_core::custody::{SealState, Stage};
use convoy_core::VehicleId;
use convoy_store::{Checkpoint, CheckpointFix, Seal, SealSeen, Store};
use tokio_util::sync::CancellationToken;

use super::simulator::CYCLE_S;

/// The demo move's sealed items: (id, label, seal number, what it holds, sensitivity, vehicle).
const SEALS: [(&str, &str, &str, &str, &str, &str); 4] = [
    (
        "s-demo-rack-3",
        "Rack 3 crate",
        "AD-2026-0413",
        "8 storage servers, payroll cluster",
        "secret",
        "truck-01",
    ),
    ("s-demo-disks", "Disk case 12", "AD-2026-0414", "24 backup disks", "confidential", "truck-01"),
    ("s-demo-rack-7", "Rack 7 crate", "AD-2026-0415", "network switches", "normal", "truck-02"),
    (
        "s-demo-files",
        "Archive box 5",
        "AD-2026-0416",
        "customer contracts (paper)",
        "confidential",
        "truck-02",
    ),
];

/// Lists the move's sealed items, unless it has some already (a demo restarted on its data).
pub(super) async fn list_seals(store: &Store, move_id: &str) -> anyhow::Result<Vec<Seal>> {
    let listed = store.move_seals(move_id).await?;
    if !listed.is_empty() {
        return Ok(listed);
    }
    let seals: Vec<Seal> = SEALS
        .iter()
        .map(|(id, label, number, contents, sensitivity, vehicle)| {
            Ok(Seal {
                id: id.to_string(),
                label: label.to_string(),
                number: number.to_string(),
                contents: contents.to_string(),
                sensitivity: sensitivity.to_string(),
                vehicle: Some(VehicleId::new(*vehicle)?),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    store.replace_move_seals(move_id, &seals).await?;
    Ok(seals)
}

/// Records the loading and unloading checkpoints of every cycle until `shutdown`: loading
/// `LOADING_AT_S` into each cycle, unloading `unloading_at_s` into it. A store failure is
/// logged and the next checkpoint tried.
pub(super) async fn record_checkpoints(
    store: Store,
    move_id: String,
    seals: Vec<Seal>,
    by: &'static str,
    unloading_at_s: u64,
    shutdown: CancellationToken,
) {
    let started = tokio::time::Instant::now();
    for cycle in 0.. {
        for (stage, at_s) in [(Stage::Loading, LOADING_AT_S), (Stage::Unloading, unloading_at_s)] {
            let at = started + Duration::from_secs(cycle * CYCLE_S + at_s);
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                () = shutdown.cancelled() => return,
            }
            if let Err(e) = record(&store, &move_id, &seals, stage, by).await {
                tracing::warn!(error = %e, stage = stage.as_str(), "the demo's seal checkpoint was not recorded");
            }
        }
    }
}

/// Seconds into each cycle the loading checkpoint is recorded: the trucks leave the depot
/// about 25 s in.
const LOADING_AT_S: u64 = 10;

/// One checkpoint per truck, each of its seals intact, at its latest stored fix.
async fn record(store: &Store, move_id: &str, seals: &[Seal], stage: Stage, by: &str) -> anyhow::Result<()> {
    let latest = store.latest_positions().await?;
    let mut trucks: Vec<&VehicleId> = seals.iter().filter_map(|s| s.vehicle.as_ref()).collect();
    trucks.dedup();
    for truck in trucks {
        let fix = latest.iter().find(|l| &l.vehicle == truck).map(|l| CheckpointFix {
            t: l.position.t,
            seq: l.position.seq,
            lat: l.position.lat,
            lon: l.position.lon,
        });
        let seen = seals
            .iter()
            .filter(|s| s.vehicle.as_ref() == Some(truck))
            .map(|s| SealSeen {
                seal_id: s.id.clone(),
                number: s.number.clone(),
                label: s.label.clone(),
                state: SealState::Intact.as_str().into(),
                note: None,
            })
            .collect();
        let checkpoint = Checkpoint {
            id: 0,
            move_id: move_id.to_string(),
            stage: stage.as_str().into(),
            vehicle: Some(truck.clone()),
            at: Utc::now().trunc_subsecs(3),
            by: by.to_string(),
            note: None,
            fix,
            seals: seen,
        };
        store.add_checkpoint(&checkpoint).await?;
    }
    Ok(())
}
