//! Runs and what they contain: ScheduleRun, the Get/List operations for runs, jobs,
//! suites and tests, DeleteRun, ListUniqueProblems, and the stops.

pub(super) mod schedule;
pub mod stop;
pub mod view;

pub use schedule::schedule;

use super::records::{page_slice, RecordExt};
use super::{parse_arn, projects, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::job::status::ExecutionResult;
use domain::run::Run;
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::ApiError;
use std::collections::BTreeMap;
use view::{job_view, run_jobs, run_snapshot_of, run_view, suite_view, test_view, JobState};

async fn load_run(ctx: &Ctx, text: &str) -> Result<(Arn, store::Record, Run), ApiError> {
    let arn = parse_arn(ctx, text, ResourceKind::Run)?;
    let record = ctx.load(&arn).await?;
    let run = record.body_as()?;
    Ok((arn, record, run))
}

async fn load_job(ctx: &Ctx, arn: &Arn) -> Result<JobState, ApiError> {
    JobState::load(ctx, ctx.load(arn).await?)
}

/// Splits a suite or test ARN into its job's ARN and the indexes below it.
fn job_of(arn: &Arn, depth: usize) -> Result<(Arn, Vec<usize>), ApiError> {
    let segments: Vec<&str> = arn.segments().collect();
    let split = segments.len() - depth;
    let indexes = segments[split..]
        .iter()
        .map(|s| s.parse::<usize>().map_err(|_| super::records::not_found(arn.kind, &arn.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let job = Arn::new(&arn.region, &arn.account, ResourceKind::Job, segments[..split].join("/"));
    Ok((job, indexes))
}

pub async fn get_run(ctx: &Ctx, req: wire::GetRunRequest) -> Result<wire::GetRunResult, ApiError> {
    let (arn, record, run) = load_run(ctx, &req.arn).await?;
    let jobs = run_jobs(ctx, &arn).await?;
    Ok(wire::GetRunResult { run: Some(run_view(ctx, &record, &run, &jobs)?) })
}

pub async fn list_runs(ctx: &Ctx, req: wire::ListRunsRequest) -> Result<wire::ListRunsResult, ApiError> {
    let (project, _, _) = projects::load(ctx, &req.arn).await?;
    let (records, next_token) =
        ctx.page("ListRuns", ResourceKind::Run, Some(&project), req.next_token.as_deref()).await?;
    let mut runs = Vec::with_capacity(records.len());
    for record in &records {
        let arn: Arn = record.arn.parse().map_err(|_| ApiError::internal())?;
        let jobs = run_jobs(ctx, &arn).await?;
        runs.push(run_view(ctx, record, &record.body_as()?, &jobs)?);
    }
    Ok(wire::ListRunsResult { runs: Some(runs), next_token })
}

pub async fn delete_run(ctx: &Ctx, req: wire::DeleteRunRequest) -> Result<wire::DeleteRunResult, ApiError> {
    let (arn, _, run) = load_run(ctx, &req.arn).await?;
    let jobs = run_jobs(ctx, &arn).await?;
    if !run_snapshot_of(ctx, &run, &jobs)?.is_final {
        return Err(ApiError::argument(format!("Run {arn} is still active; stop it or let it complete first")));
    }
    // Its billing stays in the ledger: deleting a run does not un-bill it.
    ctx.remove_tree(&arn).await?;
    Ok(wire::DeleteRunResult {})
}

pub async fn get_job(ctx: &Ctx, req: wire::GetJobRequest) -> Result<wire::GetJobResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Job)?;
    let state = load_job(ctx, &arn).await?;
    Ok(wire::GetJobResult { job: Some(job_view(ctx, &state)?) })
}

pub async fn list_jobs(ctx: &Ctx, req: wire::ListJobsRequest) -> Result<wire::ListJobsResult, ApiError> {
    let (arn, _, _) = load_run(ctx, &req.arn).await?;
    let (records, next_token) = ctx.page("ListJobs", ResourceKind::Job, Some(&arn), req.next_token.as_deref()).await?;
    let jobs = records
        .into_iter()
        .map(|r| JobState::load(ctx, r).and_then(|s| job_view(ctx, &s)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(wire::ListJobsResult { jobs: Some(jobs), next_token })
}

pub async fn get_suite(ctx: &Ctx, req: wire::GetSuiteRequest) -> Result<wire::GetSuiteResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Suite)?;
    let (job_arn, idx) = job_of(&arn, 1)?;
    let state = load_job(ctx, &job_arn).await.map_err(|_| super::records::not_found(arn.kind, &req.arn))?;
    let suite = state.snapshot.suites.get(idx[0]).ok_or_else(|| super::records::not_found(arn.kind, &req.arn))?;
    Ok(wire::GetSuiteResult { suite: Some(suite_view(&state, idx[0], suite)?) })
}

pub async fn list_suites(ctx: &Ctx, req: wire::ListSuitesRequest) -> Result<wire::ListSuitesResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Job)?;
    let state = load_job(ctx, &arn).await?;
    let all = state
        .snapshot
        .suites
        .iter()
        .enumerate()
        .map(|(i, s)| suite_view(&state, i, s))
        .collect::<Result<Vec<_>, _>>()?;
    let scope = format!("ListSuites|{arn}");
    let (page, next_token) =
        page_slice(ctx, &scope, &all, |s| s.arn.clone().unwrap_or_default(), req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListSuitesResult { suites: Some(page.to_vec()), next_token })
}

pub async fn get_test(ctx: &Ctx, req: wire::GetTestRequest) -> Result<wire::GetTestResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Test)?;
    let (job_arn, idx) = job_of(&arn, 2)?;
    let missing = || super::records::not_found(arn.kind, &req.arn);
    let state = load_job(ctx, &job_arn).await.map_err(|_| missing())?;
    let test = state.snapshot.suites.get(idx[0]).and_then(|s| s.tests.get(idx[1])).ok_or_else(missing)?;
    Ok(wire::GetTestResult { test: Some(test_view(&state, idx[0], idx[1], test)?) })
}

pub async fn list_tests(ctx: &Ctx, req: wire::ListTestsRequest) -> Result<wire::ListTestsResult, ApiError> {
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Suite)?;
    let (job_arn, idx) = job_of(&arn, 1)?;
    let missing = || super::records::not_found(arn.kind, &req.arn);
    let state = load_job(ctx, &job_arn).await.map_err(|_| missing())?;
    let suite = state.snapshot.suites.get(idx[0]).ok_or_else(missing)?;
    let all =
        suite.tests.iter().enumerate().map(|(i, t)| test_view(&state, idx[0], i, t)).collect::<Result<Vec<_>, _>>()?;
    let scope = format!("ListTests|{arn}");
    let (page, next_token) =
        page_slice(ctx, &scope, &all, |t| t.arn.clone().unwrap_or_default(), req.next_token.as_deref(), PAGE_SIZE)?;
    Ok(wire::ListTestsResult { tests: Some(page.to_vec()), next_token })
}

/// Failures of a run grouped by result, then by message: what a dashboard shows as "N
/// devices failed with …".
pub async fn list_unique_problems(
    ctx: &Ctx,
    req: wire::ListUniqueProblemsRequest,
) -> Result<wire::ListUniqueProblemsResult, ApiError> {
    let (arn, record, run) = load_run(ctx, &req.arn).await?;
    let mut grouped: BTreeMap<String, BTreeMap<String, Vec<wire::Problem>>> = BTreeMap::new();
    for job_record in run_jobs(ctx, &arn).await? {
        let state = JobState::load(ctx, job_record)?;
        let job_arn = state.arn()?;
        for (si, suite) in state.snapshot.suites.iter().enumerate() {
            for (ti, test) in suite.tests.iter().enumerate() {
                if !matches!(
                    test.result,
                    ExecutionResult::Failed
                        | ExecutionResult::Errored
                        | ExecutionResult::Warned
                        | ExecutionResult::Stopped
                ) {
                    continue;
                }
                let message =
                    test.message.clone().unwrap_or_else(|| format!("Test {}", test.result.as_str().to_lowercase()));
                let detail = |arn: String, name: &str| {
                    Some(wire::ProblemDetail { arn: Some(arn), name: Some(name.to_string()) })
                };
                let problem = wire::Problem {
                    run: detail(record.arn.clone(), &run.name),
                    job: detail(job_arn.to_string(), &state.job.device.name),
                    suite: detail(view::suite_arn(&job_arn, si).to_string(), &suite.name),
                    test: detail(view::test_arn(&job_arn, si, ti).to_string(), &test.name),
                    device: Some(super::devices::device_to_wire(&state.job.device)),
                    result: wire::ExecutionResult::parse(test.result.as_str()),
                    message: Some(message.clone()),
                };
                grouped.entry(test.result.as_str().to_string()).or_default().entry(message).or_default().push(problem);
            }
        }
    }
    let unique_problems = grouped
        .into_iter()
        .map(|(result, by_message)| {
            let problems = by_message
                .into_iter()
                .map(|(message, problems)| wire::UniqueProblem { message: Some(message), problems: Some(problems) })
                .collect();
            (result, problems)
        })
        .collect();
    Ok(wire::ListUniqueProblemsResult { unique_problems: Some(unique_problems), next_token: None })
}
