//! People: adding one (from the CLI or the API alike), logging in, and the person a bearer
//! token stands for.

use chrono::{DateTime, Duration, Utc};
use convoy_core::Role;
use convoy_store::{PersonChange, PersonChanged, Store, StoreError, User};

use crate::credentials::{
    hash_password, new_token, random_password, token_hash, verify_password, DUMMY_HASH,
};

/// How long a login token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);
/// The longest user name.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest password a person may choose.
pub const MIN_PASSWORD_LEN: usize = 12;
/// The longest password, in bytes, a person may choose and a login may carry: one limit for
/// both, so no password can be set that login then refuses. (argon2 takes any length; this
/// bounds the work an unauthenticated login can ask for.)
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("user name must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-' or '@'")]
    BadName,
    #[error("password must have at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error("password must have at most {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AddUserError {
    /// A short label for programs and counters.
    pub fn reason(&self) -> &'static str {
        match self {
            AddUserError::BadName => "bad_name",
            AddUserError::WeakPassword => "weak_password",
            AddUserError::PasswordTooLong => "password_too_long",
            AddUserError::Store(StoreError::AlreadyExists(_)) => "already_exists",
            AddUserError::Store(_) => "store",
        }
    }
}

pub async fn add_user(store: &Store, name: &str, role: Role, password: &str) -> Result<(), AddUserError> {
    let name_ok = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !name_ok {
        return Err(AddUserError::BadName);
    }
    check_password(password)?;
    let hash = hash_off_thread(password).await?;
    store.add_user(&User { name: name.to_string(), role, password_hash: hash, disabled: false }).await?;
    Ok(())
}

async fn hash_off_thread(password: &str) -> Result<String, StoreError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
}

/// Sets a person's password, checked as when adding a person, and ends every token of theirs
/// but `keep_token` (the SHA-256 of the session that changes its own password, which stays).
pub async fn set_password(
    store: &Store,
    name: &str,
    password: &str,
    keep_token: Option<&str>,
) -> Result<PersonChanged, AddUserError> {
    check_password(password)?;
    let hash = hash_off_thread(password).await?;
    let keep_token = keep_token.map(token_hash);
    Ok(store.change_person(name, &PersonChange::Password { hash, keep_token }).await?)
}

/// Gives a person a new random password (24 letters and digits) and ends every token of
/// theirs; the password is returned to be shown once, or `None` for an unknown person.
pub async fn reset_password(store: &Store, name: &str) -> Result<Option<(String, u64)>, StoreError> {
    let password = random_password();
    let hash = hash_off_thread(&password).await?;
    match store.change_person(name, &PersonChange::Password { hash, keep_token: None }).await? {
        PersonChanged::Changed { revoked, .. } => Ok(Some((password, revoked))),
        // A password change never removes an admin; only an unknown person gets here.
        PersonChanged::NoSuchPerson | PersonChanged::LastAdmin => Ok(None),
    }
}

/// Whether `password` is the person's own (a disabled person's too): the same work for an
/// unknown name as for a known one. Longer than a login takes is never right.
pub async fn password_is_right(store: &Store, name: &str, password: &str) -> Result<bool, StoreError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    let user = store.user(name).await?;
    let hash = user.map(|u| u.password_hash).unwrap_or_else(|| DUMMY_HASH.to_string());
    let password = password.to_string();
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
}

/// Whether a person may choose `password`: at least [`MIN_PASSWORD_LEN`] characters and at
/// most [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_password(password: &str) -> Result<(), AddUserError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AddUserError::WeakPassword);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AddUserError::PasswordTooLong);
    }
    Ok(())
}

/// Checks a login (a disabled person is refused as a wrong password is); on success stores a new token and returns it with its expiry.
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
    // A disabled person's right password is refused like a wrong one: the answer does not
    // tell a guesser that the password was right.
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        return Ok(None);
    };
    let token = new_token();
    let now = Utc::now();
    let expires_at = now + TOKEN_LIFETIME;
    store.add_token(&token_hash(&token), &user.name, expires_at).await?;
    store.record_login(&user.name, now).await?;
    Ok(Some((token, expires_at)))
}

/// The user a bearer token belongs to, if it is valid now.
pub async fn authenticate(store: &Store, token: &str) -> Result<Option<User>, StoreError> {
    store.token_user(&token_hash(token), Utc::now()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_between_the_shortest_and_the_longest_a_login_takes() {
        assert!(matches!(check_password("eleven char"), Err(AddUserError::WeakPassword)));
        assert!(check_password("twelve chars").is_ok());
        assert!(check_password(&"é".repeat(MAX_PASSWORD_BYTES / 2)).is_ok(), "counted in bytes");
        assert!(matches!(
            check_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(AddUserError::PasswordTooLong)
        ));
        assert!(matches!(
            check_password(&"é".repeat(MAX_PASSWORD_BYTES / 2 + 1)),
            Err(AddUserError::PasswordTooLong)
        ));
    }
}
