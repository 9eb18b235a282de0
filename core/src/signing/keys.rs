//! Ed25519 keys as Convoy writes them, and signatures with a purpose.
//!
//! Text forms, the same everywhere (files, API, CLI, evidence bundles):
//! - a public key: `ed25519:` then the 32 bytes in standard base64 (44 characters);
//! - a secret key file: one line `convoy-ed25519-secret:` then the 32-byte seed in base64;
//! - a key id: the first 8 bytes of SHA-256 over the 32 public-key bytes, as 16 hex digits;
//! - a signature: the 64 bytes in standard base64 (88 characters).
//!
//! Every signature is over `purpose || 0x00 || message`, so bytes signed as a batch head can
//! never be presented as an audit head or a manifest.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::Signer;
use sha2::{Digest, Sha256};

const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "convoy-ed25519-secret:";

/// Why a key or signature did not read or verify. [`KeyError::reason`] is the short label for
/// counters and dead letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a public key is `ed25519:` then 32 bytes in base64")]
    BadPublicKey,
    #[error("a secret key file holds one line `convoy-ed25519-secret:` then 32 bytes in base64")]
    BadSecretKey,
    #[error("a key id is 16 hex digits")]
    BadKeyId,
    #[error("a signature is 64 bytes in base64")]
    BadSignatureEncoding,
    #[error("the signature does not verify with this key")]
    SignatureMismatch,
}

impl KeyError {
    pub fn reason(&self) -> &'static str {
        match self {
            KeyError::BadPublicKey => "bad_public_key",
            KeyError::BadSecretKey => "bad_secret_key",
            KeyError::BadKeyId => "bad_key_id",
            KeyError::BadSignatureEncoding => "bad_signature_encoding",
            KeyError::SignatureMismatch => "bad_signature",
        }
    }
}

/// What a signature is for: signed together with the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A vehicle's chain head after a batch ([`super::batch`]).
    BatchHead,
    /// The server's audit log head.
    AuditHead,
    /// The server's record of a retention purge.
    Destruction,
    /// The manifest of an evidence bundle.
    Manifest,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::BatchHead => b"convoy/batch-head/v1",
            Purpose::AuditHead => b"convoy/audit-head/v1",
            Purpose::Destruction => b"convoy/destruction/v1",
            Purpose::Manifest => b"convoy/manifest/v1",
        }
    }

    pub(crate) fn message(self, message: &[u8]) -> Vec<u8> {
        let tag = self.tag();
        let mut out = Vec::with_capacity(tag.len() + 1 + message.len());
        out.extend_from_slice(tag);
        out.push(0);
        out.extend_from_slice(message);
        out
    }
}

/// A key's short name: the first 8 bytes of SHA-256 over its public bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 8];
        if text.len() != 16 {
            return Err(KeyError::BadKeyId);
        }
        hex::decode_to_slice(text, &mut bytes).map_err(|_| KeyError::BadKeyId)?;
        Ok(KeyId(bytes))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        KeyId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 public key, with its id worked out once (ingest compares ids for every batch).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    /// Reads `ed25519:BASE64`; surrounding white space is ignored. Weak keys (of small order)
    /// are refused: a signature "by" one proves nothing.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let encoded = text.trim().strip_prefix(PUBLIC_PREFIX).ok_or(KeyError::BadPublicKey)?;
        let bytes: [u8; 32] = decode_exact(encoded).ok_or(KeyError::BadPublicKey)?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::BadPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::BadPublicKey);
        }
        Ok(PublicKey::of(key))
    }

    fn of(key: ed25519_dalek::VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        PublicKey { key, id: KeyId(id) }
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The first 8 bytes of the SHA-256 of the key.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Checks `signature` over `message` made for `purpose` (strict verification: no
    /// malleable signatures).
    pub fn verify(&self, purpose: Purpose, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        self.key
            .verify_strict(&purpose.message(message), &signature.0)
            .map_err(|_| KeyError::SignatureMismatch)
    }

    pub(crate) fn dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.key.as_bytes()))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PublicKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 64] = decode_exact(text).ok_or(KeyError::BadSignatureEncoding)?;
        Ok(Signature(ed25519_dalek::Signature::from_bytes(&bytes)))
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Signature(ed25519_dalek::Signature::from_bytes(bytes))
    }

    pub(crate) fn dalek(&self) -> &ed25519_dalek::Signature {
        &self.0
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&STANDARD.encode(self.0.to_bytes()))
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Signature::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 secret key. Its `Debug` shows only the key id; it is never formatted otherwise
/// but by [`SecretKey::to_file_text`], for its file.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        SecretKey(ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng))
    }

    /// Reads the text of a secret key file.
    pub fn from_file_text(text: &str) -> Result<Self, KeyError> {
        let encoded = text.trim().strip_prefix(SECRET_PREFIX).ok_or(KeyError::BadSecretKey)?;
        let seed: [u8; 32] = decode_exact(encoded).ok_or(KeyError::BadSecretKey)?;
        Ok(SecretKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The text of its file: one line.
    pub fn to_file_text(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", STANDARD.encode(self.0.to_bytes()))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey::of(self.0.verifying_key())
    }

    pub fn sign(&self, purpose: Purpose, message: &[u8]) -> Signature {
        Signature(self.0.sign(&purpose.message(message)))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(id {})", self.public().id())
    }
}

/// Base64 of exactly `N` bytes, else `None`.
fn decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Bounded before decoding: a long string never allocates.
    if text.len() > (N / 3 + 1) * 4 {
        return None;
    }
    STANDARD.decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_signatures_read_back_from_their_text() {
        let secret = SecretKey::generate();
        let again = SecretKey::from_file_text(&secret.to_file_text()).unwrap();
        assert_eq!(again.public(), secret.public());
        let public = PublicKey::parse(&secret.public().to_string()).unwrap();
        assert_eq!(public, secret.public());
        assert_eq!(KeyId::parse(&public.id().to_string()).unwrap(), public.id());
        let signature = secret.sign(Purpose::AuditHead, b"head");
        assert_eq!(Signature::parse(&signature.to_string()).unwrap(), signature);
        assert!(!format!("{secret:?}").contains(&secret.to_file_text()[22..40]));
    }

    #[test]
    fn a_signature_holds_only_for_its_message_purpose_and_key() {
        let secret = SecretKey::generate();
        let signature = secret.sign(Purpose::BatchHead, b"head 1");
        let public = secret.public();
        assert_eq!(public.verify(Purpose::BatchHead, b"head 1", &signature), Ok(()));
        assert_eq!(
            public.verify(Purpose::BatchHead, b"head 2", &signature),
            Err(KeyError::SignatureMismatch)
        );
        assert_eq!(public.verify(Purpose::Manifest, b"head 1", &signature), Err(KeyError::SignatureMismatch));
        let other = SecretKey::generate().public();
        assert_eq!(other.verify(Purpose::BatchHead, b"head 1", &signature), Err(KeyError::SignatureMismatch));
    }

    #[test]
    fn bad_texts_are_refused_with_their_reason() {
        assert_eq!(PublicKey::parse("ed25519:AAAA").unwrap_err().reason(), "bad_public_key");
        assert_eq!(PublicKey::parse("rsa:AAAA").unwrap_err().reason(), "bad_public_key");
        // The identity point is a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::BadPublicKey));
        assert_eq!(Signature::parse("c2hvcnQ=").unwrap_err().reason(), "bad_signature_encoding");
        assert_eq!(Signature::parse(&"A".repeat(10_000)).unwrap_err().reason(), "bad_signature_encoding");
        assert_eq!(KeyId::parse("xyz").unwrap_err().reason(), "bad_key_id");
        assert_eq!(SecretKey::from_file_text("hello").unwrap_err().reason(), "bad_secret_key");
    }
}
