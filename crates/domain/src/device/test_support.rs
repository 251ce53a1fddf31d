//! Hand-built devices for the unit tests of filters, rules, pools and compatibility,
//! independent of the fleet file parser.

use super::enums::{DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType, InstanceStatus};
use super::model::{Cpu, Device, DeviceInstance, Resolution};
use super::os_version::OsVersion;

fn instance(device_arn: &str, n: u32, labels: &[&str]) -> DeviceInstance {
    DeviceInstance {
        arn: format!("arn:aws:devicefarm:us-west-2::deviceinstance:00000000-0000-0000-0000-00000000000{n}"),
        device_arn: device_arn.to_owned(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        status: InstanceStatus::Available,
        udid: format!("UDID{n}"),
        instance_profile: None,
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn device(
    hex: &str,
    name: &str,
    manufacturer: &str,
    platform: DevicePlatform,
    form_factor: DeviceFormFactor,
    os: &str,
    availability: DeviceAvailability,
    fleet_type: FleetType,
) -> Device {
    let arn = format!("arn:aws:devicefarm:us-west-2::device:{hex}");
    Device {
        arn: arn.clone(),
        name: name.to_owned(),
        manufacturer: manufacturer.to_owned(),
        model: name.to_owned(),
        model_id: "X1".to_owned(),
        form_factor,
        platform,
        os: OsVersion::parse(os).expect("test os version"),
        cpu: Cpu { frequency: "MHz".to_owned(), architecture: "arm64".to_owned(), clock: 2000.0 },
        resolution: Resolution { width: 1080, height: 2400 },
        heap_size: 256_000_000,
        memory: 128_000_000_000,
        image: None,
        carrier: None,
        radio: Some("WiFi".to_owned()),
        remote_access_enabled: platform == DevicePlatform::Android,
        remote_debug_enabled: false,
        fleet_type,
        fleet_name: "Test".to_owned(),
        instances: vec![instance(&arn, 1, &[])],
        availability,
    }
}

/// Google Pixel 8, Android 14, private, AVAILABLE, remote access on, two instances
/// labelled `["lab-a"]` and `["lab-b", "5g"]`.
pub(crate) fn pixel() -> Device {
    let mut d = device(
        "11111111111111111111111111111111",
        "Google Pixel 8",
        "Google",
        DevicePlatform::Android,
        DeviceFormFactor::Phone,
        "14",
        DeviceAvailability::Available,
        FleetType::Private,
    );
    d.instances = vec![instance(&d.arn, 1, &["lab-a"]), instance(&d.arn, 2, &["lab-b", "5g"])];
    d
}

/// Apple iPhone 15, iOS 17.4, public, HIGHLY_AVAILABLE, remote access off.
pub(crate) fn iphone() -> Device {
    let mut d = device(
        "22222222222222222222222222222222",
        "Apple iPhone 15",
        "Apple",
        DevicePlatform::Ios,
        DeviceFormFactor::Phone,
        "17.4",
        DeviceAvailability::HighlyAvailable,
        FleetType::Public,
    );
    d.instances = vec![instance(&d.arn, 3, &[])];
    d
}
