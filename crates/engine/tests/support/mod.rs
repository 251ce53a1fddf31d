//! Fixtures shared by the scheduler tests and the benchmark: a farm (database, fleet,
//! account, manual clock) on which runs, jobs and stops are recorded exactly as the API
//! records them (`server/src/api/runs/schedule.rs` and `stop.rs`), so the scheduler reads
//! what it reads in production.

// Each test binary, and the benchmark, uses a different part of this.
#![allow(dead_code)]

pub mod clock;
pub mod db;
pub mod fleet;
pub mod pausing_store;

use clock::ManualClock;
use db::{Backend, Db};
use domain::account::{Account, AccountSettings};
use domain::arn::{index, Arn, ResourceKind};
use domain::device::{Device, Fleet};
use domain::job::plan::{JobPlan, TestPlan};
use domain::job::snapshot::{snapshot, JobSnapshot};
use domain::job::status::ExecutionResult;
use domain::job::timeline::{JobTimes, PrepDurations};
use domain::run::{BillingMethod, Job, JobPhase, Run, WaitReason};
use engine::job_view::{job_snapshot, job_times};
use engine::scheduler::{decode_job, PassReport, Scheduler};
use fleet::DeviceSpec;
use std::sync::Arc;
use store::{LedgerEntry, LedgerQuery, Record, ScanQuery, Store, StoreError};

pub const ACCOUNT: &str = "111122223333";
/// Where every test's clock starts: any fixed instant will do.
pub const T0: i64 = 1_700_000_000_000;
/// Long after any test's jobs have ended: snapshots there are final.
pub const FAR_FUTURE: i64 = T0 + 365 * 24 * 3_600_000;

/// A plan whose setup, tests and teardown last whole seconds and whose tests all pass.
pub fn plan(setup_s: i64, tests_s: &[i64], teardown_s: i64) -> JobPlan {
    JobPlan {
        setup_ms: setup_s * 1000,
        tests: tests_s
            .iter()
            .enumerate()
            .map(|(i, s)| TestPlan {
                name: format!("test_{i}"),
                duration_ms: s * 1000,
                result: ExecutionResult::Passed,
                message: None,
            })
            .collect(),
        teardown_ms: teardown_s * 1000,
    }
}

/// Seconds a job of `plan` is billed when nothing cuts it short.
pub fn uninterrupted_seconds(plan: &JobPlan) -> i64 {
    (plan.setup_ms + plan.tests.iter().map(|t| t.duration_ms).sum::<i64>() + plan.teardown_ms) / 1000
}

/// What ScheduleRun would be asked for, reduced to what the scheduler looks at.
pub struct RunSpec<'a> {
    pub devices: &'a [&'a str],
    pub plan: JobPlan,
    pub billing_method: BillingMethod,
    pub timeout_minutes: i32,
}

impl<'a> RunSpec<'a> {
    pub fn on(devices: &'a [&'a str], plan: JobPlan) -> RunSpec<'a> {
        RunSpec { devices, plan, billing_method: BillingMethod::Metered, timeout_minutes: 150 }
    }

    pub fn unmetered(self) -> Self {
        RunSpec { billing_method: BillingMethod::Unmetered, ..self }
    }

    pub fn timeout_minutes(self, minutes: i32) -> Self {
        RunSpec { timeout_minutes: minutes, ..self }
    }
}

pub struct ScheduledRun {
    pub arn: String,
    /// In the run's device order.
    pub jobs: Vec<String>,
}

pub struct Farm {
    pub db: Db,
    pub store: Arc<dyn Store>,
    pub fleet: Arc<Fleet>,
    pub clock: Arc<ManualClock>,
    pub prep: PrepDurations,
    /// The server's stop grace, recorded with each stop (the default `stop_grace_seconds`).
    pub stop_grace_ms: i64,
    project_arn: Arn,
}

impl Farm {
    /// `None` when the backend is not available (PostgreSQL without a URL).
    pub async fn new(backend: Backend, devices: &[DeviceSpec]) -> Option<Farm> {
        Self::with_settings(backend, fleet::fleet(devices), AccountSettings::default()).await
    }

    pub async fn with_settings(backend: Backend, fleet: Fleet, settings: AccountSettings) -> Option<Farm> {
        let db = Db::create(backend).await?;
        let store = db.open().await;
        let account = Account { id: ACCOUNT.to_owned(), name: "tests".to_owned(), created_ms: T0, settings };
        store.create_account(&account).await.expect("create account");
        Some(Farm {
            db,
            store,
            fleet: Arc::new(fleet),
            clock: ManualClock::starting_at(T0),
            prep: PrepDurations { processing_ms: 1_000, scheduling_ms: 1_000, preparing_ms: 2_000 },
            stop_grace_ms: 10_000,
            project_arn: Arn::new(fleet::REGION, ACCOUNT, ResourceKind::Project, uuid::Uuid::new_v4().to_string()),
        })
    }

    /// A scheduler on this farm's connection pool.
    pub fn scheduler(&self) -> Arc<Scheduler> {
        self.scheduler_on(self.store.clone())
    }

    /// The farm's fleet as a scheduler sees it (no device hosts here).
    pub fn live_fleet(&self) -> Arc<engine::live_fleet::LiveFleet> {
        Arc::new(engine::live_fleet::LiveFleet::new(self.fleet.as_ref().clone()))
    }

    /// A scheduler on `store`: another replica, or a restarted server, when `store` is a
    /// pool of its own.
    pub fn scheduler_on(&self, store: Arc<dyn Store>) -> Arc<Scheduler> {
        Arc::new(Scheduler::new(store, self.live_fleet(), self.clock.clone(), self.prep, 1.0))
    }

    pub async fn update_settings(&self, change: impl FnOnce(&mut AccountSettings)) {
        let mut account = self.store.account(ACCOUNT).await.expect("read account").expect("account exists");
        change(&mut account.settings);
        self.store.update_account_settings(ACCOUNT, &account.settings).await.expect("update settings");
    }

    pub fn device(&self, name: &str) -> Device {
        self.fleet.devices().iter().find(|d| d.name == name).cloned().unwrap_or_else(|| panic!("no device {name}"))
    }

    /// Stores a run and one waiting job per device, created now, as ScheduleRun does.
    pub async fn schedule(&self, spec: RunSpec<'_>) -> ScheduledRun {
        let now = self.clock.now();
        let devices: Vec<Device> = spec.devices.iter().map(|d| self.device(d)).collect();
        let run_arn = self.project_arn.child(ResourceKind::Run, &uuid::Uuid::new_v4().to_string());
        let run = Run {
            name: "run".to_owned(),
            test_type: domain::upload::TestType::BuiltinFuzz,
            platform: devices[0].platform,
            app_arn: None,
            test_package_arn: None,
            test_spec_arn: None,
            device_pool_arn: None,
            billing_method: spec.billing_method,
            job_timeout_minutes: spec.timeout_minutes,
            total_jobs: devices.len() as u32,
            device_selection: None,
            stop_requested_ms: None,
            stop_grace_ms: None,
            network: Default::default(),
            echo: serde_json::json!({}),
        };
        self.insert(&run_arn, Some(&self.project_arn), &run.name, Some("ACTIVE"), &run, now).await;
        let mut jobs = Vec::with_capacity(devices.len());
        for (i, device) in devices.into_iter().enumerate() {
            let job = Job {
                index: i as u32,
                test_type: run.test_type,
                plan: spec.plan.clone(),
                device,
                billing_method: spec.billing_method,
                timeout_minutes: spec.timeout_minutes,
                video_capture: true,
                phase: JobPhase::Waiting,
                wait_reason: WaitReason::Pending,
                instance_arn: None,
                assigned_ms: None,
                stop_requested_ms: None,
                stop_grace_ms: None,
                settled_ms: None,
                driver: Default::default(),
                observed: None,
                artifacts: Vec::new(),
                customer_files: Vec::new(),
            };
            let job_arn = run_arn.child(ResourceKind::Job, &index(i as u32));
            self.insert(
                &job_arn,
                Some(&run_arn),
                &job.device.name.clone(),
                Some(JobPhase::Waiting.as_str()),
                &job,
                now,
            )
            .await;
            jobs.push(job_arn.to_string());
        }
        ScheduledRun { arn: run_arn.to_string(), jobs }
    }

    async fn insert<T: serde::Serialize>(
        &self,
        arn: &Arn,
        parent: Option<&Arn>,
        name: &str,
        status: Option<&str>,
        value: &T,
        now: i64,
    ) {
        let record = Record {
            arn: arn.to_string(),
            account_id: ACCOUNT.to_owned(),
            kind: arn.kind.into(),
            parent_arn: parent.map(Arn::to_string),
            name: name.to_owned(),
            status: status.map(str::to_owned),
            created_ms: now,
            version: 0,
            body: serde_json::to_value(value).expect("encode body"),
        };
        self.store.insert(&record).await.expect("insert record");
    }

    /// StopJob at the clock's time, as the API records it: the first stop of a job that has
    /// not ended, written with optimistic concurrency. Whether it was recorded.
    pub async fn stop(&self, job_arn: &str) -> bool {
        self.stop_at(job_arn, self.clock.now()).await
    }

    pub async fn stop_at(&self, job_arn: &str, at_ms: i64) -> bool {
        loop {
            let (mut record, mut job) = self.job(job_arn).await;
            if job_snapshot(&job, &record, &self.prep, at_ms).is_final || !job.request_stop(at_ms, self.stop_grace_ms) {
                return false;
            }
            record.body = serde_json::to_value(&job).expect("encode job");
            match self.store.update(&record).await {
                Ok(_) => return true,
                Err(StoreError::Conflict) => continue,
                Err(e) => panic!("recording a stop: {e}"),
            }
        }
    }

    pub async fn job(&self, arn: &str) -> (Record, Job) {
        let record = self.store.get_any(arn).await.expect("read job").unwrap_or_else(|| panic!("no job {arn}"));
        let job = decode_job(&record).expect("decode job");
        (record, job)
    }

    /// The job as a read (GetJob) sees it now.
    pub async fn snapshot(&self, arn: &str) -> JobSnapshot {
        let (record, job) = self.job(arn).await;
        job_snapshot(&job, &record, &self.prep, self.clock.now())
    }

    /// What the pure rules say the job ends as, from what is stored about it.
    pub fn final_snapshot(&self, record: &Record, job: &Job) -> JobSnapshot {
        let times: JobTimes = job_times(job, record);
        snapshot(&job.plan, &self.prep, &times, job.wait_reason, FAR_FUTURE)
    }

    /// Every job record, of `phase` if given, oldest first.
    pub async fn jobs(&self, phase: Option<JobPhase>) -> Vec<(Record, Job)> {
        let mut query = ScanQuery {
            kind: domain::arn::ResourceKind::Job.into(),
            status_in: phase.map(|p| vec![p.as_str().to_owned()]),
            after: None,
            limit: 500,
        };
        let mut all = Vec::new();
        loop {
            let page = self.store.scan(&query).await.expect("scan jobs");
            for record in page.records {
                let job = decode_job(&record).expect("decode job");
                all.push((record, job));
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return all,
            }
        }
    }

    pub async fn ledger(&self) -> Vec<LedgerEntry> {
        self.store.billing_entries(&LedgerQuery::default()).await.expect("read ledger")
    }

    pub async fn ledger_of(&self, job_arn: &str) -> Vec<LedgerEntry> {
        self.ledger().await.into_iter().filter(|e| e.job_arn == job_arn).collect()
    }
}

/// One pass, which must not fail.
pub async fn pass(scheduler: &Scheduler) -> PassReport {
    scheduler.pass().await.expect("scheduler pass")
}
