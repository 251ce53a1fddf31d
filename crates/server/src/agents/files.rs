//! The files of a job a host runs: its uploads (down) and its output and artifacts (up),
//! streamed, and only for jobs on the host's own devices.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;

use super::host_of;
use crate::AppState;

#[derive(serde::Deserialize)]
pub struct InputQuery {
    job: String,
    upload: String,
}

#[derive(serde::Deserialize)]
pub struct JobQuery {
    job: String,
    index: Option<u32>,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

async fn owner(state: &AppState, headers: &HeaderMap, job: &str) -> Result<(), Response> {
    let host = host_of(state, headers).await.map_err(|(s, m)| refuse(s, m))?;
    state.hub.check_owner(&host, job).await.map_err(|m| refuse(StatusCode::FORBIDDEN, m))
}

/// `GET /agent/v1/input?job=…&upload=…`: one of the job's uploads.
pub async fn input(State(state): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<InputQuery>) -> Response {
    if let Err(r) = owner(&state, &headers, &q.job).await {
        return r;
    }
    let Some(key) = state.hub.input_key(&q.job, &q.upload).await else {
        return refuse(StatusCode::NOT_FOUND, format!("{} is not an upload of this job's run", q.upload));
    };
    match state.blobs.get_stream(&key).await {
        Ok(stream) => Body::from_stream(stream).into_response(),
        Err(e) => refuse(StatusCode::NOT_FOUND, e.to_string()),
    }
}

/// `PUT /agent/v1/output?job=…`: the job's whole output so far.
pub async fn output(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<JobQuery>,
    body: Body,
) -> Response {
    if let Err(r) = owner(&state, &headers, &q.job).await {
        return r;
    }
    let Ok(arn) = q.job.parse::<domain::arn::Arn>() else { return refuse(StatusCode::BAD_REQUEST, "bad job ARN") };
    store_body(&state, &engine::blob_keys::live_output(&arn), body).await
}

/// `PUT /agent/v1/artifact?job=…&index=N`: one of the job's artifacts; answers its key.
pub async fn artifact(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<JobQuery>,
    body: Body,
) -> Response {
    if let Err(r) = owner(&state, &headers, &q.job).await {
        return r;
    }
    let (Ok(arn), Some(index)) = (q.job.parse::<domain::arn::Arn>(), q.index) else {
        return refuse(StatusCode::BAD_REQUEST, "bad job ARN or missing index");
    };
    let key = engine::blob_keys::artifact(&arn, index);
    match store_body(&state, &key, body).await {
        r if r.status().is_success() => key.into_response(),
        r => r,
    }
}

async fn store_body(state: &AppState, key: &str, body: Body) -> Response {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    match state.blobs.put_stream(key, stream, u64::MAX).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, format!("storing {key}: {e}")),
    }
}

#[derive(serde::Deserialize)]
pub struct BrowserArtifactQuery {
    session: String,
    file: String,
}

/// `PUT /agent/v1/testgrid-artifact?session=ARN&file=NAME`: what a TestGrid session on the
/// host's browser left (`video.mp4`, `selenium.log`), while the session is ending.
pub async fn browser_artifact(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<BrowserArtifactQuery>,
    body: Body,
) -> Response {
    use crate::testgrid::artifacts::{LOG_FILE, VIDEO_FILE};
    let host = match host_of(&state, &headers).await {
        Ok(host) => host,
        Err((status, message)) => return refuse(status, message),
    };
    if ![VIDEO_FILE, LOG_FILE].contains(&q.file.as_str()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("a session leaves {VIDEO_FILE} and {LOG_FILE}, not {}", q.file),
        );
    }
    let Ok(arn) = q.session.parse::<domain::arn::Arn>() else {
        return refuse(StatusCode::BAD_REQUEST, "bad session ARN");
    };
    let session = match state.store.get(&arn.account, &q.session).await {
        Ok(Some(record)) => record.decode::<domain::testgrid::TestGridSession>().ok(),
        Ok(None) => None,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    match session {
        Some(s) if s.host == host && s.end_reason.is_none() => {}
        _ => return refuse(StatusCode::FORBIDDEN, format!("{} is not an active session of host {host}", q.session)),
    }
    store_body(&state, &engine::blob_keys::testgrid_artifact(&arn, &q.file), body).await
}

#[derive(serde::Deserialize)]
pub struct SessionAppQuery {
    session: String,
    install: usize,
}

/// `GET /agent/v1/session-app?session=…&install=N`: the app a remote access session on one
/// of the host's devices asked to install.
pub async fn session_app(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<SessionAppQuery>,
) -> Response {
    let host = match host_of(&state, &headers).await {
        Ok(host) => host,
        Err((s, m)) => return refuse(s, m),
    };
    let Ok(arn) = q.session.parse::<domain::arn::Arn>() else {
        return refuse(StatusCode::BAD_REQUEST, "bad session ARN");
    };
    let session = match state.store.get(&arn.account, &q.session).await {
        Ok(Some(record)) => match record.decode::<domain::remote_access::RemoteSession>() {
            Ok(session) => session,
            Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Ok(None) => return refuse(StatusCode::NOT_FOUND, "no such session"),
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let on_this_host = session.instance_arn.as_deref().and_then(|i| state.live_fleet.host_of_instance(i));
    if on_this_host.as_deref() != Some(host.as_str()) {
        return refuse(StatusCode::FORBIDDEN, format!("{} is not on host {host}", q.session));
    }
    let Some(install) = session.installs.get(q.install) else {
        return refuse(StatusCode::NOT_FOUND, "no such install");
    };
    let Ok(app) = install.app_arn.parse::<domain::arn::Arn>() else {
        return refuse(StatusCode::NOT_FOUND, "no such app");
    };
    match state.blobs.get_stream(&engine::blob_keys::upload(&app)).await {
        Ok(stream) => Body::from_stream(stream).into_response(),
        Err(e) => refuse(StatusCode::NOT_FOUND, e.to_string()),
    }
}
