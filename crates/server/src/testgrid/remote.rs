//! The browsers of device hosts connected to this replica (`farmhand agent` with
//! `[[browser]]`, or browsers found on its machine): what each offers, and a session's
//! start, commands and end as requests over the host's existing connection, each matched
//! to its answer. A host's connection ending ends its sessions (`RemoteEvent::HostLost`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use host::agent::protocol::{BrowserOffer, ControlMessage, HostMessage};
use host::browser::BrowserKind;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

/// How long a host has to start a browser, to answer a command, and to end a session
/// (its upload included).
const START_PATIENCE: Duration = Duration::from_secs(120);
const COMMAND_PATIENCE: Duration = Duration::from_secs(600);
const END_PATIENCE: Duration = Duration::from_secs(120);

/// What happens to remote sessions on the hosts' side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteEvent {
    Died { session: String, reason: String },
    HostLost(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Awaited {
    Start(String),
    Answer(u64),
    End(String),
}

struct Connected {
    connection: u64,
    tx: UnboundedSender<ControlMessage>,
    offers: Vec<BrowserOffer>,
}

/// A driver's answer to a command, whole.
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: bytes::Bytes,
}

pub struct RemoteBrowsers {
    hosts: Mutex<BTreeMap<String, Connected>>,
    awaited: Mutex<HashMap<Awaited, oneshot::Sender<HostMessage>>>,
    seq: AtomicU64,
    events: UnboundedSender<RemoteEvent>,
    receiver: Mutex<Option<UnboundedReceiver<RemoteEvent>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for RemoteBrowsers {
    fn default() -> Self {
        let (events, receiver) = unbounded_channel();
        RemoteBrowsers {
            hosts: Mutex::default(),
            awaited: Mutex::default(),
            seq: AtomicU64::new(1),
            events,
            receiver: Mutex::new(Some(receiver)),
        }
    }
}

impl RemoteBrowsers {
    /// The events, for the one loop that acts on them.
    pub fn take_events(&self) -> Option<UnboundedReceiver<RemoteEvent>> {
        lock(&self.receiver).take()
    }

    pub fn connected(
        &self,
        host: &str,
        connection: u64,
        tx: UnboundedSender<ControlMessage>,
        offers: Vec<BrowserOffer>,
    ) {
        let replaced = lock(&self.hosts).insert(host.to_string(), Connected { connection, tx, offers });
        if replaced.is_some() {
            // A reconnect: the sessions of the old connection are gone with it.
            let _ = self.events.send(RemoteEvent::HostLost(host.to_string()));
        }
    }

    pub fn disconnected(&self, host: &str, connection: u64) {
        let mut hosts = lock(&self.hosts);
        if hosts.get(host).is_some_and(|c| c.connection == connection) {
            hosts.remove(host);
            let _ = self.events.send(RemoteEvent::HostLost(host.to_string()));
        }
    }

    /// Every browser connected hosts offer.
    pub fn offers(&self) -> Vec<(String, BrowserOffer)> {
        lock(&self.hosts).iter().flat_map(|(host, c)| c.offers.iter().map(move |o| (host.clone(), o.clone()))).collect()
    }

    /// A host's message about a browser session: an awaited answer, or a death.
    pub fn received(&self, message: HostMessage) {
        let key = match &message {
            HostMessage::BrowserStarted { session, .. } => Awaited::Start(session.clone()),
            HostMessage::BrowserAnswer { seq, .. } => Awaited::Answer(*seq),
            HostMessage::BrowserEnded { session, .. } => Awaited::End(session.clone()),
            HostMessage::BrowserDied { session, reason } => {
                let _ = self.events.send(RemoteEvent::Died { session: session.clone(), reason: reason.clone() });
                return;
            }
            _ => return,
        };
        if let Some(waiter) = lock(&self.awaited).remove(&key) {
            let _ = waiter.send(message);
        }
    }

    async fn ask(
        &self,
        host: &str,
        message: ControlMessage,
        key: Awaited,
        patience: Duration,
    ) -> Result<HostMessage, String> {
        let (tx, rx) = oneshot::channel();
        lock(&self.awaited).insert(key.clone(), tx);
        let sent = lock(&self.hosts).get(host).map(|c| c.tx.send(message).is_ok());
        if sent != Some(true) {
            lock(&self.awaited).remove(&key);
            return Err(format!("host {host} is not connected"));
        }
        match tokio::time::timeout(patience, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(format!("host {host} went away")),
            Err(_) => {
                lock(&self.awaited).remove(&key);
                Err(format!("host {host} did not answer within {patience:?}"))
            }
        }
    }

    /// Starts `session` on `host`: the driver's status and answer.
    pub async fn start(
        &self,
        host: &str,
        session: &str,
        kind: BrowserKind,
        request: serde_json::Value,
    ) -> Result<(u16, String), String> {
        let message = ControlMessage::BrowserStart { session: session.to_string(), kind, request };
        match self.ask(host, message, Awaited::Start(session.to_string()), START_PATIENCE).await? {
            HostMessage::BrowserStarted { status, body, .. } => Ok((status, body)),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }

    pub async fn command(
        &self,
        host: &str,
        session: &str,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Answer, String> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let message = ControlMessage::BrowserCommand {
            session: session.to_string(),
            seq,
            method: method.to_string(),
            path: path.to_string(),
            query: query.map(str::to_string),
            body: STANDARD.encode(body),
        };
        match self.ask(host, message, Awaited::Answer(seq), COMMAND_PATIENCE).await? {
            HostMessage::BrowserAnswer { status: 0, body, .. } => {
                Err(String::from_utf8_lossy(&STANDARD.decode(body).unwrap_or_default()).into_owned())
            }
            HostMessage::BrowserAnswer { status, content_type, body, .. } => Ok(Answer {
                status,
                content_type,
                body: STANDARD.decode(body).map_err(|e| format!("an unreadable answer: {e}"))?.into(),
            }),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }

    /// Ends `session` on `host`; the files it uploaded.
    pub async fn end(&self, host: &str, session: &str) -> Result<Vec<String>, String> {
        let message = ControlMessage::BrowserEnd { session: session.to_string() };
        match self.ask(host, message, Awaited::End(session.to_string()), END_PATIENCE).await? {
            HostMessage::BrowserEnded { artifacts, .. } => Ok(artifacts),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }
}
