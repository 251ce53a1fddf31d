//! A job as any read sees it at one instant: status, result, suites, tests, counters,
//! billed seconds. [`snapshot`] is a pure function of the plan, the persisted
//! [`JobTimes`] and "now", so GetJob, ListTests and the engine always agree, and
//! `next_change_ms` tells the engine when to look again.
//!
//! Statuses after assignment at A, with setup beginning at S: PROCESSING, SCHEDULING and
//! PREPARING until S; PREPARING while setup runs; RUNNING through the tests and teardown;
//! STOPPING instead, from an effective stop until the job ends; then COMPLETED. A job's
//! result, and a suite's, stay PENDING until they are COMPLETED.
//!
//! Device time is billed when a step ends (not second by second while it runs), so a
//! snapshot only changes at the instants the timeline names.

use super::billing::billed_seconds;
use super::counters::Counters;
use super::plan::JobPlan;
use super::result::{job_result, suite_result};
use super::status::{ExecutionResult, ExecutionStatus};
use super::timeline::{
    resolve, test_names, JobTimes, PrepDurations, Step, StepOutcome, Timeline, SETUP_SUITE, SETUP_TEST, TEARDOWN_SUITE,
    TEARDOWN_TEST, TESTS_SUITE,
};
use crate::run::WaitReason;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSnapshot {
    pub name: String,
    pub status: ExecutionStatus,
    pub result: ExecutionResult,
    /// `None` for a test that has not started, or never will.
    pub started_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
    pub message: Option<String>,
    pub billed_seconds: i64,
    pub counters: Counters,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteSnapshot {
    pub name: String,
    pub status: ExecutionStatus,
    pub result: ExecutionResult,
    pub started_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
    pub message: Option<String>,
    pub billed_seconds: i64,
    pub counters: Counters,
    pub tests: Vec<TestSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSnapshot {
    pub status: ExecutionStatus,
    pub result: ExecutionResult,
    pub message: Option<String>,
    /// When the device was assigned.
    pub started_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
    pub billed_seconds: i64,
    /// Once the job is over, when it let go of the device it was assigned (if any).
    pub device_released_ms: Option<i64>,
    /// Always three: Setup Suite, Tests Suite, Teardown Suite.
    pub suites: Vec<SuiteSnapshot>,
    pub counters: Counters,
    pub is_final: bool,
    /// The next instant at which this snapshot changes by itself. `None` when it never
    /// will: the job is final, or it waits for the scheduler to give it a device.
    pub next_change_ms: Option<i64>,
}

impl JobSnapshot {
    pub fn tests(&self) -> impl Iterator<Item = &TestSnapshot> {
        self.suites.iter().flat_map(|s| &s.tests)
    }
}

impl From<WaitReason> for ExecutionStatus {
    fn from(reason: WaitReason) -> ExecutionStatus {
        match reason {
            WaitReason::Pending => ExecutionStatus::Pending,
            WaitReason::Concurrency => ExecutionStatus::PendingConcurrency,
            WaitReason::Device => ExecutionStatus::PendingDevice,
        }
    }
}

/// The job at `now_ms`. `waiting` is the scheduler's reason, shown while the job has no
/// device.
pub fn snapshot(
    plan: &JobPlan,
    prep: &PrepDurations,
    times: &JobTimes,
    waiting: WaitReason,
    now_ms: i64,
) -> JobSnapshot {
    let timeline = resolve(plan, prep, times);
    let suites = suites_at(&timeline, plan, now_ms);
    let is_final = timeline.end_ms.is_some_and(|end| now_ms >= end);
    let (result, message) = if is_final { final_result(&timeline, &suites) } else { (ExecutionResult::Pending, None) };
    JobSnapshot {
        status: status_at(&timeline, prep, waiting, now_ms),
        result,
        message,
        started_ms: timeline.assigned_ms.filter(|a| now_ms >= *a),
        stopped_ms: timeline.end_ms.filter(|_| is_final),
        billed_seconds: suites.iter().map(|s| s.billed_seconds).sum(),
        device_released_ms: timeline.end_ms.filter(|_| is_final && times.assigned_ms.is_some()),
        counters: Counters::sum(suites.iter().map(|s| &s.counters)),
        suites,
        is_final,
        next_change_ms: if is_final { None } else { next_change(&timeline, prep, now_ms) },
    }
}

fn status_at(timeline: &Timeline, prep: &PrepDurations, waiting: WaitReason, now: i64) -> ExecutionStatus {
    if timeline.end_ms.is_some_and(|end| now >= end) {
        return ExecutionStatus::Completed;
    }
    if timeline.stopped_ms.is_some_and(|at| now >= at) {
        return ExecutionStatus::Stopping;
    }
    let Some(assigned) = timeline.assigned_ms.filter(|a| now >= *a) else {
        return waiting.into();
    };
    let scheduling_from = assigned + prep.processing_ms.max(0);
    let preparing_from = scheduling_from + prep.scheduling_ms.max(0);
    // Setup is part of PREPARING; the job is RUNNING once its tests begin.
    let running_from = match timeline.steps.as_ref().map(|s| &s.setup.outcome) {
        Some(StepOutcome::Runs { stopped_ms, .. }) => Some(*stopped_ms),
        _ => None,
    };
    if now < scheduling_from {
        ExecutionStatus::Processing
    } else if now < preparing_from {
        ExecutionStatus::Scheduling
    } else if running_from.is_none_or(|r| now < r) {
        ExecutionStatus::Preparing
    } else {
        ExecutionStatus::Running
    }
}

fn final_result(timeline: &Timeline, suites: &[SuiteSnapshot]) -> (ExecutionResult, Option<String>) {
    let tests = || suites.iter().flat_map(|s| &s.tests);
    let result = job_result(timeline.stopped_ms.is_some(), timeline.timeout.is_some(), tests().map(|t| t.result));
    // A timeout is worth saying even when a stop decided the result; a plain stop needs
    // no message; otherwise the first test that made the result explains it.
    let message = match timeline.timeout {
        Some(deadline) => Some(deadline.message()),
        None if timeline.stopped_ms.is_some() => None,
        None => first_message(tests(), result),
    };
    (result, message)
}

fn first_message<'a>(tests: impl IntoIterator<Item = &'a TestSnapshot>, result: ExecutionResult) -> Option<String> {
    tests.into_iter().filter(|t| t.result == result).find_map(|t| t.message.clone())
}

fn suites_at(timeline: &Timeline, plan: &JobPlan, now: i64) -> Vec<SuiteSnapshot> {
    match &timeline.steps {
        Some(steps) => vec![
            suite(SETUP_SUITE, vec![test_at(&steps.setup, now)]),
            suite(TESTS_SUITE, steps.tests.iter().map(|t| test_at(t, now)).collect()),
            suite(TEARDOWN_SUITE, vec![test_at(&steps.teardown, now)]),
        ],
        None => vec![
            suite(SETUP_SUITE, vec![pending_test(SETUP_TEST.to_owned())]),
            suite(TESTS_SUITE, test_names(plan).into_iter().map(pending_test).collect()),
            suite(TEARDOWN_SUITE, vec![pending_test(TEARDOWN_TEST.to_owned())]),
        ],
    }
}

fn pending_test(name: String) -> TestSnapshot {
    TestSnapshot {
        name,
        status: ExecutionStatus::Pending,
        result: ExecutionResult::Pending,
        started_ms: None,
        stopped_ms: None,
        message: None,
        billed_seconds: 0,
        counters: Counters::of_test(ExecutionResult::Pending),
    }
}

fn test_at(step: &Step, now: i64) -> TestSnapshot {
    let pending = pending_test(step.name.clone());
    match &step.outcome {
        StepOutcome::Runs { started_ms, stopped_ms, result, message } if now >= *stopped_ms => TestSnapshot {
            status: ExecutionStatus::Completed,
            result: *result,
            started_ms: Some(*started_ms),
            stopped_ms: Some(*stopped_ms),
            message: message.clone(),
            billed_seconds: billed_seconds(*started_ms, *stopped_ms),
            counters: Counters::of_test(*result),
            ..pending
        },
        StepOutcome::Runs { started_ms, .. } if now >= *started_ms => {
            TestSnapshot { status: ExecutionStatus::Running, started_ms: Some(*started_ms), ..pending }
        }
        StepOutcome::NeverStarts { stopped_ms } if now >= *stopped_ms => TestSnapshot {
            status: ExecutionStatus::Completed,
            result: ExecutionResult::Stopped,
            stopped_ms: Some(*stopped_ms),
            counters: Counters::of_test(ExecutionResult::Stopped),
            ..pending
        },
        _ => pending,
    }
}

/// A suite is COMPLETED when all its tests are, PENDING while none has begun or ended,
/// RUNNING in between.
fn suite(name: &str, tests: Vec<TestSnapshot>) -> SuiteSnapshot {
    let completed = tests.iter().all(|t| t.status.is_final());
    let untouched = tests.iter().all(|t| t.status == ExecutionStatus::Pending);
    let status = if completed {
        ExecutionStatus::Completed
    } else if untouched {
        ExecutionStatus::Pending
    } else {
        ExecutionStatus::Running
    };
    let result = if completed { suite_result(tests.iter().map(|t| t.result)) } else { ExecutionResult::Pending };
    SuiteSnapshot {
        name: name.to_owned(),
        status,
        result,
        started_ms: tests.iter().filter_map(|t| t.started_ms).min(),
        stopped_ms: if completed { tests.iter().filter_map(|t| t.stopped_ms).max() } else { None },
        message: if completed { first_message(&tests, result) } else { None },
        billed_seconds: tests.iter().map(|t| t.billed_seconds).sum(),
        counters: Counters::sum(tests.iter().map(|t| &t.counters)),
        tests,
    }
}

/// Every instant at which the snapshot can change: the preparation phases, the stop, each
/// step's start and end. The earliest one after `now`.
fn next_change(timeline: &Timeline, prep: &PrepDurations, now: i64) -> Option<i64> {
    let mut instants = Vec::new();
    if let Some(a) = timeline.assigned_ms {
        let scheduling_from = a + prep.processing_ms.max(0);
        instants.extend([a, scheduling_from, scheduling_from + prep.scheduling_ms.max(0)]);
    }
    instants.extend(timeline.stopped_ms);
    instants.extend(timeline.end_ms);
    if let Some(steps) = &timeline.steps {
        for step in steps.iter() {
            match step.outcome {
                StepOutcome::Runs { started_ms, stopped_ms, .. } => instants.extend([started_ms, stopped_ms]),
                StepOutcome::NeverStarts { stopped_ms } => instants.push(stopped_ms),
            }
        }
    }
    instants.into_iter().filter(|t| *t > now).min()
}
