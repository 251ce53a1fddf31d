//! URLs farmhand hands out for plain HTTP clients (curl, a browser, `requests`): upload
//! PUTs, artifact downloads, video streams. Each is a SigV4 presigned URL signed with the
//! server's own key, so it is self-contained, expires, and is valid for exactly its path.

use super::auth::auth_error;
use super::http::header_pairs;
use super::{AppState, SIGNING_SERVICE};
use axum::http::{HeaderMap, Method, Uri};
use protocol::sigv4::{self, Expectation, PresignTarget, RequestParts, SigningParams};
use protocol::ApiError;

/// How long a handed-out URL stays valid, as AWS's upload and artifact URLs do.
pub const URL_VALIDITY_SECS: u64 = 24 * 60 * 60;

/// A presigned URL for `method` on `path`, signed at real time `now`.
pub fn url(state: &AppState, method: &str, path: &str) -> Result<String, ApiError> {
    let (key_id, secret) = &state.url_signing_key;
    let target =
        PresignTarget { method, url_base: &state.public_url, path, extra_query: &[], expires_secs: URL_VALIDITY_SECS };
    let params = SigningParams {
        access_key_id: key_id,
        secret,
        region: &state.region,
        service: SIGNING_SERVICE,
        time: state.wall_now(),
    };
    let query = sigv4::presign(&target, &params).map_err(|e| state.internal(e))?;
    Ok(format!("{}{path}?{query}", state.public_url))
}

/// Checks that a request carries a valid presigned signature of the server's own key.
pub fn verify(state: &AppState, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), ApiError> {
    let header_list = header_pairs(headers);
    let parts = RequestParts {
        method: method.as_str(),
        raw_path: uri.path(),
        raw_query: uri.query().unwrap_or_default(),
        headers: &header_list,
        payload_sha256: None,
    };
    let parsed = sigv4::parse(&parts).map_err(auth_error)?;
    let (key_id, secret) = &state.url_signing_key;
    if parsed.access_key_id() != key_id || !matches!(parsed.form(), sigv4::AuthForm::Presigned { .. }) {
        return Err(auth_error(sigv4::AuthError::unrecognized_client()));
    }
    parsed
        .verify(secret, state.wall_now(), &Expectation { region: &state.region, service: SIGNING_SERVICE })
        .map_err(auth_error)?;
    Ok(())
}

/// Middleware for the routes presigned URLs point at: only a request carrying a valid
/// signature of the server's own key reaches the handler.
pub async fn require(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match verify(&state, request.method(), request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => super::http::error_response(&e, &uuid::Uuid::new_v4().to_string()),
    }
}
