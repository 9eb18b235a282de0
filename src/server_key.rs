//! The server's signing key: an Ed25519 secret key in a file (`[audit] signing_key_file`,
//! default `server-signing.key` in the data directory), one line as
//! `convoy_core::signing::SecretKey::to_file_text` writes it. It signs the audit log's head and
//! each retention purge's destruction record (`convoy_store`'s `signed` module).
//!
//! Made at the server's first start if absent (0600); refused at start if other users may read
//! it or it does not read, naming the file. `convoy key rotate` makes a new one, keeping the old
//! beside it as `server-signing.key.OLDKEYID`; the store records every public key with the time
//! it is valid from, so past signatures still verify.
//!
//! The file itself is read and written by `convoy_agent::key_file`, as a vehicle's key is.

use std::path::{Path, PathBuf};

use anyhow::Context;
use convoy_agent::key_file;
use convoy_core::signing::SecretKey;

/// The key file's name in the data directory, unless configured otherwise.
pub const SIGNING_KEY_FILE: &str = "server-signing.key";

/// Reads the key at `path`, refusing a file other users may read or one that does not read.
pub fn load(path: &Path) -> anyhow::Result<SecretKey> {
    key_file::load(path).context("the server's signing key does not read")
}

/// Reads the key at `path`, or makes one there if there is no file; says whether it was made.
pub fn load_or_create(path: &Path) -> anyhow::Result<(SecretKey, bool)> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    Ok((key_file::create(path, false)?, true))
}

/// What a rotation did.
pub struct Rotated {
    pub new: SecretKey,
    /// The key replaced and where it is kept, if there was one.
    pub old: Option<(SecretKey, PathBuf)>,
}

/// Makes a new key at `path`; the old one, if any, is kept as `PATH.OLDKEYID` first.
pub fn rotate(path: &Path) -> anyhow::Result<Rotated> {
    let old = if path.exists() {
        let old = load(path)?;
        let kept = PathBuf::from(format!("{}.{}", path.display(), old.public().id()));
        key_file::save(&kept, &old).with_context(|| format!("keeping the old key as {}", kept.display()))?;
        Some((old, kept))
    } else {
        None
    };
    Ok(Rotated { new: key_file::create(path, true)?, old })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_key_is_made_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIGNING_KEY_FILE);
        let (made, created) = load_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(mode(&path), 0o600);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.public(), made.public());
    }

    #[test]
    fn a_key_others_may_read_or_that_does_not_read_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIGNING_KEY_FILE);
        load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = format!("{:#}", load(&path).unwrap_err());
        assert!(error.contains(&path.display().to_string()) && error.contains("other users"), "{error}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "not a key\n").unwrap();
        let error = format!("{:#}", load(&path).unwrap_err());
        assert!(error.contains(&path.display().to_string()) && error.contains("does not read"), "{error}");
    }

    #[test]
    fn a_rotation_keeps_the_old_key_beside_the_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SIGNING_KEY_FILE);
        let (first, _) = load_or_create(&path).unwrap();
        let rotated = rotate(&path).unwrap();
        let (old, kept) = rotated.old.unwrap();
        assert_eq!(old.public(), first.public());
        assert!(kept.to_string_lossy().ends_with(&first.public().id().to_string()));
        assert_eq!(load(&kept).unwrap().public(), first.public());
        assert_eq!(load(&path).unwrap().public(), rotated.new.public());
        assert_ne!(rotated.new.public(), first.public());
        assert_eq!((mode(&path), mode(&kept)), (0o600, 0o600));
    }
}
