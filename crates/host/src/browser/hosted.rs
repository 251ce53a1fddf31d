//! The TestGrid sessions a device host (`farmhand agent`) runs for the control plane, over
//! its existing connection: started, given commands and ended by `ControlMessage`s, each
//! answered by a `HostMessage`; a session's video and log are uploaded before its end is
//! reported. A lost connection ends every session here (the control plane has already
//! ended them: nobody can reach them any more).

use super::capabilities::match_request;
use super::session::{BrowserSession, StartError};
use super::{BrowserKind, BrowserSpec};
use crate::agent::protocol::{BrowserOffer, HostMessage, BROWSER_ARTIFACT_PATH};
use crate::agent::remote_link::RemoteLink;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

pub struct HostedBrowsers {
    specs: Vec<BrowserSpec>,
    work_dir: PathBuf,
    sessions: Mutex<HashMap<String, Arc<BrowserSession>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl HostedBrowsers {
    pub fn new(specs: Vec<BrowserSpec>, work_dir: PathBuf) -> Arc<HostedBrowsers> {
        Arc::new(HostedBrowsers { specs, work_dir, sessions: Mutex::new(HashMap::new()) })
    }

    pub fn offers(&self) -> Vec<BrowserOffer> {
        self.specs
            .iter()
            .map(|s| BrowserOffer { kind: s.kind, version: s.version.clone(), max_sessions: s.max_sessions })
            .collect()
    }

    /// Starts `session` on this host's `kind` browser for the client's new-session `request`.
    pub fn start(
        self: &Arc<Self>,
        session: String,
        kind: BrowserKind,
        request: serde_json::Value,
        tx: UnboundedSender<HostMessage>,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            let Some(spec) = this.specs.iter().find(|s| s.kind == kind).cloned() else {
                let body = format!("this host offers no {} browser", kind.name());
                let _ = tx.send(HostMessage::BrowserStarted { session, status: 0, body });
                return;
            };
            // The driver's request is made here, with this host's binary and settings.
            let matched = match match_request(&request, std::slice::from_ref(&spec)) {
                Ok(matched) => matched,
                Err(refusal) => {
                    let _ = tx.send(HostMessage::BrowserStarted { session, status: 0, body: refusal.to_string() });
                    return;
                }
            };
            let (status, body) = match BrowserSession::start(matched, &this.work_dir).await {
                Ok((browser, answer)) => {
                    let browser = Arc::new(browser);
                    lock(&this.sessions).insert(session.clone(), browser.clone());
                    this.watch(session.clone(), browser, tx.clone());
                    (200, answer.to_string())
                }
                Err(StartError::Refused { status, body }) => (status, String::from_utf8_lossy(&body).into_owned()),
                Err(StartError::Failed(why)) => (0, why),
            };
            let _ = tx.send(HostMessage::BrowserStarted { session, status, body });
        });
    }

    fn watch(self: &Arc<Self>, session: String, browser: Arc<BrowserSession>, tx: UnboundedSender<HostMessage>) {
        tokio::spawn(async move {
            let reason = browser.died().await;
            let _ = tx.send(HostMessage::BrowserDied { session, reason });
        });
    }

    /// Runs one command and answers it with the driver's answer, whole.
    #[allow(clippy::too_many_arguments)]
    pub fn command(
        self: &Arc<Self>,
        session: String,
        seq: u64,
        method: String,
        path: String,
        query: Option<String>,
        body: String,
        tx: UnboundedSender<HostMessage>,
    ) {
        let browser = lock(&self.sessions).get(&session).cloned();
        tokio::spawn(async move {
            let gone = |why: String| HostMessage::BrowserAnswer {
                seq,
                status: 0,
                content_type: None,
                body: STANDARD.encode(why),
            };
            let Some(browser) = browser else {
                let _ = tx.send(gone(format!("no session {session} on this host")));
                return;
            };
            let (Ok(method), Ok(body)) = (reqwest::Method::from_bytes(method.as_bytes()), STANDARD.decode(body)) else {
                let _ = tx.send(gone("an unreadable command".to_string()));
                return;
            };
            if method == reqwest::Method::DELETE && path.is_empty() {
                browser.quitting();
            }
            let answer = match browser.send(method, &path, query.as_deref(), body.into()).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let content_type =
                        response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
                    match response.bytes().await {
                        Ok(bytes) => {
                            HostMessage::BrowserAnswer { seq, status, content_type, body: STANDARD.encode(bytes) }
                        }
                        Err(e) => gone(e.to_string()),
                    }
                }
                Err(e) => gone(e),
            };
            let _ = tx.send(answer);
        });
    }

    /// Ends `session`: browser and processes gone, what it left uploaded, then reported.
    pub fn end(self: &Arc<Self>, session: String, link: Arc<RemoteLink>, tx: UnboundedSender<HostMessage>) {
        let browser = lock(&self.sessions).remove(&session);
        tokio::spawn(async move {
            let mut uploaded = Vec::new();
            if let Some(left) = match browser {
                Some(browser) => browser.end().await,
                None => None,
            } {
                let files = [("video.mp4", left.video.clone()), ("selenium.log", Some(left.log.clone()))];
                for (name, path) in files {
                    let Some(path) = path.filter(|p| p.is_file()) else { continue };
                    let q = url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs([("session", session.as_str()), ("file", name)])
                        .finish();
                    match link.put_file_here(&format!("{BROWSER_ARTIFACT_PATH}?{q}"), &path).await {
                        Ok(()) => uploaded.push(name.to_string()),
                        Err(e) => tracing::warn!(%session, file = name, error = %e, "uploading a TestGrid artifact"),
                    }
                }
            }
            let _ = tx.send(HostMessage::BrowserEnded { session, artifacts: uploaded });
        });
    }

    /// The connection is gone: so is every session here.
    pub fn end_all(self: &Arc<Self>) {
        let all: Vec<Arc<BrowserSession>> = lock(&self.sessions).drain().map(|(_, b)| b).collect();
        for browser in all {
            tokio::spawn(async move {
                browser.end().await;
            });
        }
    }
}
