//! A secret signing key in a file of its own: one line (`SecretKey::to_file_text`), readable by
//! its owner only. Used for a vehicle's key on the truck and for the server's key: nothing here
//! knows whose key it is.
//!
//! The key never leaves the file but to sign in memory: it is not logged, not printed (its
//! `Debug` shows only its id), and the errors here never quote the file's content.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{bail, Context};
use convoy_core::signing::SecretKey;

/// Reads the secret key in `path`. Refuses a file that other users may read or write (any bit
/// of 0o077): a key others could copy proves nothing.
pub fn load(path: &Path) -> anyhow::Result<SecretKey> {
    let metadata = std::fs::metadata(path).with_context(|| format!("key file {}", path.display()))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "key file {} can be read or changed by other users (mode {mode:o}): `chmod 600` it, \
             and make a new key if others may have read it",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("key file {}", path.display()))?;
    // The error names the file and what is wrong, never what the file holds.
    SecretKey::from_file_text(&text).with_context(|| format!("key file {}", path.display()))
}

/// Makes a new key and writes it to `path`, created 0600. Refuses to replace an existing file
/// unless `force`: the old key may be the only one that verifies what it signed. With `force`
/// the new file replaces the old one whole (written aside, then renamed).
pub fn create(path: &Path, force: bool) -> anyhow::Result<SecretKey> {
    let key = SecretKey::generate();
    let text = key.to_file_text();
    if force {
        let mut tmp_name = path.file_name().context("a key file needs a file name")?.to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        let _ = std::fs::remove_file(&tmp);
        write_new(&tmp, &text)?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing key file {}", path.display()))?;
    } else {
        write_new(path, &text)?;
    }
    Ok(key)
}

/// Writes an existing `key` to a new file `path`, created 0600 (a key kept aside after a
/// rotation). Refuses to replace a file.
pub fn save(path: &Path, key: &SecretKey) -> anyhow::Result<()> {
    write_new(path, &key.to_file_text())
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = crate::private_files::create_new_private(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("key file {} exists already: keep it, or replace it with --force", path.display())
        } else {
            anyhow::Error::new(e).context(format!("creating key file {}", path.display()))
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing key file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_key_is_created_for_its_owner_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vehicle.key");
        let key = create(&path, false).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(load(&path).unwrap().public(), key.public());
    }

    #[test]
    fn an_existing_key_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vehicle.key");
        let first = create(&path, false).unwrap();
        let err = create(&path, false).unwrap_err().to_string();
        assert!(err.contains("exists already") && err.contains("--force"), "{err}");
        assert_eq!(load(&path).unwrap().public(), first.public());
        let second = create(&path, true).unwrap();
        assert_ne!(second.public(), first.public());
        assert_eq!((load(&path).unwrap().public(), mode(&path)), (second.public(), 0o600));
    }

    #[test]
    fn a_key_others_can_read_or_a_file_that_is_not_a_key_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vehicle.key");
        let key = create(&path, false).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("vehicle.key") && err.contains("644"), "{err}");
        let secret = key.to_file_text();
        assert!(!err.contains(secret.trim()), "the error shows no key");

        std::fs::write(dir.path().join("junk"), "convoy-ed25519-secret:AAAA\n").unwrap();
        std::fs::set_permissions(dir.path().join("junk"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = format!("{:#}", load(&dir.path().join("junk")).unwrap_err());
        assert!(err.contains("junk") && !err.contains("AAAA"), "{err}");
        let err = format!("{:#}", load(&dir.path().join("absent")).unwrap_err());
        assert!(err.contains("absent"), "{err}");
    }
}
