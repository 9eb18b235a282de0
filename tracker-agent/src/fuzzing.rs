//! The entry points of the agent's fuzz targets (`fuzz/fuzz_targets/nmea_stream.rs`,
//! `spool_segment.rs`), public for those targets and for the corpus replay test
//! (`tests/fuzz_corpus.rs`), so the test runs exactly what the fuzzer ran. Not an API.

use chrono::DateTime;

use crate::decoder::Decoder;
use crate::epoch::Epoch;
use crate::spool::record;

/// The size of one read from the serial port in the reader (`reader.rs`).
const SERIAL_READ: usize = 4096;

/// What the NMEA decoder made of a byte stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NmeaOutcome {
    pub fixes: u64,
    pub no_fix_epochs: u64,
    /// Input set aside, all reasons together.
    pub rejected: u64,
}

/// Any bytes as the receiver's output: through the framer and the epoch assembler as the reader
/// feeds them (reads of up to 4096 bytes, then a flush when the receiver falls quiet). Never
/// panics; every fix is a place on Earth with finite numbers.
pub fn nmea_stream(data: &[u8]) -> NmeaOutcome {
    // A fixed clock, so a crash found is reproduced by its input alone.
    let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
    let mut outcome = NmeaOutcome::default();
    let mut decoder = Decoder::new();
    let count = |epoch: Epoch, outcome: &mut NmeaOutcome| match epoch {
        Epoch::Fix(fix) => {
            assert!(fix.lat.is_finite() && fix.lat.abs() <= 90.0, "{fix:?}");
            assert!(fix.lon.is_finite() && fix.lon.abs() <= 180.0, "{fix:?}");
            for value in [fix.alt_m, fix.speed_mps, fix.course_deg, fix.hdop].into_iter().flatten() {
                assert!(value.is_finite(), "{fix:?}");
            }
            outcome.fixes += 1;
        }
        Epoch::NoFix => outcome.no_fix_epochs += 1,
    };
    for chunk in data.chunks(SERIAL_READ) {
        let mut epochs = Vec::new();
        decoder.push(chunk, now, |epoch| epochs.push(epoch));
        epochs.into_iter().for_each(|epoch| count(epoch, &mut outcome));
    }
    if let Some(epoch) = decoder.flush(now) {
        count(epoch, &mut outcome);
    }
    outcome.rejected = decoder.rejected().map(|(_, n)| n).sum();
    outcome
}

/// What the spool's reader made of a segment file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SpoolOutcome {
    /// Whole records read from the segment.
    pub records: usize,
    /// Damaged records skipped over.
    pub corrupt: u64,
    /// Whether the bytes, taken as one record's payload with its header made right, decode.
    pub payload_decodes: bool,
}

/// Any bytes as a spool segment, read as the agent reads its spool when it starts (every whole
/// record, skipping damaged ones); then the same bytes as a record's payload behind a correct
/// header and checksum, so the fuzzer gets past the CRC into the payload's decoding. Never
/// panics; a record read is written back
/// and read again unchanged.
pub fn spool_segment(data: &[u8]) -> SpoolOutcome {
    let scan = crate::spool::scan_bytes(data);
    for record in &scan.records {
        if let Some(prev) = &record.prev {
            // What is read is written back the same way: encoding it again and reading that
            // gives the same bytes once more.
            let mut again = Vec::new();
            record::encode(&record.position, prev, &mut again);
            let (reread, len) = record::decode(&again).expect("a record written reads back");
            assert_eq!(len, again.len());
            let mut third = Vec::new();
            record::encode(&reread.position, prev, &mut third);
            assert_eq!(again, third, "{record:?}");
        }
    }
    let mut framed = vec![record::MAGIC];
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let payload = &data[..usize::from(len)];
    framed.extend_from_slice(&len.to_le_bytes());
    framed.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    framed.extend_from_slice(payload);
    let payload_decodes = match record::decode(&framed) {
        Ok((_, read)) => {
            assert_eq!(read, framed.len());
            true
        }
        Err(bad) => {
            assert_eq!(bad, record::Bad::Corrupt, "a whole record is never truncated");
            false
        }
    };
    SpoolOutcome { records: scan.records.len(), corrupt: scan.corrupt, payload_decodes }
}
