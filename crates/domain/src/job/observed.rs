//! Jobs on real devices: their state comes from what the runner observed, not from a plan.
//!
//! A real job's course is not known in advance, so instead of a plan its record holds what
//! has happened: when each of the three steps (setup = install + pre_test, the test phase,
//! teardown = post_test) started and ended and how, the test cases its JUnit output
//! reported, and when the runner let go of the device. [`observed_snapshot`] turns that into
//! the same [`JobSnapshot`] simulated jobs have, with the same vocabulary, counters, billing
//! unit and result precedence, so the API cannot tell the two apart.
//!
//! The stop rules for live processes (setup finishes, the test phase is signalled, teardown
//! runs) are carried out by the runner; here a stop shows as STOPPING until the runner
//! reports the job finished, and the tests that never ran end STOPPED.

use super::billing::billed_seconds;
use super::counters::Counters;
use super::result::{job_result, suite_result, worst_test_result};
use super::snapshot::{JobSnapshot, SuiteSnapshot, TestSnapshot};
use super::status::{ExecutionResult, ExecutionStatus};
use super::timeline::{
    JobTimes, PLACEHOLDER_TEST, SETUP_SUITE, SETUP_TEST, TEARDOWN_SUITE, TEARDOWN_TEST, TESTS_SUITE,
};
use super::timeout::Deadline;
use crate::run::WaitReason;
use serde::{Deserialize, Serialize};

/// How a step ended, as the runner saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepEnd {
    /// Every command succeeded.
    Succeeded,
    /// A command failed.
    Failed,
    /// Signalled because the job was stopped.
    Stopped,
    /// Signalled because the job reached its timeout.
    TimedOut,
    /// Ended by farmhand itself failing (its host restarted mid-step, the workspace could
    /// not be prepared): not the test's fault, so ERRORED, never FAILED.
    Errored,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedStep {
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub end: Option<StepEnd>,
    /// Why it failed (the failing command, its exit status), when it did.
    pub message: Option<String>,
}

/// A test case the test phase reported (JUnit XML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedCase {
    pub name: String,
    pub duration_ms: i64,
    pub result: ExecutionResult,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedJob {
    pub setup: Option<ObservedStep>,
    pub tests: Option<ObservedStep>,
    /// Filled when the test phase ends; empty when it reported nothing.
    pub cases: Vec<ObservedCase>,
    pub teardown: Option<ObservedStep>,
    /// When the runner was done with the device: the job's end.
    pub finished_ms: Option<i64>,
}

/// What a step shows at `now_ms`: not started, running, or ended with its result.
fn step_test(
    name: &str,
    step: Option<&ObservedStep>,
    failed_as: ExecutionResult,
    never_ran_as: ExecutionResult,
    job_final: bool,
    timeout_message: &str,
    now_ms: i64,
) -> TestSnapshot {
    let pending = TestSnapshot {
        name: name.to_string(),
        status: ExecutionStatus::Pending,
        result: ExecutionResult::Pending,
        started_ms: None,
        stopped_ms: None,
        message: None,
        billed_seconds: 0,
        counters: Counters::of_test(ExecutionResult::Pending),
    };
    let Some(step) = step.filter(|s| s.started_ms <= now_ms) else {
        if job_final {
            return TestSnapshot {
                status: ExecutionStatus::Completed,
                result: never_ran_as,
                counters: Counters::of_test(never_ran_as),
                ..pending
            };
        }
        return pending;
    };
    match (step.ended_ms.filter(|e| *e <= now_ms), step.end) {
        (Some(ended), Some(end)) => {
            let (result, message) = match end {
                StepEnd::Succeeded => (ExecutionResult::Passed, None),
                StepEnd::Failed => (failed_as, step.message.clone()),
                StepEnd::Stopped => (ExecutionResult::Stopped, None),
                StepEnd::TimedOut => (ExecutionResult::Errored, Some(timeout_message.to_string())),
                StepEnd::Errored => (ExecutionResult::Errored, step.message.clone()),
            };
            TestSnapshot {
                status: ExecutionStatus::Completed,
                result,
                started_ms: Some(step.started_ms),
                stopped_ms: Some(ended),
                message,
                billed_seconds: billed_seconds(step.started_ms, ended),
                counters: Counters::of_test(result),
                ..pending
            }
        }
        _ => TestSnapshot { status: ExecutionStatus::Running, started_ms: Some(step.started_ms), ..pending },
    }
}

/// The reported test cases laid end to end from the phase's start, the last one taking
/// whatever is left up to the phase's end: the phase's device time is billed exactly once,
/// spread over its tests, and the tests' minutes add up to the suite's.
fn case_tests(step: &ObservedStep, ended_ms: i64, cases: &[ObservedCase]) -> Vec<TestSnapshot> {
    let mut at = step.started_ms;
    let last = cases.len().saturating_sub(1);
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let end = if i == last { ended_ms.max(at) } else { (at + case.duration_ms.max(0)).min(ended_ms).max(at) };
            let test = TestSnapshot {
                name: case.name.clone(),
                status: ExecutionStatus::Completed,
                result: case.result,
                started_ms: Some(at),
                stopped_ms: Some(end),
                message: case.message.clone(),
                billed_seconds: billed_seconds(at, end),
                counters: Counters::of_test(case.result),
            };
            at = end;
            test
        })
        .collect()
}

fn suite(name: &str, tests: Vec<TestSnapshot>) -> SuiteSnapshot {
    let all_done = tests.iter().all(|t| t.status == ExecutionStatus::Completed);
    let any_started = tests.iter().any(|t| t.status != ExecutionStatus::Pending);
    let status = if all_done {
        ExecutionStatus::Completed
    } else if any_started {
        ExecutionStatus::Running
    } else {
        ExecutionStatus::Pending
    };
    let result = if all_done { suite_result(tests.iter().map(|t| t.result)) } else { ExecutionResult::Pending };
    let worst = worst_test_result(tests.iter().map(|t| t.result));
    SuiteSnapshot {
        name: name.to_string(),
        status,
        result,
        started_ms: tests.iter().filter_map(|t| t.started_ms).min(),
        stopped_ms: if all_done { tests.iter().filter_map(|t| t.stopped_ms).max() } else { None },
        message: tests.iter().find(|t| Some(t.result) == worst && t.message.is_some()).and_then(|t| t.message.clone()),
        billed_seconds: tests.iter().map(|t| t.billed_seconds).sum(),
        counters: Counters::sum(tests.iter().map(|t| &t.counters)),
        tests,
    }
}

/// A real job at `now_ms`, from what was observed and the persisted instants.
pub fn observed_snapshot(obs: &ObservedJob, times: &JobTimes, waiting: WaitReason, now_ms: i64) -> JobSnapshot {
    // A stop counts from the instant it is requested, and only if the job had not ended by
    // then: a stop after the end changes nothing.
    let stop = times.stop_requested_ms.filter(|s| *s <= now_ms && obs.finished_ms.is_none_or(|f| *s < f));
    // Stopped before it had a device: over at once, as for simulated jobs.
    let ended_unassigned = times.assigned_ms.is_none().then_some(stop).flatten();
    let finished = obs.finished_ms.filter(|f| *f <= now_ms).or(ended_unassigned);
    let is_final = finished.is_some();
    let timeout_message = Deadline::from_setup_start(0, times.timeout_minutes).message();
    let stopped = stop.is_some();
    let setup_failed = matches!(obs.setup.as_ref().and_then(|s| s.end), Some(StepEnd::Failed | StepEnd::Errored));
    let never_ran = if stopped || ended_unassigned.is_some() {
        ExecutionResult::Stopped
    } else if setup_failed {
        ExecutionResult::Skipped
    } else {
        ExecutionResult::Stopped
    };

    let setup = step_test(
        SETUP_TEST,
        obs.setup.as_ref(),
        ExecutionResult::Errored,
        never_ran,
        is_final,
        &timeout_message,
        now_ms,
    );
    let tests = match (&obs.tests, obs.tests.as_ref().and_then(|t| t.ended_ms).filter(|e| *e <= now_ms)) {
        (Some(step), Some(ended)) if !obs.cases.is_empty() => case_tests(step, ended, &obs.cases),
        (step, _) => vec![step_test(
            PLACEHOLDER_TEST,
            step.as_ref(),
            ExecutionResult::Failed,
            never_ran,
            is_final,
            &timeout_message,
            now_ms,
        )],
    };
    let teardown = step_test(
        TEARDOWN_TEST,
        obs.teardown.as_ref(),
        ExecutionResult::Failed,
        never_ran,
        is_final,
        &timeout_message,
        now_ms,
    );
    let suites =
        vec![suite(SETUP_SUITE, vec![setup]), suite(TESTS_SUITE, tests), suite(TEARDOWN_SUITE, vec![teardown])];

    let timed_out = [&obs.setup, &obs.tests].iter().any(|s| s.as_ref().and_then(|s| s.end) == Some(StepEnd::TimedOut));
    let started = |s: &Option<ObservedStep>| s.as_ref().is_some_and(|s| s.started_ms <= now_ms);
    let status = if is_final {
        ExecutionStatus::Completed
    } else if stopped && times.assigned_ms.is_some() {
        ExecutionStatus::Stopping
    } else if times.assigned_ms.is_none() {
        waiting.into()
    } else if started(&obs.tests) || started(&obs.teardown) {
        ExecutionStatus::Running
    } else if started(&obs.setup) {
        ExecutionStatus::Preparing
    } else {
        ExecutionStatus::Processing
    };
    let (result, message) = if is_final {
        let result = job_result(stopped, timed_out, suites.iter().flat_map(|s| s.tests.iter().map(|t| t.result)));
        let message = if timed_out {
            Some(timeout_message)
        } else if stopped {
            None
        } else {
            suites
                .iter()
                .flat_map(|s| &s.tests)
                .find(|t| t.result == result && t.message.is_some())
                .and_then(|t| t.message.clone())
        };
        (result, message)
    } else {
        (ExecutionResult::Pending, None)
    };
    JobSnapshot {
        status,
        result,
        message,
        started_ms: times.assigned_ms.filter(|a| *a <= now_ms),
        stopped_ms: finished,
        billed_seconds: suites.iter().map(|s| s.billed_seconds).sum(),
        device_released_ms: finished.filter(|_| times.assigned_ms.is_some()),
        counters: Counters::sum(suites.iter().map(|s| &s.counters)),
        suites,
        is_final,
        // A real job changes when the runner reports, not by the clock.
        next_change_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(assigned: Option<i64>, stop: Option<i64>) -> JobTimes {
        JobTimes {
            created_ms: 0,
            assigned_ms: assigned,
            stop_requested_ms: stop,
            stop_grace_ms: stop.map(|_| 10_000),
            timeout_minutes: 10,
        }
    }

    fn step(start: i64, end: Option<(i64, StepEnd)>) -> Option<ObservedStep> {
        Some(ObservedStep {
            started_ms: start,
            ended_ms: end.map(|(e, _)| e),
            end: end.map(|(_, how)| how),
            message: end.filter(|(_, how)| *how == StepEnd::Failed).map(|_| "command failed: exit 1".to_string()),
        })
    }

    fn case(name: &str, ms: i64, result: ExecutionResult) -> ObservedCase {
        ObservedCase { name: name.into(), duration_ms: ms, result, message: None }
    }

    #[test]
    fn a_finished_job_bills_every_step_and_reports_its_cases() {
        let obs = ObservedJob {
            setup: step(1_000, Some((3_000, StepEnd::Succeeded))),
            tests: step(3_000, Some((9_500, StepEnd::Failed))),
            cases: vec![case("login", 2_000, ExecutionResult::Passed), case("pay", 4_000, ExecutionResult::Failed)],
            teardown: step(9_500, Some((10_000, StepEnd::Succeeded))),
            finished_ms: Some(10_000),
        };
        let s = observed_snapshot(&obs, &times(Some(500), None), WaitReason::Pending, 20_000);
        assert!(s.is_final);
        assert_eq!((s.status, s.result), (ExecutionStatus::Completed, ExecutionResult::Failed));
        let names: Vec<&str> = s.tests().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Setup Test", "login", "pay", "Teardown Test"]);
        // 2 s setup, login 2 s, pay takes the rest of the phase (4.5 s → 5 s), teardown 0.5 s → 1 s.
        let billed: Vec<i64> = s.tests().map(|t| t.billed_seconds).collect();
        assert_eq!(billed, [2, 2, 5, 1]);
        assert_eq!(s.billed_seconds, 10);
        assert_eq!((s.counters.total, s.counters.passed, s.counters.failed), (4, 3, 1));
        assert_eq!(s.device_released_ms, Some(10_000));
    }

    #[test]
    fn a_running_job_shows_its_phase_and_bills_what_ended() {
        let obs = ObservedJob {
            setup: step(1_000, Some((3_000, StepEnd::Succeeded))),
            tests: step(3_000, None),
            ..Default::default()
        };
        let s = observed_snapshot(&obs, &times(Some(500), None), WaitReason::Pending, 5_000);
        assert_eq!((s.status, s.result), (ExecutionStatus::Running, ExecutionResult::Pending));
        assert_eq!(s.suites[1].tests[0].status, ExecutionStatus::Running);
        assert_eq!(s.billed_seconds, 2);
        let preparing = ObservedJob { setup: step(1_000, None), ..Default::default() };
        let s = observed_snapshot(&preparing, &times(Some(500), None), WaitReason::Pending, 2_000);
        assert_eq!(s.status, ExecutionStatus::Preparing);
        let s = observed_snapshot(&ObservedJob::default(), &times(Some(500), None), WaitReason::Pending, 600);
        assert_eq!(s.status, ExecutionStatus::Processing);
    }

    #[test]
    fn stopped_during_the_test_phase() {
        let mut obs = ObservedJob {
            setup: step(1_000, Some((3_000, StepEnd::Succeeded))),
            tests: step(3_000, None),
            ..Default::default()
        };
        let t = times(Some(500), Some(4_000));
        let s = observed_snapshot(&obs, &t, WaitReason::Pending, 4_100);
        assert_eq!(s.status, ExecutionStatus::Stopping);
        obs.tests = step(3_000, Some((4_200, StepEnd::Stopped)));
        obs.teardown = step(4_200, Some((5_000, StepEnd::Succeeded)));
        obs.finished_ms = Some(5_000);
        let s = observed_snapshot(&obs, &t, WaitReason::Pending, 6_000);
        assert_eq!(
            (s.status, s.result, s.message.as_deref()),
            (ExecutionStatus::Completed, ExecutionResult::Stopped, None)
        );
        assert_eq!(s.suites[1].tests[0].result, ExecutionResult::Stopped);
        // Setup 2 s + the signalled test phase 1.2 s → 2 s + teardown 0.8 s → 1 s.
        assert_eq!(s.billed_seconds, 5);
    }

    #[test]
    fn stopped_before_a_device_bills_nothing_and_ends_at_once() {
        let s = observed_snapshot(&ObservedJob::default(), &times(None, Some(1_000)), WaitReason::Device, 1_000);
        assert!(s.is_final);
        assert_eq!((s.status, s.result, s.billed_seconds), (ExecutionStatus::Completed, ExecutionResult::Stopped, 0));
        assert!(s.tests().all(|t| t.result == ExecutionResult::Stopped));
        assert_eq!(s.device_released_ms, None);
        let waiting = observed_snapshot(&ObservedJob::default(), &times(None, None), WaitReason::Device, 1_000);
        assert_eq!(waiting.status, ExecutionStatus::PendingDevice);
    }

    #[test]
    fn a_failing_setup_errors_the_job_skips_the_tests_and_still_tears_down() {
        let obs = ObservedJob {
            setup: step(1_000, Some((2_000, StepEnd::Failed))),
            teardown: step(2_000, Some((3_000, StepEnd::Succeeded))),
            finished_ms: Some(3_000),
            ..Default::default()
        };
        let s = observed_snapshot(&obs, &times(Some(500), None), WaitReason::Pending, 3_000);
        assert_eq!(s.result, ExecutionResult::Errored);
        assert_eq!(s.message.as_deref(), Some("command failed: exit 1"));
        assert_eq!(s.suites[1].tests[0].result, ExecutionResult::Skipped);
        assert_eq!(s.suites[2].tests[0].result, ExecutionResult::Passed);
        assert_eq!(s.billed_seconds, 2);
    }

    #[test]
    fn a_timeout_errors_the_job_with_its_message() {
        let obs = ObservedJob {
            setup: step(1_000, Some((2_000, StepEnd::Succeeded))),
            tests: step(2_000, Some((601_000, StepEnd::TimedOut))),
            teardown: step(601_000, Some((602_000, StepEnd::Succeeded))),
            finished_ms: Some(602_000),
            ..Default::default()
        };
        let s = observed_snapshot(&obs, &times(Some(500), None), WaitReason::Pending, 700_000);
        assert_eq!(s.result, ExecutionResult::Errored);
        assert_eq!(s.message.as_deref(), Some("Job timed out after 10 minutes"));
        assert_eq!(s.suites[1].tests[0].message.as_deref(), Some("Job timed out after 10 minutes"));
    }

    use proptest::prelude::*;

    fn any_end() -> impl Strategy<Value = StepEnd> {
        prop::sample::select(vec![
            StepEnd::Succeeded,
            StepEnd::Failed,
            StepEnd::Stopped,
            StepEnd::TimedOut,
            StepEnd::Errored,
        ])
    }

    fn any_result() -> impl Strategy<Value = ExecutionResult> {
        prop::sample::select(vec![
            ExecutionResult::Passed,
            ExecutionResult::Failed,
            ExecutionResult::Errored,
            ExecutionResult::Skipped,
            ExecutionResult::Warned,
        ])
    }

    proptest! {
        #[test]
        fn totals_are_sums_and_final_jobs_decide_every_test(
            durations in prop::collection::vec(0i64..5_000, 3),
            ends in prop::collection::vec(any_end(), 3),
            cases in prop::collection::vec((0i64..3_000, any_result()), 0..6),
            reached in 0usize..=3,
            stop in prop::option::of(0i64..20_000),
            now in 0i64..30_000,
        ) {
            let mut at = 100;
            let mut steps = Vec::new();
            for i in 0..reached {
                let end = at + durations[i];
                steps.push(step(at, Some((end, ends[i]))));
                at = end;
            }
            let obs = ObservedJob {
                setup: steps.first().cloned().flatten(),
                tests: steps.get(1).cloned().flatten(),
                cases: if reached >= 2 { cases.iter().enumerate().map(|(i, (ms, r))| case(&format!("c{i}"), *ms, *r)).collect() } else { vec![] },
                teardown: steps.get(2).cloned().flatten(),
                finished_ms: (reached == 3).then_some(at),
            };
            let s = observed_snapshot(&obs, &times(Some(50), stop), WaitReason::Pending, now);
            prop_assert_eq!(s.billed_seconds, s.suites.iter().map(|x| x.billed_seconds).sum::<i64>());
            for suite in &s.suites {
                prop_assert_eq!(suite.billed_seconds, suite.tests.iter().map(|t| t.billed_seconds).sum::<i64>());
            }
            if s.is_final {
                prop_assert_eq!(s.counters.decided(), s.counters.total);
                prop_assert!(s.result != ExecutionResult::Pending);
                // Nothing changes once final.
                prop_assert_eq!(&observed_snapshot(&obs, &times(Some(50), stop), WaitReason::Pending, now + 10_000), &s);
            }
            // Billing covers exactly the device time of the steps that ended by now.
            let ended: i64 = steps.iter().flatten().filter(|st| st.ended_ms.is_some_and(|e| e <= now) && st.started_ms <= now)
                .map(|st| st.ended_ms.unwrap_or(0) - st.started_ms).sum();
            prop_assert!(s.billed_seconds * 1000 >= ended);
        }
    }
}
