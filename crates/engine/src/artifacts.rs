//! A job's artifacts, whatever ran it: simulated jobs' are rendered from their snapshot on
//! download, real jobs' are files in the blob store. ListArtifacts and the download route
//! see one list through [`job_artifacts`].

use crate::sim_artifacts::{artifacts_of, render, ArtifactSpec};
use crate::sim_video::{video, VideoError};
use domain::arn::Arn;
use domain::job::snapshot::JobSnapshot;
use domain::run::{Job, JobArtifact};
use store::blob::BlobStore;

fn from_spec(spec: &ArtifactSpec) -> JobArtifact {
    JobArtifact {
        suite: spec.suite as u32,
        test: spec.test as u32,
        index: spec.index,
        name: spec.name.clone(),
        artifact_type: spec.artifact_type.to_string(),
        extension: spec.extension.to_string(),
        blob_key: None,
    }
}

pub fn job_artifacts(job: &Job, snapshot: &JobSnapshot) -> Vec<JobArtifact> {
    if job.driver.is_real() {
        return job.artifacts.iter().filter(|a| !a.is_sample()).cloned().collect();
    }
    artifacts_of(job, snapshot).iter().map(from_spec).collect()
}

/// The rendered content of a simulated job's artifact; `Ok(None)` when it has no such one.
pub async fn rendered(
    artifact: &JobArtifact,
    job: &Job,
    job_arn: &Arn,
    snapshot: &JobSnapshot,
    blobs: &BlobStore,
) -> Result<Option<(&'static str, Vec<u8>)>, VideoError> {
    let Some(spec) = artifacts_of(job, snapshot)
        .into_iter()
        .find(|s| s.suite as u32 == artifact.suite && s.test as u32 == artifact.test && s.index == artifact.index)
    else {
        return Ok(None);
    };
    match render(&spec, job, snapshot) {
        Some(done) => Ok(Some(done)),
        None => Ok(Some(("video/mp4", video(blobs, &crate::blob_keys::video(job_arn), job, snapshot).await?))),
    }
}
