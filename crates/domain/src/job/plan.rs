//! What a job will do on its device, decided before it starts: how long setup and
//! teardown take and which tests run, for how long, with what outcome. The simulated driver
//! builds one from a scenario file; the timeline turns it into the job's state at any time.

use super::status::ExecutionResult;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestPlan {
    pub name: String,
    pub duration_ms: i64,
    /// The outcome the test reaches if it runs to its end.
    pub result: ExecutionResult,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPlan {
    pub setup_ms: i64,
    pub tests: Vec<TestPlan>,
    pub teardown_ms: i64,
}

impl JobPlan {
    /// The plan of a job whose package says nothing: setup 5 s, three passing tests of
    /// 10 s, teardown 5 s (the default scenario).
    pub fn default_simulation() -> JobPlan {
        JobPlan {
            setup_ms: 5_000,
            tests: (1..=3)
                .map(|i| TestPlan {
                    name: format!("test_{i}"),
                    duration_ms: 10_000,
                    result: ExecutionResult::Passed,
                    message: None,
                })
                .collect(),
            teardown_ms: 5_000,
        }
    }
}

/// A file a simulated job leaves in its "Customer Artifacts" zip, as its scenario declares
/// it: what a real job's test spec would have collected from `artifacts` paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimFile {
    /// Relative, `/`-separated, without `.` or `..` segments: the path inside the zip.
    pub path: String,
    pub text: String,
}
