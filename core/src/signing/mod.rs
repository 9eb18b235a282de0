//! Evidence that holds up outside Convoy: Ed25519 keys, the hash chain that links each
//! vehicle's fixes, and the signatures over it.
//!
//! - [`keys`]: public keys as text (`ed25519:BASE64`), key ids, signing and verifying with a
//!   purpose (a domain tag) so a signature made for one thing never counts for another.
//! - [`chain`]: the canonical bytes of a fix and the chain hash that links it to the fix before.
//! - [`batch`]: the `signed` field of a v1 position batch: the chain hash before the batch and
//!   the signature over the chain head after it.
//!
//! Pure, like the rest of this crate: key files are read and written by their owners (the
//! agent's `key_file`, the server).

pub mod batch;
pub mod chain;
pub mod keys;

pub use batch::{chain_links, BatchSignature, SignatureError, SignedHead};
pub use chain::{fix_bytes, link, ChainHash, GENESIS};
pub use keys::{KeyError, KeyId, PublicKey, Purpose, SecretKey, Signature};
