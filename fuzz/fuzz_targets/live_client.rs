//! Any bytes as what a client of the live feed sends: its query string, its `Authorization`
//! header and its WebSocket frames, read as the feed reads them: no panic, a bad query has its
//! reason, and no message over the feed's limit is read. The entry point is shared with the
//! corpus replay test (tests/fuzz_corpus.rs), which runs every input of fuzz/corpus/live_client/
//! and fuzz/regressions/live_client/.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_gateway::fuzzing::live_client(data);
});
