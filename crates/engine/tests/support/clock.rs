//! A clock the test moves by hand, so the scheduler's notion of "now" is exact and no test
//! ever sleeps.

use domain::clock::Clock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn starting_at(ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicI64::new(ms)))
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now()
    }
}
