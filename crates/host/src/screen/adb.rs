//! An adb device's screen and input for a remote access session.
//!
//! The screen: `adb exec-out screenrecord --output-format=h264 -` streams the device's own
//! H.264 encoding; screenrecord stops by itself at its 3-minute limit, so it is started
//! again, and the stream starts over with its own settings. A device that cannot record
//! (no screenrecord, a secure screen: it ends at once) is shown as PNG screenshots
//! (`screencap -p`) instead. The input: one [`InputShell`] for the whole session.

use super::encoder::pump_h264;
use super::input::InputShell;
use super::{Frame, Picture, ScreenFeed, StreamConfig};
use crate::adb::Adb;
use domain::remote_access::input::DeviceInput;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;
use tokio::sync::{oneshot, Mutex};
use tokio::task::JoinHandle;

/// A screenrecord that ends sooner than this did not stream: the device cannot record.
const SHORTEST_STREAM: Duration = Duration::from_millis(1500);
/// Screenshots per second when the device cannot record.
const SCREENSHOT_INTERVAL: Duration = Duration::from_millis(250);

pub struct AdbScreen {
    feed: ScreenFeed,
    adb: Adb,
    serial: String,
    input: Mutex<Option<InputShell>>,
    stop: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    streaming: Mutex<Option<JoinHandle<()>>>,
}

impl AdbScreen {
    /// Starts streaming the screen of `serial` (natural size `width` × `height`) when
    /// `video`, and opens its input shell.
    pub fn start(adb: &Adb, serial: &str, width: u32, height: u32, video: bool) -> std::io::Result<AdbScreen> {
        let feed = ScreenFeed::new();
        let input = InputShell::open(adb, serial)?;
        let (stop, stopped) = oneshot::channel();
        let streaming = video.then(|| {
            let (adb, serial, feed) = (adb.clone(), serial.to_owned(), feed.clone());
            tokio::spawn(async move { stream(adb, serial, width, height, feed, stopped).await })
        });
        Ok(AdbScreen {
            feed,
            adb: adb.clone(),
            serial: serial.to_owned(),
            input: Mutex::new(Some(input)),
            stop: std::sync::Mutex::new(Some(stop)),
            streaming: Mutex::new(streaming),
        })
    }

    pub async fn install_apk(&self, apk: &Path) -> Result<(), String> {
        self.adb.install(&self.serial, apk).await.map_err(|e| e.to_string())
    }

    /// Ends the stream and the input shell; later input is refused.
    pub async fn shutdown(&self) {
        let stop = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        if let Some(streaming) = self.streaming.lock().await.take() {
            let _ = streaming.await;
        }
        if let Some(shell) = self.input.lock().await.take() {
            shell.close().await;
        }
    }
}

#[async_trait::async_trait]
impl super::DeviceScreen for AdbScreen {
    fn feed(&self) -> ScreenFeed {
        self.feed.clone()
    }

    fn udid(&self) -> String {
        self.serial.clone()
    }

    async fn input(&self, input: &DeviceInput) -> Result<(), String> {
        let mut shell = self.input.lock().await;
        let Some(open) = shell.as_mut() else { return Err("the session has ended".into()) };
        if let Err(e) = open.send(input).await {
            // The shell died (adb restarted, the device blinked): one fresh one is tried.
            tracing::warn!(error = %e, serial = %self.serial, "input shell lost; reopening");
            let mut fresh = InputShell::open(&self.adb, &self.serial).map_err(|e| e.to_string())?;
            fresh.send(input).await.map_err(|e| e.to_string())?;
            *shell = Some(fresh);
        }
        Ok(())
    }

    async fn install(&self, app: &super::InstallRequest) -> Result<(), String> {
        let apk = app.file.as_deref().ok_or("the app's file is not on this host")?;
        self.install_apk(apk).await
    }

    async fn close(self: Box<Self>) {
        self.shutdown().await;
    }
}

async fn stream(
    adb: Adb,
    serial: String,
    width: u32,
    height: u32,
    feed: ScreenFeed,
    mut stopped: oneshot::Receiver<()>,
) {
    let began = Instant::now();
    loop {
        let started = Instant::now();
        let child = Command::new(&adb.program)
            .args(["-s", &serial, "exec-out", "screenrecord", "--output-format=h264", "--time-limit", "180", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(mut child) = child else { break };
        let Some(stdout) = child.stdout.take() else { break };
        tokio::select! {
            _ = &mut stopped => return,
            result = pump_h264(stdout, &feed, width, height, began) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %serial, "screen stream broke");
                }
            }
        }
        let _ = child.wait().await;
        if started.elapsed() < SHORTEST_STREAM {
            break;
        }
    }
    tracing::info!(%serial, "the device does not stream H.264; showing screenshots");
    screenshots(adb, serial, width, height, feed, began, stopped).await;
}

async fn screenshots(
    adb: Adb,
    serial: String,
    width: u32,
    height: u32,
    feed: ScreenFeed,
    began: Instant,
    mut stopped: oneshot::Receiver<()>,
) {
    feed.publish(Frame::Config(StreamConfig { codec: "png".into(), width, height }));
    loop {
        let shot = Command::new(&adb.program)
            .args(["-s", &serial, "exec-out", "screencap", "-p"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output();
        tokio::select! {
            _ = &mut stopped => return,
            shot = shot => match shot {
                Ok(out) if out.status.success() && out.stdout.starts_with(b"\x89PNG") => {
                    let at_ms = began.elapsed().as_millis() as u64;
                    feed.publish(Frame::Picture(Picture { key: true, at_ms, data: out.stdout.into() }));
                }
                _ => {}
            }
        }
        tokio::select! {
            _ = &mut stopped => return,
            _ = tokio::time::sleep(SCREENSHOT_INTERVAL) => {}
        }
    }
}
