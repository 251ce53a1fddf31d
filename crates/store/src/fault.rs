//! Writes the storage itself refused: a full disk, a read-only filesystem, a failing device.
//!
//! These are the operator's to fix, not bugs, and they end once fixed; the server tells
//! clients so (instead of a generic internal error) and keeps serving reads meanwhile. Each
//! backend reports them its own way, so they are recognised here, where the backends are
//! known, by walking an error's causes.

use std::error::Error;
use std::io;

/// Why the storage refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// No space left (or a quota reached).
    Full,
    /// The filesystem or database takes no writes.
    ReadOnly,
    /// An I/O error with no finer cause: SQLite reports a write to a filesystem that
    /// turned read-only this way, so it cannot be told apart from a failing disk.
    Failing,
}

impl StorageFault {
    /// The first storage fault among `err` and its causes.
    pub fn of(err: &(dyn Error + 'static)) -> Option<StorageFault> {
        let mut cause = Some(err);
        while let Some(err) = cause {
            let fault = match err.downcast_ref::<io::Error>() {
                Some(io) => of_io(io),
                None => err.downcast_ref::<sqlx::Error>().and_then(of_database),
            };
            if fault.is_some() {
                return fault;
            }
            cause = err.source();
        }
        None
    }
}

fn of_io(err: &io::Error) -> Option<StorageFault> {
    match err.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Some(StorageFault::Full),
        io::ErrorKind::ReadOnlyFilesystem => Some(StorageFault::ReadOnly),
        _ => None,
    }
}

/// SQLite result codes (the primary code is the extended code's low byte).
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
/// PostgreSQL SQLSTATEs.
const PG_DISK_FULL: &str = "53100";
const PG_READ_ONLY_TRANSACTION: &str = "25006";

fn of_database(err: &sqlx::Error) -> Option<StorageFault> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    let code = db.code()?;
    if let Ok(sqlite) = code.parse::<i64>() {
        return match sqlite & 0xff {
            SQLITE_FULL => Some(StorageFault::Full),
            SQLITE_READONLY => Some(StorageFault::ReadOnly),
            SQLITE_IOERR => Some(StorageFault::Failing),
            _ => None,
        };
    }
    match code.as_ref() {
        PG_DISK_FULL => Some(StorageFault::Full),
        PG_READ_ONLY_TRANSACTION => Some(StorageFault::ReadOnly),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;

    #[test]
    fn io_errors_are_recognised_through_their_wrappers() {
        let full = StoreError::Io(io::Error::from_raw_os_error(28));
        assert_eq!(StorageFault::of(&full), Some(StorageFault::Full));
        let read_only = crate::blob::BlobError::Io(io::Error::from_raw_os_error(30));
        assert_eq!(StorageFault::of(&read_only), Some(StorageFault::ReadOnly));
        let other = StoreError::Io(io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(StorageFault::of(&other), None);
        assert_eq!(StorageFault::of(&StoreError::Conflict), None);
    }
}
