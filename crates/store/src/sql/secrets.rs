//! Server-wide secrets (e.g. the key that signs pagination tokens and upload URLs), created
//! once and shared by every replica.

use sqlx::{AnyPool, Row};

use crate::StoreError;

pub(crate) async fn secret_or_init(pool: &AnyPool, name: &str, candidate: String) -> Result<String, StoreError> {
    // Insert-if-absent then read: whichever replica inserts first wins, and every caller,
    // the losers included, reads the winner's value. No transaction is needed because the
    // row never changes once written.
    sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(candidate)
        .execute(pool)
        .await?;
    let row = sqlx::query("SELECT value FROM secrets WHERE name = $1").bind(name).fetch_one(pool).await?;
    Ok(row.try_get("value")?)
}
