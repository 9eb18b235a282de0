//! The key the server signs evidence bundles' manifests with: `DATA_DIR/server-signing.key`,
//! made (0600) the first time it is needed. Its public key is printed in every bundle; publish
//! it so that `convoy evidence verify --server-key` can be given it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use convoy_core::signing::SecretKey;

pub const SERVER_KEY_FILE: &str = "server-signing.key";

/// Reads the key in `data_dir`, or makes one there if there is none.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<SecretKey> {
    let path = data_dir.join(SERVER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => SecretKey::from_file_text(&text).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(key.to_file_text().as_bytes())?;
            file.sync_all()?;
            tracing::info!(key = %key.public().id(), public_key = %key.public(), "made the server's signing key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_key_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let made = load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(SERVER_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(dir.path()).unwrap().public(), made.public());
    }
}
