//! Network profiles (CreateNetworkProfile and AWS's curated set): their stored form, the
//! ranges the model's documentation gives each member, and the curated profiles every
//! project lists. A run copies its profile into [`crate::network::NetworkShape`] when it
//! is scheduled, so nothing here is read by a device host.

use crate::network::{LinkShape, NetworkShape};
use serde::{Deserialize, Serialize};

/// The model documents `*BandwidthBits` as 0 to 104857600 bit/s.
pub const MAX_BANDWIDTH_BITS: i64 = 104_857_600;
/// The model documents `*DelayMs` and `*JitterMs` as 0 to 2000 ms.
pub const MAX_DELAY_MS: i64 = 2_000;
/// `*LossPercent` is a PercentInteger (0 to 100); the decoder already enforces it, the
/// check here keeps the domain type honest when built from elsewhere.
pub const MAX_LOSS_PERCENT: i32 = 100;

/// A private (account-owned, project-scoped) network profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkProfile {
    pub name: String,
    pub description: Option<String>,
    pub uplink: LinkShape,
    pub downlink: LinkShape,
}

/// One direction's members as a request gives them: `None` keeps what is there (the
/// model's default on create, the stored value on update).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkChange {
    pub bandwidth_bits: Option<i64>,
    pub delay_ms: Option<i64>,
    pub jitter_ms: Option<i64>,
    pub loss_percent: Option<i32>,
}

impl LinkChange {
    pub fn apply(&self, link: &mut LinkShape) {
        if let Some(v) = self.bandwidth_bits {
            link.bandwidth_bits = v;
        }
        if let Some(v) = self.delay_ms {
            link.delay_ms = v;
        }
        if let Some(v) = self.jitter_ms {
            link.jitter_ms = v;
        }
        if let Some(v) = self.loss_percent {
            link.loss_percent = v;
        }
    }
}

/// Checks one direction against the model's documented ranges; `direction` is the
/// member prefix (`uplink` / `downlink`) so the message names the member the caller sent.
pub fn check_link(direction: &str, link: &LinkShape) -> Result<(), String> {
    let out_of_range = |member: &str, value: i64, max: i64| {
        format!("{direction}{member} must be an integer from 0 to {max}; got {value}")
    };
    if !(0..=MAX_BANDWIDTH_BITS).contains(&link.bandwidth_bits) {
        return Err(out_of_range("BandwidthBits", link.bandwidth_bits, MAX_BANDWIDTH_BITS));
    }
    if !(0..=MAX_DELAY_MS).contains(&link.delay_ms) {
        return Err(out_of_range("DelayMs", link.delay_ms, MAX_DELAY_MS));
    }
    if !(0..=MAX_DELAY_MS).contains(&link.jitter_ms) {
        return Err(out_of_range("JitterMs", link.jitter_ms, MAX_DELAY_MS));
    }
    if !(0..=MAX_LOSS_PERCENT).contains(&link.loss_percent) {
        return Err(out_of_range("LossPercent", link.loss_percent.into(), MAX_LOSS_PERCENT.into()));
    }
    Ok(())
}

impl NetworkProfile {
    /// Every rule a stored profile obeys: a name to find it by (the GitHub Action looks
    /// profiles up by name, so an empty one could never be chosen) and both directions in
    /// range.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("A network profile needs a non-empty name".to_string());
        }
        check_link("uplink", &self.uplink)?;
        check_link("downlink", &self.downlink)
    }

    /// The copy a run keeps (a later update or delete does not reach it).
    pub fn to_shape(&self, arn: &str, curated: bool) -> NetworkShape {
        NetworkShape {
            arn: arn.to_string(),
            name: self.name.clone(),
            description: self.description.clone(),
            curated,
            uplink: self.uplink,
            downlink: self.downlink,
        }
    }
}

/// A curated profile: (name, description, uplink, downlink), directions as
/// (bandwidth bit/s, delay ms, jitter ms, loss %).
type Curated = (&'static str, &'static str, (i64, i64, i64, i32), (i64, i64, i64, i32));

/// AWS's curated set by name (docs/curated-identifiers.md, "Network profiles", has the
/// evidence). AWS publishes the names, not the values: the values are ours, chosen as
/// typical for each network, except "Full" (the model's defaults: no shaping) and
/// "Disabled" (no traffic at all).
const CURATED: [Curated; 13] = [
    ("Full", "Unshaped: the device's full connection", (104_857_600, 0, 0, 0), (104_857_600, 0, 0, 0)),
    ("Disabled", "No connectivity: every packet is lost", (0, 0, 0, 100), (0, 0, 0, 100)),
    ("GPRS", "2G GPRS", (20_000, 500, 100, 0), (80_000, 500, 100, 0)),
    ("EDGE Good", "2.5G EDGE, good signal", (150_000, 300, 20, 0), (250_000, 300, 20, 0)),
    ("EDGE Average", "2.5G EDGE, average signal", (100_000, 400, 50, 0), (200_000, 400, 50, 0)),
    ("EDGE Lossy", "2.5G EDGE, poor signal with packet loss", (80_000, 500, 100, 2), (150_000, 500, 100, 2)),
    ("3G Good", "3G UMTS, good signal", (750_000, 100, 10, 0), (1_500_000, 100, 10, 0)),
    ("3G Average", "3G UMTS, average signal", (330_000, 100, 30, 0), (780_000, 100, 30, 0)),
    ("3G Lossy", "3G UMTS, poor signal with packet loss", (330_000, 200, 50, 2), (780_000, 200, 50, 2)),
    ("HSDPA", "3.5G HSDPA", (384_000, 80, 10, 0), (2_000_000, 80, 10, 0)),
    ("WiFi Good", "Wi-Fi, good signal", (33_000_000, 5, 1, 0), (40_000_000, 5, 1, 0)),
    ("WiFi Average", "Wi-Fi, average signal", (10_000_000, 20, 5, 0), (20_000_000, 20, 5, 0)),
    ("WiFi Lossy", "Wi-Fi, poor signal with packet loss", (5_000_000, 40, 10, 2), (10_000_000, 40, 10, 2)),
];

fn link((bandwidth_bits, delay_ms, jitter_ms, loss_percent): (i64, i64, i64, i32)) -> LinkShape {
    LinkShape { bandwidth_bits, delay_ms, jitter_ms, loss_percent }
}

/// The curated profiles with their account-less ARNs in `region`, in the order
/// ListNetworkProfiles gives them.
pub fn curated_profiles(region: &str) -> Vec<(String, NetworkProfile)> {
    CURATED
        .iter()
        .map(|&(name, description, up, down)| {
            let profile = NetworkProfile {
                name: name.to_string(),
                description: Some(description.to_string()),
                uplink: link(up),
                downlink: link(down),
            };
            (crate::device::ids::curated_network_profile_arn(region, name), profile)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> NetworkProfile {
        NetworkProfile {
            name: "slow".into(),
            description: None,
            uplink: LinkShape::UNSHAPED,
            downlink: LinkShape::UNSHAPED,
        }
    }

    #[test]
    fn the_model_ranges_are_inclusive_and_enforced_per_member() {
        assert!(profile().check().is_ok());
        let edge = LinkShape { bandwidth_bits: MAX_BANDWIDTH_BITS, delay_ms: 2000, jitter_ms: 2000, loss_percent: 100 };
        assert!(check_link("uplink", &edge).is_ok());
        assert!(
            check_link("uplink", &LinkShape { bandwidth_bits: 0, delay_ms: 0, jitter_ms: 0, loss_percent: 0 }).is_ok()
        );
        let cases = [
            (LinkShape { bandwidth_bits: MAX_BANDWIDTH_BITS + 1, ..edge }, "uplinkBandwidthBits"),
            (LinkShape { bandwidth_bits: -1, ..edge }, "uplinkBandwidthBits"),
            (LinkShape { delay_ms: 2001, ..edge }, "uplinkDelayMs"),
            (LinkShape { delay_ms: -5, ..edge }, "uplinkDelayMs"),
            (LinkShape { jitter_ms: 2001, ..edge }, "uplinkJitterMs"),
            (LinkShape { loss_percent: 101, ..edge }, "uplinkLossPercent"),
        ];
        for (link, member) in cases {
            let err = check_link("uplink", &link).expect_err(member);
            assert!(err.starts_with(member), "{err}");
        }
        let mut bad = profile();
        bad.downlink.jitter_ms = 3000;
        assert!(bad.check().expect_err("downlink").starts_with("downlinkJitterMs"));
    }

    #[test]
    fn a_profile_needs_a_name() {
        let mut p = profile();
        p.name = "  ".into();
        assert!(p.check().is_err());
    }

    #[test]
    fn a_change_touches_only_the_members_given() {
        let mut link = LinkShape::UNSHAPED;
        LinkChange { delay_ms: Some(150), loss_percent: Some(3), ..Default::default() }.apply(&mut link);
        assert_eq!(link, LinkShape { delay_ms: 150, loss_percent: 3, ..LinkShape::UNSHAPED });
    }

    #[test]
    fn the_curated_set_is_valid_unique_and_has_full_unshaped() {
        let curated: Vec<NetworkProfile> = curated_profiles("us-west-2").into_iter().map(|(_, p)| p).collect();
        let mut names: Vec<&str> = curated.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), curated.len());
        let mut arns: Vec<String> = curated_profiles("us-west-2").into_iter().map(|(a, _)| a).collect();
        arns.dedup();
        assert_eq!(arns.len(), curated.len());
        for p in &curated {
            p.check().unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        let full = curated.iter().find(|p| p.name == "Full").expect("Full");
        assert_eq!((full.uplink, full.downlink), (LinkShape::UNSHAPED, LinkShape::UNSHAPED));
        let disabled = curated.iter().find(|p| p.name == "Disabled").expect("Disabled");
        assert_eq!(disabled.downlink.loss_percent, 100);
    }

    #[test]
    fn a_run_keeps_every_member() {
        let p = NetworkProfile { description: Some("d".into()), ..profile() };
        let shape = p.to_shape("arn:x", false);
        assert_eq!(
            (shape.arn.as_str(), shape.name.as_str(), shape.description.as_deref()),
            ("arn:x", "slow", Some("d"))
        );
        assert!(!shape.curated);
        assert_eq!(shape.uplink, p.uplink);
    }
}
