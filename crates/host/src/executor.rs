//! Runs jobs on real devices (drivers `host` and `adb`): given a job, the executor
//! prepares its workspace, runs its test spec through the [`Runner`], and reports what
//! happens as it happens, so reads follow the job live and a crash loses at most the step
//! in progress.
//!
//! It reaches the control plane only through a [`JobLink`]: it learns what to run, fetches
//! the uploads, reports each step, streams the output and stores the artifacts through
//! it. The same executor therefore runs inside the server and inside `farmhand agent` on
//! another machine. Stops and the deadline come as orders: pushed (`request_stop`,
//! `request_timeout`) and also read from the link every [`WATCH_INTERVAL`].

use crate::adb::network::ShapedDevice;
use crate::adb::{Adb, Recording};
use crate::agent::{Assignment, JobLink, LinkError};
use crate::default_specs::{default_spec, DefaultSpecInput};
use crate::junit::TestCaseResult;
use crate::runner::netns::{self, JobNet};
use crate::runner::{
    AppFile, CancelSignal, Canceller, JobEnv, Phase, PhaseOutcome, Progress, Runner, SpecReport, Workspace,
    WorkspaceError,
};
use crate::samples::host::Recorder;
use crate::uploads::{parse_test_spec, InspectLimits, TestSpec};
use domain::arn::Arn;
use domain::device::Driver;
use domain::job::observed::{ObservedCase, StepEnd};
use domain::job::report::{JobReport, Step};
use domain::job::status::ExecutionResult;
use domain::run::{Job, JobArtifact};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a running job's orders are read from the link (pushed orders come at once).
const WATCH_INTERVAL: Duration = Duration::from_millis(100);
/// How often a running job's output is copied to the control plane: a crash loses at most
/// this much of it.
const OUTPUT_SYNC_INTERVAL: Duration = Duration::from_secs(1);

pub struct Executor {
    link: Arc<dyn JobLink>,
    runner: Runner,
    work_root: PathBuf,
    /// Called when a job finishes, so the scheduler settles it at once.
    on_finished: Arc<dyn Fn() + Send + Sync>,
    /// Jobs with a live runner here.
    running: Mutex<BTreeSet<String>>,
    /// The output file of each job running here, for following it live.
    outputs: Mutex<std::collections::BTreeMap<String, PathBuf>>,
    /// The stop handle of each job running here, for orders pushed to this host.
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
    Link(#[from] LinkError),
    #[error("{0}")]
    Setup(String),
}

impl Executor {
    pub fn new(
        link: Arc<dyn JobLink>,
        runner: Runner,
        work_root: PathBuf,
        on_finished: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            link,
            runner,
            work_root,
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

    /// Starts running the job (just given a device) in the background, once.
    pub fn start(self: &Arc<Self>, job_arn: String) {
        let fresh = self.running.lock().map(|mut set| set.insert(job_arn.clone())).unwrap_or(false);
        if !fresh {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.execute(&job_arn).await {
                tracing::error!(job = %job_arn, error = %e, "running the job failed");
                let message = format!("farmhand could not run the job: {e}");
                if let Err(e) = me.link.report(&job_arn, JobReport::Failed { message }).await {
                    tracing::error!(job = %job_arn, error = %e, "reporting the job's failure failed");
                }
            }
            if let Ok(mut cancellers) = me.cancellers.lock() {
                cancellers.remove(&job_arn);
            }
            if let Ok(mut outputs) = me.outputs.lock() {
                outputs.remove(&job_arn);
            }
            if let Ok(mut android) = me.android.lock() {
                android.remove(&job_arn);
            }
            if let Ok(mut set) = me.running.lock() {
                set.remove(&job_arn);
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

    fn canceller(&self, job_arn: &str) -> Option<Arc<Canceller>> {
        self.cancellers.lock().ok().and_then(|c| c.get(job_arn).cloned())
    }

    /// Passes a stop on to the job's processes, if they run here.
    pub fn request_stop(&self, job_arn: &str) {
        if let Some(canceller) = self.canceller(job_arn) {
            canceller.stop();
        }
    }

    /// The job's deadline passed: its processes are ended as for a stop, and it ERRORS.
    pub fn request_timeout(&self, job_arn: &str) {
        if let Some(canceller) = self.canceller(job_arn) {
            canceller.time_out();
        }
    }

    /// The output file of a job running here (it grows until the job ends).
    pub fn live_output(&self, job_arn: &str) -> Option<PathBuf> {
        self.outputs.lock().ok().and_then(|o| o.get(job_arn).cloned())
    }

    /// Whether a runner for this job is alive here.
    pub fn is_running(&self, job_arn: &str) -> bool {
        self.running.lock().map(|set| set.contains(job_arn)).unwrap_or(false)
    }

    /// The jobs running here.
    pub fn running_jobs(&self) -> Vec<String> {
        self.running.lock().map(|set| set.iter().cloned().collect()).unwrap_or_default()
    }

    /// Ends whatever is left of a job whose runner is gone (this host restarted while it
    /// ran): its processes, found by their environment, and its directories.
    pub async fn clean_up_after(&self, job_arn: &str) {
        if self.is_running(job_arn) {
            return;
        }
        let Ok(arn) = job_arn.parse::<Arn>() else { return };
        self.clean_up_dir(&arn.id.replace('/', "-")).await;
    }

    async fn clean_up_dir(&self, job_id: &str) {
        let workspace = self.work_root.join(job_id);
        let marker = format!("DEVICEFARM_LOG_DIR={}", workspace.display());
        let killed = tokio::task::spawn_blocking(move || kill_processes_with_env(&marker)).await.unwrap_or(0);
        if killed > 0 {
            tracing::info!(job = %job_id, processes = killed, "ended processes left by an interrupted job");
        }
        let _ = tokio::fs::remove_dir_all(&workspace).await;
        let _ = tokio::fs::remove_dir_all(self.work_root.join(format!("{job_id}-inputs"))).await;
    }

    /// At start-up, before any job runs here: ends the processes and removes the
    /// directories of jobs a previous run of this host left behind. Kept failed
    /// workspaces stay (their processes are still ended).
    pub async fn sweep(&self) {
        self.sweep_networks().await;
        let Ok(mut entries) = tokio::fs::read_dir(&self.work_root).await else { return };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
            if self.keep_failed_workspaces && !name.ends_with("-inputs") {
                let marker = format!("DEVICEFARM_LOG_DIR={}", entry.path().display());
                let _ = tokio::task::spawn_blocking(move || kill_processes_with_env(&marker)).await;
                continue;
            }
            self.clean_up_dir(&name).await;
        }
    }

    /// Says how network profiles are applied on this host (or why they cannot be), and
    /// removes the job networks a crashed farmhand left.
    async fn sweep_networks(&self) {
        let support = netns::Support::probe();
        match &support {
            netns::Support::Available => {
                tracing::info!("{}", support.describe());
                let removed = tokio::task::spawn_blocking(netns::sweep).await.unwrap_or(0);
                if removed > 0 {
                    tracing::info!(networks = removed, "removed job networks left by an interrupted run");
                }
            }
            netns::Support::Unavailable(_) => tracing::warn!("{}", support.describe()),
        }
    }

    /// A job that holds a device but has no runner here (this host stopped while it ran):
    /// its processes are ended and it ends ERRORED, billed for what ran.
    pub async fn abandon(&self, job_arn: &str) -> Result<(), LinkError> {
        if self.is_running(job_arn) {
            return Ok(());
        }
        self.clean_up_after(job_arn).await;
        let message = "The job's host restarted while the job ran; its processes were ended".to_string();
        self.link.report(job_arn, JobReport::Failed { message }).await
    }

    /// Copies the upload to `dir/name`.
    async fn input(&self, job_arn: &str, upload_arn: &str, dir: &Path, name: &str) -> Result<PathBuf, ExecError> {
        let path = dir.join(name);
        self.link.fetch_input(job_arn, upload_arn, &path).await?;
        Ok(path)
    }

    async fn execute(self: &Arc<Self>, job_arn_text: &str) -> Result<(), ExecError> {
        let assignment = self.link.assignment(job_arn_text).await?;
        if assignment.job.driver == Driver::Scripted {
            return self.play(&assignment).await;
        }
        let job = &assignment.job;
        let job_arn: Arn = job_arn_text.parse().map_err(|_| ExecError::Setup("bad job ARN".into()))?;
        let job_id = job_arn.id.replace('/', "-");

        let staging = self.work_root.join(format!("{job_id}-inputs"));
        tokio::fs::create_dir_all(&staging)
            .await
            .map_err(|e| ExecError::Setup(format!("creating {}: {e}", staging.display())))?;
        let package = match &assignment.package {
            Some(input) => {
                Some((self.input(job_arn_text, &input.arn, &staging, "package").await?, input.file_name.clone()))
            }
            None => None,
        };
        let app = match &assignment.app {
            Some(input) => {
                Some((self.input(job_arn_text, &input.arn, &staging, "app").await?, input.file_name.clone()))
            }
            None => None,
        };
        let explicit_spec = match &assignment.spec {
            Some(text) => Some(parse_test_spec(text).map_err(|e| ExecError::Setup(e.to_string()))?),
            None => None,
        };
        let network = own_network(&assignment).await?;
        let workspace = self.workspace(&job_id, package.clone(), app.clone()).await?;
        let _ = tokio::fs::remove_dir_all(&staging).await;
        let spec = match explicit_spec {
            Some(spec) => spec,
            None => default_spec(&DefaultSpecInput::for_assignment(&assignment, &workspace)),
        };

        let mut env = self.job_env(&assignment, &job_arn, &workspace)?;
        if let Some(network) = &network {
            env.set_network_namespace(network.namespace());
        }
        let device = match job.driver {
            Driver::Adb => {
                let android = self.prepare_android(job, &workspace, &mut env).await?;
                if let Ok(mut map) = self.android.lock() {
                    map.insert(job_arn_text.to_string(), (android.serial.clone(), false));
                }
                Some(android)
            }
            _ => None,
        };
        let recording =
            device.as_ref().filter(|_| job.video_capture).map(|android| android.adb.start_recording(&android.serial));
        let shaped = match &device {
            Some(android) => shape_android(android, &assignment).await?,
            None => None,
        };
        let (canceller, signal) = Canceller::new();
        let canceller = Arc::new(canceller);
        if let Ok(mut cancellers) = self.cancellers.lock() {
            cancellers.insert(job_arn_text.to_string(), canceller.clone());
        }
        let watcher = tokio::spawn(self.clone().watch(job_arn_text.to_string(), canceller));
        let output = workspace.combined_log();
        if let Ok(mut outputs) = self.outputs.lock() {
            outputs.insert(job_arn_text.to_string(), output.clone());
        }
        let syncer = tokio::spawn(self.clone().sync_output(job_arn_text.to_string(), output.clone()));
        // An Android job's samples are its app's on the device, not the host-side driver's.
        let app = device.as_ref().zip(assignment.app_package.as_deref());
        let report = self.run_reporting(job_arn_text, &workspace, &spec, &env, signal, app).await;
        watcher.abort();
        syncer.abort();
        // The spec's processes are gone: nothing uses the job's network any more.
        if let Some(network) = network {
            network.remove().await;
        }
        self.copy_output(job_arn_text, &output).await;

        let unplugged = self.android.lock().ok().and_then(|mut m| m.remove(job_arn_text)).is_some_and(|(_, lost)| lost);
        if unplugged {
            let message = format!(
                "The device {} was unplugged while the job ran",
                device.as_ref().map(|a| a.serial.as_str()).unwrap_or("?")
            );
            self.link.report(job_arn_text, JobReport::DeviceLost { message }).await?;
        }
        let video = match (recording, &device, unplugged) {
            (Some(recording), Some(android), false) => self.screen_video(recording, android, &workspace).await,
            _ => None,
        };
        if let (Some(android), Some(shaped), false) = (&device, &shaped, unplugged) {
            android.adb.unshape_network(shaped).await;
        }
        let device_log = match (&device, unplugged) {
            (Some(android), false) => self.release_android(job, android, &workspace).await,
            _ => None,
        };
        let log_dir = workspace.log_dir().to_path_buf();
        let logcat = device_log.clone();
        let cases = tokio::task::spawn_blocking(move || {
            crate::test_reports::collect_reported_cases(&log_dir, logcat.as_deref())
        })
        .await
        .unwrap_or_default();
        let artifacts = self.store_artifacts(job_arn_text, &workspace, &report, device_log, video).await;
        let passed = !unplugged && spec_passed(&report, &cases);
        let cases = cases.iter().map(observed_case).collect();
        self.link.report(job_arn_text, JobReport::Finished { cases, artifacts }).await?;
        if let Ok(mut outputs) = self.outputs.lock() {
            outputs.remove(job_arn_text);
        }
        if self.keep_failed_workspaces && !passed {
            tracing::info!(job = %job_arn_text, dir = %workspace.root().display(), "kept the failed job's work directory");
        } else {
            let _ = tokio::task::spawn_blocking(move || workspace.remove()).await;
        }
        Ok(())
    }

    /// A scripted device's job: its scenario played in real time, obeying the same orders.
    async fn play(self: &Arc<Self>, assignment: &Assignment) -> Result<(), ExecError> {
        let job_arn = assignment.job_arn.clone();
        let (canceller, signal) = Canceller::new();
        let canceller = Arc::new(canceller);
        if let Ok(mut cancellers) = self.cancellers.lock() {
            cancellers.insert(job_arn.clone(), canceller.clone());
        }
        let watcher = tokio::spawn(self.clone().watch(job_arn.clone(), canceller));
        let played = crate::script_player::play(
            self.link.as_ref(),
            &job_arn,
            &assignment.job.plan,
            assignment.time_scale,
            signal,
        )
        .await;
        watcher.abort();
        Ok(played?)
    }

    /// The job's directory with its package unpacked (or, for a bare `.apk`/`.jar`
    /// package, placed as the file it is) and its app, handed to the run-as user if any.
    async fn workspace(
        &self,
        job_id: &str,
        package: Option<(PathBuf, String)>,
        app: Option<(PathBuf, String)>,
    ) -> Result<Workspace, ExecError> {
        let work_root = self.work_root.clone();
        let job_id = job_id.to_string();
        let run_as = self.runner.config().run_as;
        tokio::task::spawn_blocking(move || {
            let (zip, single_file) = match &package {
                Some((path, name)) if is_single_file_package(name) => (None, Some((path.as_path(), name.as_str()))),
                Some((path, _)) => (Some(path.as_path()), None),
                None => (None, None),
            };
            let workspace = Workspace::create(
                &work_root,
                &job_id,
                zip,
                app.as_ref()
                    .map(|(source, file_name)| AppFile { source: source.as_path(), file_name: file_name.as_str() }),
                &InspectLimits::default(),
            )?;
            let handed_over = single_file
                .map(|(source, name)| workspace.place_package_file(source, name))
                .transpose()
                .map_err(|e| WorkspaceError::Io { path: workspace.package_dir().to_path_buf(), source: e })
                .and_then(|_| match run_as {
                    Some(run_as) => run_as
                        .hand_over(&workspace)
                        .map_err(|e| WorkspaceError::Io { path: workspace.dir().to_path_buf(), source: e }),
                    None => Ok(()),
                });
            match handed_over {
                Ok(()) => Ok(workspace),
                Err(e) => {
                    let _ = workspace.remove();
                    Err(e)
                }
            }
        })
        .await
        .map_err(|e| ExecError::Setup(e.to_string()))?
        .map_err(|e| ExecError::Setup(format!("preparing the job's workspace: {e}")))
    }

    /// Copies the job's output to the control plane every [`OUTPUT_SYNC_INTERVAL`] while
    /// it runs (a whole copy each time: outputs are logs, and object stores have no append).
    async fn sync_output(self: Arc<Self>, job_arn: String, output: PathBuf) {
        let mut copied = 0;
        loop {
            tokio::time::sleep(OUTPUT_SYNC_INTERVAL).await;
            let size = tokio::fs::metadata(&output).await.map(|m| m.len()).unwrap_or(0);
            if size != copied {
                self.copy_output(&job_arn, &output).await;
                copied = size;
            }
        }
    }

    async fn copy_output(&self, job_arn: &str, output: &Path) {
        if let Err(e) = self.link.put_output(job_arn, output).await {
            tracing::warn!(job = %job_arn, error = %e, "copying a job's output failed");
        }
    }

    /// Runs the spec, reporting each step as it starts and ends.
    /// Runs the spec, reporting each step as it starts and ends; with `app` (an Android
    /// device and the app's package), the samples are the app's, read from the device.
    async fn run_reporting(
        &self,
        job_arn: &str,
        workspace: &Workspace,
        spec: &TestSpec,
        env: &JobEnv,
        signal: CancelSignal,
        app: Option<(&AndroidSession, &str)>,
    ) -> SpecReport {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let run = self.runner.run_spec_reporting(workspace, spec, env, signal, Some(&tx));
        tokio::pin!(run);
        let mut device_samples = Recorder::with_ticks(crate::adb::perf::DEVICE_TICKS_PER_SECOND);
        let mut ticks = tokio::time::interval(self.runner.config().sample_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut report = loop {
            tokio::select! {
                report = &mut run => break report,
                Some(event) = rx.recv() => self.record_progress(job_arn, event).await,
                _ = ticks.tick(), if app.is_some() => {
                    if let Some((android, package)) = app {
                        match android.adb.app_reading(&android.serial, package).await {
                            Ok(reading) => device_samples.record(reading, self.runner.clock().now_ms(), std::time::Instant::now()),
                            Err(e) => tracing::debug!(job = %job_arn, error = %e, "reading the app's use failed"),
                        }
                    }
                }
            }
        };
        while let Ok(event) = rx.try_recv() {
            self.record_progress(job_arn, event).await;
        }
        if app.is_some() {
            report.samples = device_samples.finish();
        }
        report
    }

    async fn record_progress(&self, job_arn: &str, event: Progress) {
        let Some(report) = progress_report(&event, self.runner.config().teardown_limit) else { return };
        if let Err(e) = self.link.report(job_arn, report).await {
            tracing::warn!(job = %job_arn, error = %e, "recording the job's progress failed");
        }
    }

    /// Reads the job's orders every [`WATCH_INTERVAL`], for stops and deadlines that were
    /// not pushed (a stop answered by a replica this host is not connected to).
    async fn watch(self: Arc<Self>, job_arn: String, canceller: Arc<Canceller>) {
        loop {
            tokio::time::sleep(WATCH_INTERVAL).await;
            let Ok(orders) = self.link.orders(&job_arn).await else { continue };
            if orders.stop {
                canceller.stop();
            }
            if orders.time_out {
                canceller.time_out();
            }
        }
    }

    /// The variables the notes list for test-spec commands, plus the run's own.
    fn job_env(&self, assignment: &Assignment, job_arn: &Arn, ws: &Workspace) -> Result<JobEnv, ExecError> {
        let job = &assignment.job;
        let run = &assignment.run;
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
            ("DEVICEFARM_RUN_ARN", assignment.run_arn.clone()),
            ("DEVICEFARM_DEVICE_ARN", job.device.arn.clone()),
            ("DEVICEFARM_TOTAL_JOBS", run.total_jobs.to_string()),
            ("DEVICEFARM_JOB_NUMBER", job.index.to_string()),
            ("AWS_REGION", job_arn.region.clone()),
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

    /// Stores the job's output and artifacts through the link and lists them as the
    /// model's artifacts, hung off the Setup Test like a simulated job's logs.
    async fn store_artifacts(
        &self,
        job_arn: &str,
        ws: &Workspace,
        report: &SpecReport,
        device_log: Option<PathBuf>,
        video: Option<PathBuf>,
    ) -> Vec<JobArtifact> {
        let mut files: Vec<(PathBuf, &str, &str, &str)> =
            vec![(ws.combined_log().to_path_buf(), "Test spec output", "TESTSPEC_OUTPUT", "txt")];
        if let Some(log) = device_log {
            files.push((log, "Device Log", "DEVICE_LOG", "txt"));
        }
        if let Some(video) = video {
            files.push((video, "Video", "VIDEO", "mp4"));
        }
        if let Ok(zips) = &report.artifacts {
            if let Some(zip) = &zips.customer_artifacts {
                files.push((zip.clone(), "Customer Artifacts", "CUSTOMER_ARTIFACT", "zip"));
            }
            if let Some(zip) = &zips.customer_artifacts_log {
                files.push((zip.clone(), "Customer Artifacts Log", "CUSTOMER_ARTIFACT_LOG", "zip"));
            }
        }
        let shots = screenshots(ws.screenshot_dir());
        let mut stored = Vec::new();
        let mut index = 0u32;
        for (path, name, artifact_type, extension) in
            files.into_iter().chain(shots.iter().map(|p| (p.clone(), "", "SCREENSHOT", "png")))
        {
            let name = if name.is_empty() {
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "Screenshot".into())
            } else {
                name.to_string()
            };
            if !path.is_file() {
                continue;
            }
            let key = match self.link.put_artifact(job_arn, index, &path).await {
                Ok(key) => key,
                Err(e) => {
                    tracing::warn!(job = %job_arn, error = %e, "storing an artifact failed");
                    continue;
                }
            };
            stored.push(JobArtifact {
                suite: 0,
                test: 0,
                index,
                name,
                artifact_type: artifact_type.to_string(),
                extension: extension.to_string(),
                blob_key: Some(key),
            });
            index += 1;
        }
        // A real job's series travel with its artifacts (the host reports them together),
        // stored under their SampleType, which ListArtifacts never lists.
        for (kind, series) in &report.samples {
            let path = ws.scripts_dir().join(format!("sample-{}.csv", kind.as_str()));
            if let Err(e) = std::fs::write(&path, series.to_csv()) {
                tracing::warn!(job = %job_arn, error = %e, "writing a sample series failed");
                continue;
            }
            match self.link.put_artifact(job_arn, index, &path).await {
                Ok(key) => stored.push(JobArtifact {
                    suite: 0,
                    test: 0,
                    index,
                    name: kind.as_str().to_string(),
                    artifact_type: kind.as_str().to_string(),
                    extension: "csv".to_string(),
                    blob_key: Some(key),
                }),
                Err(e) => tracing::warn!(job = %job_arn, error = %e, "storing a sample series failed"),
            }
            index += 1;
        }
        stored
    }
}

/// The network of its own a host job needs (its run has a network profile or private
/// service names), set up; None when it runs in the host's network as it is. A network
/// that cannot be set up fails the job with the reason: running it unshaped would report
/// results for conditions it never had.
async fn own_network(assignment: &Assignment) -> Result<Option<JobNet>, ExecError> {
    let network = &assignment.run.network;
    if network.is_default() {
        return Ok(None);
    }
    let what = match &network.profile {
        Some(profile) => format!("The network profile {:?}", profile.name),
        None => "The run's VPC endpoint configurations".to_string(),
    };
    match assignment.job.driver {
        Driver::Host => {}
        // The profile is applied on the device once it is prepared (`shape_android`).
        Driver::Adb if network.aliases.is_empty() => return Ok(None),
        _ => {
            return Err(ExecError::Setup(format!(
                "{what} could not be applied: private service names work on host devices only"
            )))
        }
    }
    JobNet::apply(network)
        .await
        .map(Some)
        .map_err(|why| ExecError::Setup(format!("{what} could not be applied on this host: {why}")))
}

/// The run's network profile applied on the Android device (see [`crate::adb::network`]);
/// a profile that cannot be fails the job saying why.
async fn shape_android(android: &AndroidSession, assignment: &Assignment) -> Result<Option<ShapedDevice>, ExecError> {
    let Some(profile) = &assignment.run.network.profile else { return Ok(None) };
    android.adb.shape_network(&android.serial, profile).await.map(Some).map_err(|why| {
        ExecError::Setup(format!(
            "The network profile {:?} could not be applied on {}: {why}",
            profile.name, android.serial
        ))
    })
}

/// Test packages AWS takes as one file rather than a zip: they are placed as they are.
fn is_single_file_package(file_name: &str) -> bool {
    let lower = file_name.to_ascii_lowercase();
    lower.ends_with(".apk") || lower.ends_with(".jar")
}

/// Whether the job will come out PASSED (or SKIPPED): every phase that ran succeeded and
/// no reported test failed. Decides only whether a failed job's workspace is kept.
fn spec_passed(report: &SpecReport, cases: &[TestCaseResult]) -> bool {
    let phases_ok = Phase::ALL.iter().filter_map(|p| report.phase(*p)).all(|p| p.outcome == PhaseOutcome::Succeeded);
    phases_ok
        && report.cancelled.is_none()
        && cases.iter().all(|c| matches!(c.result, ExecutionResult::Passed | ExecutionResult::Skipped))
}

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

    /// The job's screen recording as one MP4: its segments joined in order.
    async fn screen_video(&self, recording: Recording, android: &AndroidSession, ws: &Workspace) -> Option<PathBuf> {
        let segments = recording.finish(&android.adb, &android.serial, ws.artifacts_dir()).await;
        match segments.as_slice() {
            [] => None,
            [only] => Some(only.clone()),
            _ => {
                let Some(ffmpeg) = crate::ffmpeg::find() else {
                    tracing::warn!(serial = %android.serial, "ffmpeg is not installed: the screen recording's segments cannot be joined");
                    return None;
                };
                let joined = ws.artifacts_dir().join("video.mp4");
                match crate::ffmpeg::concat(ffmpeg, &segments, &joined).await {
                    Ok(()) => Some(joined),
                    Err(e) => {
                        tracing::warn!(serial = %android.serial, error = %e, "joining the screen recording failed");
                        None
                    }
                }
            }
        }
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
        let profile =
            job.instance_arn.as_ref().and_then(|arn| job.device.instance(arn)).and_then(|i| i.instance_profile.clone());
        if let Some(profile) = profile {
            for issued in android.adb.apply_instance_profile(&android.serial, &android.packages_before, &profile).await
            {
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
        PhaseOutcome::TimedOut if phase == Phase::PostTest => (
            StepEnd::Errored,
            Some(format!(
                "Teardown did not finish within {}; its processes were ended",
                plain_duration(teardown_limit)
            )),
        ),
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

/// The notes' mapping of spec phases to steps: install + pre_test are the setup, test the
/// tests, post_test the teardown. None for an event that changes no step (an install that
/// succeeded: the setup goes on with pre_test).
fn progress_report(event: &Progress, teardown_limit: Duration) -> Option<JobReport> {
    let step = |phase: &Phase| match phase {
        Phase::Install | Phase::PreTest => Step::Setup,
        Phase::Test => Step::Tests,
        Phase::PostTest => Step::Teardown,
    };
    match event {
        Progress::PhaseStarted { phase, .. } => Some(JobReport::StepStarted { step: step(phase) }),
        Progress::PhaseEnded { phase, outcome, .. } => {
            let (end, message) = step_end(*phase, outcome, teardown_limit);
            if *phase == Phase::Install && end == StepEnd::Succeeded {
                return None;
            }
            Some(JobReport::StepEnded { step: step(phase), end, message })
        }
    }
}

#[cfg(test)]
#[path = "executor/network_tests.rs"]
mod network_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use domain::job::observed::ObservedJob;
    use domain::job::report::apply;

    /// Plays runner events through the reports they become, each applied at its instant.
    fn observed_after(events: &[Progress], limit: Duration) -> ObservedJob {
        let mut observed = ObservedJob::default();
        let mut artifacts = Vec::new();
        for event in events {
            let at = match event {
                Progress::PhaseStarted { at_ms, .. } | Progress::PhaseEnded { at_ms, .. } => *at_ms,
            };
            if let Some(report) = progress_report(event, limit) {
                apply(&mut observed, &mut artifacts, &report, at);
            }
        }
        observed
    }

    #[test]
    fn setup_spans_install_and_pre_test() {
        let minute = Duration::from_secs(60);
        let install_only = observed_after(
            &[
                Progress::PhaseStarted { phase: Phase::Install, at_ms: 10 },
                Progress::PhaseEnded { phase: Phase::Install, outcome: PhaseOutcome::Succeeded, at_ms: 20 },
            ],
            minute,
        );
        assert_eq!(install_only.setup.as_ref().and_then(|s| s.ended_ms), None, "setup goes on with pre_test");
        let observed = observed_after(
            &[
                Progress::PhaseStarted { phase: Phase::Install, at_ms: 10 },
                Progress::PhaseEnded { phase: Phase::Install, outcome: PhaseOutcome::Succeeded, at_ms: 20 },
                Progress::PhaseStarted { phase: Phase::PreTest, at_ms: 20 },
                Progress::PhaseEnded { phase: Phase::PreTest, outcome: PhaseOutcome::Succeeded, at_ms: 30 },
            ],
            minute,
        );
        let setup = observed.setup.expect("setup");
        assert_eq!((setup.started_ms, setup.ended_ms, setup.end), (10, Some(30), Some(StepEnd::Succeeded)));
    }

    #[test]
    fn a_teardown_past_its_limit_errors_with_its_own_message_not_the_jobs_timeout() {
        let observed = observed_after(
            &[
                Progress::PhaseStarted { phase: Phase::PostTest, at_ms: 10 },
                Progress::PhaseEnded { phase: Phase::PostTest, outcome: PhaseOutcome::TimedOut, at_ms: 20 },
            ],
            Duration::from_secs(30 * 60),
        );
        let teardown = observed.teardown.expect("teardown");
        assert_eq!(teardown.end, Some(StepEnd::Errored));
        assert_eq!(
            teardown.message.as_deref(),
            Some("Teardown did not finish within 30 minutes; its processes were ended")
        );
        assert_eq!(plain_duration(Duration::from_millis(1500)), "1.5 seconds");
        assert_eq!(plain_duration(Duration::from_secs(60)), "1 minute");
    }

    #[test]
    fn a_failing_install_ends_the_setup_with_the_command() {
        let failed =
            PhaseOutcome::Failed { exit_code: Some(3), signal: None, failed_command: Some("make deps".into()) };
        let observed = observed_after(
            &[
                Progress::PhaseStarted { phase: Phase::Install, at_ms: 10 },
                Progress::PhaseEnded { phase: Phase::Install, outcome: failed, at_ms: 15 },
            ],
            Duration::from_secs(60),
        );
        let setup = observed.setup.expect("setup");
        assert_eq!(setup.end, Some(StepEnd::Failed));
        assert_eq!(setup.message.as_deref(), Some("Command failed (exit status 3): make deps"));
    }

    #[test]
    fn bare_apk_and_jar_packages_are_kept_as_files() {
        assert!(is_single_file_package("tests.APK") && is_single_file_package("ui.jar"));
        assert!(!is_single_file_package("tests.zip"));
    }
}
