//! Curated device pools: the pools farmhand itself offers in every project
//! (`type` CURATED), as AWS offers "Top Devices".
//!
//! farmhand offers just "Top Devices", like AWS; users make other pools with
//! CreateDevicePool. Its rule is an `ARN IN [...]` list, the form AWS's own example
//! shows, holding the newest devices of the fleet: per platform, the
//! [`TOP_PER_PLATFORM`] devices with the highest OS version (ties: most available,
//! then by name). A platform the fleet lacks contributes nothing; a fleet with no
//! devices has no curated pool. The ARN is account-less
//! (`arn:aws:devicefarm:REGION::devicepool:UUID`) with AWS's own id for "Top Devices"
//! ([`TOP_DEVICES_ID`]), because public scripts hard-code it (docs/curated-identifiers.md).

use std::cmp::Reverse;

use super::attribute::{DeviceAttribute, RuleOperator};
use super::enums::DevicePlatform;
use super::fleet::Fleet;
use super::ids;
use super::model::Device;
use super::rule::Rule;

/// The name of the curated pool of the fleet's newest devices.
pub const TOP_DEVICES: &str = "Top Devices";

/// AWS's id of its "Top Devices" pool, the same in every region.
pub const TOP_DEVICES_ID: &str = "082d10e5-d7d7-48a5-ba5c-b33d66efa1f5";

/// How many devices of each platform "Top Devices" holds, at most.
pub const TOP_PER_PLATFORM: usize = 5;

/// A pool defined by farmhand rather than by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuratedPool {
    pub arn: String,
    pub name: String,
    pub description: String,
    pub rules: Vec<Rule>,
    pub max_devices: Option<u32>,
}

/// The curated pools of `fleet`, ARNs in the fleet's region.
pub fn curated_pools(fleet: &Fleet) -> Vec<CuratedPool> {
    let top: Vec<&str> = DevicePlatform::ALL
        .iter()
        .flat_map(|platform| newest(fleet.devices(), *platform))
        .map(|d| d.arn.as_str())
        .collect();
    if top.is_empty() {
        return Vec::new();
    }
    vec![CuratedPool {
        arn: ids::curated_pool_arn(fleet.region(), TOP_DEVICES_ID),
        name: TOP_DEVICES.to_owned(),
        description: "Top devices".to_owned(),
        rules: vec![Rule::encoded(DeviceAttribute::Arn, RuleOperator::In, &top)],
        max_devices: None,
    }]
}

fn newest(devices: &[Device], platform: DevicePlatform) -> Vec<&Device> {
    let mut of_platform: Vec<&Device> = devices.iter().filter(|d| d.platform == platform).collect();
    of_platform.sort_by(|a, b| {
        (Reverse(&a.os), Reverse(a.availability.preference()), &a.name).cmp(&(
            Reverse(&b.os),
            Reverse(b.availability.preference()),
            &b.name,
        ))
    });
    of_platform.truncate(TOP_PER_PLATFORM);
    of_platform
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::selection::select_by_rules;

    #[test]
    fn top_devices_holds_the_newest_of_each_platform() {
        let fleet = Fleet::demo("us-west-2");
        let pools = curated_pools(&fleet);
        assert_eq!(pools.len(), 1);
        let top = &pools[0];
        assert_eq!(top.name, "Top Devices");
        assert_eq!(top.arn, "arn:aws:devicefarm:us-west-2::devicepool:082d10e5-d7d7-48a5-ba5c-b33d66efa1f5");
        assert!(top.rules.iter().all(|r| r.validate().is_ok()));

        let members = select_by_rules(fleet.devices(), &top.rules, None);
        assert_eq!(members.len(), 2 * TOP_PER_PLATFORM);
        for platform in DevicePlatform::ALL {
            let in_pool: Vec<_> = members.iter().filter(|d| d.platform == *platform).collect();
            assert_eq!(in_pool.len(), TOP_PER_PLATFORM);
            let oldest_in_pool = in_pool.iter().map(|d| &d.os).min().expect("non-empty");
            // No device left out of the pool is newer than one in it.
            for d in fleet.devices().iter().filter(|d| d.platform == *platform) {
                if !members.iter().any(|m| m.arn == d.arn) {
                    assert!(&d.os <= oldest_in_pool, "{} left out", d.name);
                }
            }
        }
    }

    #[test]
    fn pools_are_deterministic_and_regional() {
        let a = curated_pools(&Fleet::demo("us-west-2"));
        assert_eq!(a, curated_pools(&Fleet::demo("us-west-2")));
        let b = curated_pools(&Fleet::demo("eu-central-1"));
        assert_eq!(a[0].arn.rsplit(':').next(), b[0].arn.rsplit(':').next(), "same pool id in every region");
        assert!(b[0].rules[0].value.contains("arn:aws:devicefarm:eu-central-1::device:"));
    }
}
