//! Projects: the container every run, upload and private pool lives in.

use super::records::{epoch_seconds, RecordExt};
use super::{parse_arn, Ctx};
use domain::arn::{Arn, ResourceKind};
use domain::resources::{check_environment_variables, EnvironmentVariable, Project, VpcConfig};
use protocol::model as wire;
use protocol::ApiError;
use store::Record;

/// The job timeout bounds AWS documents: at least 5 minutes, at most the account's maximum.
pub fn check_job_timeout(ctx: &Ctx, minutes: Option<i32>, member: &str) -> Result<(), ApiError> {
    let Some(minutes) = minutes else { return Ok(()) };
    let max = ctx.account.settings.max_job_timeout_minutes;
    if !(5..=max).contains(&minutes) {
        return Err(ApiError::argument(format!(
            "{member} must be between 5 and the account's maximum job timeout of {max} minutes; got {minutes}"
        )));
    }
    Ok(())
}

fn variables_from_wire(vars: &[wire::EnvironmentVariable]) -> Result<Vec<EnvironmentVariable>, ApiError> {
    let vars: Vec<EnvironmentVariable> =
        vars.iter().map(|v| EnvironmentVariable { name: v.name.clone(), value: v.value.clone() }).collect();
    check_environment_variables(&vars).map_err(ApiError::argument)?;
    Ok(vars)
}

fn vpc_from_wire(v: wire::VpcConfig) -> VpcConfig {
    VpcConfig { security_group_ids: v.security_group_ids, subnet_ids: v.subnet_ids, vpc_id: v.vpc_id }
}

pub fn to_wire(record: &Record, project: Project) -> wire::Project {
    wire::Project {
        arn: Some(record.arn.clone()),
        name: Some(project.name),
        default_job_timeout_minutes: Some(
            project.default_job_timeout_minutes.unwrap_or(domain::account::DEFAULT_JOB_TIMEOUT_MINUTES),
        ),
        created: Some(epoch_seconds(record.created_ms)),
        vpc_config: project.vpc_config.map(|v| wire::VpcConfig {
            security_group_ids: v.security_group_ids,
            subnet_ids: v.subnet_ids,
            vpc_id: v.vpc_id,
        }),
        environment_variables: Some(
            project
                .environment_variables
                .into_iter()
                .map(|v| wire::EnvironmentVariable { name: v.name, value: v.value })
                .collect(),
        ),
        execution_role_arn: project.execution_role_arn,
    }
}

/// Loads a project the caller owns, from its ARN text.
pub async fn load(ctx: &Ctx, arn: &str) -> Result<(Arn, Record, Project), ApiError> {
    let arn = parse_arn(ctx, arn, ResourceKind::Project)?;
    let record = ctx.load(&arn).await?;
    let project = record.body_as()?;
    Ok((arn, record, project))
}

pub async fn create(ctx: &Ctx, req: wire::CreateProjectRequest) -> Result<wire::CreateProjectResult, ApiError> {
    check_job_timeout(ctx, req.default_job_timeout_minutes, "defaultJobTimeoutMinutes")?;
    let arn = ctx.arn(ResourceKind::Project, uuid::Uuid::new_v4().to_string());
    let project = Project {
        name: req.name,
        default_job_timeout_minutes: req.default_job_timeout_minutes,
        vpc_config: req.vpc_config.map(vpc_from_wire),
        environment_variables: variables_from_wire(req.environment_variables.as_deref().unwrap_or_default())?,
        execution_role_arn: req.execution_role_arn,
    };
    let limit = ctx.account.settings.limits.max_projects.into();
    let record = ctx.insert_limited(&arn, None, &project.name, None, &project, limit).await?;
    Ok(wire::CreateProjectResult { project: Some(to_wire(&record, project)) })
}

pub async fn get(ctx: &Ctx, req: wire::GetProjectRequest) -> Result<wire::GetProjectResult, ApiError> {
    let (_, record, project) = load(ctx, &req.arn).await?;
    Ok(wire::GetProjectResult { project: Some(to_wire(&record, project)) })
}

pub async fn list(ctx: &Ctx, req: wire::ListProjectsRequest) -> Result<wire::ListProjectsResult, ApiError> {
    // The legacy `arn` member narrows the list to that one project.
    if let Some(arn) = req.arn {
        let (_, record, project) = load(ctx, &arn).await?;
        return Ok(wire::ListProjectsResult { projects: Some(vec![to_wire(&record, project)]), next_token: None });
    }
    let (records, next_token) =
        ctx.page("ListProjects", ResourceKind::Project, None, req.next_token.as_deref()).await?;
    let projects = records.iter().map(|r| Ok(to_wire(r, r.body_as()?))).collect::<Result<Vec<_>, ApiError>>()?;
    Ok(wire::ListProjectsResult { projects: Some(projects), next_token })
}

pub async fn update(ctx: &Ctx, req: wire::UpdateProjectRequest) -> Result<wire::UpdateProjectResult, ApiError> {
    check_job_timeout(ctx, req.default_job_timeout_minutes, "defaultJobTimeoutMinutes")?;
    let arn = parse_arn(ctx, &req.arn, ResourceKind::Project)?;
    let variables = req.environment_variables.as_deref().map(variables_from_wire).transpose()?;
    let (record, project) = ctx
        .modify(&arn, |p: &mut Project, record| {
            if let Some(name) = &req.name {
                p.name = name.clone();
                record.name = name.clone();
            }
            if let Some(t) = req.default_job_timeout_minutes {
                p.default_job_timeout_minutes = Some(t);
            }
            if let Some(v) = &req.vpc_config {
                p.vpc_config = Some(vpc_from_wire(v.clone()));
            }
            if let Some(vars) = &variables {
                p.environment_variables = vars.clone();
            }
            if let Some(role) = &req.execution_role_arn {
                p.execution_role_arn = Some(role.clone());
            }
            Ok(())
        })
        .await?;
    Ok(wire::UpdateProjectResult { project: Some(to_wire(&record, project)) })
}

pub async fn delete(ctx: &Ctx, req: wire::DeleteProjectRequest) -> Result<wire::DeleteProjectResult, ApiError> {
    let (arn, _, _) = load(ctx, &req.arn).await?;
    let uploads = super::uploads::uploads_of_project(ctx, &arn).await?;
    // The records go first, all at once: a crash after it leaves stored files nothing names
    // (garbage), never an upload whose file is gone.
    ctx.remove_tree(&arn).await?;
    for upload in &uploads {
        super::uploads::delete_blobs(ctx, upload).await?;
    }
    Ok(wire::DeleteProjectResult {})
}
