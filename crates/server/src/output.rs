//! `GET /output/ACCOUNT/JOB?follow=true`: a real job's test-spec output, as it is written.
//! Signed like API requests (SigV4 with the caller's key), so `farmhand logs` and scripts
//! use the same credentials as their AWS clients. While the job runs on this server's own
//! devices the output is read from its file; otherwise from the copy its host keeps in
//! the blob store (at most a second behind), so any replica can serve it.

use super::auth::authenticate;
use super::http::{error_response, header_pairs};
use super::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use domain::arn::{Arn, ResourceKind};
use engine::job_view::job_snapshot;
use futures::StreamExt;
use protocol::sigv4::RequestParts;
use protocol::ApiError;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(200);

#[derive(serde::Deserialize)]
pub struct OutputQuery {
    #[serde(default)]
    follow: bool,
}

fn fail(e: ApiError) -> Response {
    error_response(&e, &uuid::Uuid::new_v4().to_string())
}

/// Everything of the job's output from byte `offset` on, from wherever it is now.
async fn read_from(state: &AppState, job_arn: &Arn, offset: usize) -> Vec<u8> {
    let local = state.local_executor.as_ref().and_then(|e| e.live_output(&job_arn.to_string()));
    let bytes = match local {
        Some(path) => tokio::fs::read(&path).await.ok(),
        None => None,
    };
    let bytes = match bytes {
        Some(b) => b,
        None => match state.blobs.get_stream(&engine::blob_keys::live_output(job_arn)).await {
            Ok(mut stream) => {
                let mut all = Vec::new();
                while let Some(Ok(chunk)) = stream.next().await {
                    all.extend_from_slice(&chunk);
                }
                all
            }
            Err(_) => Vec::new(),
        },
    };
    bytes.get(offset..).map(<[u8]>::to_vec).unwrap_or_default()
}

async fn is_final(state: &AppState, job_arn: &Arn) -> bool {
    let Ok(Some(record)) = state.store.get(&job_arn.account, &job_arn.to_string()).await else { return true };
    let Ok(job) = record.decode::<domain::run::Job>() else { return true };
    job_snapshot(&job, &record, state.engine.prep(), state.now_ms()).is_final
}

pub async fn output(
    State(state): State<Arc<AppState>>,
    Path((account, job_id)): Path<(String, String)>,
    Query(query): Query<OutputQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let header_list = header_pairs(&headers);
    let empty_body = hex::encode(Sha256::digest(b""));
    let parts = RequestParts {
        method: method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query().unwrap_or_default(),
        headers: &header_list,
        payload_sha256: Some(&empty_body),
    };
    let caller = match authenticate(&state, &parts).await {
        Ok(account) => account,
        Err(e) => return fail(e),
    };
    let job_arn = Arn::new(&state.region, &account, ResourceKind::Job, job_id);
    stream(&state, &caller.id, job_arn, query.follow, None).await
}

/// Asked before each read of a followed output: whether the caller may still see it (a
/// dashboard session can end mid-stream; a signed request was checked once, like a download).
pub type StillAllowed = Arc<dyn Fn() -> futures::future::BoxFuture<'static, bool> + Send + Sync>;

/// The output of `job_arn`, which must belong to `account_id` (another account's job is as
/// missing as one that never was); followed until the job ends when `follow`. Shared by the
/// signed route above and the dashboard's job page.
pub async fn stream(
    state: &Arc<AppState>,
    account_id: &str,
    job_arn: Arn,
    follow: bool,
    still_allowed: Option<StillAllowed>,
) -> Response {
    let not_found = || fail(ApiError::not_found(format!("No job was found with ARN {job_arn}")));
    if job_arn.account != account_id {
        return not_found();
    }
    match state.store.get(account_id, &job_arn.to_string()).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return fail(state.internal(e)),
    }
    if !follow {
        let bytes = read_from(state, &job_arn, 0).await;
        return (StatusCode::OK, [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response();
    }
    let chunks =
        futures::stream::unfold((state.clone(), job_arn, 0usize, false), move |(state, job_arn, offset, done)| {
            let still_allowed = still_allowed.clone();
            async move {
                if done {
                    return None;
                }
                loop {
                    // A stopping replica ends its streams; the follower reconnects to another one.
                    if state.draining.is_draining() {
                        return None;
                    }
                    if let Some(allowed) = &still_allowed {
                        if !allowed().await {
                            return None;
                        }
                    }
                    // Whether the job had ended is read before the output, so the last read after
                    // it ended sees everything it wrote.
                    let ended = is_final(&state, &job_arn).await;
                    let fresh = read_from(&state, &job_arn, offset).await;
                    if !fresh.is_empty() || ended {
                        let next = offset + fresh.len();
                        return Some((Ok::<_, std::convert::Infallible>(fresh), (state, job_arn, next, ended)));
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        });
    (StatusCode::OK, [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], Body::from_stream(chunks))
        .into_response()
}
