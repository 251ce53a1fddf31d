//! How long a StopJob takes to reach a real job's test process: 100 jobs on `host`-driver
//! devices, each running a test spec whose test phase is a small Python probe that writes
//! the instant SIGTERM reaches it. Everything between is the production path: the
//! scheduler (`Scheduler::run`) assigns each job, the executor unpacks the test package,
//! reads the spec from the blob store and runs it; the stop is recorded in the job record
//! as `api/runs/stop.rs` records it, the executor's watcher sees it and the runner
//! SIGTERMs the test phase's process group; then the executor finishes the job and the
//! scheduler settles it.
//!
//! Prints percentiles of stop recorded → SIGTERM received, → COMPLETED (what GetJob
//! shows) and → settled (billed, device free), each also as a ratio to a baseline measured
//! in the same process: SIGTERM sent with `kill(-pgid)` straight to the same probe spawned
//! the same way (a new process group under `/bin/sh`), the floor no stop path can beat.
//!
//! Run with `cargo bench -p engine --bench stop_latency` (SQLite and blobs in a temp dir;
//! needs `python3` on the runner's PATH).

#[path = "../tests/support/mod.rs"]
mod support;

use domain::account::{Account, AccountSettings};
use domain::arn::{index, Arn, ResourceKind};
use domain::clock::Clock;
use domain::device::{Device, Driver, Fleet};
use domain::job::plan::JobPlan;
use domain::job::status::{ExecutionResult, ExecutionStatus};
use domain::job::timeline::PrepDurations;
use domain::resources::{Project, Upload};
use domain::run::{BillingMethod, Job, JobPhase, Run, WaitReason};
use domain::upload::{UploadCategory, UploadStatus, UploadType};
use engine::job_view::job_snapshot;
use engine::live_fleet::LiveFleet;
use engine::scheduler::{decode_job, Scheduler};
use host::executor::Executor;
use host::runner::{Runner, RunnerConfig};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::blob::BlobStore;
use store::{Record, Store, StoreError};
use support::db::{Backend, Db};
use support::fleet::{fleet_toml, DeviceSpec, REGION};
use support::ACCOUNT;

const DEVICES: usize = 5;
const INSTANCES: usize = 2;
/// Every instance busy at once, never more: a batch is one run per instance of each device.
const BATCH: usize = DEVICES * INSTANCES;
const JOBS: usize = 100;
const _: () = assert!(JOBS.is_multiple_of(BATCH), "whole batches only: a job left unstopped would run forever");
const BASELINE_PROBES: usize = 30;
/// How often the benchmark looks for the probe's files: they carry their own instants,
/// so this only delays the benchmark, not what it measures.
const FILE_POLL: Duration = Duration::from_millis(1);
/// How often a stopped job is read back (GetJob); the COMPLETED and settled instants are
/// this coarse.
const RECORD_POLL: Duration = Duration::from_millis(5);
/// Longer than anything here should take; a wait past it is a failure, not a sample.
const PATIENCE: Duration = Duration::from_secs(30);
/// Recorded with each stop as the API records the server's default grace.
const STOP_GRACE_MS: i64 = 10_000;
/// The runner's PATH (`RunnerConfig::default`), so the baseline finds the same python3.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The test package's one file. It announces itself once its handler is in place (so a
/// stop can only land in the test phase, never in Python's start-up), and on SIGTERM
/// writes the wall-clock instant, in the same clock (CLOCK_REALTIME) the benchmark notes
/// stops in. Files appear by rename, so they are never read half written.
const PROBE: &str = r#"import os, signal, sys, time

out_dir, name = sys.argv[1], sys.argv[2]

def publish(suffix, text):
    tmp = os.path.join(out_dir, "." + name + "." + suffix)
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(out_dir, name + "." + suffix))

def on_term(signum, frame):
    publish("term", str(time.time_ns()))
    os._exit(0)

signal.signal(signal.SIGTERM, on_term)
publish("ready", str(os.getpid()))
while True:
    signal.pause()
"#;

/// The service clock: real time, as `serve` without `--time-scale` runs.
struct WallClock;

impl Clock for WallClock {
    fn now_ms(&self) -> i64 {
        (wall_ns() / 1_000_000) as i64
    }
}

fn wall_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let probe = dir.path().join("stop_probe.py");
    std::fs::write(&probe, PROBE).expect("write the probe");
    let signals = dir.path().join("baseline");
    std::fs::create_dir(&signals).expect("baseline dir");
    let baseline: Vec<f64> = (0..BASELINE_PROBES).map(|i| direct_kill_ms(&probe, &signals, i)).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let samples = runtime.block_on(async {
        let (farm, scheduler_loop) = HostFarm::start(dir.path()).await;
        let samples = stop_jobs(&farm).await;
        scheduler_loop.shut_down().await;
        samples
    });
    report(&baseline, &samples);
}

/// SIGTERM → handler for the probe started as the runner starts a phase (`/bin/sh` leading
/// a new process group, a clean environment), signalled with `kill(-pgid)` directly.
fn direct_kill_ms(probe: &Path, signals: &Path, i: usize) -> f64 {
    let name = format!("direct-{i}");
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"python3 "$0" "$1" "$2""#)
        .arg(probe)
        .arg(signals)
        .arg(&name)
        .env_clear()
        .env("PATH", PATH)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn the probe");
    wait_for_file_blocking(&signals.join(format!("{name}.ready")));
    let pgid = rustix::process::Pid::from_child(&child);
    let sent = wall_ns();
    rustix::process::kill_process_group(pgid, rustix::process::Signal::TERM).expect("signal the probe");
    let received = read_instant_blocking(&signals.join(format!("{name}.term")));
    let _ = child.wait();
    (received - sent) as f64 / 1e6
}

fn wait_for_file_blocking(path: &Path) {
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < PATIENCE, "{} never appeared", path.display());
        std::thread::sleep(FILE_POLL);
    }
}

fn read_instant_blocking(path: &Path) -> i128 {
    wait_for_file_blocking(path);
    parse_instant(path)
}

fn parse_instant(path: &Path) -> i128 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.trim().parse().unwrap_or_else(|e| panic!("{} holds no instant ({text:?}): {e}", path.display()))
}

async fn wait_for_file(path: &Path) {
    let started = std::time::Instant::now();
    while !tokio::fs::try_exists(path).await.unwrap_or(false) {
        assert!(started.elapsed() < PATIENCE, "{} never appeared", path.display());
        tokio::time::sleep(FILE_POLL).await;
    }
}

/// A farm wired as `server/bootstrap.rs` wires it: store, blob store, a fleet of `host`
/// devices, the scheduler with an executor attached, the scheduler loop running.
struct HostFarm {
    _db: Db,
    store: Arc<dyn Store>,
    fleet: Arc<Fleet>,
    scheduler: Arc<Scheduler>,
    executor: Arc<Executor>,
    project_arn: Arn,
    package_arn: Arn,
    spec_arn: Arn,
    /// Where the probes of the jobs write their files (named in the spec's text).
    signals: PathBuf,
}

/// `Scheduler::run` on a task, and how to end it.
struct SchedulerLoop {
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SchedulerLoop {
    async fn shut_down(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

/// A job the benchmark follows: its ARN and the name its probe's files carry.
struct RunningJob {
    arn: String,
    probe: String,
}

/// What one stop took, in ms from the instant the stop was recorded.
struct Sample {
    recording_ms: f64,
    sigterm_ms: f64,
    completed_ms: f64,
    settled_ms: f64,
    result: ExecutionResult,
}

impl HostFarm {
    async fn start(dir: &Path) -> (Arc<HostFarm>, SchedulerLoop) {
        let db = Db::create(Backend::Sqlite).await.expect("SQLite is always available");
        let store = db.open().await;
        let blobs = BlobStore::local(dir.join("blobs")).expect("blob store");
        let clock: Arc<dyn Clock> = Arc::new(WallClock);
        let signals = dir.join("signals");
        std::fs::create_dir(&signals).expect("signals dir");

        let settings = AccountSettings { max_concurrent_jobs: BATCH as i32, ..AccountSettings::default() };
        let account =
            Account { id: ACCOUNT.to_owned(), name: "bench".to_owned(), created_ms: clock.now_ms(), settings };
        store.create_account(&account).await.expect("create account");

        let fleet = Arc::new(host_fleet());
        let project_arn = Arn::new(REGION, ACCOUNT, ResourceKind::Project, uuid::Uuid::new_v4().to_string());
        let project = Project {
            name: "stop latency".to_owned(),
            default_job_timeout_minutes: None,
            vpc_config: None,
            environment_variables: Vec::new(),
            execution_role_arn: None,
        };
        insert(store.as_ref(), &project_arn, None, &project.name, None, &project, clock.now_ms()).await;
        let package = package_zip();
        let package_arn = upload(
            store.as_ref(),
            &blobs,
            &project_arn,
            "stop_probe.zip",
            UploadType::AppiumWebPythonTestPackage,
            package,
        )
        .await;
        let spec_arn = upload(
            store.as_ref(),
            &blobs,
            &project_arn,
            "stop_latency.yml",
            UploadType::AppiumWebPythonTestSpec,
            test_spec(&signals).into_bytes(),
        )
        .await;

        let wake = engine::scheduler::Wake::default();
        let finished = wake.clone();
        let executor = Arc::new(Executor::new(
            Arc::new(engine::agent::DirectLink::new(store.clone(), blobs, clock.clone(), REGION)),
            Runner::new(RunnerConfig::default(), clock.clone()),
            dir.join("jobs"),
            Arc::new(move || finished.wake()),
        ));
        let scheduler = Arc::new(
            Scheduler::new(
                store.clone(),
                Arc::new(LiveFleet::new(fleet.as_ref().clone())),
                clock,
                PrepDurations::default(),
                1.0,
            )
            .with_holder("stop-latency-bench")
            .with_hosts(Arc::new(engine::agent::LocalHosts::new(executor.clone())))
            .with_wake(wake),
        );
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(scheduler.clone().run(async move {
            let _ = stopped.await;
        }));
        let farm = HostFarm { _db: db, store, fleet, scheduler, executor, project_arn, package_arn, spec_arn, signals };
        (Arc::new(farm), SchedulerLoop { shutdown, task })
    }

    fn now_ms(&self) -> i64 {
        WallClock.now_ms()
    }

    /// Stores a run over every device and one waiting job per device, as ScheduleRun does,
    /// and wakes the scheduler.
    async fn schedule_run(&self) -> Vec<RunningJob> {
        let now = self.now_ms();
        let devices: Vec<Device> = self.fleet.devices().to_vec();
        let run_arn = self.project_arn.child(ResourceKind::Run, &uuid::Uuid::new_v4().to_string());
        let run = Run {
            name: "stop latency".to_owned(),
            test_type: domain::upload::TestType::AppiumWebPython,
            platform: devices[0].platform,
            app_arn: None,
            test_package_arn: Some(self.package_arn.to_string()),
            test_spec_arn: Some(self.spec_arn.to_string()),
            device_pool_arn: None,
            billing_method: BillingMethod::Metered,
            job_timeout_minutes: 150,
            total_jobs: devices.len() as u32,
            device_selection: None,
            stop_requested_ms: None,
            stop_grace_ms: None,
            network: Default::default(),
            echo: serde_json::json!({ "environmentVariables": [] }),
        };
        insert(self.store.as_ref(), &run_arn, Some(&self.project_arn), &run.name, Some("ACTIVE"), &run, now).await;
        // The probe's name, as the spec's command builds it: `${DEVICEFARM_RUN_ARN##*/}-N`.
        let run_id = run_arn.id.rsplit('/').next().unwrap_or_default().to_owned();
        let mut jobs = Vec::with_capacity(devices.len());
        for (i, device) in devices.into_iter().enumerate() {
            let driver = self.fleet.driver(&device.arn);
            let job = Job {
                index: i as u32,
                test_type: run.test_type,
                plan: JobPlan { setup_ms: 0, tests: Vec::new(), teardown_ms: 0 },
                device,
                billing_method: run.billing_method,
                timeout_minutes: run.job_timeout_minutes,
                video_capture: true,
                phase: JobPhase::Waiting,
                wait_reason: WaitReason::Pending,
                instance_arn: None,
                assigned_ms: None,
                stop_requested_ms: None,
                stop_grace_ms: None,
                settled_ms: None,
                driver,
                observed: None,
                artifacts: Vec::new(),
                customer_files: Vec::new(),
            };
            let job_arn = run_arn.child(ResourceKind::Job, &index(i as u32));
            let name = job.device.name.clone();
            insert(self.store.as_ref(), &job_arn, Some(&run_arn), &name, Some(JobPhase::Waiting.as_str()), &job, now)
                .await;
            jobs.push(RunningJob { arn: job_arn.to_string(), probe: format!("{run_id}-{i}") });
        }
        self.scheduler.wake();
        jobs
    }

    async fn job(&self, arn: &str) -> (Record, Job) {
        let record = self.store.get(ACCOUNT, arn).await.expect("read job").unwrap_or_else(|| panic!("no job {arn}"));
        let job = decode_job(&record).expect("decode job");
        (record, job)
    }

    /// StopJob as `api/runs/stop.rs` records it: the request's instant, once, written with
    /// optimistic concurrency (the executor writes the job's progress meanwhile), then a
    /// wake of the scheduler. Returns the request's and the commit's wall-clock instants.
    async fn stop(&self, arn: &str) -> (i128, i128) {
        let requested = wall_ns();
        let at_ms = (requested / 1_000_000) as i64;
        loop {
            let (mut record, mut job) = self.job(arn).await;
            let snapshot = job_snapshot(&job, &record, self.scheduler.prep(), at_ms);
            assert!(!snapshot.is_final && job.stop_requested_ms.is_none(), "job {arn} ended before its stop");
            // Real jobs' grace is the runner's; the one recorded only shapes simulated tests.
            job.request_stop(at_ms, STOP_GRACE_MS);
            record.body = serde_json::to_value(&job).expect("encode job");
            match self.store.update(&record).await {
                Ok(_) => break,
                Err(StoreError::Conflict) => continue,
                Err(e) => panic!("recording a stop: {e}"),
            }
        }
        let recorded = wall_ns();
        // As StopJob does on the server that runs the job.
        self.executor.request_stop(arn);
        self.scheduler.wake();
        (requested, recorded)
    }

    /// Follows a stopped job: its probe's SIGTERM instant, then GetJob until it reads
    /// COMPLETED, then until the scheduler has settled it.
    async fn follow(&self, job: &RunningJob, requested: i128, recorded: i128) -> Sample {
        let term = self.signals.join(format!("{}.term", job.probe));
        wait_for_file(&term).await;
        let received = parse_instant(&term);
        let since_stop = |at: i128| (at - recorded) as f64 / 1e6;

        let started = std::time::Instant::now();
        let mut completed = None;
        loop {
            let (record, stored) = self.job(&job.arn).await;
            let now = wall_ns();
            let snapshot = job_snapshot(&stored, &record, self.scheduler.prep(), (now / 1_000_000) as i64);
            if snapshot.status == ExecutionStatus::Completed {
                completed.get_or_insert(now);
            }
            if stored.phase == JobPhase::Settled {
                return Sample {
                    recording_ms: (recorded - requested) as f64 / 1e6,
                    sigterm_ms: since_stop(received),
                    completed_ms: since_stop(completed.unwrap_or(now)),
                    settled_ms: since_stop(now),
                    result: snapshot.result,
                };
            }
            assert!(started.elapsed() < PATIENCE, "job {} did not settle after its stop", job.arn);
            tokio::time::sleep(RECORD_POLL).await;
        }
    }
}

/// Runs `JOBS` jobs in batches that fill every instance, stopping each once its test
/// process runs. The stops of a batch are sent back to back, as a client looping StopJob
/// over a run's jobs would; each stopped job is then followed on a task of its own, so its
/// instants are seen as they happen.
async fn stop_jobs(farm: &Arc<HostFarm>) -> Vec<Sample> {
    let mut samples = Vec::with_capacity(JOBS);
    for _ in 0..JOBS / BATCH {
        let mut jobs = Vec::with_capacity(BATCH);
        for _ in 0..INSTANCES {
            jobs.extend(farm.schedule_run().await);
        }
        for job in &jobs {
            let ready = farm.signals.join(format!("{}.ready", job.probe));
            if tokio::time::timeout(PATIENCE, wait_for_file(&ready)).await.is_err() {
                let (_, stored) = farm.job(&job.arn).await;
                panic!("job {}'s test never started: {:?}", job.arn, stored.observed);
            }
        }
        let mut follows = Vec::with_capacity(jobs.len());
        for job in jobs {
            let (requested, recorded) = farm.stop(&job.arn).await;
            let farm = farm.clone();
            follows.push(tokio::spawn(async move { farm.follow(&job, requested, recorded).await }));
        }
        for follow in follows {
            samples.push(follow.await.expect("following a stopped job"));
        }
    }
    samples
}

/// The fleet file of the test support with every device on the `host` driver.
fn host_fleet() -> Fleet {
    let devices: Vec<DeviceSpec> = (0..DEVICES).map(|i| DeviceSpec::android(&format!("host-{i}"), INSTANCES)).collect();
    let toml = fleet_toml(&devices).replace("platform = \"ANDROID\"\n", "platform = \"ANDROID\"\ndriver = \"host\"\n");
    let fleet = Fleet::from_toml(&toml, REGION).expect("host fleet parses");
    assert!(fleet.devices().iter().all(|d| fleet.driver(&d.arn) == Driver::Host), "every device runs on the host");
    fleet
}

/// The test spec: the probe is the whole test phase. Its files go to `signals`, named
/// after the run and the job's number so every job of every run has its own.
fn test_spec(signals: &Path) -> String {
    format!(
        "version: 0.1\n\
         phases:\n  \
           test:\n    \
             commands:\n      \
               - 'python3 \"$DEVICEFARM_TEST_PACKAGE_PATH/stop_probe.py\" \"{}\" \"${{DEVICEFARM_RUN_ARN##*/}}-$DEVICEFARM_JOB_NUMBER\"'\n\
         artifacts:\n  \
           - $DEVICEFARM_LOG_DIR\n",
        signals.display()
    )
}

fn package_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("stop_probe.py", options).expect("zip entry");
    zip.write_all(PROBE.as_bytes()).expect("zip the probe");
    zip.finish().expect("finish zip").into_inner()
}

/// An upload as CreateUpload, the PUT and processing leave it: SUCCEEDED, its bytes at
/// its blob key.
async fn upload(
    store: &dyn Store,
    blobs: &BlobStore,
    project_arn: &Arn,
    name: &str,
    upload_type: UploadType,
    bytes: Vec<u8>,
) -> Arn {
    let arn = project_arn.child(ResourceKind::Upload, &uuid::Uuid::new_v4().to_string());
    let size = bytes.len() as u64;
    let body = tokio_util::io::ReaderStream::new(std::io::Cursor::new(bytes));
    blobs.put_stream(&engine::blob_keys::upload(&arn), body, size).await.expect("store the upload's bytes");
    let upload = Upload {
        name: name.to_owned(),
        upload_type,
        status: UploadStatus::Succeeded,
        category: UploadCategory::Private,
        content_type: Some("application/octet-stream".to_owned()),
        metadata: None,
        message: None,
        url: String::new(),
        url_expires_ms: 0,
        size_bytes: Some(size),
    };
    insert(store, &arn, Some(project_arn), name, Some(upload.status.as_str()), &upload, WallClock.now_ms()).await;
    arn
}

async fn insert<T: serde::Serialize>(
    store: &dyn Store,
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
    store.insert(&record).await.expect("insert record");
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values
}

fn report(baseline: &[f64], samples: &[Sample]) {
    let baseline = sorted(baseline.iter().copied());
    let unit = percentile(&baseline, 50.0);
    println!("\n== StopJob → SIGTERM: {JOBS} jobs on {DEVICES} host devices × {INSTANCES} instances ({BATCH} at once), SQLite ==");
    println!("{:<44} {:>9} {:>9} {:>9} {:>9} {:>9}", "(ms)", "min", "p50", "p90", "p99", "max");
    let row = |what: &str, values: &[f64]| {
        println!(
            "{what:<44} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   p50 {:>7.1}x baseline",
            values[0],
            percentile(values, 50.0),
            percentile(values, 90.0),
            percentile(values, 99.0),
            values[values.len() - 1],
            percentile(values, 50.0) / unit,
        );
    };
    row(&format!("baseline: kill(-pgid) → handler ({BASELINE_PROBES} probes)"), &baseline);
    row("stop recorded → SIGTERM received", &sorted(samples.iter().map(|s| s.sigterm_ms)));
    row("  SIGTERM → COMPLETED (teardown, artifacts)", &sorted(samples.iter().map(|s| s.completed_ms - s.sigterm_ms)));
    row("stop recorded → GetJob reads COMPLETED", &sorted(samples.iter().map(|s| s.completed_ms)));
    row("stop recorded → settled (billed, device free)", &sorted(samples.iter().map(|s| s.settled_ms)));
    row("recording the stop (read + optimistic write)", &sorted(samples.iter().map(|s| s.recording_ms)));
    let mut results: BTreeMap<String, usize> = BTreeMap::new();
    for sample in samples {
        *results.entry(format!("{:?}", sample.result)).or_default() += 1;
    }
    println!("results of the stopped jobs: {results:?}");
    println!("(COMPLETED and settled are read every {} ms, so are that coarse)", RECORD_POLL.as_millis());
}
