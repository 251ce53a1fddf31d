//! An app's use of an Android device, read over adb for its samples: the app's process
//! from `pidof`, its CPU ticks, threads and network from the device's `/proc` (parsed as
//! a host's are), and its proportional set size from `dumpsys meminfo`, which is what the
//! model's MEMORY sample is.

use super::command::Adb;
use super::error::AdbError;
use crate::samples::host::Reading;
use crate::samples::procfs::{parse_net_dev, parse_stat, parse_threads, ProcUsage};

/// Android's kernels count CPU time in USER_HZ, 100 a second, like other Linux ABIs.
pub const DEVICE_TICKS_PER_SECOND: f64 = 100.0;

/// `TOTAL PSS:` (Android 10+) or the `TOTAL` row (older) of `dumpsys meminfo PKG`, in kB.
pub fn parse_meminfo_total_pss(text: &str) -> Option<u64> {
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("TOTAL PSS:") {
            return rest.split_whitespace().next()?.parse().ok();
        }
        if let Some(rest) = line.strip_prefix("TOTAL") {
            if let Some(first) = rest.split_whitespace().next() {
                if let Ok(kb) = first.parse() {
                    return Some(kb);
                }
            }
        }
    }
    None
}

impl Adb {
    /// What `package` uses on `serial` now; an empty reading while it is not running.
    pub async fn app_reading(&self, serial: &str, package: &str) -> Result<Reading, AdbError> {
        let pids = self.shell(serial, &["pidof", package]).await.unwrap_or_default();
        let Some(pid) = pids.split_whitespace().next().and_then(|p| p.parse::<i32>().ok()) else {
            return Ok(Reading::default());
        };
        let proc_file = |name: &str| format!("/proc/{pid}/{name}");
        let stat = self.shell(serial, &["cat", &proc_file("stat")]).await?;
        let Some((_, cpu_ticks)) = parse_stat(&stat) else { return Ok(Reading::default()) };
        let threads = parse_threads(&self.shell(serial, &["cat", &proc_file("status")]).await?).unwrap_or(0);
        let net = parse_net_dev(&self.shell(serial, &["cat", &proc_file("net/dev")]).await?);
        let rss_kb = parse_meminfo_total_pss(&self.shell(serial, &["dumpsys", "meminfo", package]).await?).unwrap_or(0);
        Ok(Reading { usage: vec![(pid, ProcUsage { cpu_ticks, rss_kb, threads })], net })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_pss_from_new_and_old_meminfo() {
        let new = "Applications Memory Usage (in Kilobytes):\nUptime: 1 Realtime: 1\n\n** MEMINFO in pid 4321 [com.example.shop] **\n                   Pss  Private  Private  SwapPss      Rss     Heap\n                 Total    Dirty    Clean    Dirty    Total     Size\n        TOTAL    48211    39000     4000        0   120000    20000\n App Summary\n           TOTAL PSS:    48211            TOTAL RSS:   120000       TOTAL SWAP PSS:        0\n";
        assert_eq!(parse_meminfo_total_pss(new), Some(48211));
        let old = "** MEMINFO in pid 99 [com.old] **\n        TOTAL    30500    20000     1000\n";
        assert_eq!(parse_meminfo_total_pss(old), Some(30500));
        assert_eq!(parse_meminfo_total_pss("No process found for: com.none\n"), None);
    }
}
