//! Property tests of the job rules over random plans and random schedules of assignment,
//! stop, timeout and "now": the guarantees the engine and the API rely on.

use proptest::prelude::*;

use super::plan::{JobPlan, TestPlan};
use super::result::worst_job_result;
use super::run::run_snapshot;
use super::snapshot::{snapshot, JobSnapshot};
use super::status::{ExecutionResult, ExecutionStatus};
use super::timeline::{JobTimes, PrepDurations};
use crate::run::WaitReason;

pub(super) fn arb_result() -> impl Strategy<Value = ExecutionResult> {
    proptest::sample::select(vec![
        ExecutionResult::Passed,
        ExecutionResult::Failed,
        ExecutionResult::Warned,
        ExecutionResult::Skipped,
        ExecutionResult::Errored,
    ])
}

/// Durations up to 40 s against timeouts of 1–3 minutes, so that every rule (stop in each
/// phase, timeout in setup or a test, both) is hit often. Some durations are not whole
/// seconds, and some are zero.
fn arb_plan() -> impl Strategy<Value = JobPlan> {
    let ms = || prop_oneof![Just(0i64), 0i64..40_000, (0i64..40).prop_map(|s| s * 1_000)];
    (ms(), proptest::collection::vec((ms(), arb_result(), proptest::option::of("[a-z]{1,8}")), 0..5), ms()).prop_map(
        |(setup_ms, tests, teardown_ms)| JobPlan {
            setup_ms,
            tests: tests
                .into_iter()
                .enumerate()
                .map(|(i, (duration_ms, result, message))| TestPlan {
                    name: format!("t{i}"),
                    duration_ms,
                    result,
                    message,
                })
                .collect(),
            teardown_ms,
        },
    )
}

fn arb_prep() -> impl Strategy<Value = PrepDurations> {
    (0i64..3_000, 0i64..3_000, 0i64..3_000).prop_map(|(p, s, r)| PrepDurations {
        processing_ms: p,
        scheduling_ms: s,
        preparing_ms: r,
    })
}

/// Graces from none to longer than any test, and now and then a stop recorded without one
/// (by a release that did not keep it).
fn arb_grace() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        1 => Just(None),
        2 => Just(Some(0i64)),
        8 => (0i64..45_000).prop_map(Some),
        4 => (0i64..20).prop_map(|s| Some(s * 1_000)),
    ]
}

fn arb_times() -> impl Strategy<Value = JobTimes> {
    (proptest::option::of(0i64..100_000), proptest::option::of(0i64..300_000), arb_grace(), 1i32..=3).prop_map(
        |(assigned_ms, stop_requested_ms, grace_ms, timeout_minutes)| JobTimes {
            created_ms: 0,
            assigned_ms,
            stop_requested_ms,
            stop_grace_ms: stop_requested_ms.and(grace_ms),
            timeout_minutes,
        },
    )
}

fn arb_wait() -> impl Strategy<Value = WaitReason> {
    proptest::sample::select(vec![WaitReason::Pending, WaitReason::Concurrency, WaitReason::Device])
}

/// Far past any end the strategies can produce.
const LATER: i64 = 10_000_000;

#[derive(Debug, Clone)]
struct Job {
    plan: JobPlan,
    prep: PrepDurations,
    times: JobTimes,
    wait: WaitReason,
}

impl Job {
    fn at(&self, now: i64) -> JobSnapshot {
        snapshot(&self.plan, &self.prep, &self.times, self.wait, now)
    }
    fn with_stop(&self, stop: Option<i64>) -> Job {
        Job {
            plan: self.plan.clone(),
            prep: self.prep,
            times: JobTimes {
                stop_requested_ms: stop,
                stop_grace_ms: stop.and(self.times.stop_grace_ms),
                ..self.times
            },
            wait: self.wait,
        }
    }
    fn setup_start(&self) -> Option<i64> {
        self.times.assigned_ms.map(|a| a + self.prep.total_ms())
    }
    /// When the job would end with no stop, if it has a device.
    fn natural_end(&self) -> Option<i64> {
        self.with_stop(None).at(LATER).stopped_ms
    }
    /// The stop request, if it took effect (it came before the natural end).
    fn effective_stop(&self) -> Option<i64> {
        let natural_end = self.natural_end();
        self.times.stop_requested_ms.filter(|t| natural_end.is_none_or(|end| *t < end))
    }
}

fn arb_job() -> impl Strategy<Value = Job> {
    (arb_plan(), arb_prep(), arb_times(), arb_wait()).prop_map(|(plan, prep, times, wait)| Job {
        plan,
        prep,
        times,
        wait,
    })
}

fn status_rank(s: ExecutionStatus) -> u8 {
    match s {
        ExecutionStatus::Pending | ExecutionStatus::PendingConcurrency | ExecutionStatus::PendingDevice => 0,
        ExecutionStatus::Processing => 1,
        ExecutionStatus::Scheduling => 2,
        ExecutionStatus::Preparing => 3,
        ExecutionStatus::Running => 4,
        ExecutionStatus::Stopping => 5,
        ExecutionStatus::Completed => 6,
    }
}

/// Tests of the Setup and Tests suites: the ones a stop may keep from starting.
fn setup_and_tests(job: &JobSnapshot) -> impl Iterator<Item = &super::snapshot::TestSnapshot> {
    job.suites[..2].iter().flat_map(|s| &s.tests)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Walks the job from time 0 by `next_change_ms`: between two changes the snapshot is
    /// constant, at each one it really changes, nothing runs backwards, and once final it
    /// stays put.
    #[test]
    fn the_snapshot_changes_only_at_next_change_and_never_goes_back(job in arb_job(), frac in 0.0f64..1.0) {
        let mut now = 0;
        let mut snap = job.at(now);
        for _ in 0..200 {
            let Some(next) = snap.next_change_ms else { break };
            prop_assert!(next > now);
            let inside = now + ((next - now) as f64 * frac) as i64;
            prop_assert_eq!(&job.at(inside), &snap);
            prop_assert_eq!(&job.at(next - 1), &snap);
            let after = job.at(next);
            prop_assert_ne!(&after, &snap, "nothing changed at {}", next);
            prop_assert!(after.billed_seconds >= snap.billed_seconds);
            prop_assert!(after.counters.decided() >= snap.counters.decided());
            prop_assert!(status_rank(after.status) >= status_rank(snap.status));
            prop_assert!(!snap.is_final);
            now = next;
            snap = after;
        }
        prop_assert_eq!(snap.next_change_ms, None);
        if snap.is_final {
            prop_assert_eq!(&job.at(LATER), &snap);
        } else {
            // Only a job left waiting for the scheduler stops changing without being final.
            prop_assert!(snap.status.is_waiting());
            prop_assert_eq!(job.times.assigned_ms, None);
            prop_assert_eq!(job.times.stop_requested_ms, None);
        }
    }

    #[test]
    fn billed_seconds_never_decrease(job in arb_job(), a in 0i64..400_000, b in 0i64..400_000) {
        let (early, late) = (a.min(b), a.max(b));
        prop_assert!(job.at(early).billed_seconds <= job.at(late).billed_seconds);
    }

    #[test]
    fn no_test_starts_at_or_after_the_stop_and_only_the_running_one_ends_after_it(job in arb_job()) {
        let Some(stop) = job.effective_stop() else { return Ok(()) };
        let done = job.at(LATER);
        prop_assert_eq!(done.result, ExecutionResult::Stopped);
        for t in setup_and_tests(&done) {
            if let Some(started) = t.started_ms {
                prop_assert!(started < stop, "{} started at {} after the stop at {}", t.name, started, stop);
            }
        }
        let ran_past_stop = setup_and_tests(&done)
            .filter(|t| t.started_ms.is_some() && t.stopped_ms.is_some_and(|s| s > stop))
            .count();
        prop_assert!(ran_past_stop <= 1);
    }

    #[test]
    fn a_stop_before_setup_bills_nothing_and_ends_the_job_at_once(job in arb_job(), now in 0i64..400_000) {
        let Some(stop) = job.effective_stop() else { return Ok(()) };
        if job.setup_start().is_some_and(|s| stop > s) {
            return Ok(());
        }
        prop_assert_eq!(job.at(now).billed_seconds, 0);
        let at_stop = job.at(stop);
        prop_assert!(at_stop.is_final);
        prop_assert_eq!(at_stop.stopped_ms, Some(stop));
        prop_assert_eq!(at_stop.device_released_ms, job.times.assigned_ms.map(|_| stop));
        prop_assert!(at_stop.tests().all(|t| t.result == ExecutionResult::Stopped));
    }

    #[test]
    fn once_setup_has_begun_a_stop_lets_setup_and_teardown_run_to_completion(job in arb_job()) {
        let (Some(stop), Some(setup_start)) = (job.effective_stop(), job.setup_start()) else { return Ok(()) };
        if stop <= setup_start {
            return Ok(());
        }
        let done = job.at(LATER);
        let setup = &done.suites[0].tests[0];
        let teardown = &done.suites[2].tests[0];
        let ran = |t: &super::snapshot::TestSnapshot| t.stopped_ms.zip(t.started_ms).map(|(e, s)| e - s);
        prop_assert_eq!(ran(teardown), Some(job.plan.teardown_ms));
        // Only the timeout cuts setup short, and then it is ERRORED.
        if setup.result != ExecutionResult::Errored {
            prop_assert_eq!(ran(setup), Some(job.plan.setup_ms));
        }
    }

    #[test]
    fn a_stop_changes_nothing_before_it_is_requested(job in arb_job(), now in 0i64..400_000) {
        let Some(stop) = job.times.stop_requested_ms else { return Ok(()) };
        if now >= stop {
            return Ok(());
        }
        let with = job.at(now);
        let without = job.with_stop(None).at(now);
        prop_assert_eq!(
            JobSnapshot { next_change_ms: None, ..with },
            JobSnapshot { next_change_ms: None, ..without }
        );
    }

    /// Nor does the grace the server has when it comes: the first stop's is kept.
    #[test]
    fn a_second_later_stop_request_changes_nothing(job in arb_job(), delay in 0i64..100_000, other_grace in 0i64..60_000, now in 0i64..400_000) {
        let (Some(first), Some(grace)) = (job.times.stop_requested_ms, job.times.stop_grace_ms) else { return Ok(()) };
        let mut twice = job.times;
        prop_assert!(!twice.request_stop(first + delay, other_grace));
        let mut once = JobTimes { stop_requested_ms: None, stop_grace_ms: None, ..job.times };
        prop_assert!(once.request_stop(first, grace));
        prop_assert_eq!(twice, once);
        let snap = |times: JobTimes| snapshot(&job.plan, &job.prep, &times, job.wait, now);
        prop_assert_eq!(snap(twice), snap(once));
    }

    #[test]
    fn a_stop_at_or_after_the_natural_end_changes_nothing(job in arb_job(), late in 0i64..100_000, now in 0i64..400_000) {
        let Some(end) = job.natural_end() else { return Ok(()) };
        prop_assert_eq!(job.with_stop(Some(end + late)).at(now), job.with_stop(None).at(now));
    }

    /// The revised rule 3: the test in progress when the stop comes ends at stop + grace,
    /// STOPPED, unless it ends by itself first (then with its own result) or the deadline
    /// cuts it first (ERRORED). Without a recorded grace it runs to its planned end.
    #[test]
    fn a_test_in_progress_at_the_stop_ends_at_the_earlier_of_its_end_and_stop_plus_grace(job in arb_job()) {
        let (Some(stop), Some(setup_start)) = (job.effective_stop(), job.setup_start()) else { return Ok(()) };
        if stop <= setup_start {
            return Ok(());
        }
        let natural = job.with_stop(None).at(LATER);
        let done = job.at(LATER);
        for (t, n) in done.suites[1].tests.iter().zip(&natural.suites[1].tests) {
            let (Some(started), Some(planned_end)) = (n.started_ms, n.stopped_ms) else { continue };
            if started >= stop || planned_end <= stop {
                continue;
            }
            // Running when the stop came, in the uninterrupted course.
            prop_assert_eq!(t.started_ms, Some(started));
            let cut = job.times.stop_grace_ms.map(|g| stop + g.max(0));
            let timed_out = n.message.as_deref().is_some_and(|m| m.starts_with("Job timed out"));
            let expected = match cut {
                None => (n.stopped_ms, n.result),
                // The deadline cut it first; on a tie the stop decides.
                Some(c) if timed_out && planned_end < c => (n.stopped_ms, n.result),
                Some(c) if !timed_out && planned_end <= c => (n.stopped_ms, n.result),
                Some(c) => (Some(c), ExecutionResult::Stopped),
            };
            prop_assert_eq!((t.stopped_ms, t.result), expected, "{}", t.name);
        }
        // Whatever happened, no test runs past stop + grace.
        if let Some(g) = job.times.stop_grace_ms {
            for t in &done.suites[1].tests {
                prop_assert!(t.stopped_ms.is_none_or(|e| e <= stop + g.max(0)), "{} ran past stop + grace", t.name);
            }
        }
    }

    /// A stop only ever shortens what runs: teardown is whole, and the bill never exceeds
    /// the uninterrupted job's, step by step and in all.
    #[test]
    fn a_stop_never_bills_more_than_the_uninterrupted_job_and_teardown_is_whole(job in arb_job()) {
        let done = job.at(LATER);
        let natural = job.with_stop(None).at(LATER);
        if !natural.is_final {
            return Ok(());
        }
        prop_assert!(done.billed_seconds <= natural.billed_seconds, "billed {} > {} uninterrupted", done.billed_seconds, natural.billed_seconds);
        for (t, n) in done.tests().zip(natural.tests()) {
            prop_assert!(t.billed_seconds <= n.billed_seconds, "{} billed {} > {}", t.name, t.billed_seconds, n.billed_seconds);
        }
        let teardown = &done.suites[2].tests[0];
        if teardown.started_ms.is_some() {
            prop_assert_eq!(teardown.stopped_ms.zip(teardown.started_ms).map(|(e, s)| e - s), Some(job.plan.teardown_ms));
            prop_assert_eq!(teardown.result, ExecutionResult::Passed);
        }
    }

    #[test]
    fn counters_and_billing_roll_up_exactly(job in arb_job(), now in 0i64..400_000) {
        let snap = job.at(now);
        prop_assert_eq!(snap.suites.len(), 3);
        let mut job_billed = 0;
        for suite in &snap.suites {
            prop_assert_eq!(suite.billed_seconds, suite.tests.iter().map(|t| t.billed_seconds).sum::<i64>());
            prop_assert_eq!(suite.counters, super::counters::Counters::sum(suite.tests.iter().map(|t| &t.counters)));
            job_billed += suite.billed_seconds;
        }
        prop_assert_eq!(snap.billed_seconds, job_billed);
        prop_assert_eq!(snap.counters, super::counters::Counters::sum(snap.suites.iter().map(|s| &s.counters)));
        prop_assert_eq!(snap.counters.total as usize, snap.tests().count());
        if snap.is_final {
            prop_assert_eq!(snap.counters.decided(), snap.counters.total);
            prop_assert!(snap.suites.iter().all(|s| s.status == ExecutionStatus::Completed));
        }
    }

    #[test]
    fn a_job_ends_stopped_iff_it_was_stopped_else_errored_on_timeout_else_as_its_worst_test(job in arb_job()) {
        let done = job.at(LATER);
        if !done.is_final {
            return Ok(());
        }
        let timed_out = done.message.as_deref().is_some_and(|m| m.starts_with("Job timed out"));
        let expected = if job.effective_stop().is_some() {
            ExecutionResult::Stopped
        } else if timed_out {
            ExecutionResult::Errored
        } else {
            super::result::worst_test_result(done.tests().map(|t| t.result)).unwrap_or(ExecutionResult::Skipped)
        };
        prop_assert_eq!(done.result, expected);
        // A STOPPED test without a stop request can only come from the timeout.
        if job.effective_stop().is_none() && done.tests().any(|t| t.result == ExecutionResult::Stopped) {
            prop_assert!(timed_out);
        }
    }

    #[test]
    fn the_run_rolls_up_its_jobs(
        jobs in proptest::collection::vec(arb_job(), 1..5),
        run_stop in proptest::option::of(0i64..300_000),
        now in 0i64..400_000,
    ) {
        // StopRun is recorded on every job as well as on the run; requests are recorded in
        // the order they come, so the earlier of a job's own stop and the run's is kept.
        let jobs: Vec<Job> = jobs
            .into_iter()
            .map(|j| {
                let stop = match (j.times.stop_requested_ms, run_stop) {
                    (Some(own), Some(run)) => Some(own.min(run)),
                    (own, run) => own.or(run),
                };
                j.with_stop(stop)
            })
            .collect();
        let snaps: Vec<JobSnapshot> = jobs.iter().map(|j| j.at(now)).collect();
        let run = run_snapshot(&snaps, run_stop, now);
        prop_assert_eq!(run.total_jobs as usize, snaps.len());
        prop_assert_eq!(run.completed_jobs as usize, snaps.iter().filter(|j| j.is_final).count());
        prop_assert_eq!(run.billed_seconds, snaps.iter().map(|j| j.billed_seconds).sum::<i64>());
        prop_assert_eq!(run.counters.total, snaps.iter().map(|j| j.counters.total).sum::<i32>());
        prop_assert_eq!(run.is_final, run.status == ExecutionStatus::Completed);
        prop_assert_eq!(run.is_final, snaps.iter().all(|j| j.is_final));
        if snaps.iter().all(|j| j.status.is_waiting()) && run_stop.is_none_or(|at| at > now) {
            prop_assert!(run.status.is_waiting());
        }
        if run.is_final {
            let stopped_while_running = run_stop.is_some_and(|at| snaps.iter().any(|j| j.stopped_ms.is_some_and(|e| e >= at)));
            let expected = if stopped_while_running {
                ExecutionResult::Stopped
            } else {
                worst_job_result(snaps.iter().map(|j| j.result)).unwrap_or(ExecutionResult::Skipped)
            };
            prop_assert_eq!(run.result, expected);
            // Unless StopRun decided it, the run's result is never better than any job's.
            if !stopped_while_running {
                for j in &snaps {
                    prop_assert_eq!(worst_job_result([run.result, j.result]), Some(run.result));
                }
            }
        } else {
            prop_assert_eq!(run.result, ExecutionResult::Pending);
        }
    }
}
