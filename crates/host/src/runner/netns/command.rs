//! Running iproute2 and nftables. **Why shell out:** `ip netns exec` is also how the job's
//! shell enters the namespace (with its own `/etc/hosts`), so `ip` is needed anyway, and
//! the netlink crates for nf_tables either wrap C libraries or lack NAT expressions; one
//! text ruleset for `nft -f` is also what an operator reads back with `nft list table`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where the tools are: farmhand may run with a PATH that lacks the sbin directories.
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|candidate| candidate.is_file());
    found
}

/// Runs `name args`, feeding it `input`; its stdout, or what it said on failing.
pub(crate) fn run(name: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
    let program = tool(name).ok_or_else(|| format!("{name} is not installed"))?;
    let mut child = Command::new(&program)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {name}: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).map_err(|e| format!("writing to {name}: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("running {name}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("`{name} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}
