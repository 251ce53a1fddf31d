//! `jobTimeoutMinutes`, as the notes decide it: the clock starts when setup starts (the
//! device's work, not the wait for it). At the deadline, the step running (setup or a test)
//! ends ERRORED with "Job timed out after N minutes", the tests not started never start
//! (STOPPED), and teardown still runs in full: the timeout never cuts teardown, so the
//! device is always left clean.

/// The instant a job's setup and tests must be done by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub at_ms: i64,
    pub minutes: i32,
}

impl Deadline {
    /// The API refuses timeouts under its minimum; a zero or negative one that slipped
    /// through is read as one minute, so setup always gets to start before the deadline.
    pub fn from_setup_start(setup_start_ms: i64, timeout_minutes: i32) -> Deadline {
        let minutes = timeout_minutes.max(1);
        Deadline { at_ms: setup_start_ms + i64::from(minutes) * 60_000, minutes }
    }

    /// The message of the step the deadline cut and of the job.
    pub fn message(&self) -> String {
        format!("Job timed out after {} minutes", self.minutes)
    }

    /// A step planned to start at `start_ms` never starts if the deadline has passed by then.
    pub fn keeps_from_starting(&self, start_ms: i64) -> Option<i64> {
        (start_ms >= self.at_ms).then_some(self.at_ms)
    }

    /// A step that started before the deadline and would still be running at it ends there.
    pub fn cuts(&self, start_ms: i64, end_ms: i64) -> Option<i64> {
        (start_ms < self.at_ms && end_ms > self.at_ms).then_some(self.at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_counts_from_setup_start() {
        let d = Deadline::from_setup_start(10_000, 5);
        assert_eq!(d.at_ms, 310_000);
        assert_eq!(d.message(), "Job timed out after 5 minutes");
    }

    #[test]
    fn a_step_ending_exactly_at_the_deadline_is_not_cut() {
        let d = Deadline::from_setup_start(0, 1);
        assert_eq!(d.cuts(50_000, 60_000), None);
        assert_eq!(d.cuts(50_000, 60_001), Some(60_000));
        assert_eq!(d.keeps_from_starting(59_999), None);
        assert_eq!(d.keeps_from_starting(60_000), Some(60_000));
    }

    #[test]
    fn a_timeout_below_one_minute_is_read_as_one() {
        let d = Deadline::from_setup_start(0, 0);
        assert_eq!((d.at_ms, d.minutes), (60_000, 1));
    }
}
