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
//! 3. *"setup suite and teardown suite tests run to completion"*: once setup has begun, the
//!    step in progress (setup, or the test running) runs to its planned end with its own
//!    result; no later test starts (each ends STOPPED at the stop instant); teardown then
//!    runs in full — [`StopEffect::FinishesCurrentStep`]. A stop during teardown therefore
//!    changes no step at all. The job shows STOPPING until teardown ends.
//! 4. *"billed for setup, teardown, and any tests that were in progress or already
//!    completed"*: exactly the steps rule 3 lets run.
//!
//! And where the reference is silent (device-farm-notes, "Decisions"):
//! - a job that was stopped ends STOPPED, whatever its tests did — this includes a stop
//!   during teardown, the only case in which a stop changes nothing but the job's status
//!   (STOPPING) and final result;
//! - a stop on a job that has already ended is [`StopEffect::Ignored`]: the job is returned
//!   unchanged;
//! - only the first stop counts (`JobTimes::request_stop`); a second one changes nothing;
//! - instants are half-open: a step planned to start exactly at the stop instant never
//!   starts, and a stop exactly at setup start counts as "tests have not started".
//!
//! The job timeout ([`super::timeout`]) still applies to the step a stop lets finish.

/// What one stop request does to a job, decided from when it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopEffect {
    /// No stop was requested, or it came at or after the job's end.
    Ignored,
    /// Rules 1–2: the job ends at `at_ms`; nothing runs, nothing is billed.
    EndsAtOnce { at_ms: i64 },
    /// Rules 3–4: the step in progress and teardown finish; later tests never start.
    FinishesCurrentStep { at_ms: i64 },
}

/// Decides a stop requested at `requested_ms` for a job whose setup begins at
/// `setup_start_ms` (`None`: it has no device yet) and that, without the stop, ends at
/// `natural_end_ms` (`None`: not known yet, because it has no device).
pub fn stop_effect(
    requested_ms: Option<i64>,
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
        Some(setup_start) if at_ms > setup_start => StopEffect::FinishesCurrentStep { at_ms },
        _ => StopEffect::EndsAtOnce { at_ms },
    }
}

impl StopEffect {
    /// Rule 3: a step (setup or a test) planned to start at or after the stop never starts;
    /// it is STOPPED as of the stop instant, which this returns.
    pub fn keeps_from_starting(self, start_ms: i64) -> Option<i64> {
        match self {
            StopEffect::Ignored => None,
            StopEffect::EndsAtOnce { at_ms } | StopEffect::FinishesCurrentStep { at_ms } => {
                (start_ms >= at_ms).then_some(at_ms)
            }
        }
    }

    /// When the stop took effect, if it did: the job ends STOPPED.
    pub fn stopped_at(self) -> Option<i64> {
        match self {
            StopEffect::Ignored => None,
            StopEffect::EndsAtOnce { at_ms } | StopEffect::FinishesCurrentStep { at_ms } => {
                Some(at_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_request_has_no_effect() {
        assert_eq!(stop_effect(None, Some(0), Some(10)), StopEffect::Ignored);
    }

    #[test]
    fn a_job_without_a_device_ends_at_once() {
        assert_eq!(
            stop_effect(Some(5), None, None),
            StopEffect::EndsAtOnce { at_ms: 5 }
        );
    }

    #[test]
    fn before_or_exactly_at_setup_start_tests_have_not_started() {
        assert_eq!(
            stop_effect(Some(99), Some(100), Some(500)),
            StopEffect::EndsAtOnce { at_ms: 99 }
        );
        assert_eq!(
            stop_effect(Some(100), Some(100), Some(500)),
            StopEffect::EndsAtOnce { at_ms: 100 }
        );
    }

    #[test]
    fn after_setup_start_the_current_step_finishes() {
        assert_eq!(
            stop_effect(Some(101), Some(100), Some(500)),
            StopEffect::FinishesCurrentStep { at_ms: 101 }
        );
        assert_eq!(
            stop_effect(Some(499), Some(100), Some(500)),
            StopEffect::FinishesCurrentStep { at_ms: 499 }
        );
    }

    #[test]
    fn at_or_after_the_end_the_job_is_unchanged() {
        assert_eq!(
            stop_effect(Some(500), Some(100), Some(500)),
            StopEffect::Ignored
        );
        assert_eq!(
            stop_effect(Some(9_000), Some(100), Some(500)),
            StopEffect::Ignored
        );
    }

    #[test]
    fn steps_at_or_after_the_stop_never_start() {
        let stop = StopEffect::FinishesCurrentStep { at_ms: 200 };
        assert_eq!(stop.keeps_from_starting(199), None);
        assert_eq!(stop.keeps_from_starting(200), Some(200));
        assert_eq!(StopEffect::Ignored.keeps_from_starting(1_000), None);
    }
}
