//! Any bytes as what a client sends to the MQTT front door, cut into packets and parsed: no panic,
//! and a packet parsed round-trips. The entry point is shared with the corpus replay test
//! (tests/fuzz_corpus.rs), which runs every input of fuzz/corpus/mqtt_packets/ and
//! fuzz/regressions/mqtt_packets/.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_broker::door::fuzzing::mqtt_packets(data);
});
