//! The dashboard is a client of the Device Farm operations, in process: every read and
//! every stop goes through [`crate::api::dispatch`] with the viewer's account, so a page
//! shows what GetRun or ListJobs would answer at that instant and the stop buttons are
//! StopRun and StopJob themselves (validation, ownership, stop rules and all).
//!
//! Going through the encoded body costs a JSON round trip per call; in exchange there is no
//! second path into the operations that could drift from the one the SDKs use.

use crate::api::{dispatch, Ctx};
use protocol::model::{self as wire, Operation};
use protocol::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub async fn call<Req: Serialize, Res: DeserializeOwned>(
    ctx: &Ctx,
    op: Operation,
    request: &Req,
) -> Result<Res, ApiError> {
    let body = serde_json::to_vec(request).map_err(|_| ApiError::internal())?;
    let answer = dispatch(ctx, op, &body).await?;
    serde_json::from_slice(&answer).map_err(|e| ctx.internal(format!("{} answer does not decode: {e}", op.name())))
}

/// Every page of a list operation, for lists a page shows whole (a run's jobs, a job's
/// suites, the fleet).
async fn all<Req, Res, T>(
    ctx: &Ctx,
    op: Operation,
    mut request: Req,
    set_token: impl Fn(&mut Req, Option<String>),
    items: impl Fn(Res) -> (Vec<T>, Option<String>),
) -> Result<Vec<T>, ApiError>
where
    Req: Serialize,
    Res: DeserializeOwned,
{
    let mut out = Vec::new();
    loop {
        let (page, next) = items(call(ctx, op, &request).await?);
        out.extend(page);
        match next {
            Some(token) => set_token(&mut request, Some(token)),
            None => return Ok(out),
        }
    }
}

pub async fn projects(ctx: &Ctx) -> Result<Vec<wire::Project>, ApiError> {
    all(
        ctx,
        Operation::ListProjects,
        wire::ListProjectsRequest::default(),
        |r, t| r.next_token = t,
        |r: wire::ListProjectsResult| (r.projects.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn project(ctx: &Ctx, arn: &str) -> Result<wire::Project, ApiError> {
    let r: wire::GetProjectResult =
        call(ctx, Operation::GetProject, &wire::GetProjectRequest { arn: arn.into() }).await?;
    r.project.ok_or_else(ApiError::internal)
}

/// One page of a project's runs (a project may have thousands: the page links to the next).
pub async fn runs_page(
    ctx: &Ctx,
    project_arn: &str,
    next_token: Option<String>,
) -> Result<(Vec<wire::Run>, Option<String>), ApiError> {
    let r: wire::ListRunsResult =
        call(ctx, Operation::ListRuns, &wire::ListRunsRequest { arn: project_arn.into(), next_token }).await?;
    Ok((r.runs.unwrap_or_default(), r.next_token))
}

pub async fn run(ctx: &Ctx, arn: &str) -> Result<wire::Run, ApiError> {
    let r: wire::GetRunResult = call(ctx, Operation::GetRun, &wire::GetRunRequest { arn: arn.into() }).await?;
    r.run.ok_or_else(ApiError::internal)
}

pub async fn jobs(ctx: &Ctx, run_arn: &str) -> Result<Vec<wire::Job>, ApiError> {
    all(
        ctx,
        Operation::ListJobs,
        wire::ListJobsRequest { arn: run_arn.into(), next_token: None },
        |r, t| r.next_token = t,
        |r: wire::ListJobsResult| (r.jobs.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn job(ctx: &Ctx, arn: &str) -> Result<wire::Job, ApiError> {
    let r: wire::GetJobResult = call(ctx, Operation::GetJob, &wire::GetJobRequest { arn: arn.into() }).await?;
    r.job.ok_or_else(ApiError::internal)
}

pub async fn suites(ctx: &Ctx, job_arn: &str) -> Result<Vec<wire::Suite>, ApiError> {
    all(
        ctx,
        Operation::ListSuites,
        wire::ListSuitesRequest { arn: job_arn.into(), next_token: None },
        |r, t| r.next_token = t,
        |r: wire::ListSuitesResult| (r.suites.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn tests(ctx: &Ctx, suite_arn: &str) -> Result<Vec<wire::Test>, ApiError> {
    all(
        ctx,
        Operation::ListTests,
        wire::ListTestsRequest { arn: suite_arn.into(), next_token: None },
        |r, t| r.next_token = t,
        |r: wire::ListTestsResult| (r.tests.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn artifacts(
    ctx: &Ctx,
    arn: &str,
    category: wire::ArtifactCategory,
) -> Result<Vec<wire::Artifact>, ApiError> {
    all(
        ctx,
        Operation::ListArtifacts,
        wire::ListArtifactsRequest { arn: arn.into(), next_token: None, r#type: category },
        |r, t| r.next_token = t,
        |r: wire::ListArtifactsResult| (r.artifacts.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn samples(ctx: &Ctx, job_arn: &str) -> Result<Vec<wire::Sample>, ApiError> {
    all(
        ctx,
        Operation::ListSamples,
        wire::ListSamplesRequest { arn: job_arn.into(), next_token: None },
        |r, t| r.next_token = t,
        |r: wire::ListSamplesResult| (r.samples.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn devices(ctx: &Ctx) -> Result<Vec<wire::Device>, ApiError> {
    all(
        ctx,
        Operation::ListDevices,
        wire::ListDevicesRequest::default(),
        |r, t| r.next_token = t,
        |r: wire::ListDevicesResult| (r.devices.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn stop_run(ctx: &Ctx, arn: &str) -> Result<wire::Run, ApiError> {
    let r: wire::StopRunResult = call(ctx, Operation::StopRun, &wire::StopRunRequest { arn: arn.into() }).await?;
    r.run.ok_or_else(ApiError::internal)
}

pub async fn stop_job(ctx: &Ctx, arn: &str) -> Result<wire::Job, ApiError> {
    let r: wire::StopJobResult = call(ctx, Operation::StopJob, &wire::StopJobRequest { arn: arn.into() }).await?;
    r.job.ok_or_else(ApiError::internal)
}

pub async fn testgrid_projects(ctx: &Ctx) -> Result<Vec<wire::TestGridProject>, ApiError> {
    all(
        ctx,
        Operation::ListTestGridProjects,
        wire::ListTestGridProjectsRequest::default(),
        |r, t| r.next_token = t,
        |r: wire::ListTestGridProjectsResult| (r.test_grid_projects.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn testgrid_project(ctx: &Ctx, arn: &str) -> Result<wire::TestGridProject, ApiError> {
    let request = wire::GetTestGridProjectRequest { project_arn: arn.into() };
    let r: wire::GetTestGridProjectResult = call(ctx, Operation::GetTestGridProject, &request).await?;
    r.test_grid_project.ok_or_else(ApiError::internal)
}

pub async fn testgrid_sessions(ctx: &Ctx, project_arn: &str) -> Result<Vec<wire::TestGridSession>, ApiError> {
    all(
        ctx,
        Operation::ListTestGridSessions,
        wire::ListTestGridSessionsRequest { project_arn: project_arn.into(), ..Default::default() },
        |r, t| r.next_token = t,
        |r: wire::ListTestGridSessionsResult| (r.test_grid_sessions.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn testgrid_session(ctx: &Ctx, arn: &str) -> Result<wire::TestGridSession, ApiError> {
    let request = wire::GetTestGridSessionRequest { session_arn: Some(arn.into()), ..Default::default() };
    let r: wire::GetTestGridSessionResult = call(ctx, Operation::GetTestGridSession, &request).await?;
    r.test_grid_session.ok_or_else(ApiError::internal)
}

pub async fn testgrid_actions(ctx: &Ctx, session_arn: &str) -> Result<Vec<wire::TestGridSessionAction>, ApiError> {
    all(
        ctx,
        Operation::ListTestGridSessionActions,
        wire::ListTestGridSessionActionsRequest { session_arn: session_arn.into(), ..Default::default() },
        |r, t| r.next_token = t,
        |r: wire::ListTestGridSessionActionsResult| (r.actions.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn testgrid_artifacts(ctx: &Ctx, session_arn: &str) -> Result<Vec<wire::TestGridSessionArtifact>, ApiError> {
    all(
        ctx,
        Operation::ListTestGridSessionArtifacts,
        wire::ListTestGridSessionArtifactsRequest { session_arn: session_arn.into(), ..Default::default() },
        |r, t| r.next_token = t,
        |r: wire::ListTestGridSessionArtifactsResult| (r.artifacts.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn remote_sessions(ctx: &Ctx, project_arn: &str) -> Result<Vec<wire::RemoteAccessSession>, ApiError> {
    all(
        ctx,
        Operation::ListRemoteAccessSessions,
        wire::ListRemoteAccessSessionsRequest { arn: project_arn.to_string(), ..Default::default() },
        |r, t| r.next_token = t,
        |r: wire::ListRemoteAccessSessionsResult| (r.remote_access_sessions.unwrap_or_default(), r.next_token),
    )
    .await
}

pub async fn remote_session(ctx: &Ctx, arn: &str) -> Result<wire::RemoteAccessSession, ApiError> {
    let request = wire::GetRemoteAccessSessionRequest { arn: arn.to_string() };
    let answer: wire::GetRemoteAccessSessionResult = call(ctx, Operation::GetRemoteAccessSession, &request).await?;
    answer.remote_access_session.ok_or_else(ApiError::internal)
}

pub async fn create_remote_session(
    ctx: &Ctx,
    project_arn: &str,
    device_arn: &str,
) -> Result<wire::RemoteAccessSession, ApiError> {
    let request = wire::CreateRemoteAccessSessionRequest {
        project_arn: project_arn.to_string(),
        device_arn: device_arn.to_string(),
        ..Default::default()
    };
    let answer: wire::CreateRemoteAccessSessionResult =
        call(ctx, Operation::CreateRemoteAccessSession, &request).await?;
    answer.remote_access_session.ok_or_else(ApiError::internal)
}

pub async fn stop_remote_session(ctx: &Ctx, arn: &str) -> Result<wire::RemoteAccessSession, ApiError> {
    let request = wire::StopRemoteAccessSessionRequest { arn: arn.to_string() };
    let answer: wire::StopRemoteAccessSessionResult = call(ctx, Operation::StopRemoteAccessSession, &request).await?;
    answer.remote_access_session.ok_or_else(ApiError::internal)
}

pub async fn install_to_remote_session(ctx: &Ctx, session_arn: &str, app_arn: &str) -> Result<(), ApiError> {
    let request = wire::InstallToRemoteAccessSessionRequest {
        remote_access_session_arn: session_arn.to_string(),
        app_arn: app_arn.to_string(),
    };
    let _: wire::InstallToRemoteAccessSessionResult =
        call(ctx, Operation::InstallToRemoteAccessSession, &request).await?;
    Ok(())
}

pub async fn uploads(ctx: &Ctx, project_arn: &str) -> Result<Vec<wire::Upload>, ApiError> {
    all(
        ctx,
        Operation::ListUploads,
        wire::ListUploadsRequest { arn: project_arn.to_string(), ..Default::default() },
        |r, t| r.next_token = t,
        |r: wire::ListUploadsResult| (r.uploads.unwrap_or_default(), r.next_token),
    )
    .await
}
