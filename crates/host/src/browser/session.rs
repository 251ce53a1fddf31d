//! One TestGrid session on this host: its own Xvfb display, its own driver process
//! (chromedriver or geckodriver, leader of its own process group so the browser it starts
//! goes with it), the browser the driver starts with its own profile, and the display's
//! recording. Commands are forwarded to the driver over loopback HTTP; the session notices
//! when the driver or the browser dies.

use super::capabilities::{Matched, SCREEN};
use super::display::Display;
use super::recorder::Recorder;
use super::{BrowserKind, BrowserSpec};
use bytes::Bytes;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How long a driver gets to answer `/status` after it starts, and a browser to start.
const DRIVER_READY: Duration = Duration::from_secs(15);
const BROWSER_START: Duration = Duration::from_secs(90);
/// How often the browser's process is looked for.
const BROWSER_WATCH: Duration = Duration::from_millis(500);

/// Why a session could not start.
#[derive(Debug)]
pub enum StartError {
    /// The driver refused the new session: its own WebDriver answer, passed on unchanged.
    Refused { status: u16, body: Bytes },
    /// Something of this host failed (no Xvfb, the driver did not start…).
    Failed(String),
}

/// What a session leaves: its directory (removed when this is dropped), the video when
/// one was recorded, and the driver's log.
pub struct Artifacts {
    pub dir: tempfile::TempDir,
    pub video: Option<PathBuf>,
    pub log: PathBuf,
}

/// The processes a session holds until it ends.
struct Parts {
    dir: tempfile::TempDir,
    tmp: tempfile::TempDir,
    display: Display,
    recorder: Option<Recorder>,
    stop_driver: oneshot::Sender<()>,
    driver_watch: JoinHandle<()>,
}

pub struct BrowserSession {
    pub spec: BrowserSpec,
    /// `http://127.0.0.1:PORT/session/ID`: the driver's URL of this session.
    base: String,
    /// The capabilities the driver answered with.
    pub capabilities: Value,
    pub log: PathBuf,
    http: reqwest::Client,
    quitting: AtomicBool,
    died: watch::Receiver<Option<String>>,
    parts: Mutex<Option<Parts>>,
    /// The driver's process group, the browser in it.
    pgid: Option<i32>,
}

impl Drop for BrowserSession {
    /// A session dropped without its end (its host shutting down) takes its browser with
    /// it: the driver's child handle would only kill the driver.
    fn drop(&mut self) {
        let ended = self.parts.lock().map(|p| p.is_none()).unwrap_or(true);
        if let (false, Some(pgid)) = (ended, self.pgid) {
            kill_group(pgid);
        }
    }
}

/// A port nobody listens on now, for the driver to take.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn driver_command(
    spec: &BrowserSpec,
    port: u16,
    dir: &Path,
    tmp: &Path,
    log: &Path,
    display: &str,
) -> Result<Command, String> {
    let mut command = Command::new(&spec.driver);
    let log_file = || std::fs::File::options().create(true).append(true).open(log).map_err(|e| e.to_string());
    match spec.kind {
        BrowserKind::Chrome => {
            command
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .arg("--log-level=INFO")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        BrowserKind::Firefox => {
            command
                .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--log", "info"])
                .stdout(log_file()?)
                .stderr(log_file()?);
        }
    }
    // The browser's caches stay in the session's directory, its profile and sockets in a
    // temporary directory of the session's own (a short path: a Unix socket's path has at
    // most 107 bytes, and Chromium puts its singleton socket in the profile it is given).
    let home = dir.join("home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    command
        .env("DISPLAY", display)
        .env("HOME", home)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    Ok(command)
}

/// Whether a process is running (a zombie is not: it only waits to be collected).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string)))
        .is_some_and(|state| !matches!(state.as_str(), "Z" | "X"))
}

async fn wait_ready(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + DRIVER_READY;
    loop {
        if let Ok(response) = http.get(format!("{url}/status")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("the driver did not answer {url}/status within {DRIVER_READY:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl BrowserSession {
    /// Starts a display, a driver and (through the driver) the browser `matched` names.
    /// Returns the session and the driver's answer to the new-session request.
    pub async fn start(matched: Matched, work_dir: &Path) -> Result<(BrowserSession, Value), StartError> {
        let failed = StartError::Failed;
        let spec = matched.spec;
        std::fs::create_dir_all(work_dir).map_err(|e| failed(format!("{}: {e}", work_dir.display())))?;
        let dir = tempfile::Builder::new()
            .prefix("testgrid-")
            .tempdir_in(work_dir)
            .map_err(|e| failed(format!("session directory in {}: {e}", work_dir.display())))?;
        let tmp = tempfile::Builder::new()
            .prefix("fh-")
            .tempdir()
            .map_err(|e| failed(format!("session temporary directory: {e}")))?;
        let log = dir.path().join("driver.log");
        let (width, height) = SCREEN;
        let display = Display::start(width, height).await.map_err(failed)?;
        let http = reqwest::Client::builder().no_proxy().build().map_err(|e| failed(e.to_string()))?;
        let port = free_port().map_err(failed)?;
        let url = format!("http://127.0.0.1:{port}");
        let mut driver = driver_command(&spec, port, dir.path(), tmp.path(), &log, &display.name())
            .map_err(failed)?
            .spawn()
            .map_err(|e| failed(format!("cannot start {}: {e}", spec.driver.display())))?;
        let pgid = driver.id().and_then(|id| i32::try_from(id).ok());
        if let Err(e) = wait_ready(&http, &url).await {
            let _ = driver.kill().await;
            display.stop().await;
            return Err(failed(e));
        }
        let answer = http
            .post(format!("{url}/session"))
            .header("content-type", "application/json; charset=utf-8")
            .body(matched.driver_request.to_string())
            .timeout(BROWSER_START)
            .send()
            .await;
        let refuse = |e: StartError, driver: tokio::process::Child| async move {
            drop(driver);
            if let Some(pgid) = pgid {
                kill_group(pgid);
            }
            e
        };
        let response = match answer {
            Ok(response) => response,
            Err(e) => {
                let e = failed(format!("the driver gave no answer to the new session: {e}"));
                let e = refuse(e, driver).await;
                display.stop().await;
                return Err(e);
            }
        };
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let parsed: Option<(String, Value)> = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            let id = v["value"]["sessionId"].as_str()?.to_string();
            Some((id, v["value"]["capabilities"].clone()))
        });
        let Some((driver_session, capabilities)) = parsed.filter(|_| status == 200) else {
            let e = refuse(StartError::Refused { status, body }, driver).await;
            display.stop().await;
            return Err(e);
        };
        // Recorded from the browser's first page on: an encoder starting beside a browser
        // that is starting takes the CPU the browser needs (on a small host, a quarter
        // more time to a usable session), to film an empty display.
        let recorder = Recorder::start(&display.name(), width, height, &dir.path().join("video.mp4"))
            .map_err(|e| tracing::warn!("session recording: {e}"))
            .ok();
        let browser_pid = ["goog:processID", "moz:processID"]
            .iter()
            .find_map(|key| capabilities[key].as_i64())
            .and_then(|pid| i32::try_from(pid).ok());
        let (died_tx, died) = watch::channel(None);
        let (stop_driver, stopped) = oneshot::channel();
        let driver_watch = tokio::spawn(watch_driver(driver, pgid, browser_pid, stopped, died_tx));
        let session = BrowserSession {
            spec,
            base: format!("{url}/session/{driver_session}"),
            capabilities,
            log,
            http,
            quitting: AtomicBool::new(false),
            died,
            parts: Mutex::new(Some(Parts { dir, tmp, display, recorder, stop_driver, driver_watch })),
            pgid,
        };
        let answer = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok((session, answer))
    }

    /// Forwards one command (`path` below `/session/{id}`, empty for the session itself)
    /// to the driver; the response is streamed back as the driver sends it.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: Option<&str>,
        body: Bytes,
    ) -> Result<reqwest::Response, String> {
        let mut url = format!("{}{path}", self.base);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        let mut request = self.http.request(method, url);
        if !body.is_empty() {
            request = request.header("content-type", "application/json; charset=utf-8").body(body);
        }
        request.send().await.map_err(|e| with_causes(&e))
    }

    /// Says the browser is going away on purpose (the client's quit), so its exit is not
    /// taken for a crash.
    pub fn quitting(&self) {
        self.quitting.store(true, Ordering::SeqCst);
    }

    /// Resolves with the reason when the driver or the browser dies on its own.
    pub async fn died(&self) -> String {
        let mut died = self.died.clone();
        loop {
            let reason = died.borrow_and_update().clone();
            if let Some(reason) = reason {
                if !self.quitting.load(Ordering::SeqCst) {
                    return reason;
                }
            }
            if died.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Ends the session: the browser quit through its driver if it still runs, the
    /// recording finished, every process of the session gone. Only the first call does it.
    pub async fn end(&self) -> Option<Artifacts> {
        self.quitting();
        let parts = self.parts.lock().ok()?.take()?;
        let alive = self.died.borrow().is_none();
        if alive {
            let _ = self.http.delete(&self.base).timeout(Duration::from_secs(10)).send().await;
        }
        let video = match parts.recorder {
            Some(recorder) => recorder.stop().await,
            None => None,
        };
        let _ = parts.stop_driver.send(());
        let _ = parts.driver_watch.await;
        parts.display.stop().await;
        drop(parts.tmp);
        Some(Artifacts { dir: parts.dir, video, log: self.log.clone() })
    }
}

/// An error with what caused it, down the chain (reqwest's own message omits the cause).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

fn kill_group(pgid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Holds the driver until the session ends, saying on `died` if it or the browser ends
/// first; then takes down the driver's whole process group (the browser with it).
async fn watch_driver(
    mut driver: tokio::process::Child,
    pgid: Option<i32>,
    browser_pid: Option<i32>,
    mut stop: oneshot::Receiver<()>,
    died: watch::Sender<Option<String>>,
) {
    let browser_gone = async {
        let Some(pid) = browser_pid else { return std::future::pending().await };
        loop {
            tokio::time::sleep(BROWSER_WATCH).await;
            if !alive(pid) {
                return format!("the browser process {pid} exited");
            }
        }
    };
    // A death is only reported here: the session's owner ends it (a quit makes the browser
    // exit too, while its driver still answers the quit), and only then is the group taken
    // down.
    let stopped = tokio::select! {
        status = driver.wait() => {
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            let _ = died.send(Some(format!("the driver exited ({status})")));
            false
        }
        reason = browser_gone => {
            let _ = died.send(Some(reason));
            false
        }
        _ = &mut stop => true,
    };
    if !stopped {
        let _ = stop.await;
    }
    if let Some(pgid) = pgid {
        if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(3), driver.wait()).await.is_err() {
            kill_group(pgid);
        }
        // The browser's own children may outlive the driver by a moment; none may outlive
        // the session.
        tokio::time::sleep(Duration::from_millis(200)).await;
        kill_group(pgid);
    }
    let _ = driver.wait().await;
}
