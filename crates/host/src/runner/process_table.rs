//! Which processes of a process group are still alive, read from `/proc`. The kernel
//! offers no call that lists a group's members, and `kill(-pgid, 0)` also succeeds while
//! only zombies remain (the phase's shell is kept as one on purpose, see `group`).

use std::fs;

/// Pids of the group's members that have not exited (zombies do not count: they run
/// nothing and only wait for their parent to collect them).
pub(crate) fn live_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parse_stat(&stat))
                .is_some_and(|(state, group)| group == pgid && !matches!(state, 'Z' | 'X'))
        })
        .collect()
}

/// (state, process group) from a `/proc/<pid>/stat` line. The command name in parentheses
/// may itself hold spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_state_and_group_even_with_odd_command_names() {
        assert_eq!(parse_stat("123 (sleep) S 1 120 120 0 -1 4194304"), Some(('S', 120)));
        assert_eq!(parse_stat("7 (a) b (c)) Z 1 99 99 0"), Some(('Z', 99)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn finds_this_process_in_its_own_group() {
        let pgid = rustix::process::getpgrp().as_raw_nonzero().get();
        let me = i32::try_from(std::process::id()).expect("pid fits");
        assert!(live_members(pgid).contains(&me));
    }
}
