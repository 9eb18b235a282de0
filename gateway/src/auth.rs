//! Credentials: argon2id password hashes for people, random passwords (vehicles' are kept as a
//! salted HMAC: [`crate::vehicle_key`]), and bearer tokens of which only a SHA-256 is stored.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use convoy_core::{Role, VehicleId};
use convoy_store::{Store, StoreError, User};
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

/// How long a login token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);
/// The longest user name.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest password a person may choose.
pub const MIN_PASSWORD_LEN: usize = 12;

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

/// Registers a vehicle with a new random MQTT password, stores only its hash, and returns the
/// password: it is shown once and cannot be recovered.
/// (A salted HMAC, not argon2: see [`crate::vehicle_key`].)
pub async fn register_vehicle(store: &Store, id: &VehicleId) -> Result<String, StoreError> {
    let password = random_password();
    store.add_vehicle(id, &crate::vehicle_key::hash_vehicle_password(&password)).await?;
    Ok(password)
}

/// Why a user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("user name must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-' or '@'")]
    BadName,
    #[error("password must have at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn add_user(store: &Store, name: &str, role: Role, password: &str) -> Result<(), AddUserError> {
    let name_ok = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !name_ok {
        return Err(AddUserError::BadName);
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AddUserError::WeakPassword);
    }
    let hash = tokio::task::spawn_blocking({
        let password = password.to_string();
        move || hash_password(&password)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?;
    store.add_user(&User { name: name.to_string(), role, password_hash: hash }).await?;
    Ok(())
}

/// Checks a login; on success stores a new token and returns it with its expiry.
pub async fn login(
    store: &Store,
    name: &str,
    password: &str,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    let user = store.user(name).await?;
    // Verify against a dummy hash when the user does not exist, so timing does not tell
    // which user names exist.
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
    let Some(user) = user.filter(|_| ok) else {
        return Ok(None);
    };
    let token = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 40);
    let expires_at = Utc::now() + TOKEN_LIFETIME;
    store.add_token(&token_hash(&token), &user.name, expires_at).await?;
    Ok(Some((token, expires_at)))
}

/// The user a bearer token belongs to, if it is valid now.
pub async fn authenticate(store: &Store, token: &str) -> Result<Option<User>, StoreError> {
    store.token_user(&token_hash(token), Utc::now()).await
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An argon2id hash of a random password nobody knows.
pub(crate) const DUMMY_HASH: &str =
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
