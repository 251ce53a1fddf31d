//! Bringing the schema up to date, and telling whether it is.
//!
//! Replicas sharing one PostgreSQL database may start together. Applying a migration twice
//! fails (the second `CREATE TABLE` finds the first's table), so the whole sequence — create
//! the version table, read it, apply what is missing — runs while this connection holds a
//! PostgreSQL advisory lock: a second replica waits, then finds nothing left to do.
//! SQLite takes no such lock: its database is one file, served by one farmhand.

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row};

use crate::{Backend, StoreError};

/// The advisory lock farmhand's migrations hold. Advisory locks are per database, so a
/// constant is enough; any value no other application on the database uses will do
/// (this one is "farmhand" in ASCII).
pub(crate) const MIGRATION_LOCK_KEY: i64 = 0x6661_726d_6861_6e64;

/// The migrations this build carries for `backend`.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let mut migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    // sqlx would take a lock of its own around the same sequence; ours already covers it.
    migrator.set_locking(false);
    migrator
}

/// Applies the migrations `pool` lacks.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let migrator = migrator(backend);
    match backend {
        Backend::Sqlite => Ok(migrator.run(pool).await?),
        Backend::Postgres => {
            let mut conn = pool.acquire().await?;
            let outcome = run_locked(&mut conn, &migrator).await;
            if outcome.is_err() {
                // A session-level advisory lock outlives an error in the middle: ending the
                // session is the one sure way to let the other replicas go on.
                let _ = conn.close().await;
            }
            outcome
        }
    }
}

async fn run_locked(conn: &mut PoolConnection<Any>, migrator: &Migrator) -> Result<(), StoreError> {
    let free: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(MIGRATION_LOCK_KEY).fetch_one(&mut **conn).await?;
    if !free {
        tracing::info!("another replica is migrating the database; waiting for it");
        // `pg_advisory_lock` returns `void`, a type the Any driver cannot carry, hence the
        // select from it rather than of it.
        sqlx::query("SELECT 1 FROM pg_advisory_lock($1)").bind(MIGRATION_LOCK_KEY).execute(&mut **conn).await?;
    }
    migrator.run_direct(&mut **conn).await?;
    sqlx::query("SELECT 1 FROM pg_advisory_unlock($1)").bind(MIGRATION_LOCK_KEY).execute(&mut **conn).await?;
    Ok(())
}

/// The versions this build carries that the database has not applied successfully: empty
/// when the schema is up to date. Reading the version table is also the cheapest proof
/// that the database answers.
pub(crate) async fn missing(pool: &AnyPool, backend: Backend) -> Result<Vec<i64>, StoreError> {
    let mut conn = pool.acquire().await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>("version"))
        .collect::<Result<_, _>>()?;
    Ok(migrator(backend)
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .map(|m| m.version)
        .collect())
}
