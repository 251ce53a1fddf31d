//! Jobs: what runs on one device for one run, and the rules that decide its state.
//!
//! A job's state at any instant is a pure function of its plan, a few persisted instants
//! ([`timeline::JobTimes`]: device assigned, first stop requested with the grace recorded
//! with it, timeout) and "now".
//!
//! - [`status`]: ExecutionStatus / ExecutionResult.
//! - [`plan`]: what a job will do (setup, tests, teardown) before it starts.
//! - [`timeline`]: the job's whole course — where each step starts and ends, and how.
//! - [`stop`]: StopJob / StopRun, rule by rule against the reference.
//! - [`timeout`]: the job timeout's deadline and what it cuts.
//! - [`snapshot`]: the job, its suites and tests as a read sees them at one instant.
//! - [`observed`]: the same snapshot for jobs on real devices, from what the runner observed.
//! - [`run`]: a run's status, result and totals rolled up from its jobs.
//! - [`result`]: which result wins when results roll up.
//! - [`counters`]: the result counters.
//! - [`billing`]: billed seconds and device minutes.

pub mod billing;
pub mod counters;
pub mod observed;
pub mod plan;
pub mod report;
pub mod result;
pub mod run;
pub mod snapshot;
pub mod status;
pub mod stop;
pub mod timeline;
pub mod timeout;

#[cfg(test)]
mod interleavings;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod scenarios;
