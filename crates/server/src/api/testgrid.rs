//! Desktop browser testing's ten operations: TestGrid projects, the hub URL, and the
//! sessions the hub ran with their actions and artifacts (`crate::testgrid` runs them).

use super::records::{epoch_seconds, not_found, page_slice, RecordExt};
use super::{parse_arn, Ctx};
use crate::sealed_url::Grant;
use crate::testgrid::actions;
use crate::testgrid::artifacts::download_path;
use domain::arn::{Arn, ResourceKind};
use domain::resources::VpcConfig;
use domain::testgrid::{SessionArtifactKind, SessionStatus, TestGridProject, TestGridSession};
use protocol::model as wire;
use protocol::pagination::PAGE_SIZE;
use protocol::{ApiError, ErrorCode};
use store::{ListQuery, Record};

fn vpc_from_wire(v: wire::TestGridVpcConfig) -> Result<VpcConfig, ApiError> {
    let vpc = VpcConfig { security_group_ids: v.security_group_ids, subnet_ids: v.subnet_ids, vpc_id: v.vpc_id };
    vpc.check().map_err(ApiError::argument)?;
    Ok(vpc)
}

fn project_to_wire(record: &Record, project: TestGridProject) -> wire::TestGridProject {
    wire::TestGridProject {
        arn: Some(record.arn.clone()),
        created: Some(epoch_seconds(record.created_ms)),
        description: project.description,
        name: Some(project.name),
        vpc_config: project.vpc_config.map(|v| wire::TestGridVpcConfig {
            security_group_ids: v.security_group_ids,
            subnet_ids: v.subnet_ids,
            vpc_id: v.vpc_id,
        }),
    }
}

fn session_to_wire(ctx: &Ctx, record: &Record, session: &TestGridSession) -> wire::TestGridSession {
    wire::TestGridSession {
        arn: Some(record.arn.clone()),
        billing_minutes: Some(session.billing_minutes(ctx.state.now_ms())),
        created: Some(epoch_seconds(session.created_ms)),
        ended: session.ended_ms.map(epoch_seconds),
        selenium_properties: Some(session.selenium_properties.clone()),
        status: Some(match session.status() {
            SessionStatus::Active => wire::TestGridSessionStatus::Active,
            SessionStatus::Closed => wire::TestGridSessionStatus::Closed,
            SessionStatus::Errored => wire::TestGridSessionStatus::Errored,
        }),
    }
}

fn limit(max_result: Option<i32>) -> usize {
    max_result.map_or(PAGE_SIZE, |n| (n.max(1) as usize).min(1000))
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::argument("name must not be blank"));
    }
    Ok(())
}

async fn load_project(ctx: &Ctx, text: &str) -> Result<(Arn, Record, TestGridProject), ApiError> {
    let arn = parse_arn(ctx, text, ResourceKind::TestGridProject)?;
    let record = ctx.load(&arn).await?;
    let project = record.body_as()?;
    Ok((arn, record, project))
}

pub async fn create_project(
    ctx: &Ctx,
    req: wire::CreateTestGridProjectRequest,
) -> Result<wire::CreateTestGridProjectResult, ApiError> {
    check_name(&req.name)?;
    let project = TestGridProject {
        name: req.name,
        description: req.description,
        vpc_config: req.vpc_config.map(vpc_from_wire).transpose()?,
    };
    let arn = ctx.arn(ResourceKind::TestGridProject, uuid::Uuid::new_v4().to_string());
    let record = ctx.insert(&arn, None, &project.name, None, &project).await?;
    Ok(wire::CreateTestGridProjectResult { test_grid_project: Some(project_to_wire(&record, project)) })
}

pub async fn get_project(
    ctx: &Ctx,
    req: wire::GetTestGridProjectRequest,
) -> Result<wire::GetTestGridProjectResult, ApiError> {
    let (_, record, project) = load_project(ctx, &req.project_arn).await?;
    Ok(wire::GetTestGridProjectResult { test_grid_project: Some(project_to_wire(&record, project)) })
}

pub async fn list_projects(
    ctx: &Ctx,
    req: wire::ListTestGridProjectsRequest,
) -> Result<wire::ListTestGridProjectsResult, ApiError> {
    let (records, next_token) = ctx
        .page_of(
            "ListTestGridProjects",
            ResourceKind::TestGridProject,
            None,
            req.next_token.as_deref(),
            limit(req.max_result),
        )
        .await?;
    let projects =
        records.iter().map(|r| Ok(project_to_wire(r, r.body_as()?))).collect::<Result<Vec<_>, ApiError>>()?;
    Ok(wire::ListTestGridProjectsResult { test_grid_projects: Some(projects), next_token })
}

pub async fn update_project(
    ctx: &Ctx,
    req: wire::UpdateTestGridProjectRequest,
) -> Result<wire::UpdateTestGridProjectResult, ApiError> {
    let arn = parse_arn(ctx, &req.project_arn, ResourceKind::TestGridProject)?;
    let vpc = req.vpc_config.clone().map(vpc_from_wire).transpose()?;
    let (record, project) = ctx
        .modify(&arn, |p: &mut TestGridProject, record| {
            if let Some(name) = &req.name {
                check_name(name)?;
                p.name = name.clone();
                record.name = name.clone();
            }
            if let Some(description) = &req.description {
                p.description = Some(description.clone());
            }
            if let Some(vpc) = &vpc {
                p.vpc_config = Some(vpc.clone());
            }
            Ok(())
        })
        .await?;
    Ok(wire::UpdateTestGridProjectResult { test_grid_project: Some(project_to_wire(&record, project)) })
}

/// Every session of a project, oldest first.
async fn project_sessions(ctx: &Ctx, project: &Arn) -> Result<Vec<(Record, TestGridSession)>, ApiError> {
    let mut query = ListQuery {
        parent_arn: Some(project.to_string()),
        ..ListQuery::new(ctx.account.id.clone(), ResourceKind::TestGridSession, 1000)
    };
    let mut sessions = Vec::new();
    loop {
        let page = ctx.state.store.list(&query).await.map_err(|e| ctx.internal(e))?;
        for record in page.records {
            let session = record.body_as()?;
            sessions.push((record, session));
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(sessions),
        }
    }
}

/// Refused while a session of the project is active (CannotDeleteException); otherwise
/// the project, its sessions and their actions go in one step, then their files.
pub async fn delete_project(
    ctx: &Ctx,
    req: wire::DeleteTestGridProjectRequest,
) -> Result<wire::DeleteTestGridProjectResult, ApiError> {
    let (arn, _, _) = load_project(ctx, &req.project_arn).await?;
    let sessions = project_sessions(ctx, &arn).await?;
    let active = sessions.iter().filter(|(_, s)| s.status() == SessionStatus::Active).count();
    if active > 0 {
        return Err(ApiError::new(
            ErrorCode::CannotDelete,
            format!(
                "The TestGrid project {arn} has {active} active session(s); they must end before it can be deleted"
            ),
        ));
    }
    ctx.remove_tree(&arn).await?;
    for (record, session) in sessions {
        let Ok(session_arn) = record.arn.parse::<Arn>() else { continue };
        for artifact in session.artifacts {
            let key = engine::blob_keys::testgrid_artifact(&session_arn, &artifact.filename);
            if let Err(e) = ctx.state.blobs.delete(&key).await {
                tracing::warn!(error = %e, key, "deleting a TestGrid artifact of a deleted project");
            }
        }
    }
    Ok(wire::DeleteTestGridProjectResult {})
}

pub async fn create_url(
    ctx: &Ctx,
    req: wire::CreateTestGridUrlRequest,
) -> Result<wire::CreateTestGridUrlResult, ApiError> {
    let (arn, _, _) = load_project(ctx, &req.project_arn).await?;
    if !ctx.state.grid.admit_url(&ctx.account.id) {
        return Err(ApiError::new(
            ErrorCode::Throttling,
            format!(
                "CreateTestGridUrl is limited to {} calls a second per account",
                ctx.state.grid.config.urls_per_second
            ),
        ));
    }
    let expires_ms = ctx.state.now_ms() + i64::from(req.expires_in_seconds) * 1000;
    let grant = Grant { account_id: ctx.account.id.clone(), resource: arn.id.clone(), expires_ms };
    let token = ctx.state.grid.key.seal(&grant);
    Ok(wire::CreateTestGridUrlResult {
        url: Some(format!("{}/testgrid/{token}/wd/hub", ctx.state.public_url)),
        expires: Some(epoch_seconds(expires_ms)),
    })
}

/// A session by `sessionArn`, or by `projectArn` and `sessionId`.
async fn load_session(
    ctx: &Ctx,
    session_arn: Option<&str>,
    project_arn: Option<&str>,
    session_id: Option<&str>,
) -> Result<(Arn, Record, TestGridSession), ApiError> {
    let arn = match (session_arn, project_arn, session_id) {
        (Some(text), _, _) => parse_arn(ctx, text, ResourceKind::TestGridSession)?,
        (None, Some(project), Some(id)) => {
            let project = parse_arn(ctx, project, ResourceKind::TestGridProject)?;
            if id.contains('/') {
                return Err(not_found(ResourceKind::TestGridSession, id));
            }
            project.child(ResourceKind::TestGridSession, id)
        }
        _ => return Err(ApiError::argument("Give sessionArn, or projectArn and sessionId")),
    };
    let record = ctx.load(&arn).await?;
    let session = record.body_as()?;
    Ok((arn, record, session))
}

pub async fn get_session(
    ctx: &Ctx,
    req: wire::GetTestGridSessionRequest,
) -> Result<wire::GetTestGridSessionResult, ApiError> {
    let (_, record, session) =
        load_session(ctx, req.session_arn.as_deref(), req.project_arn.as_deref(), req.session_id.as_deref()).await?;
    Ok(wire::GetTestGridSessionResult { test_grid_session: Some(session_to_wire(ctx, &record, &session)) })
}

/// A project's sessions, filtered by status and by creation and end times (each bound
/// inclusive), oldest first.
pub async fn list_sessions(
    ctx: &Ctx,
    req: wire::ListTestGridSessionsRequest,
) -> Result<wire::ListTestGridSessionsResult, ApiError> {
    let (arn, _, _) = load_project(ctx, &req.project_arn).await?;
    let ms = |t: Option<f64>| t.map(|s| (s * 1000.0).round() as i64);
    let (created_after, created_before) = (ms(req.creation_time_after), ms(req.creation_time_before));
    let (ended_after, ended_before) = (ms(req.end_time_after), ms(req.end_time_before));
    let status = req.status.map(|s| s.as_str().to_string());
    let matching: Vec<(Record, TestGridSession)> = project_sessions(ctx, &arn)
        .await?
        .into_iter()
        .filter(|(_, s)| {
            status.as_deref().is_none_or(|want| s.status().as_str() == want)
                && created_after.is_none_or(|t| s.created_ms >= t)
                && created_before.is_none_or(|t| s.created_ms <= t)
                && ended_after.is_none_or(|t| s.ended_ms.is_some_and(|e| e >= t))
                && ended_before.is_none_or(|t| s.ended_ms.is_some_and(|e| e <= t))
        })
        .collect();
    let scope = format!(
        "ListTestGridSessions|{arn}|{status:?}|{created_after:?}|{created_before:?}|{ended_after:?}|{ended_before:?}"
    );
    let (page, next_token) =
        page_slice(ctx, &scope, &matching, |(r, _)| r.arn.clone(), req.next_token.as_deref(), limit(req.max_result))?;
    let sessions = page.iter().map(|(r, s)| session_to_wire(ctx, r, s)).collect();
    Ok(wire::ListTestGridSessionsResult { test_grid_sessions: Some(sessions), next_token })
}

pub async fn list_session_actions(
    ctx: &Ctx,
    req: wire::ListTestGridSessionActionsRequest,
) -> Result<wire::ListTestGridSessionActionsResult, ApiError> {
    let (arn, _, _) = load_session(ctx, Some(&req.session_arn), None, None).await?;
    let recorded = actions::of_session(&ctx.state, &arn).await.map_err(|e| ctx.internal(e))?;
    let numbered: Vec<(usize, &domain::testgrid::SessionAction)> = recorded.iter().enumerate().collect();
    let scope = format!("ListTestGridSessionActions|{arn}");
    let (page, next_token) = page_slice(
        ctx,
        &scope,
        &numbered,
        |(i, _)| format!("{i:010}"),
        req.next_token.as_deref(),
        limit(req.max_result),
    )?;
    let actions = page
        .iter()
        .map(|(_, a)| wire::TestGridSessionAction {
            action: Some(a.action.clone()),
            duration: Some(a.duration_ms),
            request_method: Some(a.method.clone()),
            started: Some(epoch_seconds(a.started_ms)),
            status_code: Some(a.status_code.to_string()),
        })
        .collect();
    Ok(wire::ListTestGridSessionActionsResult { actions: Some(actions), next_token })
}

pub async fn list_session_artifacts(
    ctx: &Ctx,
    req: wire::ListTestGridSessionArtifactsRequest,
) -> Result<wire::ListTestGridSessionArtifactsResult, ApiError> {
    let (arn, _, session) = load_session(ctx, Some(&req.session_arn), None, None).await?;
    let wanted = |kind: SessionArtifactKind| match req.r#type {
        None => true,
        Some(wire::TestGridSessionArtifactCategory::Video) => kind == SessionArtifactKind::Video,
        Some(wire::TestGridSessionArtifactCategory::Log) => kind == SessionArtifactKind::SeleniumLog,
    };
    let kept: Vec<_> = session.artifacts.iter().filter(|a| wanted(a.kind)).collect();
    let scope = format!("ListTestGridSessionArtifacts|{arn}|{:?}", req.r#type);
    let (page, next_token) =
        page_slice(ctx, &scope, &kept, |a| a.filename.clone(), req.next_token.as_deref(), limit(req.max_result))?;
    let artifacts = page
        .iter()
        .map(|a| {
            Ok(wire::TestGridSessionArtifact {
                filename: Some(a.filename.clone()),
                r#type: Some(match a.kind {
                    SessionArtifactKind::Video => wire::TestGridSessionArtifactType::Video,
                    SessionArtifactKind::SeleniumLog => wire::TestGridSessionArtifactType::SeleniumLog,
                }),
                url: Some(crate::presign::url(&ctx.state, "GET", &download_path(&arn, &a.filename))?),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(wire::ListTestGridSessionArtifactsResult { artifacts: Some(artifacts), next_token })
}
