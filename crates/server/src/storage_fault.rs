//! A write the storage refused, told to the client as what it is: 503
//! ServiceUnavailableException saying the storage is full (or read-only, or failing), so the
//! client knows to retry later and the operator what to fix. A generic 500 would send both
//! looking for a bug. Reads keep working meanwhile.

use protocol::{ApiError, ErrorCode};
use std::any::Any;
use store::blob::BlobError;
use store::{StorageFault, StoreError};

/// The storage fault behind `cause`, if it is an error that can carry one.
pub fn of(cause: &dyn Any) -> Option<StorageFault> {
    if let Some(e) = cause.downcast_ref::<StoreError>() {
        StorageFault::of(e)
    } else if let Some(e) = cause.downcast_ref::<BlobError>() {
        StorageFault::of(e)
    } else if let Some(e) = cause.downcast_ref::<anyhow::Error>() {
        StorageFault::of(e.as_ref())
    } else {
        None
    }
}

pub fn api_error(fault: StorageFault) -> ApiError {
    let what = match fault {
        StorageFault::Full => "is full",
        StorageFault::ReadOnly => "is read-only",
        StorageFault::Failing => "failed to write (I/O error; it may have become read-only)",
    };
    ApiError::new(
        ErrorCode::ServiceUnavailable,
        format!("The server's storage {what}, so the request could not be completed. Reads still work; retry once the operator has fixed the storage."),
    )
}
