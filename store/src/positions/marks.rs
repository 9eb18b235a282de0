//! How an ingest write's positions are marked (late, implausible) against each vehicle's stored
//! latest fix, before either backend stores them: the marking is the same on both, only the
//! reading of the latest fixes and the writing differ.

use std::collections::HashMap;

use convoy_core::plausibility::{ArrivalMarker, Marks};
use convoy_core::signing::ChainHash;
use convoy_core::{Position, VehicleId};

use super::IngestWrite;

/// The distinct vehicles of a write's positions.
pub(super) fn vehicles_of(write: &IngestWrite) -> Vec<&VehicleId> {
    let mut vehicles: Vec<&VehicleId> = write.positions.iter().map(|b| &b.vehicle).collect();
    vehicles.sort();
    vehicles.dedup();
    vehicles
}

/// A position of a write with its vehicle, its marks, the phone that sent it (`None`: the
/// agent) and the chain hash before it (`None`: unsigned).
pub(super) type MarkedPosition<'a> =
    (&'a VehicleId, &'a Position, Marks, Option<&'a str>, Option<&'a ChainHash>);

/// A write's positions with their marks, in arrival order, and each vehicle's newest plausible
/// fix afterwards where it changed: what the latest table moves to.
pub(super) struct MarkedWrite<'a> {
    pub(super) positions: Vec<MarkedPosition<'a>>,
    pub(super) new_latest: Vec<(VehicleId, Position)>,
}

impl MarkedWrite<'_> {
    /// The positions marked neither late nor implausible, in arrival order.
    pub(super) fn fresh(&self) -> Vec<(VehicleId, Position)> {
        self.positions
            .iter()
            .filter(|(_, _, marks, _, _)| !marks.late && marks.implausible.is_none())
            .map(|(vehicle, p, _, _, _)| ((*vehicle).clone(), (*p).clone()))
            .collect()
    }
}

/// Marks a write's positions against each vehicle's stored newest plausible fix.
pub(super) fn mark_write(
    write: &IngestWrite,
    mut stored_latest: HashMap<VehicleId, Position>,
) -> MarkedWrite<'_> {
    let mut markers: HashMap<&VehicleId, ArrivalMarker> = HashMap::new();
    let mut positions = Vec::new();
    for batch in &write.positions {
        let marker = markers
            .entry(&batch.vehicle)
            .or_insert_with(|| ArrivalMarker::new(stored_latest.remove(&batch.vehicle), write.oldest_kept));
        for (i, p) in batch.positions.iter().enumerate() {
            let prev = batch.chain.as_ref().and_then(|chain| chain.prevs.get(i));
            positions.push((&batch.vehicle, p, marker.mark(p), batch.source.as_deref(), prev));
        }
    }
    let new_latest = markers
        .into_iter()
        .filter_map(|(vehicle, marker)| marker.newest().map(|p| (vehicle.clone(), p.clone())))
        .collect();
    MarkedWrite { positions, new_latest }
}
