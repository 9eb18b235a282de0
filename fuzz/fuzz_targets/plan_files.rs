//! Any bytes as a move plan: the JSON plan document and a GPX, KML and GeoJSON route file. No
//! panic, every refusal has a listed reason, and an accepted plan's document reads back. The entry
//! point is shared with the corpus replay test (tests/fuzz_corpus.rs), which runs every input of
//! fuzz/corpus/plan_files/ and fuzz/regressions/plan_files/.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_core::fuzzing::plan_files(data);
});
