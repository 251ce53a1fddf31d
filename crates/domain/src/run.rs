//! The stored form of runs and jobs. A job stores only what cannot be derived: its plan,
//! its device, and the few instants that drive it (device assigned, stop requested). Its
//! status, result, suites, tests, counters and minutes at any moment are computed from these
//! by `job::timeline`, so a restart loses nothing and nothing is stored twice.

use crate::device::{Device, DevicePlatform, Driver};
use crate::job::observed::ObservedJob;
use crate::job::plan::JobPlan;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BillingMethod {
    Metered,
    Unmetered,
}

impl BillingMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMethod::Metered => "METERED",
            BillingMethod::Unmetered => "UNMETERED",
        }
    }
}

/// Why a job without a device is still waiting, as the scheduler last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WaitReason {
    /// Not looked at by the scheduler yet.
    #[default]
    Pending,
    /// The account's concurrency (metered jobs) or unmetered device slots are all in use.
    Concurrency,
    /// Every instance of the job's device is busy with another job.
    Device,
}

/// Where a job is in its life, as far as scheduling is concerned; stored in the record's
/// indexed `status` column so the scheduler finds waiting and active jobs without reading
/// every body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobPhase {
    /// No device yet.
    Waiting,
    /// Holds a device instance until its timeline ends.
    Active,
    /// Final and billed; the device is free.
    Settled,
}

impl JobPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            JobPhase::Waiting => "WAITING",
            JobPhase::Active => "ACTIVE",
            JobPhase::Settled => "SETTLED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Position in the run, from 0; also the job's ARN suffix.
    pub index: u32,
    pub test_type: crate::upload::TestType,
    /// The device as it was when the run was scheduled.
    pub device: Device,
    pub plan: JobPlan,
    pub billing_method: BillingMethod,
    pub timeout_minutes: i32,
    pub video_capture: bool,
    pub phase: JobPhase,
    pub wait_reason: WaitReason,
    pub instance_arn: Option<String>,
    pub assigned_ms: Option<i64>,
    /// The first stop request; later ones change nothing.
    pub stop_requested_ms: Option<i64>,
    /// The server's stop grace, recorded with that stop so neither a later change of the
    /// setting nor a restart moves the end of an interrupted test (`job::stop`). Absent in
    /// records written before it was kept: their tests in progress ran to their end.
    #[serde(default)]
    pub stop_grace_ms: Option<i64>,
    /// When the job settled (final state stored, billed, device released).
    pub settled_ms: Option<i64>,
    /// How its device runs jobs: simulated jobs follow `plan`; real ones report what
    /// happened into `observed`.
    #[serde(default)]
    pub driver: Driver,
    #[serde(default)]
    pub observed: Option<ObservedJob>,
    /// Files a real job left, kept in the blob store (simulated jobs render theirs).
    #[serde(default)]
    pub artifacts: Vec<JobArtifact>,
    /// What a simulated job leaves in its Customer Artifacts zip (scenario
    /// `customer_artifacts`); empty for real jobs, whose zip is collected from the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_files: Vec<crate::job::plan::SimFile>,
}

/// An artifact of a job: where it hangs (suite and test index, notes: artifact ARNs), what
/// the model calls it, and, for a real job's file, its blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobArtifact {
    pub suite: u32,
    pub test: u32,
    pub index: u32,
    pub name: String,
    /// The model's ArtifactType (TESTSPEC_OUTPUT, CUSTOMER_ARTIFACT, …), or its SampleType
    /// (CPU, MEMORY, …) for a performance series, which ListSamples serves and ListArtifacts
    /// never lists. Its category comes from this at read time ([`JobArtifact::category`],
    /// `domain::artifact`); records stored before that rule carry a `category` of their own,
    /// which is ignored.
    pub artifact_type: String,
    pub extension: String,
    /// Where a real job's file is; `None` for one rendered on download (simulated jobs).
    pub blob_key: Option<String>,
}

impl Run {
    /// Records a StopRun at `at_ms` with the server's grace (ms) unless the run has one
    /// already; whether it was recorded. Its jobs get the same instant and grace.
    pub fn request_stop(&mut self, at_ms: i64, grace_ms: i64) -> bool {
        crate::job::stop::record_first_stop(&mut self.stop_requested_ms, &mut self.stop_grace_ms, at_ms, grace_ms)
    }
}

impl Job {
    /// Records a StopJob/StopRun at `at_ms` with the server's grace (ms) unless the job has
    /// one already; whether it was recorded (`job::stop::record_first_stop`).
    pub fn request_stop(&mut self, at_ms: i64, grace_ms: i64) -> bool {
        crate::job::stop::record_first_stop(&mut self.stop_requested_ms, &mut self.stop_grace_ms, at_ms, grace_ms)
    }
}

impl JobArtifact {
    /// Whether it is a performance series (ListSamples) rather than an artifact.
    pub fn is_sample(&self) -> bool {
        crate::artifact::is_sample_type(&self.artifact_type)
    }

    /// The ListArtifacts category it is listed under.
    pub fn category(&self) -> crate::artifact::ArtifactCategory {
        crate::artifact::category_of(&self.artifact_type)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub name: String,
    pub test_type: crate::upload::TestType,
    pub platform: DevicePlatform,
    pub app_arn: Option<String>,
    pub test_package_arn: Option<String>,
    pub test_spec_arn: Option<String>,
    pub device_pool_arn: Option<String>,
    pub billing_method: BillingMethod,
    pub job_timeout_minutes: i32,
    pub total_jobs: u32,
    /// What `deviceSelectionConfiguration` matched before maxDevices cut it, when given.
    pub device_selection: Option<DeviceSelection>,
    pub stop_requested_ms: Option<i64>,
    /// The grace StopRun recorded with its stop, given to every job of the run with it.
    #[serde(default)]
    pub stop_grace_ms: Option<i64>,
    /// The network profile and VPC endpoint names the run was scheduled with, resolved then.
    #[serde(default)]
    pub network: crate::network::JobNetwork,
    /// Members the API echoes back unchanged (locale, location, radios, artifact paths,
    /// device proxy, environment, execution options), kept in their wire form because
    /// farmhand only stores them.
    pub echo: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSelection {
    /// The filters as the request gave them (wire JSON), echoed in `deviceSelectionResult`.
    pub filters: serde_json::Value,
    pub matched_devices_count: u32,
    pub max_devices: u32,
}
