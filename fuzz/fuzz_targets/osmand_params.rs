//! Any text given to the OsmAnd parameter decoder (bytes that are not UTF-8 are replaced, as
//! an HTTP server would refuse them before): no panic, and every refusal has a listed reason.
//! The entry point is shared with the corpus replay test (tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_core::fuzzing::osmand_params(data);
});
