//! A move's evidence bundle: one gzip-compressed JSON Lines file that carries everything needed
//! to check the move without the server (docs/EVIDENCE.md states the format for verifiers
//! outside Convoy).
//!
//! - [`section`]: the sections, their names and the order they are written in.
//! - [`lines`]: what each line holds, shared by the writer and `convoy-evidence`'s verifier.
//! - [`writer`]: writes lines as they are read from the store (a page at a time), hashes them
//!   for the manifest and signs it; `export` reads a move from the store into it.
//!
//! The writer never holds a track: fixes go from the store's page straight into the gzip
//! stream, and the caller takes the compressed bytes as they come ([`BundleWriter::take`]).

pub mod export;
pub mod lines;
pub mod section;
pub mod writer;

pub use export::{export_move, ExportRequest};
pub use section::Section;
pub use writer::BundleWriter;

/// The `format` of the bundle line.
pub const FORMAT: &str = "convoy-evidence/1";

/// The file name of a move's bundle.
pub fn file_name(move_id: &str) -> String {
    let safe: String = move_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
        .collect();
    format!("move-{safe}.convoy-evidence.jsonl.gz")
}
