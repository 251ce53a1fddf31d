//! The screens of devices on device hosts (their `adb` phones), reached over each host's
//! existing connection to this replica: a start, input and installs go down as
//! `ControlMessage`s, each answered; pictures come up as binary messages into the session's
//! [`ScreenFeed`]. A host that disconnects ends its sessions' screens.

use host::agent::protocol::{decode_picture, ControlMessage, HostMessage, SESSION_APP_PATH};
use host::screen::{DeviceScreen, Frame, InstallRequest, ScreenFeed};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

/// How long a host may take to start a screen, and to answer one input or install.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const INPUT_TIMEOUT: Duration = Duration::from_secs(15);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Connection {
    id: u64,
    tx: UnboundedSender<ControlMessage>,
}

#[derive(Default)]
pub struct RemoteScreens {
    hosts: Mutex<HashMap<String, Connection>>,
    /// Session ARN → its host and feed.
    screens: Mutex<HashMap<String, (String, ScreenFeed)>>,
    starting: Mutex<HashMap<String, oneshot::Sender<Result<String, String>>>>,
    answers: Mutex<HashMap<u64, oneshot::Sender<Option<String>>>>,
    seq: AtomicU64,
}

impl RemoteScreens {
    pub fn connected(&self, host: &str, id: u64, tx: UnboundedSender<ControlMessage>) {
        lock(&self.hosts).insert(host.to_string(), Connection { id, tx });
    }

    pub fn disconnected(&self, host: &str, id: u64) {
        let mut hosts = lock(&self.hosts);
        if hosts.get(host).is_none_or(|c| c.id != id) {
            return;
        }
        hosts.remove(host);
        drop(hosts);
        let lost: Vec<(String, ScreenFeed)> = lock(&self.screens)
            .iter()
            .filter(|(_, (h, _))| h == host)
            .map(|(session, (_, feed))| (session.clone(), feed.clone()))
            .collect();
        for (session, feed) in lost {
            feed.publish(Frame::Ended(format!("its host {host} disconnected")));
            lock(&self.screens).remove(&session);
            if let Some(waiting) = lock(&self.starting).remove(&session) {
                let _ = waiting.send(Err(format!("its host {host} disconnected")));
            }
        }
    }

    /// Whether `host` is connected to this replica.
    pub fn has_host(&self, host: &str) -> bool {
        lock(&self.hosts).contains_key(host)
    }

    fn send(&self, host: &str, message: ControlMessage) -> Result<(), String> {
        let hosts = lock(&self.hosts);
        let connection = hosts.get(host).ok_or_else(|| format!("host {host} is not connected here"))?;
        connection.tx.send(message).map_err(|_| format!("host {host} is not connected here"))
    }

    /// A host's message about a screen.
    pub fn received(&self, message: HostMessage) {
        match message {
            HostMessage::ScreenStarted { session, udid, error } => {
                if let Some(waiting) = lock(&self.starting).remove(&session) {
                    let _ = waiting.send(match error {
                        None => Ok(udid),
                        Some(e) => Err(e),
                    });
                }
            }
            HostMessage::ScreenConfig { session, config } => {
                if let Some((_, feed)) = lock(&self.screens).get(&session) {
                    feed.publish(Frame::Config(config));
                }
            }
            HostMessage::ScreenAnswer { seq, error } => {
                if let Some(waiting) = lock(&self.answers).remove(&seq) {
                    let _ = waiting.send(error);
                }
            }
            HostMessage::ScreenEnded { session, reason } => {
                if let Some((_, feed)) = lock(&self.screens).remove(&session) {
                    feed.publish(Frame::Ended(reason));
                }
            }
            _ => {}
        }
    }

    /// A binary message from a host: one picture of a session's screen.
    pub fn picture(&self, bytes: &[u8]) {
        let Some((session, picture)) = decode_picture(bytes) else { return };
        if let Some((_, feed)) = lock(&self.screens).get(&session) {
            feed.publish(Frame::Picture(picture));
        }
    }

    /// Starts the screen of `serial` on `host` for `session`.
    pub async fn start(
        self: &Arc<Self>,
        host: &str,
        session: &str,
        serial: &str,
        (width, height): (u32, u32),
        video: bool,
        (network, proxy): (Option<domain::network::NetworkShape>, Option<String>),
    ) -> Result<RemoteScreen, String> {
        let feed = ScreenFeed::new();
        let (started, answer) = oneshot::channel();
        lock(&self.starting).insert(session.to_string(), started);
        lock(&self.screens).insert(session.to_string(), (host.to_string(), feed.clone()));
        let message = ControlMessage::ScreenStart {
            session: session.to_string(),
            serial: serial.to_string(),
            width,
            height,
            video,
            network,
            proxy,
        };
        let outcome = match self.send(host, message) {
            Err(e) => Err(e),
            Ok(()) => match tokio::time::timeout(START_TIMEOUT, answer).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err("the host went away".to_string()),
                Err(_) => Err(format!("the host did not start the screen within {START_TIMEOUT:?}")),
            },
        };
        lock(&self.starting).remove(session);
        match outcome {
            Ok(udid) => {
                Ok(RemoteScreen { owner: self.clone(), host: host.to_string(), session: session.into(), udid, feed })
            }
            Err(e) => {
                lock(&self.screens).remove(session);
                Err(e)
            }
        }
    }

    async fn ask(
        &self,
        host: &str,
        message: impl FnOnce(u64) -> ControlMessage,
        limit: Duration,
    ) -> Result<(), String> {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let (answered, answer) = oneshot::channel();
        lock(&self.answers).insert(seq, answered);
        if let Err(e) = self.send(host, message(seq)) {
            lock(&self.answers).remove(&seq);
            return Err(e);
        }
        let outcome = tokio::time::timeout(limit, answer).await;
        lock(&self.answers).remove(&seq);
        match outcome {
            Ok(Ok(None)) => Ok(()),
            Ok(Ok(Some(error))) => Err(error),
            Ok(Err(_)) => Err("the host went away".into()),
            Err(_) => Err(format!("the host did not answer within {limit:?}")),
        }
    }
}

/// A device's screen on a device host.
pub struct RemoteScreen {
    owner: Arc<RemoteScreens>,
    host: String,
    session: String,
    udid: String,
    feed: ScreenFeed,
}

#[async_trait::async_trait]
impl DeviceScreen for RemoteScreen {
    fn feed(&self) -> ScreenFeed {
        self.feed.clone()
    }

    fn udid(&self) -> String {
        self.udid.clone()
    }

    async fn input(&self, input: &domain::remote_access::input::DeviceInput) -> Result<(), String> {
        let session = self.session.clone();
        let input = input.clone();
        self.owner.ask(&self.host, |seq| ControlMessage::ScreenInput { session, seq, input }, INPUT_TIMEOUT).await
    }

    async fn install(&self, app: &InstallRequest) -> Result<(), String> {
        let session = self.session.clone();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("session", &self.session)
            .append_pair("install", &app.position.to_string())
            .finish();
        let path = format!("{SESSION_APP_PATH}?{query}");
        self.owner.ask(&self.host, |seq| ControlMessage::ScreenInstall { session, seq, path }, INSTALL_TIMEOUT).await
    }

    async fn close(self: Box<Self>) {
        let _ = self.owner.send(&self.host, ControlMessage::ScreenStop { session: self.session.clone() });
        lock(&self.owner.screens).remove(&self.session);
    }
}
