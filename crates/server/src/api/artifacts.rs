//! ListArtifacts: the files a job left, for a run, job, suite or test, each with a
//! presigned download URL served by `server::downloads`.

use super::runs::view::{run_jobs, JobState};
use super::Ctx;
use domain::arn::{index, Arn, ResourceKind};
use domain::run::JobArtifact;
use engine::artifacts::job_artifacts;
use protocol::model as wire;
use protocol::ApiError;

/// The artifact's ARN: `…:artifact:PROJECT/RUN/JOB/SUITE/TEST/NNNNN` (notes: ARNs).
pub fn artifact_arn(job: &Arn, artifact: &JobArtifact) -> Arn {
    Arn::new(
        &job.region,
        &job.account,
        ResourceKind::Artifact,
        format!("{}/{}/{}/{}", job.id, index(artifact.suite), index(artifact.test), index(artifact.index)),
    )
}

pub fn download_path(arn: &Arn) -> String {
    format!("/artifacts/{}/{}", arn.account, arn.id)
}

fn to_wire(ctx: &Ctx, job: &Arn, artifact: &JobArtifact) -> Result<wire::Artifact, ApiError> {
    let arn = artifact_arn(job, artifact);
    Ok(wire::Artifact {
        url: Some(crate::presign::url(&ctx.state, "GET", &download_path(&arn))?),
        arn: Some(arn.to_string()),
        name: Some(artifact.name.clone()),
        r#type: wire::ArtifactType::parse(&artifact.artifact_type),
        extension: Some(artifact.extension.clone()),
    })
}

pub async fn list(ctx: &Ctx, req: wire::ListArtifactsRequest) -> Result<wire::ListArtifactsResult, ApiError> {
    let arn: Arn =
        req.arn.parse().map_err(|_| ApiError::not_found(format!("No resource was found with ARN {}", req.arn)))?;
    if arn.region != ctx.state.region {
        return Err(super::records::not_found(arn.kind, &req.arn));
    }
    let segments: Vec<usize> = arn.segments().skip(3).filter_map(|s| s.parse().ok()).collect();
    let job_id = |depth: usize| arn.segments().take(depth).collect::<Vec<_>>().join("/");
    let (jobs, suite, test) = match arn.kind {
        ResourceKind::Run => (run_jobs(ctx, &ctx.load(&arn).await.map(|_| arn.clone())?).await?, None, None),
        ResourceKind::Job | ResourceKind::Suite | ResourceKind::Test => {
            let job_arn = Arn::new(&arn.region, &arn.account, ResourceKind::Job, job_id(3));
            let record = ctx.load(&job_arn).await.map_err(|_| super::records::not_found(arn.kind, &req.arn))?;
            (vec![record], segments.first().copied(), segments.get(1).copied())
        }
        ResourceKind::Session => return session_artifacts(ctx, &arn, req.r#type.as_str()).await,
        other => {
            return Err(ApiError::argument(format!(
                "ListArtifacts takes a run, job, suite, test or remote access session ARN, not a {} ARN",
                other.as_str()
            )))
        }
    };
    let category = req.r#type.as_str();
    let mut artifacts = Vec::new();
    for record in jobs {
        let state = JobState::load(ctx, record)?;
        let job_arn = state.arn()?;
        for artifact in job_artifacts(&state.job, &state.snapshot) {
            let in_scope =
                suite.is_none_or(|s| s == artifact.suite as usize) && test.is_none_or(|t| t == artifact.test as usize);
            if in_scope && artifact.category().as_str() == category {
                artifacts.push(to_wire(ctx, &job_arn, &artifact)?);
            }
        }
    }
    Ok(wire::ListArtifactsResult { artifacts: Some(artifacts), next_token: None })
}

/// A remote access session's recording and input log, in the category asked for.
async fn session_artifacts(ctx: &Ctx, arn: &Arn, category: &str) -> Result<wire::ListArtifactsResult, ApiError> {
    use super::records::RecordExt;
    let session: domain::remote_access::RemoteSession = ctx.load(arn).await?.body_as()?;
    let mut artifacts = Vec::new();
    for (position, artifact) in session.artifacts.iter().enumerate() {
        if domain::artifact::category_of(&artifact.artifact_type).as_str() != category {
            continue;
        }
        let path = crate::remote_access::artifacts::download_path(arn, position);
        artifacts.push(wire::Artifact {
            url: Some(crate::presign::url(&ctx.state, "GET", &path)?),
            arn: Some(crate::remote_access::artifacts::artifact_arn(arn, position).to_string()),
            name: Some(artifact.name.clone()),
            r#type: wire::ArtifactType::parse(&artifact.artifact_type),
            extension: Some(artifact.extension.clone()),
        });
    }
    Ok(wire::ListArtifactsResult { artifacts: Some(artifacts), next_token: None })
}
