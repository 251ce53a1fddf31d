//! The fleet: every device farmhand offers, read from a TOML fleet file or the
//! built-in demo fleet, and lookups over it.
//!
//! # Fleet file format
//!
//! ```toml
//! [fleet]                      # optional
//! type = "PRIVATE"             # PUBLIC | PRIVATE (default PRIVATE)
//! name = "Lab A"               # default "Private" / "Public"
//! account = "123456789012"     # optional: owner of the instance profiles' ARNs
//!
//! [[instance_profile]]         # optional, referenced by instances
//! id = "clean"                 # stable: the profile ARN derives from it
//! name = "Clean between runs"
//! package_cleanup = true       # default false
//! exclude_app_packages_from_cleanup = ["com.example.keep"]
//! reboot_after_use = false     # default true, as AWS documents
//!
//! [[device]]
//! id = "pixel-8"               # stable: the device ARN derives from it
//! # arn_id = "A0E6...EF6C"     # optional: 32 upper-case hex digits to use instead
//! name = "Google Pixel 8"
//! manufacturer = "Google"
//! model = "Google Pixel 8"
//! model_id = "GKWS6"
//! form_factor = "PHONE"        # PHONE | TABLET
//! platform = "ANDROID"         # ANDROID | IOS
//! os = "14"
//! cpu = { frequency = "MHz", architecture = "arm64-v8a", clock = 2910.0 }
//! resolution = { width = 1080, height = 2400 }
//! heap_size = 536870912        # bytes
//! memory = 128000000000        # bytes of storage
//! image = "AP2A.240805.005"    # optional, as are carrier and radio
//! radio = "WiFi"
//! remote_access_enabled = true # default false (as is remote_debug_enabled)
//! availability = "AVAILABLE"   # default AVAILABLE
//! # fleet_type / fleet_name override [fleet] for this device
//!
//! [[device.instance]]          # one per physical unit; at least one
//! udid = "38181FDJH000AB"      # unique in the fleet; the instance ARN derives from it
//! labels = ["lab-a"]
//! status = "AVAILABLE"         # default AVAILABLE
//! instance_profile = "clean"   # optional id of an [[instance_profile]]
//! ```
//!
//! ARNs (see [`super::ids`]): device `arn:aws:devicefarm:REGION::device:HEX`, instance
//! `arn:aws:devicefarm:REGION::deviceinstance:UUID`, instance profile
//! `arn:aws:devicefarm:REGION:ACCOUNT:instanceprofile:UUID` (account empty when the
//! file names none) — all name-based, so they are the same at every start.
//!
//! The demo fleet ([`Fleet::demo`], `demo_fleet.toml`) is a PUBLIC fleet named
//! "Public". Its instances have no instance profile: on AWS, instance profiles are a
//! private-device feature, and the public fleet's cleanup is not configurable.

use std::collections::HashMap;

use super::driver::Driver;
use super::filter::{matches_all, DeviceFilter};
use super::fleet_file;
use super::model::{Device, DeviceInstance, InstanceProfile};

pub use super::fleet_file::FleetError;

const DEMO_FLEET: &str = include_str!("demo_fleet.toml");

/// The devices of one farmhand, in fleet-file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    region: String,
    devices: Vec<Device>,
    /// Each device's driver, by position in `devices`.
    drivers: Vec<Driver>,
    /// Position in `devices` by device ARN: every job's view looks its device up, and a
    /// scan of a 1,000-device fleet per job made ListJobs slow (BENCHMARKS.md).
    by_arn: HashMap<String, usize>,
    /// The fleet file's `[[browser]]` tables, as written.
    browsers: Vec<crate::testgrid::BrowserDeclaration>,
}

impl Fleet {
    /// Reads a fleet file; ARNs are built for `region`.
    pub fn from_toml(toml: &str, region: &str) -> Result<Fleet, FleetError> {
        let mut fleet = Fleet::empty(region);
        let (devices, browsers) = fleet_file::parse(toml, region)?;
        for (device, driver) in devices {
            fleet.push(device, driver);
        }
        fleet.browsers = browsers;
        Ok(fleet)
    }

    fn empty(region: &str) -> Fleet {
        Fleet {
            region: region.to_owned(),
            devices: Vec::new(),
            drivers: Vec::new(),
            by_arn: HashMap::new(),
            browsers: Vec::new(),
        }
    }

    /// The desktop browsers the fleet file declares (none: the host offers what it finds).
    pub fn browsers(&self) -> &[crate::testgrid::BrowserDeclaration] {
        &self.browsers
    }

    fn push(&mut self, device: Device, driver: Driver) {
        self.by_arn.insert(device.arn.clone(), self.devices.len());
        self.devices.push(device);
        self.drivers.push(driver);
    }

    /// This fleet plus `extra` devices (found at run time, e.g. phones on USB); a device
    /// whose ARN the fleet already has keeps the fleet file's definition.
    pub fn with_devices(&self, extra: Vec<(Device, Driver)>) -> Fleet {
        let mut fleet = self.clone();
        for (device, driver) in extra {
            if fleet.device(&device.arn).is_none() {
                fleet.push(device, driver);
            }
        }
        fleet
    }

    /// The simulated devices, and apart from them the real ones with their drivers (run
    /// by a device host rather than by the control plane).
    pub fn split_real(&self) -> (Fleet, Vec<(Device, Driver)>) {
        let mut simulated = Fleet::empty(&self.region);
        let mut real = Vec::new();
        for (device, driver) in self.devices.iter().zip(&self.drivers) {
            if driver.is_real() {
                real.push((device.clone(), *driver));
            } else {
                simulated.push(device.clone(), *driver);
            }
        }
        (simulated, real)
    }

    /// The built-in demo fleet of simulated devices.
    pub fn demo(region: &str) -> Fleet {
        // The demo file is compiled in and a unit test parses it, so failing here
        // means a broken build, not bad input.
        #[allow(clippy::expect_used)]
        Fleet::from_toml(DEMO_FLEET, region).expect("the built-in demo fleet is valid")
    }

    /// The demo fleet's TOML, e.g. as a starting point for a fleet file.
    pub fn demo_toml() -> &'static str {
        DEMO_FLEET
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// How the device with this ARN runs jobs (simulated for an unknown one).
    pub fn driver(&self, device_arn: &str) -> Driver {
        self.by_arn.get(device_arn).map(|&i| self.drivers[i]).unwrap_or_default()
    }

    pub fn device(&self, arn: &str) -> Option<&Device> {
        self.by_arn.get(arn).map(|&i| &self.devices[i])
    }

    /// The instance with this ARN and the device it is a unit of.
    pub fn instance(&self, instance_arn: &str) -> Option<(&Device, &DeviceInstance)> {
        self.devices.iter().find_map(|d| d.instance(instance_arn).map(|i| (d, i)))
    }

    /// The devices passing every filter, in fleet order (ListDevices). Filters are
    /// expected to be validated already; an invalid one matches nothing.
    pub fn filter(&self, filters: &[DeviceFilter]) -> Vec<&Device> {
        self.devices.iter().filter(|d| matches_all(filters, d)).collect()
    }

    /// Every instance profile some instance uses, each once, in fleet order.
    pub fn instance_profiles(&self) -> Vec<&InstanceProfile> {
        let mut seen = Vec::<&InstanceProfile>::new();
        for profile in self.devices.iter().flat_map(|d| &d.instances).filter_map(|i| i.instance_profile.as_ref()) {
            if !seen.iter().any(|p| p.arn == profile.arn) {
                seen.push(profile);
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::attribute::{DeviceFilterAttribute, RuleOperator};
    use crate::device::enums::{DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType, InstanceStatus};
    use crate::device::ids::is_device_arn_id;
    use std::collections::HashSet;

    const REGION: &str = "us-west-2";

    /// A small private fleet: two Pixel 8 units and an iPad, one profile.
    const LAB: &str = r#"
        [fleet]
        type = "PRIVATE"
        name = "Lab A"
        account = "123456789012"

        [[instance_profile]]
        id = "clean"
        name = "Clean between runs"
        package_cleanup = true
        exclude_app_packages_from_cleanup = ["com.example.keep"]

        [[device]]
        id = "pixel-8"
        name = "Google Pixel 8"
        manufacturer = "Google"
        model = "Google Pixel 8"
        model_id = "GKWS6"
        form_factor = "PHONE"
        platform = "ANDROID"
        os = "14"
        cpu = { frequency = "MHz", architecture = "arm64-v8a", clock = 2910.0 }
        resolution = { width = 1080, height = 2400 }
        heap_size = 536870912
        memory = 128000000000
        remote_access_enabled = true

        [[device.instance]]
        udid = "38181FDJH000AB"
        labels = ["bench-1"]
        instance_profile = "clean"

        [[device.instance]]
        udid = "38181FDJH000AC"
        labels = ["bench-2"]
        status = "NOT_AVAILABLE"

        [[device]]
        id = "ipad-air-5"
        arn_id = "A0E6E6E1059E45918208DF75B2B7EF6C"
        name = "Apple iPad Air (5th generation)"
        manufacturer = "Apple"
        model = "Apple iPad Air (5th generation)"
        model_id = "A2588"
        form_factor = "TABLET"
        platform = "IOS"
        os = "17.4.1"
        cpu = { frequency = "MHz", architecture = "arm64e", clock = 3200.0 }
        resolution = { width = 1640, height = 2360 }
        heap_size = 0
        memory = 64000000000
        fleet_type = "PUBLIC"
        availability = "HIGHLY_AVAILABLE"

        [[device.instance]]
        udid = "00008103-001A2C3E0E81801E"
    "#;

    fn lab() -> Fleet {
        Fleet::from_toml(LAB, REGION).expect("lab fleet parses")
    }

    #[test]
    fn parses_a_private_fleet_file() {
        let fleet = lab();
        assert_eq!(fleet.len(), 2);
        let pixel = &fleet.devices()[0];
        assert_eq!(pixel.fleet_type, FleetType::Private);
        assert_eq!(pixel.fleet_name, "Lab A");
        assert_eq!(pixel.availability, DeviceAvailability::Available);
        assert_eq!(pixel.instances.len(), 2);
        assert_eq!(pixel.instances[1].status, InstanceStatus::NotAvailable);
        assert_eq!(pixel.instances[0].device_arn, pixel.arn);
        let profile = pixel.instances[0].instance_profile.as_ref().expect("profile");
        assert!(profile.package_cleanup && profile.reboot_after_use);
        assert!(profile.arn.starts_with("arn:aws:devicefarm:us-west-2:123456789012:instanceprofile:"));
        assert!(pixel.instances[1].instance_profile.is_none());
        assert_eq!(fleet.instance_profiles().len(), 1);

        let ipad = &fleet.devices()[1];
        assert_eq!(ipad.arn, "arn:aws:devicefarm:us-west-2::device:A0E6E6E1059E45918208DF75B2B7EF6C");
        assert_eq!(ipad.fleet_type, FleetType::Public);
        assert_eq!(ipad.os.as_str(), "17.4.1");
        assert!(!ipad.remote_access_enabled);
    }

    #[test]
    fn arns_are_stable_across_loads_and_regions_only_change_the_prefix() {
        let (a, b) = (lab(), lab());
        assert_eq!(a, b);
        let eu = Fleet::from_toml(LAB, "eu-west-1").expect("parses");
        let suffix = |arn: &str| arn.rsplit(':').next().map(str::to_owned);
        assert_eq!(suffix(&a.devices()[0].arn), suffix(&eu.devices()[0].arn));
        assert!(eu.devices()[0].arn.starts_with("arn:aws:devicefarm:eu-west-1::device:"));
    }

    #[test]
    fn lookups_by_arn() {
        let fleet = lab();
        let pixel = &fleet.devices()[0];
        assert_eq!(fleet.device(&pixel.arn), Some(pixel));
        assert!(fleet.device("arn:aws:devicefarm:us-west-2::device:0").is_none());
        let second = &pixel.instances[1];
        assert_eq!(fleet.instance(&second.arn), Some((pixel, second)));
        let tablets = fleet.filter(&[DeviceFilter::new(
            DeviceFilterAttribute::FormFactor,
            RuleOperator::Equals,
            vec!["TABLET".to_owned()],
        )]);
        assert_eq!(tablets.len(), 1);
        assert_eq!(fleet.filter(&[]).len(), 2);
    }

    fn error(toml: &str) -> String {
        Fleet::from_toml(toml, REGION).expect_err("invalid fleet").to_string()
    }

    /// LAB's `[fleet]` and profile, and its Pixel changed by `change`.
    fn with_pixel(change: impl Fn(&str) -> String) -> String {
        let mut sections = LAB.split("[[device]]");
        let header = sections.next().unwrap_or_default();
        let pixel = format!("[[device]]{}", sections.next().unwrap_or_default());
        format!("{header}{}", change(&pixel))
    }

    #[test]
    fn errors_name_the_device_and_field() {
        let t = with_pixel(|p| p.replace("platform = \"ANDROID\"", "platform = \"android\""));
        assert_eq!(
            error(&t),
            "device `pixel-8`: field `platform`: `android` is not a valid DevicePlatform; expected one of: ANDROID, IOS"
        );
        let t = with_pixel(|p| p.replace("manufacturer = \"Google\"", ""));
        assert_eq!(error(&t), "device `pixel-8`: missing field `manufacturer`");
        let t = with_pixel(|p| p.replace("os = \"14\"", "os = \"14b\""));
        assert!(error(&t).starts_with("device `pixel-8`: field `os`: `14b` is not an OS version"));
        let t = with_pixel(|p| p.replace("id = \"pixel-8\"", ""));
        assert_eq!(error(&t), "device #1: missing field `id`");
        let t = with_pixel(|p| p.replace("status = \"NOT_AVAILABLE\"", "status = \"BROKEN\""));
        assert!(error(&t).starts_with("device `pixel-8`: field `instance[1].status`: `BROKEN`"));
        let t = with_pixel(|p| p.replace("udid = \"38181FDJH000AC\"", "udid = \"38181FDJH000AB\""));
        assert_eq!(error(&t), "device `pixel-8`: udid `38181FDJH000AB` is already used by device `pixel-8`");
        let t = with_pixel(|p| p.replace("name = \"Google Pixel 8\"", "nmae = \"Google Pixel 8\""));
        assert!(error(&t).contains("unknown field `nmae`"), "{}", error(&t));
    }

    #[test]
    fn fleet_level_errors() {
        assert_eq!(error(""), "fleet file defines no devices; add at least one [[device]] (or [[browser]])");
        assert!(error("[fleet]\ntype = \"SHARED\"").starts_with("fleet file: `[fleet]` field `type`"));
        assert!(error("[fleet]\naccount = \"12\"").contains("12-digit"));
        assert!(error("[[device]\n").starts_with("fleet file: TOML parse error"));
        let unknown_profile = LAB.replace("instance_profile = \"clean\"", "instance_profile = \"dirty\"");
        assert_eq!(
            error(&unknown_profile),
            "device `pixel-8`: instance 0 names instance profile `dirty`, which no [[instance_profile]] defines"
        );
        let twice = with_pixel(|p| format!("{p}\n{p}"));
        assert_eq!(error(&twice), "device `pixel-8` is defined more than once");
        let same_arn =
            LAB.replace("id = \"pixel-8\"", "id = \"pixel-8\"\narn_id = \"A0E6E6E1059E45918208DF75B2B7EF6C\"");
        assert!(error(&same_arn).starts_with("devices `pixel-8` and `ipad-air-5` have the same ARN"));
        let lower = LAB.replace("A0E6E6E1059E45918208DF75B2B7EF6C", "a0e6e6e1059e45918208df75b2b7ef6c");
        assert!(error(&lower).contains("field `arn_id`"));
        let no_units = with_pixel(|p| p.split("[[device.instance]]").next().unwrap_or_default().to_owned());
        assert_eq!(
            error(&no_units),
            "device `pixel-8` has no instances; add at least one [[device.instance]] with a udid"
        );
    }

    #[test]
    fn browsers_are_declared_beside_devices_or_alone() {
        let alone = Fleet::from_toml(
            "[[browser]]\nname = \"chrome\"\nmax_sessions = 3\n\n[[browser]]\nname = \"firefox\"\ndriver = \"/opt/geckodriver\"\n",
            REGION,
        )
        .expect("a host of browsers only");
        assert!(alone.devices().is_empty());
        let names: Vec<(&str, Option<u32>)> =
            alone.browsers().iter().map(|b| (b.name.as_str(), b.max_sessions)).collect();
        assert_eq!(names, [("chrome", Some(3)), ("firefox", None)]);
        assert_eq!(alone.browsers()[1].driver.as_deref(), Some(std::path::Path::new("/opt/geckodriver")));
        assert!(error("[[browser]]\nname = \"chrome\"\nsessions = 2\n").contains("unknown field `sessions`"));
        assert!(Fleet::demo(REGION).browsers().is_empty());
    }

    #[test]
    fn demo_fleet_is_large_varied_and_unique() {
        let fleet = Fleet::demo(REGION);
        assert!(fleet.len() >= 14, "{}", fleet.len());
        let arns: HashSet<_> = fleet.devices().iter().map(|d| d.arn.as_str()).collect();
        assert_eq!(arns.len(), fleet.len());
        for d in fleet.devices() {
            let hex = d.arn.strip_prefix("arn:aws:devicefarm:us-west-2::device:").expect("device ARN");
            assert!(is_device_arn_id(hex), "{}", d.arn);
            assert!(!d.instances.is_empty(), "{}", d.name);
            assert_eq!(d.fleet_type, FleetType::Public);
            assert_eq!(d.fleet_name, "Public");
            for i in &d.instances {
                assert_eq!(i.status, InstanceStatus::Available);
                assert!(i.instance_profile.is_none());
                assert!(i.arn.starts_with("arn:aws:devicefarm:us-west-2::deviceinstance:"));
            }
        }
        let instance_arns: HashSet<_> = fleet.devices().iter().flat_map(|d| &d.instances).map(|i| &i.arn).collect();
        let instance_count: usize = fleet.devices().iter().map(|d| d.instances.len()).sum();
        assert_eq!(instance_arns.len(), instance_count);
        assert!(instance_count > fleet.len(), "some models have several units");
        for platform in DevicePlatform::ALL {
            for form_factor in DeviceFormFactor::ALL {
                assert!(
                    fleet.devices().iter().any(|d| d.platform == *platform && d.form_factor == *form_factor),
                    "{platform} {form_factor}"
                );
            }
        }
        let android_majors: HashSet<u64> =
            fleet.devices().iter().filter(|d| d.platform == DevicePlatform::Android).map(|d| d.os.major()).collect();
        assert!((10..=15).all(|v| android_majors.contains(&v)), "{android_majors:?}");
        let ios_majors: HashSet<u64> =
            fleet.devices().iter().filter(|d| d.platform == DevicePlatform::Ios).map(|d| d.os.major()).collect();
        assert!((15..=18).all(|v| ios_majors.contains(&v)), "{ios_majors:?}");
    }
}
