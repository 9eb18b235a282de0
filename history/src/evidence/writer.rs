//! Writes a bundle line by line: each line is hashed for the manifest, counted, and compressed
//! into a buffer the caller drains with [`BundleWriter::take`] (to a file or an HTTP body), so
//! the writer holds at most one line and what the caller has not taken yet.

use std::collections::BTreeMap;
use std::io::Write;

use convoy_core::signing::{Purpose, SecretKey};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::lines::ManifestLine;
use super::Section;

/// A bundle being written.
pub struct BundleWriter {
    gzip: GzEncoder<Vec<u8>>,
    hash: Sha256,
    counts: BTreeMap<String, u64>,
    last: Option<Section>,
    line: Vec<u8>,
}

impl Default for BundleWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BundleWriter {
    pub fn new() -> Self {
        BundleWriter {
            gzip: GzEncoder::new(Vec::new(), Compression::default()),
            hash: Sha256::new(),
            counts: BTreeMap::new(),
            last: None,
            line: Vec::with_capacity(512),
        }
    }

    /// Writes one line of `section`: `{"section":"NAME",` then `body`'s own fields. `body`
    /// must serialize to a JSON object with at least one field. Panics (a bug in the caller)
    /// if `section` comes before the previous line's, or is the manifest (see [`Self::finish`]).
    pub fn line(&mut self, section: Section, body: &impl Serialize) {
        assert!(section != Section::Manifest, "the manifest is written by finish");
        assert!(self.last.is_none_or(|last| last <= section), "{section:?} written out of order");
        self.last = Some(section);
        self.line.clear();
        write!(self.line, "{{\"section\":\"{}\",", section.name()).expect("writing to a Vec");
        let start = self.line.len();
        serde_json::to_writer(&mut self.line, body).expect("a bundle line serializes");
        // Drop the body's own opening brace: its fields follow the section.
        debug_assert_eq!(self.line.get(start), Some(&b'{'));
        self.line.remove(start);
        self.line.push(b'\n');
        self.hash.update(&self.line);
        *self.counts.entry(section.name().to_string()).or_default() += 1;
        self.gzip.write_all(&self.line).expect("compressing into a Vec");
    }

    /// The compressed bytes written so far that the caller has not taken.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(self.gzip.get_mut())
    }

    /// How many compressed bytes wait to be taken.
    pub fn pending(&self) -> usize {
        self.gzip.get_ref().len()
    }

    /// Writes the manifest signed with `key` and ends the gzip stream; returns the last bytes.
    pub fn finish(mut self, key: &SecretKey) -> Vec<u8> {
        let digest: [u8; 32] = self.hash.finalize().into();
        let public_key = key.public();
        let manifest = ManifestLine {
            counts: self.counts,
            sha256: hex::encode(digest),
            key: public_key.id(),
            public_key,
            sig: key.sign(Purpose::Manifest, &digest),
        };
        let mut line = b"{\"section\":\"manifest\",".to_vec();
        let body = serde_json::to_vec(&manifest).expect("the manifest serializes");
        line.extend_from_slice(&body[1..]);
        line.push(b'\n');
        self.gzip.write_all(&line).expect("compressing into a Vec");
        self.gzip.finish().expect("compressing into a Vec")
    }
}
