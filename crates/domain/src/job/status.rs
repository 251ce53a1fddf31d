//! The status and result vocabularies of runs, jobs, suites and tests (the model's
//! ExecutionStatus and ExecutionResult).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Pending,
    PendingConcurrency,
    PendingDevice,
    Processing,
    Scheduling,
    Preparing,
    Running,
    Completed,
    Stopping,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "PENDING",
            ExecutionStatus::PendingConcurrency => "PENDING_CONCURRENCY",
            ExecutionStatus::PendingDevice => "PENDING_DEVICE",
            ExecutionStatus::Processing => "PROCESSING",
            ExecutionStatus::Scheduling => "SCHEDULING",
            ExecutionStatus::Preparing => "PREPARING",
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Completed => "COMPLETED",
            ExecutionStatus::Stopping => "STOPPING",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionResult {
    Pending,
    Passed,
    Warned,
    Failed,
    Skipped,
    Errored,
    Stopped,
}

impl ExecutionResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionResult::Pending => "PENDING",
            ExecutionResult::Passed => "PASSED",
            ExecutionResult::Warned => "WARNED",
            ExecutionResult::Failed => "FAILED",
            ExecutionResult::Skipped => "SKIPPED",
            ExecutionResult::Errored => "ERRORED",
            ExecutionResult::Stopped => "STOPPED",
        }
    }
}
