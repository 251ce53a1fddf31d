//! Which result wins when results roll up: tests into a suite, tests into a job, jobs into
//! a run. The orders are decisions (device-farm-notes, "Results"); they live here, and only
//! here, so the job timeline and the run roll-up cannot disagree.

use super::status::ExecutionResult;

/// Severity of a test's result when tests roll up into a suite or a job:
/// ERRORED > FAILED > WARNED > PASSED > SKIPPED, then STOPPED. STOPPED ranks last so that a
/// suite is STOPPED only when *all* its tests were, and a test the timeout kept from
/// starting never hides the ERRORED one it cut. PENDING (not decided) ranks below all.
fn test_severity(result: ExecutionResult) -> u8 {
    match result {
        ExecutionResult::Errored => 6,
        ExecutionResult::Failed => 5,
        ExecutionResult::Warned => 4,
        ExecutionResult::Passed => 3,
        ExecutionResult::Skipped => 2,
        ExecutionResult::Stopped => 1,
        ExecutionResult::Pending => 0,
    }
}

/// Severity of a job's result when jobs roll up into a run:
/// ERRORED > FAILED > STOPPED > WARNED > PASSED > SKIPPED. Here STOPPED outranks a pass:
/// a run in which one job was stopped did not pass.
fn job_severity(result: ExecutionResult) -> u8 {
    match result {
        ExecutionResult::Errored => 6,
        ExecutionResult::Failed => 5,
        ExecutionResult::Stopped => 4,
        ExecutionResult::Warned => 3,
        ExecutionResult::Passed => 2,
        ExecutionResult::Skipped => 1,
        ExecutionResult::Pending => 0,
    }
}

/// The worst of some test results; `None` for none.
pub fn worst_test_result(results: impl IntoIterator<Item = ExecutionResult>) -> Option<ExecutionResult> {
    results.into_iter().max_by_key(|r| test_severity(*r))
}

/// The worst of some job results; `None` for none.
pub fn worst_job_result(results: impl IntoIterator<Item = ExecutionResult>) -> Option<ExecutionResult> {
    results.into_iter().max_by_key(|r| job_severity(*r))
}

/// A finished suite: the worst of its tests, which is STOPPED exactly when all of them were.
pub fn suite_result(tests: impl IntoIterator<Item = ExecutionResult>) -> ExecutionResult {
    // A suite always holds at least one test; an empty one has nothing to report.
    worst_test_result(tests).unwrap_or(ExecutionResult::Skipped)
}

/// A finished job: "a job that was stopped ends STOPPED"; one the timeout cut ends ERRORED
/// (even when the cut only kept tests from starting); otherwise the worst of its tests.
pub fn job_result(stopped: bool, timed_out: bool, tests: impl IntoIterator<Item = ExecutionResult>) -> ExecutionResult {
    if stopped {
        ExecutionResult::Stopped
    } else if timed_out {
        ExecutionResult::Errored
    } else {
        worst_test_result(tests).unwrap_or(ExecutionResult::Skipped)
    }
}

/// A finished run: "a run stopped by StopRun ends STOPPED"; otherwise the worst of its jobs.
/// A run without jobs cannot be scheduled; if one existed it would have skipped everything.
pub fn run_result(stopped: bool, jobs: impl IntoIterator<Item = ExecutionResult>) -> ExecutionResult {
    if stopped {
        ExecutionResult::Stopped
    } else {
        worst_job_result(jobs).unwrap_or(ExecutionResult::Skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ExecutionResult::*;

    const TEST_ORDER: [ExecutionResult; 6] = [Errored, Failed, Warned, Passed, Skipped, Stopped];
    const JOB_ORDER: [ExecutionResult; 6] = [Errored, Failed, Stopped, Warned, Passed, Skipped];

    fn decided() -> impl Strategy<Value = ExecutionResult> {
        proptest::sample::select(TEST_ORDER.to_vec())
    }

    #[test]
    fn test_precedence_is_the_documented_order() {
        for (i, better) in TEST_ORDER.iter().enumerate() {
            for worse in &TEST_ORDER[..i] {
                assert_eq!(worst_test_result([*better, *worse]), Some(*worse));
                assert_eq!(worst_test_result([*worse, *better]), Some(*worse));
            }
        }
    }

    #[test]
    fn job_precedence_is_the_documented_order() {
        for (i, better) in JOB_ORDER.iter().enumerate() {
            for worse in &JOB_ORDER[..i] {
                assert_eq!(worst_job_result([*better, *worse]), Some(*worse));
                assert_eq!(worst_job_result([*worse, *better]), Some(*worse));
            }
        }
    }

    #[test]
    fn a_stopped_test_does_not_stop_its_suite_but_a_stopped_job_fails_its_run() {
        assert_eq!(suite_result([Passed, Stopped]), Passed);
        assert_eq!(suite_result([Stopped, Stopped]), Stopped);
        assert_eq!(run_result(false, [Passed, Stopped, Warned]), Stopped);
        assert_eq!(run_result(false, [Failed, Stopped]), Failed);
    }

    #[test]
    fn stop_and_timeout_decide_a_job_before_its_tests() {
        assert_eq!(job_result(true, true, [Errored]), Stopped);
        assert_eq!(job_result(false, true, [Passed, Stopped]), Errored);
        assert_eq!(job_result(false, false, [Passed, Warned, Skipped]), Warned);
        assert_eq!(run_result(true, [Passed, Passed]), Stopped);
    }

    proptest! {
        #[test]
        fn suite_is_stopped_iff_all_its_tests_were(tests in proptest::collection::vec(decided(), 1..8)) {
            let all_stopped = tests.iter().all(|r| *r == Stopped);
            prop_assert_eq!(suite_result(tests.clone()) == Stopped, all_stopped);
        }

        #[test]
        fn worst_is_one_of_the_inputs_and_ignores_order(mut tests in proptest::collection::vec(decided(), 1..8)) {
            let worst = worst_test_result(tests.clone());
            let worst_job = worst_job_result(tests.clone());
            prop_assert!(worst.is_some_and(|w| tests.contains(&w)));
            prop_assert!(worst_job.is_some_and(|w| tests.contains(&w)));
            tests.reverse();
            prop_assert_eq!(worst_test_result(tests.clone()), worst);
            prop_assert_eq!(worst_job_result(tests), worst_job);
        }

        #[test]
        fn an_errored_job_makes_an_unstopped_run_errored(mut jobs in proptest::collection::vec(decided(), 0..8), at in 0usize..8) {
            jobs.insert(at.min(jobs.len()), Errored);
            prop_assert_eq!(run_result(false, jobs.clone()), Errored);
            prop_assert_eq!(run_result(true, jobs), Stopped);
        }

        #[test]
        fn an_unstopped_job_that_did_not_time_out_is_as_bad_as_its_worst_test(tests in proptest::collection::vec(decided(), 1..8)) {
            let result = job_result(false, false, tests.clone());
            for t in &tests {
                prop_assert!(test_severity(result) >= test_severity(*t));
            }
        }
    }
}
