//! The test-spec runner: a custom-environment job's phases run as real shell processes on
//! the host, each in its own process group, with a clean environment, output streamed to
//! log files, stop and timeout by signals, and the artifacts zipped at the end. A library:
//! the scheduler drives it; it knows nothing of the store or the API. Linux only (pidfds
//! and `/proc`).
//!
//! Layout:
//! - [`workspace`]: the job's directory ([`Workspace`]): package, app, logs, outputs.
//! - [`env`](mod@env): the commands' environment ([`JobEnv`] plus a few basics).
//! - [`cancel`]: stop and timeout requests ([`Canceller`], [`CancelSignal`]).
//! - `script`: the shell script a phase runs (commands in order, first failure ends it).
//! - `group`, `process_table`: the phase's process group, and tearing it down.
//! - `output`: streaming a phase's output into its logs.
//! - [`phase`]: one phase ([`Runner::run_phase`]).
//! - [`spec`]: a whole spec with the stop/timeout rules ([`Runner::run_spec`]).
//! - [`artifacts`]: the customer artifact zips.
//! - [`netns`]: a job's own network (namespace, emulated link, NAT, private names).
//!
//! **Invariant: no process started for a job outlives it.** Every phase's shell leads a
//! new process group, and the group is torn down (SIGTERM, grace, SIGKILL) when the phase
//! is stopped and again when the phase or job ends; dropping a runner future mid-phase
//! SIGKILLs the group. Only a process that deliberately leaves its group (`setsid`) can
//! escape; confining those needs cgroups. With [`RunAs`] the commands run as a user of
//! their own, which bounds what such an escapee can touch.
//! Orphans the group leaves are collected by the host's init: run farmhand under an init
//! that reaps (tini, systemd) when it is PID 1 of a container.

pub mod artifacts;
pub mod cancel;
pub mod env;
mod group;
pub mod netns;
mod output;
pub mod phase;
mod process_table;
pub mod run_as;
pub mod run_as_user;
mod script;
pub mod spec;
pub mod workspace;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use domain::clock::Clock;

pub use artifacts::{
    collect_artifacts, ArtifactError, ArtifactSources, ArtifactsReport, SkipReason, SkippedArtifact,
    CUSTOMER_ARTIFACTS_LOG_ZIP, CUSTOMER_ARTIFACTS_ZIP,
};
pub use cancel::{CancelReason, CancelSignal, Canceller};
pub use env::{EnvError, JobEnv};
pub use phase::{Phase, PhaseOutcome, PhaseReport};
pub use run_as::RunAs;
pub use spec::{Progress, ProgressSender, SpecReport};
pub use workspace::{AppFile, Workspace, WorkspaceError};

/// AWS documents no limit on teardown; half an hour is long past any cleanup we have seen
/// and short enough that a hung one gives its device back the same day.
pub const DEFAULT_TEARDOWN_LIMIT: Duration = Duration::from_secs(30 * 60);

/// How the runner runs phases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerConfig {
    /// Between SIGTERM and SIGKILL when a phase is stopped (the notes: default 10 s).
    pub grace: Duration,
    /// The POSIX shell that runs each phase's script.
    pub shell: PathBuf,
    /// PATH of the commands (farmhand's own PATH is not passed on).
    pub path: String,
    /// LANG of the commands.
    pub lang: String,
    /// The user the commands run as; None: farmhand's own.
    pub run_as: Option<RunAs>,
    /// How long teardown may run. Stops and the job's deadline let it finish, so without
    /// a limit a hung post_test would hold its device forever.
    pub teardown_limit: Duration,
    /// How often a running phase's processes are sampled (ListSamples).
    pub sample_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            grace: Duration::from_secs(10),
            shell: PathBuf::from("/bin/sh"),
            path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            lang: "C.UTF-8".to_owned(),
            run_as: None,
            teardown_limit: DEFAULT_TEARDOWN_LIMIT,
            sample_interval: Duration::from_secs(1),
        }
    }
}

/// Runs test-spec phases. Instants in reports come from the clock; how long real
/// processes take is real time.
#[derive(Clone)]
pub struct Runner {
    config: RunnerConfig,
    clock: Arc<dyn Clock>,
}

impl Runner {
    pub fn new(config: RunnerConfig, clock: Arc<dyn Clock>) -> Runner {
        Runner { config, clock }
    }

    /// The service clock the runner stamps its reports with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }
}
