//! The TestGrid sessions this replica runs: admitting a new one (quotas, a browser with
//! room), keeping its record, watching it (browser death, idle timeout, maximum
//! duration) and ending it exactly once: browser gone, artifacts kept, record final and
//! billed in one transaction.

use super::actions::ActionLog;
use super::backend::{Backend, LOCAL};
use super::hub::WebDriverError;
use super::remote::{RemoteBrowsers, RemoteEvent};
use super::GridConfig;
use crate::sealed_url::{Grant, TokenKey};
use crate::throttle::{KeyedBuckets, Rate};
use crate::AppState;
use domain::arn::{Arn, ResourceKind};
use domain::testgrid::{auto_close, EndReason, SessionStatus, TestGridSession};
use host::browser::capabilities::{match_request, Refusal};
use host::browser::session::{BrowserSession, StartError};
use host::browser::{BrowserKind, BrowserSpec};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{LedgerEntry, ListQuery, Record, StoreError};
use tokio::sync::watch;

/// A session running on this replica's browsers.
pub struct LiveSession {
    pub id: String,
    pub arn: Arn,
    pub project_id: String,
    pub created_ms: i64,
    pub backend: Backend,
    last_command_ms: AtomicI64,
    in_flight: AtomicU32,
    ended: watch::Sender<bool>,
}

impl LiveSession {
    pub fn account_id(&self) -> &str {
        &self.arn.account
    }

    /// Marks a command begun: an idle timeout never closes a session mid-command.
    pub fn command_started(&self, now_ms: i64) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.last_command_ms.fetch_max(now_ms, Ordering::SeqCst);
    }

    pub fn command_finished(&self, now_ms: i64) {
        self.last_command_ms.fetch_max(now_ms, Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the hub knows of its capacity: browsers in use by kind, sessions being started
/// by account (admitted, not yet stored).
#[derive(Default)]
struct Occupancy {
    /// Sessions by host (`LOCAL` for this server's) and browser.
    in_use: HashMap<(String, BrowserKind), u32>,
    starting: HashMap<String, u32>,
}

pub struct Grid {
    pub config: GridConfig,
    pub key: TokenKey,
    browsers: Vec<BrowserSpec>,
    replica: String,
    /// Where other replicas reach this one (`TestGridSession::replica_url`).
    replica_url: String,
    /// Hands commands for sessions of other replicas to them.
    pub peers: reqwest::Client,
    sessions: Mutex<HashMap<String, Arc<LiveSession>>>,
    occupancy: Mutex<Occupancy>,
    /// Held while an admission counts and reserves, so two cannot both take the last place.
    admission: tokio::sync::Mutex<()>,
    session_rate: KeyedBuckets<String>,
    url_rate: KeyedBuckets<String>,
    pub actions: ActionLog,
    metrics: Arc<crate::metrics::Metrics>,
    /// The browsers of device hosts connected to this replica.
    pub remote: Arc<RemoteBrowsers>,
}

/// How often (in quarter-second ticks) other replicas' sessions are checked for a replica
/// that no longer answers.
const SWEEP_TICKS: u64 = 120;

/// A browser some host offers, and how many of its sessions run now.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub host: String,
    pub kind: BrowserKind,
    pub version: Option<String>,
    pub max_sessions: u32,
    pub in_use: u32,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Grid {
    pub fn new(
        config: GridConfig,
        key: TokenKey,
        browsers: Vec<BrowserSpec>,
        (replica, replica_url): (String, String),
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Grid {
        let rate = |per_second: f64| Rate { per_second, burst: per_second.max(1.0) };
        Grid {
            session_rate: KeyedBuckets::new(rate(config.sessions_per_second)),
            url_rate: KeyedBuckets::new(rate(config.urls_per_second)),
            config,
            key,
            browsers,
            replica,
            replica_url,
            peers: reqwest::Client::builder().no_proxy().build().unwrap_or_default(),
            sessions: Mutex::new(HashMap::new()),
            occupancy: Mutex::new(Occupancy::default()),
            admission: tokio::sync::Mutex::new(()),
            actions: ActionLog::default(),
            metrics,
            remote: Arc::new(RemoteBrowsers::default()),
        }
    }

    /// The browsers this replica reaches (its own, then its device hosts'), each with the
    /// sessions it runs now.
    pub fn offers(&self) -> Vec<Offer> {
        let own = self.browsers.iter().map(|b| (LOCAL.to_string(), b.kind, b.version.clone(), b.max_sessions));
        let hosted = self.remote.offers().into_iter().map(|(host, o)| (host, o.kind, o.version, o.max_sessions));
        let all: Vec<_> = own.chain(hosted).collect();
        let occupancy = lock(&self.occupancy);
        all.into_iter()
            .map(|(host, kind, version, max_sessions)| {
                let in_use = occupancy.in_use.get(&(host.clone(), kind)).copied().unwrap_or(0);
                Offer { host, kind, version, max_sessions, in_use }
            })
            .collect()
    }

    /// What the offered browsers are, as specs to match a request against.
    fn offered_specs(&self) -> Vec<BrowserSpec> {
        let mut specs = self.browsers.clone();
        for (_, offer) in self.remote.offers() {
            if !specs.iter().any(|s| s.kind == offer.kind) {
                specs.push(BrowserSpec {
                    kind: offer.kind,
                    driver: Default::default(),
                    binary: Default::default(),
                    version: offer.version,
                    max_sessions: offer.max_sessions,
                });
            }
        }
        specs
    }

    /// Spends one of the account's CreateTestGridUrl tokens (10 a second by default).
    pub fn admit_url(&self, account_id: &str) -> bool {
        self.url_rate.take(&account_id.to_string(), Instant::now())
    }

    pub fn replica(&self) -> &str {
        &self.replica
    }

    pub fn session(&self, id: &str) -> Option<Arc<LiveSession>> {
        lock(&self.sessions).get(id).cloned()
    }

    pub fn active(&self) -> Vec<Arc<LiveSession>> {
        lock(&self.sessions).values().cloned().collect()
    }

    /// Sessions of the account that are active anywhere (every replica's are in the store)
    /// plus those this replica is starting.
    async fn active_count(&self, state: &AppState, account_id: &str) -> Result<u32, StoreError> {
        let limit = self.config.max_active_sessions + 1;
        let query = ListQuery {
            status_in: Some(vec![SessionStatus::Active.as_str().to_string()]),
            ..ListQuery::new(account_id, ResourceKind::TestGridSession, limit)
        };
        let stored = state.store.list(&query).await?.records.len() as u32;
        Ok(stored + lock(&self.occupancy).starting.get(account_id).copied().unwrap_or(0))
    }

    /// Takes a place for a new session of `account_id` on a `kind` browser of the host
    /// with the most room (the least loaded first), or says why not.
    async fn reserve(&self, state: &AppState, account_id: &str, kind: BrowserKind) -> Result<String, WebDriverError> {
        let _admission = self.admission.lock().await;
        let active = self.active_count(state, account_id).await.map_err(|e| {
            tracing::error!(error = %e, "counting active TestGrid sessions");
            WebDriverError::unknown("the farm could not count this account's sessions")
        })?;
        if active >= self.config.max_active_sessions {
            return Err(WebDriverError::session_not_created(format!(
                "this account already has {active} active sessions, the most it may have \
                 (max_active_sessions {}); quit one first",
                self.config.max_active_sessions
            )));
        }
        let offers: Vec<Offer> = self.offers().into_iter().filter(|o| o.kind == kind).collect();
        let load = |o: &Offer| f64::from(o.in_use) / f64::from(o.max_sessions.max(1));
        let Some(place) =
            offers.iter().filter(|o| o.in_use < o.max_sessions).min_by(|a, b| load(a).total_cmp(&load(b)))
        else {
            let all: u32 = offers.iter().map(|o| o.max_sessions).sum();
            return Err(WebDriverError::session_not_created(format!(
                "all {all} {} sessions of this farm are in use; try again when one ends",
                kind.name()
            )));
        };
        let mut occupancy = lock(&self.occupancy);
        *occupancy.in_use.entry((place.host.clone(), kind)).or_default() += 1;
        *occupancy.starting.entry(account_id.to_string()).or_default() += 1;
        Ok(place.host.clone())
    }

    fn started(&self, account_id: &str) {
        let mut occupancy = lock(&self.occupancy);
        if let Some(n) = occupancy.starting.get_mut(account_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                occupancy.starting.remove(account_id);
            }
        }
    }

    fn release(&self, host: &str, kind: BrowserKind) {
        if let Some(n) = lock(&self.occupancy).in_use.get_mut(&(host.to_string(), kind)) {
            *n = n.saturating_sub(1);
        }
    }

    /// Starts the browser of session `arn` on `host`: the backend and the driver's
    /// new-session answer.
    async fn launch(
        &self,
        host: &str,
        arn: &Arn,
        kind: BrowserKind,
        request: &Value,
    ) -> Result<(Backend, Value), WebDriverError> {
        if host == LOCAL {
            let local: Vec<BrowserSpec> = self.browsers.iter().filter(|b| b.kind == kind).cloned().collect();
            let matched =
                match_request(request, &local).map_err(|r| WebDriverError::session_not_created(r.to_string()))?;
            return match BrowserSession::start(matched, &self.config.work_dir).await {
                Ok((browser, answer)) => Ok((Backend::Local(Box::new(browser)), answer)),
                Err(StartError::Refused { status, body }) => Err(WebDriverError::from_driver(status, &body)),
                Err(StartError::Failed(why)) => {
                    tracing::error!(browser = kind.name(), %why, "a TestGrid session did not start");
                    Err(WebDriverError::session_not_created(format!("the browser did not start: {why}")))
                }
            };
        }
        let session = arn.to_string();
        match self.remote.start(host, &session, kind, request.clone()).await {
            Ok((200, body)) => {
                let answer = serde_json::from_str(&body).unwrap_or(Value::Null);
                let remote = self.remote.clone();
                Ok((Backend::Remote { host: host.to_string(), session, kind, remote }, answer))
            }
            Ok((0, why)) | Err(why) => {
                tracing::error!(%host, browser = kind.name(), %why, "a TestGrid session did not start on a device host");
                Err(WebDriverError::session_not_created(format!("the browser did not start on host {host}: {why}")))
            }
            Ok((status, body)) => Err(WebDriverError::from_driver(status, body.as_bytes())),
        }
    }

    /// A new session for `grant`'s project: admitted, its browser started, its record
    /// stored. Returns the session and the driver's answer with the session id the
    /// client will use.
    pub async fn start(
        self: &Arc<Self>,
        state: &Arc<AppState>,
        grant: &Grant,
        request: &Value,
    ) -> Result<(Arc<LiveSession>, Value), WebDriverError> {
        let started = self.admit_and_start(state, grant, request).await;
        let browser = match &started {
            Ok((live, _)) => live.backend.kind().name(),
            Err((kind, _)) => kind.map_or("unknown", BrowserKind::name),
        };
        self.metrics.record_session_start(browser, started.is_ok());
        started.map_err(|(_, e)| e)
    }

    /// [`Grid::start`]; a refusal says which browser it was for, once that is known.
    async fn admit_and_start(
        self: &Arc<Self>,
        state: &Arc<AppState>,
        grant: &Grant,
        request: &Value,
    ) -> Result<(Arc<LiveSession>, Value), (Option<BrowserKind>, WebDriverError)> {
        if !self.session_rate.take(&grant.account_id, Instant::now()) {
            return Err((
                None,
                WebDriverError::too_many(format!(
                    "this account may create at most {} sessions a second",
                    self.config.sessions_per_second
                )),
            ));
        }
        let matched = match_request(request, &self.offered_specs()).map_err(|refusal| match refusal {
            Refusal::InvalidArgument(m) => (None, WebDriverError::invalid_argument(m)),
            Refusal::NotOffered(m) => (None, WebDriverError::session_not_created(m)),
        })?;
        let kind = matched.spec.kind;
        let refused = |e: WebDriverError| (Some(kind), e);
        let host = self.reserve(state, &grant.account_id, kind).await.map_err(refused)?;
        let created_ms = state.now_ms();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let project = Arn::new(&state.region, &grant.account_id, ResourceKind::TestGridProject, &grant.resource);
        let arn = project.child(ResourceKind::TestGridSession, &id);
        let (backend, mut answer) = match self.launch(&host, &arn, kind, request).await {
            Ok(launched) => launched,
            Err(e) => {
                self.started(&grant.account_id);
                self.release(&host, kind);
                return Err(refused(e));
            }
        };
        let version =
            answer["value"]["capabilities"]["browserVersion"].as_str().map(str::to_string).or(matched.spec.version);
        let properties = selenium_properties(request, kind, version.as_deref());
        let session = TestGridSession {
            created_ms,
            ended_ms: None,
            end_reason: None,
            selenium_properties: properties,
            browser: kind.name().to_string(),
            browser_version: version,
            host: host.clone(),
            replica: self.replica.clone(),
            replica_url: self.replica_url.clone(),
            artifacts: Vec::new(),
        };
        let mut record = Record {
            arn: arn.to_string(),
            account_id: grant.account_id.clone(),
            kind: ResourceKind::TestGridSession.into(),
            parent_arn: Some(project.to_string()),
            name: id.clone(),
            status: Some(SessionStatus::Active.as_str().to_string()),
            created_ms,
            version: 0,
            body: Value::Null,
        };
        let stored = match record.encode(&session) {
            Ok(()) => state.store.insert(&record).await,
            Err(e) => Err(e),
        };
        self.started(&grant.account_id);
        if let Err(e) = stored {
            backend.end(state, &arn).await;
            self.release(&host, kind);
            tracing::error!(error = %e, "storing a new TestGrid session");
            return Err(refused(WebDriverError::session_not_created("the farm could not record the session")));
        }
        let (ended, _) = watch::channel(false);
        let live = Arc::new(LiveSession {
            id: id.clone(),
            arn,
            project_id: grant.resource.clone(),
            created_ms,
            backend,
            last_command_ms: AtomicI64::new(created_ms),
            in_flight: AtomicU32::new(0),
            ended,
        });
        lock(&self.sessions).insert(id.clone(), live.clone());
        self.watch_browser(state.clone(), live.clone());
        answer["value"]["sessionId"] = json!(id);
        Ok((live, answer))
    }

    /// Ends the session as ERRORED when its browser or driver dies on its own.
    fn watch_browser(self: &Arc<Self>, state: Arc<AppState>, live: Arc<LiveSession>) {
        let grid = self.clone();
        tokio::spawn(async move {
            let mut ended = live.ended.subscribe();
            tokio::select! {
                reason = live.backend.died() => {
                    grid.end(&state, &live, EndReason::BrowserDied(reason), state.now_ms()).await;
                }
                _ = async { ended.wait_for(|e| *e).await.is_ok() } => {}
            }
        });
    }

    /// Ends a session once: its browser and processes gone, its video and log kept, its
    /// last actions written, and its final record and ledger line stored together.
    pub async fn end(&self, state: &AppState, live: &LiveSession, reason: EndReason, at_ms: i64) {
        if lock(&self.sessions).remove(&live.id).is_none() {
            return;
        }
        let _ = live.ended.send(true);
        let kept = live.backend.end(state, &live.arn).await;
        self.release(live.backend.host(), live.backend.kind());
        self.actions.flush(state).await;
        for _ in 0..16 {
            let record = match state.store.get(live.account_id(), &live.arn.to_string()).await {
                Ok(Some(record)) => record,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = %e, session = %live.arn, "reading an ending TestGrid session");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let Ok(mut session) = record.decode::<TestGridSession>() else { return };
            session.end(at_ms, reason.clone());
            session.artifacts = kept.clone();
            let mut ended = Record { status: Some(session.status().as_str().to_string()), ..record };
            if ended.encode(&session).is_err() {
                return;
            }
            let entry = ledger_entry(&ended, &session);
            match state.store.settle(&ended, &entry).await {
                Ok(_) => {
                    tracing::info!(session = %live.arn, status = session.status().as_str(), why = reason.describe(), "TestGrid session ended");
                    return;
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => {
                    tracing::error!(error = %e, session = %live.arn, "recording a TestGrid session's end");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Closes the sessions whose idle timeout or maximum duration has passed (service
    /// clock), and writes recorded actions, until `stop` resolves.
    pub async fn run(self: Arc<Self>, state: Arc<AppState>, stop: impl std::future::Future<Output = ()>) {
        let idle_ms = self.config.idle_timeout.as_millis() as i64;
        let max_ms = self.config.max_duration.as_millis() as i64;
        let mut stop = std::pin::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut ticks: u64 = 0;
        let mut events = self.remote.take_events();
        loop {
            let event = async {
                match events.as_mut() {
                    Some(events) => events.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut stop => break,
                Some(event) = event => {
                    self.on_remote_event(&state, event);
                    continue;
                }
                _ = tick.tick() => {}
            }
            ticks += 1;
            let now = state.now_ms();
            for live in self.active() {
                let last = live.last_command_ms.load(Ordering::SeqCst);
                let busy = live.in_flight.load(Ordering::SeqCst) > 0;
                let (at, reason) = auto_close(live.created_ms, last, idle_ms, max_ms);
                let due = now >= at && (!busy || reason == EndReason::MaxDuration);
                if due {
                    let (grid, state, live) = (self.clone(), state.clone(), live.clone());
                    tokio::spawn(async move { grid.end(&state, &live, reason, at).await });
                }
            }
            if ticks.is_multiple_of(4) {
                self.actions.flush(&state).await;
            }
            if ticks.is_multiple_of(SWEEP_TICKS) {
                self.sweep_unreachable(&state).await;
            }
        }
        for live in self.active() {
            self.end(&state, &live, EndReason::HostLost(format!("replica {} stopped", self.replica)), state.now_ms())
                .await;
        }
        self.actions.flush(&state).await;
    }

    /// A device host's browser died, or the host went away with its sessions.
    fn on_remote_event(self: &Arc<Self>, state: &Arc<AppState>, event: RemoteEvent) {
        let ended: Vec<(Arc<LiveSession>, EndReason)> = match &event {
            RemoteEvent::Died { session, reason } => self
                .active()
                .into_iter()
                .filter(|live| live.arn.to_string() == *session)
                .map(|live| (live, EndReason::BrowserDied(reason.clone())))
                .collect(),
            RemoteEvent::HostLost(host) => self
                .active()
                .into_iter()
                .filter(|live| live.backend.host() == host)
                .map(|live| (live, EndReason::HostLost(host.clone())))
                .collect(),
        };
        for (live, reason) in ended {
            let (grid, state) = (self.clone(), state.clone());
            tokio::spawn(async move { grid.end(&state, &live, reason, state.now_ms()).await });
        }
    }

    /// Whether a stored active session belonged to an earlier process at this replica's
    /// address (or of its name): that process, and the browser with it, is gone.
    pub fn was_ours(&self, session: &TestGridSession) -> bool {
        session.replica == self.replica || session.replica_url == self.replica_url
    }

    /// Active sessions of other replicas that no longer answer end ERRORED: nothing can
    /// reach their browsers, and their minutes would run on.
    async fn sweep_unreachable(&self, state: &AppState) {
        let mut answers: HashMap<String, bool> = HashMap::new();
        for (record, session) in stored_active(state).await {
            if session.replica == self.replica || session.replica_url.is_empty() {
                continue;
            }
            let reachable = match answers.get(&session.replica_url) {
                Some(known) => *known,
                None => {
                    let probe = self.peers.get(format!("{}/healthz", session.replica_url));
                    let answered = probe.timeout(Duration::from_secs(5)).send().await.is_ok();
                    answers.insert(session.replica_url.clone(), answered);
                    answered
                }
            };
            if !reachable {
                let why = format!("replica {} is unreachable", session.replica);
                self.close_orphan(state, record, session, why).await;
            }
        }
    }

    /// At start: the sessions an earlier process here held end ERRORED.
    pub async fn recover(&self, state: &AppState) {
        for (record, session) in stored_active(state).await {
            if self.was_ours(&session) {
                let why = format!("replica {} restarted", session.replica);
                self.close_orphan(state, record, session, why).await;
            }
        }
    }

    /// Ends, in the store, an active session whose replica process is gone.
    pub async fn close_orphan(&self, state: &AppState, record: Record, mut session: TestGridSession, why: String) {
        session.end(state.now_ms(), EndReason::HostLost(why));
        let mut ended = Record { status: Some(session.status().as_str().to_string()), ..record };
        if ended.encode(&session).is_ok() {
            let entry = ledger_entry(&ended, &session);
            if let Err(e) = state.store.settle(&ended, &entry).await {
                tracing::warn!(error = %e, session = %ended.arn, "closing a session left by a restart");
            }
        }
    }
}

/// Every account's active sessions as stored (every replica's).
async fn stored_active(state: &AppState) -> Vec<(Record, TestGridSession)> {
    let Ok(accounts) = state.store.accounts().await else { return Vec::new() };
    let mut active = Vec::new();
    for account in accounts {
        let query = ListQuery {
            status_in: Some(vec![SessionStatus::Active.as_str().to_string()]),
            ..ListQuery::new(account.id.clone(), ResourceKind::TestGridSession, 10_000)
        };
        let Ok(page) = state.store.list(&query).await else { continue };
        active.extend(
            page.records
                .into_iter()
                .filter_map(|r| Some((r.decode::<TestGridSession>().ok()?, r)))
                .map(|(s, r)| (r, s)),
        );
    }
    active
}

/// AWS's `seleniumProperties`: `browser`, `browserVersion` and `platform` (what clients
/// such as AWS's GitHub Action read), with the capabilities the client asked for.
fn selenium_properties(request: &Value, kind: BrowserKind, version: Option<&str>) -> String {
    let mut requested_caps = request.get("capabilities").cloned().unwrap_or_else(|| request.clone());
    // Selenium adds the hub URL it was given, and with it the URL's token: not a property
    // of the session, and not something to keep beyond the URL's life.
    let mut sets: Vec<&mut Value> = vec![];
    if let Some(caps) = requested_caps.as_object_mut() {
        for (key, value) in caps.iter_mut() {
            match key.as_str() {
                "alwaysMatch" => sets.push(value),
                "firstMatch" => sets.extend(value.as_array_mut().into_iter().flatten()),
                _ => {}
            }
        }
    }
    for set in sets {
        if let Some(set) = set.as_object_mut() {
            set.remove("se:remoteUrl");
        }
    }
    let wanted = &request["capabilities"]["alwaysMatch"];
    let text = |k: &str| wanted[k].as_str().map(str::to_string);
    let version = text("browserVersion").or_else(|| version.map(str::to_string)).unwrap_or_default();
    let platform = text("platformName").unwrap_or_else(|| "linux".to_string());
    json!({
        "browser": kind.name(),
        "browserVersion": version,
        "platform": platform,
        "capabilities": requested_caps,
    })
    .to_string()
}

/// A session's line in the billing ledger: browser minutes (billing method `BROWSER`),
/// kept apart from device minutes.
fn ledger_entry(record: &Record, session: &TestGridSession) -> LedgerEntry {
    let ended_ms = session.ended_ms.unwrap_or(session.created_ms);
    LedgerEntry {
        job_arn: record.arn.clone(),
        account_id: record.account_id.clone(),
        project_arn: record.parent_arn.clone().unwrap_or_default(),
        run_arn: record.arn.clone(),
        device_arn: format!("browser:{}", session.browser),
        device_name: format!("{} {}", session.browser, session.browser_version.as_deref().unwrap_or_default())
            .trim()
            .to_string(),
        platform: "BROWSER".to_string(),
        billing_method: store::ledger::BROWSER.to_string(),
        seconds: session.billed_seconds(ended_ms),
        started_ms: session.created_ms,
        settled_ms: ended_ms,
    }
}
