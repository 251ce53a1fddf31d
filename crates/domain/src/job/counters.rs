//! Result counters (the model's `Counters`): how many tests a test, suite, job or run holds
//! and how many ended with each result. Every level is the sum of the one below, so a
//! counter is built per test and then only added up.

use serde::{Deserialize, Serialize};

use super::status::ExecutionResult;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub total: i32,
    pub passed: i32,
    pub failed: i32,
    pub warned: i32,
    pub errored: i32,
    pub stopped: i32,
    pub skipped: i32,
}

impl Counters {
    /// The counters of one test: it counts in `total` from the start, and in its result's
    /// bucket once it has one (a test still PENDING counts only in `total`).
    pub fn of_test(result: ExecutionResult) -> Counters {
        let mut c = Counters { total: 1, ..Counters::default() };
        match result {
            ExecutionResult::Pending => {}
            ExecutionResult::Passed => c.passed = 1,
            ExecutionResult::Failed => c.failed = 1,
            ExecutionResult::Warned => c.warned = 1,
            ExecutionResult::Errored => c.errored = 1,
            ExecutionResult::Stopped => c.stopped = 1,
            ExecutionResult::Skipped => c.skipped = 1,
        }
        c
    }

    pub fn add(&mut self, other: &Counters) {
        self.total += other.total;
        self.passed += other.passed;
        self.failed += other.failed;
        self.warned += other.warned;
        self.errored += other.errored;
        self.stopped += other.stopped;
        self.skipped += other.skipped;
    }

    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Counters>) -> Counters {
        let mut total = Counters::default();
        for c in parts {
            total.add(c);
        }
        total
    }

    /// Tests that have a result; equal to `total` once everything counted has ended.
    pub fn decided(&self) -> i32 {
        self.passed + self.failed + self.warned + self.errored + self.stopped + self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_counts_in_total_and_in_its_result_once_decided() {
        let pending = Counters::of_test(ExecutionResult::Pending);
        assert_eq!((pending.total, pending.decided()), (1, 0));
        let failed = Counters::of_test(ExecutionResult::Failed);
        assert_eq!((failed.total, failed.failed, failed.decided()), (1, 1, 1));
    }

    #[test]
    fn sums_add_every_field() {
        let all: Vec<Counters> = ExecutionResult::ALL.iter().map(|r| Counters::of_test(*r)).collect();
        let sum = Counters::sum(&all);
        assert_eq!(sum, Counters { total: 7, passed: 1, failed: 1, warned: 1, errored: 1, stopped: 1, skipped: 1 });
        assert_eq!(sum.decided(), 6);
    }
}
