//! The store's one error type, shared by both backends so callers handle a failure the same
//! way whichever database they run on.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is neither sqlite://PATH nor postgres://...")]
    BadUrl(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL pool: {0}")]
    Pool(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// Whether the database refused a value the caller gave (PostgreSQL's data exceptions,
    /// class 22: a NUL byte in text, a number out of range), not failed: the request was bad,
    /// and asking again will not help.
    pub fn is_refused_value(&self) -> bool {
        match self {
            StoreError::Postgres(e) => e.code().is_some_and(|code| code.code().starts_with("22")),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
