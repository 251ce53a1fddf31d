//! The billing ledger: insert-once entries, queries, the metered sum, and settling a job
//! record together with its entry.

use super::transaction::{abandon, finish, Tx};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row};

use super::builder::Sql;
use super::records;
use crate::ledger::METERED;
use crate::{BillingTotal, LedgerEntry, LedgerQuery, Record, StoreError};

const COLUMNS: &str = "job_arn, account_id, project_arn, run_arn, device_arn, device_name, \
                       platform, billing_method, seconds, started_ms, settled_ms";

fn from_row(row: &AnyRow) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        job_arn: row.try_get("job_arn")?,
        account_id: row.try_get("account_id")?,
        project_arn: row.try_get("project_arn")?,
        run_arn: row.try_get("run_arn")?,
        device_arn: row.try_get("device_arn")?,
        device_name: row.try_get("device_name")?,
        platform: row.try_get("platform")?,
        billing_method: row.try_get("billing_method")?,
        seconds: row.try_get("seconds")?,
        started_ms: row.try_get("started_ms")?,
        settled_ms: row.try_get("settled_ms")?,
    })
}

fn validate(e: &LedgerEntry) -> Result<(), StoreError> {
    match e.invalid_reason() {
        Some(reason) => Err(StoreError::Invalid(format!("ledger entry {}: {reason}", e.job_arn))),
        None => Ok(()),
    }
}

/// Inserts the entry unless its job already has one; true if it did.
async fn insert_once<'c, E>(exec: E, e: &LedgerEntry) -> Result<bool, StoreError>
where
    E: Executor<'c, Database = Any>,
{
    // ON CONFLICT DO NOTHING rather than a read-then-insert: on PostgreSQL a concurrent
    // inserter of the same key waits for the first to commit and then inserts nothing,
    // with no unique-violation error; on SQLite writers are serialised anyway.
    let sql = format!(
        "INSERT INTO billing_ledger ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (job_arn) DO NOTHING"
    );
    let inserted = sqlx::query(&sql)
        .bind(e.job_arn.as_str())
        .bind(e.account_id.as_str())
        .bind(e.project_arn.as_str())
        .bind(e.run_arn.as_str())
        .bind(e.device_arn.as_str())
        .bind(e.device_name.as_str())
        .bind(e.platform.as_str())
        .bind(e.billing_method.as_str())
        .bind(e.seconds)
        .bind(e.started_ms)
        .bind(e.settled_ms)
        .execute(exec)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

pub(crate) async fn record_billing(pool: &AnyPool, e: &LedgerEntry) -> Result<bool, StoreError> {
    validate(e)?;
    insert_once(pool, e).await
}

pub(crate) async fn settle(pool: &AnyPool, job: &Record, e: &LedgerEntry) -> Result<Record, StoreError> {
    validate(e)?;
    if e.job_arn != job.arn || e.account_id != job.account_id {
        return Err(StoreError::Invalid(format!(
            "ledger entry of {} (account {}) settles record {} (account {})",
            e.job_arn, e.account_id, job.arn, job.account_id
        )));
    }
    let mut tx = Tx::begin(pool).await?;
    match settle_in(&mut tx, job, e).await {
        Ok(true) => finish(tx, Ok(records::bumped(job))).await,
        Ok(false) => {
            abandon(tx).await;
            Err(records::why_not_written(pool, job).await?)
        }
        Err(failed) => finish(tx, Err(failed)).await,
    }
}

/// Whether the job's record landed on its version, with its ledger entry.
async fn settle_in(tx: &mut AnyConnection, job: &Record, e: &LedgerEntry) -> Result<bool, StoreError> {
    // The record update comes first: it is the write that takes SQLite's lock up front, and
    // on PostgreSQL its row lock makes a concurrent settler from the same version wait and
    // then match nothing, so only the winner ever reaches the ledger insert.
    if !records::write_version(&mut *tx, job).await? {
        return Ok(false);
    }
    // The entry may already exist (recorded earlier through `record_billing`); the record
    // still settles, and the ledger keeps its one row.
    insert_once(&mut *tx, e).await?;
    Ok(true)
}

pub(crate) async fn billing_entries(pool: &AnyPool, q: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM billing_ledger WHERE 1 = 1"));
    if let Some(account_id) = &q.account_id {
        let p = sql.arg(account_id.as_str());
        sql.push(" AND account_id = ").push(&p);
    }
    if let Some(since) = q.since_ms {
        let p = sql.arg(since);
        sql.push(" AND settled_ms >= ").push(&p);
    }
    if let Some(until) = q.until_ms {
        let p = sql.arg(until);
        sql.push(" AND settled_ms < ").push(&p);
    }
    sql.push(" ORDER BY settled_ms, job_arn");
    let rows = sql.query().fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn metered_seconds(pool: &AnyPool, account_id: &str) -> Result<i64, StoreError> {
    // PostgreSQL's SUM(BIGINT) is NUMERIC, which the Any driver cannot decode: cast it back.
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS n FROM billing_ledger \
         WHERE account_id = $1 AND billing_method = $2",
    )
    .bind(account_id)
    .bind(METERED)
    .fetch_one(pool)
    .await?;
    Ok(row.try_get("n")?)
}

pub(crate) async fn billing_totals(pool: &AnyPool) -> Result<Vec<BillingTotal>, StoreError> {
    let rows = sqlx::query(
        "SELECT billing_method, CAST(COUNT(*) AS BIGINT) AS jobs, CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS seconds \
         FROM billing_ledger GROUP BY billing_method ORDER BY billing_method",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(BillingTotal {
                billing_method: row.try_get("billing_method")?,
                jobs: row.try_get("jobs")?,
                seconds: row.try_get("seconds")?,
            })
        })
        .collect()
}
