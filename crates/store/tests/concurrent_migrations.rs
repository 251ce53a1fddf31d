//! Replicas starting together on an empty PostgreSQL database: every one of them opens the
//! store, and the schema is created once. Runs only when `FARMHAND_TEST_DATABASE_URL` is set,
//! each case in a fresh schema of its own.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection, Row};
use tokio::sync::Barrier;

const PG_URL_VAR: &str = "FARMHAND_TEST_DATABASE_URL";
const REPLICAS: usize = 4;

/// An empty schema, dropped when the test ends (even by a panic).
struct FreshSchema {
    admin_url: String,
    name: String,
}

impl FreshSchema {
    async fn create() -> Option<FreshSchema> {
        let admin_url = std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty())?;
        let name = format!("farmhand_migrate_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        admin.execute(format!("CREATE SCHEMA \"{name}\"").as_str()).await.unwrap();
        admin.close().await.unwrap();
        Some(FreshSchema { admin_url, name })
    }

    /// The URL a replica would be configured with: the schema is its search path.
    fn url(&self) -> String {
        let sep = if self.admin_url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.admin_url, self.name)
    }

    async fn applied_versions(&self) -> Vec<(i64, bool)> {
        let mut conn = PgConnection::connect(&self.url()).await.unwrap();
        let rows = conn.fetch_all("SELECT version, success FROM _sqlx_migrations ORDER BY version").await.unwrap();
        rows.iter().map(|r| (r.get("version"), r.get("success"))).collect()
    }
}

impl Drop for FreshSchema {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop cannot await and may run on a runtime thread: a thread with its own runtime.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&url).await {
                    let _ = conn.execute(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE").as_str()).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// The versions of the migration files this build embeds.
fn shipped_versions() -> Vec<i64> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .map(|name| name.split('_').next().unwrap().parse().unwrap())
        .collect();
    versions.sort();
    versions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_opening_an_empty_database_together_all_succeed_and_migrate_once() {
    // A race can go either way on one try; several fresh schemas make a lost race show.
    for _ in 0..5 {
        let Some(schema) = FreshSchema::create().await else {
            eprintln!("skipped: {PG_URL_VAR} is not set");
            return;
        };
        let url = schema.url();
        let start = Arc::new(Barrier::new(REPLICAS));
        let replicas: Vec<_> = (0..REPLICAS)
            .map(|_| {
                let (url, start) = (url.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    // Each open is a replica of its own: its own pool, its own migration run.
                    let store = store::open(&url).await?;
                    let missing = store.missing_migrations().await?;
                    store.close().await;
                    Ok::<_, store::StoreError>(missing)
                })
            })
            .collect();
        for (i, replica) in replicas.into_iter().enumerate() {
            let missing = replica.await.unwrap().unwrap_or_else(|e| panic!("replica {i} failed to open: {e}"));
            assert!(missing.is_empty(), "replica {i} sees missing migrations {missing:?}");
        }
        let expected: Vec<(i64, bool)> = shipped_versions().into_iter().map(|v| (v, true)).collect();
        assert_eq!(schema.applied_versions().await, expected, "each migration applied exactly once");
    }
}

#[tokio::test]
async fn a_database_missing_a_migration_says_which() {
    let Some(schema) = FreshSchema::create().await else {
        eprintln!("skipped: {PG_URL_VAR} is not set");
        return;
    };
    let store = store::open(&schema.url()).await.unwrap();
    assert_eq!(store.missing_migrations().await.unwrap(), Vec::<i64>::new());
    let last = *shipped_versions().last().unwrap();
    let mut conn = PgConnection::connect(&schema.url()).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1").bind(last).execute(&mut conn).await.unwrap();
    assert_eq!(store.missing_migrations().await.unwrap(), vec![last]);
    store.close().await;
}
