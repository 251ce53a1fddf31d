//! Device hosts and agent tokens.

use super::transaction::{finish, Tx};
use domain::host::{AgentToken, Host};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::StoreError;

const HOST_COLUMNS: &str = "name, created_ms, last_seen_ms, connected_to, devices";
const TOKEN_COLUMNS: &str = "token_id, secret_hash, host, created_ms, revoked_ms";

fn host_from_row(row: &AnyRow) -> Result<Host, StoreError> {
    let name: String = row.try_get("name")?;
    let devices: String = row.try_get("devices")?;
    let devices =
        serde_json::from_str(&devices).map_err(|e| StoreError::Corrupt(format!("devices of host {name}: {e}")))?;
    Ok(Host {
        name,
        created_ms: row.try_get("created_ms")?,
        last_seen_ms: row.try_get("last_seen_ms")?,
        connected_to: row.try_get("connected_to")?,
        devices,
    })
}

fn token_from_row(row: &AnyRow) -> Result<AgentToken, StoreError> {
    Ok(AgentToken {
        token_id: row.try_get("token_id")?,
        secret_hash: row.try_get("secret_hash")?,
        host: row.try_get("host")?,
        created_ms: row.try_get("created_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}

/// Makes the token, and its host if this is the host's first token.
pub(crate) async fn create_agent_token(pool: &AnyPool, token: &AgentToken) -> Result<(), StoreError> {
    let mut tx = Tx::begin(pool).await?;
    let outcome = create_agent_token_in(&mut tx, token).await;
    finish(tx, outcome).await
}

async fn create_agent_token_in(tx: &mut AnyConnection, token: &AgentToken) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO hosts (name, created_ms, devices) VALUES ($1, $2, '[]') ON CONFLICT (name) DO NOTHING")
        .bind(token.host.as_str())
        .bind(token.created_ms)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO agent_tokens (token_id, secret_hash, host, created_ms, revoked_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (token_id) DO NOTHING",
    )
    .bind(token.token_id.as_str())
    .bind(token.secret_hash.as_str())
    .bind(token.host.as_str())
    .bind(token.created_ms)
    .bind(token.revoked_ms)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists);
    }
    Ok(())
}

pub(crate) async fn agent_token(pool: &AnyPool, token_id: &str) -> Result<Option<AgentToken>, StoreError> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM agent_tokens WHERE token_id = $1");
    let row = sqlx::query(&sql).bind(token_id).fetch_optional(pool).await?;
    row.as_ref().map(token_from_row).transpose()
}

pub(crate) async fn agent_tokens(pool: &AnyPool) -> Result<Vec<AgentToken>, StoreError> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM agent_tokens ORDER BY created_ms, token_id");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(token_from_row).collect()
}

pub(crate) async fn revoke_agent_token(pool: &AnyPool, token_id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let updated = sqlx::query("UPDATE agent_tokens SET revoked_ms = $1 WHERE token_id = $2 AND revoked_ms IS NULL")
        .bind(now_ms)
        .bind(token_id)
        .execute(pool)
        .await?;
    Ok(updated.rows_affected() > 0)
}

pub(crate) async fn hosts(pool: &AnyPool) -> Result<Vec<Host>, StoreError> {
    let sql = format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY name");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(host_from_row).collect()
}

pub(crate) async fn host(pool: &AnyPool, name: &str) -> Result<Option<Host>, StoreError> {
    let sql = format!("SELECT {HOST_COLUMNS} FROM hosts WHERE name = $1");
    let row = sqlx::query(&sql).bind(name).fetch_optional(pool).await?;
    row.as_ref().map(host_from_row).transpose()
}

/// A host connected to `replica` with `devices` (the server's built-in host has no token,
/// so its row may not exist yet).
pub(crate) async fn host_connected(
    pool: &AnyPool,
    name: &str,
    replica: &str,
    devices: &[domain::host::HostedDevice],
    now_ms: i64,
) -> Result<(), StoreError> {
    let devices =
        serde_json::to_string(devices).map_err(|e| StoreError::Corrupt(format!("devices of host {name}: {e}")))?;
    sqlx::query(
        "INSERT INTO hosts (name, created_ms, last_seen_ms, connected_to, devices) VALUES ($1, $2, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET connected_to = $3, devices = $4, last_seen_ms = $2",
    )
    .bind(name)
    .bind(now_ms)
    .bind(replica)
    .bind(devices)
    .execute(pool)
    .await?;
    Ok(())
}

/// A heartbeat: only the replica holding the connection records it, so a replica that
/// lost the host to another cannot mark it alive.
pub(crate) async fn host_seen(pool: &AnyPool, name: &str, replica: &str, now_ms: i64) -> Result<bool, StoreError> {
    let updated = sqlx::query("UPDATE hosts SET last_seen_ms = $1 WHERE name = $2 AND connected_to = $3")
        .bind(now_ms)
        .bind(name)
        .bind(replica)
        .execute(pool)
        .await?;
    Ok(updated.rows_affected() > 0)
}

/// The host's connection to `replica` ended (only if it is still that replica's).
pub(crate) async fn host_disconnected(pool: &AnyPool, name: &str, replica: &str) -> Result<bool, StoreError> {
    let updated = sqlx::query("UPDATE hosts SET connected_to = NULL WHERE name = $1 AND connected_to = $2")
        .bind(name)
        .bind(replica)
        .execute(pool)
        .await?;
    Ok(updated.rows_affected() > 0)
}
