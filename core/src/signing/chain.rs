//! The chain that links each vehicle's fixes: every fix's hash covers the fix before it, so a
//! fix changed, removed, added or moved breaks every link after it up to the next signature.
//!
//! The canonical bytes of a fix (version 1), hashed with SHA-256 to give its chain hash:
//!
//! ```text
//! "convoy/fix/v1" 0x00
//! prev       32 bytes   the chain hash of the fix before ([`GENESIS`] for a vehicle's first)
//! vehicle    u8 length, then the id's UTF-8 bytes
//! seq        u64 big-endian
//! t          i64 big-endian: milliseconds since 1970-01-01T00:00:00Z (the wire's precision)
//! lat, lon   f64 big-endian IEEE-754
//! mask       u8: alt_m 1, speed_mps 2, course_deg 4, fix 8, sats 16, hdop 32, accuracy_m 64
//! then each field present, in the mask's order: alt_m f64, speed_mps f64, course_deg f64,
//!            fix u8 (2 or 3), sats u32 big-endian, hdop f64, accuracy_m f64
//! ```
//!
//! Every f64 is written with `-0.0` as `0.0`: a store may not keep the sign of zero, and the
//! hash must come out the same from what was stored as from what was sent.

use sha2::{Digest, Sha256};

use crate::position::{FixMode, Position};
use crate::vehicle::VehicleId;

const DOMAIN: &[u8] = b"convoy/fix/v1\0";

/// A fix's chain hash: SHA-256 over its canonical bytes. Written as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

/// The `prev` of a vehicle's first fix.
pub const GENESIS: ChainHash = ChainHash([0; 32]);

impl ChainHash {
    pub fn parse(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        if text.len() != 64 {
            return None;
        }
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(ChainHash(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(ChainHash(bytes.try_into().ok()?))
    }
}

impl std::fmt::Display for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl serde::Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ChainHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ChainHash::parse(&text).ok_or_else(|| serde::de::Error::custom("a chain hash is 64 hex digits"))
    }
}

/// The canonical bytes of `fix` of `vehicle` linked to `prev` (see the module's docs).
pub fn fix_bytes(prev: &ChainHash, vehicle: &VehicleId, fix: &Position, out: &mut Vec<u8>) {
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(&prev.0);
    let id = vehicle.as_str().as_bytes();
    // Vehicle ids are at most 64 bytes (`VehicleId::new`), so the length fits a byte.
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    out.extend_from_slice(&fix.seq.to_be_bytes());
    out.extend_from_slice(&fix.t.timestamp_millis().to_be_bytes());
    push_f64(out, fix.lat);
    push_f64(out, fix.lon);
    // The mask first, then the fields it names in its bits' order.
    let present = [
        (1, fix.alt_m.is_some()),
        (2, fix.speed_mps.is_some()),
        (4, fix.course_deg.is_some()),
        (8, fix.fix.is_some()),
        (16, fix.sats.is_some()),
        (32, fix.hdop.is_some()),
        (64, fix.accuracy_m.is_some()),
    ];
    out.push(present.iter().filter(|(_, is)| *is).fold(0u8, |mask, (bit, _)| mask | bit));
    for value in [fix.alt_m, fix.speed_mps, fix.course_deg].into_iter().flatten() {
        push_f64(out, value);
    }
    if let Some(mode) = fix.fix {
        out.push(match mode {
            FixMode::TwoD => 2,
            FixMode::ThreeD => 3,
        });
    }
    if let Some(sats) = fix.sats {
        out.extend_from_slice(&sats.to_be_bytes());
    }
    for value in [fix.hdop, fix.accuracy_m].into_iter().flatten() {
        push_f64(out, value);
    }
}

fn push_f64(out: &mut Vec<u8>, value: f64) {
    let value = if value == 0.0 { 0.0 } else { value };
    out.extend_from_slice(&value.to_be_bytes());
}

/// The longest canonical bytes of a fix: domain, prev, a 64-byte id with its length, seq, t,
/// lat, lon, the mask and every optional field.
pub(crate) const MAX_FIX_BYTES: usize = 14 + 32 + 1 + 64 + 8 * 4 + 1 + 8 * 3 + 1 + 4 + 8 * 2;

/// The chain hash of `fix`, linked to `prev`.
pub fn link(prev: &ChainHash, vehicle: &VehicleId, fix: &Position) -> ChainHash {
    link_in(&mut Vec::with_capacity(MAX_FIX_BYTES), prev, vehicle, fix)
}

/// [`link`] with `buffer` for the canonical bytes, so that a walk along many fixes (ingest
/// hashes every fix it stores) allocates once.
pub(crate) fn link_in(
    buffer: &mut Vec<u8>,
    prev: &ChainHash,
    vehicle: &VehicleId,
    fix: &Position,
) -> ChainHash {
    buffer.clear();
    fix_bytes(prev, vehicle, fix, buffer);
    ChainHash(Sha256::digest(&buffer[..]).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn fix(seq: u64) -> Position {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 2).unwrap();
        Position {
            alt_m: Some(519.0),
            speed_mps: Some(12.4),
            fix: Some(FixMode::ThreeD),
            sats: Some(9),
            hdop: Some(0.9),
            ..Position::bare(seq, t, 48.137154, 11.576124)
        }
    }

    fn truck() -> VehicleId {
        VehicleId::new("truck-07").unwrap()
    }

    /// The canonical bytes are a contract with every verifier outside Convoy: this pins them.
    #[test]
    fn the_canonical_bytes_are_as_documented() {
        let mut bytes = Vec::new();
        fix_bytes(&GENESIS, &truck(), &fix(1042), &mut bytes);
        let mut expected = b"convoy/fix/v1\0".to_vec();
        expected.extend_from_slice(&[0; 32]);
        expected.push(8);
        expected.extend_from_slice(b"truck-07");
        expected.extend_from_slice(&1042u64.to_be_bytes());
        expected.extend_from_slice(&1_795_857_302_000i64.to_be_bytes());
        expected.extend_from_slice(&48.137154f64.to_be_bytes());
        expected.extend_from_slice(&11.576124f64.to_be_bytes());
        expected.push(1 | 2 | 8 | 16 | 32);
        expected.extend_from_slice(&519.0f64.to_be_bytes());
        expected.extend_from_slice(&12.4f64.to_be_bytes());
        expected.push(3);
        expected.extend_from_slice(&9u32.to_be_bytes());
        expected.extend_from_slice(&0.9f64.to_be_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(link(&GENESIS, &truck(), &fix(1042)).to_string(), hex::encode(Sha256::digest(&expected)),);
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let base = link(&GENESIS, &truck(), &fix(1));
        let mut moved = fix(1);
        moved.lat += 1e-9;
        assert_ne!(link(&GENESIS, &truck(), &moved), base);
        assert_ne!(link(&GENESIS, &truck(), &fix(2)), base);
        assert_ne!(link(&base, &truck(), &fix(1)), base);
        assert_ne!(link(&GENESIS, &VehicleId::new("truck-08").unwrap(), &fix(1)), base);
        let mut no_alt = fix(1);
        no_alt.alt_m = None;
        assert_ne!(link(&GENESIS, &truck(), &no_alt), base);
    }

    #[test]
    fn negative_zero_hashes_as_zero_and_the_time_to_the_millisecond() {
        let mut a = fix(1);
        a.speed_mps = Some(-0.0);
        let mut b = fix(1);
        b.speed_mps = Some(0.0);
        assert_eq!(link(&GENESIS, &truck(), &a), link(&GENESIS, &truck(), &b));
        let mut later = fix(1);
        later.t += chrono::Duration::microseconds(400);
        assert_eq!(link(&GENESIS, &truck(), &later), link(&GENESIS, &truck(), &fix(1)));
    }

    #[test]
    fn hashes_read_back_from_their_text() {
        let hash = link(&GENESIS, &truck(), &fix(1));
        assert_eq!(ChainHash::parse(&hash.to_string()), Some(hash));
        assert_eq!(ChainHash::parse("00"), None);
        assert_eq!(ChainHash::parse(&"zz".repeat(32)), None);
    }
}
