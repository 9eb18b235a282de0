//! The opaque cursor of the alert history: where the next page starts, and which query it
//! belongs to.
//!
//! A cursor is base64url (no padding) of: a version byte, the query's fingerprint (8 bytes), the
//! last alert's opening time (microseconds since 1970, big-endian i64), its id (UTF-8), and a
//! checksum (the first 8 bytes of SHA-256 over everything before it). It is not a secret nor a
//! permission: every page applies the caller's scope and recency afresh, so a made-up cursor
//! can only start a page somewhere the caller could page to anyway. The checksum tells a cursor
//! the server wrote from a damaged or invented one (`bad_cursor`); the fingerprint tells one
//! written for other filters or another person (`stale_cursor`), so paging never silently
//! continues a different list.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use convoy_store::AlertKey;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
/// The longest cursor text read; anything longer is refused before decoding.
pub(crate) const MAX_CURSOR_CHARS: usize = 600;
/// The longest alert id a cursor carries (ids are far shorter).
const MAX_ID_BYTES: usize = 256;

/// A query's fingerprint: who asks and with which filters, not the page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint([u8; 8]);

impl Fingerprint {
    /// The fingerprint of the canonical text of a query (the caller builds it from the
    /// normalised filters and the person's name).
    pub(crate) fn of(canonical: &str) -> Self {
        let digest = Sha256::digest(canonical.as_bytes());
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&digest[..8]);
        Self(bytes)
    }
}

/// Why a cursor is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CursorError {
    /// Not a cursor this server wrote: undecodable, damaged, another version.
    Bad,
    /// A cursor of another query (other filters, another person).
    Stale,
}

fn checksum(bytes: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(bytes);
    let mut sum = [0; 8];
    sum.copy_from_slice(&digest[..8]);
    sum
}

/// The cursor that continues `query` after `key`.
pub(crate) fn encode(query: Fingerprint, key: &AlertKey) -> String {
    let mut bytes = Vec::with_capacity(1 + 8 + 8 + key.id.len() + 8);
    bytes.push(VERSION);
    bytes.extend_from_slice(&query.0);
    bytes.extend_from_slice(&key.opened_t.timestamp_micros().to_be_bytes());
    bytes.extend_from_slice(key.id.as_bytes());
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key a cursor continues after, if it is one of `query`'s. Never panics, whatever the text.
pub(crate) fn decode(text: &str, query: Fingerprint) -> Result<AlertKey, CursorError> {
    if text.len() > MAX_CURSOR_CHARS {
        return Err(CursorError::Bad);
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CursorError::Bad)?;
    if bytes.len() < 1 + 8 + 8 + 1 + 8 || bytes.len() > 1 + 8 + 8 + MAX_ID_BYTES + 8 {
        return Err(CursorError::Bad);
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if checksum(body) != sum || body[0] != VERSION {
        return Err(CursorError::Bad);
    }
    let mut micros = [0; 8];
    micros.copy_from_slice(&body[9..17]);
    let opened_t =
        DateTime::<Utc>::from_timestamp_micros(i64::from_be_bytes(micros)).ok_or(CursorError::Bad)?;
    let id = std::str::from_utf8(&body[17..]).map_err(|_| CursorError::Bad)?.to_string();
    if body[1..9] != query.0 {
        return Err(CursorError::Stale);
    }
    Ok(AlertKey { opened_t, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn key() -> AlertKey {
        AlertKey {
            opened_t: Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
                + chrono::Duration::microseconds(123),
            id: "off_route-truck-01-1733562000000".into(),
        }
    }

    #[test]
    fn a_cursor_reads_back_as_its_key_for_its_own_query_only() {
        let (mine, other) = (Fingerprint::of("ana|state=open"), Fingerprint::of("ana|state=resolved"));
        let cursor = encode(mine, &key());
        assert_eq!(decode(&cursor, mine), Ok(key()));
        assert_eq!(decode(&cursor, other), Err(CursorError::Stale));
    }

    #[test]
    fn damaged_or_invented_cursors_are_bad() {
        let query = Fingerprint::of("q");
        let cursor = encode(query, &key());
        for text in ["", "x", "!!!!", &cursor[..cursor.len() - 1], &format!("{cursor}A"), &"A".repeat(700)] {
            assert_eq!(decode(text, query), Err(CursorError::Bad), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn any_text_decodes_without_panicking(text in ".{0,700}") {
            let _ = decode(&text, Fingerprint::of("q"));
        }

        #[test]
        fn any_base64_decodes_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&URL_SAFE_NO_PAD.encode(bytes), Fingerprint::of("q"));
        }

        #[test]
        fn any_changed_byte_of_a_cursor_is_refused(at in 0usize..60, by in 1u8..=255) {
            let query = Fingerprint::of("q");
            let mut bytes = URL_SAFE_NO_PAD.decode(encode(query, &key())).unwrap();
            let at = at % bytes.len();
            bytes[at] ^= by;
            prop_assert_eq!(decode(&URL_SAFE_NO_PAD.encode(bytes), query), Err(CursorError::Bad));
        }

        #[test]
        fn every_key_round_trips(micros in -62_000_000_000_000_000i64..250_000_000_000_000_000, id in "[a-z0-9_-]{1,80}") {
            let opened_t = DateTime::<Utc>::from_timestamp_micros(micros).unwrap();
            let key = AlertKey { opened_t, id };
            let query = Fingerprint::of("q");
            prop_assert_eq!(decode(&encode(query, &key), query), Ok(key));
        }
    }
}
