//! What a device costs: whole seconds per test, rounded up, summed upwards, and the
//! `deviceMinutes` shape split by the run's billing method.
//!
//! The notes bill "from the start of setup to the end of teardown, in whole seconds
//! rounded up". farmhand rounds each test (setup and teardown are tests) and sums, so that
//! test, suite, job and run minutes are exact sums of their children, as the notes also
//! require; with whole-second durations both readings agree.

use serde::{Deserialize, Serialize};

pub use crate::run::BillingMethod;

/// Whole seconds billed for device time from `started_ms` to `stopped_ms`, rounded up.
pub fn billed_seconds(started_ms: i64, stopped_ms: i64) -> i64 {
    let ms = (stopped_ms - started_ms).max(0);
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// The model's `DeviceMinutes`: a run is either all metered or all unmetered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeviceMinutes {
    pub total: f64,
    pub metered: f64,
    pub unmetered: f64,
}

impl DeviceMinutes {
    pub fn from_seconds(seconds: i64, method: BillingMethod) -> DeviceMinutes {
        let total = seconds as f64 / 60.0;
        match method {
            BillingMethod::Metered => DeviceMinutes { total, metered: total, unmetered: 0.0 },
            BillingMethod::Unmetered => DeviceMinutes { total, metered: 0.0, unmetered: total },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_seconds_round_up_and_whole_ones_do_not() {
        assert_eq!(billed_seconds(0, 0), 0);
        assert_eq!(billed_seconds(0, 1), 1);
        assert_eq!(billed_seconds(0, 1000), 1);
        assert_eq!(billed_seconds(500, 2501), 3);
        assert_eq!(billed_seconds(1_000, 31_000), 30);
    }

    #[test]
    fn time_running_backwards_bills_nothing() {
        assert_eq!(billed_seconds(5_000, 1_000), 0);
    }

    #[test]
    fn minutes_go_to_the_runs_billing_method() {
        let m = DeviceMinutes::from_seconds(30, BillingMethod::Metered);
        assert_eq!((m.total, m.metered, m.unmetered), (0.5, 0.5, 0.0));
        let u = DeviceMinutes::from_seconds(90, BillingMethod::Unmetered);
        assert_eq!((u.total, u.metered, u.unmetered), (1.5, 0.0, 1.5));
    }
}
