//! Any text given to the OsmAnd parameter decoder (bytes that are not UTF-8 are replaced, as
//! an HTTP server would refuse them before): no panic, and every refusal has a listed reason.
#![no_main]

use convoy_core::phone::{osmand, PHONE_ERROR_REASONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    if let Err(e) = osmand::decode_params(&String::from_utf8_lossy(data), now) {
        assert!(PHONE_ERROR_REASONS.contains(&e.reason()), "{e:?}");
    }
});
