//! A job's artifacts, whatever ran it: simulated jobs' are rendered from their snapshot on
//! download, real jobs' are files in the blob store. ListArtifacts and the download route
//! see one list through [`job_artifacts`].

use crate::sim_artifacts::{artifacts_of, render, ArtifactSpec};
use domain::job::snapshot::JobSnapshot;
use domain::run::Job;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobArtifact {
    pub suite: u32,
    pub test: u32,
    pub index: u32,
    pub name: String,
    /// FILE, LOG or SCREENSHOT.
    pub category: String,
    pub artifact_type: String,
    pub extension: String,
    /// Where a real job's file is; `None` for a rendered one.
    pub blob_key: Option<String>,
}

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
        return job
            .artifacts
            .iter()
            .map(|a| JobArtifact {
                suite: a.suite,
                test: a.test,
                index: a.index,
                name: a.name.clone(),
                category: a.category.clone(),
                artifact_type: a.artifact_type.clone(),
                extension: a.extension.clone(),
                blob_key: Some(a.blob_key.clone()),
            })
            .collect();
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
