//! One spooled fix on disk: `[magic 0xA7][length u16 LE][CRC-32 of payload u32 LE][payload]`.
//!
//! The payload is a compact binary form of a position (version byte first). The magic byte and
//! the checksum let recovery find the next whole record after a damaged one.
//!
//! Version 2 (written since fixes are chained) adds, after version 1's fields, the 32-byte
//! chain hash of the fix appended before this one (`prev`, see `convoy_core::signing::chain`):
//! kept with the fix, it survives a crash, and a damaged record before it takes nothing of the
//! chain with it. Version 1 records (written before) still read, with their `prev` unknown.

use chrono::DateTime;
use convoy_core::signing::ChainHash;
use convoy_core::{FixMode, Position};

pub const MAGIC: u8 = 0xA7;
pub const HEADER_LEN: usize = 7;
/// Records without a chain hash.
const VERSION_1: u8 = 1;
/// Records carrying the chain hash of the fix before.
const VERSION: u8 = 2;

/// A decoded record: the fix, and the chain hash of the fix appended before it (`None` for a
/// version 1 record: the spool works it out, see `Spool::open`).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub position: Position,
    pub prev: Option<ChainHash>,
}

/// Bits of the presence mask, one per optional field.
const ALT: u8 = 1;
const SPEED: u8 = 2;
const COURSE: u8 = 4;
const FIX: u8 = 8;
const SATS: u8 = 16;
const HDOP: u8 = 32;

/// Appends the encoded record of `p`, linked to `prev`, to `out`.
pub fn encode(p: &Position, prev: &ChainHash, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(104);
    payload.push(VERSION);
    payload.extend_from_slice(&p.seq.to_le_bytes());
    payload.extend_from_slice(&p.t.timestamp_micros().to_le_bytes());
    payload.extend_from_slice(&p.lat.to_le_bytes());
    payload.extend_from_slice(&p.lon.to_le_bytes());
    let mut mask = 0u8;
    let mut optional = Vec::with_capacity(40);
    for (bit, value) in [(ALT, p.alt_m), (SPEED, p.speed_mps), (COURSE, p.course_deg), (HDOP, p.hdop)] {
        if let Some(v) = value {
            mask |= bit;
            optional.extend_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(fix) = p.fix {
        mask |= FIX;
        optional.push(match fix {
            FixMode::TwoD => 2,
            FixMode::ThreeD => 3,
        });
    }
    if let Some(sats) = p.sats {
        mask |= SATS;
        optional.extend_from_slice(&sats.to_le_bytes());
    }
    payload.push(mask);
    payload.extend_from_slice(&optional);
    payload.extend_from_slice(&prev.0);

    out.push(MAGIC);
    out.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

/// Why bytes at an offset are not a record.
#[derive(Debug, PartialEq, Eq)]
pub enum Bad {
    /// The data ends inside the record: a torn write.
    Truncated,
    /// Wrong magic, checksum or content: damaged.
    Corrupt,
}

/// Decodes the record at the start of `bytes`; returns it with its length on disk.
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), Bad> {
    if bytes.len() < HEADER_LEN {
        return Err(if bytes.first().is_some_and(|&b| b != MAGIC) { Bad::Corrupt } else { Bad::Truncated });
    }
    if bytes[0] != MAGIC {
        return Err(Bad::Corrupt);
    }
    let len = u16::from_le_bytes([bytes[1], bytes[2]]) as usize;
    let crc = u32::from_le_bytes([bytes[3], bytes[4], bytes[5], bytes[6]]);
    let Some(payload) = bytes.get(HEADER_LEN..HEADER_LEN + len) else {
        return Err(Bad::Truncated);
    };
    if crc32fast::hash(payload) != crc {
        return Err(Bad::Corrupt);
    }
    let record = decode_payload(payload).ok_or(Bad::Corrupt)?;
    Ok((record, HEADER_LEN + len))
}

fn decode_payload(payload: &[u8]) -> Option<Record> {
    let mut r = Reader(payload);
    let version = r.u8()?;
    if version != VERSION && version != VERSION_1 {
        return None;
    }
    let seq = r.u64()?;
    let t = DateTime::from_timestamp_micros(r.i64()?)?;
    let (lat, lon) = (r.f64()?, r.f64()?);
    let mask = r.u8()?;
    let optional = |bit: u8, r: &mut Reader| if mask & bit != 0 { r.f64().map(Some) } else { Some(None) };
    let alt_m = optional(ALT, &mut r)?;
    let speed_mps = optional(SPEED, &mut r)?;
    let course_deg = optional(COURSE, &mut r)?;
    let hdop = optional(HDOP, &mut r)?;
    let fix = if mask & FIX != 0 {
        Some(match r.u8()? {
            2 => FixMode::TwoD,
            3 => FixMode::ThreeD,
            _ => return None,
        })
    } else {
        None
    };
    let sats = if mask & SATS != 0 { Some(r.u32()?) } else { None };
    let prev = if version == VERSION { Some(ChainHash(r.take::<32>()?)) } else { None };
    let position =
        Position { seq, t, lat, lon, alt_m, speed_mps, course_deg, fix, sats, hdop, accuracy_m: None };
    r.0.is_empty().then_some(Record { position, prev })
}

/// The version 1 record of `p`, as agents before the chain wrote it (for tests of upgrades).
#[cfg(test)]
pub fn encode_v1(p: &Position, out: &mut Vec<u8>) {
    let start = out.len();
    encode(p, &ChainHash([0; 32]), out);
    out.truncate(out.len() - 32);
    let payload_start = start + HEADER_LEN;
    out[payload_start] = VERSION_1;
    let len = (out.len() - payload_start) as u16;
    out[start + 1..start + 3].copy_from_slice(&len.to_le_bytes());
    let crc = crc32fast::hash(&out[payload_start..]);
    out[start + 3..start + 7].copy_from_slice(&crc.to_le_bytes());
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
}
