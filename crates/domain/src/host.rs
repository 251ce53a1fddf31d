//! Device hosts: machines that run `farmhand agent`, each with the real devices attached
//! to it, and the tokens they authenticate with.

use serde::{Deserialize, Serialize};

use crate::device::{Device, Driver};

/// A device host as the control plane knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Chosen when its token is made; names the host in logs, tokens and device ARNs.
    pub name: String,
    pub created_ms: i64,
    /// The last sign of life (connection or heartbeat), by the service clock.
    pub last_seen_ms: Option<i64>,
    /// The server replica holding its connection; None while it is disconnected.
    pub connected_to: Option<String>,
    /// The devices it declared when it last connected.
    pub devices: Vec<HostedDevice>,
}

/// A device on a host, and how the host drives it (`host` or `adb`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostedDevice {
    pub device: Device,
    pub driver: Driver,
}

impl Host {
    /// Whether the host has been silent for longer than `timeout_ms` at `now_ms`: its
    /// devices are unavailable and its running jobs are lost.
    pub fn is_lost(&self, now_ms: i64, timeout_ms: i64) -> bool {
        match self.last_seen_ms {
            Some(seen) => now_ms - seen > timeout_ms,
            None => true,
        }
    }
}

/// An agent token: it lets one host connect, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentToken {
    pub token_id: String,
    /// Hex SHA-256 of the token's secret part.
    pub secret_hash: String,
    pub host: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// Host names end up in device ARNs, logs and file names: keep them plain.
pub fn is_valid_host_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with(['-', '.'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_plain() {
        for good in ["lab-1", "rack3.usb-hub_2", "a"] {
            assert!(is_valid_host_name(good), "{good}");
        }
        for bad in ["", "-x", ".hidden", "a/b", "with space", &"x".repeat(65)] {
            assert!(!is_valid_host_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_host_is_lost_after_the_timeout_or_if_never_seen() {
        let host =
            Host { name: "h".into(), created_ms: 0, last_seen_ms: Some(1_000), connected_to: None, devices: vec![] };
        assert!(!host.is_lost(31_000, 30_000));
        assert!(host.is_lost(31_001, 30_000));
        assert!(Host { last_seen_ms: None, ..host }.is_lost(0, 30_000));
    }
}
