//! The fleet as it is now: the fleet file's devices plus those found while farmhand runs
//! (Android phones plugged into the host). Readers take a snapshot (`current`), so a
//! request or a scheduler pass sees one consistent fleet even while a phone is plugged in.

use domain::device::{Device, DeviceAvailability, Driver, Fleet, InstanceStatus};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

pub struct LiveFleet {
    base: Fleet,
    current: RwLock<Arc<Fleet>>,
    /// Every device discovered so far, by ARN; a device that goes away stays, shown
    /// TEMPORARY_NOT_AVAILABLE, so jobs and pools that name it keep making sense.
    discovered: RwLock<BTreeMap<String, Device>>,
}

impl LiveFleet {
    pub fn new(base: Fleet) -> LiveFleet {
        let current = RwLock::new(Arc::new(base.clone()));
        LiveFleet { base, current, discovered: RwLock::default() }
    }

    pub fn current(&self) -> Arc<Fleet> {
        self.current.read().map(|f| f.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Replaces what discovery found: `attached` are the devices present now; devices seen
    /// before and absent now become unavailable. Returns the serials that just went away.
    pub fn set_attached(&self, attached: Vec<Device>) -> Vec<String> {
        let Ok(mut discovered) = self.discovered.write() else { return Vec::new() };
        let was_present: Vec<String> = discovered
            .values()
            .filter(|d| d.availability != DeviceAvailability::TemporaryNotAvailable)
            .flat_map(|d| d.instances.iter().map(|i| i.udid.clone()))
            .collect();
        let present: Vec<String> = attached.iter().map(|d| d.arn.clone()).collect();
        for device in attached {
            discovered.insert(device.arn.clone(), device);
        }
        for (arn, device) in discovered.iter_mut() {
            if !present.contains(arn) {
                device.availability = DeviceAvailability::TemporaryNotAvailable;
                for instance in &mut device.instances {
                    instance.status = InstanceStatus::NotAvailable;
                }
            }
        }
        let gone: Vec<String> = discovered
            .values()
            .filter(|d| d.availability == DeviceAvailability::TemporaryNotAvailable)
            .flat_map(|d| d.instances.iter().map(|i| i.udid.clone()))
            .filter(|udid| was_present.contains(udid))
            .collect();
        let fleet = self.base.with_devices(discovered.values().cloned().map(|d| (d, Driver::Adb)).collect());
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(fleet);
        }
        gone
    }
}

impl From<Fleet> for LiveFleet {
    fn from(fleet: Fleet) -> LiveFleet {
        LiveFleet::new(fleet)
    }
}
