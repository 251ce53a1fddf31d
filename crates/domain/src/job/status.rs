//! The status and result vocabularies of runs, jobs, suites and tests (the model's
//! ExecutionStatus and ExecutionResult).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::device::UnknownVariant;

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

impl ExecutionStatus {
    /// Every value, in the model's order.
    pub const ALL: &'static [ExecutionStatus] = &[
        ExecutionStatus::Pending,
        ExecutionStatus::PendingConcurrency,
        ExecutionStatus::PendingDevice,
        ExecutionStatus::Processing,
        ExecutionStatus::Scheduling,
        ExecutionStatus::Preparing,
        ExecutionStatus::Running,
        ExecutionStatus::Completed,
        ExecutionStatus::Stopping,
    ];

    /// Nothing will change any more: the only final status is COMPLETED (STOPPING is
    /// still on its way there).
    pub fn is_final(self) -> bool {
        self == ExecutionStatus::Completed
    }

    /// Still without a device: one of the three PENDING statuses.
    pub fn is_waiting(self) -> bool {
        matches!(self, ExecutionStatus::Pending | ExecutionStatus::PendingConcurrency | ExecutionStatus::PendingDevice)
    }
}

impl ExecutionResult {
    /// Every value, in the model's order.
    pub const ALL: &'static [ExecutionResult] = &[
        ExecutionResult::Pending,
        ExecutionResult::Passed,
        ExecutionResult::Warned,
        ExecutionResult::Failed,
        ExecutionResult::Skipped,
        ExecutionResult::Errored,
        ExecutionResult::Stopped,
    ];
}

/// Both vocabularies parse the model's exact, case-sensitive spelling, as AWS validates
/// enums.
fn parse_wire<T: Copy>(
    kind: &'static str,
    all: &[T],
    allowed: &'static [&'static str],
    as_str: fn(T) -> &'static str,
    s: &str,
) -> Result<T, UnknownVariant> {
    all.iter().copied().find(|v| as_str(*v) == s).ok_or_else(|| UnknownVariant { kind, value: s.to_owned(), allowed })
}

const STATUS_WIRE: &[&str] = &[
    "PENDING",
    "PENDING_CONCURRENCY",
    "PENDING_DEVICE",
    "PROCESSING",
    "SCHEDULING",
    "PREPARING",
    "RUNNING",
    "COMPLETED",
    "STOPPING",
];

const RESULT_WIRE: &[&str] = &["PENDING", "PASSED", "WARNED", "FAILED", "SKIPPED", "ERRORED", "STOPPED"];

impl FromStr for ExecutionStatus {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_wire("ExecutionStatus", ExecutionStatus::ALL, STATUS_WIRE, ExecutionStatus::as_str, s)
    }
}

impl FromStr for ExecutionResult {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_wire("ExecutionResult", ExecutionResult::ALL, RESULT_WIRE, ExecutionResult::as_str, s)
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ExecutionResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_wire_name() {
        assert_eq!(ExecutionStatus::ALL.len(), STATUS_WIRE.len());
        for s in ExecutionStatus::ALL {
            assert_eq!(s.as_str().parse::<ExecutionStatus>(), Ok(*s));
            assert_eq!(serde_json::to_string(s).ok(), Some(format!("\"{s}\"")));
        }
    }

    #[test]
    fn every_result_round_trips_through_its_wire_name() {
        assert_eq!(ExecutionResult::ALL.len(), RESULT_WIRE.len());
        for r in ExecutionResult::ALL {
            assert_eq!(r.as_str().parse::<ExecutionResult>(), Ok(*r));
            assert_eq!(serde_json::to_string(r).ok(), Some(format!("\"{r}\"")));
        }
    }

    #[test]
    fn parsing_is_case_sensitive_like_aws() {
        let err = "running".parse::<ExecutionStatus>();
        assert!(matches!(err, Err(UnknownVariant { kind: "ExecutionStatus", .. })));
        assert!("Stopped".parse::<ExecutionResult>().is_err());
    }

    #[test]
    fn only_completed_is_final_and_only_pendings_wait() {
        let finals: Vec<_> = ExecutionStatus::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [&ExecutionStatus::Completed]);
        let waiting: Vec<_> = ExecutionStatus::ALL.iter().filter(|s| s.is_waiting()).map(|s| s.as_str()).collect();
        assert_eq!(waiting, ["PENDING", "PENDING_CONCURRENCY", "PENDING_DEVICE"]);
    }
}
