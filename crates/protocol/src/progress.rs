//! How far a run or job has got, from its wire counters: what `runs watch` and the
//! dashboard's progress bars both show.

use crate::model::Counters;

/// Tests that have ended (have a result), and all tests.
pub fn tests_ended(c: &Counters) -> (i32, i32) {
    let n = |v: Option<i32>| v.unwrap_or(0);
    let ended = n(c.passed) + n(c.failed) + n(c.warned) + n(c.errored) + n(c.stopped) + n(c.skipped);
    (ended, n(c.total))
}

/// [`tests_ended`] of counters a job may not have yet.
pub fn tests_done(counters: Option<&Counters>) -> (i32, i32) {
    counters.map_or((0, 0), tests_ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_tests_with_a_result() {
        let c = Counters { total: Some(5), passed: Some(1), failed: Some(1), stopped: Some(1), ..Counters::default() };
        assert_eq!(tests_ended(&c), (3, 5));
        assert_eq!(tests_done(None), (0, 0));
    }
}
