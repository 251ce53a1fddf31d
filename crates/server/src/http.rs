//! `POST /`: the JSON 1.1 API. Every response, success or error, carries an
//! `x-amzn-RequestId`; every failure is an AWS error body; a panic in an operation becomes
//! a 500 `InternalServiceException` rather than a dropped connection. Each request is
//! counted and timed for `/metrics` by operation and result code.

use super::auth::{authenticate_throttled, Refusal};
use super::throttle::{throttled_response, Throttle, THROTTLED_CODE};
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
pub async fn no_route(method: Method, uri: Uri, extensions: http::Extensions) -> Response {
    let e = ApiError::new(
        ErrorCode::UnknownOperation,
        format!("No operation at {method} {}; Device Farm operations are POST / with X-Amz-Target", uri.path()),
    );
    error_response(&e, &request_id_of(&extensions))
}

/// The id of the request being handled: in its extensions, on every log line of its span,
/// and in its response's `x-amzn-RequestId`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Around the whole router: gives each request its id and a span carrying it, so every line
/// logged while handling it, or while producing its streamed body, names it, and puts the
/// same id on the response, as AWS does, including responses no handler shaped (the
/// router's own 405s, the upload PUT's 200).
pub async fn with_request_id(mut request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = request.uri().path());
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            took_ms = started.elapsed().as_millis() as u64,
            "request handled"
        );
    });
    let mut response = response.map(|body| super::span_body::in_span(body, span));
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

fn request_id_of(extensions: &http::Extensions) -> String {
    extensions.get::<RequestId>().map(|id| id.0.clone()).unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
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
    let started = std::time::Instant::now();
    let request_id = request_id_of(&extensions);
    let op = operation(&headers);
    // The metrics' label: only the model's names, whatever the target says.
    let operation_name = op.as_ref().map(|o| o.name()).unwrap_or(super::metrics::UNKNOWN_OPERATION);
    let (response, code) = match body {
        Err(rejection) => {
            let e = ApiError::serialization(format!("The request body cannot be read: {}", rejection.body_text()));
            let mut response = error_response(&e, &request_id);
            *response.status_mut() = rejection.status();
            (response, e.code.as_str())
        }
        Ok(body) => {
            let caller = Caller { throttle: &throttle, peer: super::connections::peer(&extensions) };
            let outcome = AssertUnwindSafe(handle(&state, &caller, op, &method, &uri, &headers, &body))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(state.internal("operation panicked").into()));
            match outcome {
                Ok(body) => (finish((StatusCode::OK, body).into_response(), &request_id), super::metrics::OK_CODE),
                Err(Refusal::Throttled) => {
                    tracing::debug!(peer = ?caller.peer, "request throttled");
                    (throttled_response(&request_id), THROTTLED_CODE)
                }
                Err(Refusal::Failed(e)) => {
                    tracing::debug!(code = e.code.as_str(), error = %e.message, "request failed");
                    (error_response(&e, &request_id), e.code.as_str())
                }
            }
        }
    };
    state.metrics.record_request(operation_name, code, started.elapsed());
    response
}

/// Who is asking, as far as the limits care.
struct Caller<'a> {
    throttle: &'a Throttle,
    peer: Option<std::net::IpAddr>,
}

async fn handle(
    state: &Arc<AppState>,
    caller: &Caller<'_>,
    op: Result<Operation, ApiError>,
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
    // Authentication first, as AWS answers: an unsigned request is refused as such whatever it targets.
    let op = op?;
    // The request's own span (with its id) encloses this one.
    let span = tracing::info_span!("op", operation = op.name(), account = %account.id);
    let ctx = Ctx { state: state.clone(), account };
    Ok(api::dispatch(&ctx, op, body).instrument(span).await?)
}
