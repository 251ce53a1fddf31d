//! The blob store's contract, checked on every backend: a local directory always, and an
//! S3-compatible service when `FARMHAND_TEST_S3_ENDPOINT` names one (`scripts/test` starts
//! moto for it). Each S3 case gets a bucket of its own.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use object_store::ObjectStore;
use store::blob::{BlobError, BlobLocation, BlobStore};

type Chunk = Result<Bytes, std::io::Error>;

const S3_ENDPOINT_ENV: &str = "FARMHAND_TEST_S3_ENDPOINT";
/// Blobs go below this prefix in the bucket, so the suite also checks that nothing lands
/// outside it.
const S3_PREFIX: &str = "farm/blobs";

/// `len` bytes of a recognisable pattern.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `data` in `chunk`-byte pieces.
fn chunks(data: &[u8], chunk: usize) -> impl futures::Stream<Item = Chunk> + Send + 'static {
    let pieces: Vec<Chunk> = data.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    stream::iter(pieces)
}

/// Every file (not directory) under `root`.
fn files_under(root: &Path) -> Vec<PathBuf> {
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
    let chunks: Vec<Bytes> = blobs.get_stream(key).await.unwrap().try_collect().await.unwrap();
    chunks.concat()
}

/// One backend under test, with a view of its storage from outside the blob store.
struct Backend {
    blobs: BlobStore,
    kind: Kind,
}

enum Kind {
    /// `root` holds the store's directory `root/blobs`, so a key escaping it would show.
    Local { root: tempfile::TempDir },
    S3 {
        endpoint: String,
        bucket: String,
        /// The whole bucket, prefix or not.
        raw: Arc<dyn ObjectStore>,
    },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Local { .. } => "local",
            Kind::S3 { .. } => "s3",
        }
    }

    fn blobs_dir(&self) -> Option<PathBuf> {
        match &self.kind {
            Kind::Local { root } => Some(root.path().join("blobs")),
            Kind::S3 { .. } => None,
        }
    }

    /// Everything stored, finished or not: files (staging files included) under the local
    /// root; objects and unfinished multipart uploads in the bucket.
    async fn stored(&self) -> Vec<String> {
        match &self.kind {
            Kind::Local { root } => files_under(root.path())
                .iter()
                .map(|p| p.strip_prefix(root.path()).unwrap().display().to_string())
                .collect(),
            Kind::S3 { endpoint, bucket, raw } => {
                let mut found: Vec<String> =
                    raw.list(None).map_ok(|meta| meta.location.to_string()).try_collect().await.unwrap();
                let uploads = reqwest::get(format!("{endpoint}/{bucket}?uploads")).await.unwrap().text().await.unwrap();
                found.extend(
                    uploads
                        .split("<Key>")
                        .skip(1)
                        .map(|rest| format!("unfinished upload of {}", rest.split('<').next().unwrap_or(""))),
                );
                found.sort();
                found
            }
        }
    }

    /// Where the store keeps `key`, as seen from outside it.
    fn stored_name(&self, key: &str) -> String {
        match self.kind {
            Kind::Local { .. } => format!("blobs/{key}"),
            Kind::S3 { .. } => format!("{S3_PREFIX}/{key}"),
        }
    }
}

fn local() -> Backend {
    let root = tempfile::tempdir().unwrap();
    let blobs = BlobStore::local(root.path().join("blobs")).unwrap();
    Backend { blobs, kind: Kind::Local { root } }
}

/// A store over a new bucket, opened from a `--blob-store` URL the way the server does, with
/// the credentials set here rather than read from the environment (an S3 client without
/// credentials would go looking for an instance role).
async fn s3(endpoint: &str) -> Backend {
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let bucket = format!("blob-suite-{}", uuid::Uuid::new_v4());
    let created = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.unwrap();
    assert!(created.status().is_success(), "creating {bucket}: {}", created.status());
    let url = format!("s3://{bucket}/{S3_PREFIX}?endpoint={endpoint}&region=us-east-1");
    let BlobLocation::S3(location) = BlobLocation::parse(&url).unwrap() else { panic!("{url} is not an S3 location") };
    let client =
        || location.client().with_access_key_id("farmhand-test").with_secret_access_key("farmhand-test-secret");
    let blobs = BlobStore::s3(client(), location.prefix.as_deref()).unwrap();
    let raw: Arc<dyn ObjectStore> = Arc::new(client().build().unwrap());
    Backend { blobs, kind: Kind::S3 { endpoint, bucket, raw } }
}

async fn backends() -> Vec<Backend> {
    let mut all = vec![local()];
    match std::env::var(S3_ENDPOINT_ENV) {
        Ok(endpoint) if !endpoint.is_empty() => all.push(s3(&endpoint).await),
        _ => eprintln!("{S3_ENDPOINT_ENV} is not set: the S3 backend is not tested"),
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_in_and_out_across_several_parts() {
    for backend in backends().await {
        let (name, blobs) = (backend.name(), &backend.blobs);
        // Larger than one 5 MiB part, with chunks that do not divide it.
        let data = pattern(12 * 1024 * 1024 + 17);
        let size = blobs.put_stream("uploads/p1/app.apk", chunks(&data, 100_003), u64::MAX).await.unwrap();
        assert_eq!(size, data.len() as u64, "{name}");
        assert_eq!(blobs.size("uploads/p1/app.apk").await.unwrap(), data.len() as u64, "{name}");
        assert!(read_all(blobs, "uploads/p1/app.apk").await == data, "{name}: content round-trips");
        assert_eq!(backend.stored().await, vec![backend.stored_name("uploads/p1/app.apk")], "{name}");

        let scratch = tempfile::tempdir().unwrap();
        let copy = scratch.path().join("inspect/app.apk");
        assert_eq!(blobs.copy_to_file("uploads/p1/app.apk", &copy).await.unwrap(), data.len() as u64, "{name}");
        assert!(std::fs::read(&copy).unwrap() == data, "{name}");

        match &backend.kind {
            Kind::Local { .. } => {
                let local = blobs.local_path("uploads/p1/app.apk").unwrap();
                assert_eq!(std::fs::read(&local).unwrap().len(), data.len());
                let dir = backend.blobs_dir().unwrap().canonicalize().unwrap();
                assert!(local.starts_with(dir));
            }
            Kind::S3 { raw, .. } => {
                assert_eq!(blobs.local_path("uploads/p1/app.apk"), None);
                // S3 marks an object stored in N parts with an ETag ending in -N.
                let stored = backend.stored_name("uploads/p1/app.apk");
                let etag = raw.head(&stored.as_str().into()).await.unwrap().e_tag.unwrap();
                assert!(etag.trim_matches('"').ends_with("-3"), "three parts: {etag}");
            }
        }
    }
}

#[tokio::test]
async fn a_blob_smaller_than_a_part_is_stored_in_one_request() {
    for backend in backends().await {
        let data = pattern(300_000);
        backend.blobs.put_stream("specs/s.yml", chunks(&data, 7_000), u64::MAX).await.unwrap();
        assert!(read_all(&backend.blobs, "specs/s.yml").await == data, "{}", backend.name());
        if let Kind::S3 { raw, .. } = &backend.kind {
            let stored = backend.stored_name("specs/s.yml");
            let etag = raw.head(&stored.as_str().into()).await.unwrap().e_tag.unwrap();
            assert!(!etag.contains('-'), "a single PUT, not a multipart upload: {etag}");
        }
    }
}

#[tokio::test]
async fn exactly_max_bytes_is_accepted_and_empty_blobs_work() {
    for backend in backends().await {
        let (name, blobs) = (backend.name(), &backend.blobs);
        let data = pattern(1000);
        assert_eq!(blobs.put_stream("a", chunks(&data, 300), 1000).await.unwrap(), 1000, "{name}");
        assert_eq!(blobs.put_stream("empty", stream::empty::<Chunk>(), 0).await.unwrap(), 0, "{name}");
        assert_eq!(blobs.size("empty").await.unwrap(), 0, "{name}");
        assert!(read_all(blobs, "empty").await.is_empty(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_leaves_nothing_behind() {
    for backend in backends().await {
        let (name, blobs) = (backend.name(), &backend.blobs);
        // Past the limit only after the first part went up, so a multipart upload is aborted.
        let data = pattern(6 * 1024 * 1024);
        match blobs.put_stream("uploads/p/big.zip", chunks(&data, 64 * 1024), 5 * 1024 * 1024 + 1).await {
            Err(BlobError::TooLarge { max_bytes }) => assert_eq!(max_bytes, 5 * 1024 * 1024 + 1),
            other => panic!("{name}: expected TooLarge, got {other:?}"),
        }
        assert!(matches!(blobs.size("uploads/p/big.zip").await, Err(BlobError::NotFound(_))), "{name}");
        assert_eq!(backend.stored().await, Vec::<String>::new(), "{name}");
        if let Some(dir) = backend.blobs_dir() {
            assert!(std::fs::read_dir(dir).unwrap().next().is_none(), "no empty directories either");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_overwrite_keeps_the_previous_blob() {
    for backend in backends().await {
        let (name, blobs) = (backend.name(), &backend.blobs);
        blobs.put_stream("k/spec.yml", chunks(b"version: 0.1\n", 4), 100).await.unwrap();
        let failing = chunks(&pattern(50), 10).chain(stream::iter([Err(std::io::Error::other("client went away"))]));
        assert!(matches!(blobs.put_stream("k/spec.yml", failing, 100).await, Err(BlobError::Source(_))), "{name}");
        assert!(
            matches!(
                blobs.put_stream("k/spec.yml", chunks(&pattern(500), 10), 100).await,
                Err(BlobError::TooLarge { .. })
            ),
            "{name}"
        );
        // The same after a multipart upload was under way.
        let long_then_failing = chunks(&pattern(6 * 1024 * 1024), 64 * 1024)
            .chain(stream::iter([Err(std::io::Error::other("client went away"))]));
        assert!(
            matches!(blobs.put_stream("k/spec.yml", long_then_failing, u64::MAX).await, Err(BlobError::Source(_))),
            "{name}"
        );
        assert_eq!(read_all(blobs, "k/spec.yml").await, b"version: 0.1\n", "{name}");
        assert_eq!(
            backend.stored().await,
            vec![backend.stored_name("k/spec.yml")],
            "{name}: no staging files or unfinished uploads left"
        );
    }
}

#[tokio::test]
async fn delete_removes_and_tolerates_missing() {
    for backend in backends().await {
        let (name, blobs) = (backend.name(), &backend.blobs);
        blobs.put_stream("a/b/c.bin", chunks(b"xyz", 2), 10).await.unwrap();
        blobs.delete("a/b/c.bin").await.unwrap();
        assert!(matches!(blobs.size("a/b/c.bin").await, Err(BlobError::NotFound(_))), "{name}");
        assert!(matches!(blobs.get_stream("a/b/c.bin").await, Err(BlobError::NotFound(_))), "{name}");
        assert_eq!(backend.stored().await, Vec::<String>::new(), "{name}");
        blobs.delete("a/b/c.bin").await.unwrap();
        blobs.delete("never/existed").await.unwrap();
    }
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    for backend in backends().await {
        let (name, blobs) = (backend.name(), &backend.blobs);
        for key in ["../outside", "a/../../b", "a//b", "./x"] {
            let put = blobs.put_stream(key, chunks(b"x", 1), 10).await;
            assert!(matches!(put, Err(BlobError::InvalidKey { .. })), "{name} {key}: {put:?}");
            assert_eq!(blobs.local_path(key), None, "{name} {key}");
        }
        assert_eq!(backend.stored().await, Vec::<String>::new(), "{name}");
    }
}

#[tokio::test]
async fn from_url_defaults_to_the_local_directory() {
    let root = tempfile::tempdir().unwrap();
    let default_dir = root.path().join("blobs");
    let blobs = BlobStore::from_url(None, &default_dir).unwrap();
    blobs.put_stream("x", chunks(b"1", 1), 1).await.unwrap();
    assert!(default_dir.join("x").is_file());

    let chosen = root.path().join("elsewhere");
    for url in [chosen.display().to_string(), format!("file://{}", chosen.display())] {
        let blobs = BlobStore::from_url(Some(&url), &default_dir).unwrap();
        blobs.put_stream("y", chunks(b"2", 1), 1).await.unwrap();
        assert!(chosen.join("y").is_file(), "{url}");
        std::fs::remove_file(chosen.join("y")).unwrap();
    }
    assert!(matches!(BlobStore::from_url(Some("ftp://host/x"), &default_dir), Err(BlobError::InvalidLocation(_))));
}
