//! Drives an upload from PROCESSING to SUCCEEDED or FAILED: fetch its bytes from the blob
//! store, inspect them off the async threads, record the verdict. The state lives in the
//! store, so a server that restarts mid-inspection finds the upload still PROCESSING and
//! [`resume`] inspects it again: nothing is lost, and inspecting twice is harmless.

use crate::uploads::{inspect, InspectLimits, Inspection};
use domain::resources::Upload;
use domain::upload::{UploadKind, UploadStatus};
use std::path::PathBuf;
use store::blob::BlobStore;
use store::{ListQuery, Record, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ProcessingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored upload {0} does not decode: {1}")]
    Corrupt(String, serde_json::Error),
    #[error("inspection task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

fn decode(record: &Record) -> Result<Upload, ProcessingError> {
    serde_json::from_value(record.body.clone()).map_err(|e| ProcessingError::Corrupt(record.arn.clone(), e))
}

/// Inspects the upload at `arn` (which must be PROCESSING) and stores the verdict.
pub async fn process(store: &dyn Store, blobs: &BlobStore, account_id: &str, arn: &str, blob_key: &str) -> Result<(), ProcessingError> {
    let Some(record) = store.get(account_id, arn).await? else { return Ok(()) };
    let upload = decode(&record)?;
    if upload.status != UploadStatus::Processing {
        return Ok(());
    }
    let verdict = match blobs.local_path(blob_key) {
        Some(path) => run_inspection(upload.upload_type, path, false).await?,
        None => {
            let temp = std::env::temp_dir().join(format!("farmhand-upload-{}", blob_key.replace('/', "_")));
            match blobs.copy_to_file(blob_key, &temp).await {
                Ok(_) => run_inspection(upload.upload_type, temp, true).await?,
                Err(e) => Inspection::Failed { message: format!("The uploaded file could not be read: {e}") },
            }
        }
    };
    record_verdict(store, record, verdict).await
}

async fn run_inspection(
    upload_type: domain::upload::UploadType,
    path: PathBuf,
    remove_after: bool,
) -> Result<Inspection, ProcessingError> {
    // Zip reading and manifest parsing are blocking, CPU-bound work.
    Ok(tokio::task::spawn_blocking(move || {
        let mut verdict = inspect(upload_type, &path, &InspectLimits::default());
        // A test package may script the simulated devices; a broken script fails the
        // upload now, with its line, rather than a run later.
        if upload_type.kind() == UploadKind::TestPackage && matches!(verdict, Inspection::Succeeded { .. }) {
            if let Err(e) = crate::sim::read_from_package(&path) {
                verdict = Inspection::Failed { message: e.to_string() };
            }
        }
        if remove_after {
            let _ = std::fs::remove_file(&path);
        }
        verdict
    })
    .await?)
}

async fn record_verdict(store: &dyn Store, mut record: Record, verdict: Inspection) -> Result<(), ProcessingError> {
    loop {
        let mut upload = decode(&record)?;
        if upload.status != UploadStatus::Processing {
            return Ok(()); // someone re-opened or deleted it meanwhile; their state wins
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
        record.body = serde_json::to_value(&upload).map_err(|e| ProcessingError::Corrupt(record.arn.clone(), e))?;
        match store.update(&record).await {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict) => match store.get(&record.account_id, &record.arn).await? {
                Some(fresh) => record = fresh,
                None => return Ok(()),
            },
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Finds every upload left PROCESSING (by a crash or restart) and inspects it again.
pub async fn resume(
    store: &dyn Store,
    blobs: &BlobStore,
    blob_key: impl Fn(&str) -> Option<String>,
) -> Result<usize, ProcessingError> {
    let mut resumed = 0;
    for account in store.accounts().await? {
        let mut query = ListQuery::new(account.id.clone(), "upload", 500);
        query.status_in = Some(vec![UploadStatus::Processing.as_str().to_string()]);
        loop {
            let page = store.list(&query).await?;
            for record in &page.records {
                if let Some(key) = blob_key(&record.arn) {
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
