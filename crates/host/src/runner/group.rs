//! A phase's shell and the process group it leads: spawned with `setpgid(0, 0)`, signalled
//! as a group, and torn down with SIGTERM → grace → SIGKILL.
//!
//! **The shell is not reaped until farmhand is done with its group.** A process group id
//! is the leader's pid; once the leader is collected and the group empties, the kernel
//! may hand that number to an unrelated process, and a late `kill(-pgid)` would hit it.
//! While the leader stays a zombie the number stays taken, so every signal farmhand sends
//! reaches only the job's processes. Exit is observed with `waitid(P_PIDFD, WNOWAIT)`,
//! which reports it and leaves the shell unreaped. (tokio's `Child` would reap it the
//! moment it exits.)

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command};
use std::time::Duration;

use rustix::io::Errno;
use rustix::process::{
    kill_process_group, pidfd_open, waitid, Pid, PidfdFlags, Signal, WaitId, WaitIdOptions, WaitIdStatus,
};
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use super::process_table::live_members;

/// How the shell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
}

/// What tearing a group down took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Teardown {
    /// Nothing was left alive: no signal was sent.
    Empty,
    /// Everything ended within the grace period after SIGTERM.
    Terminated,
    /// Something outlived the grace period and got SIGKILL.
    Killed,
}

/// How often the process table is read while waiting for a group to empty.
const POLL: Duration = Duration::from_millis(10);
/// How long processes get to die after SIGKILL before farmhand stops waiting: only a
/// process stuck in the kernel (uninterruptible I/O) takes longer.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// The phase's shell, leader of its own process group.
pub(crate) struct Leader {
    child: Child,
    pidfd: Arc<OwnedFd>,
    pgid: Pid,
    /// A blocking-pool task that returns when the shell exits. (A pidfd could be polled
    /// by the reactor, but registering one with tokio takes `unsafe`; a parked thread per
    /// running phase is cheap at a device host's scale.)
    exit_watch: Option<JoinHandle<io::Result<Exit>>>,
    exit: Option<Exit>,
    reaped: bool,
}

impl Leader {
    /// Spawns `command` as the leader of a new process group.
    pub(crate) fn spawn(mut command: Command) -> io::Result<Leader> {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        let mut child = command.spawn()?;
        // The command holds the parent's copies of the child's stdio: drop them now so the
        // output pipe reaches end-of-file when the group's processes are gone.
        drop(command);
        let pgid = Pid::from_child(&child);
        let pidfd = match pidfd_open(pgid, PidfdFlags::empty()) {
            Ok(fd) => Arc::new(fd),
            Err(e) => {
                let _ = kill_process_group(pgid, Signal::KILL);
                let _ = child.wait();
                return Err(e.into());
            }
        };
        let watched = Arc::clone(&pidfd);
        let exit_watch = tokio::task::spawn_blocking(move || wait_without_reaping(&watched));
        Ok(Leader { child, pidfd, pgid, exit_watch: Some(exit_watch), exit: None, reaped: false })
    }

    pub(crate) fn pgid(&self) -> i32 {
        self.pgid.as_raw_nonzero().get()
    }

    /// Resolves when the shell has exited, leaving it unreaped. Cancel-safe.
    pub(crate) async fn exited(&mut self) -> io::Result<Exit> {
        if let Some(exit) = self.exit {
            return Ok(exit);
        }
        let Some(watch) = self.exit_watch.as_mut() else {
            return Err(io::Error::other("the shell's exit status was lost"));
        };
        let result = watch.await.unwrap_or_else(|e| Err(io::Error::other(e)));
        self.exit_watch = None;
        self.exit = result.as_ref().ok().copied();
        result
    }

    /// Whether any process of the group (the shell or what it started) is still running.
    pub(crate) fn has_live_members(&self) -> bool {
        !live_members(self.pgid()).is_empty()
    }

    fn signal(&self, signal: Signal) {
        // ESRCH (nothing left) is the only expected error, and means there is nothing to do.
        let _ = kill_process_group(self.pgid, signal);
    }

    /// Collects the exited shell, releasing its pid. Only once the group is no longer
    /// signalled; before the shell exits this does nothing.
    pub(crate) fn reap(mut self) {
        self.try_reap();
    }

    fn try_reap(&mut self) {
        if self.reaped || self.exit.is_none() {
            return;
        }
        let _ = waitid(WaitId::PidFd(self.pidfd.as_fd()), WaitIdOptions::EXITED | WaitIdOptions::NOHANG);
        self.reaped = true;
    }
}

impl Drop for Leader {
    /// A runner future dropped mid-phase must not leave the job's processes running.
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        if self.exit.is_none() {
            self.signal(Signal::KILL);
            // The shell dies at once from SIGKILL; collecting it here keeps it from
            // lingering as a zombie of farmhand.
            let _ = self.child.wait();
            return;
        }
        if self.has_live_members() {
            self.signal(Signal::KILL);
        }
        self.try_reap();
    }
}

/// Ends every live process of the `groups`: SIGTERM to each, up to `grace` for them to
/// exit, then SIGKILL to what remains. The groups share one grace period.
pub(crate) async fn tear_down(groups: &[&Leader], grace: Duration) -> Teardown {
    let alive = |groups: &[&Leader]| groups.iter().any(|g| g.has_live_members());
    if !alive(groups) {
        return Teardown::Empty;
    }
    for group in groups {
        group.signal(Signal::TERM);
        // A stopped process would keep SIGTERM pending forever; let it run to handle it.
        group.signal(Signal::CONT);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !alive(groups) {
            return Teardown::Terminated;
        }
        sleep(POLL.min(deadline - Instant::now())).await;
    }
    if !alive(groups) {
        return Teardown::Terminated;
    }
    for group in groups {
        group.signal(Signal::KILL);
    }
    let deadline = Instant::now() + AFTER_KILL;
    while alive(groups) && Instant::now() < deadline {
        sleep(POLL).await;
    }
    Teardown::Killed
}

/// Blocks until the process behind `pidfd` exits and returns how, without collecting it.
fn wait_without_reaping(pidfd: &OwnedFd) -> io::Result<Exit> {
    loop {
        match waitid(WaitId::PidFd(pidfd.as_fd()), WaitIdOptions::EXITED | WaitIdOptions::NOWAIT) {
            Ok(status) => {
                return status.as_ref().and_then(exit_of).ok_or_else(|| io::Error::other("waitid reported no exit"));
            }
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn exit_of(status: &WaitIdStatus) -> Option<Exit> {
    if status.exited() {
        status.exit_status().map(Exit::Code)
    } else if status.killed() || status.dumped() {
        status.terminating_signal().map(Exit::Signal)
    } else {
        None
    }
}
