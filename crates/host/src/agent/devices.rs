//! A host's devices as they are now: those its fleet file declares (drivers `host` and
//! `adb`) and, with adb discovery, the Android phones attached to it. Device ARNs carry the
//! region, which the control plane tells the host when it connects.

use std::sync::Mutex;
use std::time::Duration;

use crate::adb::DeviceState;
use anyhow::{Context, Result};
use domain::device::{Driver, Fleet};
use domain::host::HostedDevice;

use super::AgentConfig;

/// How often attached Android devices are looked for.
pub const ADB_POLL: Duration = Duration::from_secs(2);

pub struct Devices {
    fleet_toml: Option<String>,
    fixed: Vec<HostedDevice>,
    region: Mutex<Option<String>>,
    phones: Mutex<Phones>,
}

/// Every phone seen usable since start, as last seen: one that went away (or stopped
/// answering) stays listed, unavailable, so jobs and pools that name it keep making sense.
#[derive(Default)]
struct Phones {
    seen: std::collections::BTreeMap<String, crate::adb::AttachedDevice>,
    /// Whether that changed since the control plane was last told.
    changed: bool,
}

impl Devices {
    /// `fixed`: devices given already built (the server's own, for its built-in agent).
    pub fn new(config: &AgentConfig, fixed: Vec<HostedDevice>) -> Result<Devices> {
        let fleet_toml = match &config.fleet {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                // Checked now so a bad file fails at start, not at the first connection.
                Fleet::from_toml(&text, "us-west-2").with_context(|| format!("fleet {}", path.display()))?;
                Some(text)
            }
            None => None,
        };
        Ok(Devices { fleet_toml, fixed, region: Mutex::default(), phones: Mutex::default() })
    }

    /// Every device of this host, with ARNs in `region`.
    pub fn all(&self, region: &str) -> Vec<HostedDevice> {
        if let Ok(mut r) = self.region.lock() {
            *r = Some(region.to_string());
        }
        let mut all: Vec<HostedDevice> = match self.fleet_toml.as_deref().map(|t| Fleet::from_toml(t, region)) {
            // A simulated device on a host is played by the host (see Driver::Scripted).
            Some(Ok(fleet)) => fleet
                .devices()
                .iter()
                .map(|d| {
                    let driver = match fleet.driver(&d.arn) {
                        Driver::Simulated => Driver::Scripted,
                        other => other,
                    };
                    HostedDevice { device: d.clone(), driver }
                })
                .collect(),
            _ => Vec::new(),
        };
        all.extend(self.fixed.iter().cloned());
        if let Ok(mut phones) = self.phones.lock() {
            phones.changed = false;
            all.extend(phones.seen.values().map(|d| HostedDevice {
                device: crate::adb::to_fleet_device(d, region, "USB", Vec::new(), None),
                driver: Driver::Adb,
            }));
        }
        all
    }

    /// The devices, if they changed since the control plane last heard of them.
    pub fn changed(&self) -> Option<Vec<HostedDevice>> {
        let changed = self.phones.lock().map(|p| p.changed).unwrap_or(false);
        let region = self.region.lock().ok().and_then(|r| r.clone())?;
        changed.then(|| self.all(&region))
    }

    /// Looks at `adb devices`; returns the serials that went away since the last look.
    pub async fn poll_adb(&self) -> Vec<String> {
        let adb = match crate::adb::Adb::from_path_env() {
            Ok(adb) => adb,
            Err(e) => {
                tracing::error!(error = %e, "adb discovery is on, but adb cannot be run");
                return Vec::new();
            }
        };
        let now = match adb.discover().await {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, "looking for attached Android devices failed");
                return Vec::new();
            }
        };
        let Ok(mut phones) = self.phones.lock() else { return Vec::new() };
        let usable: Vec<crate::adb::AttachedDevice> =
            now.into_iter().filter(|d| d.state == DeviceState::Device).collect();
        let mut gone = Vec::new();
        for (serial, phone) in phones.seen.iter_mut() {
            if phone.state == DeviceState::Device && !usable.iter().any(|d| d.serial == *serial) {
                phone.state = DeviceState::Offline;
                gone.push(serial.clone());
            }
        }
        for phone in usable {
            if phones.seen.get(&phone.serial) != Some(&phone) {
                phones.seen.insert(phone.serial.clone(), phone);
                phones.changed = true;
            }
        }
        if !gone.is_empty() {
            phones.changed = true;
        }
        gone
    }
}
