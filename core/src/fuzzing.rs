//! The entry point of the fuzz target `plan_files` (`fuzz/fuzz_targets/plan_files.rs`), public
//! for that target and for the corpus replay test (`tests/fuzz_corpus.rs`), so the test runs
//! exactly what the fuzzer ran. Not an API.

use crate::plan::{MovePlan, PlanError, PlanFields, RouteFormat, PLAN_REJECTION_REASONS};

/// Which readers took the bytes as a plan: the JSON plan document, a GPX, a KML and a GeoJSON
/// route file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanOutcome {
    pub document: bool,
    pub gpx: bool,
    pub kml: bool,
    pub geojson: bool,
}

impl PlanOutcome {
    pub fn any(&self) -> bool {
        self.document || self.gpx || self.kml || self.geojson
    }
}

/// Any bytes as a plan: the body of `POST /api/v1/moves` (the JSON plan document) and a route
/// file upload in each format (GPX, KML, GeoJSON), with the fields a route preview gives.
/// Never panics; every refusal has a listed reason; an accepted plan's normalized document
/// reads back as a plan.
pub fn plan_files(data: &[u8]) -> PlanOutcome {
    let fields = PlanFields { name: "fuzz".into(), vehicles: vec!["truck-07".into()], ..Default::default() };
    let judge = |read: Result<MovePlan, PlanError>| match read {
        Ok(plan) => {
            let document = serde_json::to_vec(&plan.to_json()).unwrap();
            if let Err(e) = MovePlan::from_json(&document) {
                panic!("an accepted plan's document is refused: {e}");
            }
            true
        }
        Err(e) => {
            assert!(PLAN_REJECTION_REASONS.contains(&e.reason()), "{e:?}");
            false
        }
    };
    PlanOutcome {
        document: judge(MovePlan::from_json(data)),
        gpx: judge(MovePlan::from_route_file(data, RouteFormat::Gpx, &fields)),
        kml: judge(MovePlan::from_route_file(data, RouteFormat::Kml, &fields)),
        geojson: judge(MovePlan::from_route_file(data, RouteFormat::GeoJson, &fields)),
    }
}

/// The clock of the phone decoders' targets: fixed, so a crash found is reproduced by its input
/// alone.
fn phone_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

/// Any bytes given to the OwnTracks decoder: whether it took them. Never panics; every refusal
/// has a listed reason.
pub fn owntracks_decode(data: &[u8]) -> bool {
    judge_phone(crate::phone::owntracks::decode(data, phone_now()).map(drop))
}

/// Any text given to the OsmAnd parameter decoder (bytes that are not UTF-8 are replaced, as
/// an HTTP server would refuse them before): whether it took them.
pub fn osmand_params(data: &[u8]) -> bool {
    judge_phone(crate::phone::osmand::decode_params(&String::from_utf8_lossy(data), phone_now()).map(drop))
}

/// Any bytes given to the Traccar Client 9 JSON decoder: whether it took them.
pub fn osmand_json(data: &[u8]) -> bool {
    judge_phone(crate::phone::osmand::decode_json(data, phone_now()).map(drop))
}

fn judge_phone(decoded: Result<(), crate::phone::PhoneError>) -> bool {
    match decoded {
        Ok(()) => true,
        Err(e) => {
            assert!(crate::phone::PHONE_ERROR_REASONS.contains(&e.reason()), "{e:?}");
            false
        }
    }
}
