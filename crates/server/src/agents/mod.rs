//! Where device hosts (`farmhand agent`, and the server's own devices through its
//! built-in agent) connect: a WebSocket for hello, heartbeats, reports and pushed orders,
//! and plain HTTP for the files of the jobs they run. Authenticated with an agent token
//! (`Authorization: Bearer fhagent_…`), which stands for one host and reaches only the
//! jobs on that host's devices; it grants nothing in the Device Farm API.
//!
//! - `hub`: the sessions and the routing of jobs, reports and orders.
//! - `session`: one host's WebSocket.
//! - `files`: job inputs down, output and artifacts up.

pub mod files;
pub mod hub;
mod session;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::Router;

use super::AppState;

pub use hub::Hub;

use host::agent::protocol::{
    ARTIFACT_PATH, BROWSER_ARTIFACT_PATH, CONNECT_PATH, INPUT_PATH, OUTPUT_PATH, SESSION_APP_PATH,
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(CONNECT_PATH, get(session::connect))
        .route(INPUT_PATH, get(files::input))
        .route(OUTPUT_PATH, put(files::output))
        .route(ARTIFACT_PATH, put(files::artifact))
        .route(BROWSER_ARTIFACT_PATH, put(files::browser_artifact))
        .route(SESSION_APP_PATH, get(files::session_app))
}

/// The host the request's token stands for.
pub async fn host_of(state: &AppState, headers: &HeaderMap) -> Result<String, (StatusCode, String)> {
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or((StatusCode::UNAUTHORIZED, "an agent token is required (Authorization: Bearer …)".to_string()))?;
    if let Some((token, host)) = &state.internal_agent {
        // The built-in agent's token lives only in this process's memory.
        if constant_time_eq(token.as_bytes(), presented.as_bytes()) {
            return Ok(host.clone());
        }
    }
    match crate::agent_tokens::authenticate(state.store.as_ref(), presented).await {
        Ok(Some(host)) => Ok(host),
        Ok(None) => Err((StatusCode::UNAUTHORIZED, "the agent token is not valid (unknown or revoked)".to_string())),
        Err(e) => Err((StatusCode::SERVICE_UNAVAILABLE, format!("checking the agent token failed: {e}"))),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
