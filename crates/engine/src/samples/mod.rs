//! Performance samples of a job (ListSamples): one time series per measured SampleType.
//!
//! - [`series`]: the measured types and the series' download format.
//! - [`sim`]: a simulated job's series, derived from its snapshot.
//! - [`host`]: sampling a host job's phase as it runs.
//! - [`procfs`]: reading a host job's processes and network from `/proc`.

pub mod host;
pub mod procfs;
pub mod series;
pub mod sim;

pub use series::{SampleKind, Series};

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
