//! What only the SQLite backend does: prepare its file.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;

use store::{Backend, Record};

async fn write_something(store: &dyn store::Store) {
    let r = Record {
        arn: "arn:x".to_owned(),
        account_id: "111111111111".to_owned(),
        kind: domain::arn::ResourceKind::Project.into(),
        parent_arn: None,
        name: "x".to_owned(),
        status: None,
        created_ms: 1,
        version: 0,
        body: serde_json::json!({}),
    };
    store.insert(&r).await.unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn database_files_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("farmhand.db");
    let store = store::open(db.to_str().unwrap()).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    write_something(store.as_ref()).await;
    assert_eq!(mode(&db), 0o600);
    for companion in ["farmhand.db-wal", "farmhand.db-shm"] {
        let path = dir.path().join(companion);
        assert!(path.exists(), "WAL mode makes {companion}");
        assert_eq!(mode(&path), 0o600, "{companion}");
    }
    store.close().await;
}

#[cfg(unix)]
#[tokio::test]
async fn an_existing_readable_file_is_restricted_on_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    store::open(db.to_str().unwrap()).await.unwrap().close().await;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = store::open(&format!("sqlite://{}", db.display())).await.unwrap();
    assert_eq!(mode(&db), 0o600);
    store.close().await;
}

#[tokio::test]
async fn missing_parent_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a/b c/farmhand.db");
    let store = store::open(&format!("sqlite://{}?mode=rwc", db.display())).await.unwrap();
    write_something(store.as_ref()).await;
    store.close().await;
    assert!(db.is_file());
}

#[tokio::test]
async fn in_memory_store_keeps_its_data_across_queries() {
    let store = store::open("sqlite::memory:").await.unwrap();
    write_something(store.as_ref()).await;
    // Several queries in a row and concurrently must all see the one database.
    let reads = (0..8).map(|_| store.get_any("arn:x"));
    for found in futures::future::join_all(reads).await {
        assert!(found.unwrap().is_some());
    }
}

#[tokio::test]
async fn unsupported_urls_are_rejected() {
    assert!(matches!(store::open("mysql://localhost/db").await, Err(store::StoreError::InvalidUrl { .. })));
}
