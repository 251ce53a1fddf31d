//! One phase of a test spec run as a real shell process: [`Runner::run_phase`], and the
//! pieces [`Runner::run_spec`] uses to keep a phase's leftovers alive until the job ends.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use domain::clock::EpochMs;

use super::cancel::{CancelReason, CancelSignal};
use super::env::{base_environment, JobEnv};
use super::group::{tear_down, Exit, Leader, Teardown};
use super::output::{append_line, open_append, Copied, Pump};
use super::script::{last_started, phase_script, MARK};
use super::workspace::Workspace;
use super::Runner;
use crate::uploads::TestSpec;

/// How long to keep reading a phase's output once its group is gone: the pipe normally
/// ends at once, unless a process that left the group still holds it.
const DRAIN: Duration = Duration::from_millis(500);

/// The four phases of a test spec, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Install,
    PreTest,
    Test,
    PostTest,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Install, Phase::PreTest, Phase::Test, Phase::PostTest];

    /// The phase's key in the spec, which also names its log file.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Install => "install",
            Phase::PreTest => "pre_test",
            Phase::Test => "test",
            Phase::PostTest => "post_test",
        }
    }

    pub fn commands(self, spec: &TestSpec) -> &[String] {
        let phases = &spec.phases;
        match self {
            Phase::Install => &phases.install,
            Phase::PreTest => &phases.pre_test,
            Phase::Test => &phases.test,
            Phase::PostTest => &phases.post_test,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a phase ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseOutcome {
    /// Every command exited 0 (or the phase had none).
    Succeeded,
    /// A command failed. `failed_command` is the one that was running when the shell
    /// ended (None if it ended before starting any); the shell ends with its status.
    Failed { exit_code: Option<i32>, signal: Option<i32>, failed_command: Option<String> },
    /// Ended by a stop request (SIGTERM, grace, SIGKILL).
    Stopped,
    /// Ended because the job's deadline passed.
    TimedOut,
    /// The shell could not be started (or its output not captured).
    NotStarted { message: String },
}

impl fmt::Display for PhaseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhaseOutcome::Succeeded => f.write_str("succeeded"),
            PhaseOutcome::Failed { exit_code, signal, failed_command } => {
                f.write_str("failed")?;
                if let Some(code) = exit_code {
                    write!(f, " with exit code {code}")?;
                }
                if let Some(signal) = signal {
                    write!(f, " killed by signal {signal}")?;
                }
                if let Some(command) = failed_command {
                    write!(f, " in command: {command}")?;
                }
                Ok(())
            }
            PhaseOutcome::Stopped => f.write_str("stopped"),
            PhaseOutcome::TimedOut => f.write_str("timed out"),
            PhaseOutcome::NotStarted { message } => write!(f, "could not start: {message}"),
        }
    }
}

/// What one phase did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseReport {
    pub phase: Phase,
    pub outcome: PhaseOutcome,
    pub started_ms: EpochMs,
    /// When the shell ended; for a stopped or timed-out phase, when its group was gone.
    pub ended_ms: EpochMs,
    /// This phase's output (`<phase>.log`).
    pub log: PathBuf,
    /// Every phase's output together, the "Test spec output".
    pub combined_log: PathBuf,
    /// Whether a stop or timeout needed SIGKILL: something outlived the grace period.
    pub killed_after_grace: bool,
    /// Bytes of output captured.
    pub output_bytes: u64,
    /// Why some output may be missing from the logs, if it may.
    pub output_error: Option<String>,
}

impl Runner {
    /// Runs `commands` as `phase` in `ws`, until they end or `cancel` fires. Nothing of the
    /// phase survives: processes it left in its group get SIGTERM, the grace period, then
    /// SIGKILL.
    pub async fn run_phase(
        &self,
        ws: &Workspace,
        phase: Phase,
        commands: &[String],
        env: &JobEnv,
        cancel: CancelSignal,
    ) -> PhaseReport {
        let mut running = match self.start(ws, phase, commands, env) {
            Started::Running(running) => running,
            Started::Done(report) => return report,
        };
        let ended = running.wait(cancel, self).await;
        tear_down(&[&running.leader], self.config.grace).await;
        running.close(ended).await
    }

    /// Starts `phase`: spawns its shell, or reports it done at once when it has no
    /// commands or cannot start.
    pub(crate) fn start(&self, ws: &Workspace, phase: Phase, commands: &[String], env: &JobEnv) -> Started {
        let log = ws.output_dir().join(format!("{}.log", phase.name()));
        let combined_log = ws.combined_log();
        let started_ms = self.clock.now_ms();
        let header = format!("{MARK} ==== {phase} ====");
        let report = |outcome: PhaseOutcome| {
            let _ = append_line(&[&log, &combined_log], &format!("{MARK} {phase} {outcome}"));
            Started::Done(PhaseReport {
                phase,
                outcome,
                started_ms,
                ended_ms: self.clock.now_ms(),
                log: log.clone(),
                combined_log: combined_log.clone(),
                killed_after_grace: false,
                output_bytes: 0,
                output_error: None,
            })
        };
        let prepared = open_append(&log).and_then(|_| append_line(&[&combined_log], &header));
        if let Err(e) = prepared {
            return report(PhaseOutcome::NotStarted { message: format!("cannot write the phase's log: {e}") });
        }
        if commands.is_empty() {
            return report(PhaseOutcome::Succeeded);
        }
        match self.spawn(ws, phase, commands, env, &log, &combined_log) {
            Ok((leader, pump, step_file)) => Started::Running(RunningPhase {
                phase,
                commands: commands.to_vec(),
                leader,
                pump,
                step_file,
                log: log.clone(),
                combined_log: combined_log.clone(),
                started_ms,
            }),
            Err(e) => report(PhaseOutcome::NotStarted { message: e.to_string() }),
        }
    }

    fn spawn(
        &self,
        ws: &Workspace,
        phase: Phase,
        commands: &[String],
        env: &JobEnv,
        log: &Path,
        combined_log: &Path,
    ) -> io::Result<(Leader, Pump, PathBuf)> {
        let script_path = ws.scripts_dir().join(format!("{}.sh", phase.name()));
        let step_file = ws.scripts_dir().join(format!("{}.step", phase.name()));
        // A rerun of the phase must not inherit the previous run's progress.
        match std::fs::remove_file(&step_file) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::write(&script_path, phase_script(phase.name(), commands, &step_file))?;

        let (reader, writer) = io::pipe()?;
        let mut command = self.shell_command(env, &script_path)?;
        command
            .current_dir(ws.root())
            .env_clear()
            .envs(base_environment(&self.config.path, &self.config.lang, ws))
            .envs(env.vars().iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer);
        if let (Some(run_as), None) = (self.config.run_as, env.network_namespace()) {
            // std drops the supplementary groups too when it switches the uid as root.
            std::os::unix::process::CommandExt::uid(&mut command, run_as.uid);
            std::os::unix::process::CommandExt::gid(&mut command, run_as.gid);
        }
        let leader = Leader::spawn(command)?;
        let pump = Pump::start(reader, log, combined_log)?;
        Ok((leader, pump, step_file))
    }
}

impl Runner {
    /// The shell running `script`, in the job's network namespace when it has one. `ip
    /// netns exec` (and `setpriv`) exec the next program in the same process, so the shell
    /// still leads the group farmhand created. Entering the namespace needs root, so the
    /// switch to the run-as user comes after it, by `setpriv`, not by the spawn.
    fn shell_command(&self, env: &JobEnv, script: &Path) -> io::Result<Command> {
        let Some(namespace) = env.network_namespace() else {
            let mut command = Command::new(&self.config.shell);
            command.arg(script);
            return Ok(command);
        };
        let tool = |name: &str| {
            super::netns::tool(name)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{name} is not installed")))
        };
        let mut command = Command::new(tool("ip")?);
        command.args(["netns", "exec", namespace]);
        if let Some(run_as) = self.config.run_as {
            command
                .arg(tool("setpriv")?)
                .arg(format!("--reuid={}", run_as.uid))
                .arg(format!("--regid={}", run_as.gid))
                .args(["--clear-groups", "--"]);
        }
        command.arg(&self.config.shell).arg(script);
        Ok(command)
    }
}

/// A phase that was started.
pub(crate) enum Started {
    Running(RunningPhase),
    /// It had no commands or could not start: its report is final.
    Done(PhaseReport),
}

/// How the phase's shell ended.
pub(crate) struct Ended {
    outcome: PhaseOutcome,
    ended_ms: EpochMs,
    killed_after_grace: bool,
}

impl Ended {
    pub(crate) fn outcome(&self) -> &PhaseOutcome {
        &self.outcome
    }
}

/// A phase whose shell is (or was) running; its group is not torn down yet.
pub(crate) struct RunningPhase {
    phase: Phase,
    commands: Vec<String>,
    pub(crate) leader: Leader,
    pump: Pump,
    step_file: PathBuf,
    log: PathBuf,
    combined_log: PathBuf,
    started_ms: EpochMs,
}

impl RunningPhase {
    /// Waits for the shell to exit. If `cancel` fires first, the group is torn down
    /// (SIGTERM, grace, SIGKILL) and the phase ends Stopped or TimedOut.
    pub(crate) async fn wait(&mut self, cancel: CancelSignal, runner: &Runner) -> Ended {
        let ended = self.wait_for_end(cancel, runner).await;
        // Written when the shell ends, after its last output, so the combined log reads
        // phase by phase even when leftovers keep running (and writing) until the job ends.
        self.pump.trailer(format!("{MARK} {} {}", self.phase, ended.outcome)).await;
        ended
    }

    async fn wait_for_end(&mut self, mut cancel: CancelSignal, runner: &Runner) -> Ended {
        let cancelled = tokio::select! {
            exit = self.leader.exited() => {
                return Ended {
                    outcome: self.outcome_of(exit),
                    ended_ms: runner.clock.now_ms(),
                    killed_after_grace: false,
                };
            }
            reason = cancel.fired() => reason,
        };
        let teardown = tear_down(&[&self.leader], runner.config.grace).await;
        // Everything got SIGKILL at worst, so the shell has exited or is about to.
        let _ = self.leader.exited().await;
        Ended {
            outcome: match cancelled {
                CancelReason::Stop => PhaseOutcome::Stopped,
                CancelReason::Timeout => PhaseOutcome::TimedOut,
            },
            ended_ms: runner.clock.now_ms(),
            killed_after_grace: teardown == Teardown::Killed,
        }
    }

    fn outcome_of(&self, exit: io::Result<Exit>) -> PhaseOutcome {
        let failed_command = || last_started(&self.step_file).and_then(|i| self.commands.get(i).cloned());
        match exit {
            Ok(Exit::Code(0)) => PhaseOutcome::Succeeded,
            Ok(Exit::Code(code)) => {
                PhaseOutcome::Failed { exit_code: Some(code), signal: None, failed_command: failed_command() }
            }
            Ok(Exit::Signal(signal)) => {
                PhaseOutcome::Failed { exit_code: None, signal: Some(signal), failed_command: failed_command() }
            }
            Err(e) => PhaseOutcome::NotStarted { message: format!("lost track of the phase's shell: {e}") },
        }
    }

    /// Finishes the phase once its group has been torn down: the rest of its output is
    /// read and its shell reaped.
    pub(crate) async fn close(self, ended: Ended) -> PhaseReport {
        let copied: Copied = self.pump.finish(DRAIN).await;
        self.leader.reap();
        let output_error = copied.write_error.or_else(|| {
            (!copied.complete)
                .then(|| "output was cut off: a process outside the phase's group kept it open".to_owned())
        });
        PhaseReport {
            phase: self.phase,
            outcome: ended.outcome,
            started_ms: self.started_ms,
            ended_ms: ended.ended_ms,
            log: self.log,
            combined_log: self.combined_log,
            killed_after_grace: ended.killed_after_grace,
            output_bytes: copied.bytes,
            output_error,
        }
    }
}
