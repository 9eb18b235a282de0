//! Any bytes given to the evidence bundle's verifier, as the file and gzip-compressed (so the
//! fuzzer reaches the lines): no panic, and a verdict with its exit status.
//! The entry point is shared with the corpus replay test (tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_evidence::fuzzing::evidence_verify(data);
});
