//! A fleet device as it is right now: the fleet file says what a device is; which of its
//! instances are running jobs says whether it is BUSY and which instances are IN_USE.

use super::enums::{DeviceAvailability, InstanceStatus};
use super::model::Device;
use std::collections::BTreeSet;

/// `device` with its instances' status and its availability following `in_use` (the
/// instance ARNs that jobs hold now). A device the fleet marks TEMPORARY_NOT_AVAILABLE stays
/// so; one whose every usable instance is in use is BUSY.
pub fn live(device: &Device, in_use: &BTreeSet<String>) -> Device {
    let mut device = device.clone();
    for instance in &mut device.instances {
        if in_use.contains(&instance.arn) {
            instance.status = InstanceStatus::InUse;
        }
    }
    let usable = device.instances.iter().filter(|i| i.status != InstanceStatus::NotAvailable).count();
    let busy = device.instances.iter().filter(|i| i.status == InstanceStatus::InUse).count();
    if device.availability != DeviceAvailability::TemporaryNotAvailable && usable > 0 && busy == usable {
        device.availability = DeviceAvailability::Busy;
    }
    device
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Fleet;

    #[test]
    fn busy_when_every_instance_is_in_use() {
        let fleet = Fleet::demo("us-west-2");
        let device = fleet.devices().iter().find(|d| d.instances.len() == 2).expect("a two-unit model");
        let first: BTreeSet<String> = [device.instances[0].arn.clone()].into();
        let partly = live(device, &first);
        assert_eq!(partly.instances[0].status, InstanceStatus::InUse);
        assert_eq!(partly.instances[1].status, device.instances[1].status);
        assert_eq!(partly.availability, device.availability);
        let all: BTreeSet<String> = device.instances.iter().map(|i| i.arn.clone()).collect();
        assert_eq!(live(device, &all).availability, DeviceAvailability::Busy);
    }
}
