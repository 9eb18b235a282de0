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
//!
//! Layout: segment files `NNNNNNNNNNNNNNNNNNNN.seg` (numbered in order), each a run of records
//! in rising `seq`; the file `head` holds the highest seq that has left the spool (acknowledged
//! or dropped). A segment is deleted once all its fixes have left.

mod record;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use convoy_core::Position;

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

/// What recovery found when the spool was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Whole records found still waiting for the broker.
    pub pending: u64,
    /// Damaged records skipped.
    pub corrupt_records: u64,
    /// Bytes cut off the end of a segment (a torn or zero-filled tail).
    pub truncated_bytes: u64,
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
    config: SpoolConfig,
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
    /// Opens (or creates) the spool in `dir`, recovering what a crash left.
    pub fn open(dir: &Path, config: SpoolConfig) -> anyhow::Result<(Spool, Recovery)> {
        crate::private_files::create_private_dir(dir)
            .with_context(|| format!("creating spool {}", dir.display()))?;
        let head = read_head(dir)?;
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
            for seq in scan.seqs {
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
        if segments.is_empty() {
            segments.push_back(Segment { id: 1, path: segment_path(dir, 1), last_seq: None, bytes: 0 });
        }
        let current = segments.back().expect("one segment at least");
        let writer = crate::private_files::append_private(&current.path)?;
        let first_id = segments.front().expect("one segment at least").id;
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            config,
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

    /// Appends a fix; its seq must be above every seq appended before.
    pub fn append(&mut self, p: &Position) -> anyhow::Result<()> {
        let last = self.pending.back().copied().unwrap_or(self.head);
        if p.seq <= last {
            bail!("seq {} is not above the last spooled seq {last}", p.seq);
        }
        if self.segments.back().is_some_and(|s| s.bytes >= self.config.segment_bytes) {
            self.start_segment()?;
        }
        let mut bytes = Vec::with_capacity(80);
        record::encode(p, &mut bytes);
        self.writer.write_all(&bytes).context("appending to the spool")?;
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
            write_head(&self.dir, self.head, self.config.fsync != FsyncPolicy::Never)?;
            self.head_dirty = false;
            self.head_written = Instant::now();
        }
        Ok(())
    }

    /// The next fixes to publish, oldest first, at most `max`. Each is handed out once, until
    /// [`Spool::resend_all`].
    pub fn next_unsent(&mut self, max: usize) -> anyhow::Result<Vec<Position>> {
        let mut out = Vec::new();
        while out.len() < max && self.sent < self.pending.len() {
            let want = self.pending[self.sent];
            let Some(p) = self.read_at_cursor()? else {
                bail!("spool is missing seq {want}");
            };
            if p.seq < want {
                continue; // already left the spool
            }
            if p.seq > want {
                bail!("spool expected seq {want}, found {}", p.seq);
            }
            out.push(p);
            self.sent += 1;
        }
        Ok(out)
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
                while let Ok((p, len)) = record::decode(&bytes[offset..]) {
                    if p.seq == want {
                        return Ok(Some(p));
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
    fn read_at_cursor(&mut self) -> anyhow::Result<Option<Position>> {
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
                Ok((p, used)) => {
                    self.cursor.1 += used as u64;
                    return Ok(Some(p));
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
    seqs: Vec<u64>,
    valid_bytes: u64,
}

/// Reads every whole record of a segment. The last segment's damaged tail is cut off, so that
/// appends continue after whole records.
fn scan_segment(path: &Path, is_last: bool, recovery: &mut Recovery) -> anyhow::Result<Scan> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut seqs = Vec::new();
    let mut offset = 0;
    let mut end_of_good = 0;
    while offset < bytes.len() {
        match record::decode(&bytes[offset..]) {
            Ok((p, len)) => {
                seqs.push(p.seq);
                offset += len;
                end_of_good = offset;
            }
            Err(_) => match find_record(&bytes, offset + 1) {
                Some(next) => {
                    recovery.corrupt_records += 1;
                    offset = next;
                }
                None => break,
            },
        }
    }
    let tail = (bytes.len() - end_of_good) as u64;
    if tail > 0 && is_last {
        recovery.truncated_bytes += tail;
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(end_of_good as u64)?;
        file.sync_all()?;
    } else if tail > 0 && bytes[end_of_good..].iter().any(|&b| b != 0) {
        recovery.corrupt_records += 1;
    }
    Ok(Scan { seqs, valid_bytes: end_of_good as u64 })
}

/// The offset of the next whole record at or after `from`.
fn find_record(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&i| bytes[i] == record::MAGIC && record::decode(&bytes[i..]).is_ok())
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

fn read_head(dir: &Path) -> anyhow::Result<u64> {
    match fs::read_to_string(dir.join("head")) {
        Ok(text) => text.trim().parse().with_context(|| format!("spool head file holds {text:?}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e).context("reading the spool head"),
    }
}

/// Records the head: written aside and renamed, so it is always one whole number.
fn write_head(dir: &Path, head: u64, sync: bool) -> anyhow::Result<()> {
    let tmp = dir.join("head.tmp");
    let mut file = crate::private_files::create_private(&tmp)?;
    writeln!(file, "{head}")?;
    if sync {
        file.sync_all()?;
    }
    fs::rename(&tmp, dir.join("head"))?;
    Ok(())
}
