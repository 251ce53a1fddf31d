//! Blob storage: uploaded apps, test packages and specs, and job artifacts.
//!
//! Files are streamed through [`object_store`], so they are never held whole in memory: a
//! local directory by default, or an S3-compatible bucket that several server replicas share
//! ([`BlobLocation`] says which; [`BlobStore::new`] takes any other backend). Callers see the
//! same operations on each. Keys are `/`-separated relative paths.

mod location;

pub use location::{BlobLocation, S3Location};

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::AsyncWriteExt;

/// Size of each part of a multipart upload: S3's smallest allowed part, so a blob's memory
/// footprint stays small. A blob that fits in one part is stored with a single request.
const PART_SIZE: usize = 5 * 1024 * 1024;

/// Parts a [`BlobStore::put_stream`] lets be written concurrently; this bounds the memory of
/// one upload to a few parts.
const PARTS_IN_FLIGHT: usize = 2;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("blob {0:?} not found")]
    NotFound(String),
    /// The stream was longer than the caller allowed; nothing was stored.
    #[error("blob is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: u64 },
    /// The incoming stream failed (e.g. the client disconnected); nothing was stored.
    #[error("reading the blob's source: {0}")]
    Source(Box<dyn StdError + Send + Sync>),
    #[error("blob storage: {0}")]
    Backend(#[source] object_store::Error),
    #[error("writing a local copy: {0}")]
    Io(#[from] std::io::Error),
    /// A `--blob-store` value that names no usable location.
    #[error("blob store location: {0}")]
    InvalidLocation(String),
}

/// Where blobs live.
#[derive(Debug, Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Set when the store is a local directory, so callers can open files in place.
    local: Option<LocalRoot>,
}

#[derive(Debug, Clone)]
struct LocalRoot {
    fs: Arc<LocalFileSystem>,
    /// Canonical path of the directory `fs` is rooted at.
    dir: PathBuf,
}

impl BlobStore {
    /// Blobs as files under `root`, which is created if missing.
    pub fn local(root: impl AsRef<Path>) -> Result<BlobStore, BlobError> {
        std::fs::create_dir_all(root.as_ref())?;
        let dir = std::fs::canonicalize(root.as_ref())?;
        let fs = LocalFileSystem::new_with_prefix(&dir).map_err(BlobError::Backend)?.with_automatic_cleanup(true);
        let fs = Arc::new(fs);
        Ok(BlobStore { store: fs.clone(), local: Some(LocalRoot { fs, dir }) })
    }

    /// The store `location` names (a `--blob-store` value), or the directory `local_default`
    /// when none is given.
    pub fn from_url(location: Option<&str>, local_default: &Path) -> Result<BlobStore, BlobError> {
        match location {
            None => BlobStore::local(local_default),
            Some(text) => BlobStore::open(&BlobLocation::parse(text)?),
        }
    }

    pub fn open(location: &BlobLocation) -> Result<BlobStore, BlobError> {
        match location {
            BlobLocation::Local(dir) => BlobStore::local(dir),
            BlobLocation::S3(s3) => BlobStore::s3(s3.client(), s3.prefix.as_deref()),
        }
    }

    /// Blobs in the bucket `client` is set up for (see [`S3Location::client`]), under `prefix`.
    pub fn s3(client: AmazonS3Builder, prefix: Option<&str>) -> Result<BlobStore, BlobError> {
        let bucket = client.build().map_err(BlobError::Backend)?;
        let store: Arc<dyn ObjectStore> = match prefix {
            None => Arc::new(bucket),
            Some(prefix) => {
                let prefix = ObjectPath::parse(prefix)
                    .map_err(|e| BlobError::InvalidLocation(format!("bad key prefix {prefix:?}: {e}")))?;
                Arc::new(PrefixStore::new(bucket, prefix))
            }
        };
        Ok(BlobStore::new(store))
    }

    /// Blobs in any object_store backend.
    pub fn new(store: Arc<dyn ObjectStore>) -> BlobStore {
        BlobStore { store, local: None }
    }

    /// Streams `body` into `key`, replacing any blob there, and returns its size.
    ///
    /// The blob appears only once the whole stream is stored. If the stream fails or goes
    /// past `max_bytes`, the upload is aborted and the key keeps its previous content. A blob
    /// smaller than one part is stored with a single request; a larger one as a multipart
    /// upload, so no more than a few parts are ever in memory.
    pub async fn put_stream<S, E>(&self, key: &str, body: S, max_bytes: u64) -> Result<u64, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let location = parse_key(key)?;
        let mut body = std::pin::pin!(body);
        let mut first_part = Vec::new();
        let mut total: u64 = 0;
        while total < PART_SIZE as u64 {
            match next_chunk(&mut body, &mut total, max_bytes).await? {
                Some(chunk) => first_part.push(chunk),
                None => {
                    let payload: PutPayload = first_part.into_iter().collect();
                    if let Err(e) = self.store.put(&location, payload).await {
                        self.prune_empty_dirs(&location);
                        return Err(BlobError::Backend(e));
                    }
                    return Ok(total);
                }
            }
        }

        let upload = self.store.put_multipart(&location).await.map_err(BlobError::Backend)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        for chunk in first_part {
            writer.put(chunk);
        }
        let failure = loop {
            // Back-pressure: wait for earlier parts to land before buffering more.
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                break Some(BlobError::Backend(e));
            }
            match next_chunk(&mut body, &mut total, max_bytes).await {
                Ok(Some(chunk)) => writer.put(chunk),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        match failure {
            None => {
                writer.finish().await.map_err(BlobError::Backend)?;
                Ok(total)
            }
            Some(err) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key, error = %abort, "aborting a failed blob upload");
                }
                self.prune_empty_dirs(&location);
                Err(err)
            }
        }
    }

    /// The blob's content as a stream of chunks.
    pub async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let location = parse_key(key)?;
        let got = self.store.get(&location).await.map_err(|e| not_found_or(key, e))?;
        Ok(got.into_stream().map_err(BlobError::Backend).boxed())
    }

    pub async fn size(&self, key: &str) -> Result<u64, BlobError> {
        let location = parse_key(key)?;
        let meta = self.store.head(&location).await.map_err(|e| not_found_or(key, e))?;
        Ok(meta.size)
    }

    /// Writes the blob to `path` (creating its directory), e.g. to open a zip; returns the
    /// size. A partial file is removed if the copy fails.
    pub async fn copy_to_file(&self, key: &str, path: &Path) -> Result<u64, BlobError> {
        let mut stream = self.get_stream(key).await?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut file = tokio::fs::File::create(path).await?;
        let copied: Result<u64, BlobError> = async {
            let mut written = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                file.write_all(&chunk).await?;
                written += chunk.len() as u64;
            }
            file.flush().await?;
            Ok(written)
        }
        .await;
        if copied.is_err() {
            drop(file);
            let _ = tokio::fs::remove_file(path).await;
        }
        copied
    }

    /// The file holding the blob, when blobs are local files (whether or not it exists).
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        let location = parse_key(key).ok()?;
        self.local.as_ref()?.fs.path_to_filesystem(&location).ok()
    }

    /// Deletes the blob; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let location = parse_key(key)?;
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError::Backend(e)),
        }
    }

    /// Removes directories a failed local upload created and left empty, so a rejected
    /// upload leaves no trace. Only empty directories are removed, so this cannot race with
    /// another upload into the same directory (object_store recreates a missing one).
    fn prune_empty_dirs(&self, location: &ObjectPath) {
        let Some(local) = &self.local else { return };
        let Ok(file) = local.fs.path_to_filesystem(location) else {
            return;
        };
        let mut dir = file.parent();
        while let Some(d) = dir {
            if !d.starts_with(&local.dir) || d == local.dir || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

/// The body's next chunk, counted into `total`; `None` at its end.
async fn next_chunk<S, E>(
    body: &mut std::pin::Pin<&mut S>,
    total: &mut u64,
    max_bytes: u64,
) -> Result<Option<Bytes>, BlobError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    match body.next().await {
        None => Ok(None),
        Some(Err(e)) => Err(BlobError::Source(e.into())),
        Some(Ok(chunk)) => {
            *total += chunk.len() as u64;
            if *total > max_bytes {
                return Err(BlobError::TooLarge { max_bytes });
            }
            Ok(Some(chunk))
        }
    }
}

fn parse_key(key: &str) -> Result<ObjectPath, BlobError> {
    ObjectPath::parse(key).map_err(|e| BlobError::InvalidKey { key: key.to_owned(), reason: e.to_string() })
}

fn not_found_or(key: &str, err: object_store::Error) -> BlobError {
    match err {
        object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_owned()),
        other => BlobError::Backend(other),
    }
}
