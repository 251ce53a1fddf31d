//! The fleet as it is now: the fleet file's simulated devices and those of the device hosts
//! (`farmhand agent`, and the server's built-in one, which also offers the phones plugged
//! into this machine), each instance available only while its host answers. Readers take a snapshot
//! (`current`), so a request or a scheduler pass sees one consistent fleet even while a
//! phone is plugged in or a host comes and goes.

use domain::device::{Device, DeviceAvailability, Driver, Fleet, InstanceStatus};
use domain::host::HostedDevice;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

pub struct LiveFleet {
    base: Fleet,
    current: RwLock<Arc<Fleet>>,
    /// Each host's devices as it last declared them, and whether the host answers.
    hosts: RwLock<BTreeMap<String, HostDevices>>,
}

#[derive(Debug, Clone)]
struct HostDevices {
    /// What the host declared, before any device another host has was refused.
    declared: Vec<HostedDevice>,
    devices: Vec<HostedDevice>,
    alive: bool,
}

/// A device of a host that is not answering: listed (jobs and pools that name it keep
/// making sense) but not available to run anything.
fn unavailable(mut device: Device) -> Device {
    device.availability = DeviceAvailability::TemporaryNotAvailable;
    for instance in &mut device.instances {
        instance.status = InstanceStatus::NotAvailable;
    }
    device
}

impl LiveFleet {
    pub fn new(base: Fleet) -> LiveFleet {
        let current = RwLock::new(Arc::new(base.clone()));
        LiveFleet { base, current, hosts: RwLock::default() }
    }

    pub fn current(&self) -> Arc<Fleet> {
        self.current.read().map(|f| f.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Records what a host declared and whether it answers. Hosts may declare the same
    /// device (one model, instances spread over several machines); an instance another host
    /// or the fleet file already has is refused, with its whole device (returned), so one
    /// instance never has two hosts.
    pub fn set_host(&self, host: &str, devices: Vec<HostedDevice>, alive: bool) -> Vec<String> {
        let Ok(mut hosts) = self.hosts.write() else { return Vec::new() };
        let taken: std::collections::BTreeSet<String> = hosts
            .iter()
            .filter(|(name, _)| name.as_str() != host)
            .flat_map(|(_, h)| h.devices.iter().flat_map(|d| d.device.instances.iter().map(|i| i.arn.clone())))
            .chain(self.base.devices().iter().flat_map(|d| d.instances.iter().map(|i| i.arn.clone())))
            .collect();
        let declared = devices.clone();
        let (kept, refused): (Vec<HostedDevice>, Vec<HostedDevice>) =
            devices.into_iter().partition(|d| d.device.instances.iter().all(|i| !taken.contains(&i.arn)));
        hosts.insert(host.to_string(), HostDevices { declared, devices: kept, alive });
        drop(hosts);
        self.rebuild();
        refused.into_iter().map(|d| d.device.arn).collect()
    }

    /// Marks a host answering or not, keeping its devices.
    pub fn set_host_alive(&self, host: &str, alive: bool) {
        let changed = self
            .hosts
            .write()
            .map(|mut hosts| match hosts.get_mut(host) {
                Some(h) if h.alive != alive => {
                    h.alive = alive;
                    true
                }
                _ => false,
            })
            .unwrap_or(false);
        if changed {
            self.rebuild();
        }
    }

    /// Whether the host's devices are known here.
    /// The devices `host` last declared, if it is known.
    pub fn declared(&self, host: &str) -> Option<Vec<HostedDevice>> {
        self.hosts.read().ok()?.get(host).map(|h| h.declared.clone())
    }

    pub fn has_host(&self, host: &str) -> bool {
        self.hosts.read().map(|h| h.contains_key(host)).unwrap_or(false)
    }

    /// The host an instance is on, if it is a host's.
    pub fn host_of_instance(&self, instance_arn: &str) -> Option<String> {
        let hosts = self.hosts.read().ok()?;
        hosts
            .iter()
            .find(|(_, h)| h.devices.iter().any(|d| d.device.instances.iter().any(|i| i.arn == instance_arn)))
            .map(|(name, _)| name.clone())
    }

    fn rebuild(&self) {
        // One device per ARN: the first host's description, with every host's instances; an
        // instance of a silent host is unavailable, and so is a device with no other.
        let mut hosted: Vec<(Device, Driver)> = Vec::new();
        if let Ok(hosts) = self.hosts.read() {
            for h in hosts.values() {
                for d in &h.devices {
                    let device = if h.alive { d.device.clone() } else { unavailable(d.device.clone()) };
                    match hosted.iter_mut().find(|(known, _)| known.arn == device.arn) {
                        Some((known, _)) => known.instances.extend(device.instances),
                        None => hosted.push((device, d.driver)),
                    }
                }
            }
        }
        for (device, _) in &mut hosted {
            let usable = device.instances.iter().any(|i| i.status != InstanceStatus::NotAvailable);
            if usable && device.availability == DeviceAvailability::TemporaryNotAvailable {
                device.availability = DeviceAvailability::Available;
            } else if !usable {
                device.availability = DeviceAvailability::TemporaryNotAvailable;
            }
        }
        let fleet = self.base.with_devices(hosted);
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(fleet);
        }
    }
}

impl From<Fleet> for LiveFleet {
    fn from(fleet: Fleet) -> LiveFleet {
        LiveFleet::new(fleet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosted(id: &str) -> HostedDevice {
        let toml = format!(
            r#"[fleet]
type = "PRIVATE"
name = "lab"

[[device]]
id = "{id}"
name = "Host {id}"
manufacturer = "Google"
model = "Host {id}"
model_id = "HOST"
form_factor = "PHONE"
platform = "ANDROID"
os = "14"
cpu = {{ frequency = "MHz", architecture = "arm64-v8a", clock = 2850.0 }}
resolution = {{ width = 1080, height = 2400 }}
heap_size = 536870912
memory = 128000000000
image = "img"
radio = "WiFi"
remote_access_enabled = false
availability = "AVAILABLE"
driver = "host"

[[device.instance]]
udid = "{id}-1"
"#
        );
        let fleet = Fleet::from_toml(&toml, "us-west-2").expect("fleet");
        HostedDevice { device: fleet.devices()[0].clone(), driver: Driver::Host }
    }

    #[test]
    fn a_host_is_known_by_what_it_declared_even_when_a_device_was_refused() {
        let live = LiveFleet::new(Fleet::demo("us-west-2"));
        assert_eq!(live.declared("lab-1"), None);
        live.set_host("lab-1", Vec::new(), false);
        assert_eq!(live.declared("lab-1"), Some(Vec::new()));
        let device = hosted("bench-1");
        live.set_host("lab-2", vec![device.clone()], true);
        assert_eq!(live.set_host("lab-1", vec![device.clone()], true), vec![device.device.arn.clone()]);
        assert_eq!(live.declared("lab-1"), Some(vec![device]));
    }

    #[test]
    fn a_hosts_devices_are_available_only_while_it_answers() {
        let live = LiveFleet::new(Fleet::demo("us-west-2"));
        let base = live.current().len();
        let device = hosted("bench-1");
        assert!(live.set_host("lab-1", vec![device.clone()], true).is_empty());
        let fleet = live.current();
        assert_eq!(fleet.len(), base + 1);
        assert_eq!(fleet.driver(&device.device.arn), Driver::Host);
        assert_ne!(
            fleet.device(&device.device.arn).map(|d| d.availability),
            Some(DeviceAvailability::TemporaryNotAvailable)
        );
        let instance = device.device.instances[0].arn.clone();
        assert_eq!(live.host_of_instance(&instance).as_deref(), Some("lab-1"));

        live.set_host_alive("lab-1", false);
        let shown = live.current().device(&device.device.arn).cloned().expect("still listed");
        assert_eq!(shown.availability, DeviceAvailability::TemporaryNotAvailable);
        assert!(shown.instances.iter().all(|i| i.status == InstanceStatus::NotAvailable));
    }

    #[test]
    fn an_instance_cannot_belong_to_two_hosts_but_a_device_model_can() {
        let live = LiveFleet::new(Fleet::demo("us-west-2"));
        let device = hosted("shared");
        live.set_host("lab-1", vec![device.clone()], true);
        assert_eq!(live.set_host("lab-2", vec![device.clone(), hosted("own")], true), vec![device.device.arn.clone()]);
        let instance = |d: &HostedDevice| d.device.instances[0].arn.clone();
        assert_eq!(live.host_of_instance(&instance(&device)).as_deref(), Some("lab-1"));
        assert_eq!(live.host_of_instance(&instance(&hosted("own"))).as_deref(), Some("lab-2"));

        // The same model with an instance of its own on a third host: one device, two
        // instances, and it stays available while either host answers.
        let mut more = device.clone();
        more.device.instances[0].arn = format!("{}-more", instance(&device));
        more.device.instances[0].udid = "shared-2".into();
        assert!(live.set_host("lab-3", vec![more.clone()], true).is_empty());
        let merged = live.current().device(&device.device.arn).cloned().expect("listed once");
        assert_eq!(merged.instances.len(), 2);
        assert_eq!(live.host_of_instance(&instance(&more)).as_deref(), Some("lab-3"));
        live.set_host_alive("lab-1", false);
        let merged = live.current().device(&device.device.arn).cloned().expect("listed");
        assert_ne!(merged.availability, DeviceAvailability::TemporaryNotAvailable, "lab-3's instance still runs jobs");
        assert_eq!(merged.instances.iter().filter(|i| i.status == InstanceStatus::NotAvailable).count(), 1);
        live.set_host_alive("lab-3", false);
        let merged = live.current().device(&device.device.arn).cloned().expect("listed");
        assert_eq!(merged.availability, DeviceAvailability::TemporaryNotAvailable);
    }
}
