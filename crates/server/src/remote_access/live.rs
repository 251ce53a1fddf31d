//! The remote access sessions this replica serves. A session the scheduler gave a device is
//! claimed by one replica (a version-checked write of `screen_owner`): any replica for a
//! simulated device, the one its host is connected to for a real one. That replica starts
//! the device's screen, marks the session RUNNING, relays input, installs apps, records,
//! and ends it once: on a stop, the idle timeout, the maximum duration, or the device lost,
//! writing its final record and its ledger line in one transaction.

use super::RemoteAccessConfig;
use crate::sealed_url::{Grant, TokenKey};
use crate::AppState;
use domain::arn::{Arn, ResourceKind};
use domain::device::Driver;
use domain::remote_access::input::{DeviceInput, Rotation, ViewerInput};
use domain::remote_access::{InteractionMode, RemoteSession, SessionEnd};
use domain::run::JobPhase;
use host::screen::recorder::Recorder;
use host::screen::{DeviceScreen, ScreenFeed};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{LedgerEntry, Record, StoreError};

/// How often sessions of other replicas are checked for a replica that no longer answers
/// (in quarter-second ticks).
const SWEEP_TICKS: u64 = 120;
/// How many times a write that lost a race is read and tried again.
const RETRIES: usize = 8;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A session whose device this replica serves.
pub struct LiveSession {
    pub arn: Arn,
    pub account_id: String,
    pub mode: InteractionMode,
    pub device_name: String,
    device_arn: String,
    instance_arn: String,
    /// The device's natural (portrait) size, in pixels.
    pub width: u32,
    pub height: u32,
    rotation: Mutex<Rotation>,
    screen: tokio::sync::Mutex<Option<Box<dyn DeviceScreen>>>,
    pub feed: ScreenFeed,
    last_activity_ms: AtomicI64,
    viewers: AtomicUsize,
    input_log: Mutex<std::fs::File>,
    input_log_path: std::path::PathBuf,
    recorder: Mutex<Option<Recorder>>,
    ending: AtomicBool,
    dir: std::path::PathBuf,
}

/// What became of one input.
#[derive(Debug)]
pub enum InputOutcome {
    Done,
    Refused(String),
}

impl LiveSession {
    pub fn rotation(&self) -> Rotation {
        *lock(&self.rotation)
    }

    pub fn viewer_joined(&self, now_ms: i64) {
        self.viewers.fetch_add(1, Ordering::SeqCst);
        self.last_activity_ms.fetch_max(now_ms, Ordering::SeqCst);
    }

    pub fn viewer_left(&self, now_ms: i64) {
        self.viewers.fetch_sub(1, Ordering::SeqCst);
        self.last_activity_ms.fetch_max(now_ms, Ordering::SeqCst);
    }

    pub fn viewers(&self) -> usize {
        self.viewers.load(Ordering::SeqCst)
    }

    /// Sends a viewer's gesture to the device, if the session takes input and the gesture
    /// is one a device may be given; every input is logged with its outcome.
    pub async fn input(&self, input: &ViewerInput, now_ms: i64) -> InputOutcome {
        self.last_activity_ms.fetch_max(now_ms, Ordering::SeqCst);
        let outcome = if !self.mode.takes_input() {
            InputOutcome::Refused("this session shows the screen only (VIDEO_ONLY)".into())
        } else if self.ending.load(Ordering::SeqCst) {
            InputOutcome::Refused("the session has ended".into())
        } else {
            match input.to_device(self.width, self.height, self.rotation()) {
                Err(e) => InputOutcome::Refused(e.to_string()),
                Ok(device_input) => {
                    let sent = match self.screen.lock().await.as_ref() {
                        Some(screen) => screen.input(&device_input).await,
                        None => Err("the session has ended".into()),
                    };
                    match sent {
                        Ok(()) => {
                            if let DeviceInput::Rotate { rotation } = device_input {
                                *lock(&self.rotation) = rotation;
                            }
                            self.log(now_ms, &json!(device_input), None);
                            InputOutcome::Done
                        }
                        Err(e) => InputOutcome::Refused(e),
                    }
                }
            }
        };
        if let InputOutcome::Refused(why) = &outcome {
            self.log(now_ms, &json!(input), Some(why));
        }
        outcome
    }

    fn log(&self, now_ms: i64, input: &serde_json::Value, refused: Option<&str>) {
        let at = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default().to_rfc3339();
        let line = match refused {
            None => json!({"at": at, "input": input}),
            Some(why) => json!({"at": at, "input": input, "refused": why}),
        };
        let _ = writeln!(lock(&self.input_log), "{line}");
    }
}

pub struct RemoteSessions {
    config: RemoteAccessConfig,
    pub key: TokenKey,
    replica: String,
    replica_url: String,
    sessions: Mutex<HashMap<String, Arc<LiveSession>>>,
    /// Sessions being started or ended here, so the loop does not start or end them twice.
    busy: Mutex<HashSet<String>>,
    pub wake: engine::scheduler::Wake,
    peers: reqwest::Client,
    /// The screens of devices on hosts connected to this replica.
    pub remote: Arc<super::remote::RemoteScreens>,
}

impl RemoteSessions {
    pub fn new(
        config: RemoteAccessConfig,
        key: TokenKey,
        (replica, replica_url): (String, String),
        wake: engine::scheduler::Wake,
    ) -> RemoteSessions {
        RemoteSessions {
            config,
            key,
            replica,
            replica_url,
            sessions: Mutex::default(),
            busy: Mutex::default(),
            wake,
            peers: reqwest::Client::builder().no_proxy().build().unwrap_or_default(),
            remote: Arc::default(),
        }
    }

    pub fn replica(&self) -> &str {
        &self.replica
    }

    pub fn config(&self) -> &RemoteAccessConfig {
        &self.config
    }

    pub fn session(&self, arn: &str) -> Option<Arc<LiveSession>> {
        lock(&self.sessions).get(arn).cloned()
    }

    fn live(&self) -> Vec<Arc<LiveSession>> {
        lock(&self.sessions).values().cloned().collect()
    }

    /// The token of a session's endpoint, good until `expires_ms` (service clock).
    pub fn endpoint_token(&self, session: &Arn, expires_ms: i64) -> String {
        self.key.seal(&Grant { account_id: session.account.clone(), resource: session.id.clone(), expires_ms })
    }

    fn claim(&self, name: &str) -> bool {
        lock(&self.busy).insert(name.to_string())
    }

    fn release(&self, name: &str) {
        lock(&self.busy).remove(name);
    }

    /// Serves sessions until `stop` resolves: starts those given devices, ends those due.
    pub async fn run(self: Arc<Self>, state: Arc<AppState>, stop: impl std::future::Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = self.wake.notified() => {}
                _ = tick.tick() => {}
            }
            ticks += 1;
            self.pass(&state, ticks.is_multiple_of(SWEEP_TICKS)).await;
        }
        for live in self.live() {
            let why = SessionEnd::DeviceLost(format!("replica {} stopped", self.replica));
            self.end(&state, &live, why, state.now_ms()).await;
        }
    }

    async fn pass(self: &Arc<Self>, state: &Arc<AppState>, sweep: bool) {
        let now = state.now_ms();
        let idle_minutes = (self.config.idle_timeout.as_secs_f64() / 60.0).round().max(1.0) as i64;
        let records =
            match engine::scheduler::scan_kind(state.store.as_ref(), ResourceKind::Session, JobPhase::Active).await {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(error = %e, "reading remote access sessions");
                    return;
                }
            };
        let mut unreachable: HashMap<String, bool> = HashMap::new();
        // The sessions served here as this pass read them, for their timers below.
        let mut served: HashMap<String, RemoteSession> = HashMap::new();
        for record in records {
            let Ok(session) = record.decode::<RemoteSession>() else { continue };
            let Ok(arn) = record.arn.parse::<Arn>() else { continue };
            if let Some(live) = self.session(&record.arn) {
                if let Some(stop_ms) = session.stop_requested_ms {
                    self.spawn_end(state, live, SessionEnd::Stopped, stop_ms.max(session.ready_ms.unwrap_or(0)));
                } else if session.installs.iter().any(|i| i.outcome.is_none()) {
                    self.spawn_installs(state, live, arn);
                }
                served.insert(record.arn, session);
                continue;
            }
            match session.screen_owner.as_deref() {
                None if session.stop_requested_ms.is_some() => {
                    // Stopped before any replica took its device: ends where it stands.
                    self.settle_unserved(state, record, SessionEnd::Stopped).await;
                }
                None => {
                    if self.can_serve(state, &session) && self.claim(&record.arn) {
                        let (me, state) = (self.clone(), state.clone());
                        tokio::spawn(async move {
                            me.start(&state, record, session, arn).await;
                        });
                    }
                }
                Some(owner) if owner == self.replica => {
                    // Claimed here, but not live: its start failed or this process is a
                    // new one at the same name. Its screen is gone either way.
                    if self.claim(&record.arn) {
                        let why = SessionEnd::DeviceLost(format!("replica {} lost its screen", self.replica));
                        self.settle_unserved(state, record.clone(), why).await;
                        self.release(&record.arn);
                    }
                }
                Some(owner) if sweep => {
                    let url = session.owner_url.clone().unwrap_or_default();
                    let gone = match unreachable.get(&url) {
                        Some(known) => *known,
                        None => {
                            let probe = self.peers.get(format!("{url}/healthz")).timeout(Duration::from_secs(5));
                            let gone = url.is_empty() || probe.send().await.is_err();
                            unreachable.insert(url.clone(), gone);
                            gone
                        }
                    };
                    if gone {
                        let why = SessionEnd::DeviceLost(format!("replica {owner} is unreachable"));
                        self.settle_unserved(state, record, why).await;
                    }
                }
                Some(_) => {}
            }
        }
        for live in self.live() {
            if live.viewers() > 0 {
                live.last_activity_ms.fetch_max(now, Ordering::SeqCst);
            }
            let lost = live.screen.lock().await.as_ref().and_then(|s| s.lost());
            if let Some(why) = lost {
                self.spawn_end(state, live.clone(), SessionEnd::DeviceLost(why), now);
                continue;
            }
            if !self.device_present(state, &live) {
                let why = SessionEnd::DeviceLost("the device left the fleet".into());
                self.spawn_end(state, live.clone(), why, now);
                continue;
            }
            let Some(session) = served.get(&live.arn.to_string()) else { continue };
            if let Some((at, why)) = session.due_end(live.last_activity_ms.load(Ordering::SeqCst), idle_minutes) {
                if now >= at {
                    self.spawn_end(state, live.clone(), why, at);
                }
            }
        }
    }

    /// Whether this replica can show the session's device: any replica draws a simulated
    /// one; a real one's screen comes from its host.
    fn can_serve(&self, state: &AppState, session: &RemoteSession) -> bool {
        let Some(instance) = &session.instance_arn else { return false };
        match session.driver {
            Driver::Adb => state.live_fleet.host_of_instance(instance).is_some_and(|h| self.remote.has_host(&h)),
            _ => true,
        }
    }

    /// Whether the session's device is still in the fleet, with its instance usable.
    fn device_present(&self, state: &AppState, live: &LiveSession) -> bool {
        let fleet = state.fleet();
        let Some(device) = fleet.device(&live.device_arn) else { return false };
        device.instance(&live.instance_arn).is_some_and(|i| i.status != domain::device::InstanceStatus::NotAvailable)
    }

    async fn stored(&self, state: &AppState, live: &LiveSession) -> Option<RemoteSession> {
        let record = state.store.get(&live.account_id, &live.arn.to_string()).await.ok()??;
        record.decode().ok()
    }

    /// Reads the session, applies `change`, writes it back; read again and retried when
    /// another writer got there first.
    async fn modify(
        &self,
        state: &AppState,
        account_id: &str,
        arn: &str,
        change: impl Fn(&mut RemoteSession),
    ) -> Result<(Record, RemoteSession), StoreError> {
        for _ in 0..RETRIES {
            let Some(mut record) = state.store.get(account_id, arn).await? else { return Err(StoreError::NotFound) };
            let mut session: RemoteSession = record.decode()?;
            change(&mut session);
            record.status = Some(session.phase.as_str().to_string());
            record.encode(&session)?;
            match state.store.update(&record).await {
                Ok(updated) => return Ok((updated, session)),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn start(self: &Arc<Self>, state: &Arc<AppState>, record: Record, session: RemoteSession, arn: Arn) {
        let name = record.arn.clone();
        let claimed = {
            let mut claimed = record.clone();
            let mut mine = session.clone();
            mine.screen_owner = Some(self.replica.clone());
            mine.owner_url = Some(self.replica_url.clone());
            claimed.encode(&mine).map(|_| claimed)
        };
        let claimed = match claimed {
            Ok(claimed) => state.store.update(&claimed).await,
            Err(e) => Err(e),
        };
        if claimed.is_err() {
            // Another replica claimed it, or it changed: the next pass looks again.
            self.release(&name);
            return;
        }
        match self.open_screen(state, &session, &arn).await {
            Ok(live) => {
                let live = Arc::new(live);
                let udid = match live.screen.lock().await.as_ref() {
                    Some(screen) => screen.udid(),
                    None => String::new(),
                };
                lock(&self.sessions).insert(name.clone(), live.clone());
                let now = state.now_ms();
                live.last_activity_ms.store(now, Ordering::SeqCst);
                let ready = self
                    .modify(state, &record.account_id, &name, |s| {
                        s.ready_ms.get_or_insert(now);
                        s.device_udid = Some(udid.clone());
                    })
                    .await;
                if let Err(e) = ready {
                    tracing::warn!(error = %e, session = %name, "marking a remote access session running");
                }
                tracing::info!(session = %name, device = %session.device.name, "remote access session running");
                self.release(&name);
                state.live_changes.bump();
            }
            Err(e) => {
                tracing::warn!(error = %e, session = %name, "starting a remote access session's screen");
                let why = SessionEnd::DeviceLost(format!("its screen could not start: {e}"));
                if let Ok(Some(record)) = state.store.get(&record.account_id, &name).await {
                    self.settle_unserved(state, record, why).await;
                }
                self.release(&name);
            }
        }
    }

    async fn open_screen(&self, state: &AppState, session: &RemoteSession, arn: &Arn) -> std::io::Result<LiveSession> {
        let dir = self.config.work_dir.join(arn.id.replace('/', "-"));
        std::fs::create_dir_all(&dir)?;
        let width = session.device.resolution.width;
        let height = session.device.resolution.height;
        let udid = session
            .instance_arn
            .as_deref()
            .and_then(|i| session.device.instance(i))
            .map(|i| i.udid.clone())
            .unwrap_or_else(|| arn.id.clone());
        let screen: Box<dyn DeviceScreen> = match session.driver {
            Driver::Adb => {
                let instance = session.instance_arn.clone().unwrap_or_default();
                let host = state
                    .live_fleet
                    .host_of_instance(&instance)
                    .ok_or_else(|| std::io::Error::other("the device's host is gone"))?;
                let video = session.interaction_mode.shows_screen();
                let proxy = session
                    .device_proxy
                    .as_ref()
                    .and_then(|p| Some(format!("{}:{}", p.get("host")?.as_str()?, p.get("port")?.as_i64()?)));
                let phone = (session.network_profile.clone(), proxy);
                let screen = self
                    .remote
                    .start(&host, &arn.to_string(), &udid, (width, height), video, phone)
                    .await
                    .map_err(std::io::Error::other)?;
                Box::new(screen)
            }
            _ => Box::new(engine::sim_screen::SimScreen::start(
                &session.device.name,
                &udid,
                width,
                height,
                self.config.simulated_fps,
                state.clock.clone(),
                session.interaction_mode.shows_screen(),
            )?),
        };
        let feed = screen.feed();
        let recorder = (session.remote_record_enabled && session.interaction_mode.shows_screen())
            .then(|| Recorder::start(&feed, dir.join(super::artifacts::VIDEO_FILE)));
        let input_log_path = dir.join(super::artifacts::INPUT_LOG_FILE);
        let input_log = std::fs::File::create(&input_log_path)?;
        Ok(LiveSession {
            arn: arn.clone(),
            account_id: arn.account.clone(),
            mode: session.interaction_mode,
            device_name: session.device.name.clone(),
            device_arn: session.device.arn.clone(),
            instance_arn: session.instance_arn.clone().unwrap_or_default(),
            width,
            height,
            rotation: Mutex::new(Rotation::Natural),
            screen: tokio::sync::Mutex::new(Some(screen)),
            feed,
            last_activity_ms: AtomicI64::new(0),
            viewers: AtomicUsize::new(0),
            input_log: Mutex::new(input_log),
            input_log_path,
            recorder: Mutex::new(recorder),
            ending: AtomicBool::new(false),
            dir,
        })
    }

    fn spawn_end(self: &Arc<Self>, state: &Arc<AppState>, live: Arc<LiveSession>, why: SessionEnd, at_ms: i64) {
        if live.ending.load(Ordering::SeqCst) {
            return;
        }
        let (me, state) = (self.clone(), state.clone());
        tokio::spawn(async move { me.end(&state, &live, why, at_ms).await });
    }

    fn spawn_installs(self: &Arc<Self>, state: &Arc<AppState>, live: Arc<LiveSession>, arn: Arn) {
        let name = format!("install {}", arn);
        if !self.claim(&name) {
            return;
        }
        let (me, state) = (self.clone(), state.clone());
        tokio::spawn(async move {
            me.install_pending(&state, &live, &arn).await;
            me.release(&name);
        });
    }

    /// Installs the apps asked for and not yet installed, recording each outcome.
    async fn install_pending(&self, state: &AppState, live: &LiveSession, arn: &Arn) {
        let Some(session) = self.stored(state, live).await else { return };
        for (position, install) in session.installs.iter().enumerate() {
            if install.outcome.is_some() {
                continue;
            }
            let outcome = self.install_one(live, &install.app_arn, position).await;
            live.log(
                state.now_ms(),
                &json!({"type": "install", "app": install.app_arn}),
                outcome.as_ref().err().map(String::as_str),
            );
            let done = self
                .modify(state, &live.account_id, &arn.to_string(), |s| {
                    if let Some(i) = s.installs.get_mut(position) {
                        i.outcome.get_or_insert(outcome.clone());
                    }
                })
                .await;
            if let Err(e) = done {
                tracing::warn!(error = %e, session = %arn, "recording an install");
            }
        }
    }

    async fn install_one(&self, live: &LiveSession, app_arn: &str, position: usize) -> Result<(), String> {
        // A device here is drawn by farmhand; a real one is on a host, which fetches the app.
        let request = host::screen::InstallRequest { position, app_arn: app_arn.to_string(), file: None };
        match live.screen.lock().await.as_ref() {
            Some(screen) => screen.install(&request).await,
            None => Err("the session has ended".into()),
        }
    }

    /// Ends a session served here: its screen closed, its files kept, its final record and
    /// ledger line written together. Once, however many ask.
    pub async fn end(&self, state: &AppState, live: &LiveSession, why: SessionEnd, at_ms: i64) {
        if live.ending.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(screen) = live.screen.lock().await.take() {
            screen.close().await;
        }
        let farewell = why.message().unwrap_or_else(|| "The session was stopped.".into());
        live.feed.publish(host::screen::Frame::Ended(farewell));
        let recorder = lock(&live.recorder).take();
        let video = match recorder {
            Some(recorder) => recorder.finish().await,
            None => None,
        };
        let _ = lock(&live.input_log).flush();
        let kept = super::artifacts::keep(state, &live.arn, video.as_deref(), &live.input_log_path).await;
        let arn = live.arn.to_string();
        for _ in 0..RETRIES {
            let Ok(Some(record)) = state.store.get(&live.account_id, &arn).await else { break };
            match self.settle(state, record, why.clone(), at_ms, kept.clone()).await {
                Err(StoreError::Conflict) => continue,
                Err(e) => {
                    tracing::error!(error = %e, session = %arn, "settling a remote access session");
                    break;
                }
                Ok(()) => break,
            }
        }
        lock(&self.sessions).remove(&arn);
        let _ = std::fs::remove_dir_all(&live.dir);
        tracing::info!(session = %arn, reason = ?why, "remote access session ended");
        state.engine.wake();
        state.live_changes.bump();
    }

    /// Records a stop (StopRemoteAccessSession, a viewer's stop button). A session still
    /// waiting for its device ends there and then, settled and billed nothing in the same
    /// write; one with a device is STOPPING until the replica serving it ends it.
    pub async fn request_stop(&self, state: &AppState, arn: &Arn) -> Result<(Record, RemoteSession), StoreError> {
        let name = arn.to_string();
        for _ in 0..RETRIES {
            let Some(mut record) = state.store.get(&arn.account, &name).await? else {
                return Err(StoreError::NotFound);
            };
            let mut session: RemoteSession = record.decode()?;
            let now = state.now_ms();
            if !session.request_stop(now) {
                return Ok((record, session));
            }
            let written = if session.phase == JobPhase::Waiting {
                session.phase = JobPhase::Settled;
                session.settled_ms = Some(now);
                record.status = Some(JobPhase::Settled.as_str().to_string());
                record.encode(&session)?;
                let entry = ledger_entry(&record, &session, now);
                state.store.settle(&record, &entry).await
            } else {
                record.encode(&session)?;
                state.store.update(&record).await
            };
            match written {
                Ok(record) => {
                    self.wake.wake();
                    state.engine.wake();
                    return Ok((record, session));
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Ends a session no screen here serves (stopped before it started, its replica gone).
    async fn settle_unserved(&self, state: &AppState, record: Record, why: SessionEnd) {
        let at = state.now_ms();
        let arn = record.arn.clone();
        let account = record.account_id.clone();
        let mut record = Some(record);
        for _ in 0..RETRIES {
            let current = match record.take() {
                Some(r) => r,
                None => match state.store.get(&account, &arn).await {
                    Ok(Some(r)) => r,
                    _ => return,
                },
            };
            match self.settle(state, current, why.clone(), at, Vec::new()).await {
                Err(StoreError::Conflict) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, session = %arn, "ending a remote access session");
                    return;
                }
                Ok(()) => break,
            }
        }
        state.engine.wake();
    }

    async fn settle(
        &self,
        state: &AppState,
        mut record: Record,
        why: SessionEnd,
        at_ms: i64,
        artifacts: Vec<domain::remote_access::SessionArtifact>,
    ) -> Result<(), StoreError> {
        let mut session: RemoteSession = record.decode()?;
        if session.phase == JobPhase::Settled {
            return Ok(());
        }
        session.end_at(at_ms, why);
        session.artifacts = artifacts;
        session.phase = JobPhase::Settled;
        let now = state.now_ms();
        session.settled_ms = Some(now);
        record.status = Some(JobPhase::Settled.as_str().to_string());
        record.encode(&session)?;
        let entry = ledger_entry(&record, &session, now);
        state.store.settle(&record, &entry).await?;
        // The device is free from now on: shown so at once, not at the scheduler's next pass.
        if let Some(instance) = &session.instance_arn {
            state.engine.note_release(instance, now);
        }
        Ok(())
    }
}

/// A session's line in the billing ledger: device minutes, like a job's.
pub fn ledger_entry(record: &Record, session: &RemoteSession, now_ms: i64) -> LedgerEntry {
    let view = session.view(now_ms);
    LedgerEntry {
        job_arn: record.arn.clone(),
        account_id: record.account_id.clone(),
        project_arn: record.parent_arn.clone().unwrap_or_default(),
        run_arn: record.arn.clone(),
        device_arn: session.device.arn.clone(),
        device_name: session.device.name.clone(),
        platform: session.device.platform.as_str().to_string(),
        billing_method: session.billing_method.as_str().to_string(),
        seconds: view.billed_seconds,
        started_ms: view.started_ms.unwrap_or(record.created_ms),
        settled_ms: view.stopped_ms.unwrap_or(now_ms),
    }
}
