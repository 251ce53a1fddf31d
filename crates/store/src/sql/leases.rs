//! Leases and fenced writes.

use super::transaction::{finish, Tx};
use sqlx::{AnyConnection, AnyPool, Row};

use super::records;
use crate::{Lease, Record, StoreError};

/// Takes `name` for `holder` until `now_ms + ttl_ms` if it is free, expired, or already
/// `holder`'s; returns the lease then held, if it is `holder`'s.
pub(crate) async fn acquire(
    pool: &AnyPool,
    name: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<Option<Lease>, StoreError> {
    // One statement: on PostgreSQL the row lock, on SQLite the write lock, makes two
    // contenders for an expired lease see each other's result; the token grows only when
    // the holder changes.
    sqlx::query(
        "INSERT INTO leases (name, holder, token, expires_ms) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (name) DO UPDATE SET \
           token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END, \
           holder = excluded.holder, expires_ms = excluded.expires_ms \
         WHERE leases.holder = excluded.holder OR leases.expires_ms <= $4",
    )
    .bind(name)
    .bind(holder)
    .bind(now_ms.saturating_add(ttl_ms))
    .bind(now_ms)
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT holder, token FROM leases WHERE name = $1").bind(name).fetch_optional(pool).await?;
    let Some(row) = row else { return Ok(None) };
    let current: String = row.try_get("holder")?;
    let token: i64 = row.try_get("token")?;
    Ok((current == holder).then(|| Lease { name: name.to_string(), holder: current, token }))
}

/// [`records::update`] that only lands while `lease` is still held with its token.
pub(crate) async fn update_fenced(pool: &AnyPool, r: &Record, lease: &Lease) -> Result<Record, StoreError> {
    update_all_fenced(pool, std::slice::from_ref(r), lease).await?.pop().unwrap_or(Err(StoreError::NotFound))
}

/// Writes every record whose version still matches, all under one check of the lease and
/// in one transaction: a scheduler pass placing a thousand jobs commits (and syncs) once.
pub(crate) async fn update_all_fenced(
    pool: &AnyPool,
    batch: &[Record],
    lease: &Lease,
) -> Result<Vec<Result<Record, StoreError>>, StoreError> {
    let mut tx = Tx::begin(pool).await?;
    let outcome = write_fenced(&mut tx, batch, lease).await;
    let written = finish(tx, outcome).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (r, landed) in batch.iter().zip(written) {
        outcomes.push(if landed { Ok(records::bumped(r)) } else { Err(records::why_not_written(pool, r).await?) });
    }
    Ok(outcomes)
}

/// Whether each record landed, once the lease is found still held (the batch's first write).
async fn write_fenced(tx: &mut AnyConnection, batch: &[Record], lease: &Lease) -> Result<Vec<bool>, StoreError> {
    // The transaction's first statement writes the lease row: it takes SQLite's write lock,
    // and on PostgreSQL a row lock that a successor's takeover waits for until we commit,
    // so the successor's reads see these writes.
    let held = sqlx::query("UPDATE leases SET token = token WHERE name = $1 AND holder = $2 AND token = $3")
        .bind(lease.name.as_str())
        .bind(lease.holder.as_str())
        .bind(lease.token)
        .execute(&mut *tx)
        .await?;
    if held.rows_affected() != 1 {
        return Err(StoreError::LeaseLost);
    }
    let mut written = Vec::with_capacity(batch.len());
    for r in batch {
        written.push(records::write_version(&mut *tx, r).await?);
    }
    Ok(written)
}
