//! The spool: an append-only, on-disk queue of fixes between the receiver and the broker.
//!
//! Design constraints:
//! - Every fix is appended (and, by the fsync policy, synced) before it is published, and
//!   leaves the spool only when the broker has acknowledged it: a crash of the agent, a power
//!   cut or a month without network loses nothing that was spooled.
//! - Records are checksummed (`record.rs`). Recovery at open keeps every whole record, skips a
//!   damaged one (finding the next by its magic byte and checksum), and cuts off a torn or
//!   zero-filled tail so that new records follow whole ones.
//! - Bounded: at most `max_fixes` unacknowledged fixes. Past that the oldest are dropped,
//!   counted and reported, never the newest.
//! - Memory stays small whatever the depth: fixes are read back from disk when published.
//! - Chained: each fix appended is linked to the one appended before it
//!   (`convoy_core::signing::link`), and its record keeps that `prev`, so the chain goes on
//!   across restarts, SIGKILL, recovery and dropped fixes; the publisher signs batches with it.
//!
//! Layout: segment files `NNNNNNNNNNNNNNNNNNNN.seg` (numbered in order), each a run of records
//! in rising `seq`; the file `head` holds the highest seq that has left the spool (acknowledged
//! or dropped) and, on a second line, the chain tip when it was written (the seq and chain hash
//! of the last fix appended), so the chain is known even when every fix has left and its
//! records are gone. A segment is deleted once all its fixes have left.
//!
//! The chain tip at open is the chain hash of the highest-seq fix known: the last whole record
//! on disk (acknowledged or not), or the `head` file's tip if that is higher (a torn tail took
//! the records after it). Version 1 records (written by agents before the chain) have no
//! `prev`: each is linked to the tip as it stands when recovery reaches it (the record before
//! it, or the `head` file's tip, or [`GENESIS`] for a spool that never knew one), exactly as if
//! it were appended now. That starts a new chain segment at the upgrade; from then on every fix
//! links to the one before it.

pub(crate) mod record;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use convoy_core::signing::{link, ChainHash, GENESIS};
use convoy_core::{Position, VehicleId};

pub use record::Record;

/// When appended fixes are forced to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every fix: nothing is lost on a power cut.
    Always,
    /// At most this often: a power cut may lose the fixes of the last interval.
    Interval(Duration),
    /// Left to the operating system: survives a crash of the agent, not a power cut.
    Never,
}

#[derive(Clone, Debug)]
pub struct SpoolConfig {
    /// The most unacknowledged fixes kept; past it the oldest are dropped.
    pub max_fixes: u64,
    pub fsync: FsyncPolicy,
    /// A new segment file is started past this size.
    pub segment_bytes: u64,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self { max_fixes: 7 * 24 * 3600, fsync: FsyncPolicy::Always, segment_bytes: 1024 * 1024 }
    }
}

/// The last fix of the chain: its seq and chain hash ([`GENESIS`] at seq 0 before any fix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTip {
    pub seq: u64,
    pub hash: ChainHash,
}

impl Default for ChainTip {
    fn default() -> Self {
        ChainTip { seq: 0, hash: GENESIS }
    }
}

/// Fixes to publish, oldest first, with the chain hash of the fix before the first.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsent {
    pub prev: ChainHash,
    pub positions: Vec<Position>,
}

/// What recovery found when the spool was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Whole records found still waiting for the broker.
    pub pending: u64,
    /// Damaged records skipped.
    pub corrupt_records: u64,
    /// Bytes cut off the end of a segment (a torn or zero-filled tail).
    pub truncated_bytes: u64,
    /// The chain tip the next fix appended links to.
    pub chain: ChainTip,
}

#[derive(Debug)]
struct Segment {
    id: u64,
    path: PathBuf,
    /// Seq of the last record in the segment, if any.
    last_seq: Option<u64>,
    bytes: u64,
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    vehicle: VehicleId,
    config: SpoolConfig,
    /// The last fix appended: the next links to it.
    chain: ChainTip,
    /// The `prev` recovery gave the unacknowledged version 1 records, by seq (empty but for the
    /// first run after an upgrade).
    legacy_prevs: std::collections::BTreeMap<u64, ChainHash>,
    segments: VecDeque<Segment>,
    writer: File,
    /// Highest seq that has left the spool (acknowledged or dropped); 0 when none has.
    head: u64,
    /// The next record to publish: a segment id and a byte offset in it.
    cursor: (u64, u64),
    /// Seqs of the unacknowledged fixes, oldest first (8 bytes each, however deep the spool).
    pending: VecDeque<u64>,
    /// How many of `pending` have been handed out for publishing.
    sent: usize,
    dropped: u64,
    /// When `head` was last written to its file; it is written at most once a second (a crash
    /// in between only makes a few acknowledged fixes go out again, and the server keeps each
    /// fix once).
    head_written: Instant,
    head_dirty: bool,
    /// The segment the cursor reads, kept in memory while it does.
    read_cache: Option<(u64, Vec<u8>)>,
    last_sync: Instant,
    unsynced: bool,
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Err(e) = self.write_head() {
            tracing::warn!(error = %e, "cannot record the spool head");
        }
    }
}

impl Spool {
    /// Opens (or creates) the spool of `vehicle`'s fixes in `dir`, recovering what a crash left.
    pub fn open(dir: &Path, vehicle: &VehicleId, config: SpoolConfig) -> anyhow::Result<(Spool, Recovery)> {
        crate::private_files::create_private_dir(dir)
            .with_context(|| format!("creating spool {}", dir.display()))?;
        let (head, saved_tip) = read_head(dir)?;
        let mut chain = ChainWalk { vehicle, known: saved_tip.unwrap_or_default(), last: None };
        let mut legacy_prevs = std::collections::BTreeMap::new();
        let mut ids: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
            .collect();
        ids.sort_unstable();

        let mut recovery = Recovery::default();
        let mut segments = VecDeque::new();
        let mut pending = VecDeque::new();
        let mut last_seq = head;
        let count = ids.len();
        for (index, id) in ids.into_iter().enumerate() {
            let path = segment_path(dir, id);
            let is_last = index + 1 == count;
            let scan = scan_segment(&path, is_last, &mut recovery)?;
            let mut segment = Segment { id, path, last_seq: None, bytes: scan.valid_bytes };
            for record in scan.records {
                let seq = record.position.seq;
                if let Some(prev) = chain.follow(record) {
                    if seq > head {
                        legacy_prevs.insert(seq, prev);
                    }
                }
                // Seqs only rise; anything else is left over from damage and is skipped.
                if seq <= last_seq {
                    if seq > head {
                        recovery.corrupt_records += 1;
                    }
                    continue;
                }
                last_seq = seq;
                segment.last_seq = Some(seq);
                pending.push_back(seq);
            }
            segments.push_back(segment);
        }
        recovery.pending = pending.len() as u64;
        recovery.chain = chain.tip();
        if segments.is_empty() {
            segments.push_back(Segment { id: 1, path: segment_path(dir, 1), last_seq: None, bytes: 0 });
        }
        let current = segments.back().expect("one segment at least");
        let writer = crate::private_files::append_private(&current.path)?;
        let first_id = segments.front().expect("one segment at least").id;
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            vehicle: vehicle.clone(),
            config,
            chain: recovery.chain,
            legacy_prevs,
            segments,
            writer,
            head,
            cursor: (first_id, 0),
            pending,
            sent: 0,
            dropped: 0,
            head_written: Instant::now(),
            head_dirty: false,
            read_cache: None,
            last_sync: Instant::now(),
            unsynced: false,
        };
        spool.remove_finished_segments()?;
        Ok((spool, recovery))
    }

    /// Appends a fix, linked to the fix appended before it; its seq must be above every seq
    /// appended before.
    pub fn append(&mut self, p: &Position) -> anyhow::Result<()> {
        let last = self.pending.back().copied().unwrap_or(self.head);
        if p.seq <= last {
            bail!("seq {} is not above the last spooled seq {last}", p.seq);
        }
        if self.segments.back().is_some_and(|s| s.bytes >= self.config.segment_bytes) {
            self.start_segment()?;
        }
        let mut bytes = Vec::with_capacity(112);
        let prev = self.chain.hash;
        record::encode(p, &prev, &mut bytes);
        self.writer.write_all(&bytes).context("appending to the spool")?;
        self.chain = ChainTip { seq: p.seq, hash: link(&prev, &self.vehicle, p) };
        let segment = self.segments.back_mut().expect("one segment at least");
        segment.bytes += bytes.len() as u64;
        segment.last_seq = Some(p.seq);
        self.pending.push_back(p.seq);
        self.unsynced = true;
        match self.config.fsync {
            FsyncPolicy::Always => self.sync()?,
            FsyncPolicy::Interval(every) if self.last_sync.elapsed() >= every => self.sync()?,
            _ => {}
        }
        while self.pending.len() as u64 > self.config.max_fixes {
            let oldest = self.pending[0];
            self.leave_through(oldest)?;
            self.dropped += 1;
        }
        Ok(())
    }

    /// Forces appended fixes and the head to disk now.
    pub fn sync(&mut self) -> anyhow::Result<()> {
        if self.unsynced {
            self.writer.sync_data().context("syncing the spool")?;
            self.unsynced = false;
        }
        self.last_sync = Instant::now();
        self.write_head()
    }

    fn write_head(&mut self) -> anyhow::Result<()> {
        if self.head_dirty {
            write_head(&self.dir, self.head, &self.chain, self.config.fsync != FsyncPolicy::Never)?;
            self.head_dirty = false;
            self.head_written = Instant::now();
        }
        Ok(())
    }

    /// The next fixes to publish, oldest first, at most `max`, with the chain hash of the fix
    /// before the first. Each is handed out once, until [`Spool::resend_all`].
    pub fn next_unsent(&mut self, max: usize) -> anyhow::Result<Unsent> {
        let mut out = Unsent { prev: GENESIS, positions: Vec::new() };
        while out.positions.len() < max && self.sent < self.pending.len() {
            let want = self.pending[self.sent];
            let Some(record) = self.read_at_cursor()? else {
                bail!("spool is missing seq {want}");
            };
            let p = record.position;
            if p.seq < want {
                continue; // already left the spool
            }
            if p.seq > want {
                bail!("spool expected seq {want}, found {}", p.seq);
            }
            if out.positions.is_empty() {
                // A version 1 record's prev is the one recovery gave it (always there: every
                // pending version 1 record got one at open).
                out.prev = record.prev.or_else(|| self.legacy_prevs.get(&p.seq).copied()).unwrap_or(GENESIS);
            }
            out.positions.push(p);
            self.sent += 1;
        }
        Ok(out)
    }

    /// The last fix appended: the next fix links to it.
    pub fn chain_tip(&self) -> ChainTip {
        self.chain
    }

    /// The broker acknowledged every fix up to `seq`: they leave the spool.
    pub fn ack_through(&mut self, seq: u64) -> anyhow::Result<()> {
        self.leave_through(seq)
    }

    /// Hands out every unacknowledged fix again (e.g. the MQTT session was lost).
    pub fn resend_all(&mut self) {
        self.sent = 0;
        self.cursor = (self.segments.front().map_or(1, |s| s.id), 0);
    }

    /// Fixes waiting for the broker's acknowledgement.
    pub fn depth(&self) -> u64 {
        self.pending.len() as u64
    }

    /// Fixes handed out for publishing and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.sent
    }

    /// Fixes dropped because the spool was full, since it was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The highest seq that has left the spool, or the last appended: where numbering resumes.
    pub fn last_seq(&self) -> u64 {
        self.pending.back().copied().unwrap_or(self.head)
    }

    /// The oldest fix still waiting, read from disk.
    pub fn oldest(&mut self) -> anyhow::Result<Option<Position>> {
        let Some(&want) = self.pending.front() else { return Ok(None) };
        for segment in &self.segments {
            if segment.last_seq.is_some_and(|last| last >= want) {
                let mut bytes = Vec::new();
                File::open(&segment.path)?.read_to_end(&mut bytes)?;
                let mut offset = 0;
                while let Ok((record, len)) = record::decode(&bytes[offset..]) {
                    if record.position.seq == want {
                        return Ok(Some(record.position));
                    }
                    offset += len;
                }
            }
        }
        Ok(None)
    }

    /// Everything up to `seq` leaves the spool: `head` moves and is recorded.
    fn leave_through(&mut self, seq: u64) -> anyhow::Result<()> {
        if seq <= self.head {
            return Ok(());
        }
        while self.pending.front().is_some_and(|&s| s <= seq) {
            self.pending.pop_front();
            self.sent = self.sent.saturating_sub(1);
        }
        if !self.legacy_prevs.is_empty() {
            self.legacy_prevs = self.legacy_prevs.split_off(&(seq + 1));
        }
        self.head = seq;
        self.head_dirty = true;
        if self.head_written.elapsed() >= Duration::from_secs(1) {
            self.write_head()?;
        }
        self.remove_finished_segments()
    }

    /// Deletes segments whose fixes have all left, except the one being written. The head is
    /// recorded first: numbering resumes above it, so it must never lag behind what was deleted.
    fn remove_finished_segments(&mut self) -> anyhow::Result<()> {
        let finished = |s: &Segment| s.last_seq.is_none_or(|last| last <= self.head);
        if self.segments.len() > 1 && finished(&self.segments[0]) {
            self.write_head()?;
        }
        while self.segments.len() > 1 && self.segments[0].last_seq.is_none_or(|last| last <= self.head) {
            let segment = self.segments.pop_front().expect("checked above");
            fs::remove_file(&segment.path).with_context(|| format!("removing {}", segment.path.display()))?;
            if self.cursor.0 == segment.id {
                self.cursor = (self.segments[0].id, 0);
            }
        }
        Ok(())
    }

    fn start_segment(&mut self) -> anyhow::Result<()> {
        self.sync()?;
        let id = self.segments.back().map_or(1, |s| s.id + 1);
        let path = segment_path(&self.dir, id);
        self.writer = crate::private_files::append_private(&path)?;
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        self.segments.push_back(Segment { id, path, last_seq: None, bytes: 0 });
        Ok(())
    }

    /// Reads the record at the cursor and moves the cursor past it.
    fn read_at_cursor(&mut self) -> anyhow::Result<Option<Record>> {
        loop {
            let Some(index) = self.segments.iter().position(|s| s.id >= self.cursor.0) else {
                return Ok(None);
            };
            let segment = &self.segments[index];
            if segment.id != self.cursor.0 {
                self.cursor = (segment.id, 0);
            }
            if self.cursor.1 >= segment.bytes {
                let Some(next) = self.segments.get(index + 1) else { return Ok(None) };
                self.cursor = (next.id, 0);
                continue;
            }
            // Segments are read whole and kept while the cursor is in them; of the segment
            // being written, only what was appended since is read.
            let needed = segment.bytes.min(self.cursor.1 + record::HEADER_LEN as u64 + 1);
            match &mut self.read_cache {
                Some((id, bytes)) if *id == segment.id => {
                    if (bytes.len() as u64) < needed {
                        let mut file = File::open(&segment.path)?;
                        file.seek(SeekFrom::Start(bytes.len() as u64))?;
                        file.read_to_end(bytes)?;
                    }
                }
                _ => self.read_cache = Some((segment.id, fs::read(&segment.path)?)),
            }
            let bytes = &self.read_cache.as_ref().expect("filled above").1;
            let end = (segment.bytes as usize).min(bytes.len());
            let at = self.cursor.1 as usize;
            match record::decode(&bytes[at..end]) {
                Ok((record, used)) => {
                    self.cursor.1 += used as u64;
                    return Ok(Some(record));
                }
                // A record skipped at recovery: go on at the next whole one.
                Err(_) => {
                    self.cursor.1 = find_record(&bytes[..end], at + 1).unwrap_or(end) as u64;
                }
            }
        }
    }
}

/// What a segment holds.
struct Scan {
    records: Vec<Record>,
    valid_bytes: u64,
}

/// Follows the chain through the records recovery reads, in order, to find its tip. Hashes
/// only what it must (the last record, and a record before a version 1 one): a deep spool
/// opens without hashing every fix in it.
struct ChainWalk<'a> {
    vehicle: &'a VehicleId,
    /// The tip from the `head` file, until a record above it is read.
    known: ChainTip,
    /// The highest-seq record read so far, with its prev.
    last: Option<(ChainHash, Position)>,
}

impl ChainWalk<'_> {
    fn tip(&self) -> ChainTip {
        match &self.last {
            Some((prev, p)) => ChainTip { seq: p.seq, hash: link(prev, self.vehicle, p) },
            None => self.known,
        }
    }

    /// Takes in the next record read; returns the prev it gives a version 1 record. A record
    /// not above the tip (already behind the `head` file's, or left from damage) changes
    /// nothing.
    fn follow(&mut self, record: Record) -> Option<ChainHash> {
        let tip_seq = self.last.as_ref().map_or(self.known.seq, |(_, p)| p.seq);
        if record.position.seq <= tip_seq {
            return None;
        }
        let prev = record.prev.unwrap_or_else(|| self.tip().hash);
        self.last = Some((prev, record.position));
        record.prev.is_none().then_some(prev)
    }
}

/// Reads every whole record of a segment. The last segment's damaged tail is cut off, so that
/// appends continue after whole records.
fn scan_segment(path: &Path, is_last: bool, recovery: &mut Recovery) -> anyhow::Result<Scan> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let SegmentBytes { records, corrupt, end_of_good } = scan_bytes(&bytes);
    recovery.corrupt_records += corrupt;
    let tail = (bytes.len() - end_of_good) as u64;
    if tail > 0 && is_last {
        recovery.truncated_bytes += tail;
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(end_of_good as u64)?;
        file.sync_all()?;
    } else if tail > 0 && bytes[end_of_good..].iter().any(|&b| b != 0) {
        recovery.corrupt_records += 1;
    }
    Ok(Scan { records, valid_bytes: end_of_good as u64 })
}

/// What a segment's bytes hold: its whole records, how many damaged ones were skipped, and
/// where the last whole record ends.
pub(crate) struct SegmentBytes {
    pub records: Vec<Record>,
    pub corrupt: u64,
    pub end_of_good: usize,
}

/// Reads every whole record of a segment's bytes, skipping damaged ones (no I/O: the fuzz
/// target `spool_segment` runs it on any bytes).
pub(crate) fn scan_bytes(bytes: &[u8]) -> SegmentBytes {
    let mut records = Vec::new();
    let mut corrupt = 0;
    let mut offset = 0;
    let mut end_of_good = 0;
    while offset < bytes.len() {
        match record::decode(&bytes[offset..]) {
            Ok((record, len)) => {
                records.push(record);
                offset += len;
                end_of_good = offset;
            }
            Err(_) => match find_record(bytes, offset + 1) {
                Some(next) => {
                    corrupt += 1;
                    offset = next;
                }
                None => break,
            },
        }
    }
    SegmentBytes { records, corrupt, end_of_good }
}

/// The offset of the next whole record at or after `from`.
fn find_record(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&i| bytes[i] == record::MAGIC && record::decode(&bytes[i..]).is_ok())
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

/// Reads the `head` file: the highest seq that has left, and the chain tip when it was written
/// (absent from files written before the chain).
fn read_head(dir: &Path) -> anyhow::Result<(u64, Option<ChainTip>)> {
    let text = match fs::read_to_string(dir.join("head")) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, None)),
        Err(e) => return Err(e).context("reading the spool head"),
    };
    let bad = || format!("spool head file holds {text:?}");
    let mut lines = text.lines();
    let head = lines.next().unwrap_or("").trim().parse().with_context(bad)?;
    let tip = match lines.next().map(str::split_whitespace).map(|mut w| (w.next(), w.next())) {
        None => None,
        Some((Some(seq), Some(hash))) => Some(ChainTip {
            seq: seq.parse().with_context(bad)?,
            hash: ChainHash::parse(hash).with_context(bad)?,
        }),
        Some(_) => bail!(bad()),
    };
    Ok((head, tip))
}

/// Records the head and the chain tip: written aside and renamed, so the file is always whole.
fn write_head(dir: &Path, head: u64, chain: &ChainTip, sync: bool) -> anyhow::Result<()> {
    let tmp = dir.join("head.tmp");
    let mut file = crate::private_files::create_private(&tmp)?;
    writeln!(file, "{head}\n{} {}", chain.seq, chain.hash)?;
    if sync {
        file.sync_all()?;
    }
    fs::rename(&tmp, dir.join("head"))?;
    Ok(())
}
