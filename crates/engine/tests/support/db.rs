//! A fresh, isolated database per test: a SQLite file in a temp dir, or a PostgreSQL schema
//! of its own (dropped afterwards, even when the test panics). Kept by URL so that a test
//! can open it again, as a second replica or a restarted server would.

use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;
use store::Store;

pub const PG_URL_VAR: &str = "FARMHAND_TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<PgSchema>,
}

impl Db {
    /// `None` for PostgreSQL when no server is configured: the test is skipped.
    pub async fn create(backend: Backend) -> Option<Db> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("farmhand.db").display());
                Some(Db { url, _dir: Some(dir), _schema: None })
            }
            Backend::Postgres => {
                let Some(admin_url) = std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty()) else {
                    eprintln!("skipped: {PG_URL_VAR} is not set");
                    return None;
                };
                let name = format!("farmhand_engine_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::connect(&admin_url).await.expect("connect to PostgreSQL");
                admin.execute(format!("CREATE SCHEMA \"{name}\"").as_str()).await.expect("create schema");
                admin.close().await.expect("close admin connection");
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
                Some(Db { url, _dir: None, _schema: Some(PgSchema { admin_url, name }) })
            }
        }
    }

    /// A new connection pool on the database (migrated on first open).
    pub async fn open(&self) -> Arc<dyn Store> {
        store::open(&self.url).await.expect("open the store")
    }
}

struct PgSchema {
    admin_url: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop cannot await and may run on a runtime thread: clean up from a thread with a
        // runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&url).await {
                    let _ = conn.execute(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE").as_str()).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
