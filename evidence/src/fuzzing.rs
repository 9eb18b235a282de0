//! The entry point of the fuzz target `evidence_verify` (`fuzz/fuzz_targets/evidence_verify.rs`),
//! public for that target and for the corpus replay test (`tests/fuzz_corpus.rs`), so the test
//! runs exactly what the fuzzer ran. Not an API.

use std::io::Write;

/// Any bytes given to the evidence bundle's verifier, as the file and gzip-compressed (so the
/// fuzzer reaches the lines): the exit status of each. Never panics; each verdict has an exit
/// status of 0 to 2 and prints.
pub fn evidence_verify(data: &[u8]) -> (i32, i32) {
    let plain = crate::verify(data, None);
    assert!((0..=2).contains(&plain.exit_code()));
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(data).unwrap();
    let compressed = gzip.finish().unwrap();
    let verdict = crate::verify(&compressed[..], None);
    assert!((0..=2).contains(&verdict.exit_code()));
    let _ = verdict.to_string();
    (plain.exit_code(), verdict.exit_code())
}
