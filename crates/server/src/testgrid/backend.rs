//! Where a session's browser runs: on this server (`host::browser::session`), or on a
//! device host reached over its connection (`remote`). The hub and the session's end see
//! one interface.

use super::artifacts::{self, LOG_FILE, VIDEO_FILE};
use super::remote::{Answer, RemoteBrowsers};
use crate::AppState;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use domain::arn::Arn;
use domain::testgrid::{SessionArtifact, SessionArtifactKind};
use host::browser::session::BrowserSession;
use host::browser::BrowserKind;
use std::sync::Arc;

/// The host name of the server's own browsers.
pub const LOCAL: &str = "local";

pub enum Backend {
    Local(Box<BrowserSession>),
    Remote { host: String, session: String, kind: BrowserKind, remote: Arc<RemoteBrowsers> },
}

/// A driver's answer: streamed from a local driver, whole from a remote one.
pub enum Reply {
    Streamed(reqwest::Response),
    Whole(Answer),
}

impl Reply {
    pub fn status(&self) -> u16 {
        match self {
            Reply::Streamed(r) => r.status().as_u16(),
            Reply::Whole(a) => a.status,
        }
    }

    fn content_type(&self) -> Option<HeaderValue> {
        match self {
            Reply::Streamed(r) => {
                r.headers().get("content-type").and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
            }
            Reply::Whole(a) => a.content_type.as_deref().and_then(|v| HeaderValue::from_str(v).ok()),
        }
    }

    /// The whole body, for answers the hub reads (a quit, closing a window).
    pub async fn bytes(self) -> (u16, Option<HeaderValue>, bytes::Bytes) {
        let (status, content_type) = (self.status(), self.content_type());
        let body = match self {
            Reply::Streamed(r) => r.bytes().await.unwrap_or_default(),
            Reply::Whole(a) => a.body,
        };
        (status, content_type, body)
    }

    /// The answer passed on unchanged: status, content type and body.
    pub fn into_response(self) -> Response {
        let (status, content_type) = (self.status(), self.content_type());
        let body = match self {
            Reply::Streamed(r) => Body::from_stream(r.bytes_stream()),
            Reply::Whole(a) => Body::from(a.body),
        };
        passed_on(status, content_type, body)
    }
}

pub fn passed_on(status: u16, content_type: Option<HeaderValue>, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    if let Some(value) = content_type {
        response.headers_mut().insert("content-type", value);
    }
    response
}

impl Backend {
    pub fn kind(&self) -> BrowserKind {
        match self {
            Backend::Local(b) => b.spec.kind,
            Backend::Remote { kind, .. } => *kind,
        }
    }

    pub fn host(&self) -> &str {
        match self {
            Backend::Local(_) => LOCAL,
            Backend::Remote { host, .. } => host,
        }
    }

    /// The client quits: the browser's exit that follows is not a crash.
    pub fn quitting(&self) {
        if let Backend::Local(b) = self {
            b.quitting();
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: bytes::Bytes,
    ) -> Result<Reply, String> {
        match self {
            Backend::Local(b) => b.send(method, path, query, body).await.map(Reply::Streamed),
            Backend::Remote { host, session, remote, .. } => {
                remote.command(host, session, method.as_str(), path, query, &body).await.map(Reply::Whole)
            }
        }
    }

    /// Resolves when a local browser dies on its own (a remote host says so in an event).
    pub async fn died(&self) -> String {
        match self {
            Backend::Local(b) => b.died().await,
            Backend::Remote { .. } => std::future::pending().await,
        }
    }

    /// Ends the browser and keeps what it left.
    pub async fn end(&self, state: &AppState, session: &Arn) -> Vec<SessionArtifact> {
        match self {
            Backend::Local(b) => match b.end().await {
                Some(left) => artifacts::keep(state, session, left).await,
                None => Vec::new(),
            },
            Backend::Remote { host, session: id, remote, .. } => match remote.end(host, id).await {
                Ok(files) => files
                    .into_iter()
                    .filter_map(|filename| {
                        let kind = match filename.as_str() {
                            VIDEO_FILE => SessionArtifactKind::Video,
                            LOG_FILE => SessionArtifactKind::SeleniumLog,
                            _ => return None,
                        };
                        Some(SessionArtifact { kind, filename })
                    })
                    .collect(),
                Err(e) => {
                    tracing::warn!(%host, session = %id, error = %e, "ending a session on a device host");
                    Vec::new()
                }
            },
        }
    }
}
