//! Any bytes as a segment of the agent's spool, read as the agent reads it when it starts, and as
//! one record's payload behind a correct checksum: no panic, and a record read is written back
//! unchanged. The entry point is shared with the corpus replay test (tests/fuzz_corpus.rs), which
//! runs every input of fuzz/corpus/spool_segment/ and fuzz/regressions/spool_segment/.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_agent::fuzzing::spool_segment(data);
});
