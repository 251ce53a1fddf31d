//! A stored job, seen at an instant: the bridge between the job record and the pure
//! timeline. The scheduler, the API and the billing ledger all read jobs through here, so
//! they always agree on what a job's state and bill are.

use domain::job::observed::observed_snapshot;
use domain::job::snapshot::{snapshot, JobSnapshot};
use domain::job::timeline::{JobTimes, PrepDurations};
use domain::run::Job;
use store::{LedgerEntry, Record};

pub fn job_times(job: &Job, record: &Record) -> JobTimes {
    JobTimes {
        created_ms: record.created_ms,
        assigned_ms: job.assigned_ms,
        stop_requested_ms: job.stop_requested_ms,
        stop_grace_ms: job.stop_grace_ms,
        timeout_minutes: job.timeout_minutes,
    }
}

pub fn job_snapshot(job: &Job, record: &Record, prep: &PrepDurations, now_ms: i64) -> JobSnapshot {
    let times = job_times(job, record);
    if job.driver.is_real() {
        let observed = job.observed.clone().unwrap_or_default();
        return observed_snapshot(&observed, &times, job.wait_reason, now_ms);
    }
    snapshot(&job.plan, prep, &times, job.wait_reason, now_ms)
}

/// When the job lets go of its device instance, as its course stands now (a later stop
/// can only bring it forward); `None` while it has no device.
pub fn release_ms(job: &Job, record: &Record, prep: &PrepDurations) -> Option<i64> {
    job.instance_arn.as_ref()?;
    if job.driver.is_real() {
        // A real job's end is known only once its runner reports it.
        return job.observed.as_ref().and_then(|o| o.finished_ms);
    }
    domain::job::timeline::resolve(&job.plan, prep, &job_times(job, record)).end_ms
}

/// The ledger line of a job that has ended: what the snapshot bills, nothing else.
pub fn ledger_entry(record: &Record, job: &Job, snapshot: &JobSnapshot, now_ms: i64) -> LedgerEntry {
    let run_arn = record.parent_arn.clone().unwrap_or_default();
    let project_arn = record
        .arn
        .parse::<domain::arn::Arn>()
        .ok()
        .and_then(|a| a.project())
        .map(|p| p.to_string())
        .unwrap_or_default();
    LedgerEntry {
        job_arn: record.arn.clone(),
        account_id: record.account_id.clone(),
        project_arn,
        run_arn,
        device_arn: job.device.arn.clone(),
        device_name: job.device.name.clone(),
        platform: job.device.platform.as_str().to_string(),
        billing_method: job.billing_method.as_str().to_string(),
        seconds: snapshot.billed_seconds,
        started_ms: snapshot.started_ms.unwrap_or(record.created_ms),
        settled_ms: snapshot.stopped_ms.unwrap_or(now_ms),
    }
}
