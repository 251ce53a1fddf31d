//! Resource tags, with AWS's per-resource limit enforced atomically.

use super::transaction::{finish, Tx};
use sqlx::{AnyConnection, AnyPool, Row};

use super::builder::Sql;
use crate::{StoreError, MAX_TAGS_PER_RESOURCE};

pub(crate) async fn tags(pool: &AnyPool, arn: &str) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query("SELECT tag_key, tag_value FROM tags WHERE arn = $1 ORDER BY tag_key")
        .bind(arn)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("tag_key")?, r.try_get("tag_value")?))).collect()
}

pub(crate) async fn put_tags(pool: &AnyPool, arn: &str, new: &[(String, String)]) -> Result<(), StoreError> {
    if new.is_empty() {
        return Ok(());
    }
    let mut tx = Tx::begin(pool).await?;
    let outcome = put_tags_in(&mut tx, arn, new).await;
    finish(tx, outcome).await
}

async fn put_tags_in(tx: &mut AnyConnection, arn: &str, new: &[(String, String)]) -> Result<(), StoreError> {
    // Writing the lock row first serialises tag writers of this ARN: on PostgreSQL the
    // upsert holds its row lock to commit, and on SQLite a write takes the database's write
    // lock (starting with a write also avoids SQLite's read-then-write SQLITE_BUSY). Without
    // it two writers could each see room for their tags and together pass the limit.
    sqlx::query("INSERT INTO tag_locks (arn) VALUES ($1) ON CONFLICT (arn) DO UPDATE SET arn = excluded.arn")
        .bind(arn)
        .execute(&mut *tx)
        .await?;
    for (key, value) in new {
        sqlx::query(
            "INSERT INTO tags (arn, tag_key, tag_value) VALUES ($1, $2, $3) \
             ON CONFLICT (arn, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
        )
        .bind(arn)
        .bind(key.as_str())
        .bind(value.as_str())
        .execute(&mut *tx)
        .await?;
    }
    let row = sqlx::query("SELECT COUNT(*) AS n FROM tags WHERE arn = $1").bind(arn).fetch_one(&mut *tx).await?;
    let n: i64 = row.try_get("n")?;
    if n > MAX_TAGS_PER_RESOURCE as i64 {
        return Err(StoreError::TooManyTags { limit: MAX_TAGS_PER_RESOURCE });
    }
    Ok(())
}

pub(crate) async fn remove_tags(pool: &AnyPool, arn: &str, keys: &[String]) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("DELETE FROM tags WHERE arn = ");
    let p = sql.arg(arn);
    sql.push(&p).push(" AND tag_key IN (");
    let list = sql.arg_list(keys.iter().map(String::as_str));
    sql.push(&list).push(")");
    sql.query().execute(pool).await?;
    Ok(())
}
