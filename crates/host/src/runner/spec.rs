//! A whole test spec, phase after phase, with the stop and timeout rules of the notes
//! (`domain::job::stop` states them for the simulated jobs; these are the same rules for
//! real processes):
//!
//! - install + pre_test are the setup, test is the tests, post_test the teardown. A setup
//!   phase that does not succeed errors the job: the rest of the setup and the tests are
//!   skipped, teardown still runs.
//! - A stop during setup interrupts nothing: the setup runs to completion (both phases),
//!   the tests are skipped, teardown runs.
//! - A stop during the tests ends the test phase (SIGTERM to its group, the grace period,
//!   SIGKILL), then teardown runs to completion.
//! - A stop during teardown interrupts nothing.
//! - The deadline (timeout) ends whatever setup or test phase is running, the same way;
//!   the later ones are skipped and teardown runs. The notes end the step in progress
//!   ERRORED at the deadline; a real process can only be made to end by signals.
//! - Teardown is never interrupted, by a stop or by the deadline; only its own limit
//!   ([`super::RunnerConfig::teardown_limit`]) ends it, the way the deadline ends a phase,
//!   so that a hung post_test cannot hold a device forever.
//! - A request already made when the spec is about to start runs nothing: the job's tests
//!   have not started, so it ends at once (`StopEffect::EndsAtOnce`).
//!
//! **Processes a phase leaves running in the background stay alive until the job ends**:
//! AWS's own default specs start an Appium server in the background in pre_test for the
//! test phase to use. Once post_test is over, every phase's group gets SIGTERM, the grace
//! period and SIGKILL together, and only then are the artifacts collected: no process of
//! the job outlives `run_spec`.

use super::artifacts::{collect_artifacts, ArtifactError, ArtifactSources, ArtifactsReport};
use super::cancel::{CancelReason, CancelSignal};
use super::env::JobEnv;
use super::group::tear_down;
use super::phase::{Ended, Phase, PhaseOutcome, PhaseReport, RunningPhase, Started};
use super::workspace::Workspace;
use super::Runner;
use crate::samples::host::Recorder;
use crate::samples::{SampleKind, Series};
use crate::uploads::TestSpec;

/// What a running spec reports as it goes, so a job's state can follow its phases live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    PhaseStarted { phase: Phase, at_ms: i64 },
    PhaseEnded { phase: Phase, outcome: PhaseOutcome, at_ms: i64 },
}

/// Where progress goes; a closed receiver is fine (nobody is following).
pub type ProgressSender = tokio::sync::mpsc::UnboundedSender<Progress>;

/// What running a spec did. A phase that did not run is None.
#[derive(Debug)]
pub struct SpecReport {
    pub install: Option<PhaseReport>,
    pub pre_test: Option<PhaseReport>,
    pub test: Option<PhaseReport>,
    pub post_test: Option<PhaseReport>,
    /// The request made while the spec ran, if any (the deadline wins over a stop).
    pub cancelled: Option<CancelReason>,
    /// The artifact zips; empty when no phase ran.
    pub artifacts: Result<ArtifactsReport, ArtifactError>,
    /// The performance series of the phases' process groups, in listing order.
    pub samples: Vec<(SampleKind, Series)>,
}

impl SpecReport {
    pub fn phase(&self, phase: Phase) -> Option<&PhaseReport> {
        match phase {
            Phase::Install => self.install.as_ref(),
            Phase::PreTest => self.pre_test.as_ref(),
            Phase::Test => self.test.as_ref(),
            Phase::PostTest => self.post_test.as_ref(),
        }
    }

    /// Whether a setup phase ran and did not succeed: the job's setup errored.
    pub fn setup_errored(&self) -> bool {
        [&self.install, &self.pre_test].into_iter().flatten().any(|p| p.outcome != PhaseOutcome::Succeeded)
    }

    /// When the first phase started and the last ended (the billed span), if any ran.
    pub fn span_ms(&self) -> Option<(i64, i64)> {
        let ran: Vec<&PhaseReport> = Phase::ALL.iter().filter_map(|p| self.phase(*p)).collect();
        Some((ran.first()?.started_ms, ran.last()?.ended_ms))
    }

    fn slot(&mut self, phase: Phase) -> &mut Option<PhaseReport> {
        match phase {
            Phase::Install => &mut self.install,
            Phase::PreTest => &mut self.pre_test,
            Phase::Test => &mut self.test,
            Phase::PostTest => &mut self.post_test,
        }
    }
}

impl Runner {
    /// Runs `spec` in `ws` under the rules above, listening on `cancel`, then collects
    /// the artifacts.
    pub async fn run_spec(&self, ws: &Workspace, spec: &TestSpec, env: &JobEnv, cancel: CancelSignal) -> SpecReport {
        self.run_spec_reporting(ws, spec, env, cancel, None).await
    }

    /// [`Runner::run_spec`], telling `progress` when each phase starts and ends.
    pub async fn run_spec_reporting(
        &self,
        ws: &Workspace,
        spec: &TestSpec,
        env: &JobEnv,
        cancel: CancelSignal,
        progress: Option<&ProgressSender>,
    ) -> SpecReport {
        let mut report = SpecReport {
            install: None,
            pre_test: None,
            test: None,
            post_test: None,
            cancelled: cancel.current(),
            artifacts: Ok(ArtifactsReport::default()),
            samples: Vec::new(),
        };
        if report.cancelled.is_some() {
            return report;
        }

        let mut job = JobPhases { progress: progress.cloned(), ..JobPhases::default() };
        let setup_signal = cancel.timeout_only();
        let mut setup_ok = true;
        for phase in [Phase::Install, Phase::PreTest] {
            if setup_signal.current().is_some() {
                break;
            }
            let outcome = job.run(self, ws, phase, spec, env, setup_signal.clone()).await;
            setup_ok = outcome == PhaseOutcome::Succeeded;
            if !setup_ok {
                break;
            }
        }
        if setup_ok && cancel.current().is_none() {
            job.run(self, ws, Phase::Test, spec, env, cancel.clone()).await;
        }
        let teardown_signal = CancelSignal::only_after(self.config.teardown_limit);
        job.run(self, ws, Phase::PostTest, spec, env, teardown_signal).await;

        let leaders: Vec<_> = job.running.iter().map(|(r, _)| &r.leader).collect();
        tear_down(&leaders, self.config.grace).await;
        for (running, ended) in job.running {
            let phase_report = running.close(ended).await;
            let phase = phase_report.phase;
            *report.slot(phase) = Some(phase_report);
        }
        for phase_report in job.done {
            let phase = phase_report.phase;
            *report.slot(phase) = Some(phase_report);
        }
        report.cancelled = cancel.current();
        report.samples = job.samples.finish();
        report.artifacts = self.artifacts(ws, spec, env).await;
        report
    }

    async fn artifacts(&self, ws: &Workspace, spec: &TestSpec, env: &JobEnv) -> Result<ArtifactsReport, ArtifactError> {
        let sources = ArtifactSources {
            root: ws.root().to_path_buf(),
            log_dir: ws.log_dir().to_path_buf(),
            output_dir: ws.artifacts_dir().to_path_buf(),
        };
        let paths = spec.artifacts.clone();
        let env = env.clone();
        // Zipping reads and compresses whole directories: keep it off the async workers.
        tokio::task::spawn_blocking(move || collect_artifacts(&sources, &paths, &env)).await.unwrap_or_else(|e| {
            Err(ArtifactError::Io {
                path: ws.artifacts_dir().to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })
        })
    }
}

/// The phases of one job so far: those whose groups are kept until the job ends, and
/// those that never had a process.
#[derive(Default)]
struct JobPhases {
    running: Vec<(RunningPhase, Ended)>,
    done: Vec<PhaseReport>,
    progress: Option<ProgressSender>,
    samples: Recorder,
}

impl JobPhases {
    /// Runs `phase` until its shell ends (or `cancel` ends it) and returns its outcome.
    async fn run(
        &mut self,
        runner: &Runner,
        ws: &Workspace,
        phase: Phase,
        spec: &TestSpec,
        env: &JobEnv,
        cancel: CancelSignal,
    ) -> PhaseOutcome {
        self.tell(Progress::PhaseStarted { phase, at_ms: runner.clock.now_ms() });
        let outcome = match runner.start(ws, phase, phase.commands(spec), env) {
            Started::Running(mut running) => {
                let ended = {
                    let pgid = running.leader.pgid();
                    let samples = &mut self.samples;
                    let wait = running.wait(cancel, runner);
                    tokio::pin!(wait);
                    let mut ticks = tokio::time::interval(runner.config.sample_interval);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tokio::select! {
                            ended = &mut wait => break ended,
                            _ = ticks.tick() => samples.sample_blocking(pgid, pgid, runner.clock.now_ms()).await,
                        }
                    }
                };
                let outcome = ended.outcome().clone();
                self.running.push((running, ended));
                outcome
            }
            Started::Done(report) => {
                let outcome = report.outcome.clone();
                self.done.push(report);
                outcome
            }
        };
        self.tell(Progress::PhaseEnded { phase, outcome: outcome.clone(), at_ms: runner.clock.now_ms() });
        outcome
    }

    fn tell(&self, event: Progress) {
        if let Some(progress) = &self.progress {
            let _ = progress.send(event);
        }
    }
}
