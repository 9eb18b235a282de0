//! Any bytes given to the OwnTracks decoder: no panic, and every refusal has a listed reason.
//! The entry point is shared with the corpus replay test (tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_core::fuzzing::owntracks_decode(data);
});
