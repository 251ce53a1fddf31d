//! A device model of the fleet and its physical units, shaped like the service model's
//! `Device`, `DeviceInstance`, `InstanceProfile`, `CPU` and `Resolution`.
//!
//! Field names are the model's, in snake case. Every member the model lets AWS omit but
//! AWS always sends for a device is required here; `image`, `carrier` and `radio` are
//! optional because a fleet may not know them.

use serde::{Deserialize, Serialize};

use super::enums::{DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType, InstanceStatus};
use super::os_version::OsVersion;

/// `Device`: a device model that tests run against, with its physical instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// `arn:aws:devicefarm:REGION::device:` + 32 upper-case hex digits.
    pub arn: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub model_id: String,
    pub form_factor: DeviceFormFactor,
    pub platform: DevicePlatform,
    /// The model calls this `os`: the OS version, e.g. "14" or "17.4.1".
    pub os: OsVersion,
    pub cpu: Cpu,
    pub resolution: Resolution,
    /// Bytes.
    pub heap_size: u64,
    /// Bytes of total storage (AWS reports e.g. 128000000000 for a 128 GB phone).
    pub memory: u64,
    pub image: Option<String>,
    pub carrier: Option<String>,
    pub radio: Option<String>,
    pub remote_access_enabled: bool,
    /// Deprecated by AWS; kept because the wire still carries it. Filters on it match
    /// every device, as AWS documents.
    pub remote_debug_enabled: bool,
    pub fleet_type: FleetType,
    pub fleet_name: String,
    pub instances: Vec<DeviceInstance>,
    pub availability: DeviceAvailability,
}

impl Device {
    /// The instance with this ARN, if it belongs to this device.
    pub fn instance(&self, instance_arn: &str) -> Option<&DeviceInstance> {
        self.instances.iter().find(|i| i.arn == instance_arn)
    }
}

/// `CPU`. AWS returns `frequency` as the unit of `clock` ("MHz", with `clock` e.g.
/// 2265.6), despite the model's prose saying Hz; farmhand's demo fleet does the same,
/// and a fleet file may use whatever its devices report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpu {
    pub frequency: String,
    pub architecture: String,
    pub clock: f64,
}

/// `Resolution`, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
}

/// `DeviceInstance`: one physical unit of a device model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInstance {
    /// `arn:aws:devicefarm:REGION::deviceinstance:UUID`.
    pub arn: String,
    pub device_arn: String,
    pub labels: Vec<String>,
    pub status: InstanceStatus,
    pub udid: String,
    pub instance_profile: Option<InstanceProfile>,
}

/// `InstanceProfile`: what happens to a private instance between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub arn: String,
    pub package_cleanup: bool,
    pub exclude_app_packages_from_cleanup: Vec<String>,
    pub reboot_after_use: bool,
    pub name: String,
    pub description: Option<String>,
}
