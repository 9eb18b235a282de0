//! Any bytes given to the Traccar Client 9 JSON decoder: no panic, and every refusal has a
//! listed reason.
#![no_main]

use convoy_core::phone::{osmand, PHONE_ERROR_REASONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    if let Err(e) = osmand::decode_json(data, now) {
        assert!(PHONE_ERROR_REASONS.contains(&e.reason()), "{e:?}");
    }
});
