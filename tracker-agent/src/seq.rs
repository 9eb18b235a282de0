//! The sequence number of each fix: rises by one per fix for the life of the vehicle's agent,
//! across restarts and crashes.
//!
//! The spool is where numbers are made durable: a fix is numbered as it is appended, so the
//! next number is always one above the last spooled (or acknowledged) fix, and a crash can
//! neither leave a gap nor give one number to two stored fixes. This file keeps a floor beside
//! it, `state_dir/seq`, so that numbering goes on upwards even if the spool is wiped.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Debug)]
pub struct SeqFloor {
    path: PathBuf,
    floor: u64,
}

impl SeqFloor {
    /// Opens the floor in `state_dir` (1 for a new vehicle).
    pub fn open(state_dir: &Path) -> anyhow::Result<Self> {
        crate::private_files::create_private_dir(state_dir)
            .with_context(|| format!("creating {}", state_dir.display()))?;
        let path = state_dir.join("seq");
        let floor = match fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse()
                .with_context(|| format!("{} holds {:?}, not a sequence number", path.display(), text))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Self { path, floor })
    }

    /// The lowest number the next fix may get.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Raises the floor to `next` (written aside, synced and renamed, so it is always whole).
    pub fn raise(&mut self, next: u64) -> anyhow::Result<()> {
        if next <= self.floor {
            return Ok(());
        }
        let tmp = self.path.with_extension("tmp");
        let mut file = crate::private_files::create_private(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        writeln!(file, "{next}")?;
        file.sync_all()?;
        fs::rename(&tmp, &self.path).with_context(|| format!("renaming to {}", self.path.display()))?;
        self.floor = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_only_rises_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut floor = SeqFloor::open(dir.path()).unwrap();
        assert_eq!(floor.floor(), 1);
        floor.raise(42).unwrap();
        floor.raise(7).unwrap();
        drop(floor);
        assert_eq!(SeqFloor::open(dir.path()).unwrap().floor(), 42);
    }

    #[test]
    fn a_damaged_floor_file_is_an_error_not_a_restart_at_one() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("seq"), "garbage").unwrap();
        let err = SeqFloor::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a sequence number"), "{err}");
    }
}
