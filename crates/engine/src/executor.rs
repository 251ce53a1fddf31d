//! Runs jobs on real devices: when the scheduler gives a job a device whose driver is real
//! (`host`, later `adb`), the executor prepares the job's workspace, runs its test spec
//! through the [`Runner`], and records what happens into the job's `observed` state as it
//! happens, so reads follow the job live and a crash loses at most the step in progress.
//!
//! Stops and the timeout reach the runner through a watcher that looks at the job record
//! (so a StopJob on any replica is seen) and at the service clock. When the spec is done,
//! the JUnit results become the Tests Suite's tests, the output and the customer artifacts
//! go to the blob store, and the job is marked finished; the scheduler then settles it
//! like any other.

use crate::junit::{collect_results, TestCaseResult};
use crate::runner::{WorkspaceError,
    AppFile, CancelSignal, Canceller, JobEnv, Phase, PhaseOutcome, Progress, Runner, SpecReport, Workspace,
};
use crate::uploads::{parse_test_spec, InspectLimits, TestSpec};
use domain::arn::Arn;
use domain::clock::Clock;
use domain::job::observed::{ObservedCase, ObservedJob, ObservedStep, StepEnd};
use domain::job::timeout::Deadline;
use crate::adb::Adb;
use domain::device::Driver;
use domain::run::{Job, Run, JobArtifact};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::blob::BlobStore;
use store::{Record, Store, StoreError};

/// How often a running job's record is looked at for a stop request.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);
/// How often a running job's output is copied to the blob store: a crash loses at most
/// this much of it.
const OUTPUT_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Where a job's output is kept while it runs, and after it if the job never got to store
/// its artifacts.
pub fn live_output_key(job: &Arn) -> String {
    format!("artifacts/{}/{}/live-output", job.account, job.id)
}

/// Maps an upload ARN to its blob key (the API decides where uploads live).
pub type UploadBlobKey = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct Executor {
    store: Arc<dyn Store>,
    blobs: BlobStore,
    clock: Arc<dyn Clock>,
    runner: Runner,
    work_root: PathBuf,
    region: String,
    upload_blob_key: UploadBlobKey,
    /// Called when a job finishes, so the scheduler settles it at once.
    on_finished: Arc<dyn Fn() + Send + Sync>,
    /// Jobs with a live runner on this server.
    running: Mutex<BTreeSet<String>>,
    /// The output file of each job running here, for following it live.
    outputs: Mutex<std::collections::BTreeMap<String, PathBuf>>,
    /// The stop handle of each job running here: a StopJob answered by this server reaches
    /// the processes at once; one answered by another replica, through the watcher.
    cancellers: Mutex<std::collections::BTreeMap<String, Arc<Canceller>>>,
    /// The serial of each job running here on an Android device, and whether that device
    /// was unplugged under it.
    android: Mutex<std::collections::BTreeMap<String, (String, bool)>>,
    /// Leaves the work directory of a job that did not pass, for looking into.
    keep_failed_workspaces: bool,
}

#[derive(Debug, thiserror::Error)]
enum ExecError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Setup(String),
}

fn decode<T: serde::de::DeserializeOwned>(record: &Record) -> Result<T, ExecError> {
    serde_json::from_value(record.body.clone()).map_err(|e| ExecError::Setup(format!("stored {} does not decode: {e}", record.arn)))
}

impl Executor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        runner: Runner,
        work_root: PathBuf,
        region: String,
        upload_blob_key: UploadBlobKey,
        on_finished: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            store,
            blobs,
            clock,
            runner,
            work_root,
            region,
            upload_blob_key,
            on_finished,
            running: Mutex::default(),
            outputs: Mutex::default(),
            cancellers: Mutex::default(),
            android: Mutex::default(),
            keep_failed_workspaces: false,
        }
    }

    /// Keeps the work directory of every job whose result is not PASSED.
    pub fn keeping_failed_workspaces(mut self, keep: bool) -> Self {
        self.keep_failed_workspaces = keep;
        self
    }

    /// Starts running `job` (just assigned a device) in the background, once.
    pub fn start(self: &Arc<Self>, record: Record) {
        let fresh = self.running.lock().map(|mut set| set.insert(record.arn.clone())).unwrap_or(false);
        if !fresh {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let arn = record.arn.clone();
            if let Err(e) = me.execute(record).await {
                tracing::error!(job = %arn, error = %e, "running the job failed");
                let message = format!("farmhand could not run the job: {e}");
                let _ = me.finish_with_error(&arn, &message).await;
            }
            if let Ok(mut set) = me.running.lock() {
                set.remove(&arn);
            }
            if let Ok(mut cancellers) = me.cancellers.lock() {
                cancellers.remove(&arn);
            }
            if let Ok(mut outputs) = me.outputs.lock() {
                outputs.remove(&arn);
            }
            if let Ok(mut android) = me.android.lock() {
                android.remove(&arn);
            }
            (me.on_finished)();
        });
    }

    /// An Android device went away: the job running on it (if any) is ended like a stop,
    /// and the steps that were cut end ERRORED, since no test failed.
    pub fn device_lost(&self, serial: &str) {
        let jobs: Vec<String> = self
            .android
            .lock()
            .map(|mut android| {
                android
                    .iter_mut()
                    .filter(|(_, (s, _))| s == serial)
                    .map(|(job, (_, lost))| {
                        *lost = true;
                        job.clone()
                    })
                    .collect()
            })
            .unwrap_or_default();
        for job in jobs {
            tracing::warn!(%job, %serial, "the job's device was unplugged");
            self.request_stop(&job);
        }
    }

    /// Passes a stop just recorded for `job_arn` to its processes, if they run here.
    pub fn request_stop(&self, job_arn: &str) {
        if let Some(canceller) = self.cancellers.lock().ok().and_then(|c| c.get(job_arn).cloned()) {
            canceller.stop();
        }
    }

    /// The output file of a job running on this server (it grows until the job ends).
    pub fn live_output(&self, job_arn: &str) -> Option<PathBuf> {
        self.outputs.lock().ok().and_then(|o| o.get(job_arn).cloned())
    }

    /// Whether a runner for this job is alive here.
    pub fn is_running(&self, job_arn: &str) -> bool {
        self.running.lock().map(|set| set.contains(job_arn)).unwrap_or(false)
    }

    /// A real job that holds a device but has no runner (this server stopped while it ran):
    /// its processes are gone, so it ends now, ERRORED, and is billed for what ran.
    pub async fn abandon(&self, job_arn: &str) -> Result<(), StoreError> {
        if self.is_running(job_arn) {
            return Ok(());
        }
        // Its processes outlived the server that started them: end them, and drop what is
        // left of its workspace.
        if let Ok(arn) = job_arn.parse::<Arn>() {
            let job_id = arn.id.replace('/', "-");
            let workspace = self.work_root.join(&job_id);
            let marker = format!("DEVICEFARM_LOG_DIR={}", workspace.display());
            let killed = tokio::task::spawn_blocking(move || kill_processes_with_env(&marker)).await.unwrap_or(0);
            if killed > 0 {
                tracing::info!(job = %job_arn, processes = killed, "ended processes left by an interrupted job");
            }
            let _ = tokio::fs::remove_dir_all(&workspace).await;
            let _ = tokio::fs::remove_dir_all(self.work_root.join(format!("{job_id}-inputs"))).await;
        }
        self.finish_with_error(job_arn, "The job's host restarted while the job ran; its processes were ended")
            .await
            .map_err(|e| match e {
                ExecError::Store(s) => s,
                ExecError::Setup(m) => StoreError::Invalid(m),
            })
    }

    /// Applies `change` to the job's observed state, retrying when another writer (a stop
    /// request) got there first.
    async fn observe(&self, job_arn: &str, account: &str, change: impl Fn(&mut Job)) -> Result<Job, ExecError> {
        loop {
            let record = self
                .store
                .get(account, job_arn)
                .await?
                .ok_or_else(|| ExecError::Setup(format!("job {job_arn} no longer exists")))?;
            let mut job: Job = decode(&record)?;
            change(&mut job);
            let mut updated = record.clone();
            updated.body = serde_json::to_value(&job).map_err(|e| ExecError::Setup(e.to_string()))?;
            match self.store.update(&updated).await {
                Ok(_) => return Ok(job),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn finish_with_error(&self, job_arn: &str, message: &str) -> Result<(), ExecError> {
        let Some(record) = self.store.get_any(job_arn).await? else { return Ok(()) };
        let now = self.clock.now_ms();
        self.observe(job_arn, &record.account_id, |job| {
            let observed = job.observed.get_or_insert_with(ObservedJob::default);
            if observed.finished_ms.is_some() {
                return;
            }
            let never_started = observed.setup.is_none();
            let open = [&mut observed.setup, &mut observed.tests, &mut observed.teardown]
                .into_iter()
                .flatten()
                .find(|s| s.ended_ms.is_none());
            if let Some(step) = open {
                step.ended_ms = Some(now);
                step.end = Some(StepEnd::Errored);
                step.message = Some(message.to_string());
            } else if never_started {
                observed.setup = Some(ObservedStep {
                    started_ms: now,
                    ended_ms: Some(now),
                    end: Some(StepEnd::Errored),
                    message: Some(message.to_string()),
                });
            }
            observed.finished_ms = Some(now);
        })
        .await?;
        Ok(())
    }

    async fn blob_to_file(&self, key: &str, dir: &Path, name: &str) -> Result<PathBuf, ExecError> {
        if let Some(path) = self.blobs.local_path(key) {
            return Ok(path);
        }
        let path = dir.join(name);
        self.blobs.copy_to_file(key, &path).await.map_err(|e| ExecError::Setup(format!("reading {key}: {e}")))?;
        Ok(path)
    }

    async fn upload_file(&self, arn: &str, staging: &Path, name: &str) -> Result<(PathBuf, String), ExecError> {
        let key = (self.upload_blob_key)(arn).ok_or_else(|| ExecError::Setup(format!("no stored file for {arn}")))?;
        let file_name = self
            .store
            .get_any(arn)
            .await?
            .map(|r| r.name)
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .unwrap_or_else(|| name.to_string());
        Ok((self.blob_to_file(&key, staging, name).await?, file_name))
    }

    async fn execute(self: &Arc<Self>, record: Record) -> Result<(), ExecError> {
        let account = record.account_id.clone();
        let job: Job = decode(&record)?;
        let run_arn = record.parent_arn.clone().ok_or_else(|| ExecError::Setup("job without a run".into()))?;
        let run_record = self.store.get(&account, &run_arn).await?.ok_or_else(|| ExecError::Setup("the run is gone".into()))?;
        let run: Run = decode(&run_record)?;
        let job_arn: Arn = record.arn.parse().map_err(|_| ExecError::Setup("bad job ARN".into()))?;
        let job_id = job_arn.id.replace('/', "-");

        let staging = self.work_root.join(format!("{job_id}-inputs"));
        tokio::fs::create_dir_all(&staging).await.map_err(|e| ExecError::Setup(format!("creating {}: {e}", staging.display())))?;
        let package = match &run.test_package_arn {
            Some(arn) => Some(self.upload_file(arn, &staging, "package.zip").await?.0),
            None => None,
        };
        let app = match &run.app_arn {
            Some(arn) => Some(self.upload_file(arn, &staging, "app").await?),
            None => None,
        };
        let spec = match &run.test_spec_arn {
            Some(arn) => {
                let (path, _) = self.upload_file(arn, &staging, "spec.yml").await?;
                let text = tokio::fs::read_to_string(&path).await.map_err(|e| ExecError::Setup(e.to_string()))?;
                parse_test_spec(&text).map_err(|e| ExecError::Setup(e.to_string()))?
            }
            None => default_spec(&run.test_type),
        };
        let work_root = self.work_root.clone();
        let package_for_ws = package.clone();
        let app_for_ws = app.clone();
        let job_id_for_ws = job_id.clone();
        let run_as = self.runner.config().run_as;
        let workspace = tokio::task::spawn_blocking(move || {
            let workspace = Workspace::create(
                &work_root,
                &job_id_for_ws,
                package_for_ws.as_deref(),
                app_for_ws.as_ref().map(|(source, file_name)| AppFile { source: source.as_path(), file_name: file_name.as_str() }),
                &InspectLimits::default(),
            )?;
            if let Some(run_as) = run_as {
                if let Err(e) = run_as.hand_over(&workspace) {
                    let dir = workspace.dir().to_path_buf();
                    let _ = workspace.remove();
                    return Err(WorkspaceError::Io { path: dir, source: e });
                }
            }
            Ok(workspace)
        })
        .await
        .map_err(|e| ExecError::Setup(e.to_string()))?
        .map_err(|e| ExecError::Setup(format!("preparing the job's workspace: {e}")))?;
        let _ = tokio::fs::remove_dir_all(&staging).await;

        let mut env = self.job_env(&job, &job_arn, &run, &run_record, &workspace)?;
        let device = match job.driver {
            Driver::Adb => {
                let android = self.prepare_android(&job, &workspace, &mut env).await?;
                if let Ok(mut map) = self.android.lock() {
                    map.insert(record.arn.clone(), (android.serial.clone(), false));
                }
                Some(android)
            }
            _ => None,
        };
        let (canceller, signal) = Canceller::new();
        let canceller = Arc::new(canceller);
        if let Ok(mut cancellers) = self.cancellers.lock() {
            cancellers.insert(record.arn.clone(), canceller.clone());
        }
        let watcher = self.clone().watch(record.arn.clone(), account.clone(), job.timeout_minutes, canceller);
        let watcher = tokio::spawn(watcher);
        let output = workspace.combined_log();
        if let Ok(mut outputs) = self.outputs.lock() {
            outputs.insert(record.arn.clone(), output.clone());
        }
        let syncer = tokio::spawn(self.clone().sync_output(output.clone(), live_output_key(&job_arn)));
        let report = self.run_reporting(&record.arn, &account, &workspace, &spec, &env, signal).await;
        watcher.abort();
        syncer.abort();
        self.copy_output(&output, &live_output_key(&job_arn)).await;

        let unplugged = self.android.lock().ok().and_then(|mut m| m.remove(&record.arn)).is_some_and(|(_, lost)| lost);
        if unplugged {
            let message = format!("The device {} was unplugged while the job ran", device.as_ref().map(|a| a.serial.as_str()).unwrap_or("?"));
            self.observe(&record.arn, &account, |job| {
                let observed = job.observed.get_or_insert_with(ObservedJob::default);
                for step in [&mut observed.setup, &mut observed.tests].into_iter().flatten() {
                    if step.end == Some(StepEnd::Stopped) || step.end.is_none() {
                        step.end = Some(StepEnd::Errored);
                        step.message = Some(message.clone());
                    }
                }
            })
            .await?;
        }
        let device_log = match (&device, unplugged) {
            (Some(android), false) => self.release_android(&job, android, &workspace).await,
            _ => None,
        };
        let log_dir = workspace.log_dir().to_path_buf();
        let cases = tokio::task::spawn_blocking(move || collect_results(&log_dir)).await.unwrap_or_default();
        let artifacts = self.store_artifacts(&job_arn, &workspace, &report, device_log).await;
        let now = self.clock.now_ms();
        let finished = self
            .observe(&record.arn, &account, |job| {
                let observed = job.observed.get_or_insert_with(ObservedJob::default);
                observed.cases = cases.iter().map(observed_case).collect();
                observed.finished_ms = Some(now);
                job.artifacts = artifacts.clone();
            })
            .await?;
        if let Ok(mut outputs) = self.outputs.lock() {
            outputs.remove(&record.arn);
        }
        let passed = crate::job_view::job_snapshot(&finished, &record, &Default::default(), now).result
            == domain::job::status::ExecutionResult::Passed;
        if self.keep_failed_workspaces && !passed {
            tracing::info!(job = %record.arn, dir = %workspace.root().display(), "kept the failed job's work directory");
        } else {
            let _ = tokio::task::spawn_blocking(move || workspace.remove()).await;
        }
        Ok(())
    }

    /// Copies the job's output to the blob store every [`OUTPUT_SYNC_INTERVAL`] while it
    /// runs (a whole copy each time: outputs are logs, and object stores have no append).
    async fn sync_output(self: Arc<Self>, output: PathBuf, key: String) {
        let mut copied = 0;
        loop {
            tokio::time::sleep(OUTPUT_SYNC_INTERVAL).await;
            let size = tokio::fs::metadata(&output).await.map(|m| m.len()).unwrap_or(0);
            if size != copied {
                self.copy_output(&output, &key).await;
                copied = size;
            }
        }
    }

    async fn copy_output(&self, output: &Path, key: &str) {
        let Ok(file) = tokio::fs::File::open(output).await else { return };
        if let Err(e) = self.blobs.put_stream(key, tokio_util::io::ReaderStream::new(file), u64::MAX).await {
            tracing::warn!(key, error = %e, "copying a job's output failed");
        }
    }

    /// Runs the spec, turning the runner's progress into the job's observed steps.
    async fn run_reporting(
        &self,
        job_arn: &str,
        account: &str,
        workspace: &Workspace,
        spec: &TestSpec,
        env: &JobEnv,
        signal: CancelSignal,
    ) -> SpecReport {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let run = self.runner.run_spec_reporting(workspace, spec, env, signal, Some(&tx));
        tokio::pin!(run);
        let report = loop {
            tokio::select! {
                report = &mut run => break report,
                Some(event) = rx.recv() => self.record_progress(job_arn, account, event).await,
            }
        };
        while let Ok(event) = rx.try_recv() {
            self.record_progress(job_arn, account, event).await;
        }
        report
    }

    async fn record_progress(&self, job_arn: &str, account: &str, event: Progress) {
        let teardown_limit = self.runner.config().teardown_limit;
        let result = self
            .observe(job_arn, account, |job| {
                let observed = job.observed.get_or_insert_with(ObservedJob::default);
                apply_progress(observed, &event, teardown_limit);
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(job = %job_arn, error = %e, "recording the job's progress failed");
        }
    }

    /// Follows the job's record for a stop request, and the service clock for its
    /// deadline (timeout minutes from the start of setup).
    async fn watch(self: Arc<Self>, job_arn: String, account: String, timeout_minutes: i32, canceller: Arc<Canceller>) {
        loop {
            tokio::time::sleep(WATCH_INTERVAL).await;
            let Ok(Some(record)) = self.store.get(&account, &job_arn).await else { continue };
            let Ok(job) = decode::<Job>(&record) else { continue };
            if job.stop_requested_ms.is_some() {
                canceller.stop();
            }
            let setup_start = job.observed.as_ref().and_then(|o| o.setup.as_ref()).map(|s| s.started_ms);
            if let Some(start) = setup_start {
                if self.clock.now_ms() >= Deadline::from_setup_start(start, timeout_minutes).at_ms {
                    canceller.time_out();
                }
            }
        }
    }

    /// The variables the notes list for test-spec commands, plus the run's own.
    fn job_env(&self, job: &Job, job_arn: &Arn, run: &Run, run_record: &Record, ws: &Workspace) -> Result<JobEnv, ExecError> {
        let mut env = JobEnv::new();
        env.set_workspace_paths(ws);
        let udid = job
            .instance_arn
            .as_ref()
            .and_then(|arn| job.device.instance(arn))
            .map(|i| i.udid.clone())
            .unwrap_or_default();
        let project = job_arn.project().map(|p| p.to_string()).unwrap_or_default();
        let pairs = [
            ("DEVICEFARM_DEVICE_NAME", job.device.name.clone()),
            ("DEVICEFARM_DEVICE_UDID", udid),
            ("DEVICEFARM_DEVICE_PLATFORM_NAME", job.device.platform.display_name().to_string()),
            ("DEVICEFARM_DEVICE_OS_VERSION", job.device.os.as_str().to_string()),
            ("DEVICEFARM_PROJECT_ARN", project),
            ("DEVICEFARM_RUN_ARN", run_record.arn.clone()),
            ("DEVICEFARM_DEVICE_ARN", job.device.arn.clone()),
            ("DEVICEFARM_TOTAL_JOBS", run.total_jobs.to_string()),
            ("DEVICEFARM_JOB_NUMBER", job.index.to_string()),
            ("AWS_REGION", self.region.clone()),
        ];
        for (name, value) in pairs {
            env.set(name, &value).map_err(|e| ExecError::Setup(e.to_string()))?;
        }
        let user: Vec<(String, String)> = run
            .echo
            .get("environmentVariables")
            .and_then(|v| v.as_array())
            .map(|vars| {
                vars.iter()
                    .filter_map(|v| Some((v.get("name")?.as_str()?.to_string(), v.get("value")?.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        env.add_user_variables(user.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            .map_err(|e| ExecError::Setup(e.to_string()))?;
        Ok(env)
    }

    /// Puts the job's output and artifacts in the blob store and lists them as the
    /// model's artifacts, hung off the Setup Test like a simulated job's logs.
    async fn store_artifacts(
        &self,
        job_arn: &Arn,
        ws: &Workspace,
        report: &SpecReport,
        device_log: Option<PathBuf>,
    ) -> Vec<JobArtifact> {
        let mut files: Vec<(PathBuf, &str, &str, &str, &str)> = vec![(
            ws.combined_log().to_path_buf(),
            "Test spec output",
            "LOG",
            "TESTSPEC_OUTPUT",
            "txt",
        )];
        if let Some(log) = device_log {
            files.push((log, "Device Log", "LOG", "DEVICE_LOG", "txt"));
        }
        if let Ok(zips) = &report.artifacts {
            if let Some(zip) = &zips.customer_artifacts {
                files.push((zip.clone(), "Customer Artifacts", "FILE", "CUSTOMER_ARTIFACT", "zip"));
            }
            if let Some(zip) = &zips.customer_artifacts_log {
                files.push((zip.clone(), "Customer Artifacts Log", "LOG", "CUSTOMER_ARTIFACT_LOG", "zip"));
            }
        }
        let shots = screenshots(ws.screenshot_dir());
        let mut stored = Vec::new();
        let mut index = 0u32;
        for (path, name, category, artifact_type, extension) in files
            .into_iter()
            .chain(shots.iter().map(|p| (p.clone(), "", "SCREENSHOT", "SCREENSHOT", "png")))
        {
            let name = if name.is_empty() {
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "Screenshot".into())
            } else {
                name.to_string()
            };
            let key = format!("artifacts/{}/{}/{index:05}", job_arn.account, job_arn.id);
            let Ok(file) = tokio::fs::File::open(&path).await else { continue };
            let stream = tokio_util::io::ReaderStream::new(file);
            if let Err(e) = self.blobs.put_stream(&key, stream, u64::MAX).await {
                tracing::warn!(job = %job_arn, error = %e, "storing an artifact failed");
                continue;
            }
            stored.push(JobArtifact {
                suite: 0,
                test: 0,
                index,
                name,
                category: category.to_string(),
                artifact_type: artifact_type.to_string(),
                extension: extension.to_string(),
                blob_key: Some(key),
            });
            index += 1;
        }
        stored
    }
}

/// Kills every process whose environment holds `marker` (a variable only that job's
/// processes have). The environment is inherited and read from /proc, so this finds the
/// job's processes whatever process group or directory they moved to. Returns how many.
fn kill_processes_with_env(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let own = std::process::id();
    let mut killed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if pid as u32 == own {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        let matches = environ.split(|b| *b == 0).any(|var| var.starts_with(marker.as_bytes()));
        if let (true, Some(pid)) = (matches, rustix::process::Pid::from_raw(pid)) {
            if rustix::process::kill_process(pid, rustix::process::Signal::KILL).is_ok() {
                killed += 1;
            }
        }
    }
    killed
}

/// An Android device a job runs on, and what was installed on it before the job.
struct AndroidSession {
    adb: Adb,
    serial: String,
    packages_before: BTreeSet<String>,
}

impl Executor {
    /// Before the spec: the device's packages as they are (for the instance profile's
    /// cleanup), a clear logcat, and the app installed (notes: the app is on the device
    /// before the tests run). ANDROID_SERIAL points the spec's own adb at the device.
    async fn prepare_android(&self, job: &Job, ws: &Workspace, env: &mut JobEnv) -> Result<AndroidSession, ExecError> {
        let adb = Adb::from_path_env().map_err(|e| ExecError::Setup(format!("adb: {e}")))?;
        let serial = job
            .instance_arn
            .as_ref()
            .and_then(|arn| job.device.instance(arn))
            .map(|i| i.udid.clone())
            .ok_or_else(|| ExecError::Setup("the job's device instance has no serial".into()))?;
        let packages_before = adb
            .list_packages(&serial)
            .await
            .map_err(|e| ExecError::Setup(format!("reading the packages of {serial}: {e}")))?;
        if let Err(e) = adb.clear_logcat(&serial).await {
            tracing::warn!(%serial, error = %e, "clearing logcat failed");
        }
        if let Some(app) = ws.app_path() {
            adb.install(&serial, app)
                .await
                .map_err(|e| ExecError::Setup(format!("installing the app on {serial} failed: {e}")))?;
        }
        env.set("ANDROID_SERIAL", &serial).map_err(|e| ExecError::Setup(e.to_string()))?;
        Ok(AndroidSession { adb, serial, packages_before })
    }

    /// After the spec: the device log, then the instance profile's cleanup and reboot.
    async fn release_android(&self, job: &Job, android: &AndroidSession, ws: &Workspace) -> Option<PathBuf> {
        let log = match android.adb.logcat_dump(&android.serial).await {
            Ok(bytes) => {
                let path = ws.artifacts_dir().join("logcat.txt");
                tokio::fs::write(&path, bytes).await.ok().map(|_| path)
            }
            Err(e) => {
                tracing::warn!(serial = %android.serial, error = %e, "reading logcat failed");
                None
            }
        };
        let profile = job.instance_arn.as_ref().and_then(|arn| job.device.instance(arn)).and_then(|i| i.instance_profile.clone());
        if let Some(profile) = profile {
            for issued in android.adb.apply_instance_profile(&android.serial, &android.packages_before, &profile).await {
                match &issued.error {
                    Some(error) => tracing::warn!(command = %issued.command, %error, "instance profile command failed"),
                    None => tracing::info!(command = %issued.command, "instance profile applied"),
                }
            }
        }
        log
    }
}

fn screenshots(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    found.sort();
    found.truncate(100);
    found
}

fn observed_case(case: &TestCaseResult) -> ObservedCase {
    ObservedCase {
        name: case.name.clone(),
        duration_ms: i64::try_from(case.duration_ms).unwrap_or(i64::MAX),
        result: case.result,
        message: case.message.clone(),
    }
}

fn step_end(phase: Phase, outcome: &PhaseOutcome, teardown_limit: Duration) -> (StepEnd, Option<String>) {
    match outcome {
        PhaseOutcome::Succeeded => (StepEnd::Succeeded, None),
        PhaseOutcome::Failed { exit_code, signal, failed_command } => {
            let how = match (exit_code, signal) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                (None, None) => "failed".to_string(),
            };
            let message = match failed_command {
                Some(cmd) => format!("Command failed ({how}): {cmd}"),
                None => format!("The phase failed ({how})"),
            };
            (StepEnd::Failed, Some(message))
        }
        PhaseOutcome::Stopped => (StepEnd::Stopped, None),
        // Teardown is not under the job's deadline but under a limit of its own: the job
        // did not time out, its teardown hung.
        PhaseOutcome::TimedOut if phase == Phase::PostTest => {
            (StepEnd::Errored, Some(format!("Teardown did not finish within {}; its processes were ended", plain_duration(teardown_limit))))
        }
        PhaseOutcome::TimedOut => (StepEnd::TimedOut, None),
        PhaseOutcome::NotStarted { message } => (StepEnd::Failed, Some(message.clone())),
    }
}

/// "30 minutes", "1 minute", "90 seconds": how long a limit was, for a message.
fn plain_duration(limit: Duration) -> String {
    let secs = limit.as_secs();
    match (secs % 60, secs / 60) {
        (0, 1) => "1 minute".to_string(),
        (0, minutes) if minutes > 0 => format!("{minutes} minutes"),
        _ if limit == Duration::from_secs(1) => "1 second".to_string(),
        _ => format!("{} seconds", limit.as_secs_f64()),
    }
}

/// The notes' mapping of spec phases to suites: install + pre_test are the setup, test the
/// tests, post_test the teardown.
fn apply_progress(observed: &mut ObservedJob, event: &Progress, teardown_limit: Duration) {
    match event {
        Progress::PhaseStarted { phase, at_ms } => {
            let step = ObservedStep { started_ms: *at_ms, ended_ms: None, end: None, message: None };
            match phase {
                Phase::Install => observed.setup = Some(step),
                Phase::PreTest => {
                    if observed.setup.is_none() {
                        observed.setup = Some(step);
                    }
                }
                Phase::Test => observed.tests = Some(step),
                Phase::PostTest => observed.teardown = Some(step),
            }
        }
        Progress::PhaseEnded { phase, outcome, at_ms } => {
            let (end, message) = step_end(*phase, outcome, teardown_limit);
            let slot = match phase {
                // Setup ends with pre_test, or with an install that did not succeed.
                Phase::Install if end == StepEnd::Succeeded => return,
                Phase::Install | Phase::PreTest => &mut observed.setup,
                Phase::Test => &mut observed.tests,
                Phase::PostTest => &mut observed.teardown,
            };
            if let Some(step) = slot {
                step.ended_ms = Some(*at_ms);
                step.end = Some(end);
                step.message = message;
            }
        }
    }
}

/// The spec of a run that named none. Python tests are common enough to have one; other
/// types fail with a message saying what to upload.
pub fn default_spec(test_type: &str) -> TestSpec {
    let mut spec = TestSpec::default();
    match test_type {
        "APPIUM_PYTHON" | "APPIUM_WEB_PYTHON" => {
            spec.phases.install = vec![
                "if [ -f \"$DEVICEFARM_TEST_PACKAGE_PATH/requirements.txt\" ]; then python3 -m pip install --quiet -r \"$DEVICEFARM_TEST_PACKAGE_PATH/requirements.txt\"; fi".into(),
            ];
            spec.phases.test = vec![
                "cd \"$DEVICEFARM_TEST_PACKAGE_PATH\" && python3 -m pytest --junitxml=\"$DEVICEFARM_LOG_DIR/junit.xml\"".into(),
            ];
        }
        other => {
            spec.phases.test = vec![format!(
                "echo 'farmhand has no default test spec for {other} runs: schedule the run with a testSpecArn' >&2; exit 1"
            )];
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_spans_install_and_pre_test() {
        let mut observed = ObservedJob::default();
        apply_progress(&mut observed, &Progress::PhaseStarted { phase: Phase::Install, at_ms: 10 }, Duration::from_secs(60));
        apply_progress(&mut observed, &Progress::PhaseEnded { phase: Phase::Install, outcome: PhaseOutcome::Succeeded, at_ms: 20 }, Duration::from_secs(60));
        assert_eq!(observed.setup.as_ref().and_then(|s| s.ended_ms), None, "setup goes on with pre_test");
        apply_progress(&mut observed, &Progress::PhaseStarted { phase: Phase::PreTest, at_ms: 20 }, Duration::from_secs(60));
        apply_progress(&mut observed, &Progress::PhaseEnded { phase: Phase::PreTest, outcome: PhaseOutcome::Succeeded, at_ms: 30 }, Duration::from_secs(60));
        let setup = observed.setup.clone().expect("setup");
        assert_eq!((setup.started_ms, setup.ended_ms, setup.end), (10, Some(30), Some(StepEnd::Succeeded)));
    }

    #[test]
    fn a_teardown_past_its_limit_errors_with_its_own_message_not_the_jobs_timeout() {
        let mut observed = ObservedJob::default();
        let limit = Duration::from_secs(30 * 60);
        apply_progress(&mut observed, &Progress::PhaseStarted { phase: Phase::PostTest, at_ms: 10 }, limit);
        apply_progress(&mut observed, &Progress::PhaseEnded { phase: Phase::PostTest, outcome: PhaseOutcome::TimedOut, at_ms: 20 }, limit);
        let teardown = observed.teardown.expect("teardown");
        assert_eq!(teardown.end, Some(StepEnd::Errored));
        assert_eq!(teardown.message.as_deref(), Some("Teardown did not finish within 30 minutes; its processes were ended"));
        assert_eq!(plain_duration(Duration::from_millis(1500)), "1.5 seconds");
        assert_eq!(plain_duration(Duration::from_secs(60)), "1 minute");
    }

    #[test]
    fn a_failing_install_ends_the_setup_with_the_command() {
        let mut observed = ObservedJob::default();
        apply_progress(&mut observed, &Progress::PhaseStarted { phase: Phase::Install, at_ms: 10 }, Duration::from_secs(60));
        let failed = PhaseOutcome::Failed { exit_code: Some(3), signal: None, failed_command: Some("make deps".into()) };
        apply_progress(&mut observed, &Progress::PhaseEnded { phase: Phase::Install, outcome: failed, at_ms: 15 }, Duration::from_secs(60));
        let setup = observed.setup.expect("setup");
        assert_eq!(setup.end, Some(StepEnd::Failed));
        assert_eq!(setup.message.as_deref(), Some("Command failed (exit status 3): make deps"));
    }

    #[test]
    fn unknown_types_get_a_spec_that_says_what_to_upload() {
        let spec = default_spec("XCTEST_UI");
        assert!(spec.phases.test[0].contains("testSpecArn"));
        assert!(default_spec("APPIUM_PYTHON").phases.test[0].contains("pytest"));
    }
}
