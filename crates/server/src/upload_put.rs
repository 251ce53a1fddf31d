//! `PUT /uploads/ACCOUNT/PROJECT/UPLOAD?X-Amz-…`: the presigned upload URL. The query
//! signature (checked by `presign::require` before this runs) covers the path, so the URL
//! writes exactly one upload and nothing else; the body streams to the blob store (never
//! whole in memory) and inspection starts behind it.

use super::http::error_response;
use super::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::arn::{Arn, ResourceKind};
use domain::resources::Upload;
use domain::upload::UploadStatus;
use protocol::ApiError;
use std::sync::Arc;
use store::blob::BlobError;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    (status, [(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn api_error(e: ApiError) -> Response {
    error_response(&e, &uuid::Uuid::new_v4().to_string())
}

pub async fn put_upload(
    State(state): State<Arc<AppState>>,
    Path((account, project, upload)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let arn = Arn::new(&state.region, &account, ResourceKind::Upload, format!("{project}/{upload}"));
    let record = match state.store.get(&account, &arn.to_string()).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, "NotFoundException", "The upload no longer exists"),
        Err(e) => return api_error(state.internal(e)),
    };
    let Ok(current) = record.decode::<Upload>() else {
        return api_error(state.internal("stored upload does not decode"));
    };
    if current.status != UploadStatus::Initialized {
        return error(
            StatusCode::CONFLICT,
            "InvalidOperationException",
            &format!("The upload is {} and no longer accepts content", current.status.as_str()),
        );
    }
    let declared =
        headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_upload_bytes) {
        return too_large(&state, &account, &arn).await;
    }

    let key = engine::blob_keys::upload(&arn);
    let size = match state.blobs.put_stream(&key, body.into_data_stream(), state.max_upload_bytes).await {
        Ok(size) => size,
        Err(BlobError::TooLarge { .. }) => return too_large(&state, &account, &arn).await,
        Err(e) => return api_error(state.internal(e)),
    };
    if let Err(e) = set_status(&state, &account, &arn, UploadStatus::Processing, None, Some(size)).await {
        return api_error(e);
    }
    let worker = state.clone();
    tokio::spawn(async move {
        let arn = arn.to_string();
        if let Err(e) =
            engine::upload_processing::process(worker.store.as_ref(), &worker.blobs, &account, &arn, &key).await
        {
            tracing::error!(%arn, error = %e, "upload inspection failed");
        }
    });
    StatusCode::OK.into_response()
}

async fn too_large(state: &AppState, account: &str, arn: &Arn) -> Response {
    let message = format!("The upload exceeds the maximum size of {} bytes", state.max_upload_bytes);
    if let Err(e) = set_status(state, account, arn, UploadStatus::Failed, Some(message.clone()), None).await {
        return api_error(e);
    }
    error(StatusCode::PAYLOAD_TOO_LARGE, "EntityTooLarge", &message)
}

/// Moves an INITIALIZED upload on; a concurrent change (another PUT, a delete) wins.
async fn set_status(
    state: &AppState,
    account: &str,
    arn: &Arn,
    status: UploadStatus,
    message: Option<String>,
    size: Option<u64>,
) -> Result<(), ApiError> {
    let Some(mut record) = state.store.get(account, &arn.to_string()).await.map_err(|e| state.internal(e))? else {
        return Ok(());
    };
    let mut upload = record.decode::<Upload>().map_err(|e| state.internal(e))?;
    upload.status = status;
    upload.message = message;
    upload.size_bytes = size.or(upload.size_bytes);
    record.status = Some(status.as_str().to_string());
    record.body = serde_json::to_value(&upload).map_err(|e| state.internal(e))?;
    state.store.update(&record).await.map_err(|e| state.internal(e))?;
    Ok(())
}
