//! [`JobLink`]: what a device host needs from the control plane to run a job.

use std::path::Path;

use async_trait::async_trait;
use domain::job::report::JobReport;

use super::protocol::Assignment;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The job is not (or no longer) this host's to run, or what it names is gone.
    #[error("{0}")]
    Gone(String),
    /// The control plane could not be reached or failed; worth retrying.
    #[error("{0}")]
    Unavailable(String),
}

/// What the control plane wants done with a running job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Orders {
    /// StopJob or StopRun was called.
    pub stop: bool,
    /// The job's deadline (jobTimeoutMinutes from the start of setup) has passed by the
    /// control plane's clock.
    pub time_out: bool,
}

impl Orders {
    /// What is wanted of a running `job` at `now_ms`, and when its deadline will pass if
    /// it has not yet.
    pub fn for_job(job: &domain::run::Job, now_ms: i64) -> (Orders, Option<i64>) {
        let deadline = job
            .observed
            .as_ref()
            .and_then(|o| o.setup.as_ref())
            .map(|s| domain::job::timeout::Deadline::from_setup_start(s.started_ms, job.timeout_minutes).at_ms);
        let orders =
            Orders { stop: job.stop_requested_ms.is_some(), time_out: deadline.is_some_and(|at| now_ms >= at) };
        (orders, deadline.filter(|at| *at > now_ms))
    }
}

#[async_trait]
pub trait JobLink: Send + Sync {
    /// What the control plane wants done with the job now.
    async fn orders(&self, job_arn: &str) -> Result<Orders, LinkError>;
    /// What the job runs with.
    async fn assignment(&self, job_arn: &str) -> Result<Assignment, LinkError>;
    /// Copies one of the job's uploads to `dest`.
    async fn fetch_input(&self, job_arn: &str, upload_arn: &str, dest: &Path) -> Result<(), LinkError>;
    /// Tells the control plane what happened; it stamps the report with its clock.
    async fn report(&self, job_arn: &str, report: JobReport) -> Result<(), LinkError>;
    /// Replaces the job's live output (what `farmhand logs --follow` reads) with `file`.
    async fn put_output(&self, job_arn: &str, file: &Path) -> Result<(), LinkError>;
    /// Stores `file` as the job's artifact number `index`; returns its blob key.
    async fn put_artifact(&self, job_arn: &str, index: u32, file: &Path) -> Result<String, LinkError>;
}
