//! Transactions begun, committed and rolled back by hand, so none is ever left open.
//!
//! sqlx's own `Transaction` rolls back on drop only when its connection is next used, and
//! one whose COMMIT failed is dropped that way too: on SQLite, an idle pooled connection
//! then holds the write lock and every other writer answers "database is locked" (seen
//! after a full disk made writes fail). Here a failed transaction is rolled back at once,
//! and a connection that cannot roll back is closed, which releases whatever it held.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};

use crate::StoreError;

/// An open transaction on a connection of its own; end it with [`finish`] or [`abandon`].
pub(super) struct Tx(PoolConnection<Any>);

impl Tx {
    pub(super) async fn begin(pool: &AnyPool) -> Result<Tx, StoreError> {
        let mut conn = pool.acquire().await?;
        conn.execute("BEGIN").await?;
        Ok(Tx(conn))
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.0
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}

/// Commits `tx` when the work done in it succeeded; rolls it back when it failed or when
/// the commit itself fails.
pub(super) async fn finish<T>(mut tx: Tx, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
    match outcome {
        Ok(value) => match tx.0.execute("COMMIT").await {
            Ok(_) => Ok(value),
            Err(e) => {
                abandon(tx).await;
                Err(e.into())
            }
        },
        Err(e) => {
            abandon(tx).await;
            Err(e)
        }
    }
}

/// Rolls `tx` back now. The failure that ended the work is what the caller hears; when the
/// rollback fails too, the connection is closed rather than returned to the pool.
pub(super) async fn abandon(mut tx: Tx) {
    if let Err(e) = tx.0.execute("ROLLBACK").await {
        tracing::warn!(error = %e, "rolling back a failed transaction failed; closing its connection");
        drop(tx.0.detach());
    }
}
