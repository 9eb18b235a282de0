//! `privacy = "moves_only"`: the agent records nothing outside its vehicle's move windows. A
//! truck may be a subcontractor's, driven home at night; where it goes outside a move is not
//! the customer's business. The server publishes the windows, retained, on the vehicle's
//! `convoy/v1/vehicles/{id}/windows` ([`convoy_core::move_windows`]); the agent keeps the last
//! ones it read in its state directory, so after a restart without a network it still records
//! inside a move (nothing lost) and nothing outside one. A fix outside every window is dropped
//! before it is numbered or spooled, and only counted.
//!
//! Until it has ever read its windows, a moves-only agent records nothing: privacy first. A
//! message it cannot read (too large, another vehicle's, a later version) leaves the windows it
//! had, and is counted by reason.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use convoy_core::move_windows::{windows_topic, MoveWindows, WindowsError};
use convoy_core::VehicleId;

/// When the agent records fixes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Privacy {
    /// Every fix (the default: a company truck is tracked whenever it drives).
    #[default]
    Always,
    /// Fixes inside the vehicle's move windows only.
    MovesOnly,
}

impl Privacy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "always" => Some(Privacy::Always),
            "moves_only" => Some(Privacy::MovesOnly),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::Always => "always",
            Privacy::MovesOnly => "moves_only",
        }
    }
}

/// Decides, fix by fix, whether the agent records it.
#[derive(Debug)]
pub struct MoveGate {
    privacy: Privacy,
    vehicle: VehicleId,
    /// The last windows read (from the broker or the state file); `None`: never read.
    windows: Option<MoveWindows>,
    file: PathBuf,
}

/// The state file holding the last windows read.
const WINDOWS_FILE: &str = "move_windows.json";

impl MoveGate {
    /// The gate of `vehicle`, with the windows kept in `state_dir` if it has any. A damaged
    /// file is as none (and logged): the agent records nothing until the broker tells it again.
    pub fn open(privacy: Privacy, vehicle: &VehicleId, state_dir: &Path) -> Self {
        let file = state_dir.join(WINDOWS_FILE);
        let windows = match (privacy, fs::read(&file)) {
            (Privacy::Always, _) => None,
            (Privacy::MovesOnly, Ok(bytes)) => match MoveWindows::decode(&bytes, vehicle) {
                Ok(windows) => Some(windows),
                Err(e) => {
                    tracing::warn!(error = %e, file = %file.display(), "the kept move windows are unreadable: recording nothing until the server sends them");
                    None
                }
            },
            (Privacy::MovesOnly, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => None,
            (Privacy::MovesOnly, Err(e)) => {
                tracing::warn!(error = %e, file = %file.display(), "cannot read the kept move windows: recording nothing until the server sends them");
                None
            }
        };
        Self { privacy, vehicle: vehicle.clone(), windows, file }
    }

    pub fn privacy(&self) -> Privacy {
        self.privacy
    }

    /// The topic to subscribe to, when the windows matter.
    pub fn topic(&self) -> Option<String> {
        (self.privacy == Privacy::MovesOnly).then(|| windows_topic(&self.vehicle))
    }

    /// Whether a fix taken at `t` is recorded.
    pub fn admits(&self, t: DateTime<Utc>) -> bool {
        match self.privacy {
            Privacy::Always => true,
            Privacy::MovesOnly => self.windows.as_ref().is_some_and(|w| w.contains(t)),
        }
    }

    /// How many windows the agent knows; `None` before it has read any.
    pub fn known_windows(&self) -> Option<usize> {
        self.windows.as_ref().map(|w| w.windows.len())
    }

    /// Takes a windows message from the broker: checked, kept on disk (written aside, synced
    /// and renamed, so the file is always whole), then used. A message refused changes
    /// nothing. A failure to keep it is logged, and the windows are used all the same: the
    /// server sends them again at the next connection.
    pub fn learn(&mut self, payload: &[u8]) -> Result<(), WindowsError> {
        let windows = MoveWindows::decode(payload, &self.vehicle)?;
        if let Err(e) = self.keep(payload) {
            tracing::warn!(error = format!("{e:#}"), "cannot keep the move windows on disk");
        }
        self.windows = Some(windows);
        Ok(())
    }

    fn keep(&self, payload: &[u8]) -> anyhow::Result<()> {
        let tmp = self.file.with_extension("tmp");
        let mut file = crate::private_files::create_private(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(payload)?;
        file.sync_all()?;
        fs::rename(&tmp, &self.file).with_context(|| format!("renaming to {}", self.file.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use convoy_core::move_windows::Window;

    fn truck() -> VehicleId {
        VehicleId::new("truck-a").unwrap()
    }

    fn message(windows: Vec<Window>) -> Vec<u8> {
        MoveWindows::new(truck(), windows).encode()
    }

    #[test]
    fn always_records_every_fix_and_subscribes_to_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let gate = MoveGate::open(Privacy::Always, &truck(), dir.path());
        assert!(gate.admits(Utc::now()));
        assert_eq!(gate.topic(), None);
    }

    #[test]
    fn moves_only_records_nothing_before_it_knows_its_windows() {
        let dir = tempfile::tempdir().unwrap();
        let gate = MoveGate::open(Privacy::MovesOnly, &truck(), dir.path());
        assert!(!gate.admits(Utc::now()));
        assert_eq!(gate.known_windows(), None);
        assert_eq!(gate.topic().as_deref(), Some("convoy/v1/vehicles/truck-a/windows"));
    }

    #[test]
    fn windows_learnt_are_kept_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut gate = MoveGate::open(Privacy::MovesOnly, &truck(), dir.path());
        let window = Window { from: now - Duration::minutes(5), to: Some(now + Duration::minutes(5)) };
        gate.learn(&message(vec![window])).unwrap();
        assert!(gate.admits(now));
        assert!(!gate.admits(now + Duration::minutes(6)));
        assert!(!gate.admits(now - Duration::minutes(6)));

        let reopened = MoveGate::open(Privacy::MovesOnly, &truck(), dir.path());
        assert_eq!(reopened.known_windows(), Some(1));
        assert!(reopened.admits(now));
        assert!(!reopened.admits(now + Duration::minutes(6)));

        // No move any more: nothing is recorded, now or after a restart.
        gate.learn(&message(Vec::new())).unwrap();
        assert!(!gate.admits(now));
        assert!(!MoveGate::open(Privacy::MovesOnly, &truck(), dir.path()).admits(now));
    }

    #[test]
    fn a_refused_message_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let mut gate = MoveGate::open(Privacy::MovesOnly, &truck(), dir.path());
        gate.learn(&message(vec![Window { from: now - Duration::minutes(5), to: None }])).unwrap();
        let other = MoveWindows::new(VehicleId::new("truck-b").unwrap(), Vec::new()).encode();
        for (bad, reason) in [(b"{".to_vec(), "malformed"), (other, "other_vehicle")] {
            assert_eq!(gate.learn(&bad).unwrap_err().reason(), reason);
            assert!(gate.admits(now));
            assert!(MoveGate::open(Privacy::MovesOnly, &truck(), dir.path()).admits(now));
        }
    }

    #[test]
    fn a_damaged_file_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(WINDOWS_FILE), b"{\"v\":1,\"vehicle\":\"truck-a\",\"win").unwrap();
        let gate = MoveGate::open(Privacy::MovesOnly, &truck(), dir.path());
        assert_eq!(gate.known_windows(), None);
        assert!(!gate.admits(Utc::now()));
    }
}
