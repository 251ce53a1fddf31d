//! A host job's network of its own, when its run has a network profile or private service
//! names: a network namespace whose only way out is an emulated link (see [`link`]) to the
//! host, NATed so the job reaches the network from the host's address as before.
//!
//! Layout of one job's network (slot `N`, see [`slot`]):
//! - namespace `farmhand-N`, with `lo` and the TUN device `fhNj` (the job's address,
//!   default route); `/etc/netns/farmhand-N/hosts` is the job's `/etc/hosts` (`ip netns
//!   exec` mounts it over `/etc/hosts`): the private names ([`aliases`]) and
//!   [`HOST_NAME`]; a `resolv.conf` beside it when the host's resolver is on its
//!   loopback ([`dns`]);
//! - TUN device `fhNh` on the host (the host side's address, `route_localnet`), and
//!   farmhand's link tasks between the two devices;
//! - nf_tables table `ip farmhand_N` ([`nat`]): masquerade out, the host side's address to
//!   the host's 127.0.0.1, each private name's address to its service.
//!
//! Removed when the job ends, and at start-up when a crash left them (their slot's lock
//! is free). Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for `setns`), `ip` and `nft`;
//! without them [`Support::probe`] says why, and a job that needs its own network fails
//! with that reason rather than running unshaped.
//! IPv4 only: the namespace has no IPv6 route, so a job's IPv6 traffic does not leave it.

mod aliases;
mod command;
mod dns;
pub(crate) use command::tool;
mod link;
mod nat;
mod slot;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use domain::network::{JobNetwork, LinkShape};
use tokio::task::JoinHandle;

pub use aliases::HOST_NAME;
use command::run;
use slot::{Names, Slot, SLOTS};

/// Whether this host can give jobs networks of their own, and if not why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Available,
    Unavailable(String),
}

impl Support {
    pub fn probe() -> Support {
        if !rustix::process::geteuid().is_root() {
            return Support::Unavailable("farmhand is not running as root".into());
        }
        for (tool, package) in [("ip", "iproute2"), ("nft", "nftables")] {
            if command::tool(tool).is_none() {
                return Support::Unavailable(format!("`{tool}` is not installed (Debian package {package})"));
            }
        }
        if !std::path::Path::new("/dev/net/tun").exists() {
            return Support::Unavailable("/dev/net/tun is missing".into());
        }
        Support::Available
    }

    /// The start-up line about network profiles on host devices.
    pub fn describe(&self) -> String {
        match self {
            Support::Available => {
                "network profiles on host devices: applied, each job in a network namespace of its own; \
                bandwidth, delay, jitter and loss by farmhand's userspace link (TUN), not tc netem"
                    .to_string()
            }
            Support::Unavailable(why) => {
                format!("network profiles on host devices: NOT applied ({why}); jobs that need one fail")
            }
        }
    }
}

/// A job's network, set up. [`JobNet::remove`] takes it down; dropping it does too, blocking.
pub struct JobNet {
    names: Names,
    links: Vec<JoinHandle<()>>,
    slot: Option<Slot>,
}

impl JobNet {
    /// Sets up the network `network` describes.
    pub async fn apply(network: &JobNetwork) -> Result<JobNet, String> {
        if let Support::Unavailable(why) = Support::probe() {
            return Err(why);
        }
        let slot =
            tokio::task::spawn_blocking(Slot::take).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        let names = slot.names();
        let mut net = JobNet { names: names.clone(), links: Vec::new(), slot: Some(slot) };
        // A crashed job's leftovers under this slot (its lock was free).
        let stale = names.clone();
        let _ = tokio::task::spawn_blocking(move || clean(&stale)).await;
        if let Err(e) = net.build(network).await {
            net.remove().await;
            return Err(e);
        }
        Ok(net)
    }

    async fn build(&mut self, network: &JobNetwork) -> Result<(), String> {
        let names = self.names.clone();
        let forwards = aliases::resolve(&network.aliases, &names).await?;
        let host_hosts = tokio::fs::read_to_string("/etc/hosts").await.unwrap_or_default();
        let hosts = aliases::hosts_file(&host_hosts, &names, &forwards);
        let etc = etc_dir(&names);
        tokio::fs::create_dir_all(&etc).await.map_err(|e| format!("creating {}: {e}", etc.display()))?;
        tokio::fs::write(etc.join("hosts"), hosts).await.map_err(|e| format!("writing the job's hosts file: {e}"))?;
        let host_resolv = tokio::fs::read_to_string("/etc/resolv.conf").await.unwrap_or_default();
        let resolver = dns::loopback_resolver(&host_resolv);
        if resolver.is_some() {
            let resolv = dns::resolv_conf(&host_resolv, &names);
            tokio::fs::write(etc.join("resolv.conf"), resolv)
                .await
                .map_err(|e| format!("writing the job's resolv.conf: {e}"))?;
        }

        let inner = open_tun(&names.inner_tun)?;
        let outer = open_tun(&names.outer_tun)?;
        let ruleset = nat::ruleset(&names, &forwards, resolver);
        let setup = names.clone();
        tokio::task::spawn_blocking(move || plumb(&setup, &ruleset)).await.map_err(|e| e.to_string())??;

        let profile = network.profile.as_ref();
        let uplink = profile.map_or(LinkShape::UNSHAPED, |p| p.uplink);
        let downlink = profile.map_or(LinkShape::UNSHAPED, |p| p.downlink);
        self.links.extend(link::spawn(inner.clone(), outer.clone(), uplink));
        self.links.extend(link::spawn(outer, inner, downlink));
        Ok(())
    }

    /// The namespace the job's processes run in (`ip netns exec` it).
    pub fn namespace(&self) -> &str {
        &self.names.namespace
    }

    /// Takes the network down: links, devices, namespace, rules, hosts file.
    pub async fn remove(mut self) {
        for link in self.links.drain(..) {
            link.abort();
            // Waiting lets the task drop its TUN devices before their links are deleted.
            let _ = link.await;
        }
        let names = self.names.clone();
        let slot = self.slot.take();
        let _ = tokio::task::spawn_blocking(move || {
            clean(&names);
            drop(slot);
        })
        .await;
    }
}

impl Drop for JobNet {
    fn drop(&mut self) {
        for link in &self.links {
            link.abort();
        }
        if self.slot.is_some() {
            clean(&self.names);
        }
    }
}

fn etc_dir(names: &Names) -> PathBuf {
    PathBuf::from("/etc/netns").join(&names.namespace)
}

fn open_tun(name: &str) -> Result<Arc<tun::AsyncDevice>, String> {
    let mut config = tun::Configuration::default();
    config.tun_name(name);
    tun::create_as_async(&config).map(Arc::new).map_err(|e| format!("creating the TUN device {name}: {e}"))
}

/// Namespace, addresses, routes and NAT, once both TUN devices exist (on the host).
fn plumb(names: &Names, ruleset: &str) -> Result<(), String> {
    let Names { namespace: ns, inner_tun, outer_tun, host_address, job_address, .. } = names;
    let (host, job) = (host_address.to_string(), job_address.to_string());
    run("ip", &["netns", "add", ns], None)?;
    run("ip", &["link", "set", inner_tun, "netns", ns], None)?;
    run("ip", &["-n", ns, "link", "set", "lo", "up"], None)?;
    run("ip", &["-n", ns, "addr", "add", &job, "peer", &host, "dev", inner_tun], None)?;
    run("ip", &["-n", ns, "link", "set", inner_tun, "up"], None)?;
    run("ip", &["-n", ns, "route", "add", "default", "dev", inner_tun], None)?;
    // Packets DNATed to 127.0.0.1 arrive on (and their replies leave by) the outer device,
    // which the kernel refuses as martians unless route_localnet allows it there.
    write_sysctl(&format!("net/ipv4/conf/{outer_tun}/route_localnet"))?;
    // The job's traffic to the network is forwarded by the host (a host-wide switch, which
    // every NAT setup such as Docker's turns on too).
    write_sysctl("net/ipv4/ip_forward")?;
    run("ip", &["addr", "add", &host, "peer", &job, "dev", outer_tun], None)?;
    run("ip", &["link", "set", outer_tun, "up"], None)?;
    run("nft", &["-f", "-"], Some(ruleset))?;
    Ok(())
}

fn write_sysctl(key: &str) -> Result<(), String> {
    let path = format!("/proc/sys/{key}");
    std::fs::write(&path, "1").map_err(|e| format!("setting {path}: {e}"))
}

/// Removes whatever exists of slot `names`' network. Each piece may be missing.
fn clean(names: &Names) {
    let _ = run("nft", &["delete", "table", "ip", &names.table], None);
    let _ = run("ip", &["netns", "delete", &names.namespace], None);
    let _ = run("ip", &["link", "delete", &names.outer_tun], None);
    let _ = std::fs::remove_dir_all(etc_dir(names));
}

/// At start-up: removes the networks of jobs a crashed farmhand left (those whose slot no
/// live process holds). Returns how many.
pub fn sweep() -> usize {
    let mut found = std::collections::BTreeSet::new();
    if let Ok(text) = run("ip", &["netns", "list"], None) {
        found.extend(text.lines().filter_map(|l| l.split_whitespace().next()).filter_map(Names::slot_of));
    }
    if let Ok(text) = run("nft", &["list", "tables", "ip"], None) {
        found.extend(text.lines().filter_map(|l| l.split_whitespace().nth(2)).filter_map(Names::slot_of));
    }
    if let Ok(entries) = std::fs::read_dir("/etc/netns") {
        found.extend(entries.flatten().filter_map(|e| e.file_name().to_str().and_then(Names::slot_of)));
    }
    let mut removed = 0;
    for number in found.into_iter().filter(|n| *n < SLOTS) {
        if let Ok(Some(slot)) = Slot::try_take(number) {
            clean(&slot.names());
            removed += 1;
        }
    }
    removed
}
