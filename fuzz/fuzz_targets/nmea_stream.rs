//! Any bytes as a GNSS receiver's serial output, through the agent's NMEA framer and decoder as
//! its reader feeds them: no panic, and every fix a place with finite numbers. The entry point is
//! shared with the corpus replay test (tests/fuzz_corpus.rs), which runs every input of
//! fuzz/corpus/nmea_stream/ and fuzz/regressions/nmea_stream/.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_agent::fuzzing::nmea_stream(data);
});
