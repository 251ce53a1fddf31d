//! The scheduler: the one loop that moves jobs along. Each pass settles the jobs whose
//! timeline has ended (final state stored, minutes billed, device released, in one
//! transaction) and gives free device instances to waiting jobs, oldest first.
//!
//! Several server replicas may share one database. Only the holder of the `scheduler` lease
//! assigns devices (deciding from a consistent view of who holds what is what keeps one
//! instance to one job and an account within its concurrency), and its assignments are
//! fenced by the lease's token, so a holder that stalled past its lease cannot write over
//! its successor. Settling needs no lease: it is version-checked and the ledger bills a job
//! once whoever gets there first. Every replica reads the active jobs each pass, so each
//! can show which devices are busy.

use crate::agent::Hosts;
use crate::job_view::{job_snapshot, ledger_entry, release_ms};
use crate::live_fleet::LiveFleet;
use domain::arn::ResourceKind;
use domain::clock::Clock;
use domain::job::timeline::PrepDurations;
use domain::remote_access::RemoteSession;
use domain::run::{Job, JobPhase};
use domain::scheduling::{decide, AccountSlots, ActiveJob, Decision, WaitingJob};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use store::{Record, ScanQuery, Store, StoreError};
use tokio::sync::Notify;

/// How long the loop sleeps at most between passes (in real time): other replicas may have
/// scheduled work this one was not woken for.
const MAX_IDLE: Duration = Duration::from_millis(500);
const MIN_IDLE: Duration = Duration::from_millis(5);
const SCAN_PAGE: u32 = 500;
const LEASE: &str = "scheduler";
/// How long (in real time) the lease outlives its holder's last pass; a successor takes
/// over after this when a holder dies without releasing it.
const LEASE_TTL: Duration = Duration::from_secs(3);

pub struct Scheduler {
    store: Arc<dyn Store>,
    fleet: Arc<LiveFleet>,
    clock: Arc<dyn Clock>,
    prep: PrepDurations,
    /// Simulated milliseconds per real millisecond (`serve --time-scale`).
    time_scale: f64,
    wake: Wake,
    /// Device instances held by jobs, with when each job lets go of its instance (as its
    /// course stood at the last pass, or at a stop recorded here since): what GetDevice and
    /// ListDevices show as IN_USE / BUSY. Exact on this replica; another replica's stop
    /// shows after this one's next pass.
    in_use: std::sync::RwLock<BTreeMap<String, Option<i64>>>,
    /// Who this scheduler is, for the lease. A server restarted at the same address takes
    /// its lease back at once; otherwise a successor waits out [`LEASE_TTL`].
    holder: String,
    /// Where the jobs of real devices run; without it, such jobs wait for a device forever.
    hosts: Option<Arc<dyn Hosts>>,
    observer: Option<Arc<dyn SettleObserver>>,
    /// Told when remote access sessions get their devices, so their screens start at once.
    sessions_wake: Option<Wake>,
}

/// Asks the scheduler's loop for a pass now. Made before the scheduler and handed to
/// whoever learns that something changed (the API, the hub, a local executor), so none
/// of them needs the scheduler itself.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// Hears what this scheduler settles (the server's metrics), so the engine needs no
/// metrics library of its own.
pub trait SettleObserver: Send + Sync {
    /// A job whose stop was requested has settled here, `latency` of real time after the
    /// request (the service clock's span divided by the time scale). Each job is reported
    /// once, by the replica whose settle landed.
    fn stopped_job_settled(&self, latency: Duration);
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn decode_job(record: &Record) -> Result<Job, SchedulerError> {
    Ok(record.decode()?)
}

fn encode_job(record: &mut Record, job: &Job) -> Result<(), SchedulerError> {
    record.status = Some(job.phase.as_str().to_string());
    record.encode(job)?;
    Ok(())
}

/// What a pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub assigned: usize,
    pub settled: usize,
    /// The earliest simulated instant at which an active job changes by itself.
    pub next_change_ms: Option<i64>,
}

impl Scheduler {
    /// A scheduler over `fleet`: the fleet file's simulated devices plus, as hosts come and
    /// go, theirs.
    pub fn new(
        store: Arc<dyn Store>,
        fleet: Arc<LiveFleet>,
        clock: Arc<dyn Clock>,
        prep: PrepDurations,
        time_scale: f64,
    ) -> Self {
        Self {
            store,
            fleet,
            clock,
            prep,
            time_scale: time_scale.max(f64::MIN_POSITIVE),
            wake: Wake::default(),
            in_use: Default::default(),
            hosts: None,
            observer: None,
            sessions_wake: None,
            holder: format!(
                "scheduler-{}-{}",
                std::process::id(),
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
            ),
        }
    }

    /// Names this scheduler for the lease (e.g. host and listen address), so a restart of
    /// the same server resumes scheduling without waiting for its old lease to expire. Two
    /// live schedulers must never share a name.
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    pub fn prep(&self) -> &PrepDurations {
        &self.prep
    }

    /// The device instances jobs hold at `now_ms`.
    ///
    /// Every instance is copied: for listing the fleet; a single job's view uses
    /// [`Self::instances_in_use_among`].
    pub fn instances_in_use(&self, now_ms: i64) -> BTreeSet<String> {
        self.in_use
            .read()
            .map(|held| {
                held.iter()
                    .filter(|(_, release)| still_held(release, now_ms))
                    .map(|(instance, _)| instance.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Which of `instances` are held by a job at `now_ms`. A job's view needs only its own
    /// device's instances: copying every held instance per view cost ListJobs more than
    /// its store read on a busy 1,000-device fleet (BENCHMARKS.md).
    pub fn instances_in_use_among<'a>(
        &self,
        instances: impl IntoIterator<Item = &'a str>,
        now_ms: i64,
    ) -> BTreeSet<String> {
        let Ok(held) = self.in_use.read() else { return BTreeSet::new() };
        instances
            .into_iter()
            .filter(|instance| held.get(*instance).is_some_and(|release| still_held(release, now_ms)))
            .map(str::to_string)
            .collect()
    }

    /// Records that `instance` is let go at `at_ms` (a stop was just recorded), so the
    /// devices' view is right before the next pass.
    pub fn note_release(&self, instance: &str, at_ms: i64) {
        if let Ok(mut held) = self.in_use.write() {
            if let Some(release) = held.get_mut(instance) {
                *release = Some(release.map_or(at_ms, |r| r.min(at_ms)));
            }
        }
    }

    fn publish_in_use(&self, held: BTreeMap<String, Option<i64>>) {
        if let Ok(mut current) = self.in_use.write() {
            *current = held;
        }
    }

    /// Asks for a pass soon: a run was scheduled or a job stopped.
    pub fn wake(&self) {
        self.wake.wake();
    }

    /// Runs passes until `shutdown` resolves.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let began = tokio::time::Instant::now();
            let idle = match self.pass().await {
                Ok(report) => {
                    let now = self.clock.now_ms();
                    report
                        .next_change_ms
                        .map(|next| Duration::from_millis(((next - now).max(0) as f64 / self.time_scale) as u64))
                        .unwrap_or(MAX_IDLE)
                        .clamp(MIN_IDLE, MAX_IDLE)
                }
                Err(e) => {
                    tracing::error!(error = %e, "scheduler pass failed");
                    MAX_IDLE
                }
            };
            let pass_took = began.elapsed();
            tokio::select! {
                _ = &mut shutdown => {
                    self.release().await;
                    return;
                }
                _ = self.wake.notified() => {
                    // Every ScheduleRun and StopJob wakes the scheduler, and a pass reads every
                    // active job: under a stream of them, passes ran back to back and starved
                    // the API. Resting as long as the last pass took keeps the scheduler to
                    // about half a core, for at most that much extra latency.
                    tokio::time::sleep(pass_took).await;
                }
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }

    async fn scan(&self, phase: JobPhase) -> Result<Vec<Record>, StoreError> {
        scan_jobs(self.store.as_ref(), phase).await
    }

    /// Lets this scheduler start jobs on real devices.
    pub fn with_hosts(mut self, hosts: Arc<dyn Hosts>) -> Self {
        self.hosts = Some(hosts);
        self
    }

    /// Reports what this scheduler settles to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn SettleObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Wakes `wake` whenever a pass gives remote access sessions their devices.
    pub fn with_sessions_wake(mut self, wake: Wake) -> Self {
        self.sessions_wake = Some(wake);
        self
    }

    /// Passes when `wake` is woken (by default only by [`Scheduler::wake`] and its ticks).
    pub fn with_wake(mut self, wake: Wake) -> Self {
        self.wake = wake;
        self
    }

    /// Gives up the lease (at shutdown), so a successor need not wait for it to expire.
    pub async fn release(&self) {
        let now = self.clock.now_ms();
        if let Ok(Some(lease)) = self.store.acquire_lease(LEASE, &self.holder, now, 0).await {
            tracing::debug!(token = lease.token, "scheduler lease released");
        }
    }

    /// One pass: settle what ended, then, as the lease holder, assign what can start.
    pub async fn pass(&self) -> Result<PassReport, SchedulerError> {
        let now = self.clock.now_ms();
        let ttl_ms = (LEASE_TTL.as_millis() as f64 * self.time_scale) as i64;
        let lease = self.store.acquire_lease(LEASE, &self.holder, now, ttl_ms).await?;
        let mut report = PassReport::default();
        let mut active = Vec::new();
        let mut held = BTreeMap::new();
        let mut real_jobs = Vec::new();
        for record in self.scan(JobPhase::Active).await? {
            let job = decode_job(&record)?;
            let snapshot = job_snapshot(&job, &record, &self.prep, now);
            if snapshot.is_final {
                // Only the lease holder settles a job that holds an instance: it then sees
                // every instance still held when it hands them out, under the clock reading
                // it stamps the new assignments with. A job another replica settled after
                // the holder read its clock could otherwise free its instance "before" it
                // ended, and the instance would run two jobs at once.
                if (lease.is_some() || job.instance_arn.is_none()) && self.settle(record, job, now).await? {
                    report.settled += 1;
                }
                continue;
            }
            if job.driver.is_real() {
                real_jobs.push((record.clone(), job.clone()));
            }
            report.next_change_ms = min_opt(report.next_change_ms, snapshot.next_change_ms);
            if let Some(instance_arn) = &job.instance_arn {
                held.insert(instance_arn.clone(), release_ms(&job, &record, &self.prep));
                active.push(ActiveJob {
                    account_id: record.account_id.clone(),
                    platform: job.device.platform.as_str().to_string(),
                    billing_method: job.billing_method,
                    instance_arn: instance_arn.clone(),
                    remote_access: false,
                });
            }
        }

        // Remote access sessions hold their device until they settle (their screen may still
        // be closing after they end); whoever ends one settles it, so none is settled here.
        for record in scan_kind(self.store.as_ref(), ResourceKind::Session, JobPhase::Active).await? {
            let session: RemoteSession = record.decode()?;
            if let Some(instance_arn) = &session.instance_arn {
                held.insert(instance_arn.clone(), None);
                active.push(ActiveJob {
                    account_id: record.account_id.clone(),
                    platform: session.device.platform.as_str().to_string(),
                    billing_method: session.billing_method,
                    instance_arn: instance_arn.clone(),
                    remote_access: true,
                });
            }
        }

        // Every replica tends the real jobs of the hosts connected to it; which replica
        // assigns devices does not matter to them.
        if let Some(hosts) = &self.hosts {
            let next = hosts.tend(&real_jobs, now).await;
            report.next_change_ms = min_opt(report.next_change_ms, next);
        }

        let mut waiting_records = Vec::new();
        for record in self.scan(JobPhase::Waiting).await? {
            let job = decode_job(&record)?;
            if job.stop_requested_ms.is_some() {
                // Stopped before it had a device: it ends at the stop instant, billed
                // nothing, and never gets one. A stop written after this pass read the
                // clock may lie ahead of `now`; the job settles once it has ended, so its
                // ledger line and its record agree on when that was.
                let snapshot = job_snapshot(&job, &record, &self.prep, now);
                if !snapshot.is_final {
                    report.next_change_ms = min_opt(report.next_change_ms, snapshot.next_change_ms);
                } else if self.settle(record, job, now).await? {
                    report.settled += 1;
                }
                continue;
            }
            waiting_records.push(Waiting::Job(record, Box::new(job)));
        }
        for record in scan_kind(self.store.as_ref(), ResourceKind::Session, JobPhase::Waiting).await? {
            let session: RemoteSession = record.decode()?;
            // One stopped while waiting was settled by its stop; this read predates that.
            if session.is_live() {
                waiting_records.push(Waiting::Session(record, Box::new(session)));
            }
        }
        // Jobs and sessions share one line, oldest first, as the store lists each.
        waiting_records
            .sort_by(|a, b| (a.record().created_ms, &a.record().arn).cmp(&(b.record().created_ms, &b.record().arn)));
        let Some(lease) = lease else {
            // Another replica schedules; this one only keeps its view of busy devices.
            self.publish_in_use(held);
            return Ok(report);
        };
        if waiting_records.is_empty() {
            self.publish_in_use(held);
            return Ok(report);
        }
        let waiting: Vec<WaitingJob> = waiting_records.iter().map(Waiting::as_waiting).collect();
        let fleet = self.fleet.current();
        let instances: BTreeMap<String, Vec<String>> = fleet
            .devices()
            .iter()
            .map(|d| (d.arn.clone(), d.instances.iter().map(|i| i.arn.clone()).collect()))
            .collect();
        let unavailable: BTreeSet<String> = fleet
            .devices()
            .iter()
            .flat_map(|d| d.instances.iter())
            .filter(|i| i.status == domain::device::InstanceStatus::NotAvailable)
            .map(|i| i.arn.clone())
            .collect();
        let ledgers = crate::offering_ledgers::all(self.store.as_ref()).await?;
        let no_slots = domain::offering::Ledger::default();
        let slots: BTreeMap<String, AccountSlots> = self
            .store
            .accounts()
            .await?
            .into_iter()
            .map(|a| {
                // Purchased slots count from the instant their transaction takes effect,
                // read on the same clock as the rest of the pass.
                let ledger = ledgers.get(&a.id).unwrap_or(&no_slots);
                let s = AccountSlots {
                    max_concurrent_jobs: a.settings.max_concurrent_jobs,
                    unmetered_devices: domain::offering::unmetered_devices(&a.settings.unmetered_devices, ledger, now),
                    unmetered_remote_access_devices: a.settings.unmetered_remote_access_devices.clone(),
                };
                (a.id, s)
            })
            .collect();
        let decisions = decide(&waiting, &active, &instances, &unavailable, &slots);
        // Every decision is written in one fenced transaction: a pass placing a thousand jobs
        // used to commit (and sync) a thousand times, which was most of the time from
        // ScheduleRun to RUNNING on a large fleet (BENCHMARKS.md).
        let mut writes = Vec::new();
        let mut placed = Vec::new();
        for (pending, decision) in waiting_records.into_iter().zip(decisions) {
            match (pending, decision) {
                (Waiting::Job(mut record, mut job), Decision::Assign { instance_arn, .. }) => {
                    job.phase = JobPhase::Active;
                    job.instance_arn = Some(instance_arn.clone());
                    job.assigned_ms = Some(now);
                    encode_job(&mut record, &job)?;
                    writes.push(record);
                    placed.push(Placed::Job(job, instance_arn));
                }
                (Waiting::Session(mut record, mut session), Decision::Assign { instance_arn, .. }) => {
                    session.phase = JobPhase::Active;
                    session.instance_arn = Some(instance_arn.clone());
                    session.assigned_ms = Some(now);
                    encode_session(&mut record, &session)?;
                    writes.push(record);
                    placed.push(Placed::Session(session, instance_arn));
                }
                (Waiting::Job(mut record, mut job), Decision::Wait { reason, .. }) => {
                    if job.wait_reason != reason {
                        job.wait_reason = reason;
                        encode_job(&mut record, &job)?;
                        writes.push(record);
                        placed.push(Placed::Nothing);
                    }
                }
                (Waiting::Session(mut record, mut session), Decision::Wait { reason, .. }) => {
                    if session.wait_reason != reason {
                        session.wait_reason = reason;
                        encode_session(&mut record, &session)?;
                        writes.push(record);
                        placed.push(Placed::Nothing);
                    }
                }
            }
        }
        let outcomes = match self.store.update_all_fenced(&writes, &lease).await {
            Ok(outcomes) => outcomes,
            // Another replica took over scheduling: its view wins.
            Err(StoreError::LeaseLost) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let mut sessions_started = false;
        for (outcome, placement) in outcomes.into_iter().zip(placed) {
            // A wait reason that did not land is written again by a later pass.
            let (job, instance_arn) = match placement {
                Placed::Nothing => continue,
                Placed::Job(job, instance_arn) => (job, instance_arn),
                Placed::Session(session, instance_arn) => {
                    match outcome {
                        Ok(updated) => {
                            report.assigned += 1;
                            sessions_started = true;
                            held.insert(instance_arn.clone(), None);
                            active.push(ActiveJob {
                                account_id: updated.account_id.clone(),
                                platform: session.device.platform.as_str().to_string(),
                                billing_method: session.billing_method,
                                instance_arn,
                                remote_access: true,
                            });
                        }
                        Err(StoreError::Conflict | StoreError::NotFound) => {}
                        Err(e) => return Err(e.into()),
                    }
                    continue;
                }
            };
            match outcome {
                Ok(updated) => {
                    report.assigned += 1;
                    if job.driver.is_real() {
                        match &self.hosts {
                            Some(hosts) => hosts.dispatch(&updated).await,
                            None => tracing::error!(job = %updated.arn, "no device hosts for a real device's job"),
                        }
                    }
                    held.insert(instance_arn.clone(), release_ms(&job, &updated, &self.prep));
                    active.push(ActiveJob {
                        account_id: updated.account_id.clone(),
                        platform: job.device.platform.as_str().to_string(),
                        billing_method: job.billing_method,
                        instance_arn,
                        remote_access: false,
                    });
                    let snapshot = job_snapshot(&job, &updated, &self.prep, now);
                    report.next_change_ms = min_opt(report.next_change_ms, snapshot.next_change_ms);
                }
                // Stopped or deleted since we read it.
                Err(StoreError::Conflict | StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.publish_in_use(held);
        if sessions_started {
            if let Some(wake) = &self.sessions_wake {
                wake.wake();
            }
        }
        Ok(report)
    }

    /// Stores a job's final state and its bill in one transaction. `false` when another
    /// writer changed the job first (it will be looked at again next pass).
    async fn settle(&self, mut record: Record, mut job: Job, now: i64) -> Result<bool, SchedulerError> {
        let snapshot = job_snapshot(&job, &record, &self.prep, now);
        let entry = ledger_entry(&record, &job, &snapshot, now);
        job.phase = JobPhase::Settled;
        job.settled_ms = Some(now);
        encode_job(&mut record, &job)?;
        match self.store.settle(&record, &entry).await {
            Ok(_) => {
                if let (Some(observer), Some(stop_ms)) = (&self.observer, job.stop_requested_ms) {
                    let real_ms = (now - stop_ms).max(0) as f64 / self.time_scale;
                    observer.stopped_job_settled(Duration::from_secs_f64(real_ms / 1000.0));
                }
                Ok(true)
            }
            Err(StoreError::Conflict | StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

fn encode_session(record: &mut Record, session: &RemoteSession) -> Result<(), SchedulerError> {
    record.status = Some(session.phase.as_str().to_string());
    record.encode(session)?;
    Ok(())
}

/// Something waiting for a device: a job or a remote access session.
enum Waiting {
    Job(Record, Box<Job>),
    Session(Record, Box<RemoteSession>),
}

impl Waiting {
    fn record(&self) -> &Record {
        match self {
            Waiting::Job(record, _) | Waiting::Session(record, _) => record,
        }
    }

    fn as_waiting(&self) -> WaitingJob {
        match self {
            Waiting::Job(r, j) => WaitingJob {
                key: r.arn.clone(),
                account_id: r.account_id.clone(),
                platform: j.device.platform.as_str().to_string(),
                billing_method: j.billing_method,
                device_arn: j.device.arn.clone(),
                remote_access: false,
                only_instance: None,
            },
            Waiting::Session(r, s) => WaitingJob {
                key: r.arn.clone(),
                account_id: r.account_id.clone(),
                platform: s.device.platform.as_str().to_string(),
                billing_method: s.billing_method,
                device_arn: s.device.arn.clone(),
                remote_access: true,
                only_instance: s.requested_instance_arn.clone(),
            },
        }
    }
}

/// What an assignment write was for, to act on it once it lands.
enum Placed {
    Nothing,
    Job(Box<Job>, String),
    Session(Box<RemoteSession>, String),
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// An instance whose job lets it go at `release` (never yet, when `None`) is still held at `now_ms`.
fn still_held(release: &Option<i64>, now_ms: i64) -> bool {
    release.is_none_or(|at| at > now_ms)
}

/// Every job of every account in `phase`, page by page: a scheduler pass and a metrics
/// scrape read the waiting and active jobs alike, never the settled ones.
pub async fn scan_jobs(store: &dyn Store, phase: JobPhase) -> Result<Vec<Record>, StoreError> {
    scan_kind(store, ResourceKind::Job, phase).await
}

/// Every record of `kind` (jobs, remote access sessions) of every account in `phase`.
pub async fn scan_kind(store: &dyn Store, kind: ResourceKind, phase: JobPhase) -> Result<Vec<Record>, StoreError> {
    let mut query = ScanQuery {
        kind: kind.into(),
        status_in: Some(vec![phase.as_str().to_string()]),
        after: None,
        limit: SCAN_PAGE,
    };
    let mut all = Vec::new();
    loop {
        let page = store.scan(&query).await?;
        all.extend(page.records);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(all),
        }
    }
}

/// A stop may bring a device's release forward: it is free from then on, and the next pass
/// may give it to a waiting job.
#[async_trait::async_trait]
impl crate::stop_events::StopListener for Scheduler {
    async fn jobs_stopped(&self, jobs: &[crate::stop_events::StoppedJob<'_>]) {
        for stopped in jobs {
            if let (Some(instance), Some(at)) = (&stopped.job.instance_arn, stopped.release_ms) {
                self.note_release(instance, at);
            }
        }
        self.wake();
    }
}
