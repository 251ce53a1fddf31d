//! `POST /`: the JSON 1.1 API. Every response, success or error, carries an
//! `x-amzn-RequestId`; every failure is an AWS error body; a panic in an operation becomes
//! a 500 `InternalServiceException` rather than a dropped connection.

use super::auth::{authenticate_throttled, Refusal};
use super::throttle::{throttled_response, Throttle};
use super::AppState;
use crate::api::{self, Ctx};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use http::{HeaderValue, StatusCode};
use protocol::model::{Operation, TARGET_PREFIX};
use protocol::sigv4::RequestParts;
use protocol::{ApiError, ErrorCode};
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tracing::Instrument;

pub const JSON_1_1: &str = "application/x-amz-json-1.1";

/// Device Farm's largest request (ScheduleRun with every option) is a few kilobytes; a
/// megabyte leaves room and bounds what an unauthenticated client can make us read.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Anything that is not one of our routes: answered in the service's error shape, so a
/// misconfigured client sees a readable error instead of an empty 404.
pub async fn no_route(method: Method, uri: Uri) -> Response {
    let e = ApiError::new(
        ErrorCode::UnknownOperation,
        format!("No operation at {method} {}; Device Farm operations are POST / with X-Amz-Target", uri.path()),
    );
    error_response(&e, &uuid::Uuid::new_v4().to_string())
}

/// Every response carries a request id, as AWS's do, including those no handler shaped
/// (the router's own 405s, the upload PUT's 200).
pub async fn ensure_request_id(mut response: Response) -> Response {
    if !response.headers().contains_key("x-amzn-requestid") {
        if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
    }
    response
}

pub fn error_response(e: &ApiError, request_id: &str) -> Response {
    finish((StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), e.body()).into_response(), request_id)
}

fn finish(mut response: Response, request_id: &str) -> Response {
    let h = response.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    response
}

pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

fn operation(headers: &HeaderMap) -> Result<Operation, ApiError> {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let name = target
        .strip_prefix(TARGET_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownOperation, format!("Unknown target '{target}'")))?;
    Operation::from_name(name)
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownOperation, format!("Unknown operation '{name}'")))
}

pub async fn api(
    State(state): State<Arc<AppState>>,
    Extension(throttle): Extension<Arc<Throttle>>,
    extensions: http::Extensions,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let e = ApiError::serialization(format!("The request body cannot be read: {}", rejection.body_text()));
            let mut response = error_response(&e, &request_id);
            *response.status_mut() = rejection.status();
            return response;
        }
    };
    let caller = Caller { throttle: &throttle, peer: super::connections::peer(&extensions) };
    let outcome = AssertUnwindSafe(handle(&state, &caller, &request_id, &method, &uri, &headers, &body))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(state.internal("operation panicked").into()));
    match outcome {
        Ok(body) => finish((StatusCode::OK, body).into_response(), &request_id),
        Err(Refusal::Throttled) => {
            tracing::debug!(%request_id, peer = ?caller.peer, "request throttled");
            throttled_response(&request_id)
        }
        Err(Refusal::Failed(e)) => {
            tracing::debug!(%request_id, code = e.code.as_str(), message = %e.message, "request failed");
            error_response(&e, &request_id)
        }
    }
}

/// Who is asking, as far as the limits care.
struct Caller<'a> {
    throttle: &'a Throttle,
    peer: Option<std::net::IpAddr>,
}

async fn handle(
    state: &Arc<AppState>,
    caller: &Caller<'_>,
    request_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<u8>, Refusal> {
    let header_list = header_pairs(headers);
    let payload_sha256 = hex::encode(Sha256::digest(body));
    let parts = RequestParts {
        method: method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query().unwrap_or_default(),
        headers: &header_list,
        payload_sha256: Some(&payload_sha256),
    };
    let account = authenticate_throttled(state, caller.throttle, caller.peer, &parts).await?;
    let op = operation(headers)?;
    let span = tracing::info_span!("op", name = op.name(), account = %account.id, %request_id);
    let ctx = Ctx { state: state.clone(), account };
    Ok(api::dispatch(&ctx, op, body).instrument(span).await?)
}
