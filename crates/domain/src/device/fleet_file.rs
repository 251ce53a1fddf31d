//! The fleet file: its TOML schema and its checked conversion into [`Device`]s.
//!
//! Every device field is optional in the schema and checked here, so that a mistake is
//! reported with the device's `id` and the field's name rather than as a bare serde
//! message. Unknown keys are rejected, to catch typos.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::driver::Driver;
use super::enums::{DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType, InstanceStatus};
use super::ids;
use super::model::{Cpu, Device, DeviceInstance, InstanceProfile, Resolution};
use super::os_version::OsVersion;

/// Why a fleet file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetError {
    #[error("fleet file: {0}")]
    Syntax(String),
    #[error("fleet file: `[fleet]` field `{field}`: {reason}")]
    InvalidFleetField { field: &'static str, reason: String },
    #[error("fleet file defines no devices; add at least one [[device]] (or [[browser]])")]
    NoDevices,
    #[error("device {device}: missing field `{field}`")]
    MissingField { device: String, field: String },
    #[error("device {device}: field `{field}`: {reason}")]
    InvalidField { device: String, field: String, reason: String },
    #[error("device {device} is defined more than once")]
    DuplicateDevice { device: String },
    #[error("devices {first} and {second} have the same ARN {arn}")]
    DuplicateArn { first: String, second: String, arn: String },
    #[error("device {device} has no instances; add at least one [[device.instance]] with a udid")]
    NoInstances { device: String },
    #[error("device {device}: udid `{udid}` is already used by device {other}")]
    DuplicateUdid { device: String, udid: String, other: String },
    #[error(
        "device {device}: instance {index} names instance profile `{profile}`, which no [[instance_profile]] defines"
    )]
    UnknownProfile { device: String, index: usize, profile: String },
    #[error("instance profile {profile}: {reason}")]
    InvalidProfile { profile: String, reason: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    #[serde(default)]
    fleet: FleetSection,
    #[serde(default)]
    instance_profile: Vec<ProfileSpec>,
    #[serde(default)]
    device: Vec<DeviceSpec>,
    /// Desktop browsers this host offers TestGrid sessions on.
    #[serde(default)]
    browser: Vec<crate::testgrid::BrowserDeclaration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetSection {
    #[serde(rename = "type")]
    fleet_type: Option<String>,
    name: Option<String>,
    account: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    id: String,
    name: String,
    description: Option<String>,
    #[serde(default)]
    package_cleanup: bool,
    #[serde(default)]
    exclude_app_packages_from_cleanup: Vec<String>,
    /// AWS documents `true` as the default.
    #[serde(default = "default_true")]
    reboot_after_use: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceSpec {
    id: Option<String>,
    arn_id: Option<String>,
    name: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    model_id: Option<String>,
    form_factor: Option<String>,
    platform: Option<String>,
    os: Option<String>,
    cpu: Option<Cpu>,
    resolution: Option<Resolution>,
    heap_size: Option<u64>,
    memory: Option<u64>,
    image: Option<String>,
    carrier: Option<String>,
    radio: Option<String>,
    remote_access_enabled: Option<bool>,
    remote_debug_enabled: Option<bool>,
    availability: Option<String>,
    fleet_type: Option<String>,
    fleet_name: Option<String>,
    /// `simulated` (default), `host` or `adb`: see [`Driver`].
    driver: Option<String>,
    #[serde(default)]
    instance: Vec<InstanceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceSpec {
    udid: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    status: Option<String>,
    instance_profile: Option<String>,
}

/// Fleet-wide settings that devices inherit.
struct FleetDefaults {
    fleet_type: FleetType,
    name: String,
    account: Option<String>,
}

/// The model's `Name` shape allows at most 256 characters.
const MAX_NAME: usize = 256;

/// What a fleet file declares: devices with their drivers, and desktop browsers.
pub(super) type Parsed = (Vec<(Device, Driver)>, Vec<crate::testgrid::BrowserDeclaration>);

pub(super) fn parse(toml_text: &str, region: &str) -> Result<Parsed, FleetError> {
    let file: FleetFile = toml::from_str(toml_text).map_err(|e| FleetError::Syntax(e.to_string()))?;
    let defaults = fleet_defaults(file.fleet)?;
    let profiles = profiles(file.instance_profile, region, defaults.account.as_deref())?;
    if file.device.is_empty() && file.browser.is_empty() {
        return Err(FleetError::NoDevices);
    }

    let mut devices = Vec::with_capacity(file.device.len());
    let mut ids_seen = HashSet::new();
    let mut arns: HashMap<String, String> = HashMap::new();
    let mut udids: HashMap<String, String> = HashMap::new();
    for (index, spec) in file.device.into_iter().enumerate() {
        let label = device_label(spec.id.as_deref(), index);
        let driver = match &spec.driver {
            None => Driver::default(),
            Some(name) => Driver::parse(name).ok_or_else(|| FleetError::InvalidField {
                device: label.clone(),
                field: "driver".to_owned(),
                reason: format!("`{name}` is not a driver; expected simulated, host or adb"),
            })?,
        };
        let device = device(spec, &label, region, &defaults, &profiles, &mut ids_seen)?;
        if let Some(first) = arns.insert(device.arn.clone(), label.clone()) {
            return Err(FleetError::DuplicateArn { first, second: label, arn: device.arn });
        }
        for instance in &device.instances {
            if let Some(other) = udids.insert(instance.udid.clone(), label.clone()) {
                return Err(FleetError::DuplicateUdid { device: label, udid: instance.udid.clone(), other });
            }
        }
        devices.push((device, driver));
    }
    Ok((devices, file.browser))
}

fn fleet_defaults(section: FleetSection) -> Result<FleetDefaults, FleetError> {
    let fleet_type = match section.fleet_type {
        None => FleetType::Private,
        Some(t) => {
            FleetType::parse(&t).map_err(|e| FleetError::InvalidFleetField { field: "type", reason: e.to_string() })?
        }
    };
    let name = section.name.unwrap_or_else(|| match fleet_type {
        FleetType::Public => "Public".to_owned(),
        FleetType::Private => "Private".to_owned(),
    });
    if let Some(account) = &section.account {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FleetError::InvalidFleetField {
                field: "account",
                reason: format!("`{account}` is not a 12-digit AWS account id"),
            });
        }
    }
    Ok(FleetDefaults { fleet_type, name, account: section.account })
}

fn profiles(
    specs: Vec<ProfileSpec>,
    region: &str,
    account: Option<&str>,
) -> Result<HashMap<String, InstanceProfile>, FleetError> {
    let mut profiles = HashMap::new();
    for spec in specs {
        if spec.name.is_empty() || spec.name.chars().count() > MAX_NAME {
            return Err(FleetError::InvalidProfile {
                profile: format!("`{}`", spec.id),
                reason: format!("name must be 1 to {MAX_NAME} characters"),
            });
        }
        let profile = InstanceProfile {
            arn: ids::instance_profile_arn(region, account, &spec.id),
            package_cleanup: spec.package_cleanup,
            exclude_app_packages_from_cleanup: spec.exclude_app_packages_from_cleanup,
            reboot_after_use: spec.reboot_after_use,
            name: spec.name,
            description: spec.description,
        };
        if profiles.insert(spec.id.clone(), profile).is_some() {
            return Err(FleetError::InvalidProfile {
                profile: format!("`{}`", spec.id),
                reason: "defined more than once".to_owned(),
            });
        }
    }
    Ok(profiles)
}

/// How errors name a device: its id, or its position when it has none.
fn device_label(id: Option<&str>, index: usize) -> String {
    match id {
        Some(id) => format!("`{id}`"),
        None => format!("#{}", index + 1),
    }
}

/// Checks one device entry; `label` names it in errors.
struct Checker<'a> {
    label: &'a str,
}

impl Checker<'_> {
    fn missing(&self, field: &str) -> FleetError {
        FleetError::MissingField { device: self.label.to_owned(), field: field.to_owned() }
    }

    fn invalid(&self, field: &str, reason: impl Into<String>) -> FleetError {
        FleetError::InvalidField { device: self.label.to_owned(), field: field.to_owned(), reason: reason.into() }
    }

    fn required<T>(&self, field: &str, value: Option<T>) -> Result<T, FleetError> {
        value.ok_or_else(|| self.missing(field))
    }

    fn text(&self, field: &str, value: Option<String>) -> Result<String, FleetError> {
        let value = self.required(field, value)?;
        if value.trim().is_empty() {
            return Err(self.invalid(field, "must not be empty"));
        }
        Ok(value)
    }

    fn name(&self, field: &str, value: Option<String>) -> Result<String, FleetError> {
        let value = self.text(field, value)?;
        if value.chars().count() > MAX_NAME {
            return Err(self.invalid(field, format!("longer than {MAX_NAME} characters")));
        }
        Ok(value)
    }

    fn parsed<T, E: ToString>(
        &self,
        field: &str,
        value: Option<String>,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, FleetError> {
        let value = self.required(field, value)?;
        parse(&value).map_err(|e| self.invalid(field, e.to_string()))
    }
}

fn device(
    spec: DeviceSpec,
    label: &str,
    region: &str,
    defaults: &FleetDefaults,
    profiles: &HashMap<String, InstanceProfile>,
    ids_seen: &mut HashSet<String>,
) -> Result<Device, FleetError> {
    let check = Checker { label };
    let id = check.text("id", spec.id)?;
    if !ids_seen.insert(id.clone()) {
        return Err(FleetError::DuplicateDevice { device: label.to_owned() });
    }
    let arn_id = match spec.arn_id {
        Some(explicit) if ids::is_device_arn_id(&explicit) => explicit,
        Some(_) => return Err(check.invalid("arn_id", "must be 32 upper-case hexadecimal digits")),
        None => ids::device_arn_id(&id),
    };
    let arn = ids::device_arn(region, &arn_id);

    let resolution = check.required("resolution", spec.resolution)?;
    if resolution.width == 0 || resolution.height == 0 || resolution.width > 100_000 || resolution.height > 100_000 {
        return Err(check.invalid("resolution", "width and height must be 1 to 100000 pixels"));
    }
    let cpu = check.required("cpu", spec.cpu)?;
    if !cpu.clock.is_finite() || cpu.clock < 0.0 {
        return Err(check.invalid("cpu.clock", "must be a non-negative number"));
    }
    if spec.instance.is_empty() {
        return Err(FleetError::NoInstances { device: label.to_owned() });
    }
    let instances = spec
        .instance
        .into_iter()
        .enumerate()
        .map(|(i, inst)| instance(inst, i, &check, region, &id, &arn, profiles))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Device {
        name: check.name("name", spec.name)?,
        manufacturer: check.text("manufacturer", spec.manufacturer)?,
        model: check.text("model", spec.model)?,
        model_id: check.text("model_id", spec.model_id)?,
        form_factor: check.parsed("form_factor", spec.form_factor, DeviceFormFactor::parse)?,
        platform: check.parsed("platform", spec.platform, DevicePlatform::parse)?,
        os: check.parsed("os", spec.os, OsVersion::parse)?,
        cpu,
        resolution,
        heap_size: check.required("heap_size", spec.heap_size)?,
        memory: check.required("memory", spec.memory)?,
        image: spec.image,
        carrier: spec.carrier,
        radio: spec.radio,
        remote_access_enabled: spec.remote_access_enabled.unwrap_or(false),
        remote_debug_enabled: spec.remote_debug_enabled.unwrap_or(false),
        fleet_type: match spec.fleet_type {
            None => defaults.fleet_type,
            some => check.parsed("fleet_type", some, FleetType::parse)?,
        },
        fleet_name: match spec.fleet_name {
            None => defaults.name.clone(),
            some => check.name("fleet_name", some)?,
        },
        availability: match spec.availability {
            None => DeviceAvailability::Available,
            some => check.parsed("availability", some, DeviceAvailability::parse)?,
        },
        instances,
        arn,
    })
}

fn instance(
    spec: InstanceSpec,
    index: usize,
    check: &Checker<'_>,
    region: &str,
    device_id: &str,
    device_arn: &str,
    profiles: &HashMap<String, InstanceProfile>,
) -> Result<DeviceInstance, FleetError> {
    let field = |name: &str| format!("instance[{index}].{name}");
    let udid = check.text(&field("udid"), spec.udid)?;
    let status = match spec.status {
        None => InstanceStatus::Available,
        some => check.parsed(&field("status"), some, InstanceStatus::parse)?,
    };
    let instance_profile = match spec.instance_profile {
        None => None,
        Some(profile) => Some(profiles.get(&profile).cloned().ok_or_else(|| FleetError::UnknownProfile {
            device: check.label.to_owned(),
            index,
            profile,
        })?),
    };
    Ok(DeviceInstance {
        arn: ids::device_instance_arn(region, device_id, &udid),
        device_arn: device_arn.to_owned(),
        labels: spec.labels,
        status,
        udid,
        instance_profile,
    })
}
