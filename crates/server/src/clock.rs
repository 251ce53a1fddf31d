//! The server's clocks. Authentication always uses real time (a signature's age is a
//! real-world fact); everything the service records (creation times, job timelines,
//! billing) uses the service clock, which `--time-scale N` runs N times faster than real
//! time so simulated jobs of minutes finish in seconds, billed in simulated minutes.

use domain::clock::Clock;
use std::time::Instant;

/// Real wall-clock time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// `origin + (real now − origin) × scale`. The origin is the data directory's first start,
/// kept in the store, so a restarted server continues the same simulated timeline instead
/// of jumping back to real time (with the same scale; changing the scale of a data
/// directory with runs in flight moves their clock).
pub struct ScaledClock {
    origin_ms: i64,
    scale: f64,
    /// Monotonic base: wall-clock steps (NTP) must not move a job's timeline backwards.
    start_real_ms: i64,
    start_instant: Instant,
}

impl ScaledClock {
    pub fn new(origin_ms: i64, scale: f64) -> Self {
        Self { origin_ms, scale, start_real_ms: SystemClock.now_ms(), start_instant: Instant::now() }
    }
}

impl Clock for ScaledClock {
    fn now_ms(&self) -> i64 {
        let real = self.start_real_ms + self.start_instant.elapsed().as_millis() as i64;
        self.origin_ms + ((real - self.origin_ms) as f64 * self.scale) as i64
    }
}
