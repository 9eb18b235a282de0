//! The sequence number of each fix: rises by one per fix for the life of the vehicle's agent,
//! across restarts and crashes, and is never reused.
//!
//! The next number is written to `state_dir/seq` (written aside, synced, renamed, directory
//! synced) before a number is handed out, so a crash at any point can skip nothing and reuse
//! nothing: the worst case is a number that was handed out but whose fix was never spooled.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug)]
pub struct SeqCounter {
    path: PathBuf,
    next: u64,
}

impl SeqCounter {
    /// Opens the counter in `state_dir`, starting at 1 for a new vehicle.
    pub fn open(state_dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(state_dir).with_context(|| format!("creating {}", state_dir.display()))?;
        let path = state_dir.join("seq");
        let next = match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse()
                .with_context(|| format!("{} holds {:?}, not a sequence number", path.display(), text))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Self { path, next })
    }

    /// The number the next fix will get.
    pub fn peek(&self) -> u64 {
        self.next
    }

    /// Makes sure the next number is above `seq`.
    pub fn ensure_above(&mut self, seq: u64) -> anyhow::Result<()> {
        if self.next <= seq {
            self.persist(seq + 1)?;
            self.next = seq + 1;
        }
        Ok(())
    }

    /// Hands out the next number, after its successor is durably recorded.
    pub fn take(&mut self) -> anyhow::Result<u64> {
        let seq = self.next;
        self.persist(seq + 1)?;
        self.next = seq + 1;
        Ok(seq)
    }

    fn persist(&self, next: u64) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut file = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        writeln!(file, "{next}")?;
        file.sync_all()?;
        fs::rename(&tmp, &self.path).with_context(|| format!("renaming to {}", self.path.display()))?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_continue_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut counter = SeqCounter::open(dir.path()).unwrap();
        assert_eq!((counter.take().unwrap(), counter.take().unwrap()), (1, 2));
        drop(counter);
        let mut reopened = SeqCounter::open(dir.path()).unwrap();
        assert_eq!(reopened.peek(), 3);
        assert_eq!(reopened.take().unwrap(), 3);
    }

    #[test]
    fn a_damaged_counter_file_is_an_error_not_a_restart_at_one() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("seq"), "garbage").unwrap();
        let err = SeqCounter::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a sequence number"), "{err}");
    }
}
