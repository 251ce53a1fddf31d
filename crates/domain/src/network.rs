//! A job's network, as the run fixed it at ScheduleRun and as a device host applies it:
//! the shaping of the run's network profile and the names its VPC endpoint configurations
//! give private services. The control plane resolves both from the account's records; the
//! host only reads this, so an agent never needs the store.

use serde::{Deserialize, Serialize};

/// One direction of a link, in the model's units (NetworkProfile's `*BandwidthBits`,
/// `*DelayMs`, `*JitterMs`, `*LossPercent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkShape {
    /// Bits per second, 0 to 104857600 (the model's range; its default is the maximum).
    pub bandwidth_bits: i64,
    pub delay_ms: i64,
    pub jitter_ms: i64,
    /// 0 to 100.
    pub loss_percent: i32,
}

impl LinkShape {
    /// The model's default for a member a profile leaves out: 104857600 bit/s, no delay,
    /// no jitter, no loss.
    pub const UNSHAPED: LinkShape =
        LinkShape { bandwidth_bits: 104_857_600, delay_ms: 0, jitter_ms: 0, loss_percent: 0 };
}

/// The network profile a run was scheduled with, as it was then (a later UpdateNetworkProfile
/// or DeleteNetworkProfile does not change a run already scheduled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkShape {
    pub arn: String,
    pub name: String,
    /// Kept so GetRun can return the whole NetworkProfile the run was scheduled with.
    #[serde(default)]
    pub description: Option<String>,
    /// A curated profile (type CURATED) rather than one of the account's (PRIVATE).
    #[serde(default)]
    pub curated: bool,
    /// Device → network.
    pub uplink: LinkShape,
    /// Network → device.
    pub downlink: LinkShape,
}

/// A private service a VPC endpoint configuration names: inside a host job's network,
/// `dns_name` (the configuration's `serviceDnsName`) reaches `target` (its
/// `vpceServiceName`, when that is an address: `host` or `host:port`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAlias {
    pub dns_name: String,
    pub target: String,
}

/// Everything about the network a job's processes run in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobNetwork {
    /// `None`: the run named no profile; the job's traffic is not shaped.
    pub profile: Option<NetworkShape>,
    pub aliases: Vec<ServiceAlias>,
}

impl JobNetwork {
    /// Whether the job needs a network of its own at all.
    pub fn is_default(&self) -> bool {
        self.profile.is_none() && self.aliases.is_empty()
    }
}
