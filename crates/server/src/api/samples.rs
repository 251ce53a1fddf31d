//! ListSamples: a job's performance series (engine::samples), each with a presigned URL
//! served by `server::downloads::sample`.

use super::runs::view::JobState;
use super::Ctx;
use domain::arn::{index, Arn, ResourceKind};
use engine::samples::{job_samples, SampleKind};
use protocol::model as wire;
use protocol::ApiError;

/// The sample's ARN: `…:sample:PROJECT/RUN/JOB/NNNNN`, NNNNN its kind's index.
pub fn sample_arn(job: &Arn, kind: SampleKind) -> Arn {
    job.child(ResourceKind::Sample, &index(kind.index()))
}

pub fn download_path(arn: &Arn) -> String {
    format!("/samples/{}/{}", arn.account, arn.id)
}

pub async fn list(ctx: &Ctx, req: wire::ListSamplesRequest) -> Result<wire::ListSamplesResult, ApiError> {
    let arn = super::parse_arn(ctx, &req.arn, ResourceKind::Job)?;
    if let Some(token) = &req.next_token {
        // A job has fewer samples than a page holds, so no token is ever issued for this
        // list; opening one gives the same error as any token not issued for it.
        ctx.state.tokens.open(&format!("ListSamples|{}", req.arn), token)?;
    }
    let state = JobState::load(ctx, ctx.load(&arn).await?)?;
    let mut samples = Vec::new();
    for (kind, _) in job_samples(&state.job, &state.snapshot) {
        let sample = sample_arn(&arn, kind);
        samples.push(wire::Sample {
            url: Some(crate::presign::url(&ctx.state, "GET", &download_path(&sample))?),
            arn: Some(sample.to_string()),
            r#type: wire::SampleType::parse(kind.as_str()),
        });
    }
    Ok(wire::ListSamplesResult { samples: Some(samples), next_token: None })
}
