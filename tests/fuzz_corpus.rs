//! The fuzz targets' corpora and crash inputs, replayed on the stable toolchain by the normal
//! test command: every file of `fuzz/corpus/TARGET/` and `fuzz/regressions/TARGET/` goes
//! through the same entry function the fuzz target `TARGET` calls (the `fuzzing` modules of
//! the crates), so a crash the fuzzer once found stays fixed without nightly or libFuzzer.
//! Each entry asserts its own invariants (no panic, refusals with listed reasons, round trips);
//! the seeds (`seed-*`, real inputs) must also be read as what they are.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Every fuzz target with inputs to replay; a folder of another name fails
/// `every_corpus_folder_is_replayed`.
const TARGETS: &[&str] = &[
    "nmea_stream",
    "spool_segment",
    "wire_message",
    "plan_files",
    "mqtt_packets",
    "live_client",
    "owntracks_decode",
    "osmand_params",
    "osmand_json",
    "osm_pbf",
    "osm_xml",
    "evidence_verify",
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/KIND/TARGET/` (none if the folder does not exist), sorted.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn is_seed(path: &Path) -> bool {
    path.file_name().unwrap().to_string_lossy().starts_with("seed-")
}

/// Runs `entry` on every corpus and regression input of `target`, naming the input that
/// panicked; returns each input's path with what `entry` made of it.
fn replay<T>(target: &str, entry: impl Fn(&[u8]) -> T) -> Vec<(PathBuf, T)> {
    let files: Vec<PathBuf> =
        inputs("corpus", target).into_iter().chain(inputs("regressions", target)).collect();
    files
        .into_iter()
        .map(|path| {
            let data = fs::read(&path).unwrap();
            match catch_unwind(AssertUnwindSafe(|| entry(&data))) {
                Ok(outcome) => (path, outcome),
                Err(_) => panic!("{target}: {} panicked (see the panic above)", path.display()),
            }
        })
        .collect()
}

/// The seeds among the replayed inputs; there must be some.
fn seeds<'a, T>(target: &str, replayed: &'a [(PathBuf, T)]) -> Vec<(String, &'a T)> {
    let seeds: Vec<(String, &T)> = replayed
        .iter()
        .filter(|(path, _)| is_seed(path))
        .map(|(path, outcome)| (path.file_name().unwrap().to_string_lossy().into_owned(), outcome))
        .collect();
    assert!(!seeds.is_empty(), "fuzz/corpus/{target}/ has no seed-* file");
    seeds
}

#[test]
fn every_corpus_folder_is_replayed() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(fuzz_dir().join(kind)) else { continue };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(TARGETS.contains(&name.as_str()), "fuzz/{kind}/{name}/ is not replayed by this test");
        }
    }
}

#[test]
fn nmea_stream_corpus_replays_and_real_logs_give_epochs() {
    let replayed = replay("nmea_stream", convoy_agent::fuzzing::nmea_stream);
    let seeds = seeds("nmea_stream", &replayed);
    for (name, outcome) in &seeds {
        // Some receivers' logs are all set aside (gpsd's hp58534a has bad checksums).
        let read = outcome.fixes + outcome.no_fix_epochs + outcome.rejected;
        assert!(read > 0, "{name}: nothing read from a real log: {outcome:?}");
    }
    let fixes = seeds.iter().filter(|(_, o)| o.fixes > 0).count();
    assert!(fixes * 2 > seeds.len(), "most real logs give fixes: {seeds:?}");
}

#[test]
fn spool_segment_corpus_replays_and_a_written_segment_reads_whole() {
    let replayed = replay("spool_segment", convoy_agent::fuzzing::spool_segment);
    for (name, outcome) in seeds("spool_segment", &replayed) {
        assert_eq!((outcome.records, outcome.corrupt), (10, 0), "{name}: {outcome:?}");
    }
}

#[test]
fn wire_message_corpus_replays_and_agent_batches_decode() {
    let replayed = replay("wire_message", convoy_ingest::fuzzing::wire_message);
    for (name, outcome) in seeds("wire_message", &replayed) {
        if name.starts_with("seed-batch-") {
            assert!(outcome.batch.is_ok(), "{name}: {outcome:?}");
            assert_eq!(outcome.signed, name.contains("signed") && !name.contains("unsigned"), "{name}");
        } else {
            assert_eq!(outcome.batch, Err("malformed"), "{name}");
            assert!(outcome.status_kept, "{name}: an agent's status is kept: {outcome:?}");
        }
    }
}

#[test]
fn plan_files_corpus_replays_and_example_plans_are_read() {
    let replayed = replay("plan_files", convoy_core::fuzzing::plan_files);
    for (name, outcome) in seeds("plan_files", &replayed) {
        let read = match name.rsplit('.').next().unwrap() {
            "gpx" => outcome.gpx,
            "kml" => outcome.kml,
            "geojson" => outcome.geojson,
            "json" => outcome.document,
            other => panic!("{name}: a seed of unknown kind {other}"),
        };
        assert!(read, "{name} is not read as a plan: {outcome:?}");
    }
}

#[test]
fn mqtt_packets_corpus_replays_and_the_agents_packets_parse() {
    let replayed = replay("mqtt_packets", convoy_broker::door::fuzzing::mqtt_packets);
    for (name, outcome) in seeds("mqtt_packets", &replayed) {
        assert_eq!(outcome.refused, None, "{name}");
        assert!(
            matches!(outcome.packets.first(), Some(convoy_broker::door::packet::ClientPacket::Connect(_))),
            "{name}: {outcome:?}"
        );
    }
}

#[test]
fn live_client_corpus_replays_and_a_pong_and_close_are_heard() {
    let replayed = replay("live_client", convoy_gateway::fuzzing::live_client);
    for (name, outcome) in seeds("live_client", &replayed) {
        assert!(outcome.messages > 0, "{name}: {outcome:?}");
    }
}

#[test]
fn phone_decoder_corpora_replay_and_some_seeds_are_read() {
    for (target, entry) in [
        ("owntracks_decode", convoy_core::fuzzing::owntracks_decode as fn(&[u8]) -> bool),
        ("osmand_params", convoy_core::fuzzing::osmand_params),
        ("osmand_json", convoy_core::fuzzing::osmand_json),
    ] {
        let replayed = replay(target, entry);
        assert!(seeds(target, &replayed).iter().any(|(_, read)| **read), "{target}: no seed read");
    }
}

#[test]
fn map_and_evidence_regressions_replay() {
    replay("osm_pbf", |data| drop(convoy_basemap::StreetMap::read_pbf(data)));
    replay("osm_xml", |data| drop(convoy_basemap::StreetMap::read_xml(data)));
    replay("evidence_verify", convoy_evidence::fuzzing::evidence_verify);
}
