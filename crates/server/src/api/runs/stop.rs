//! StopJob and StopRun. What a stop *means* (which tests end STOPPED, what is billed, when
//! the device is released) is decided by `domain::job::stop` and the timeline; here a stop
//! is only recorded (`Job::request_stop`: the first request's instant and the server's stop
//! grace at that moment, once), with optimistic concurrency so it cannot race the scheduler
//! (assignment, settlement) or another stop into a lost write, and then announced once.
//! The grace is stored, not read at each look, so a later `--stop-grace-seconds` cannot
//! move an interrupted test's end.

use super::super::records::{not_found, RecordExt};
use super::super::{parse_arn, Ctx};
use super::view::{job_view, run_jobs, run_snapshot_of, run_view, JobState};
use domain::arn::ResourceKind;
use domain::run::{Job, Run};
use engine::stop_events::StoppedJob;
use protocol::model as wire;
use protocol::ApiError;
use store::{Record, StoreError};

/// The job's record with a stop at `at_ms` (grace `grace_ms`) recorded, or `None` when the
/// stop changes nothing: the job has ended, or an earlier stop is recorded (the first wins).
fn with_stop(state: &JobState, at_ms: i64, grace_ms: i64) -> Result<Option<Record>, ApiError> {
    if state.snapshot.is_final {
        return Ok(None);
    }
    let mut job: Job = state.job.clone();
    if !job.request_stop(at_ms, grace_ms) {
        return Ok(None);
    }
    let mut record = state.record.clone();
    record.set_body(&job)?;
    Ok(Some(record))
}

/// Publishes the stops just written (`engine::stop_events`): the scheduler, the hosts of
/// real jobs and the live pages act on them.
async fn announce_stops(ctx: &Ctx, written: &[JobState]) {
    let stopped: Vec<StoppedJob<'_>> = written
        .iter()
        .map(|s| StoppedJob {
            arn: &s.record.arn,
            job: &s.job,
            release_ms: engine::job_view::release_ms(&s.job, &s.record, ctx.state.engine.prep()),
        })
        .collect();
    ctx.state.stop_events.publish(&stopped).await;
}

pub async fn stop_job(ctx: &Ctx, req: wire::StopJobRequest) -> Result<wire::StopJobResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Job)?;
    let (at_ms, grace_ms) = (ctx.state.now_ms(), ctx.state.stop_grace_ms);
    let state = loop {
        let state = JobState::load(ctx, ctx.load(&arn).await?)?;
        let Some(stopped) = with_stop(&state, at_ms, grace_ms)? else { break state };
        match ctx.state.store.update(&stopped).await {
            Ok(written) => {
                let state = JobState::load(ctx, written)?;
                announce_stops(ctx, std::slice::from_ref(&state)).await;
                break state;
            }
            // The scheduler or another stop wrote first: decide again on what it wrote.
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound) => return Err(not_found(ResourceKind::Job, &arn.to_string())),
            Err(e) => return Err(ctx.internal(e)),
        }
    };
    Ok(wire::StopJobResult { job: Some(job_view(ctx, &state)?) })
}

/// Records the stop on the run and every job that has not ended, all in one transaction: a
/// crash leaves the run either untouched or stopping with all its jobs. Every job gets the
/// run's stop instant and grace, so pending jobs never start and running ones follow the
/// rules StopJob applies; a job stopped on its own before keeps its earlier stop.
pub async fn stop_run(ctx: &Ctx, req: wire::StopRunRequest) -> Result<wire::StopRunResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Run)?;
    let now = ctx.state.now_ms();
    loop {
        let record = ctx.load(&arn).await?;
        let run: Run = record.body_as()?;
        let jobs = run_jobs(ctx, &arn).await?;
        if run.stop_requested_ms.is_none() && run_snapshot_of(ctx, &run, &jobs)?.is_final {
            break;
        }
        // A run stopped already (by a release that wrote the run first) lends its own
        // instant and grace to any job still without a stop.
        let at_ms = run.stop_requested_ms.unwrap_or(now);
        let grace_ms = run.stop_grace_ms.unwrap_or(ctx.state.stop_grace_ms);
        let mut batch = Vec::new();
        let mut stopped = run;
        if stopped.request_stop(at_ms, grace_ms) {
            let mut record = record;
            record.set_body(&stopped)?;
            batch.push(record);
        }
        for job in jobs {
            batch.extend(with_stop(&JobState::load(ctx, job)?, at_ms, grace_ms)?);
        }
        if batch.is_empty() {
            break;
        }
        match ctx.state.store.update_all(&batch).await {
            Ok(written) => {
                let jobs = written
                    .into_iter()
                    .filter(|r| r.kind == ResourceKind::Job.into())
                    .map(|r| JobState::load(ctx, r))
                    .collect::<Result<Vec<_>, _>>()?;
                announce_stops(ctx, &jobs).await;
                break;
            }
            // Something of the run moved since it was read (the scheduler assigned a job, a
            // StopJob landed, the run was deleted): decide again on what is there now.
            Err(StoreError::Conflict | StoreError::NotFound) => continue,
            Err(e) => return Err(ctx.internal(e)),
        }
    }
    let (record, run) = {
        let record = ctx.load(&arn).await?;
        let run: Run = record.body_as()?;
        (record, run)
    };
    let jobs = run_jobs(ctx, &arn).await?;
    Ok(wire::StopRunResult { run: Some(run_view(ctx, &record, &run, &jobs)?) })
}
