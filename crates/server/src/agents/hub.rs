//! The control plane's side of the device hosts connected to this replica: their
//! sessions, what they declare and report, the jobs handed to them, and the orders pushed
//! to them. Every rule about a job's state is applied through [`DirectLink`], the same as
//! for any host; the hub only routes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use domain::host::{Host, HostedDevice};
use domain::job::report::JobReport;
use domain::run::Job;
use engine::agent::{DirectLink, Hosts};
use engine::live_fleet::LiveFleet;
use host::agent::protocol::ControlMessage;
use host::agent::{JobLink, LinkError, Orders};
use store::Record;
use tokio::sync::mpsc::UnboundedSender;

/// Where replicas tell each other of a real job whose host may need telling (a stop, a
/// device just assigned): the ARN of the job.
const JOBS_CHANNEL: &str = "farmhand_jobs";

/// One connected host.
struct Session {
    id: u64,
    tx: UnboundedSender<ControlMessage>,
    /// Jobs handed to the host over this session.
    sent: BTreeSet<String>,
    /// The last orders pushed for each job, so each change is pushed once.
    ordered: BTreeMap<String, Orders>,
}

pub struct Hub {
    replica: String,
    region: String,
    link: DirectLink,
    live_fleet: Arc<LiveFleet>,
    /// How often hosts are told to send a heartbeat (real time).
    pub heartbeat: Duration,
    /// Silence after which a host is lost, in service-clock milliseconds.
    host_timeout_ms: i64,
    sessions: Mutex<BTreeMap<String, Session>>,
    next_id: AtomicU64,
    /// Asks the scheduler for a pass: a job just ended and can be settled.
    /// Wakes the scheduler when a host changes what it can run (devices, a finished job).
    wake: engine::scheduler::Wake,
}

/// Why a host's hello was refused.
#[derive(Debug, thiserror::Error)]
pub enum HelloError {
    #[error("device {0} is in region {1}; this server's region is {2}")]
    WrongRegion(String, String, String),
    #[error("device {0} is declared `simulated`; a host plays such a device as `scripted`")]
    Simulated(String),
    #[error("devices already declared by another host or the server's fleet: {0}")]
    Taken(String),
    #[error("storing the host: {0}")]
    Store(#[from] store::StoreError),
}

impl Hub {
    pub fn new(
        replica: String,
        region: String,
        link: DirectLink,
        live_fleet: Arc<LiveFleet>,
        heartbeat: Duration,
        host_timeout_ms: i64,
        wake: engine::scheduler::Wake,
    ) -> Hub {
        Hub {
            replica,
            region,
            link,
            live_fleet,
            heartbeat,
            host_timeout_ms,
            sessions: Mutex::default(),
            next_id: AtomicU64::new(1),
            wake,
        }
    }

    fn wake_scheduler(&self) {
        self.wake.wake();
    }

    pub fn replica(&self) -> &str {
        &self.replica
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// A host connected: the session replaces any older one of the same host (a
    /// reconnect after a blip can arrive before the old connection is noticed dead).
    pub fn open(&self, host: &str, tx: UnboundedSender<ControlMessage>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(host.to_string(), Session { id, tx, sent: BTreeSet::new(), ordered: BTreeMap::new() });
        }
        id
    }

    /// The session ended. A host that does not come back within the timeout is lost.
    pub async fn close(&self, host: &str, id: u64) {
        let current = self
            .sessions
            .lock()
            .map(|mut sessions| {
                if sessions.get(host).is_some_and(|s| s.id == id) {
                    sessions.remove(host);
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false);
        if current {
            if let Err(e) = self.link.store().host_disconnected(host, &self.replica).await {
                tracing::warn!(%host, error = %e, "recording a host's disconnection failed");
            }
        }
    }

    /// This replica is stopping: every host but `except` (the built-in one, which has
    /// nowhere else to go) is told to move to another replica now, rather than when the
    /// process ends.
    pub fn send_hosts_away(&self, except: Option<&str>) {
        let Ok(sessions) = self.sessions.lock() else { return };
        for (host, session) in sessions.iter() {
            if Some(host.as_str()) != except {
                let _ = session
                    .tx
                    .send(ControlMessage::GoAway { reason: format!("replica {} is shutting down", self.replica) });
            }
        }
    }

    fn send(&self, host: &str, message: ControlMessage) -> bool {
        self.sessions.lock().ok().and_then(|s| s.get(host).map(|s| s.tx.send(message).is_ok())).unwrap_or(false)
    }

    /// The host's first message: its devices and the jobs it still runs. Jobs the control
    /// plane has ended meanwhile are forgotten by the host; jobs it should be running but
    /// is not (it restarted) end ERRORED.
    pub async fn hello(&self, host: &str, devices: Vec<HostedDevice>, running: Vec<String>) -> Result<(), HelloError> {
        for d in &devices {
            let region = d.device.arn.split(':').nth(3).unwrap_or_default();
            if region != self.region {
                return Err(HelloError::WrongRegion(d.device.arn.clone(), region.to_string(), self.region.clone()));
            }
            if !d.driver.is_real() {
                return Err(HelloError::Simulated(d.device.arn.clone()));
            }
        }
        let refused = self.live_fleet.set_host(host, devices.clone(), true);
        if !refused.is_empty() {
            return Err(HelloError::Taken(refused.join(", ")));
        }
        let now = self.link.clock().now_ms();
        self.link.store().host_connected(host, &self.replica, &devices, now).await?;
        self.settle_missing(host, &running).await;
        for job_arn in &running {
            let keep = match self.job(job_arn).await {
                Some((record, job)) => {
                    self.owns(host, &job) && job.settled_ms.is_none() && !finished(&job) && record.arn == *job_arn
                }
                None => false,
            };
            if keep {
                self.mark_sent(host, job_arn);
            } else {
                self.send(host, ControlMessage::Forget { job_arn: job_arn.clone() });
            }
        }
        Ok(())
    }

    /// Follows the other replicas' news about jobs, for the hosts connected here.
    pub async fn listen(self: Arc<Self>) {
        let mut notices = match self.link.store().listen(JOBS_CHANNEL).await {
            Ok(stream) => stream,
            Err(e) => {
                tracing::error!(error = %e, "listening for job notices failed; hosts hear of other replicas' stops at the next pass");
                return;
            }
        };
        while let Some(job_arn) = futures::StreamExt::next(&mut notices).await {
            self.on_notice(&job_arn).await;
        }
    }

    async fn on_notice(&self, job_arn: &str) {
        let Some((record, job)) = self.job(job_arn).await else { return };
        if !job.driver.is_real() || finished(&job) || job.instance_arn.is_none() {
            return;
        }
        let Some(host) = self.host_of_job(&job) else { return };
        if self.is_connected_here(&host) {
            self.send_job(&host, &record.arn).await;
            self.push_orders(&record.arn, &job, Orders::for_job(&job, self.link.clock().now_ms()).0);
        }
    }

    /// Something about a real job changed that its host must hear now (a stop): pushed
    /// at once if the host is connected here, and announced to the other replicas.
    pub async fn job_changed(&self, job_arn: &str, job: &Job) {
        self.push_orders(job_arn, job, Orders::for_job(job, self.link.clock().now_ms()).0);
        if let Err(e) = self.link.store().notify(JOBS_CHANNEL, job_arn).await {
            tracing::warn!(job = %job_arn, error = %e, "announcing a job change failed; other replicas see it at their next pass");
        }
    }

    /// The host's jobs it did not list as its own: one that never reported anything was
    /// never started (or its start was lost with the host) and is sent again; one that
    /// had started lost its processes with the host and ends ERRORED.
    async fn settle_missing(&self, host: &str, running: &[String]) {
        let active = match self.active_jobs().await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(%host, error = %e, "reading the active jobs failed");
                return;
            }
        };
        for (record, job) in active {
            if !job.driver.is_real() || !self.owns(host, &job) || finished(&job) || running.contains(&record.arn) {
                continue;
            }
            if job.observed.is_none() {
                continue; // tend() sends it once the session is up.
            }
            let message = format!("The device host {host} restarted while the job ran; its processes were ended");
            if let Err(e) = self.link.report(&record.arn, JobReport::Failed { message }).await {
                tracing::warn!(job = %record.arn, error = %e, "ending a job lost with its host failed");
            }
            self.wake_scheduler();
        }
    }

    async fn active_jobs(&self) -> Result<Vec<(Record, Job)>, store::StoreError> {
        let mut query = store::ScanQuery {
            kind: domain::arn::ResourceKind::Job.into(),
            status_in: Some(vec![domain::run::JobPhase::Active.as_str().to_string()]),
            after: None,
            limit: 500,
        };
        let mut jobs = Vec::new();
        loop {
            let page = self.link.store().scan(&query).await?;
            for record in page.records {
                if let Ok(job) = record.decode::<Job>() {
                    jobs.push((record, job));
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(jobs),
            }
        }
    }

    /// A heartbeat, possibly with the host's devices as they are now.
    pub async fn heartbeat(&self, host: &str, devices: Option<Vec<HostedDevice>>) {
        let now = self.link.clock().now_ms();
        if let Some(devices) = devices {
            let refused = self.live_fleet.set_host(host, devices.clone(), true);
            if !refused.is_empty() {
                tracing::warn!(%host, devices = %refused.join(", "), "devices another host has were ignored");
            }
            if let Err(e) = self.link.store().host_connected(host, &self.replica, &devices, now).await {
                tracing::warn!(%host, error = %e, "recording a host's devices failed");
            }
        } else if let Err(e) = self.link.store().host_seen(host, &self.replica, now).await {
            tracing::warn!(%host, error = %e, "recording a heartbeat failed");
        }
        self.live_fleet.set_host_alive(host, true);
    }

    /// A report about a job the host runs; refused for a job that is not on its devices.
    pub async fn report(&self, host: &str, job_arn: &str, report: JobReport) -> Result<(), String> {
        let ends = matches!(report, JobReport::Finished { .. } | JobReport::Failed { .. });
        let now = self.link.clock().now_ms();
        match self.link.report_if(job_arn, &report, now, |job| self.owns(host, job)).await {
            Ok(()) => {}
            Err(LinkError::Gone(_)) => return Err(format!("job {job_arn} does not run on host {host}")),
            Err(e) => return Err(e.to_string()),
        }
        if ends {
            self.wake_scheduler();
        }
        Ok(())
    }

    /// Whether `job_arn` runs on one of `host`'s devices: the only jobs whose files and
    /// reports a host may touch.
    pub async fn check_owner(&self, host: &str, job_arn: &str) -> Result<(), String> {
        match self.job(job_arn).await {
            Some((_, job)) if self.owns(host, &job) => Ok(()),
            _ => Err(format!("job {job_arn} does not run on host {host}")),
        }
    }

    /// Where one of the job's uploads is stored, if the job may read it.
    pub async fn input_key(&self, job_arn: &str, upload_arn: &str) -> Option<String> {
        self.link.input_key(job_arn, upload_arn).await.ok()
    }

    fn owns(&self, host: &str, job: &Job) -> bool {
        self.host_of_job(job).as_deref() == Some(host)
    }

    /// The host of the instance a job was given, if it is a host's.
    fn host_of_job(&self, job: &Job) -> Option<String> {
        self.live_fleet.host_of_instance(job.instance_arn.as_deref()?)
    }

    async fn job(&self, job_arn: &str) -> Option<(Record, Job)> {
        let record = self.link.store().get_any(job_arn).await.ok()??;
        let job = record.decode().ok()?;
        Some((record, job))
    }

    fn mark_sent(&self, host: &str, job_arn: &str) -> bool {
        self.sessions
            .lock()
            .ok()
            .and_then(|mut s| s.get_mut(host).map(|s| s.sent.insert(job_arn.to_string())))
            .unwrap_or(false)
    }

    fn is_connected_here(&self, host: &str) -> bool {
        self.sessions.lock().map(|s| s.contains_key(host)).unwrap_or(false)
    }

    /// Pushes `orders` for a job to its host if it is connected here and they changed.
    pub fn push_orders(&self, job_arn: &str, job: &Job, orders: Orders) {
        let Some(host) = self.host_of_job(job) else { return };
        let changed = self
            .sessions
            .lock()
            .ok()
            .and_then(|mut s| {
                let session = s.get_mut(&host)?;
                let before = session.ordered.insert(job_arn.to_string(), orders);
                Some(before != Some(orders))
            })
            .unwrap_or(false);
        if changed {
            self.send(&host, ControlMessage::Orders { job_arn: job_arn.to_string(), orders });
        }
    }

    /// The hosts as stored, with those silent past the timeout shown unavailable.
    async fn refresh_hosts(&self, now_ms: i64) -> Vec<Host> {
        let hosts = match self.link.store().hosts().await {
            Ok(hosts) => hosts,
            Err(e) => {
                tracing::warn!(error = %e, "reading the hosts failed");
                return Vec::new();
            }
        };
        for host in &hosts {
            let alive = !host.is_lost(now_ms, self.host_timeout_ms);
            // A host first seen by its token alone, or that came back to another replica
            // with other devices, is taken as it now declares itself.
            if self.live_fleet.declared(&host.name).as_deref() == Some(&host.devices[..]) {
                self.live_fleet.set_host_alive(&host.name, alive);
            } else {
                self.live_fleet.set_host(&host.name, host.devices.clone(), alive);
            }
        }
        hosts
    }

    async fn send_job(&self, host: &str, job_arn: &str) {
        if !self.mark_sent(host, job_arn) {
            return;
        }
        match self.link.assignment(job_arn).await {
            Ok(assignment) => {
                self.send(host, ControlMessage::Run { assignment: Box::new(assignment) });
            }
            // What the job needs is gone (an upload deleted): it cannot run, now or later.
            Err(LinkError::Gone(why)) => {
                let message = format!("farmhand could not prepare the job: {why}");
                if let Err(e) = self.link.report(job_arn, JobReport::Failed { message }).await {
                    tracing::warn!(job = %job_arn, error = %e, "ending a job that cannot be prepared failed");
                }
                self.wake_scheduler();
            }
            // Try again at the next pass.
            Err(e) => {
                tracing::warn!(job = %job_arn, error = %e, "preparing a job for its host failed");
                if let Ok(mut s) = self.sessions.lock() {
                    if let Some(session) = s.get_mut(host) {
                        session.sent.remove(job_arn);
                    }
                }
            }
        }
    }
}

fn finished(job: &Job) -> bool {
    job.observed.as_ref().is_some_and(|o| o.finished_ms.is_some())
}

#[async_trait]
impl Hosts for Hub {
    async fn dispatch(&self, record: &Record) {
        let Ok(job) = record.decode::<Job>() else { return };
        if let Some(host) = self.host_of_job(&job) {
            if self.is_connected_here(&host) {
                self.send_job(&host, &record.arn).await;
            } else if let Err(e) = self.link.store().notify(JOBS_CHANNEL, &record.arn).await {
                tracing::warn!(job = %record.arn, error = %e, "announcing a job to the other replicas failed");
            }
        }
    }

    async fn tend(&self, jobs: &[(Record, Job)], now_ms: i64) -> Option<i64> {
        let hosts = self.refresh_hosts(now_ms).await;
        let mut next: Option<i64> = None;
        for (record, job) in jobs {
            if finished(job) {
                continue;
            }
            let Some(host) = self.host_of_job(job) else { continue };
            if self.is_connected_here(&host) {
                self.send_job(&host, &record.arn).await;
                let (orders, deadline) = Orders::for_job(job, now_ms);
                self.push_orders(&record.arn, job, orders);
                next = match (next, deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                continue;
            }
            // Not connected here: it may be connected to another replica; only silence
            // past the timeout, which every replica reads alike, ends its jobs.
            let Some(stored) = hosts.iter().find(|h| h.name == host) else { continue };
            if stored.is_lost(now_ms, self.host_timeout_ms) {
                let last_seen = stored.last_seen_ms.unwrap_or(now_ms);
                let message = format!("The device host {host} stopped answering while the job ran; the job was ended");
                if let Err(e) = self.link.report_at(&record.arn, &JobReport::Failed { message }, last_seen).await {
                    tracing::warn!(job = %record.arn, error = %e, "ending a lost host's job failed");
                }
            } else if let Some(seen) = stored.last_seen_ms {
                let lost_at = seen + self.host_timeout_ms + 1;
                next = Some(next.map_or(lost_at, |n| n.min(lost_at)));
            }
        }
        next
    }
}

/// A real job's host hears of its stop at once, from whichever replica it is connected to.
#[async_trait]
impl engine::stop_events::StopListener for Hub {
    async fn jobs_stopped(&self, jobs: &[engine::stop_events::StoppedJob<'_>]) {
        for stopped in jobs {
            if stopped.job.driver.is_real() && stopped.job.instance_arn.is_some() {
                self.job_changed(stopped.arn, stopped.job).await;
            }
        }
    }
}
