//! Generic resource records: insert, read, keyset-paginated list, optimistic update,
//! delete and cascading delete.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row};

use super::builder::Sql;
use super::transaction::{abandon, finish, Tx};
use crate::{Cursor, ListQuery, Page, Record, RecordKind, ScanQuery, StoreError};

const COLUMNS: &str = "arn, account_id, kind, parent_arn, name, status, created_ms, version, body";

/// Placeholders per statement when deleting by a list of ARNs; far below SQLite's limit
/// on bound parameters.
const DELETE_CHUNK: usize = 500;

fn from_row(row: &AnyRow) -> Result<Record, StoreError> {
    let arn: String = row.try_get("arn")?;
    let body: String = row.try_get("body")?;
    let body = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("body of {arn}: {e}")))?;
    let kind: String = row.try_get("kind")?;
    let kind = RecordKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("{arn}: unknown kind {kind:?}")))?;
    Ok(Record {
        arn,
        account_id: row.try_get("account_id")?,
        kind,
        parent_arn: row.try_get("parent_arn")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        created_ms: row.try_get("created_ms")?,
        version: row.try_get("version")?,
        body,
    })
}

pub(crate) async fn insert(pool: &AnyPool, r: &Record) -> Result<(), StoreError> {
    insert_one(pool, r).await
}

/// One transaction, so a crash or a refused insert part way leaves none of them.
pub(crate) async fn insert_all(pool: &AnyPool, records: &[Record]) -> Result<(), StoreError> {
    let mut tx = Tx::begin(pool).await?;
    let outcome = insert_each(&mut tx, records).await;
    finish(tx, outcome).await
}

async fn insert_each(tx: &mut AnyConnection, records: &[Record]) -> Result<(), StoreError> {
    for r in records {
        insert_one(&mut *tx, r).await?;
    }
    Ok(())
}

/// [`insert`] unless the account already has `max` records of the record's kind under the
/// same parent: [`StoreError::LimitReached`] then, and nothing is written. Exact under
/// concurrency: the transaction first writes the account's row, which serialises the
/// account's limited inserts (SQLite's write lock; a row lock on PostgreSQL that the next
/// one waits for before it counts).
pub(crate) async fn insert_limited(pool: &AnyPool, r: &Record, max: i64) -> Result<(), StoreError> {
    let mut tx = Tx::begin(pool).await?;
    let outcome = insert_within(&mut tx, r, max).await;
    finish(tx, outcome).await
}

async fn insert_within(tx: &mut AnyConnection, r: &Record, max: i64) -> Result<(), StoreError> {
    let account =
        sqlx::query("UPDATE accounts SET id = id WHERE id = $1").bind(r.account_id.as_str()).execute(&mut *tx).await?;
    if account.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    let n = count(&mut *tx, &r.account_id, r.kind, r.parent_arn.as_deref()).await?;
    if n >= max {
        return Err(StoreError::LimitReached { limit: max });
    }
    insert_one(&mut *tx, r).await
}

async fn insert_one<'c, E>(exec: E, r: &Record) -> Result<(), StoreError>
where
    E: Executor<'c, Database = Any>,
{
    let sql = format!(
        "INSERT INTO resources ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (arn) DO NOTHING"
    );
    let inserted = sqlx::query(&sql)
        .bind(r.arn.as_str())
        .bind(r.account_id.as_str())
        .bind(r.kind.as_str())
        .bind(r.parent_arn.as_deref())
        .bind(r.name.as_str())
        .bind(r.status.as_deref())
        .bind(r.created_ms)
        .bind(r.version)
        .bind(r.body.to_string())
        .execute(exec)
        .await?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists);
    }
    Ok(())
}

pub(crate) async fn get(pool: &AnyPool, account_id: Option<&str>, arn: &str) -> Result<Option<Record>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM resources WHERE arn = "));
    let p = sql.arg(arn);
    sql.push(&p);
    if let Some(account_id) = account_id {
        let p = sql.arg(account_id);
        sql.push(" AND account_id = ").push(&p);
    }
    let row = sql.query().fetch_optional(pool).await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn list(pool: &AnyPool, q: &ListQuery) -> Result<Page, StoreError> {
    page(
        pool,
        &Filter {
            account_id: Some(&q.account_id),
            kind: q.kind.as_str(),
            parent_arn: q.parent_arn.as_deref(),
            status_in: q.status_in.as_deref(),
            after: q.after.as_ref(),
            limit: q.limit,
        },
    )
    .await
}

pub(crate) async fn scan(pool: &AnyPool, q: &ScanQuery) -> Result<Page, StoreError> {
    page(
        pool,
        &Filter {
            account_id: None,
            kind: q.kind.as_str(),
            parent_arn: None,
            status_in: q.status_in.as_deref(),
            after: q.after.as_ref(),
            limit: q.limit,
        },
    )
    .await
}

/// What [`list`] and [`scan`] share: one keyset page in `(created_ms, arn)` order. Each is
/// served by an index that starts with its equality columns and ends `created_ms, arn`
/// (`resources_by_kind` for a list, `resources_by_status` for a scan).
struct Filter<'q> {
    account_id: Option<&'q str>,
    kind: &'q str,
    parent_arn: Option<&'q str>,
    status_in: Option<&'q [String]>,
    after: Option<&'q Cursor>,
    limit: u32,
}

async fn page(pool: &AnyPool, f: &Filter<'_>) -> Result<Page, StoreError> {
    if f.limit == 0 || f.status_in.is_some_and(|s| s.is_empty()) {
        return Ok(Page { records: Vec::new(), next: None });
    }
    let rows = page_sql(f).query().fetch_all(pool).await?;
    let mut records = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next = if records.len() > f.limit as usize {
        records.truncate(f.limit as usize);
        records.last().map(Cursor::after)
    } else {
        None
    };
    Ok(Page { records, next })
}

fn page_sql(f: &Filter<'_>) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM resources WHERE kind = "));
    let p = sql.arg(f.kind);
    sql.push(&p);
    if let Some(account_id) = f.account_id {
        let p = sql.arg(account_id);
        sql.push(" AND account_id = ").push(&p);
    }
    if let Some(parent) = f.parent_arn {
        let p = sql.arg(parent);
        sql.push(" AND parent_arn = ").push(&p);
    }
    if let Some(statuses) = f.status_in {
        let list = sql.arg_list(statuses.iter().map(String::as_str));
        sql.push(" AND status IN (").push(&list).push(")");
    }
    if let Some(Cursor { created_ms, arn }) = f.after {
        let t = sql.arg(*created_ms);
        let a = sql.arg(arn.as_str());
        sql.push(&format!(" AND (created_ms > {t} OR (created_ms = {t} AND arn > {a}))"));
    }
    // One row more than asked tells whether another page follows, so the last page comes
    // without a cursor (AWS omits nextToken on the last page).
    let limit = sql.arg(i64::from(f.limit) + 1);
    sql.push(" ORDER BY created_ms, arn LIMIT ").push(&limit);
    sql
}

pub(crate) async fn update(pool: &AnyPool, r: &Record) -> Result<Record, StoreError> {
    if write_version(pool, r).await? {
        Ok(bumped(r))
    } else {
        Err(why_not_written(pool, r).await?)
    }
}

/// [`update`] of every record in one transaction: all land on their versions, or none does
/// and the first that could not land says why.
pub(crate) async fn update_all(pool: &AnyPool, records: &[Record]) -> Result<Vec<Record>, StoreError> {
    let mut tx = Tx::begin(pool).await?;
    match write_each(&mut tx, records).await {
        Ok(None) => finish(tx, Ok(records.iter().map(bumped).collect())).await,
        Ok(Some(missed)) => {
            abandon(tx).await;
            Err(why_not_written(pool, missed).await?)
        }
        Err(e) => finish(tx, Err(e)).await,
    }
}

/// Writes each record on its version; the first that does not land ends the work, and
/// the transaction with it (nothing of it is committed).
async fn write_each<'r>(tx: &mut AnyConnection, records: &'r [Record]) -> Result<Option<&'r Record>, StoreError> {
    for r in records {
        if !write_version(&mut *tx, r).await? {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// The optimistic write behind [`update`], on any executor so a transaction can include it;
/// false if nothing matched (the version moved, or the record is gone).
pub(super) async fn write_version<'c, E>(exec: E, r: &Record) -> Result<bool, StoreError>
where
    E: Executor<'c, Database = Any>,
{
    // The version check and the bump are one statement: on PostgreSQL a concurrent updater
    // waits for the row lock and then re-evaluates `version = $7` against the committed row,
    // so of two writers from the same version exactly one matches.
    let updated = sqlx::query(
        "UPDATE resources SET parent_arn = $1, name = $2, status = $3, body = $4, version = version + 1 \
         WHERE arn = $5 AND account_id = $6 AND version = $7",
    )
    .bind(r.parent_arn.as_deref())
    .bind(r.name.as_str())
    .bind(r.status.as_deref())
    .bind(r.body.to_string())
    .bind(r.arn.as_str())
    .bind(r.account_id.as_str())
    .bind(r.version)
    .execute(exec)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// `r` as stored by a successful [`write_version`].
pub(super) fn bumped(r: &Record) -> Record {
    Record { version: r.version + 1, ..r.clone() }
}

/// Why [`write_version`] matched nothing: [`StoreError::Conflict`] or [`StoreError::NotFound`].
pub(super) async fn why_not_written(pool: &AnyPool, r: &Record) -> Result<StoreError, StoreError> {
    Ok(match get(pool, Some(&r.account_id), &r.arn).await? {
        Some(_) => StoreError::Conflict,
        None => StoreError::NotFound,
    })
}

pub(crate) async fn delete(pool: &AnyPool, account_id: &str, arn: &str) -> Result<bool, StoreError> {
    let mut tx = Tx::begin(pool).await?;
    let outcome = delete_one(&mut tx, account_id, arn).await;
    finish(tx, outcome).await
}

async fn delete_one(tx: &mut AnyConnection, account_id: &str, arn: &str) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM resources WHERE arn = $1 AND account_id = $2")
        .bind(arn)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    delete_tags_of(tx, &[arn.to_owned()]).await?;
    Ok(true)
}

/// Deletes the record at `arn` and, with their tags, every record reachable from it through
/// `parent_arn` links (children, grandchildren…), in one transaction; false if `arn` is not
/// the account's.
pub(crate) async fn delete_tree(pool: &AnyPool, account_id: &str, arn: &str) -> Result<bool, StoreError> {
    // Follows parent_arn links rather than ARN prefixes: a run's ARN does not prefix its
    // project's, but every child names its parent. UNION (not UNION ALL) ends the recursion
    // even if bad data made a cycle. Deleting with RETURNING takes the set once, so a child
    // inserted meanwhile is either deleted with its tags or not touched at all.
    let mut tx = Tx::begin(pool).await?;
    let outcome = delete_below(&mut tx, account_id, arn).await;
    finish(tx, outcome).await
}

async fn delete_below(tx: &mut AnyConnection, account_id: &str, arn: &str) -> Result<bool, StoreError> {
    let rows = sqlx::query(
        "WITH RECURSIVE doomed(arn) AS ( \
             SELECT arn FROM resources WHERE arn = $1 AND account_id = $2 \
             UNION \
             SELECT r.arn FROM resources r JOIN doomed d ON r.parent_arn = d.arn WHERE r.account_id = $2 \
         ) \
         DELETE FROM resources WHERE arn IN (SELECT arn FROM doomed) RETURNING arn",
    )
    .bind(arn)
    .bind(account_id)
    .fetch_all(&mut *tx)
    .await?;
    let arns = rows.iter().map(|r| r.try_get::<String, _>("arn")).collect::<Result<Vec<_>, _>>()?;
    if arns.is_empty() {
        return Ok(false);
    }
    delete_tags_of(tx, &arns).await?;
    Ok(true)
}

async fn delete_tags_of(tx: &mut AnyConnection, arns: &[String]) -> Result<(), StoreError> {
    for chunk in arns.chunks(DELETE_CHUNK) {
        for table in ["tags", "tag_locks"] {
            let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE arn IN ("));
            let list = sql.arg_list(chunk.iter().map(String::as_str));
            sql.push(&list).push(")");
            sql.query().execute(&mut *tx).await?;
        }
    }
    Ok(())
}

pub(crate) async fn count<'c, E>(
    exec: E,
    account_id: &str,
    kind: RecordKind,
    parent_arn: Option<&str>,
) -> Result<i64, StoreError>
where
    E: Executor<'c, Database = Any>,
{
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM resources WHERE account_id = ");
    let p = sql.arg(account_id);
    sql.push(&p);
    let p = sql.arg(kind.as_str());
    sql.push(" AND kind = ").push(&p);
    if let Some(parent) = parent_arn {
        let p = sql.arg(parent);
        sql.push(" AND parent_arn = ").push(&p);
    }
    let row = sql.query().fetch_one(exec).await?;
    Ok(row.try_get("n")?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sql::SqlStore;

    /// SQLite's plan for a page query, one step per line.
    async fn plan(f: &Filter<'_>) -> String {
        let store = SqlStore::open("sqlite::memory:").await.unwrap();
        let sql = page_sql(f).with_prefix("EXPLAIN QUERY PLAN ");
        let rows = sql.query().fetch_all(&store.pool).await.unwrap();
        rows.iter().map(|r| r.get::<String, _>("detail")).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn a_scan_by_status_walks_its_index_in_order() {
        let statuses = ["PENDING".to_owned()];
        let cursor = Cursor { created_ms: 5, arn: "arn:x".to_owned() };
        let plan = plan(&Filter {
            account_id: None,
            kind: "job",
            parent_arn: None,
            status_in: Some(&statuses),
            after: Some(&cursor),
            limit: 10,
        })
        .await;
        assert!(plan.contains("resources_by_status"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort step: {plan}");
    }

    #[tokio::test]
    async fn a_list_walks_the_per_account_index_in_order() {
        let plan = plan(&Filter {
            account_id: Some("111111111111"),
            kind: "project",
            parent_arn: None,
            status_in: None,
            after: None,
            limit: 10,
        })
        .await;
        assert!(plan.contains("resources_by_kind"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort step: {plan}");
    }
}
