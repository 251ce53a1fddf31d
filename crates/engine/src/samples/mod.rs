//! Performance samples of a job (ListSamples): one time series per measured SampleType.
//!
//! A real job's series are measured on its host ([`host::samples`]) and stored; a simulated
//! job's are derived from its snapshot ([`sim`]).

pub mod sim;

pub use host::samples::{SampleKind, Series};

use domain::job::snapshot::JobSnapshot;
use domain::run::Job;

/// Where a listed sample's series comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Computed from the snapshot on download.
    Simulated,
    /// A real job's stored CSV.
    Blob(String),
}

/// The samples a job has now, whatever ran it; ListSamples and the download route both
/// read this one list. A simulated job has every kind once it has started.
pub fn job_samples(job: &Job, snapshot: &JobSnapshot) -> Vec<(SampleKind, Source)> {
    if job.driver.is_real() {
        return SampleKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let stored = job.artifacts.iter().find(|a| a.is_sample() && a.artifact_type == kind.as_str())?;
                Some((kind, Source::Blob(stored.blob_key.clone()?)))
            })
            .collect();
    }
    if snapshot.started_ms.is_none() {
        return Vec::new();
    }
    SampleKind::ALL.into_iter().map(|kind| (kind, Source::Simulated)).collect()
}
