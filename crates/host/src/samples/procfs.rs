//! Reading a host job's processes from `/proc` (proc(5)): CPU time, resident memory and
//! threads per process, and the bytes its network namespace's interfaces moved. Parsing is
//! separate from reading so it is tested on fixed text.

use std::path::Path;

/// What one process contributes to a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcUsage {
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_kb: u64,
    pub threads: u64,
}

/// Fields of `/proc/PID/stat` after the command name; the name is in parentheses and may
/// itself contain spaces and parentheses, so the split is at its last `)`.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// `(process group, utime + stime)` from `/proc/PID/stat`.
pub fn parse_stat(stat: &str) -> Option<(i32, u64)> {
    let fields = stat_fields(stat)?;
    // After the name: state(3) ppid(4) pgrp(5) … utime(14) stime(15), 1-based in proc(5).
    let pgrp = fields.get(2)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((pgrp, utime + stime))
}

/// Resident pages from `/proc/PID/statm` (its second field).
pub fn parse_statm_rss_pages(statm: &str) -> Option<u64> {
    statm.split_whitespace().nth(1)?.parse().ok()
}

/// `Threads:` of `/proc/PID/status`.
pub fn parse_threads(status: &str) -> Option<u64> {
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok())
}

/// Received and transmitted bytes over every interface but loopback in `/proc/PID/net/dev`
/// (the namespace's interfaces; loopback traffic never leaves the job).
pub fn parse_net_dev(dev: &str) -> (u64, u64) {
    let mut totals = (0, 0);
    for line in dev.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else { continue };
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<u64> = counters.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        if let (Some(rx), Some(tx)) = (fields.first(), fields.get(8)) {
            totals.0 += rx;
            totals.1 += tx;
        }
    }
    totals
}

/// The processes of group `pgid` and what they use now, read under `proc_root` (`/proc`).
/// Processes that exit while being read are skipped: they no longer use anything.
pub fn group_usage(proc_root: &Path, pgid: i32, page_kb: u64) -> Vec<(i32, ProcUsage)> {
    let Ok(entries) = std::fs::read_dir(proc_root) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let dir = entry.path();
        let Some((group, cpu_ticks)) = std::fs::read_to_string(dir.join("stat")).ok().as_deref().and_then(parse_stat)
        else {
            continue;
        };
        if group != pgid {
            continue;
        }
        let rss_pages = std::fs::read_to_string(dir.join("statm")).ok().as_deref().and_then(parse_statm_rss_pages);
        let threads = std::fs::read_to_string(dir.join("status")).ok().as_deref().and_then(parse_threads);
        out.push((
            pid,
            ProcUsage { cpu_ticks, rss_kb: rss_pages.unwrap_or(0) * page_kb, threads: threads.unwrap_or(0) },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (sh -c (burn)) R 4200 4242 4242 0 -1 4194304 120 0 0 0 731 69 0 0 20 0 3 0 5000 10000000 2000 18446744073709551615";

    #[test]
    fn stat_gives_group_and_cpu_ticks_even_with_parentheses_in_the_name() {
        assert_eq!(parse_stat(STAT), Some((4242, 800)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn statm_and_status_give_rss_and_threads() {
        assert_eq!(parse_statm_rss_pages("25000 2048 512 1 0 3000 0\n"), Some(2048));
        assert_eq!(parse_threads("Name:\tpython3\nTgid:\t1\nThreads:\t7\nSigQ:\t0/1\n"), Some(7));
        assert_eq!(parse_threads("Name:\tx\n"), None);
    }

    #[test]
    fn net_dev_sums_interfaces_except_loopback() {
        let dev = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 9999 10 0 0 0 0 0 0 9999 10 0 0 0 0 0 0\n  eth0: 1500 12 0 0 0 0 0 0 700 8 0 0 0 0 0 0\n  veth1: 500 2 0 0 0 0 0 0 300 3 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(dev), (2000, 1000));
    }

    #[test]
    fn reads_this_process_group_from_proc() {
        let pgid = rustix::process::getpgrp().as_raw_nonzero().get();
        let usage = group_usage(Path::new("/proc"), pgid, 4);
        let me = std::process::id() as i32;
        let (_, mine) = usage.iter().find(|(pid, _)| *pid == me).expect("this process is in its own group's listing");
        assert!(mine.rss_kb > 0 && mine.threads >= 1);
    }
}
