//! Accounts and access keys.

use domain::account::{AccessKey, Account, AccountSettings};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::StoreError;

const ACCOUNT_COLUMNS: &str = "id, name, created_ms, settings";
const KEY_COLUMNS: &str = "access_key_id, secret_access_key, account_id, created_ms, revoked_ms";

fn settings_json(settings: &AccountSettings) -> Result<String, StoreError> {
    serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(format!("account settings: {e}")))
}

fn account_from_row(row: &AnyRow) -> Result<Account, StoreError> {
    account_from_columns(row, "created_ms")
}

/// Reads an account from `row`, whose creation time is in `created_column` (a join with
/// another table's `created_ms` renames it).
fn account_from_columns(row: &AnyRow, created_column: &str) -> Result<Account, StoreError> {
    let id: String = row.try_get("id")?;
    let settings: String = row.try_get("settings")?;
    let settings =
        serde_json::from_str(&settings).map_err(|e| StoreError::Corrupt(format!("settings of account {id}: {e}")))?;
    Ok(Account { id, name: row.try_get("name")?, created_ms: row.try_get(created_column)?, settings })
}

fn key_from_row(row: &AnyRow) -> Result<AccessKey, StoreError> {
    Ok(AccessKey {
        access_key_id: row.try_get("access_key_id")?,
        secret_access_key: row.try_get("secret_access_key")?,
        account_id: row.try_get("account_id")?,
        created_ms: row.try_get("created_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}

pub(crate) async fn create_account(pool: &AnyPool, account: &Account) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO accounts (id, name, created_ms, settings) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(account.id.as_str())
    .bind(account.name.as_str())
    .bind(account.created_ms)
    .bind(settings_json(&account.settings)?)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists);
    }
    Ok(())
}

pub(crate) async fn account(pool: &AnyPool, id: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(account_from_row).transpose()
}

pub(crate) async fn accounts(pool: &AnyPool) -> Result<Vec<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY created_ms, id");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(account_from_row).collect()
}

pub(crate) async fn update_account_settings(
    pool: &AnyPool,
    id: &str,
    settings: &AccountSettings,
) -> Result<(), StoreError> {
    let updated = sqlx::query("UPDATE accounts SET settings = $1 WHERE id = $2")
        .bind(settings_json(settings)?)
        .bind(id)
        .execute(pool)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn create_access_key(pool: &AnyPool, key: &AccessKey) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO access_keys (access_key_id, secret_access_key, account_id, created_ms, revoked_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (access_key_id) DO NOTHING",
    )
    .bind(key.access_key_id.as_str())
    .bind(key.secret_access_key.as_str())
    .bind(key.account_id.as_str())
    .bind(key.created_ms)
    .bind(key.revoked_ms)
    .execute(pool)
    .await
    // A missing account surfaces as a foreign-key violation: NotFound.
    .map_err(StoreError::from_constraint)?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists);
    }
    Ok(())
}

pub(crate) async fn access_key(pool: &AnyPool, access_key_id: &str) -> Result<Option<AccessKey>, StoreError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM access_keys WHERE access_key_id = $1");
    let row = sqlx::query(&sql).bind(access_key_id).fetch_optional(pool).await?;
    row.as_ref().map(key_from_row).transpose()
}

pub(crate) async fn access_key_with_account(
    pool: &AnyPool,
    access_key_id: &str,
) -> Result<Option<(AccessKey, Account)>, StoreError> {
    let row = sqlx::query(
        "SELECT k.access_key_id, k.secret_access_key, k.account_id, k.created_ms, k.revoked_ms, \
                a.id, a.name, a.created_ms AS account_created_ms, a.settings \
         FROM access_keys k JOIN accounts a ON a.id = k.account_id WHERE k.access_key_id = $1",
    )
    .bind(access_key_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(|row| Ok((key_from_row(row)?, account_from_columns(row, "account_created_ms")?))).transpose()
}

pub(crate) async fn access_keys(pool: &AnyPool, account_id: &str) -> Result<Vec<AccessKey>, StoreError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM access_keys WHERE account_id = $1 ORDER BY created_ms, access_key_id");
    let rows = sqlx::query(&sql).bind(account_id).fetch_all(pool).await?;
    rows.iter().map(key_from_row).collect()
}

pub(crate) async fn revoke_access_key(pool: &AnyPool, access_key_id: &str, now_ms: i64) -> Result<bool, StoreError> {
    // Revoking twice keeps the first revocation time.
    let updated = sqlx::query("UPDATE access_keys SET revoked_ms = $1 WHERE access_key_id = $2 AND revoked_ms IS NULL")
        .bind(now_ms)
        .bind(access_key_id)
        .execute(pool)
        .await?;
    Ok(updated.rows_affected() > 0)
}
