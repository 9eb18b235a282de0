//! Any bytes given to the evidence bundle's verifier, as the file and gzip-compressed (so the
//! fuzzer reaches the lines): no panic, and a verdict with its exit status.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verdict = convoy_evidence::verify(data, None);
    assert!((0..=2).contains(&verdict.exit_code()));
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(data).unwrap();
    let compressed = gzip.finish().unwrap();
    let verdict = convoy_evidence::verify(&compressed[..], None);
    assert!((0..=2).contains(&verdict.exit_code()));
    let _ = verdict.to_string();
});
