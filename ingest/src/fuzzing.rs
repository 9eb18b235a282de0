//! The entry point of the fuzz target `wire_message` (`fuzz/fuzz_targets/wire_message.rs`),
//! public for that target and for the corpus replay test (`tests/fuzz_corpus.rs`), so the test
//! runs exactly what the fuzzer ran. Not an API.

use std::collections::HashSet;

use chrono::DateTime;
use convoy_core::topics::{positions_topic, status_topic};
use convoy_core::wire::WIRE_ERROR_REASONS;
use convoy_core::{PositionBatch, VehicleId};
use rumqttc::{Publish, QoS};

use crate::{check, Verdict, INGEST_REJECTION_REASONS};

/// What ingest made of a payload.
#[derive(Debug, PartialEq, Eq)]
pub struct WireOutcome {
    /// The position batch's number of fixes, or the reason it was refused.
    pub batch: Result<usize, &'static str>,
    /// The batch carried a `signed` field that reads as a signature.
    pub signed: bool,
    /// The payload, published as an agent status, would be kept.
    pub status_kept: bool,
}

/// Any bytes as the payload of a vehicle's MQTT message, decoded as ingest does: as a position
/// batch (`PositionBatch::decode`, its optional `signed` field included) published on the
/// vehicle's positions topic, and as an agent status on its status topic. Never panics; every
/// refusal has a listed reason; a batch accepted is encoded and decoded back unchanged.
pub fn wire_message(data: &[u8]) -> WireOutcome {
    // A fixed clock, so a crash found is reproduced by its input alone.
    let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    let decoded = PositionBatch::decode(data, now);
    if let Ok(batch) = &decoded {
        let again =
            PositionBatch::decode(&batch.encode(), now).expect("an accepted batch re-encoded decodes");
        assert_eq!(&again, batch);
    }
    let vehicle = match &decoded {
        Ok(batch) => batch.vehicle.clone(),
        Err(_) => VehicleId::new("truck-07").unwrap(),
    };
    let registered = HashSet::from([vehicle.clone()]);
    let as_positions =
        check(&Publish::new(positions_topic(&vehicle), QoS::AtLeastOnce, data), &registered, now);
    let batch = match (&decoded, as_positions) {
        (Ok(batch), Verdict::Agent(positions, signed)) => {
            assert_eq!(positions.positions, batch.positions);
            assert_eq!(signed, batch.signed);
            Ok(batch.positions.len())
        }
        (Err(e), Verdict::Reject { reason, .. }) => {
            assert_eq!(reason, e.reason());
            assert!(WIRE_ERROR_REASONS.contains(&reason), "{reason}");
            Err(reason)
        }
        (decoded, _) => panic!("ingest and the wire decoder disagree on {decoded:?}"),
    };
    let status_kept =
        match check(&Publish::new(status_topic(&vehicle), QoS::AtLeastOnce, data), &registered, now) {
            Verdict::Status(status) => {
                assert_eq!(status.vehicle, vehicle);
                true
            }
            Verdict::Nothing => {
                assert!(data.is_empty(), "only an empty status is taken as nothing");
                false
            }
            Verdict::Reject { reason, .. } => {
                assert!(INGEST_REJECTION_REASONS.contains(&reason), "{reason}");
                false
            }
            _ => panic!("a status became positions"),
        };
    WireOutcome { batch, signed: decoded.is_ok_and(|b| b.signed.is_some()), status_kept }
}
