//! Simulated jobs for the artifact renderers' tests: a job of the demo fleet with a plan,
//! seen at any instant of its course, stop included.

use domain::device::{DevicePlatform, Fleet};
use domain::job::plan::{JobPlan, TestPlan};
use domain::job::snapshot::{snapshot, JobSnapshot};
use domain::job::status::ExecutionResult;
use domain::job::timeline::{JobTimes, PrepDurations};
use domain::run::{BillingMethod, Job, JobPhase, WaitReason};

/// Assigned at 1,000,000 ms; prep (4 s by default) then setup 5 s, the tests, teardown 5 s.
pub const ASSIGNED_MS: i64 = 1_000_000;

pub fn test(name: &str, seconds: i64, result: ExecutionResult, message: Option<&str>) -> TestPlan {
    TestPlan { name: name.into(), duration_ms: seconds * 1000, result, message: message.map(str::to_owned) }
}

pub fn job(platform: DevicePlatform, test_type: &str, tests: Vec<TestPlan>) -> Job {
    let device = Fleet::demo("us-west-2")
        .devices()
        .iter()
        .find(|d| d.platform == platform)
        .cloned()
        .expect("the demo fleet has a device of each platform");
    let plan = JobPlan { tests, ..JobPlan::default_simulation() };
    serde_json::from_value(serde_json::json!({
        "index": 0,
        "test_type": test_type,
        "device": device,
        "plan": plan,
        "billing_method": BillingMethod::Metered,
        "timeout_minutes": 150,
        "video_capture": true,
        "phase": JobPhase::Active,
        "wait_reason": WaitReason::Pending,
        "instance_arn": "arn:aws:devicefarm:us-west-2::deviceinstance:x",
        "assigned_ms": ASSIGNED_MS,
        "stop_requested_ms": null,
        "settled_ms": null,
    }))
    .expect("a job")
}

/// The job at `now_ms`, stopped at `stop_ms` if given.
pub fn seen(job: &Job, stop_ms: Option<i64>, now_ms: i64) -> JobSnapshot {
    let times = JobTimes {
        created_ms: ASSIGNED_MS - 1_000,
        assigned_ms: job.assigned_ms,
        stop_requested_ms: stop_ms,
        // The server's default grace, recorded with the stop.
        stop_grace_ms: stop_ms.map(|_| 10_000),
        timeout_minutes: job.timeout_minutes,
    };
    snapshot(&job.plan, &PrepDurations::default(), &times, job.wait_reason, now_ms)
}

/// The job once it is over, however long it took.
pub fn finished(job: &Job, stop_ms: Option<i64>) -> JobSnapshot {
    seen(job, stop_ms, ASSIGNED_MS + 10 * 86_400_000)
}
