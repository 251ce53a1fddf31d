//! A job's samples as it runs: each tick takes a [`Reading`] of the processes measured (a
//! host job's phase group from `/proc`, an adb job's app from the device's `/proc`) and
//! appends one point per kind.

use super::procfs::{group_usage, parse_net_dev, ProcUsage};
use super::series::{SampleKind, Series};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the measured processes use at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub usage: Vec<(i32, ProcUsage)>,
    /// Bytes received and transmitted by the namespace's interfaces so far.
    pub net: (u64, u64),
}

/// Group `pgid`'s processes and the network of `leader`'s namespace, under `proc_root`.
pub fn read_group(proc_root: &Path, pgid: i32, leader: i32, page_kb: u64) -> Reading {
    let usage = group_usage(proc_root, pgid, page_kb);
    let net = std::fs::read_to_string(proc_root.join(leader.to_string()).join("net/dev"))
        .map(|dev| parse_net_dev(&dev))
        .unwrap_or_default();
    Reading { usage, net }
}

/// The last reading, to turn counters into rates.
struct Previous {
    at: Instant,
    ticks: HashMap<i32, u64>,
    net: (u64, u64),
}

pub struct Recorder {
    proc_root: PathBuf,
    ticks_per_second: f64,
    page_kb: u64,
    previous: Option<Previous>,
    /// Bytes moved before this job's first reading: RX/TX count from the job's start.
    net_base: Option<(u64, u64)>,
    series: HashMap<&'static str, Series>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new(PathBuf::from("/proc"))
    }
}

impl Recorder {
    pub fn new(proc_root: PathBuf) -> Recorder {
        Recorder {
            proc_root,
            ticks_per_second: rustix::param::clock_ticks_per_second() as f64,
            page_kb: (rustix::param::page_size() / 1024) as u64,
            previous: None,
            net_base: None,
            series: HashMap::new(),
        }
    }

    /// `ticks_per_second` of the kernel the readings come from (a device's, for adb).
    pub fn with_ticks(ticks_per_second: f64) -> Recorder {
        Recorder { ticks_per_second, ..Recorder::default() }
    }

    /// Reads group `pgid` (led by `leader`) now and records the point at service time `at_ms`.
    pub fn sample(&mut self, pgid: i32, leader: i32, at_ms: i64) {
        self.record(read_group(&self.proc_root, pgid, leader, self.page_kb), at_ms, Instant::now());
    }

    /// [`Recorder::sample`] with the `/proc` scan on a blocking thread: it walks every
    /// process on the machine, which async workers should not wait on.
    pub async fn sample_blocking(&mut self, pgid: i32, leader: i32, at_ms: i64) {
        let (root, page_kb) = (self.proc_root.clone(), self.page_kb);
        if let Ok(reading) = tokio::task::spawn_blocking(move || read_group(&root, pgid, leader, page_kb)).await {
            self.record(reading, at_ms, Instant::now());
        }
    }

    /// Records `reading`, taken at `now`, as the point at service time `at_ms`; a reading
    /// without processes (they have not started, or ended) adds nothing.
    pub fn record(&mut self, reading: Reading, at_ms: i64, now: Instant) {
        let Reading { usage, net } = reading;
        if usage.is_empty() {
            return;
        }
        let base = *self.net_base.get_or_insert(net);
        let ticks: HashMap<i32, u64> = usage.iter().map(|(pid, u)| (*pid, u.cpu_ticks)).collect();
        let total = usage.iter().fold(ProcUsage::default(), |a, (_, u)| ProcUsage {
            cpu_ticks: 0,
            rss_kb: a.rss_kb + u.rss_kb,
            threads: a.threads + u.threads,
        });
        let (cpu, rx_rate, tx_rate) = match &self.previous {
            Some(prev) => {
                let seconds = now.duration_since(prev.at).as_secs_f64().max(1e-3);
                // A process new since the last reading counts from zero: its whole CPU time
                // was spent in the interval.
                let spent: u64 =
                    ticks.iter().map(|(pid, t)| t.saturating_sub(*prev.ticks.get(pid).unwrap_or(&0))).sum();
                (
                    spent as f64 / self.ticks_per_second / seconds * 100.0,
                    net.0.saturating_sub(prev.net.0) as f64 / seconds,
                    net.1.saturating_sub(prev.net.1) as f64 / seconds,
                )
            }
            None => (0.0, 0.0, 0.0),
        };
        let values = [
            (SampleKind::Cpu, cpu),
            (SampleKind::Memory, total.rss_kb as f64),
            (SampleKind::Threads, total.threads as f64),
            (SampleKind::RxRate, rx_rate),
            (SampleKind::TxRate, tx_rate),
            (SampleKind::Rx, net.0.saturating_sub(base.0) as f64),
            (SampleKind::Tx, net.1.saturating_sub(base.1) as f64),
        ];
        for (kind, value) in values {
            self.series.entry(kind.as_str()).or_default().points.push((at_ms, value));
        }
        self.previous = Some(Previous { at: now, ticks, net });
    }

    /// The recorded series, in listing order; empty when nothing was ever read.
    pub fn finish(self) -> Vec<(SampleKind, Series)> {
        let mut series = self.series;
        SampleKind::ALL.into_iter().filter_map(|k| Some((k, series.remove(k.as_str())?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn a_busy_group_shows_cpu_memory_and_threads() {
        // A shell in a group of its own that spins: its CPU time grows between readings.
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "while :; do :; done"])
            .process_group(0)
            .spawn()
            .expect("sh");
        let pid = child.id() as i32;
        let mut recorder = Recorder::default();
        recorder.sample(pid, pid, 0);
        let until = Instant::now() + std::time::Duration::from_millis(300);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        recorder.sample(pid, pid, 1000);
        let _ = child.kill();
        let _ = child.wait();
        let series: HashMap<_, _> = recorder.finish().into_iter().collect();
        let cpu = &series[&SampleKind::Cpu].points;
        assert_eq!(cpu.len(), 2);
        assert!(cpu[1].1 > 10.0, "{cpu:?}");
        assert!(series[&SampleKind::Memory].points.iter().all(|(_, kb)| *kb > 0.0));
        assert_eq!(series[&SampleKind::Threads].points[0].1, 1.0);
    }

    #[test]
    fn an_empty_group_records_nothing() {
        let mut recorder = Recorder::default();
        recorder.sample(i32::MAX, i32::MAX, 0);
        assert!(recorder.finish().is_empty());
    }
}
