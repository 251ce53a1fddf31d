//! StopJob and StopRun. What a stop *means* (which tests end STOPPED, what is billed, when
//! the device is released) is decided by `domain::job::stop` and the timeline; here a stop
//! is only recorded: the first request's instant and the server's stop grace at that
//! moment, once, with optimistic concurrency so it cannot race the scheduler (assignment,
//! settlement) or another stop into a lost write. The grace is stored, not read at each
//! look, so a later `--stop-grace-seconds` cannot move an interrupted test's end.

use super::super::records::RecordExt;
use super::super::{parse_arn, Ctx};
use super::view::{job_view, run_jobs, run_snapshot_of, run_view, JobState};
use domain::arn::{Arn, ResourceKind};
use domain::run::{Job, Run};
use protocol::model as wire;
use protocol::ApiError;
use store::StoreError;

/// Records a stop (`at_ms`, `grace_ms`) for the job at `arn` unless it has ended or a stop
/// is already recorded, and returns the job as it is right after.
async fn request_job_stop(ctx: &Ctx, arn: &Arn, at_ms: i64, grace_ms: i64) -> Result<JobState, ApiError> {
    loop {
        let state = JobState::load(ctx, ctx.load(arn).await?)?;
        if state.snapshot.is_final || state.job.stop_requested_ms.is_some() {
            return Ok(state);
        }
        let mut record = state.record;
        let mut job: Job = state.job;
        job.request_stop(at_ms, grace_ms);
        record.body = super::super::records::to_body(&job)?;
        match ctx.state.store.update(&record).await {
            Ok(updated) => {
                let state = JobState::load(ctx, updated)?;
                // The stop may bring the device's release forward: show it from now on.
                let release = engine::job_view::release_ms(&state.job, &state.record, ctx.state.engine.prep());
                if let (Some(instance), Some(at)) = (&state.job.instance_arn, release) {
                    ctx.state.engine.note_release(instance, at);
                }
                // A real job's host hears the stop now, pushed by whichever replica it is
                // connected to.
                if state.job.driver.is_real() && state.job.instance_arn.is_some() {
                    ctx.state.hub.job_changed(&state.record.arn, &state.job).await;
                }
                return Ok(state);
            }
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound) => {
                return Err(super::super::records::not_found(ResourceKind::Job, &arn.to_string()))
            }
            Err(e) => return Err(ctx.internal(e)),
        }
    }
}

pub async fn stop_job(ctx: &Ctx, req: wire::StopJobRequest) -> Result<wire::StopJobResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Job)?;
    let state = request_job_stop(ctx, &arn, ctx.state.now_ms(), ctx.state.stop_grace_ms).await?;
    ctx.state.engine.wake();
    ctx.state.announce_change();
    Ok(wire::StopJobResult { job: Some(job_view(ctx, &state)?) })
}

pub async fn stop_run(ctx: &Ctx, req: wire::StopRunRequest) -> Result<wire::StopRunResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Run)?;
    let now = ctx.state.now_ms();
    let (record, run) = loop {
        let record = ctx.load(&arn).await?;
        let run: Run = record.body_as()?;
        let jobs = run_jobs(ctx, &arn).await?;
        if run.stop_requested_ms.is_some() || run_snapshot_of(ctx, &run, &jobs)?.is_final {
            break (record, run);
        }
        let mut stopped = run.clone();
        stopped.stop_requested_ms = Some(now);
        stopped.stop_grace_ms = Some(ctx.state.stop_grace_ms);
        let mut updated = record.clone();
        updated.body = super::super::records::to_body(&stopped)?;
        match ctx.state.store.update(&updated).await {
            Ok(r) => break (r, stopped),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(ctx.internal(e)),
        }
    };
    // Every job gets the same stop instant and grace, so pending jobs never start and
    // running ones follow the same rules StopJob applies; a StopRun that finishes an earlier
    // one's fan-out uses what that one recorded.
    let stop_at = run.stop_requested_ms.unwrap_or(now);
    let grace = run.stop_grace_ms.unwrap_or(ctx.state.stop_grace_ms);
    for job in run_jobs(ctx, &arn).await? {
        let job_arn: Arn = job.arn.parse().map_err(|_| ApiError::internal())?;
        request_job_stop(ctx, &job_arn, stop_at, grace).await?;
    }
    ctx.state.engine.wake();
    ctx.state.announce_change();
    let jobs = run_jobs(ctx, &arn).await?;
    Ok(wire::StopRunResult { run: Some(run_view(ctx, &record, &run, &jobs)?) })
}
