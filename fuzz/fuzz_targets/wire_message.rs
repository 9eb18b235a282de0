//! Any bytes as the payload of a vehicle's MQTT message, decoded as ingest does: as a position
//! batch (its `signed` field included) and as an agent status. No panic, every refusal has a
//! listed reason, and an accepted batch round-trips. The entry point is shared with the corpus
//! replay test (tests/fuzz_corpus.rs), which runs every input of fuzz/corpus/wire_message/ and
//! fuzz/regressions/wire_message/.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_ingest::fuzzing::wire_message(data);
});
