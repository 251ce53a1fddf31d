//! The blob store over a local directory.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;

use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use store::blob::{BlobError, BlobStore};

type Chunk = Result<Bytes, std::io::Error>;

/// `len` bytes of a recognisable pattern, in `chunk`-byte pieces.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn chunks(data: &[u8], chunk: usize) -> impl futures::Stream<Item = Chunk> + Send + 'static {
    let pieces: Vec<Chunk> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(pieces)
}

/// Every file (not directory) under `root`.
fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

async fn read_all(blobs: &BlobStore, key: &str) -> Vec<u8> {
    let chunks: Vec<Bytes> = blobs
        .get_stream(key)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_in_and_out_across_several_parts() {
    let root = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(root.path().join("blobs")).unwrap();
    // Larger than object_store's 5 MiB part, with chunks that do not divide it.
    let data = pattern(12 * 1024 * 1024 + 17);
    let size = blobs
        .put_stream("uploads/p1/app.apk", chunks(&data, 100_003), u64::MAX)
        .await
        .unwrap();
    assert_eq!(size, data.len() as u64);
    assert_eq!(
        blobs.size("uploads/p1/app.apk").await.unwrap(),
        data.len() as u64
    );
    assert!(
        read_all(&blobs, "uploads/p1/app.apk").await == data,
        "content round-trips"
    );

    let local = blobs.local_path("uploads/p1/app.apk").unwrap();
    assert_eq!(std::fs::read(&local).unwrap().len(), data.len());
    assert!(local.starts_with(root.path().join("blobs").canonicalize().unwrap()));

    let copy = root.path().join("inspect/app.apk");
    assert_eq!(
        blobs
            .copy_to_file("uploads/p1/app.apk", &copy)
            .await
            .unwrap(),
        data.len() as u64
    );
    assert!(std::fs::read(&copy).unwrap() == data);
}

#[tokio::test]
async fn exactly_max_bytes_is_accepted_and_empty_blobs_work() {
    let root = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(root.path()).unwrap();
    let data = pattern(1000);
    assert_eq!(
        blobs
            .put_stream("a", chunks(&data, 300), 1000)
            .await
            .unwrap(),
        1000
    );
    assert_eq!(
        blobs
            .put_stream("empty", stream::empty::<Chunk>(), 0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(blobs.size("empty").await.unwrap(), 0);
    assert!(read_all(&blobs, "empty").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_leaves_nothing_behind() {
    let root = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(root.path()).unwrap();
    let data = pattern(6 * 1024 * 1024);
    match blobs
        .put_stream(
            "uploads/p/big.zip",
            chunks(&data, 64 * 1024),
            5 * 1024 * 1024 + 1,
        )
        .await
    {
        Err(BlobError::TooLarge { max_bytes }) => assert_eq!(max_bytes, 5 * 1024 * 1024 + 1),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(matches!(
        blobs.size("uploads/p/big.zip").await,
        Err(BlobError::NotFound(_))
    ));
    assert!(
        files_under(root.path()).is_empty(),
        "{:?}",
        files_under(root.path())
    );
    assert!(
        std::fs::read_dir(root.path()).unwrap().next().is_none(),
        "no empty directories either"
    );
}

#[tokio::test]
async fn a_failed_overwrite_keeps_the_previous_blob() {
    let root = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(root.path()).unwrap();
    blobs
        .put_stream("k/spec.yml", chunks(b"version: 0.1\n", 4), 100)
        .await
        .unwrap();
    let failing = chunks(&pattern(50), 10).chain(stream::iter([Err(std::io::Error::other(
        "client went away",
    ))]));
    assert!(matches!(
        blobs.put_stream("k/spec.yml", failing, 100).await,
        Err(BlobError::Source(_))
    ));
    assert!(matches!(
        blobs
            .put_stream("k/spec.yml", chunks(&pattern(500), 10), 100)
            .await,
        Err(BlobError::TooLarge { .. })
    ));
    assert_eq!(read_all(&blobs, "k/spec.yml").await, b"version: 0.1\n");
    assert_eq!(
        files_under(root.path()).len(),
        1,
        "no staging files left: {:?}",
        files_under(root.path())
    );
}

#[tokio::test]
async fn delete_removes_and_tolerates_missing() {
    let root = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(root.path()).unwrap();
    blobs
        .put_stream("a/b/c.bin", chunks(b"xyz", 2), 10)
        .await
        .unwrap();
    blobs.delete("a/b/c.bin").await.unwrap();
    assert!(matches!(
        blobs.size("a/b/c.bin").await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        blobs.get_stream("a/b/c.bin").await,
        Err(BlobError::NotFound(_))
    ));
    assert!(files_under(root.path()).is_empty());
    blobs.delete("a/b/c.bin").await.unwrap();
    blobs.delete("never/existed").await.unwrap();
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    let root = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(root.path().join("inner")).unwrap();
    for key in ["../outside", "a/../../b", "a//b", "./x"] {
        let put = blobs.put_stream(key, chunks(b"x", 1), 10).await;
        assert!(
            matches!(put, Err(BlobError::InvalidKey { .. })),
            "{key}: {put:?}"
        );
        assert_eq!(blobs.local_path(key), None, "{key}");
    }
    assert!(files_under(root.path()).is_empty());
}
