//! A run as any read sees it at one instant, rolled up from its jobs' snapshots: status,
//! result, counters, billed seconds, completed jobs. Like a job's, it is derived, never
//! stored.
//!
//! StopRun is recorded on the run and, as a stop request, on each of its jobs (the job
//! rules in [`super::stop`] do the rest); here it only makes the run STOPPING, then
//! STOPPED.

use super::counters::Counters;
use super::result::run_result;
use super::snapshot::JobSnapshot;
use super::status::{ExecutionResult, ExecutionStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSnapshot {
    pub status: ExecutionStatus,
    pub result: ExecutionResult,
    /// When the first job got a device.
    pub started_ms: Option<i64>,
    /// When the last job ended, once all have.
    pub stopped_ms: Option<i64>,
    pub billed_seconds: i64,
    pub counters: Counters,
    pub completed_jobs: i32,
    pub total_jobs: i32,
    pub is_final: bool,
    /// The earliest instant at which one of the jobs changes by itself.
    pub next_change_ms: Option<i64>,
}

/// Rolls `jobs` (each a snapshot at `now_ms`) into their run. `stop_requested_ms` is the
/// run's StopRun, if any.
///
/// - COMPLETED once every job is; else STOPPING after a StopRun; else RUNNING once any
///   job has left the queue; else the most advanced of the PENDING statuses.
/// - Result: STOPPED after a StopRun, otherwise the worst of the jobs'
///   ([`super::result`]). A StopRun that came after every job had ended changed nothing
///   and is ignored (callers should not record one, but a race must not rewrite history).
pub fn run_snapshot(jobs: &[JobSnapshot], stop_requested_ms: Option<i64>, now_ms: i64) -> RunSnapshot {
    let all_final = jobs.iter().all(|j| j.is_final);
    let last_end = jobs.iter().filter_map(|j| j.stopped_ms).max();
    let stopped = stop_requested_ms.is_some_and(|at| {
        let ended_before = all_final && last_end.is_some_and(|end| end < at);
        at <= now_ms && !ended_before
    });
    let status = if all_final {
        ExecutionStatus::Completed
    } else if stopped {
        ExecutionStatus::Stopping
    } else if jobs.iter().any(|j| !j.status.is_waiting()) {
        ExecutionStatus::Running
    } else {
        most_advanced_wait(jobs.iter().map(|j| j.status))
    };
    let completed_jobs = jobs.iter().filter(|j| j.is_final).count();
    RunSnapshot {
        status,
        result: if all_final { run_result(stopped, jobs.iter().map(|j| j.result)) } else { ExecutionResult::Pending },
        started_ms: jobs.iter().filter_map(|j| j.started_ms).min(),
        stopped_ms: last_end.filter(|_| all_final),
        billed_seconds: jobs.iter().map(|j| j.billed_seconds).sum(),
        counters: Counters::sum(jobs.iter().map(|j| &j.counters)),
        completed_jobs: i32::try_from(completed_jobs).unwrap_or(i32::MAX),
        total_jobs: i32::try_from(jobs.len()).unwrap_or(i32::MAX),
        is_final: all_final,
        next_change_ms: jobs.iter().filter_map(|j| j.next_change_ms).min(),
    }
}

/// Of jobs all still queued, the furthest along: waiting for a device is closer to
/// running than waiting for a concurrency slot, which is closer than not yet looked at.
fn most_advanced_wait(statuses: impl Iterator<Item = ExecutionStatus>) -> ExecutionStatus {
    statuses
        .max_by_key(|s| match s {
            ExecutionStatus::PendingDevice => 2,
            ExecutionStatus::PendingConcurrency => 1,
            _ => 0,
        })
        .unwrap_or(ExecutionStatus::Pending)
}
