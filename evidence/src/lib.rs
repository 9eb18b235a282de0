//! A move's evidence bundle checked offline (`convoy evidence verify`): nothing but the file
//! and, optionally, the server's public key. The format and its writer are in
//! `convoy_history::evidence`; docs/EVIDENCE.md states both for verifiers outside Convoy.
//!
//! - [`reader`]: the bundle's lines from its gzip stream, bounded (line length, line count,
//!   decompressed size, compression ratio).
//! - [`verify`]: the checks, and the verdict a person reads.

#[doc(hidden)]
pub mod fuzzing;
pub mod reader;
pub mod verify;

pub use verify::{verify, Verdict};
