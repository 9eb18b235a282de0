//! Any bytes given to the OwnTracks decoder: no panic, and every refusal has a listed reason.
#![no_main]

use convoy_core::phone::{owntracks, PHONE_ERROR_REASONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A fixed clock, so a crash found is reproduced by its input alone.
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    if let Err(e) = owntracks::decode(data, now) {
        assert!(PHONE_ERROR_REASONS.contains(&e.reason()), "{e:?}");
    }
});
