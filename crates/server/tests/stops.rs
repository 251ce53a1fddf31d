//! StopJob and StopRun through the operations, in every phase of a simulated job, against
//! the reference (stop_job.txt) as `domain::job::stop` reads it: before setup begins the job
//! ends at once, STOPPED and unbilled; once setup has begun, setup and teardown run whole,
//! the test in progress ends at stop + grace, later tests end STOPPED, and the job passes
//! STOPPING; a stop after the end changes nothing. Every answer is the whole entity.

mod support;

use serde_json::{json, Value};
use support::Farm;

// Service seconds; at SCALE times real time each phase lasts a second or more of real time,
// long enough to be caught by polling.
const SCALE: f64 = 8.0;
const GRACE_SECONDS: f64 = 2.0;
const SCENARIO: &str = "setup_seconds: 12\nteardown_seconds: 12\ntests:\n  - {name: first, seconds: 12}\n  - {name: second, seconds: 12}\n";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for a slot (the account may run no job): no device yet.
    Pending,
    Preparing,
    Setup,
    FirstTest,
    Teardown,
    Completed,
}

fn suite_status(job_suites: &Value, index: usize) -> String {
    job_suites["suites"][index]["status"].as_str().unwrap_or_default().to_owned()
}

async fn reach(farm: &Farm, job: &str, phase: Phase) {
    let suites = || async { farm.ok("ListSuites", json!({"arn": job})).await };
    match phase {
        Phase::Pending => {
            farm.wait(|| farm.job(job), |j| j["status"] == "PENDING_CONCURRENCY").await;
        }
        Phase::Preparing => {
            farm.wait(|| farm.job(job), |j| j["status"] == "PREPARING").await;
        }
        Phase::Setup => {
            farm.wait(suites, |s| suite_status(s, 0) == "RUNNING").await;
        }
        Phase::FirstTest => {
            farm.wait(suites, |s| suite_status(s, 1) == "RUNNING").await;
        }
        Phase::Teardown => {
            farm.wait(suites, |s| suite_status(s, 2) == "RUNNING").await;
        }
        Phase::Completed => {
            farm.wait(|| farm.job(job), |j| j["status"] == "COMPLETED").await;
        }
    }
}

/// Runs the scenario on one device, stops it (the job, or the whole run) in `phase`, and
/// returns the stop's answer (the job or run as the response gave it) and the job once over.
async fn stop_in(phase: Phase, whole_run: bool) -> (Value, Value, Vec<String>) {
    let grace = GRACE_SECONDS.to_string();
    let mut farm = Farm::start(SCALE, &["--stop-grace-seconds", &grace]).await;
    let project = farm.project("stops").await;
    let package = farm.package(&project, SCENARIO).await;
    let androids = farm.androids().await;
    if phase == Phase::Pending {
        // One job at a time, and another run holds it: ours waits for a slot.
        farm.settings(|s| s.max_concurrent_jobs = 1).await;
        let (_, blocker) = farm.run_on(&project, &package, &androids[1]).await;
        farm.wait(|| farm.job(&blocker), |j| j["status"] == "RUNNING").await;
    }
    let (run, job) = farm.run_on(&project, &package, &androids[0]).await;
    reach(&farm, &job, phase).await;
    if matches!(phase, Phase::Setup | Phase::FirstTest | Phase::Teardown) {
        // Into the step, not on its first instant: the service clock moves SCALE ms per real
        // ms, and a stop at the very instant a step starts counts as before it (half-open).
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let answer = if whole_run {
        farm.ok("StopRun", json!({"arn": run})).await["run"].clone()
    } else {
        farm.ok("StopJob", json!({"arn": job})).await["job"].clone()
    };
    let done = farm.wait(|| farm.job(&job), |j| j["status"] == "COMPLETED").await;
    let tests = farm.ok("ListSuites", json!({"arn": job})).await["suites"]
        .as_array()
        .expect("suites")
        .iter()
        .map(|s| format!("{}:{}", s["name"].as_str().unwrap_or_default(), s["result"].as_str().unwrap_or_default()))
        .collect();
    (answer, done, tests)
}

fn minutes(job: &Value) -> f64 {
    job["deviceMinutes"]["total"].as_f64().expect("deviceMinutes.total")
}

fn assert_whole(answer: &Value) {
    for field in ["arn", "name", "type", "created", "status", "result", "counters"] {
        assert!(!answer[field].is_null(), "the answer lacks {field}: {answer}");
    }
}

async fn before_tests_start(phase: Phase, whole_run: bool) {
    let (answer, done, suites) = stop_in(phase, whole_run).await;
    assert_whole(&answer);
    assert_eq!(answer["status"], "COMPLETED", "stopped at once: {answer}");
    assert_eq!((done["result"].as_str(), minutes(&done)), (Some("STOPPED"), 0.0), "{done}");
    assert_eq!(done["counters"]["stopped"], done["counters"]["total"], "every test STOPPED: {done}");
    assert!(suites.iter().all(|s| s.ends_with(":STOPPED")), "{suites:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_job_while_pending_ends_it_at_once_unbilled() {
    before_tests_start(Phase::Pending, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_run_while_preparing_ends_it_at_once_unbilled() {
    before_tests_start(Phase::Preparing, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_job_while_preparing_ends_it_at_once_unbilled() {
    before_tests_start(Phase::Preparing, false).await;
}

async fn during_setup(whole_run: bool) {
    let (answer, done, suites) = stop_in(Phase::Setup, whole_run).await;
    assert_whole(&answer);
    assert_eq!(answer["status"], "STOPPING", "{answer}");
    assert_eq!(done["result"], "STOPPED", "{done}");
    // Setup and teardown run whole; no test starts.
    assert_eq!(suites, ["Setup Suite:PASSED", "Tests Suite:STOPPED", "Teardown Suite:PASSED"]);
    assert!((minutes(&done) - 24.0 / 60.0).abs() < 1e-9, "setup + teardown billed: {done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_job_during_setup_runs_setup_and_teardown_and_bills_them() {
    during_setup(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_run_during_setup_runs_setup_and_teardown_and_bills_them() {
    during_setup(true).await;
}

async fn during_a_test(whole_run: bool) {
    let (answer, done, suites) = stop_in(Phase::FirstTest, whole_run).await;
    assert_whole(&answer);
    assert_eq!(answer["status"], "STOPPING", "{answer}");
    assert_eq!(done["result"], "STOPPED", "{done}");
    assert_eq!(suites, ["Setup Suite:PASSED", "Tests Suite:STOPPED", "Teardown Suite:PASSED"]);
    // Setup and teardown whole, the first test up to stop + grace (at most its 12 s), the
    // second never.
    let billed = minutes(&done) * 60.0;
    assert!((24.0 + GRACE_SECONDS..=24.0 + 12.0).contains(&billed), "billed {billed} s: {done}");
    assert_eq!(
        (done["counters"]["stopped"].as_i64(), done["counters"]["passed"].as_i64()),
        (Some(2), Some(2)),
        "{done}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_job_during_a_test_interrupts_it_and_runs_teardown() {
    during_a_test(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_run_during_a_test_interrupts_it_and_runs_teardown() {
    during_a_test(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_job_during_teardown_changes_no_step_but_the_result() {
    let (answer, done, suites) = stop_in(Phase::Teardown, false).await;
    assert_eq!(answer["status"], "STOPPING", "{answer}");
    assert_eq!(done["result"], "STOPPED", "{done}");
    assert_eq!(suites, ["Setup Suite:PASSED", "Tests Suite:PASSED", "Teardown Suite:PASSED"]);
    assert!((minutes(&done) - 48.0 / 60.0).abs() < 1e-9, "every step billed whole: {done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_after_the_end_changes_nothing() {
    for whole_run in [false, true] {
        let (answer, done, _) = stop_in(Phase::Completed, whole_run).await;
        assert_whole(&answer);
        assert_eq!(answer["status"], "COMPLETED", "{answer}");
        assert_eq!(done["result"], "PASSED", "{done}");
        assert!((minutes(&done) - 48.0 / 60.0).abs() < 1e-9, "{done}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_what_does_not_exist_or_is_not_a_job_is_the_services_error() {
    let farm = Farm::start(SCALE, &[]).await;
    let project = farm.project("errors").await;
    let missing = format!("arn:aws:devicefarm:us-west-2:{}:job:00000000-0000-4000-8000-000000000000/00000000-0000-4000-8000-000000000001/00000", support::ACCOUNT);
    assert_eq!(farm.error("StopJob", json!({"arn": missing})).await, "NotFoundException");
    assert_eq!(farm.error("StopRun", json!({"arn": project})).await, "ArgumentException");
    assert_eq!(farm.error("StopJob", json!({"arn": "not-an-arn"})).await, "ArgumentException");
}
