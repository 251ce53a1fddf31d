//! StopJob and StopRun: what a stop request does to a job. The reference (stop_job.txt):
//!
//! > AWS Device Farm immediately stops the job on the device where tests have not started.
//! > You are not billed for this device. On the device where tests have started, setup
//! > suite and teardown suite tests run to completion on the device. You are billed for
//! > setup, teardown, and any tests that were in progress or already completed.
//!
//! Read against it, sentence by sentence:
//!
//! 1. *"immediately stops the job on the device where tests have not started"*: a job
//!    without a device, or whose device has not begun setup yet (PROCESSING, SCHEDULING,
//!    PREPARING before setup), ends at the stop instant: COMPLETED, result STOPPED, every
//!    test STOPPED, its device (if it had one) free at once — [`StopEffect::EndsAtOnce`].
//! 2. *"You are not billed for this device"*: nothing ran, so nothing is billed (billing
//!    only counts steps that ran).
//! 3. *"setup suite and teardown suite tests run to completion"*: once setup has begun,
//!    setup (if in progress) runs to its planned end; no later test starts (each ends
//!    STOPPED at the stop instant); teardown then runs in full —
//!    [`StopEffect::InterruptsTests`]. Only setup and teardown are named: the test in
//!    progress is interrupted, as a real one is (SIGTERM, the grace period, SIGKILL). It
//!    ends at stop + grace (the server's stop grace, recorded with the stop, on the service
//!    clock) unless its planned end comes first: ended by the stop it is STOPPED, ended by
//!    itself (at or before stop + grace) it keeps its own result. A stop during teardown
//!    changes no step at all. The job shows STOPPING until teardown ends.
//! 4. *"billed for setup, teardown, and any tests that were in progress or already
//!    completed"*: exactly the steps rule 3 lets run, each for the time it ran — the
//!    interrupted test up to stop + grace.
//!
//! And where the reference is silent (device-farm-notes, "Decisions"):
//! - a job that was stopped ends STOPPED, whatever its tests did — this includes a stop
//!   during teardown, the only case in which a stop changes nothing but the job's status
//!   (STOPPING) and final result;
//! - a stop on a job that has already ended is [`StopEffect::Ignored`]: the job is returned
//!   unchanged;
//! - only the first stop counts (`JobTimes::request_stop`), with the grace recorded then; a
//!   second one changes nothing, and neither does a later change of the server's grace;
//! - a stop recorded without a grace (by a release from before the grace was recorded, when
//!   simulated tests ran to their planned end) keeps that course: its test in progress is
//!   not cut, so an upgrade rewrites no job's history;
//! - instants are half-open: a step planned to start exactly at the stop instant never
//!   starts, and a stop exactly at setup start counts as "tests have not started".
//!
//! The job timeout ([`super::timeout`]) still applies; when it and the stop both cut the
//! test in progress, the earlier cut decides (the stop on a tie).

/// Records a stop at `at_ms` with the server's grace `grace_ms` unless one is recorded
/// already: the first stop wins, grace included. Whether this one was recorded. Job
/// records and [`super::timeline::JobTimes`] both record through here.
pub fn record_first_stop(
    requested_ms: &mut Option<i64>,
    recorded_grace_ms: &mut Option<i64>,
    at_ms: i64,
    grace_ms: i64,
) -> bool {
    if requested_ms.is_some() {
        return false;
    }
    *requested_ms = Some(at_ms);
    *recorded_grace_ms = Some(grace_ms);
    true
}

/// What one stop request does to a job, decided from when it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopEffect {
    /// No stop was requested, or it came at or after the job's end.
    Ignored,
    /// Rules 1–2: the job ends at `at_ms`; nothing runs, nothing is billed.
    EndsAtOnce { at_ms: i64 },
    /// Rules 3–4: setup in progress and teardown finish; the test in progress ends by
    /// `at_ms + grace_ms` (not cut when `grace_ms` is `None`); later tests never start.
    InterruptsTests { at_ms: i64, grace_ms: Option<i64> },
}

/// Decides a stop requested at `requested_ms` with the grace `grace_ms` recorded with it,
/// for a job whose setup begins at `setup_start_ms` (`None`: it has no device yet) and that,
/// without the stop, ends at `natural_end_ms` (`None`: not known yet, because it has no
/// device).
pub fn stop_effect(
    requested_ms: Option<i64>,
    grace_ms: Option<i64>,
    setup_start_ms: Option<i64>,
    natural_end_ms: Option<i64>,
) -> StopEffect {
    let Some(at_ms) = requested_ms else {
        return StopEffect::Ignored;
    };
    if natural_end_ms.is_some_and(|end| at_ms >= end) {
        return StopEffect::Ignored;
    }
    match setup_start_ms {
        Some(setup_start) if at_ms > setup_start => StopEffect::InterruptsTests {
            at_ms,
            // A negative grace cannot be configured; read one that slipped through as none
            // at all rather than as a cut before the stop.
            grace_ms: grace_ms.map(|g| g.max(0)),
        },
        _ => StopEffect::EndsAtOnce { at_ms },
    }
}

impl StopEffect {
    /// Rule 3: a step (setup or a test) planned to start at or after the stop never starts;
    /// it is STOPPED as of the stop instant, which this returns.
    pub fn keeps_from_starting(self, start_ms: i64) -> Option<i64> {
        match self {
            StopEffect::Ignored => None,
            StopEffect::EndsAtOnce { at_ms } | StopEffect::InterruptsTests { at_ms, .. } => {
                (start_ms >= at_ms).then_some(at_ms)
            }
        }
    }

    /// Rule 3, revised: a test running from `start_ms` (before the stop) and planned to end
    /// at `end_ms` is interrupted at stop + grace if it would still be running then. Setup
    /// is never passed here: it runs to completion.
    pub fn interrupts_test(self, start_ms: i64, end_ms: i64) -> Option<i64> {
        match self {
            StopEffect::InterruptsTests { at_ms, grace_ms: Some(grace_ms) } => {
                let cut = at_ms + grace_ms;
                (start_ms < at_ms && end_ms > cut).then_some(cut)
            }
            _ => None,
        }
    }

    /// When the stop took effect, if it did: the job ends STOPPED.
    pub fn stopped_at(self) -> Option<i64> {
        match self {
            StopEffect::Ignored => None,
            StopEffect::EndsAtOnce { at_ms } | StopEffect::InterruptsTests { at_ms, .. } => Some(at_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Option<i64> = Some(10);

    #[test]
    fn no_request_has_no_effect() {
        assert_eq!(stop_effect(None, GRACE, Some(0), Some(10)), StopEffect::Ignored);
    }

    #[test]
    fn a_job_without_a_device_ends_at_once() {
        assert_eq!(stop_effect(Some(5), GRACE, None, None), StopEffect::EndsAtOnce { at_ms: 5 });
    }

    #[test]
    fn before_or_exactly_at_setup_start_tests_have_not_started() {
        assert_eq!(stop_effect(Some(99), GRACE, Some(100), Some(500)), StopEffect::EndsAtOnce { at_ms: 99 });
        assert_eq!(stop_effect(Some(100), GRACE, Some(100), Some(500)), StopEffect::EndsAtOnce { at_ms: 100 });
    }

    #[test]
    fn after_setup_start_the_tests_are_interrupted() {
        assert_eq!(
            stop_effect(Some(101), GRACE, Some(100), Some(500)),
            StopEffect::InterruptsTests { at_ms: 101, grace_ms: GRACE }
        );
        assert_eq!(
            stop_effect(Some(499), None, Some(100), Some(500)),
            StopEffect::InterruptsTests { at_ms: 499, grace_ms: None }
        );
    }

    #[test]
    fn at_or_after_the_end_the_job_is_unchanged() {
        assert_eq!(stop_effect(Some(500), GRACE, Some(100), Some(500)), StopEffect::Ignored);
        assert_eq!(stop_effect(Some(9_000), GRACE, Some(100), Some(500)), StopEffect::Ignored);
    }

    #[test]
    fn steps_at_or_after_the_stop_never_start() {
        let stop = StopEffect::InterruptsTests { at_ms: 200, grace_ms: GRACE };
        assert_eq!(stop.keeps_from_starting(199), None);
        assert_eq!(stop.keeps_from_starting(200), Some(200));
        assert_eq!(StopEffect::Ignored.keeps_from_starting(1_000), None);
    }

    #[test]
    fn the_test_in_progress_ends_at_stop_plus_grace_unless_it_ends_first() {
        let stop = StopEffect::InterruptsTests { at_ms: 200, grace_ms: GRACE };
        assert_eq!(stop.interrupts_test(150, 1_000), Some(210));
        assert_eq!(stop.interrupts_test(150, 211), Some(210));
        // Ending exactly at stop + grace, or before, it ended by itself.
        assert_eq!(stop.interrupts_test(150, 210), None);
        assert_eq!(stop.interrupts_test(150, 205), None);
        // Not yet started at the stop: it never starts instead (keeps_from_starting).
        assert_eq!(stop.interrupts_test(200, 1_000), None);
    }

    #[test]
    fn a_zero_grace_interrupts_at_the_stop_instant() {
        let stop = stop_effect(Some(200), Some(0), Some(100), Some(500));
        assert_eq!(stop.interrupts_test(150, 300), Some(200));
    }

    #[test]
    fn a_stop_recorded_without_a_grace_lets_the_test_finish() {
        let stop = stop_effect(Some(200), None, Some(100), Some(500));
        assert_eq!(stop.interrupts_test(150, 400), None);
        assert_eq!(StopEffect::Ignored.interrupts_test(150, 400), None);
        assert_eq!(StopEffect::EndsAtOnce { at_ms: 200 }.interrupts_test(150, 400), None);
    }
}
