//! A job's whole course, decided from its plan and the few instants the server persists:
//! when a device was assigned, when a stop was first requested, the timeout. Nothing here
//! depends on "now": [`resolve`] says where every step starts and ends and how, and
//! [`super::snapshot`] reads that at any instant. That is what makes a restart lose nothing:
//! the same inputs give the same course.
//!
//! After assignment at A the device goes through PROCESSING, SCHEDULING and PREPARING
//! ([`PrepDurations`]); setup begins at S = A + their sum. Then the steps run back to back:
//! setup, each test in order, teardown. The stop rules ([`super::stop`]) and the deadline
//! ([`super::timeout`]) are applied to each step in turn; teardown is never cut.

use super::plan::JobPlan;
use super::status::ExecutionResult;
use super::stop::{record_first_stop, stop_effect, StopEffect};
use super::timeout::Deadline;

pub const SETUP_SUITE: &str = "Setup Suite";
pub const SETUP_TEST: &str = "Setup Test";
pub const TESTS_SUITE: &str = "Tests Suite";
/// The test a Tests Suite holds when the job reported no test case (notes: "Tests Suite
/// contents").
pub const PLACEHOLDER_TEST: &str = "Tests";
pub const TEARDOWN_SUITE: &str = "Teardown Suite";
pub const TEARDOWN_TEST: &str = "Teardown Test";

/// Message of a planned test that ends without a result: it cannot count as passed, and
/// the counters have no bucket for PENDING.
pub const NO_RESULT_MESSAGE: &str = "The test ended without reporting a result";

/// How long a device spends in each status between assignment and the start of setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepDurations {
    pub processing_ms: i64,
    pub scheduling_ms: i64,
    pub preparing_ms: i64,
}

impl Default for PrepDurations {
    /// Long enough for a client polling every second to see each status once.
    fn default() -> Self {
        PrepDurations { processing_ms: 1_000, scheduling_ms: 1_000, preparing_ms: 2_000 }
    }
}

impl PrepDurations {
    pub fn total_ms(&self) -> i64 {
        self.processing_ms.max(0) + self.scheduling_ms.max(0) + self.preparing_ms.max(0)
    }
}

/// What the server persists about a job's progress; everything else is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTimes {
    pub created_ms: i64,
    /// Device acquired: the job is PROCESSING from here.
    pub assigned_ms: Option<i64>,
    /// The first StopJob/StopRun; later ones do not move it.
    pub stop_requested_ms: Option<i64>,
    /// The server's stop grace when that stop was recorded: how long a test in progress
    /// may still run. `None` for a stop recorded before graces were (the test finishes).
    pub stop_grace_ms: Option<i64>,
    pub timeout_minutes: i32,
}

impl JobTimes {
    pub fn new(created_ms: i64, timeout_minutes: i32) -> JobTimes {
        JobTimes { created_ms, assigned_ms: None, stop_requested_ms: None, stop_grace_ms: None, timeout_minutes }
    }

    /// Records a stop request at `at_ms` with the server's grace at that moment unless one
    /// is recorded already (the first wins, grace included). Returns whether this one was
    /// recorded. Callers should not record a stop on a job that has ended; if they do,
    /// [`resolve`] ignores it anyway.
    pub fn request_stop(&mut self, at_ms: i64, grace_ms: i64) -> bool {
        record_first_stop(&mut self.stop_requested_ms, &mut self.stop_grace_ms, at_ms, grace_ms)
    }
}

/// How one step (setup, a test or teardown) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Runs on the device from `started_ms` to `stopped_ms` and ends with `result`.
    Runs { started_ms: i64, stopped_ms: i64, result: ExecutionResult, message: Option<String> },
    /// Never starts: STOPPED as of `stopped_ms` (the stop or the deadline).
    NeverStarts { stopped_ms: i64 },
}

impl StepOutcome {
    /// When this step is over, whether it ran or not.
    pub fn stopped_ms(&self) -> i64 {
        match self {
            StepOutcome::Runs { stopped_ms, .. } | StepOutcome::NeverStarts { stopped_ms } => *stopped_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub outcome: StepOutcome,
}

/// Every step of a job whose course is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps {
    pub setup: Step,
    /// Never empty: a plan without tests gets the placeholder test.
    pub tests: Vec<Step>,
    pub teardown: Step,
}

impl Steps {
    pub fn iter(&self) -> impl Iterator<Item = &Step> {
        std::iter::once(&self.setup).chain(&self.tests).chain(std::iter::once(&self.teardown))
    }
}

/// A job's course, independent of "now".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The assignment that counts: `None` without one, or when a stop had ended the job
    /// before the device was assigned.
    pub assigned_ms: Option<i64>,
    /// When setup begins, if it ever does.
    pub setup_start_ms: Option<i64>,
    /// The stop request, if it took effect.
    pub stopped_ms: Option<i64>,
    /// The deadline cut setup or a test, or kept a test from starting.
    pub timeout: Option<Deadline>,
    /// `None` while the job waits for a device with no stop requested: its course is not
    /// decided yet, and nothing will change until the scheduler assigns one.
    pub steps: Option<Steps>,
    pub end_ms: Option<i64>,
}

/// A plan's setup or one of its tests, as a step to run before any cut. Teardown is kept
/// apart: no cut applies to it.
struct Planned {
    name: String,
    duration_ms: i64,
    result: ExecutionResult,
    message: Option<String>,
}

fn planned_setup(plan: &JobPlan) -> Planned {
    Planned {
        name: SETUP_TEST.to_owned(),
        duration_ms: plan.setup_ms.max(0),
        result: ExecutionResult::Passed,
        message: None,
    }
}

fn planned_tests(plan: &JobPlan) -> Vec<Planned> {
    if plan.tests.is_empty() {
        return vec![Planned {
            name: PLACEHOLDER_TEST.to_owned(),
            duration_ms: 0,
            result: ExecutionResult::Passed,
            message: None,
        }];
    }
    plan.tests
        .iter()
        .map(|t| {
            let (result, message) = match t.result {
                ExecutionResult::Pending => (ExecutionResult::Errored, Some(NO_RESULT_MESSAGE.to_owned())),
                r => (r, t.message.clone()),
            };
            Planned { name: t.name.clone(), duration_ms: t.duration_ms.max(0), result, message }
        })
        .collect()
}

/// Decides the job's whole course.
pub fn resolve(plan: &JobPlan, prep: &PrepDurations, times: &JobTimes) -> Timeline {
    let setup_start = times.assigned_ms.map(|a| a + prep.total_ms());
    let natural = setup_start.map(|s| on_device(plan, s, times, StopEffect::Ignored));
    let effect =
        stop_effect(times.stop_requested_ms, times.stop_grace_ms, setup_start, natural.as_ref().and_then(|n| n.end_ms));
    match (effect, setup_start) {
        (StopEffect::EndsAtOnce { at_ms }, _) => ended_before_setup(plan, times, at_ms),
        (StopEffect::InterruptsTests { .. }, Some(s)) => on_device(plan, s, times, effect),
        // stop_effect interrupts tests only once setup has begun, so what is left is
        // "no stop that matters".
        _ => natural.unwrap_or(Timeline {
            assigned_ms: None,
            setup_start_ms: None,
            stopped_ms: None,
            timeout: None,
            steps: None,
            end_ms: None,
        }),
    }
}

/// Stop rule 1: the job ends at the stop and no step ever starts.
fn ended_before_setup(plan: &JobPlan, times: &JobTimes, at_ms: i64) -> Timeline {
    let never = |name: String| Step { name, outcome: StepOutcome::NeverStarts { stopped_ms: at_ms } };
    Timeline {
        assigned_ms: times.assigned_ms.filter(|a| *a <= at_ms),
        setup_start_ms: None,
        stopped_ms: Some(at_ms),
        timeout: None,
        steps: Some(Steps {
            setup: never(planned_setup(plan).name),
            tests: planned_tests(plan).into_iter().map(|p| never(p.name)).collect(),
            teardown: never(TEARDOWN_TEST.to_owned()),
        }),
        end_ms: Some(at_ms),
    }
}

/// The course once setup begins at `setup_start_ms`: steps back to back, each subject to
/// the stop (if any) and the deadline; then teardown, uncut, from the end of the last step
/// that ran.
fn on_device(plan: &JobPlan, setup_start_ms: i64, times: &JobTimes, stop: StopEffect) -> Timeline {
    let deadline = Deadline::from_setup_start(setup_start_ms, times.timeout_minutes);
    let mut timed_out = false;
    let mut cursor = setup_start_ms;
    let mut last_ran_end = setup_start_ms;
    // `is_test`: setup runs to completion after a stop; a test in progress is interrupted.
    let mut fate = |p: Planned, is_test: bool| -> Step {
        let (start, end) = (cursor, cursor + p.duration_ms);
        cursor = end;
        let by_stop = stop.keeps_from_starting(start);
        let by_deadline = deadline.keeps_from_starting(start);
        let outcome = match (by_stop, by_deadline) {
            // Whichever cut came first decides; on a tie the user's stop does.
            (Some(s), Some(d)) if d < s => {
                timed_out = true;
                StepOutcome::NeverStarts { stopped_ms: d }
            }
            (Some(s), _) => StepOutcome::NeverStarts { stopped_ms: s },
            (None, Some(d)) => {
                timed_out = true;
                StepOutcome::NeverStarts { stopped_ms: d }
            }
            (None, None) => {
                let interrupted = stop.interrupts_test(start, end).filter(|_| is_test);
                match (interrupted, deadline.cuts(start, end)) {
                    (Some(s), Some(d)) if d < s => {
                        timed_out = true;
                        timed_out_step(start, d, &deadline)
                    }
                    (Some(s), _) => StepOutcome::Runs {
                        started_ms: start,
                        stopped_ms: s,
                        result: ExecutionResult::Stopped,
                        message: None,
                    },
                    (None, Some(d)) => {
                        timed_out = true;
                        timed_out_step(start, d, &deadline)
                    }
                    (None, None) => {
                        StepOutcome::Runs { started_ms: start, stopped_ms: end, result: p.result, message: p.message }
                    }
                }
            }
        };
        if let StepOutcome::Runs { stopped_ms, .. } = outcome {
            last_ran_end = stopped_ms;
        }
        Step { name: p.name, outcome }
    };
    let setup = fate(planned_setup(plan), false);
    let tests: Vec<Step> = planned_tests(plan).into_iter().map(|p| fate(p, true)).collect();
    let teardown_end = last_ran_end + plan.teardown_ms.max(0);
    Timeline {
        assigned_ms: times.assigned_ms,
        setup_start_ms: Some(setup_start_ms),
        stopped_ms: stop.stopped_at(),
        timeout: timed_out.then_some(deadline),
        steps: Some(Steps {
            setup,
            tests,
            teardown: Step {
                name: TEARDOWN_TEST.to_owned(),
                outcome: StepOutcome::Runs {
                    started_ms: last_ran_end,
                    stopped_ms: teardown_end,
                    result: ExecutionResult::Passed,
                    message: None,
                },
            },
        }),
        end_ms: Some(teardown_end),
    }
}

/// A step the deadline cut at `at_ms`: ERRORED, saying so.
fn timed_out_step(started_ms: i64, at_ms: i64, deadline: &Deadline) -> StepOutcome {
    StepOutcome::Runs {
        started_ms,
        stopped_ms: at_ms,
        result: ExecutionResult::Errored,
        message: Some(deadline.message()),
    }
}

/// The names of the Tests Suite's tests, in order, whether or not the course is decided.
pub fn test_names(plan: &JobPlan) -> Vec<String> {
    planned_tests(plan).into_iter().map(|p| p.name).collect()
}
