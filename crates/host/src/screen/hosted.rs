//! The remote access sessions a device host serves for the control plane, over its
//! existing connection: a session's screen is started, given input, given apps and stopped
//! by `ControlMessage`s; its pictures go back as binary messages, everything else as
//! `HostMessage`s. A lost connection ends every session here (the control plane has ended
//! them already: nobody can reach them any more).

use super::adb::AdbScreen;
use super::{DeviceScreen, Frame};

use crate::adb::network::ShapedDevice;
use crate::adb::Adb;
use crate::agent::protocol::HostMessage;
use crate::agent::remote_link::RemoteLink;
use domain::network::NetworkShape;
use domain::remote_access::input::DeviceInput;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::UnboundedSender;

/// A session's screen here, and what to undo on its phone when it stops.
struct Hosted {
    screen: Arc<AdbScreen>,
    prepared: Prepared,
}

/// What a session changed on its phone before its screen started.
struct Prepared {
    adb: Adb,
    serial: String,
    shaped: Option<ShapedDevice>,
    proxied: bool,
}

impl Prepared {
    async fn undo(&self) {
        if let Some(on) = &self.shaped {
            self.adb.unshape_network(on).await;
        }
        if self.proxied {
            if let Err(e) = self.adb.set_http_proxy(&self.serial, None).await {
                tracing::warn!(error = %e, serial = %self.serial, "clearing the device's HTTP proxy");
            }
        }
    }
}

#[derive(Default)]
pub struct HostedScreens {
    work_dir: PathBuf,
    sessions: Mutex<HashMap<String, Hosted>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl HostedScreens {
    pub fn new(work_dir: PathBuf) -> Arc<HostedScreens> {
        Arc::new(HostedScreens { work_dir, sessions: Mutex::default() })
    }

    fn screen(&self, session: &str) -> Option<Arc<AdbScreen>> {
        lock(&self.sessions).get(session).map(|h| h.screen.clone())
    }

    /// Starts the screen of `serial` for `session`, its network shaped to `network` and its
    /// HTTP proxy set to `proxy` first.
    pub fn start(
        self: &Arc<Self>,
        session: String,
        serial: String,
        (width, height): (u32, u32),
        video: bool,
        (network, proxy): (Option<NetworkShape>, Option<String>),
        tx: UnboundedSender<HostMessage>,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            match this.open(&serial, (width, height), video, network, proxy).await {
                Ok(hosted) => {
                    // Watched before it is shared, so no picture is missed; holding only the
                    // watch, the forwarding ends with the screen.
                    let watch = hosted.screen.feed().watch();
                    lock(&this.sessions).insert(session.clone(), hosted);
                    let _ = tx.send(HostMessage::ScreenStarted { session: session.clone(), udid: serial, error: None });
                    forward(session, watch, tx).await;
                }
                Err(error) => {
                    let _ = tx.send(HostMessage::ScreenStarted { session, udid: serial, error: Some(error) });
                }
            }
        });
    }

    /// Shapes the network and sets the proxy first (`adb root`, which shaping needs, restarts
    /// adbd and would cut a stream already running), then starts the screen; what was done is
    /// undone if a later step fails.
    async fn open(
        &self,
        serial: &str,
        (width, height): (u32, u32),
        video: bool,
        network: Option<NetworkShape>,
        proxy: Option<String>,
    ) -> Result<Hosted, String> {
        let adb = Adb::from_path_env().map_err(|e| e.to_string())?;
        let mut prepared = Prepared { adb: adb.clone(), serial: serial.to_string(), shaped: None, proxied: false };
        let ready = async {
            if let Some(shape) = &network {
                let on = adb
                    .shape_network(serial, shape)
                    .await
                    .map_err(|e| format!("network profile {}: {e}", shape.name))?;
                prepared.shaped = Some(on);
            }
            if let Some(proxy) = &proxy {
                adb.set_http_proxy(serial, Some(proxy)).await.map_err(|e| format!("device proxy {proxy}: {e}"))?;
                prepared.proxied = true;
            }
            AdbScreen::start(&adb, serial, width, height, video).map_err(|e| e.to_string())
        }
        .await;
        match ready {
            Ok(screen) => Ok(Hosted { screen: Arc::new(screen), prepared }),
            Err(e) => {
                prepared.undo().await;
                Err(e)
            }
        }
    }

    pub fn input(self: &Arc<Self>, session: String, seq: u64, input: DeviceInput, tx: UnboundedSender<HostMessage>) {
        let Some(screen) = self.screen(&session) else {
            let _ = tx.send(HostMessage::ScreenAnswer { seq, error: Some("no such session on this host".into()) });
            return;
        };
        tokio::spawn(async move {
            let error = screen.input(&input).await.err();
            let _ = tx.send(HostMessage::ScreenAnswer { seq, error });
        });
    }

    pub fn install(
        self: &Arc<Self>,
        session: String,
        seq: u64,
        path: String,
        link: Arc<RemoteLink>,
        tx: UnboundedSender<HostMessage>,
    ) {
        let Some(screen) = self.screen(&session) else {
            let _ = tx.send(HostMessage::ScreenAnswer { seq, error: Some("no such session on this host".into()) });
            return;
        };
        let dir = self.work_dir.clone();
        tokio::spawn(async move {
            let result = async {
                tokio::fs::create_dir_all(&dir).await.map_err(|e| e.to_string())?;
                let file = tempfile::Builder::new().suffix(".apk").tempfile_in(&dir).map_err(|e| e.to_string())?;
                link.get_file_here(&path, file.path()).await.map_err(|e| e.to_string())?;
                screen.install_apk(file.path()).await
            }
            .await;
            let _ = tx.send(HostMessage::ScreenAnswer { seq, error: result.err() });
        });
    }

    pub fn stop(self: &Arc<Self>, session: String) {
        let Some(hosted) = lock(&self.sessions).remove(&session) else { return };
        tokio::spawn(close(hosted));
    }

    /// The connection is gone: every session's screen and input end.
    pub fn end_all(&self) {
        for (_, hosted) in lock(&self.sessions).drain() {
            tokio::spawn(close(hosted));
        }
    }
}

async fn close(hosted: Hosted) {
    hosted.screen.shutdown().await;
    hosted.prepared.undo().await;
}

/// Sends a screen's pictures and settings back as they come; its end once.
async fn forward(session: String, watch: super::Watch, tx: UnboundedSender<HostMessage>) {
    let mut live = watch.live;
    let mut backlog: std::collections::VecDeque<Frame> = watch.catch_up.into();
    loop {
        let frame = match backlog.pop_front() {
            Some(frame) => frame,
            None => match live.recv().await {
                Ok(frame) => frame,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
        };
        let message = match frame {
            Frame::Config(config) => HostMessage::ScreenConfig { session: session.clone(), config },
            Frame::Picture(picture) => HostMessage::ScreenPicture { session: session.clone(), picture },
            Frame::Ended(reason) => {
                let _ = tx.send(HostMessage::ScreenEnded { session: session.clone(), reason });
                break;
            }
        };
        if tx.send(message).is_err() {
            break;
        }
    }
}
