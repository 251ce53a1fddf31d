//! A fresh, isolated store per test: a SQLite file in a temp dir, or a PostgreSQL schema of
//! its own (dropped afterwards, even when the test panics).

use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection};
use store::Store;

pub const PG_URL_VAR: &str = "FARMHAND_TEST_DATABASE_URL";

pub struct Harness {
    store: Arc<dyn Store>,
    url: String,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<PgSchema>,
}

impl Harness {
    pub async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("farmhand.db").display());
        let store = store::open(&url).await.unwrap();
        assert_eq!(store.backend(), store::Backend::Sqlite);
        Harness { store, url, _dir: Some(dir), _schema: None }
    }

    /// `None` when no PostgreSQL is configured.
    pub async fn postgres() -> Option<Harness> {
        let admin_url = std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty())?;
        let name = format!("farmhand_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        admin.execute(format!("CREATE SCHEMA \"{name}\"").as_str()).await.unwrap();
        admin.close().await.unwrap();
        let schema = PgSchema { admin_url: admin_url.clone(), name: name.clone() };
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
        let store = store::open(&url).await.unwrap();
        assert_eq!(store.backend(), store::Backend::Postgres);
        Some(Harness { store, url, _dir: None, _schema: Some(schema) })
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn store_arc(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The URL the store was opened with, to open it again.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn finish(self) {
        self.store.close().await;
    }
}

struct PgSchema {
    admin_url: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop cannot await, and may run on a runtime thread: clean up from a thread with a
        // runtime of its own.
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
