//! The audit head file: the chain's head as the server saw it, one line appended at start,
//! every hour and at stop, to a file outside the database (`audit-head.log` in the data
//! directory by default).
//!
//! It is the anchor the database's owner cannot rewrite unnoticed once it has been shipped off
//! the machine (a log collector, a WORM bucket): `convoy audit verify --head-file` checks that
//! the chain still holds its last head. Unlike a line in the server's log, no request can add a
//! line here: only the server writes it, from the store's own head. Each line is
//! `TIME SEQ:HASH KEYID:SIGNATURE`, e.g. `2026-12-07T03:00:00.000Z 42:9f86… 3f9a0c2e5b7d1846:Qm9…`:
//! the head and the server key's signature of it (`signed`); lines written before the server
//! had a key have no signature and still read.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};

use super::AuditHead;
use crate::signed::AuditSignature;

/// Appends `head`, seen at `at`, to the file at `path`, made readable by its owner only if it is
/// new, and synced: a head that was logged is on disk.
pub fn append_audit_head(
    path: &Path,
    at: DateTime<Utc>,
    head: &AuditHead,
    signature: Option<&AuditSignature>,
) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    let mut line = format!("{} {head}", at.to_rfc3339_opts(SecondsFormat::Millis, true));
    if let Some(signature) = signature {
        line.push(' ');
        line.push_str(&signature.file_field());
    }
    line.push('\n');
    // One write per line: an append of a couple of hundred bytes lands whole.
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// The last head recorded in the file's text.
pub fn last_audit_head(text: &str) -> Result<AuditHead, String> {
    Ok(last_audit_head_line(text)?.1)
}

/// The last line of the file's text: when, the head, and the server's signature of it as
/// stored in `audit_signatures` (`None` on a line written before the server had a key).
pub fn last_audit_head_line(
    text: &str,
) -> Result<(DateTime<Utc>, AuditHead, Option<AuditSignature>), String> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty()).ok_or("it records no head")?;
    let bad_line = || format!("{line:?} is not TIME SEQ:HASH [KEYID:SIGNATURE]");
    let mut fields = line.split_whitespace();
    let (Some(at), Some(head)) = (fields.next(), fields.next()) else {
        return Err(bad_line());
    };
    let signed = fields.next();
    if fields.next().is_some() {
        return Err(bad_line());
    }
    let at =
        DateTime::parse_from_rfc3339(at).map_err(|_| format!("{at:?} is not a time (RFC 3339)"))?.to_utc();
    let head: AuditHead = head.parse()?;
    let signature = match signed {
        None => None,
        Some(field) => {
            let (key_id, signature) = field.split_once(':').ok_or_else(bad_line)?;
            Some(AuditSignature {
                seq: head.seq,
                hash: head.hash.clone(),
                key_id: key_id.to_string(),
                signature: signature.to_string(),
                signed_at: at,
            })
        }
    };
    Ok((at, head, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_appended_one_a_line_and_the_last_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-head.log");
        let first = AuditHead { seq: 1, hash: "a".repeat(64) };
        let second = AuditHead { seq: 7, hash: "b".repeat(64) };
        append_audit_head(&path, Utc::now(), &first, None).unwrap();
        let key = convoy_core::signing::SecretKey::generate();
        let signature = AuditSignature::sign(&key, &second, Utc::now()).unwrap();
        append_audit_head(&path, Utc::now(), &second, Some(&signature)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().nth(1).unwrap().ends_with(&signature.file_field()), "{text}");
        assert_eq!(last_audit_head(&text), Ok(second.clone()));
        let (_, head, read) = last_audit_head_line(&text).unwrap();
        assert_eq!(head, second);
        let read = read.unwrap();
        assert_eq!((read.key_id, read.signature), (signature.key_id, signature.signature));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_file_without_a_head_or_with_a_bad_line_is_refused() {
        assert!(last_audit_head("").is_err());
        assert!(last_audit_head("2026-12-07T03:00:00.000Z 42\n").is_err());
        assert!(last_audit_head("yesterday 1:aaaa\n").is_err());
    }
}
