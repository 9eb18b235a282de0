//! People: adding one (from the CLI or the API alike), logging in, and the person a bearer
//! token stands for.

use chrono::{DateTime, Duration, Utc};
use convoy_core::Role;
use convoy_store::{Store, StoreError, User};

use crate::credentials::{hash_password, new_token, token_hash, verify_password, DUMMY_HASH};

/// How long a login token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);
/// The longest user name.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest password a person may choose.
pub const MIN_PASSWORD_LEN: usize = 12;

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
    let token = new_token();
    let expires_at = Utc::now() + TOKEN_LIFETIME;
    store.add_token(&token_hash(&token), &user.name, expires_at).await?;
    Ok(Some((token, expires_at)))
}

/// The user a bearer token belongs to, if it is valid now.
pub async fn authenticate(store: &Store, token: &str) -> Result<Option<User>, StoreError> {
    store.token_user(&token_hash(token), Utc::now()).await
}
