//! Ending a transaction on purpose either way.

use sqlx::{Any, Transaction};

use crate::StoreError;

/// Commits `tx` when the work done in it succeeded, and rolls it back at once when it
/// failed. A transaction dropped unfinished is only rolled back when its connection is next
/// used, and on SQLite an idle pooled connection would hold the write lock until then:
/// every other writer answered "database is locked" after a full disk made one write fail.
pub(super) async fn finish<T>(tx: Transaction<'_, Any>, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
    match outcome {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            abandon(tx).await;
            Err(e)
        }
    }
}

/// Rolls `tx` back now. The failure that ended the work is what the caller hears; a
/// rollback that fails too (the connection is gone) leaves nothing behind to undo.
pub(super) async fn abandon(tx: Transaction<'_, Any>) {
    if let Err(rollback) = tx.rollback().await {
        tracing::warn!(error = %rollback, "rolling back a failed transaction failed");
    }
}
