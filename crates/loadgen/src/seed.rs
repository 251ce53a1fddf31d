//! Grows a stopped server's SQLite store to a million jobs in seconds, by copying one real
//! run (made through the API, so every row is what farmhand itself writes) under new run
//! ids in a single transaction. Going through the API would take hours for what the bench
//! wants to know: whether reads stay fast when the table is big.
//!
//! This knows the store's table layout, which only the store crate owns otherwise; it is a
//! bench tool reading a bench database, and the copy fails loudly if the layout moves.

use anyhow::{ensure, Context, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;

/// `arn` (of the run or one of its jobs) as it is named in copy `n` (0: the original), by
/// the rule [`copy_run`]'s SQL applies: the run id's last 8 hex digits count the copies.
pub fn arn_in_copy(arn: &str, run_id: &str, n: u64) -> String {
    if n == 0 {
        arn.to_string()
    } else {
        arn.replace(run_id, &format!("{}{n:08x}", &run_id[..28]))
    }
}

/// Adds `copies` copies of run `run_arn` and its jobs; returns the jobs now stored.
pub async fn copy_run(database: &Path, run_arn: &str, copies: u64) -> Result<u64> {
    let run_id = run_arn.rsplit('/').next().context("run ARN without an id")?;
    // The copy's id keeps the UUID shape ARNs are checked for: the last 8 hex digits count.
    ensure!(run_id.len() == 36, "run id {run_id} is not a UUID");
    let mut connection = SqliteConnectOptions::new()
        .filename(database)
        .journal_mode(SqliteJournalMode::Wal)
        .connect()
        .await
        .with_context(|| format!("opening {}", database.display()))?;
    let mut tx = connection.begin().await?;
    sqlx::query(
        "WITH RECURSIVE copy(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM copy WHERE n < ?1)
         INSERT INTO resources (arn, account_id, kind, parent_arn, name, status, created_ms, version, body)
         SELECT replace(r.arn, ?2, substr(?2, 1, 28) || printf('%08x', n)),
                r.account_id, r.kind,
                replace(r.parent_arn, ?2, substr(?2, 1, 28) || printf('%08x', n)),
                r.name, r.status, r.created_ms + n, r.version,
                replace(r.body, ?2, substr(?2, 1, 28) || printf('%08x', n))
         FROM copy, resources r
         WHERE (r.arn = ?3 OR (r.parent_arn = ?3 AND r.kind = 'job'))",
    )
    .bind(copies as i64)
    .bind(run_id)
    .bind(run_arn)
    .execute(&mut *tx)
    .await
    .context("copying the run")?;
    tx.commit().await?;
    let (jobs,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM resources WHERE kind = 'job'").fetch_one(&mut connection).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut connection).await?;
    connection.close().await?;
    Ok(jobs as u64)
}
