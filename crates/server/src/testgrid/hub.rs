//! The WebDriver hub a CreateTestGridUrl URL points at: `…/testgrid/TOKEN/wd/hub`, then
//! W3C WebDriver below it. `POST /session` starts a session on one of this farm's
//! browsers; every other command is forwarded to the session's driver and its answer
//! streamed back unchanged; `DELETE /session/{id}` quits and ends the session. Every
//! command is recorded as an action. A refusal is a WebDriver error body
//! (`{"value": {"error", "message", "stacktrace"}}`) with the status W3C gives it.

use super::backend::{passed_on, Reply};
use super::live::LiveSession;
use crate::sealed_url::{Grant, TokenError};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use domain::arn::{Arn, ResourceKind};
use domain::testgrid::{command_name, EndReason, SessionAction, TestGridSession};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

/// A WebDriver error answer (W3C WebDriver, "Errors").
#[derive(Debug, Clone, PartialEq)]
pub struct WebDriverError {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
}

impl WebDriverError {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        WebDriverError { status, error, message: message.into() }
    }

    pub fn session_not_created(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "session not created", message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid argument", message)
    }

    pub fn invalid_session(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid session id", message)
    }

    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "unknown error", message)
    }

    /// A quota's rate was passed: HTTP's own status for it, with WebDriver's generic error.
    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "session not created", message)
    }

    /// A driver's own refusal of a new session, passed on as it gave it.
    pub fn from_driver(status: u16, body: &[u8]) -> Self {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let message = parsed["value"]["message"].as_str().unwrap_or("the driver refused the session").to_string();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        WebDriverError { status, error: "session not created", message }
    }
}

impl IntoResponse for WebDriverError {
    fn into_response(self) -> Response {
        let body = json!({"value": {"error": self.error, "message": self.message, "stacktrace": ""}});
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        response
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/testgrid/{token}/wd/hub/status", get(status))
        .route("/testgrid/{token}/wd/hub/session", post(new_session))
        .route("/testgrid/{token}/wd/hub/session/{id}", any(session_root))
        .route("/testgrid/{token}/wd/hub/session/{id}/{*command}", any(session_command))
}

fn grant(state: &AppState, token: &str) -> Result<Grant, WebDriverError> {
    state.grid.key.open(token, state.now_ms()).map_err(|e| {
        let status = match e {
            TokenError::Forged(_) => StatusCode::FORBIDDEN,
            TokenError::Expired(_) => StatusCode::FORBIDDEN,
        };
        WebDriverError::new(status, "unknown error", e.to_string())
    })
}

async fn read_body(state: &AppState, body: Body) -> Result<bytes::Bytes, WebDriverError> {
    let limit = state.grid.config.max_body_bytes;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        WebDriverError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid argument",
            format!("the request body is larger than {} MB, the most this farm accepts", limit / (1024 * 1024)),
        )
    })
}

async fn status(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    if let Err(e) = grant(&state, &token) {
        return e.into_response();
    }
    let offers = state.grid.offers();
    let ready = offers.iter().any(|o| o.in_use < o.max_sessions);
    let browsers: Vec<Value> = offers
        .iter()
        .map(|o| {
            json!({"browserName": o.kind.name(), "browserVersion": o.version, "maxSessions": o.max_sessions,
                   "sessions": o.in_use, "host": o.host})
        })
        .collect();
    let message = if ready { "farmhand is ready for new sessions" } else { "every browser of this farm is in use" };
    Json(json!({"value": {"ready": ready, "message": message, "browsers": browsers}})).into_response()
}

struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        let mut response = self.0.to_string().into_response();
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        response
    }
}

async fn new_session(State(state): State<Arc<AppState>>, Path(token): Path<String>, body: Body) -> Response {
    let started = Instant::now();
    let started_ms = state.now_ms();
    match start(&state, &token, body).await {
        Ok((live, answer)) => {
            record(&state, &live, "newSession", "POST", started_ms, started, 200);
            Json(answer).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn start(state: &Arc<AppState>, token: &str, body: Body) -> Result<(Arc<LiveSession>, Value), WebDriverError> {
    let grant = grant(state, token)?;
    let body = read_body(state, body).await?;
    let request: Value = serde_json::from_slice(&body)
        .map_err(|e| WebDriverError::invalid_argument(format!("the new session request is not JSON: {e}")))?;
    let project = Arn::new(&state.region, &grant.account_id, ResourceKind::TestGridProject, &grant.resource);
    match state.store.get(&grant.account_id, &project.to_string()).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(WebDriverError::session_not_created(format!("the TestGrid project {project} no longer exists")))
        }
        Err(e) => return Err(WebDriverError::unknown(format!("the farm could not read the project: {e}"))),
    }
    state.grid.clone().start(state, &grant, &request).await
}

/// A command as it arrived: below which session, how, and what it carried.
struct Command {
    token: String,
    id: String,
    /// Below `/session/{id}`; empty for the session itself.
    path: String,
    method: Method,
    uri: Uri,
    relayed: bool,
    body: Body,
}

async fn session_root(
    State(state): State<Arc<AppState>>,
    Path((token, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let relayed = headers.contains_key(RELAYED);
    forward(state, Command { token, id, path: String::new(), method, uri, relayed, body }).await
}

async fn session_command(
    State(state): State<Arc<AppState>>,
    Path((token, id, command)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let relayed = headers.contains_key(RELAYED);
    forward(state, Command { token, id, path: format!("/{command}"), method, uri, relayed, body }).await
}

/// Marks a command one replica hands to another, which must then answer it itself.
const RELAYED: &str = "x-farmhand-relayed";

/// Where a session's commands are answered.
enum Holder {
    Here(Arc<LiveSession>),
    /// Another replica runs it: its URL, and the session as stored.
    Elsewhere(String, Box<(store::Record, TestGridSession)>),
}

/// The session `id` of `grant`'s project, running here or on another replica; otherwise
/// why it cannot be used.
async fn holder(state: &AppState, grant: &Grant, id: &str, relayed: bool) -> Result<Holder, WebDriverError> {
    if let Some(live) = state.grid.session(id) {
        if live.account_id() == grant.account_id && live.project_id == grant.resource {
            return Ok(Holder::Here(live));
        }
        return Err(WebDriverError::invalid_session(format!("no session {id} in this project")));
    }
    let project = Arn::new(&state.region, &grant.account_id, ResourceKind::TestGridProject, &grant.resource);
    let arn = project.child(ResourceKind::TestGridSession, id);
    let stored = match state.store.get(&grant.account_id, &arn.to_string()).await {
        Ok(Some(record)) => record.decode::<TestGridSession>().ok().map(|session| (record, session)),
        Ok(None) => None,
        Err(e) => return Err(WebDriverError::unknown(format!("the farm could not read the session: {e}"))),
    };
    let Some((record, session)) = stored else {
        return Err(WebDriverError::invalid_session(format!("no session {id} in this project")));
    };
    if session.end_reason.is_none() && state.grid.was_ours(&session) {
        let why = format!("replica {} restarted", session.replica);
        state.grid.close_orphan(state, record, session, why).await;
        return Err(WebDriverError::invalid_session(format!("session {id} ended: its replica restarted")));
    }
    match &session.end_reason {
        Some(reason) => Err(WebDriverError::invalid_session(format!(
            "session {id} is {}: {}",
            session.status().as_str(),
            reason.describe()
        ))),
        None if session.replica != state.grid.replica() && !relayed && !session.replica_url.is_empty() => {
            Ok(Holder::Elsewhere(session.replica_url.clone(), Box::new((record, session))))
        }
        None => {
            Err(WebDriverError::invalid_session(format!("session {id} is not running on the replica that holds it")))
        }
    }
}

/// Hands a command to the replica that runs its session, and its answer back unchanged.
/// A replica that cannot be connected to is gone, and the session with it.
async fn relay(
    state: &AppState,
    peer: &str,
    stored: (store::Record, TestGridSession),
    method: Method,
    uri: &Uri,
    body: bytes::Bytes,
) -> Response {
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let sent = state.grid.peers.request(method, format!("{peer}{path}")).header(RELAYED, "1").body(body).send().await;
    match sent {
        Ok(response) => Reply::Streamed(response).into_response(),
        Err(e) if e.is_connect() => {
            let (record, session) = stored;
            let why = format!("replica {} is unreachable", session.replica);
            let id = record.name.clone();
            state.grid.close_orphan(state, record, session, why.clone()).await;
            WebDriverError::invalid_session(format!("session {id} ended: {why}")).into_response()
        }
        Err(e) => {
            WebDriverError::unknown(format!("the replica running this session did not answer: {e}")).into_response()
        }
    }
}

async fn forward(state: Arc<AppState>, command: Command) -> Response {
    let started = Instant::now();
    let started_ms = state.now_ms();
    let Command { token, id, path, method, uri, relayed, body } = command;
    let grant = match grant(&state, &token) {
        Ok(grant) => grant,
        Err(e) => return e.into_response(),
    };
    let held = match holder(&state, &grant, &id, relayed).await {
        Ok(held) => held,
        Err(e) => return e.into_response(),
    };
    let body = match read_body(&state, body).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let live = match held {
        Holder::Here(live) => live,
        Holder::Elsewhere(peer, stored) => return relay(&state, &peer, *stored, method, &uri, body).await,
    };
    let quit = method == Method::DELETE && path.is_empty();
    if quit {
        live.backend.quitting();
    }
    let name = command_name(method.as_str(), &path);
    live.command_started(started_ms);
    let sent = live.backend.send(method.clone(), &path, uri.query(), body).await;
    live.command_finished(state.now_ms());
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            record(&state, &live, &name, method.as_str(), started_ms, started, 500);
            return WebDriverError::unknown(format!("the session's browser did not answer: {e}")).into_response();
        }
    };
    let status = response.status();
    state.metrics.record_hub_command(live.backend.kind().name(), started.elapsed());
    record(&state, &live, &name, method.as_str(), started_ms, started, status);
    // Closing the last window ends a WebDriver session as a quit does.
    let closes_session = quit || (method == Method::DELETE && path == "/window");
    if closes_session {
        let (status, content_type, bytes) = response.bytes().await;
        let last_window = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .is_some_and(|v| v["value"].as_array().is_some_and(Vec::is_empty));
        if quit || (status == 200 && last_window) {
            live.backend.quitting();
            state.grid.end(&state, &live, EndReason::Quit, state.now_ms()).await;
        }
        return passed_on(status, content_type, Body::from(bytes));
    }
    response.into_response()
}

fn record(
    state: &AppState,
    live: &LiveSession,
    action: &str,
    method: &str,
    started_ms: i64,
    started: Instant,
    status: u16,
) {
    state.grid.actions.record(
        &live.arn,
        SessionAction {
            action: action.to_string(),
            started_ms,
            duration_ms: started.elapsed().as_millis() as i64,
            status_code: status,
            method: method.to_string(),
        },
    );
}
