//! A simulated job's samples: a plausible series over its device time, busier while a test
//! runs than between tests. Derived from the snapshot and the job's id alone, so a download
//! is the same after a restart and consistent with the job's reported timing.

use domain::job::snapshot::JobSnapshot;
use host::samples::{SampleKind, Series};

/// One point per second of device time, thinned so a long job's series stays chartable.
const MAX_POINTS: i64 = 3600;
const STEP_MS: i64 = 1000;

/// Noise that depends only on its inputs. A hand-written mix (splitmix64's finaliser) rather
/// than a seeded RNG crate: each point is computed independently, no generator state to keep.
fn noise(seed: u64, i: i64, salt: u64) -> f64 {
    let mut z = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn seed_of(job_id: &str) -> u64 {
    // FNV-1a: a stable hash (std's is randomised per process).
    job_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn busy(snapshot: &JobSnapshot, at: i64, now_ms: i64) -> bool {
    snapshot.tests().any(|t| match t.started_ms {
        Some(start) => start <= at && at < t.stopped_ms.unwrap_or(now_ms),
        None => false,
    })
}

/// `kind`'s series for the job `job_id` as of `now_ms`: empty before the job starts.
pub fn series(job_id: &str, snapshot: &JobSnapshot, kind: SampleKind, now_ms: i64) -> Series {
    let Some(start) = snapshot.started_ms else { return Series::default() };
    let end = snapshot.stopped_ms.unwrap_or(now_ms).max(start);
    let step = STEP_MS.max((end - start) / MAX_POINTS + 1);
    let seed = seed_of(job_id);
    let rate = |i: i64, at: i64, salt: u64, busy_base: f64, idle_base: f64| {
        let base = if busy(snapshot, at, now_ms) { busy_base } else { idle_base };
        base * (0.5 + noise(seed, i, salt))
    };
    let mut points = Vec::new();
    let (mut rx, mut tx) = (0.0, 0.0);
    let mut i = 0;
    let mut at = start;
    while at <= end {
        let seconds = if i == 0 { 0.0 } else { step as f64 / 1000.0 };
        let rx_rate = rate(i, at, 4, 48_000.0, 1_500.0);
        let tx_rate = rate(i, at, 5, 9_000.0, 400.0);
        rx += rx_rate * seconds;
        tx += tx_rate * seconds;
        let value = match kind {
            SampleKind::Cpu => rate(i, at, 1, 55.0, 6.0),
            SampleKind::Memory => {
                // The heap grows over the job and with each busy moment, as an app's does.
                let growth = 40_000.0 * (at - start) as f64 / (end - start).max(1) as f64;
                182_000.0 + growth + rate(i, at, 2, 12_000.0, 3_000.0)
            }
            SampleKind::Threads => (38.0 + rate(i, at, 3, 16.0, 4.0)).round(),
            SampleKind::RxRate => rx_rate,
            SampleKind::TxRate => tx_rate,
            SampleKind::Rx => rx,
            SampleKind::Tx => tx,
        };
        points.push((at, value));
        i += 1;
        at += step;
    }
    Series { points }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::job::counters::Counters;
    use domain::job::snapshot::{SuiteSnapshot, TestSnapshot};
    use domain::job::status::{ExecutionResult, ExecutionStatus};

    fn snapshot(started: i64, stopped: i64, test: (i64, i64)) -> JobSnapshot {
        let test = TestSnapshot {
            name: "t".into(),
            status: ExecutionStatus::Completed,
            result: ExecutionResult::Passed,
            started_ms: Some(test.0),
            stopped_ms: Some(test.1),
            message: None,
            billed_seconds: 0,
            counters: Counters::default(),
        };
        let suite = SuiteSnapshot {
            name: "s".into(),
            status: ExecutionStatus::Completed,
            result: ExecutionResult::Passed,
            started_ms: test.started_ms,
            stopped_ms: test.stopped_ms,
            message: None,
            billed_seconds: 0,
            counters: Counters::default(),
            tests: vec![test],
        };
        unstarted_with(Some(started), Some(stopped), vec![suite])
    }

    fn unstarted_with(started_ms: Option<i64>, stopped_ms: Option<i64>, suites: Vec<SuiteSnapshot>) -> JobSnapshot {
        JobSnapshot {
            status: ExecutionStatus::Completed,
            result: ExecutionResult::Passed,
            message: None,
            started_ms,
            stopped_ms,
            billed_seconds: 0,
            device_released_ms: None,
            suites,
            counters: Counters::default(),
            is_final: stopped_ms.is_some(),
            next_change_ms: None,
        }
    }

    #[test]
    fn one_point_a_second_busier_while_a_test_runs() {
        let snap = snapshot(0, 20_000, (5_000, 15_000));
        let cpu = series("p/r/00000", &snap, SampleKind::Cpu, 30_000);
        assert_eq!(cpu.points.len(), 21);
        let mean =
            |range: std::ops::Range<usize>| range.clone().map(|i| cpu.points[i].1).sum::<f64>() / range.len() as f64;
        assert!(mean(6..15) > 3.0 * mean(0..5), "{cpu:?}");
        assert!(cpu.points.iter().all(|(_, v)| (0.0..=100.0).contains(v)));
    }

    #[test]
    fn totals_accumulate_the_rates_and_series_are_stable() {
        let snap = snapshot(0, 10_000, (0, 10_000));
        let rate = series("a", &snap, SampleKind::RxRate, 0);
        let total = series("a", &snap, SampleKind::Rx, 0);
        let sum: f64 = rate.points.iter().skip(1).map(|(_, v)| v).sum();
        assert!((total.points.last().unwrap().1 - sum).abs() < 1e-6);
        assert!(total.points.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(series("a", &snap, SampleKind::Memory, 0), series("a", &snap, SampleKind::Memory, 0));
        assert_ne!(series("a", &snap, SampleKind::Cpu, 0), series("b", &snap, SampleKind::Cpu, 0));
    }

    #[test]
    fn long_jobs_are_thinned_and_unstarted_ones_empty() {
        let snap = snapshot(0, 10 * 3_600_000, (0, 1));
        assert!(series("a", &snap, SampleKind::Threads, 0).points.len() <= MAX_POINTS as usize + 1);
        assert!(series("a", &unstarted_with(None, None, vec![]), SampleKind::Cpu, 0).points.is_empty());
    }
}
