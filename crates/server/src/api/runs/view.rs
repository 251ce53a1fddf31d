//! Stored runs and jobs → the wire's Run, Job, Suite and Test, computed at the request's
//! instant from the timeline. Every operation that returns one of these (Get*, List*,
//! ScheduleRun, StopJob, StopRun) builds it here, so they all show the same thing.

use super::super::devices::{device_to_wire, job_device};
use super::super::records::{epoch_seconds, RecordExt};
use super::super::Ctx;
use domain::arn::{index, Arn, ResourceKind};
use domain::job::billing::DeviceMinutes;
use domain::job::counters::Counters;
use domain::job::run::{run_snapshot, RunSnapshot};
use domain::job::snapshot::{JobSnapshot, SuiteSnapshot, TestSnapshot};
use domain::run::{BillingMethod, Job, Run};
use engine::job_view::job_snapshot;
use protocol::model as wire;
use protocol::ApiError;
use store::Record;

pub fn counters(c: &Counters) -> wire::Counters {
    wire::Counters {
        total: Some(c.total),
        passed: Some(c.passed),
        failed: Some(c.failed),
        warned: Some(c.warned),
        errored: Some(c.errored),
        stopped: Some(c.stopped),
        skipped: Some(c.skipped),
    }
}

pub fn minutes(seconds: i64, method: BillingMethod) -> wire::DeviceMinutes {
    let m = DeviceMinutes::from_seconds(seconds, method);
    wire::DeviceMinutes { total: Some(m.total), metered: Some(m.metered), unmetered: Some(m.unmetered) }
}

fn status(s: domain::job::status::ExecutionStatus) -> Option<wire::ExecutionStatus> {
    wire::ExecutionStatus::parse(s.as_str())
}

fn result(r: domain::job::status::ExecutionResult) -> Option<wire::ExecutionResult> {
    wire::ExecutionResult::parse(r.as_str())
}

fn test_type(t: domain::upload::TestType) -> Option<wire::TestType> {
    wire::TestType::parse(t.as_str())
}

/// A job's record and body, with its snapshot at the request's instant.
pub struct JobState {
    pub record: Record,
    pub job: Job,
    pub snapshot: JobSnapshot,
}

impl JobState {
    pub fn load(ctx: &Ctx, record: Record) -> Result<JobState, ApiError> {
        let job: Job = record.body_as()?;
        let snapshot = job_snapshot(&job, &record, ctx.state.engine.prep(), ctx.state.now_ms());
        Ok(JobState { record, job, snapshot })
    }

    pub fn arn(&self) -> Result<Arn, ApiError> {
        self.record.arn.parse().map_err(|_| ApiError::internal())
    }
}

pub fn suite_arn(job: &Arn, suite: usize) -> Arn {
    job.child(ResourceKind::Suite, &index(suite as u32))
}

pub fn test_arn(job: &Arn, suite: usize, test: usize) -> Arn {
    let suite = suite_arn(job, suite);
    Arn::new(&suite.region, &suite.account, ResourceKind::Test, format!("{}/{}", suite.id, index(test as u32)))
}

/// A presigned URL of the job's live screen stream (`server::downloads::video`).
pub fn video_endpoint(ctx: &Ctx, job: &Arn) -> Result<String, ApiError> {
    crate::presign::url(&ctx.state, "GET", &format!("/video/{}/{}", job.account, job.id))
}

pub fn job_view(ctx: &Ctx, state: &JobState) -> Result<wire::Job, ApiError> {
    let s = &state.snapshot;
    let arn = state.arn()?;
    Ok(wire::Job {
        arn: Some(state.record.arn.clone()),
        name: Some(state.job.device.name.clone()),
        r#type: test_type(state.job.test_type),
        created: Some(epoch_seconds(state.record.created_ms)),
        status: status(s.status),
        result: result(s.result),
        started: s.started_ms.map(epoch_seconds),
        stopped: s.stopped_ms.map(epoch_seconds),
        counters: Some(counters(&s.counters)),
        message: s.message.clone(),
        device: Some(device_to_wire(&job_device(ctx, &state.job.device))),
        instance_arn: state.job.instance_arn.clone(),
        device_minutes: Some(minutes(s.billed_seconds, state.job.billing_method)),
        video_endpoint: state.job.video_capture.then(|| video_endpoint(ctx, &arn)).transpose()?,
        video_capture: Some(state.job.video_capture),
    })
}

pub fn suite_view(state: &JobState, suite_index: usize, suite: &SuiteSnapshot) -> Result<wire::Suite, ApiError> {
    let job_arn = state.arn()?;
    Ok(wire::Suite {
        arn: Some(suite_arn(&job_arn, suite_index).to_string()),
        name: Some(suite.name.clone()),
        r#type: test_type(state.job.test_type),
        created: Some(epoch_seconds(state.record.created_ms)),
        status: status(suite.status),
        result: result(suite.result),
        started: suite.started_ms.map(epoch_seconds),
        stopped: suite.stopped_ms.map(epoch_seconds),
        counters: Some(counters(&suite.counters)),
        message: suite.message.clone(),
        device_minutes: Some(minutes(suite.billed_seconds, state.job.billing_method)),
    })
}

pub fn test_view(
    state: &JobState,
    suite_index: usize,
    test_index: usize,
    test: &TestSnapshot,
) -> Result<wire::Test, ApiError> {
    let job_arn = state.arn()?;
    Ok(wire::Test {
        arn: Some(test_arn(&job_arn, suite_index, test_index).to_string()),
        name: Some(test.name.clone()),
        r#type: test_type(state.job.test_type),
        created: Some(epoch_seconds(state.record.created_ms)),
        status: status(test.status),
        result: result(test.result),
        started: test.started_ms.map(epoch_seconds),
        stopped: test.stopped_ms.map(epoch_seconds),
        counters: Some(counters(&test.counters)),
        message: test.message.clone(),
        device_minutes: Some(minutes(test.billed_seconds, state.job.billing_method)),
    })
}

/// Every job of a run, in index order.
pub async fn run_jobs(ctx: &Ctx, run_arn: &Arn) -> Result<Vec<Record>, ApiError> {
    let mut query = store::ListQuery::new(ctx.account.id.clone(), ResourceKind::Job, 1000);
    query.parent_arn = Some(run_arn.to_string());
    let mut records = Vec::new();
    loop {
        let page = ctx.state.store.list(&query).await.map_err(|e| ctx.internal(e))?;
        records.extend(page.records);
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    records.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(records)
}

pub fn run_snapshot_of(ctx: &Ctx, run: &Run, jobs: &[Record]) -> Result<RunSnapshot, ApiError> {
    let snapshots =
        jobs.iter().map(|r| JobState::load(ctx, r.clone()).map(|s| s.snapshot)).collect::<Result<Vec<_>, _>>()?;
    Ok(run_snapshot(&snapshots, run.stop_requested_ms, ctx.state.now_ms()))
}

fn echo<T: serde::de::DeserializeOwned>(run: &Run, key: &str) -> Option<T> {
    run.echo.get(key).and_then(|v| serde_json::from_value(v.clone()).ok())
}

pub fn run_view(ctx: &Ctx, record: &Record, run: &Run, jobs: &[Record]) -> Result<wire::Run, ApiError> {
    let s = run_snapshot_of(ctx, run, jobs)?;
    let configuration: wire::ScheduleRunConfiguration = echo(run, "configuration").unwrap_or_default();
    let execution: wire::ExecutionConfiguration = echo(run, "executionConfiguration").unwrap_or_default();
    // The built-in fuzz test takes its seed and event count as test parameters; the run
    // reports them back as members of their own.
    let parameters: std::collections::BTreeMap<String, String> = echo(run, "testParameters").unwrap_or_default();
    let parameter = |name: &str| parameters.get(name).and_then(|v| v.parse::<i32>().ok());
    Ok(wire::Run {
        arn: Some(record.arn.clone()),
        name: Some(run.name.clone()),
        r#type: test_type(run.test_type),
        platform: wire::DevicePlatform::parse(run.platform.as_str()),
        created: Some(epoch_seconds(record.created_ms)),
        status: status(s.status),
        result: result(s.result),
        started: s.started_ms.map(epoch_seconds),
        stopped: s.stopped_ms.map(epoch_seconds),
        counters: Some(counters(&s.counters)),
        message: None,
        total_jobs: Some(s.total_jobs),
        completed_jobs: Some(s.completed_jobs),
        billing_method: wire::BillingMethod::parse(run.billing_method.as_str()),
        device_minutes: Some(minutes(s.billed_seconds, run.billing_method)),
        network_profile: run.network.profile.as_ref().map(crate::api::network_profiles::shape_to_wire),
        device_proxy: configuration.device_proxy,
        parsing_result_url: None,
        result_code: None,
        seed: parameter("seed"),
        app_upload: run.app_arn.clone(),
        event_count: parameter("event_count"),
        job_timeout_minutes: Some(run.job_timeout_minutes),
        device_pool_arn: run.device_pool_arn.clone(),
        locale: configuration.locale,
        radios: configuration.radios,
        location: configuration.location,
        customer_artifact_paths: configuration.customer_artifact_paths,
        web_url: None,
        skip_app_resign: Some(execution.skip_app_resign.unwrap_or(ctx.account.settings.skip_app_resign)),
        test_spec_arn: run.test_spec_arn.clone(),
        device_selection_result: run.device_selection.as_ref().map(|d| wire::DeviceSelectionResult {
            filters: serde_json::from_value(d.filters.clone()).ok(),
            matched_devices_count: Some(d.matched_devices_count as i32),
            max_devices: Some(d.max_devices as i32),
        }),
        vpc_config: echo(run, "vpcConfig"),
        execution_role_arn: echo(run, "executionRoleArn"),
        environment_variables: echo(run, "environmentVariables"),
    })
}
