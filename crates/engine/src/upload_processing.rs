//! Drives an upload from PROCESSING to SUCCEEDED or FAILED: fetch its bytes from the blob
//! store, inspect them off the async threads, keep a test package's scenario beside it
//! ([`crate::sim::stored`]), record the verdict. The state lives in the
//! store, so a server that restarts mid-inspection finds the upload still PROCESSING and
//! [`resume`] inspects it again: nothing is lost, and inspecting twice is harmless.

use crate::sim::{self, ScenarioSource};
use domain::resources::Upload;
use domain::upload::{UploadKind, UploadStatus};
use host::uploads::{inspect, InspectLimits, Inspection};
use std::path::{Path, PathBuf};
use store::blob::{BlobError, BlobStore};
use store::{ListQuery, Record, Store, StoreError};
use tempfile::NamedTempFile;

#[derive(Debug, thiserror::Error)]
pub enum ProcessingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("inspection task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

fn decode(record: &Record) -> Result<Upload, ProcessingError> {
    Ok(record.decode()?)
}

/// Inspects the upload at `arn` (which must be PROCESSING) and stores the verdict.
pub async fn process(
    store: &dyn Store,
    blobs: &BlobStore,
    account_id: &str,
    arn: &str,
    blob_key: &str,
) -> Result<(), ProcessingError> {
    let Some(record) = store.get(account_id, arn).await? else { return Ok(()) };
    let upload = decode(&record)?;
    if upload.status != UploadStatus::Processing {
        return Ok(());
    }
    let inspected = match blobs.local_path(blob_key) {
        Some(path) => run_inspection(upload.upload_type, LocalCopy::InPlace(path)).await?,
        None => match copy_to_scratch(blobs, blob_key).await {
            Ok(copy) => run_inspection(upload.upload_type, LocalCopy::Scratch(copy)).await?,
            Err(e) => Inspected::failed(format!("The uploaded file could not be read: {e}")),
        },
    };
    if let Some(source) = &inspected.scenario {
        // Written before the verdict, so a run never sees a SUCCEEDED package without it
        // (and, were this write lost, runs still read the package itself).
        if let Err(e) = sim::stored::save(blobs, blob_key, source.as_ref()).await {
            tracing::warn!(%arn, error = %e, "could not keep the test package's scenario; runs will read the package");
        }
    }
    let outcome = record_verdict(store, record, inspected.verdict).await?;
    if outcome == Recorded::Gone && inspected.scenario.is_some() {
        // Deleted while being inspected: the delete may have come before the save.
        if let Err(e) = sim::stored::forget(blobs, blob_key).await {
            tracing::warn!(%arn, error = %e, "could not remove the scenario kept for a deleted upload");
        }
    }
    Ok(())
}

/// The upload's bytes as a file that inspection can open.
enum LocalCopy {
    /// The blob store's own file.
    InPlace(PathBuf),
    /// A copy of a remote blob, under a name no other copy can have; removed when dropped.
    Scratch(NamedTempFile),
}

impl LocalCopy {
    fn path(&self) -> &Path {
        match self {
            LocalCopy::InPlace(path) => path,
            LocalCopy::Scratch(file) => file.path(),
        }
    }
}

async fn copy_to_scratch(blobs: &BlobStore, blob_key: &str) -> Result<NamedTempFile, BlobError> {
    let scratch = tempfile::Builder::new().prefix("farmhand-upload-").tempfile()?;
    blobs.copy_to_file(blob_key, scratch.path()).await?;
    Ok(scratch)
}

/// What inspecting an upload found.
struct Inspected {
    verdict: Inspection,
    /// For a test package that passed: its scenario file (`None` when it has none), which
    /// runs read later.
    scenario: Option<Option<ScenarioSource>>,
}

impl Inspected {
    fn failed(message: String) -> Inspected {
        Inspected { verdict: Inspection::Failed { message }, scenario: None }
    }
}

async fn run_inspection(
    upload_type: domain::upload::UploadType,
    file: LocalCopy,
) -> Result<Inspected, ProcessingError> {
    // Zip reading and manifest parsing are blocking, CPU-bound work. `file` is dropped on
    // that thread when done, which removes a scratch copy however inspection ended.
    Ok(tokio::task::spawn_blocking(move || {
        let path = file.path();
        let verdict = inspect(upload_type, path, &InspectLimits::default());
        if upload_type.kind() != UploadKind::TestPackage || !matches!(verdict, Inspection::Succeeded { .. }) {
            return Inspected { verdict, scenario: None };
        }
        // A test package may script the simulated devices; a broken script fails the
        // upload now, with its line, rather than a run later.
        let checked = sim::package::read_source(path)
            .and_then(|source| sim::package::scenario_of(source.as_ref()).map(|_| source));
        match checked {
            Ok(source) => Inspected { verdict, scenario: Some(source) },
            Err(e) => Inspected::failed(e.to_string()),
        }
    })
    .await?)
}

/// What became of a verdict.
#[derive(Debug, PartialEq, Eq)]
enum Recorded {
    Stored,
    /// The upload had moved on (re-opened, or another inspection finished first).
    Superseded,
    /// The upload was deleted.
    Gone,
}

async fn record_verdict(
    store: &dyn Store,
    mut record: Record,
    verdict: Inspection,
) -> Result<Recorded, ProcessingError> {
    loop {
        let mut upload = decode(&record)?;
        if upload.status != UploadStatus::Processing {
            return Ok(Recorded::Superseded); // someone re-opened it meanwhile; their state wins
        }
        match &verdict {
            Inspection::Succeeded { metadata } => {
                upload.status = UploadStatus::Succeeded;
                upload.metadata = metadata.clone();
                upload.message = None;
            }
            Inspection::Failed { message } => {
                upload.status = UploadStatus::Failed;
                upload.message = Some(message.clone());
            }
        }
        record.status = Some(upload.status.as_str().to_string());
        record.encode(&upload)?;
        match store.update(&record).await {
            Ok(_) => return Ok(Recorded::Stored),
            Err(StoreError::Conflict) => match store.get(&record.account_id, &record.arn).await? {
                Some(fresh) => record = fresh,
                None => return Ok(Recorded::Gone),
            },
            Err(StoreError::NotFound) => return Ok(Recorded::Gone),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Finds every upload left PROCESSING (by a crash or restart) and inspects it again.
pub async fn resume(store: &dyn Store, blobs: &BlobStore, region: &str) -> Result<usize, ProcessingError> {
    let mut resumed = 0;
    for account in store.accounts().await? {
        let mut query = ListQuery::new(account.id.clone(), domain::arn::ResourceKind::Upload, 500);
        query.status_in = Some(vec![UploadStatus::Processing.as_str().to_string()]);
        loop {
            let page = store.list(&query).await?;
            for record in &page.records {
                if let Some(key) = crate::blob_keys::upload_in(region, &record.arn) {
                    process(store, blobs, &account.id, &record.arn, &key).await?;
                    resumed += 1;
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
    }
    Ok(resumed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;

    use domain::account::{Account, AccountSettings};
    use domain::upload::{UploadCategory, UploadType};
    use futures::StreamExt;
    use object_store::memory::InMemory;
    use tokio_util::bytes::Bytes;
    use zip::write::SimpleFileOptions;
    use zip::ZipWriter;

    const ACCOUNT: &str = "123456789012";
    const ARN: &str = "arn:aws:devicefarm:us-west-2:123456789012:upload:p/u";
    const KEY: &str = "uploads/123456789012/p/u";

    struct Farm {
        store: Arc<dyn Store>,
        /// Like S3: no file of it can be opened in place, so inspection works on a copy.
        blobs: BlobStore,
        _dir: tempfile::TempDir,
    }

    impl Farm {
        async fn new() -> Farm {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("farmhand.db").display());
            let store = store::open(&url).await.expect("open store");
            let account =
                Account { id: ACCOUNT.into(), name: "t".into(), created_ms: 0, settings: AccountSettings::default() };
            store.create_account(&account).await.expect("account");
            Farm { store, blobs: BlobStore::new(Arc::new(InMemory::new())), _dir: dir }
        }

        /// Stores `bytes` as a PROCESSING upload of `upload_type` and processes it.
        async fn process(&self, upload_type: UploadType, bytes: Vec<u8>) -> Upload {
            let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes))]);
            self.blobs.put_stream(KEY, body, u64::MAX).await.expect("put");
            let upload = Upload {
                name: "tests.zip".into(),
                upload_type,
                status: UploadStatus::Processing,
                category: UploadCategory::Private,
                content_type: None,
                metadata: None,
                message: None,
                url: String::new(),
                url_expires_ms: 0,
                size_bytes: None,
            };
            let record = Record {
                arn: ARN.into(),
                account_id: ACCOUNT.into(),
                kind: domain::arn::ResourceKind::Upload.into(),
                parent_arn: None,
                name: upload.name.clone(),
                status: Some(upload.status.as_str().into()),
                created_ms: 0,
                version: 0,
                body: serde_json::to_value(&upload).expect("encode"),
            };
            self.store.insert(&record).await.expect("insert");
            process(self.store.as_ref(), &self.blobs, ACCOUNT, ARN, KEY).await.expect("process");
            let stored = self.store.get(ACCOUNT, ARN).await.expect("get").expect("still there");
            decode(&stored).expect("decodes")
        }

        async fn kept(&self) -> bool {
            match self.blobs.get_stream(&sim::stored::key_for(KEY)).await {
                Ok(mut stream) => stream.next().await.is_some(),
                Err(BlobError::NotFound(_)) => false,
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn package(scenario: Option<&str>) -> Vec<u8> {
        let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let mut entries = vec![("tests/test_sim.py", "def test_sim():\n    pass\n")];
        entries.extend(scenario.map(|text| ("farmhand-sim.yaml", text)));
        for (name, text) in entries {
            zip.start_file(name, SimpleFileOptions::default()).expect("start entry");
            zip.write_all(text.as_bytes()).expect("write entry");
        }
        zip.finish().expect("finish zip").into_inner()
    }

    async fn test_names_without_the_package(farm: &Farm) -> Vec<String> {
        farm.blobs.delete(KEY).await.expect("delete package");
        let scenario = sim::stored::load(&farm.blobs, KEY).await.expect("kept scenario");
        let plan = scenario.plan_for("Pixel", domain::device::DevicePlatform::Android);
        plan.tests.into_iter().map(|t| t.name).collect()
    }

    #[tokio::test]
    async fn a_test_package_keeps_its_scenario_beside_it() {
        let farm = Farm::new().await;
        let script = "tests: [{name: scripted, seconds: 2}]\n";
        let upload = farm.process(UploadType::AppiumWebPythonTestPackage, package(Some(script))).await;
        assert_eq!(upload.status, UploadStatus::Succeeded, "{:?}", upload.message);
        assert_eq!(test_names_without_the_package(&farm).await, ["scripted"]);
    }

    #[tokio::test]
    async fn a_test_package_without_a_scenario_keeps_that_too() {
        let farm = Farm::new().await;
        let upload = farm.process(UploadType::AppiumWebPythonTestPackage, package(None)).await;
        assert_eq!(upload.status, UploadStatus::Succeeded, "{:?}", upload.message);
        assert!(farm.kept().await);
        assert_eq!(test_names_without_the_package(&farm).await.len(), 3, "the default simulation");
    }

    #[tokio::test]
    async fn a_bad_scenario_fails_the_upload_with_its_line_and_keeps_nothing() {
        let farm = Farm::new().await;
        let upload =
            farm.process(UploadType::AppiumWebPythonTestPackage, package(Some("setup_seconds: 1\nsetup: 2\n"))).await;
        assert_eq!(upload.status, UploadStatus::Failed);
        let message = upload.message.unwrap_or_default();
        assert!(message.starts_with("Invalid farmhand-sim.yaml: line 2: unknown field `setup`"), "{message}");
        assert!(!farm.kept().await);
    }

    #[tokio::test]
    async fn other_uploads_keep_nothing() {
        let farm = Farm::new().await;
        let upload = farm.process(UploadType::ExternalData, package(Some("tests: []\n"))).await;
        assert_eq!(upload.status, UploadStatus::Succeeded, "{:?}", upload.message);
        assert!(!farm.kept().await);
    }
}
