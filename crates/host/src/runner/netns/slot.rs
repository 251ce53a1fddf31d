//! Which job network is which: a slot number names a job's namespace, its two TUN devices
//! and its nf_tables table, and fixes its addresses, so every piece of a job's network can
//! be found again from the number alone (after a crash too).
//!
//! **A slot is taken by holding an exclusive `flock` on its lock file.** Several farmhand
//! processes may share a host (the tests run many); the lock is the one arbiter between
//! them, and the kernel drops it when its holder dies, so whatever is found under a slot
//! whose lock can be taken is a crashed job's leftover and may be removed.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use rustix::fs::{flock, FlockOperation};

/// How many job networks one host can hold at once (2048 /27 subnets fill 10.219.0.0/16).
pub(crate) const SLOTS: u16 = 2048;
/// Addresses per slot: .0 unused, .1 the host side, .2 the job, the rest one per alias.
const SUBNET_SIZE: u32 = 32;
/// First addresses of the job networks: a /16 of the private 10/8 that home and office
/// routers rarely use.
const BASE: Ipv4Addr = Ipv4Addr::new(10, 219, 0, 0);
/// The most private service names one job can have (one address each).
pub(crate) const MAX_ALIASES: usize = (SUBNET_SIZE - 3) as usize;

/// The directory of the slots' lock files (`/run` is emptied at boot, as the namespaces are).
fn lock_dir() -> PathBuf {
    PathBuf::from("/run/farmhand/netns")
}

/// A slot this process holds; dropping it gives the slot back.
#[derive(Debug)]
pub(crate) struct Slot {
    number: u16,
    _lock: File,
}

impl Slot {
    /// Takes the first free slot.
    pub(crate) fn take() -> io::Result<Slot> {
        for number in 0..SLOTS {
            if let Some(slot) = Slot::try_take(number)? {
                return Ok(slot);
            }
        }
        Err(io::Error::other(format!("all {SLOTS} job networks of this host are in use")))
    }

    /// Takes `number` if no live process holds it.
    pub(crate) fn try_take(number: u16) -> io::Result<Option<Slot>> {
        let dir = lock_dir();
        fs::create_dir_all(&dir)?;
        let file =
            OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(format!("{number}.lock")))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(Slot { number, _lock: file })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn names(&self) -> Names {
        Names::of(self.number)
    }
}

/// The names and addresses of slot `number`'s network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) number: u16,
    /// The network namespace (`ip netns` name, also `/etc/netns/<name>`).
    pub(crate) namespace: String,
    /// The TUN device inside the namespace: the job's only way out.
    pub(crate) inner_tun: String,
    /// The TUN device on the host where the job's packets come out.
    pub(crate) outer_tun: String,
    /// The nf_tables table (family ip) with the job's NAT rules.
    pub(crate) table: String,
    /// The host's side: the job's gateway, and the host's loopback as the job sees it.
    pub(crate) host_address: Ipv4Addr,
    /// The job's own address.
    pub(crate) job_address: Ipv4Addr,
}

impl Names {
    pub(crate) fn of(number: u16) -> Names {
        let base = u32::from(BASE) + u32::from(number) * SUBNET_SIZE;
        Names {
            number,
            namespace: format!("farmhand-{number}"),
            inner_tun: format!("fh{number}j"),
            outer_tun: format!("fh{number}h"),
            table: format!("farmhand_{number}"),
            host_address: Ipv4Addr::from(base + 1),
            job_address: Ipv4Addr::from(base + 2),
        }
    }

    /// The address the job reaches its `index`th private service at (0-based).
    pub(crate) fn alias_address(&self, index: usize) -> Option<Ipv4Addr> {
        (index < MAX_ALIASES).then(|| Ipv4Addr::from(u32::from(self.host_address) + 2 + index as u32))
    }

    /// The slot a namespace or table name belongs to, when it is one of farmhand's.
    pub(crate) fn slot_of(name: &str) -> Option<u16> {
        let number = name.strip_prefix("farmhand-").or_else(|| name.strip_prefix("farmhand_"))?;
        number.parse().ok().filter(|n| *n < SLOTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_do_not_overlap_and_names_fit_an_interface_name() {
        let first = Names::of(0);
        let last = Names::of(SLOTS - 1);
        assert_eq!(
            (first.host_address, first.job_address),
            (Ipv4Addr::new(10, 219, 0, 1), Ipv4Addr::new(10, 219, 0, 2))
        );
        assert_eq!(first.alias_address(MAX_ALIASES - 1), Some(Ipv4Addr::new(10, 219, 0, 31)));
        assert_eq!(first.alias_address(MAX_ALIASES), None);
        assert_eq!(Names::of(1).host_address, Ipv4Addr::new(10, 219, 0, 33));
        assert_eq!(last.alias_address(MAX_ALIASES - 1), Some(Ipv4Addr::new(10, 219, 255, 255)));
        // IFNAMSIZ is 16 with the NUL.
        assert!(last.inner_tun.len() <= 15 && last.outer_tun.len() <= 15);
        assert_eq!(Names::slot_of(&last.namespace), Some(SLOTS - 1));
        assert_eq!(Names::slot_of(&last.table), Some(SLOTS - 1));
        assert_eq!(Names::slot_of("farmhand-x"), None);
        assert_eq!(Names::slot_of("docker0"), None);
    }
}
