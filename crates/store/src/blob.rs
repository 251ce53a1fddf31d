//! Blob storage: uploaded apps, test packages and specs, and job artifacts.
//!
//! Files are streamed through [`object_store`], a local directory by default, so they are
//! never held whole in memory and another backend (S3, GCS…) can be plugged in through
//! [`BlobStore::new`] without touching callers. Keys are `/`-separated relative paths.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use tokio::io::AsyncWriteExt;

/// Parts a [`BlobStore::put_stream`] lets be written concurrently; with object_store's 5 MiB
/// parts this bounds the memory of one upload to a few parts.
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
        let fs = LocalFileSystem::new_with_prefix(&dir)
            .map_err(BlobError::Backend)?
            .with_automatic_cleanup(true);
        let fs = Arc::new(fs);
        Ok(BlobStore {
            store: fs.clone(),
            local: Some(LocalRoot { fs, dir }),
        })
    }

    /// Blobs in any object_store backend.
    pub fn new(store: Arc<dyn ObjectStore>) -> BlobStore {
        BlobStore { store, local: None }
    }

    /// Streams `body` into `key`, replacing any blob there, and returns its size.
    ///
    /// The blob appears only once the whole stream is stored. If the stream fails or goes
    /// past `max_bytes`, the upload is aborted and the key keeps its previous content.
    pub async fn put_stream<S, E>(
        &self,
        key: &str,
        body: S,
        max_bytes: u64,
    ) -> Result<u64, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let location = parse_key(key)?;
        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(BlobError::Backend)?;
        let mut writer = WriteMultipart::new(upload);
        let mut body = std::pin::pin!(body);
        let mut total: u64 = 0;
        let failure = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Err(e)) => break Some(BlobError::Source(e.into())),
                Some(Ok(chunk)) => chunk,
            };
            total += chunk.len() as u64;
            if total > max_bytes {
                break Some(BlobError::TooLarge { max_bytes });
            }
            // Back-pressure: wait for earlier parts to land before buffering more.
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                break Some(BlobError::Backend(e));
            }
            writer.put(chunk);
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
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let location = parse_key(key)?;
        let got = self
            .store
            .get(&location)
            .await
            .map_err(|e| not_found_or(key, e))?;
        Ok(got.into_stream().map_err(BlobError::Backend).boxed())
    }

    pub async fn size(&self, key: &str) -> Result<u64, BlobError> {
        let location = parse_key(key)?;
        let meta = self
            .store
            .head(&location)
            .await
            .map_err(|e| not_found_or(key, e))?;
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

fn parse_key(key: &str) -> Result<ObjectPath, BlobError> {
    ObjectPath::parse(key).map_err(|e| BlobError::InvalidKey {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn not_found_or(key: &str, err: object_store::Error) -> BlobError {
    match err {
        object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_owned()),
        other => BlobError::Backend(other),
    }
}
