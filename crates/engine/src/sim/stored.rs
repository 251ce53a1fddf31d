//! A test package's scenario kept as a small blob beside the package, so that ScheduleRun
//! reads a few bytes rather than fetching the whole package (from S3, a full download
//! every run). Upload processing opens the package anyway and writes it there.
//!
//! Packages processed before this existed have no such blob: [`load`] then reads the
//! package once more (in place when blobs are local files, otherwise through a copy in an
//! anonymous temporary file, which the OS reclaims however the read ends, a crash
//! included) and leaves the blob behind for the runs after it. A blob that is missing or
//! unreadable is never an answer, only a reason to go back to the package.
//!
//! The blob holds the file's text, not its parsed form: parsing again is cheap, and so
//! every run still gets today's checks and messages.

use std::io::{BufReader, Seek, SeekFrom};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use store::blob::{BlobError, BlobStore};
use tokio::io::AsyncWriteExt;
use tokio_util::bytes::Bytes;

use super::error::ScenarioError;
use super::package::{read_source, read_source_from, scenario_of, ScenarioSource};
use super::parse::MAX_SCENARIO_BYTES;
use super::scenario::Scenario;

/// Bumped when [`Kept`] changes meaning; a blob of another format is ignored and rewritten.
const FORMAT: u32 = 1;

/// The largest kept blob worth reading: JSON writes a control character in six bytes.
const MAX_KEPT_BYTES: usize = 6 * MAX_SCENARIO_BYTES + 64 * 1024;

/// Where the scenario of the package stored at `package_key` is kept. A sibling, not a
/// child: with a local store the package key is a file, which cannot hold entries.
pub fn key_for(package_key: &str) -> String {
    format!("{package_key}.sim-scenario")
}

#[derive(Serialize, Deserialize)]
struct Kept {
    format: u32,
    /// `None`: the package has no scenario file, and runs get the default.
    source: Option<ScenarioSource>,
}

/// Why [`load`] found no scenario.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The scenario itself is unusable: the caller's to fix.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("reading the test package: {0}")]
    Blob(#[from] BlobError),
    #[error("copying the test package: {0}")]
    Scratch(#[from] std::io::Error),
    #[error("reading the test package: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Keeps `source` (what [`read_source`] found in the package at `package_key`) beside it.
pub async fn save(blobs: &BlobStore, package_key: &str, source: Option<&ScenarioSource>) -> Result<(), BlobError> {
    let kept = Kept { format: FORMAT, source: source.cloned() };
    let bytes = serde_json::to_vec(&kept).map_err(|e| BlobError::Source(Box::new(e)))?;
    let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes))]);
    blobs.put_stream(&key_for(package_key), body, u64::MAX).await.map(|_| ())
}

/// Removes what [`save`] kept for the package at `package_key`; nothing kept is no error.
pub async fn forget(blobs: &BlobStore, package_key: &str) -> Result<(), BlobError> {
    blobs.delete(&key_for(package_key)).await
}

/// The scenario of the test package stored at `package_key`.
pub async fn load(blobs: &BlobStore, package_key: &str) -> Result<Scenario, LoadError> {
    if let Some(kept) = read_kept(blobs, package_key).await? {
        return Ok(scenario_of(kept.source.as_ref())?);
    }
    let source = read_package(blobs, package_key).await?;
    if let Err(e) = save(blobs, package_key, source.as_ref()).await {
        tracing::warn!(key = package_key, error = %e, "could not keep the test package's scenario; the next run reads the package again");
    }
    Ok(scenario_of(source.as_ref())?)
}

/// The kept scenario, or `None` when there is none to trust.
async fn read_kept(blobs: &BlobStore, package_key: &str) -> Result<Option<Kept>, BlobError> {
    let key = key_for(package_key);
    let mut stream = match blobs.get_stream(&key).await {
        Ok(stream) => stream,
        Err(BlobError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
        if bytes.len() > MAX_KEPT_BYTES {
            tracing::warn!(key, "kept scenario is too large to be one; reading the package instead");
            return Ok(None);
        }
    }
    match serde_json::from_slice::<Kept>(&bytes) {
        Ok(kept) if kept.format == FORMAT => Ok(Some(kept)),
        Ok(_) => Ok(None),
        Err(e) => {
            tracing::warn!(key, error = %e, "kept scenario does not decode; reading the package instead");
            Ok(None)
        }
    }
}

/// The scenario file of the package itself, the slow way.
async fn read_package(blobs: &BlobStore, package_key: &str) -> Result<Option<ScenarioSource>, LoadError> {
    let read = match blobs.local_path(package_key) {
        Some(path) => tokio::task::spawn_blocking(move || read_source(&path)).await?,
        None => {
            let copy = copy_to_scratch(blobs, package_key).await?;
            tokio::task::spawn_blocking(move || read_source_from(BufReader::new(copy))).await?
        }
    };
    Ok(read?)
}

/// The blob copied into a temporary file that has no name, positioned at its start.
/// Having no name, it cannot collide with another copy nor outlive its last handle.
async fn copy_to_scratch(blobs: &BlobStore, key: &str) -> Result<std::fs::File, LoadError> {
    let mut stream = blobs.get_stream(key).await?;
    let file = tokio::task::spawn_blocking(tempfile::tempfile).await??;
    let mut copy = tokio::fs::File::from_std(file);
    while let Some(chunk) = stream.next().await {
        copy.write_all(&chunk?).await?;
    }
    copy.flush().await?;
    let mut file = copy.into_std().await;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    use domain::device::DevicePlatform;
    use object_store::memory::InMemory;
    use zip::write::SimpleFileOptions;
    use zip::ZipWriter;

    const PACKAGE: &str = "uploads/123/p/u";
    const SCRIPT: &str = "setup_seconds: 1\ntests: [{name: scripted, seconds: 2}]\n";

    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, text) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).expect("start entry");
            zip.write_all(text.as_bytes()).expect("write entry");
        }
        zip.finish().expect("finish zip").into_inner()
    }

    async fn put(blobs: &BlobStore, key: &str, bytes: Vec<u8>) {
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes))]);
        blobs.put_stream(key, body, u64::MAX).await.expect("put");
    }

    async fn get(blobs: &BlobStore, key: &str) -> Option<Vec<u8>> {
        let mut stream = match blobs.get_stream(key).await {
            Ok(s) => s,
            Err(BlobError::NotFound(_)) => return None,
            Err(e) => panic!("{e}"),
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.expect("chunk"));
        }
        Some(bytes)
    }

    /// A store like S3: nothing in it can be opened in place.
    fn remote() -> BlobStore {
        BlobStore::new(Arc::new(InMemory::new()))
    }

    fn test_names(scenario: &Scenario) -> Vec<String> {
        let plan = scenario.plan_for("Pixel", DevicePlatform::Android);
        plan.tests.iter().map(|t| t.name.clone()).collect()
    }

    #[tokio::test]
    async fn a_kept_scenario_is_read_without_the_package() {
        let blobs = remote();
        let source = ScenarioSource { file: "farmhand-sim.yaml".into(), text: SCRIPT.into() };
        save(&blobs, PACKAGE, Some(&source)).await.expect("save");
        // No package at all: only the kept blob can have answered.
        let scenario = load(&blobs, PACKAGE).await.expect("load");
        assert_eq!(test_names(&scenario), ["scripted"]);

        save(&blobs, PACKAGE, None).await.expect("save none");
        assert_eq!(load(&blobs, PACKAGE).await.expect("load"), Scenario::default());
    }

    #[tokio::test]
    async fn an_old_package_is_read_from_a_copy_and_its_scenario_kept() {
        let blobs = remote();
        put(&blobs, PACKAGE, zip_of(&[("suite/farmhand-sim.yml", SCRIPT), ("suite/t.py", "")])).await;
        let scenario = load(&blobs, PACKAGE).await.expect("load");
        assert_eq!(test_names(&scenario), ["scripted"]);

        let kept: Kept = serde_json::from_slice(&get(&blobs, &key_for(PACKAGE)).await.expect("kept")).expect("decodes");
        let source = kept.source.expect("a source");
        assert_eq!((source.file.as_str(), source.text.as_str()), ("suite/farmhand-sim.yml", SCRIPT));

        // From now on the package is not needed.
        blobs.delete(PACKAGE).await.expect("delete");
        assert_eq!(test_names(&load(&blobs, PACKAGE).await.expect("load")), ["scripted"]);
    }

    #[tokio::test]
    async fn an_old_package_in_a_local_store_is_read_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::local(dir.path()).expect("local store");
        put(&blobs, PACKAGE, zip_of(&[("t.py", "")])).await;
        assert_eq!(load(&blobs, PACKAGE).await.expect("load"), Scenario::default());
        assert!(get(&blobs, &key_for(PACKAGE)).await.is_some(), "kept for the next run");
    }

    #[tokio::test]
    async fn a_kept_blob_that_cannot_be_trusted_sends_the_reader_back_to_the_package() {
        let blobs = remote();
        put(&blobs, PACKAGE, zip_of(&[("farmhand-sim.yaml", SCRIPT)])).await;
        let untrusted: [&[u8]; 3] = [b"not json", br#"{"source": null}"#, br#"{"format": 99, "source": null}"#];
        for bytes in untrusted {
            put(&blobs, &key_for(PACKAGE), bytes.to_vec()).await;
            let scenario = load(&blobs, PACKAGE).await.expect("load");
            assert_eq!(test_names(&scenario), ["scripted"], "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[tokio::test]
    async fn a_bad_scenario_gives_the_same_error_kept_or_not() {
        let blobs = remote();
        put(&blobs, PACKAGE, zip_of(&[("farmhand-sim.yaml", "setup_seconds: 1\nsetup: 2\n")])).await;
        let messages = [
            load(&blobs, PACKAGE).await.expect_err("from the package").to_string(),
            load(&blobs, PACKAGE).await.expect_err("from the kept blob").to_string(),
        ];
        for message in messages {
            assert!(message.starts_with("Invalid farmhand-sim.yaml: line 2: unknown field `setup`"), "{message}");
        }
    }

    #[tokio::test]
    async fn a_package_that_is_not_a_zip_is_a_scenario_error_and_nothing_is_kept() {
        let blobs = remote();
        put(&blobs, PACKAGE, b"plain text".to_vec()).await;
        let e = load(&blobs, PACKAGE).await.expect_err("not a zip");
        assert!(matches!(e, LoadError::Scenario(ScenarioError::Package(_))), "{e:?}");
        assert_eq!(get(&blobs, &key_for(PACKAGE)).await, None);
    }

    #[tokio::test]
    async fn a_missing_package_is_a_storage_error() {
        let e = load(&remote(), PACKAGE).await.expect_err("missing");
        assert!(matches!(e, LoadError::Blob(BlobError::NotFound(_))), "{e:?}");
    }
}
