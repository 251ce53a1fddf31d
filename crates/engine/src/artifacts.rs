//! A job's artifacts, whatever ran it: simulated jobs' are rendered from their snapshot on
//! download, real jobs' are files in the blob store. ListArtifacts and the download route
//! see one list through [`job_artifacts`].

use crate::samples::SAMPLE_CATEGORY;
use crate::sim_artifacts::{artifacts_of, render, ArtifactSpec};
use domain::job::snapshot::JobSnapshot;
use domain::run::{Job, JobArtifact};

fn from_spec(spec: &ArtifactSpec) -> JobArtifact {
    JobArtifact {
        suite: spec.suite as u32,
        test: spec.test as u32,
        index: spec.index,
        name: spec.name.clone(),
        category: spec.category.as_str().to_string(),
        artifact_type: spec.artifact_type.to_string(),
        extension: spec.extension.to_string(),
        blob_key: None,
    }
}

pub fn job_artifacts(job: &Job, snapshot: &JobSnapshot) -> Vec<JobArtifact> {
    if job.driver.is_real() {
        return job.artifacts.iter().filter(|a| a.category != SAMPLE_CATEGORY).cloned().collect();
    }
    artifacts_of(snapshot).iter().map(from_spec).collect()
}

/// The rendered content of a simulated job's artifact.
pub fn rendered(artifact: &JobArtifact, job: &Job, snapshot: &JobSnapshot) -> Option<(&'static str, Vec<u8>)> {
    let spec = artifacts_of(snapshot)
        .into_iter()
        .find(|s| s.suite as u32 == artifact.suite && s.test as u32 == artifact.test && s.index == artifact.index)?;
    Some(render(&spec, job, snapshot))
}
