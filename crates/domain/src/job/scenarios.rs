//! Worked examples of the job rules with exact numbers: the natural course, a stop in each
//! phase, timeouts, and the run roll-up.
//!
//! Unless a test says otherwise: the default plan (setup 5 s, three passing tests of 10 s,
//! teardown 5 s), default preparation (1 s + 1 s + 2 s), device assigned at A = 10 s, so
//! setup begins at S = 14 s: setup [S, S+5), test_1 [S+5, S+15), test_2 [S+15, S+25),
//! test_3 [S+25, S+35), teardown [S+35, S+40); a stop is recorded with the default grace
//! of 10 s.

use super::billing::{BillingMethod, DeviceMinutes};
use super::plan::{JobPlan, TestPlan};
use super::run::run_snapshot;
use super::snapshot::{snapshot, JobSnapshot, TestSnapshot};
use super::status::ExecutionResult::{self, Errored, Failed, Passed, Pending, Skipped, Stopped, Warned};
use super::status::ExecutionStatus::{
    self, Completed, PendingConcurrency, PendingDevice, Preparing, Processing, Running, Scheduling, Stopping,
};
use super::timeline::{JobTimes, PrepDurations, NO_RESULT_MESSAGE};
use crate::run::WaitReason;

const A: i64 = 10_000;
const S: i64 = 14_000;
const SEC: i64 = 1_000;
/// The server's default stop grace (notes: 10 s).
const GRACE: i64 = 10 * SEC;

fn times(assigned: Option<i64>, stop: Option<i64>) -> JobTimes {
    times_with_grace(assigned, stop, Some(GRACE))
}

fn times_with_grace(assigned: Option<i64>, stop: Option<i64>, grace: Option<i64>) -> JobTimes {
    JobTimes {
        created_ms: 0,
        assigned_ms: assigned,
        stop_requested_ms: stop,
        stop_grace_ms: stop.and(grace),
        timeout_minutes: 150,
    }
}

fn at(plan: &JobPlan, times: &JobTimes, now: i64) -> JobSnapshot {
    snapshot(plan, &PrepDurations::default(), times, WaitReason::Pending, now)
}

fn default_at(assigned: Option<i64>, stop: Option<i64>, now: i64) -> JobSnapshot {
    at(&JobPlan::default_simulation(), &times(assigned, stop), now)
}

fn test<'a>(job: &'a JobSnapshot, name: &str) -> &'a TestSnapshot {
    job.tests().find(|t| t.name == name).unwrap_or_else(|| panic!("no test {name}"))
}

fn outcome(t: &TestSnapshot) -> (ExecutionStatus, ExecutionResult, Option<i64>, Option<i64>) {
    (t.status, t.result, t.started_ms, t.stopped_ms)
}

fn plan(setup_s: i64, tests: &[(i64, ExecutionResult)], teardown_s: i64) -> JobPlan {
    JobPlan {
        setup_ms: setup_s * SEC,
        tests: tests
            .iter()
            .enumerate()
            .map(|(i, (secs, result))| TestPlan {
                name: format!("t{}", i + 1),
                duration_ms: secs * SEC,
                result: *result,
                message: (*result != Passed).then(|| format!("t{} said {}", i + 1, result)),
            })
            .collect(),
        teardown_ms: teardown_s * SEC,
    }
}

#[test]
fn a_job_without_a_device_shows_why_it_waits_and_never_changes_by_itself() {
    let t = times(None, None);
    let p = JobPlan::default_simulation();
    let job = snapshot(&p, &PrepDurations::default(), &t, WaitReason::Device, 5_000);
    assert_eq!((job.status, job.result), (PendingDevice, Pending));
    assert_eq!(job.next_change_ms, None);
    assert!(!job.is_final);
    assert_eq!(job.suites.len(), 3);
    assert_eq!(job.counters.total, 5);
    assert_eq!(job.counters.decided(), 0);
    let concurrency = snapshot(&p, &PrepDurations::default(), &t, WaitReason::Concurrency, 5_000);
    assert_eq!(concurrency.status, PendingConcurrency);
}

#[test]
fn the_natural_course_goes_through_every_status() {
    let expect = [
        (A - 1, ExecutionStatus::Pending, Some(A)),
        (A, Processing, Some(A + SEC)),
        (A + SEC, Scheduling, Some(A + 2 * SEC)),
        (A + 2 * SEC, Preparing, Some(S)),
        (S, Preparing, Some(S + 5 * SEC)),
        (S + 5 * SEC, Running, Some(S + 15 * SEC)),
        (S + 35 * SEC, Running, Some(S + 40 * SEC)),
        (S + 40 * SEC, Completed, None),
    ];
    for (now, status, next) in expect {
        let job = default_at(Some(A), None, now);
        assert_eq!((job.status, job.next_change_ms), (status, next), "at {now}");
    }
    let setup_running = default_at(Some(A), None, S);
    assert_eq!(outcome(test(&setup_running, "Setup Test")), (Running, Pending, Some(S), None));
}

#[test]
fn a_finished_job_passes_bills_its_device_time_and_frees_the_device() {
    let job = default_at(Some(A), None, S + 40 * SEC);
    assert_eq!((job.status, job.result, job.message.clone()), (Completed, Passed, None));
    assert_eq!((job.started_ms, job.stopped_ms), (Some(A), Some(S + 40 * SEC)));
    assert_eq!(job.device_released_ms, Some(S + 40 * SEC));
    assert_eq!(job.billed_seconds, 40);
    assert_eq!((job.counters.total, job.counters.passed), (5, 5));
    let names: Vec<_> = job.suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Setup Suite", "Tests Suite", "Teardown Suite"]);
    let billed: Vec<_> = job.suites.iter().map(|s| s.billed_seconds).collect();
    assert_eq!(billed, [5, 30, 5]);
    let tests_suite = &job.suites[1];
    assert_eq!(
        (tests_suite.started_ms, tests_suite.stopped_ms, tests_suite.result),
        (Some(S + 5 * SEC), Some(S + 35 * SEC), Passed)
    );
    assert!(job.is_final);
}

#[test]
fn stop_before_the_device_is_assigned_ends_the_job_at_once_unbilled() {
    let job = default_at(None, Some(3_000), 3_000);
    assert_eq!((job.status, job.result), (Completed, Stopped));
    assert_eq!((job.started_ms, job.stopped_ms), (None, Some(3_000)));
    assert_eq!((job.billed_seconds, job.device_released_ms), (0, None));
    assert_eq!((job.counters.total, job.counters.stopped), (5, 5));
    assert!(job.suites.iter().all(|s| s.result == Stopped && s.status == Completed));
    // Before the request arrives, the job was simply waiting.
    assert_eq!(default_at(None, Some(3_000), 2_999).status, ExecutionStatus::Pending);
}

#[test]
fn stop_while_the_device_is_prepared_ends_the_job_at_once_and_frees_the_device() {
    let stop = A + SEC;
    let job = default_at(Some(A), Some(stop), stop);
    assert_eq!((job.status, job.result, job.billed_seconds), (Completed, Stopped, 0));
    assert_eq!((job.started_ms, job.stopped_ms), (Some(A), Some(stop)));
    assert_eq!(job.device_released_ms, Some(stop));
    assert!(job.tests().all(|t| outcome(t) == (Completed, Stopped, None, Some(stop))));
    assert_eq!(DeviceMinutes::from_seconds(job.billed_seconds, BillingMethod::Metered).total, 0.0);
    assert_eq!(default_at(Some(A), Some(stop), stop - 1).status, Processing);
}

#[test]
fn stop_exactly_when_setup_would_begin_counts_as_not_started() {
    let job = default_at(Some(A), Some(S), S);
    assert_eq!((job.status, job.result, job.billed_seconds), (Completed, Stopped, 0));
}

#[test]
fn stop_during_setup_finishes_setup_skips_the_tests_and_runs_teardown() {
    let stop = S + 2 * SEC;
    let stopping = default_at(Some(A), Some(stop), stop);
    assert_eq!((stopping.status, stopping.result), (Stopping, Pending));
    assert_eq!(outcome(test(&stopping, "Setup Test")), (Running, Pending, Some(S), None));
    for name in ["test_1", "test_2", "test_3"] {
        assert_eq!(outcome(test(&stopping, name)), (Completed, Stopped, None, Some(stop)));
    }
    assert_eq!(stopping.next_change_ms, Some(S + 5 * SEC));

    let teardown = default_at(Some(A), Some(stop), S + 5 * SEC);
    assert_eq!(teardown.status, Stopping);
    assert_eq!(outcome(test(&teardown, "Teardown Test")), (Running, Pending, Some(S + 5 * SEC), None));

    let done = default_at(Some(A), Some(stop), S + 10 * SEC);
    assert_eq!((done.status, done.result, done.billed_seconds), (Completed, Stopped, 10));
    assert_eq!(done.device_released_ms, Some(S + 10 * SEC));
    assert_eq!((done.counters.total, done.counters.passed, done.counters.stopped), (5, 2, 3));
    assert_eq!(done.suites[1].result, Stopped);

    // However short the grace: setup is not a test, it is never interrupted.
    let no_grace = at(&JobPlan::default_simulation(), &times_with_grace(Some(A), Some(stop), Some(0)), S + 10 * SEC);
    assert_eq!(no_grace, done);
}

#[test]
fn stop_during_a_test_that_ends_within_the_grace_lets_it_finish_and_stops_the_rest_unbilled() {
    let stop = S + 17 * SEC; // during test_2, [S+15, S+25): it ends before S+27
    let stopping = default_at(Some(A), Some(stop), stop);
    assert_eq!(stopping.status, Stopping);
    assert_eq!(outcome(test(&stopping, "test_1")), (Completed, Passed, Some(S + 5 * SEC), Some(S + 15 * SEC)));
    assert_eq!(outcome(test(&stopping, "test_2")), (Running, Pending, Some(S + 15 * SEC), None));
    assert_eq!(outcome(test(&stopping, "test_3")), (Completed, Stopped, None, Some(stop)));

    let teardown = default_at(Some(A), Some(stop), S + 25 * SEC);
    assert_eq!(outcome(test(&teardown, "test_2")), (Completed, Passed, Some(S + 15 * SEC), Some(S + 25 * SEC)));
    assert_eq!(outcome(test(&teardown, "Teardown Test")), (Running, Pending, Some(S + 25 * SEC), None));
    assert_eq!(teardown.status, Stopping);

    let done = default_at(Some(A), Some(stop), S + 30 * SEC);
    assert_eq!((done.status, done.result), (Completed, Stopped));
    assert_eq!(done.stopped_ms, Some(S + 30 * SEC));
    assert_eq!(done.billed_seconds, 30);
    let minutes = DeviceMinutes::from_seconds(done.billed_seconds, BillingMethod::Metered);
    assert_eq!((minutes.total, minutes.metered), (0.5, 0.5));
    assert_eq!(test(&done, "test_3").billed_seconds, 0);
    assert_eq!(done.suites[1].result, Passed);
    assert_eq!((done.counters.passed, done.counters.stopped), (4, 1));
}

#[test]
fn stop_during_a_test_interrupts_it_at_stop_plus_grace() {
    let p = plan(5, &[(10, Passed), (30 * 60, Failed), (10, Passed)], 5);
    let t = times(Some(A), Some(S + 75 * SEC)); // a minute into t2, [S+15, S+1815)
    let cut = S + 85 * SEC;
    let stopping = at(&p, &t, cut - 1);
    assert_eq!(stopping.status, Stopping);
    assert_eq!(outcome(test(&stopping, "t2")), (Running, Pending, Some(S + 15 * SEC), None));
    assert_eq!(stopping.next_change_ms, Some(cut));

    let teardown = at(&p, &t, cut);
    assert_eq!(outcome(test(&teardown, "t2")), (Completed, Stopped, Some(S + 15 * SEC), Some(cut)));
    assert_eq!(test(&teardown, "t2").message, None);
    assert_eq!(outcome(test(&teardown, "Teardown Test")), (Running, Pending, Some(cut), None));
    assert_eq!(outcome(test(&teardown, "t3")), (Completed, Stopped, None, Some(S + 75 * SEC)));

    let done = at(&p, &t, cut + 5 * SEC);
    assert_eq!((done.status, done.result, done.message.clone()), (Completed, Stopped, None));
    assert_eq!(done.stopped_ms, Some(cut + 5 * SEC));
    assert_eq!(done.device_released_ms, Some(cut + 5 * SEC));
    // Setup 5 + t1 10 + t2 70 (to stop + grace) + teardown 5; not the 30 minutes planned.
    assert_eq!(done.billed_seconds, 90);
    assert_eq!(test(&done, "t2").billed_seconds, 70);
    // t2 would have FAILED; interrupted, it did not, and t1's pass is the suite's result.
    assert_eq!(done.suites[1].result, Passed);
    let c = done.counters;
    assert_eq!((c.total, c.passed, c.stopped, c.failed), (5, 3, 2, 0));
}

#[test]
fn a_test_ending_exactly_at_stop_plus_grace_ended_by_itself() {
    let stop = S + 15 * SEC + 3 * SEC; // test_2 ends at S+25 = stop + 7 s
    let done = at(&JobPlan::default_simulation(), &times_with_grace(Some(A), Some(stop), Some(7 * SEC)), S + 30 * SEC);
    assert_eq!(outcome(test(&done, "test_2")), (Completed, Passed, Some(S + 15 * SEC), Some(S + 25 * SEC)));
    let a_ms_less =
        at(&JobPlan::default_simulation(), &times_with_grace(Some(A), Some(stop), Some(7 * SEC - 1)), S + 30 * SEC);
    assert_eq!(outcome(test(&a_ms_less, "test_2")), (Completed, Stopped, Some(S + 15 * SEC), Some(S + 25 * SEC - 1)));
}

#[test]
fn a_zero_grace_interrupts_the_test_at_the_stop_instant() {
    let stop = S + 17 * SEC;
    let done = at(&JobPlan::default_simulation(), &times_with_grace(Some(A), Some(stop), Some(0)), S + 22 * SEC);
    assert_eq!(outcome(test(&done, "test_2")), (Completed, Stopped, Some(S + 15 * SEC), Some(stop)));
    assert_eq!(outcome(test(&done, "Teardown Test")), (Completed, Passed, Some(stop), Some(stop + 5 * SEC)));
    assert_eq!((done.result, done.billed_seconds), (Stopped, 22));
}

#[test]
fn a_stop_recorded_without_a_grace_keeps_the_course_it_was_recorded_under() {
    // Stored by a release that let simulated tests run to their planned end.
    let p = plan(5, &[(30 * 60, Passed)], 5);
    let done = at(&p, &times_with_grace(Some(A), Some(S + 75 * SEC), None), S + 1815 * SEC);
    assert_eq!(outcome(test(&done, "t1")), (Completed, Passed, Some(S + 5 * SEC), Some(S + 1805 * SEC)));
    assert_eq!((done.result, done.billed_seconds), (Stopped, 1810));
}

#[test]
fn stop_exactly_between_two_tests_starts_neither_the_next_nor_any_later_one() {
    let stop = S + 15 * SEC;
    let done = default_at(Some(A), Some(stop), S + 20 * SEC);
    assert_eq!((done.status, done.result, done.billed_seconds), (Completed, Stopped, 20));
    assert_eq!(test(&done, "test_1").result, Passed);
    assert_eq!(outcome(test(&done, "test_2")), (Completed, Stopped, None, Some(stop)));
}

#[test]
fn stop_during_teardown_changes_no_step_but_the_job_ends_stopped() {
    let stop = S + 37 * SEC;
    assert_eq!(default_at(Some(A), Some(stop), stop - 1).status, Running);
    assert_eq!(default_at(Some(A), Some(stop), stop).status, Stopping);
    let done = default_at(Some(A), Some(stop), S + 40 * SEC);
    let natural = default_at(Some(A), None, S + 40 * SEC);
    assert_eq!((done.status, done.result, done.billed_seconds), (Completed, Stopped, 40));
    assert_eq!(done.suites, natural.suites);
    assert_eq!(done.stopped_ms, natural.stopped_ms);
}

#[test]
fn stop_at_or_after_the_end_changes_nothing() {
    for stop in [S + 40 * SEC, S + 99 * SEC] {
        for now in [A, S + 20 * SEC, S + 40 * SEC, S + 200 * SEC] {
            assert_eq!(default_at(Some(A), Some(stop), now), default_at(Some(A), None, now));
        }
    }
}

#[test]
fn only_the_first_stop_request_is_kept() {
    let mut t = times(Some(A), None);
    assert!(t.request_stop(S + 17 * SEC, GRACE));
    // Neither its instant nor the grace the server has by then counts.
    assert!(!t.request_stop(S + 2 * SEC, 0));
    assert_eq!((t.stop_requested_ms, t.stop_grace_ms), (Some(S + 17 * SEC), Some(GRACE)));
}

#[test]
fn an_assignment_recorded_after_the_stop_is_void_but_the_device_is_released() {
    let job = default_at(Some(5_000), Some(3_000), 6_000);
    assert_eq!((job.status, job.result, job.started_ms), (Completed, Stopped, None));
    assert_eq!(job.device_released_ms, Some(3_000));
}

#[test]
fn the_timeout_errors_the_running_test_stops_the_rest_and_still_runs_teardown() {
    let p = plan(5, &[(40, Passed), (40, Passed), (40, Passed)], 5);
    let t = JobTimes { timeout_minutes: 1, ..times(Some(A), None) };
    let deadline = S + 60 * SEC; // t2 runs [S+45, S+85)
    let running = at(&p, &t, deadline - 1);
    assert_eq!((running.status, running.next_change_ms), (Running, Some(deadline)));

    let done = at(&p, &t, deadline + 5 * SEC);
    assert_eq!((done.status, done.result), (Completed, Errored));
    assert_eq!(done.message.as_deref(), Some("Job timed out after 1 minutes"));
    let t2 = test(&done, "t2");
    assert_eq!(outcome(t2), (Completed, Errored, Some(S + 45 * SEC), Some(deadline)));
    assert_eq!(t2.message.as_deref(), Some("Job timed out after 1 minutes"));
    assert_eq!(outcome(test(&done, "t3")), (Completed, Stopped, None, Some(deadline)));
    assert_eq!(outcome(test(&done, "Teardown Test")), (Completed, Passed, Some(deadline), Some(deadline + 5 * SEC)));
    assert_eq!(done.billed_seconds, 5 + 40 + 15 + 5);
    assert_eq!(done.suites[1].result, Errored);
    assert_eq!((done.counters.errored, done.counters.stopped, done.counters.passed), (1, 1, 3));
}

#[test]
fn the_timeout_can_cut_setup() {
    let p = plan(90, &[(10, Passed)], 5);
    let t = JobTimes { timeout_minutes: 1, ..times(Some(A), None) };
    let done = at(&p, &t, S + 65 * SEC);
    assert_eq!((done.status, done.result), (Completed, Errored));
    assert_eq!(outcome(test(&done, "Setup Test")), (Completed, Errored, Some(S), Some(S + 60 * SEC)));
    assert_eq!(test(&done, "t1").result, Stopped);
    assert_eq!(done.billed_seconds, 65);
}

#[test]
fn a_plan_that_fits_the_deadline_exactly_is_not_timed_out() {
    let p = plan(20, &[(40, Passed)], 5);
    let t = JobTimes { timeout_minutes: 1, ..times(Some(A), None) };
    let done = at(&p, &t, S + 65 * SEC);
    assert_eq!((done.result, done.message), (Passed, None));
}

#[test]
fn a_stop_before_the_timeout_decides_the_result_and_the_deadline_still_cuts_the_running_test() {
    let p = plan(5, &[(40, Passed), (40, Passed), (40, Passed)], 5);
    // t2 runs [S+45, S+85); the deadline (S+60) comes before stop + grace (S+80).
    let t = JobTimes { timeout_minutes: 1, ..times_with_grace(Some(A), Some(S + 50 * SEC), Some(30 * SEC)) };
    let done = at(&p, &t, S + 65 * SEC);
    assert_eq!((done.status, done.result), (Completed, Stopped));
    assert_eq!(done.message.as_deref(), Some("Job timed out after 1 minutes"));
    assert_eq!(outcome(test(&done, "t2")), (Completed, Errored, Some(S + 45 * SEC), Some(S + 60 * SEC)));
    assert_eq!(outcome(test(&done, "t3")), (Completed, Stopped, None, Some(S + 50 * SEC)));
    assert_eq!(done.billed_seconds, 65);
}

#[test]
fn when_stop_plus_grace_comes_first_or_with_the_deadline_the_stop_cuts_the_test() {
    let p = plan(5, &[(40, Passed), (40, Passed)], 5);
    for (grace, cut) in [(5 * SEC, S + 55 * SEC), (10 * SEC, S + 60 * SEC)] {
        let t = JobTimes { timeout_minutes: 1, ..times_with_grace(Some(A), Some(S + 50 * SEC), Some(grace)) };
        let done = at(&p, &t, cut + 5 * SEC);
        assert_eq!((done.status, done.result, done.message.clone()), (Completed, Stopped, None));
        assert_eq!(outcome(test(&done, "t2")), (Completed, Stopped, Some(S + 45 * SEC), Some(cut)));
        assert_eq!(done.stopped_ms, Some(cut + 5 * SEC));
    }
}

#[test]
fn a_stop_during_the_teardown_after_a_timeout_ends_the_job_stopped() {
    let p = plan(5, &[(90, Passed)], 5);
    let t = JobTimes { timeout_minutes: 1, ..times(Some(A), Some(S + 62 * SEC)) };
    let done = at(&p, &t, S + 65 * SEC);
    assert_eq!((done.result, done.billed_seconds), (Stopped, 65));
    assert_eq!(test(&done, "t1").result, Errored);
}

#[test]
fn the_worst_test_decides_the_result_and_explains_it() {
    let p = plan(1, &[(1, Passed), (1, Warned), (1, Failed), (1, Skipped)], 1);
    let done = at(&p, &times(Some(A), None), S + 10 * SEC);
    assert_eq!((done.result, done.message.as_deref()), (Failed, Some("t3 said FAILED")));
    assert_eq!(done.suites[1].message.as_deref(), Some("t3 said FAILED"));
    assert_eq!(done.suites[0].result, Passed);
    let c = done.counters;
    assert_eq!((c.total, c.passed, c.warned, c.failed, c.skipped), (6, 3, 1, 1, 1));
}

#[test]
fn a_plan_without_tests_reports_one_test_named_tests() {
    let p = plan(2, &[], 3);
    let done = at(&p, &times(Some(A), None), S + 5 * SEC);
    let names: Vec<_> = done.suites[1].tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Tests"]);
    assert_eq!((done.result, done.counters.total, done.billed_seconds), (Passed, 3, 5));
    let waiting = at(&p, &times(None, None), 0);
    assert_eq!(waiting.suites[1].tests[0].name, "Tests");
}

#[test]
fn a_test_planned_without_a_result_errors() {
    let p = plan(1, &[(1, Pending)], 1);
    let done = at(&p, &times(Some(A), None), S + 3 * SEC);
    assert_eq!(done.result, Errored);
    assert_eq!(test(&done, "t1").message.as_deref(), Some(NO_RESULT_MESSAGE));
    assert_eq!(done.counters.decided(), done.counters.total);
}

#[test]
fn each_test_is_billed_in_whole_seconds_rounded_up() {
    let mut p = plan(0, &[(0, Passed), (0, Passed)], 0);
    p.setup_ms = 1_500;
    p.tests[0].duration_ms = 2_001;
    p.tests[1].duration_ms = 999;
    p.teardown_ms = 1;
    let done = at(&p, &times(Some(A), None), S + 10 * SEC);
    let billed: Vec<_> = done.tests().map(|t| t.billed_seconds).collect();
    assert_eq!(billed, [2, 3, 1, 1]);
    assert_eq!(done.billed_seconds, 7);
}

fn run_of(stops: &[Option<i64>], assigned: &[Option<i64>], waits: &[WaitReason], now: i64) -> Vec<JobSnapshot> {
    let p = JobPlan::default_simulation();
    assigned
        .iter()
        .zip(stops)
        .zip(waits)
        .map(|((a, s), w)| snapshot(&p, &PrepDurations::default(), &times(*a, *s), *w, now))
        .collect()
}

#[test]
fn a_queued_run_shows_its_most_advanced_wait() {
    let jobs = run_of(
        &[None, None, None],
        &[None, None, None],
        &[WaitReason::Pending, WaitReason::Device, WaitReason::Concurrency],
        0,
    );
    let run = run_snapshot(&jobs, None, 0);
    assert_eq!((run.status, run.result, run.started_ms), (PendingDevice, Pending, None));
    assert_eq!((run.total_jobs, run.completed_jobs, run.next_change_ms), (3, 0, None));
}

#[test]
fn a_run_runs_once_any_job_has_a_device_and_completes_with_the_worst_job() {
    let waits = [WaitReason::Device; 2];
    let running = run_of(&[None, None], &[Some(A), None], &waits, A);
    let run = run_snapshot(&running, None, A);
    assert_eq!((run.status, run.started_ms, run.next_change_ms), (Running, Some(A), Some(A + SEC)));

    let p_fail = plan(1, &[(1, Failed)], 1);
    let t = times(Some(A), None);
    let now = S + 60 * SEC;
    let jobs = vec![
        snapshot(&p_fail, &PrepDurations::default(), &t, WaitReason::Pending, now),
        default_at(Some(A), Some(S + 17 * SEC), now),
        default_at(Some(A), None, now),
    ];
    let run = run_snapshot(&jobs, None, now);
    assert_eq!((run.status, run.result), (Completed, Failed));
    assert_eq!((run.completed_jobs, run.billed_seconds), (3, 3 + 30 + 40));
    assert_eq!(run.counters.total, 3 + 5 + 5);
    assert_eq!(run.stopped_ms, Some(S + 40 * SEC));
}

#[test]
fn stop_run_makes_the_run_stopping_then_stopped() {
    let stop = S + 17 * SEC;
    let waits = [WaitReason::Device; 2];
    // StopRun records the stop on the run and on every job.
    let stopping = run_of(&[Some(stop), Some(stop)], &[Some(A), None], &waits, stop);
    let run = run_snapshot(&stopping, Some(stop), stop);
    assert_eq!((run.status, run.completed_jobs), (Stopping, 1));
    let done = run_of(&[Some(stop), Some(stop)], &[Some(A), None], &waits, S + 30 * SEC);
    let run = run_snapshot(&done, Some(stop), S + 30 * SEC);
    assert_eq!((run.status, run.result, run.billed_seconds), (Completed, Stopped, 30));
}

#[test]
fn stop_run_after_every_job_ended_changes_nothing() {
    let now = S + 60 * SEC;
    let jobs = run_of(&[None], &[Some(A)], &[WaitReason::Pending], now);
    let run = run_snapshot(&jobs, Some(S + 50 * SEC), now);
    assert_eq!((run.status, run.result), (Completed, Passed));
}

#[test]
fn a_stopped_job_makes_an_otherwise_passing_run_stopped() {
    let now = S + 60 * SEC;
    let jobs = vec![default_at(Some(A), None, now), default_at(None, Some(A), now)];
    assert_eq!(run_snapshot(&jobs, None, now).result, Stopped);
}
