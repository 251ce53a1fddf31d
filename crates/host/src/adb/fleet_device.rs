//! An attached Android device as a fleet [`Device`]: a PRIVATE device with one
//! instance whose UDID is the adb serial.
//!
//! The device's fleet id is `adb:SERIAL`, so its ARN and its instance's ARN come out
//! the same at every start for the same phone (see [`domain::device::ids`]) — runs
//! and pools stored earlier keep pointing at it.

use domain::device::ids::{device_arn, device_arn_id, device_instance_arn};
use domain::device::{
    android_api, Cpu, Device, DeviceAvailability, DeviceInstance, DevicePlatform, FleetType, InstanceProfile,
    InstanceStatus, OsVersion, Resolution,
};

use super::discover::AttachedDevice;
use super::parse::DeviceState;

/// The fleet id a device attached with this serial gets.
pub fn fleet_device_id(serial: &str) -> String {
    format!("adb:{serial}")
}

/// The fleet's view of `attached`. What the device did not tell is filled in
/// visibly rather than guessed: manufacturer and model id "Unknown" (the name is
/// then "Android device SERIAL"), OS version from
/// the API level when the release is a code name (else "0"), a 0×0 screen, zero
/// memory and heap, CPU clock 0 (adb offers no portable way to read it).
///
/// `memory` is the device's RAM (`MemTotal`): the service model documents the
/// field as "total memory size" (AWS's own fleet shows storage sizes there).
/// A device not in the `device` state is TEMPORARY_NOT_AVAILABLE, its instance
/// NOT_AVAILABLE.
pub fn to_fleet_device(
    attached: &AttachedDevice,
    region: &str,
    fleet_name: &str,
    labels: Vec<String>,
    profile: Option<InstanceProfile>,
) -> Device {
    let id = fleet_device_id(&attached.serial);
    let arn = device_arn(region, &device_arn_id(&id));
    let manufacturer = attached.manufacturer.as_deref().map(capitalised).unwrap_or_else(|| "Unknown".to_owned());
    let model_id = attached.model.clone().unwrap_or_else(|| "Unknown".to_owned());
    // AWS names devices "Google Pixel 8", "Samsung Galaxy S23": maker, then model.
    // A device that tells nothing (not yet authorised) is named by its serial, so
    // the user can tell which phone to unlock.
    let name = match &attached.model {
        None => format!("Android device {}", attached.serial),
        Some(model) if model.to_lowercase().starts_with(&manufacturer.to_lowercase()) => model.clone(),
        Some(model) => format!("{manufacturer} {model}"),
    };
    let usable = attached.state == DeviceState::Device;
    Device {
        instances: vec![DeviceInstance {
            arn: device_instance_arn(region, &id, &attached.serial),
            device_arn: arn.clone(),
            labels,
            status: if usable { InstanceStatus::Available } else { InstanceStatus::NotAvailable },
            udid: attached.serial.clone(),
            instance_profile: profile,
        }],
        arn,
        model: name.clone(),
        name,
        manufacturer,
        model_id,
        form_factor: attached.form_factor,
        platform: DevicePlatform::Android,
        os: os_version(attached),
        cpu: Cpu { frequency: "MHz".to_owned(), architecture: attached.abi.clone().unwrap_or_default(), clock: 0.0 },
        resolution: attached.resolution.unwrap_or(Resolution { width: 0, height: 0 }),
        heap_size: attached.heap_size_bytes.unwrap_or(0),
        memory: attached.memory_bytes.unwrap_or(0),
        image: attached.build_id.clone(),
        carrier: attached.carrier.clone(),
        radio: None,
        remote_access_enabled: false,
        remote_debug_enabled: false,
        fleet_type: FleetType::Private,
        fleet_name: fleet_name.to_owned(),
        availability: if usable { DeviceAvailability::Available } else { DeviceAvailability::TemporaryNotAvailable },
    }
}

fn os_version(attached: &AttachedDevice) -> OsVersion {
    attached
        .os_version
        .as_deref()
        .and_then(|release| OsVersion::parse(release).ok())
        .or_else(|| attached.sdk.and_then(android_api::min_android_version))
        .or_else(|| OsVersion::parse("0").ok())
        // Never reached: "0" is a version (a unit test checks the fallback).
        .expect("\"0\" is an OS version")
}

/// "samsung" → "Samsung", as AWS spells makers.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
