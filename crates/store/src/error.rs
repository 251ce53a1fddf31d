//! The one error type every [`Store`](crate::Store) operation returns.
//!
//! The first variants are outcomes a caller acts on (they map to Device Farm exceptions);
//! the rest are faults that end as an InternalServiceException.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An account, access key or record with that id already exists.
    #[error("already exists")]
    AlreadyExists,
    /// The thing to update or attach to does not exist (or belongs to another account).
    #[error("not found")]
    NotFound,
    /// The record's version moved since it was read: someone else updated it first.
    #[error("the record was changed concurrently")]
    Conflict,
    /// Applying the tags would leave the resource with more than `limit` tags.
    #[error("a resource can have at most {limit} tags")]
    TooManyTags { limit: usize },
    /// The caller asked to store something the store refuses to keep (e.g. a ledger entry
    /// with an unknown billing method): a bug in the caller, not a runtime condition.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The account already has as many records of the kind as its limit allows.
    #[error("the account's limit of {limit} is reached")]
    LimitReached { limit: i64 },
    /// A fenced write found its lease taken over by another holder.
    #[error("the lease is held by another holder")]
    LeaseLost,
    /// A stored JSON document does not parse: the database was edited by hand or by a newer
    /// farmhand.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database URL is not one farmhand can open.
    #[error("invalid database URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("preparing the database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps the two constraint violations callers act on; everything else stays a fault.
    pub(crate) fn from_constraint(err: sqlx::Error) -> StoreError {
        let kind = match &err {
            sqlx::Error::Database(db) => Some(db.kind()),
            _ => None,
        };
        match kind {
            Some(sqlx::error::ErrorKind::UniqueViolation) => StoreError::AlreadyExists,
            Some(sqlx::error::ErrorKind::ForeignKeyViolation) => StoreError::NotFound,
            _ => StoreError::Database(err),
        }
    }
}
