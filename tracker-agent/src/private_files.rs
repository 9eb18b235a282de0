//! Files and directories only their owner may read, whatever the process's umask: the spool
//! holds every position the vehicle drove, and the server's data directory (which uses this
//! too) its database. `convoy-agent` and `convoy` also set the umask to 077 at start, for what
//! libraries create; the explicit modes here cover a program that embeds the agent or the
//! server as a library and keeps its own umask.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and any missing parent as 0700; a directory that exists is left as it is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Opens `path` for appending, creating it as 0600 if missing.
pub fn append_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

/// Creates or truncates `path` as 0600 (an existing file keeps its mode).
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(path)
}

/// Creates `path` as 0600; fails if it exists (`ErrorKind::AlreadyExists`).
pub fn create_new_private(path: &Path) -> io::Result<File> {
    OpenOptions::new().create_new(true).write(true).mode(0o600).open(path)
}

/// The umask both binaries run with: nothing they create is readable by others unless they
/// say so (the agent's metrics file, for node_exporter).
pub fn restrict_umask() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
}

/// Warns (once: call it at start) when `dir` exists and others may read or enter it. Convoy
/// does not change the mode of a directory it did not create: someone chose it.
pub fn warn_if_shared(dir: &Path, what: &str) {
    if let Ok(metadata) = std::fs::metadata(dir) {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                dir = %dir.display(),
                mode = format_args!("{mode:o}"),
                "the {what} can be read by other users of this machine; `chmod 700` it"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_created_for_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!((mode(&dir.path().join("a")), mode(&nested)), (0o700, 0o700));
        append_private(&nested.join("f")).unwrap();
        create_private(&nested.join("g")).unwrap();
        create_new_private(&nested.join("h")).unwrap();
        assert_eq!((mode(&nested.join("f")), mode(&nested.join("g"))), (0o600, 0o600));
        assert_eq!(mode(&nested.join("h")), 0o600);
        assert_eq!(create_new_private(&nested.join("h")).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    }
}
