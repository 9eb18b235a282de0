//! Password hashes for people (argon2id), random secrets, and token hashes: the primitives every
//! credential of Convoy is made and checked with. Vehicles' passwords are kept another way
//! ([`crate::vehicle_key`]); only a SHA-256 of a bearer token is ever stored.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// argon2 checks running at once in this process (people's logins, and vehicles registered by
/// an earlier version): argon2 is slow and takes 19 MiB on purpose, so a flood of logins or
/// CONNECTs waits for a turn instead of running hundreds at once on the blocking pool. One per
/// core (at least two).
static PASSWORD_CHECKS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from).max(2))
});

/// A turn to check a password: hold it across the check (and whatever must be judged with it).
pub async fn password_check_turn() -> tokio::sync::SemaphorePermit<'static> {
    PASSWORD_CHECKS.acquire().await.expect("the semaphore is never closed")
}

/// Checks a password against a stored hash; a damaged hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A random password of 24 letters and digits (about 143 bits).
pub fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24)
}

/// A new bearer token: 40 letters and digits (about 238 bits).
pub(crate) fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 40)
}

/// What the store keeps of a bearer token (or a live-feed ticket).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An argon2id hash of a random password nobody knows.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7qRSBdm3SxkuVTAfbuEMQDc/Zr6F+7QUc1ecATVmpCo";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_is_a_valid_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn random_passwords_differ_and_are_long() {
        let (a, b) = (random_password(), random_password());
        assert_ne!(a, b);
        assert_eq!(a.len(), 24);
    }
}
