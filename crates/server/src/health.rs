//! Probes for load balancers and orchestrators, unauthenticated like theirs are:
//! `GET /healthz` (liveness: the process serves HTTP; nothing else is looked at, so a
//! database outage never gets a healthy replica restarted) and `GET /readyz` (readiness:
//! whether this replica should get traffic now).
//!
//! Anyone can call them, so a failed check says which check and why in a few words, never
//! a URL, host name or credential; the full error goes to the server log.

use super::shutdown::Draining;
use super::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderValue, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use store::blob::BlobError;

/// How long a readiness check may take before the replica counts as not ready: well under
/// the probe timeouts balancers use (AWS's default is 5 s).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A key nothing ever stores: asking for its size is the cheapest round trip to the blob
/// store, and "not found" proves the store answered.
const PROBE_KEY: &str = "farmhand-readiness-probe/absent";

/// The longest reason shown; a driver's error can be long, and a probe answer is for humans
/// glancing at a dashboard.
const MAX_REASON_CHARS: usize = 200;

const OK: &str = "ok";

pub fn routes(draining: Draining) -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move |state: State<Arc<AppState>>| readyz(state, draining.clone())))
}

async fn healthz() -> Response {
    probe_response(StatusCode::OK, json!({ "status": OK }))
}

async fn readyz(State(state): State<Arc<AppState>>, draining: Draining) -> Response {
    let (schema, blob_store) = tokio::join!(check_schema(&state), check_blob_store(&state));
    let (database, migrations) = schema;
    let shutting_down = draining.is_draining();
    let ready = database == OK && migrations == OK && blob_store == OK && !shutting_down;
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "checks": {
            "database": database,
            "migrations": migrations,
            "blob_store": blob_store,
            "shutting_down": shutting_down,
        },
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    probe_response(status, body)
}

/// The database check and the migrations check, from one read of the version table.
async fn check_schema(state: &AppState) -> (String, String) {
    match tokio::time::timeout(CHECK_TIMEOUT, state.store.missing_migrations()).await {
        Err(_) => (format!("no answer within {} s", CHECK_TIMEOUT.as_secs()), unknown()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database check failed");
            (reason(&e.to_string()), unknown())
        }
        Ok(Ok(missing)) if missing.is_empty() => (OK.into(), OK.into()),
        Ok(Ok(missing)) => {
            let versions: Vec<String> = missing.iter().map(i64::to_string).collect();
            (OK.into(), format!("not applied: {}", versions.join(", ")))
        }
    }
}

fn unknown() -> String {
    "unknown: the database did not answer".into()
}

async fn check_blob_store(state: &AppState) -> String {
    match tokio::time::timeout(CHECK_TIMEOUT, state.blobs.size(PROBE_KEY)).await {
        Err(_) => format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
        Ok(Ok(_) | Err(BlobError::NotFound(_))) => OK.into(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the blob store check failed");
            reason(&e.to_string())
        }
    }
}

/// An error's text fit for an unauthenticated caller: anything shaped like a URL (which
/// may carry a user and password) is dropped, and the rest kept short.
fn reason(error: &str) -> String {
    let words: Vec<&str> =
        error.split_whitespace().map(|word| if word.contains("://") { "<url>" } else { word }).collect();
    let text = words.join(" ");
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn probe_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    // A cached "ready" would outlive the replica's readiness.
    response.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_never_carry_urls() {
        let shown = reason("error connecting to postgres://farmhand:s3cret@db.internal:5432/farm: refused");
        assert!(!shown.contains("s3cret") && !shown.contains("db.internal"), "{shown}");
        assert!(shown.contains("<url>") && shown.ends_with("refused"), "{shown}");
    }

    #[test]
    fn reasons_are_kept_short() {
        let shown = reason(&"é".repeat(500));
        assert_eq!(shown.chars().count(), MAX_REASON_CHARS + 1);
    }
}
