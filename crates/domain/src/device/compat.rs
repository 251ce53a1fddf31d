//! Whether a device can run a given app and test type (GetDevicePoolCompatibility,
//! and ScheduleRun's choice of devices).
//!
//! A device is incompatible, with an `IncompatibilityMessage` whose `type` is the
//! `DeviceAttribute` at fault, when (in this order):
//! 1. `PLATFORM`: the app is for the other platform (an .apk on an iOS device);
//! 2. `OS_VERSION`: the device's OS is older than the app's minimum — the APK's
//!    `minSdkVersion` mapped to its Android release, or the IPA's `MinimumOSVersion`
//!    (checked only when the platform matches, and skipped when the minimum is not a
//!    dotted version, since it cannot be compared);
//! 3. `PLATFORM`: the test type runs on one platform only (XCTEST, XCTEST_UI,
//!    UIAUTOMATION: iOS; INSTRUMENTATION, UIAUTOMATOR, BUILTIN_FUZZ, BUILTIN_EXPLORER:
//!    Android). Appium and web tests run on both;
//! 4. `AVAILABILITY`: the device is TEMPORARY_NOT_AVAILABLE. A BUSY device stays
//!    compatible: its job waits for it (PENDING_DEVICE).
//!
//! Web tests (`APPIUM_WEB_*`) install no app, so the app checks are skipped for them.
//! A test type farmhand does not know restricts nothing: the API layer has already
//! checked it against the model's enum.

use serde::{Deserialize, Serialize};

use super::android_api::min_android_version;
use super::attribute::DeviceAttribute;
use super::enums::{DeviceAvailability, DevicePlatform};
use super::model::Device;
use super::os_version::OsVersion;
use crate::upload::TestType;

/// What the upload processor learned about an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub platform: DevicePlatform,
    /// Android: the APK's `minSdkVersion`.
    pub min_sdk: Option<u32>,
    /// iOS: the IPA's `MinimumOSVersion`, e.g. "16.0".
    pub min_os: Option<String>,
}

/// One reason a device cannot run the app or test; an `IncompatibilityMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incompatibility {
    #[serde(rename = "type")]
    pub type_: DeviceAttribute,
    pub message: String,
}

/// Every reason `device` cannot run `app` with `test_type`; empty when compatible.
pub fn check_compatibility(
    device: &Device,
    app: Option<&AppInfo>,
    test_type: Option<TestType>,
) -> Vec<Incompatibility> {
    let mut found = Vec::new();
    let web_test = test_type.is_some_and(TestType::is_web);
    if let Some(app) = app.filter(|_| !web_test) {
        check_app(device, app, &mut found);
    }
    if let Some(test_type) = test_type {
        if let Some(required) = test_type_platform(test_type) {
            if required != device.platform {
                found.push(Incompatibility {
                    type_: DeviceAttribute::Platform,
                    message: format!(
                        "{test_type} tests run only on {} devices, and {} is an {} device",
                        required.display_name(),
                        device.name,
                        device.platform.display_name()
                    ),
                });
            }
        }
    }
    if device.availability == DeviceAvailability::TemporaryNotAvailable {
        found.push(Incompatibility {
            type_: DeviceAttribute::Availability,
            message: format!("{} is temporarily not available", device.name),
        });
    }
    found
}

/// A device's verdict, as in a `DevicePoolCompatibilityResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCompatibility<'a> {
    pub device: &'a Device,
    pub incompatibilities: Vec<Incompatibility>,
}

impl DeviceCompatibility<'_> {
    pub fn compatible(&self) -> bool {
        self.incompatibilities.is_empty()
    }
}

/// The verdict for every device of a pool, in the order given.
pub fn check_pool<'a>(
    devices: impl IntoIterator<Item = &'a Device>,
    app: Option<&AppInfo>,
    test_type: Option<TestType>,
) -> Vec<DeviceCompatibility<'a>> {
    devices
        .into_iter()
        .map(|device| DeviceCompatibility { device, incompatibilities: check_compatibility(device, app, test_type) })
        .collect()
}

fn check_app(device: &Device, app: &AppInfo, found: &mut Vec<Incompatibility>) {
    if app.platform != device.platform {
        found.push(Incompatibility {
            type_: DeviceAttribute::Platform,
            message: format!(
                "The app is for {}, but {} runs {}",
                app.platform.display_name(),
                device.name,
                device.platform.display_name()
            ),
        });
        return;
    }
    let required = match device.platform {
        DevicePlatform::Android => app
            .min_sdk
            .and_then(|level| min_android_version(level).map(|v| (format!("Android {v} (API level {level})"), v))),
        DevicePlatform::Ios => {
            app.min_os.as_deref().and_then(|s| OsVersion::parse(s).ok()).map(|v| (format!("iOS {v}"), v))
        }
    };
    if let Some((needs, minimum)) = required {
        if device.os < minimum {
            found.push(Incompatibility {
                type_: DeviceAttribute::OsVersion,
                message: format!(
                    "The app needs {needs} or later, but {} runs {} {}",
                    device.name,
                    device.platform.display_name(),
                    device.os
                ),
            });
        }
    }
}

/// The only platform a test type runs on, or None if it runs on both.
pub fn test_type_platform(test_type: TestType) -> Option<DevicePlatform> {
    use TestType::*;
    match test_type {
        Xctest | XctestUi | Uiautomation => Some(DevicePlatform::Ios),
        Instrumentation | Uiautomator | BuiltinFuzz | BuiltinExplorer => Some(DevicePlatform::Android),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_support::{iphone, pixel};

    fn tt(name: &str) -> TestType {
        name.parse().expect("a test type")
    }

    fn android_app(min_sdk: Option<u32>) -> AppInfo {
        AppInfo { platform: DevicePlatform::Android, min_sdk, min_os: None }
    }

    fn ios_app(min_os: &str) -> AppInfo {
        AppInfo { platform: DevicePlatform::Ios, min_sdk: None, min_os: Some(min_os.to_owned()) }
    }

    fn types(found: &[Incompatibility]) -> Vec<DeviceAttribute> {
        found.iter().map(|i| i.type_).collect()
    }

    #[test]
    fn compatible_device_has_no_messages() {
        assert!(check_compatibility(&pixel(), Some(&android_app(Some(29))), Some(tt("INSTRUMENTATION"))).is_empty());
        assert!(check_compatibility(&iphone(), Some(&ios_app("17.0")), Some(tt("XCTEST_UI"))).is_empty());
        assert!(check_compatibility(&iphone(), None, None).is_empty());
    }

    #[test]
    fn app_for_the_other_platform() {
        let found = check_compatibility(&iphone(), Some(&android_app(Some(35))), Some(tt("APPIUM_PYTHON")));
        assert_eq!(
            found,
            [Incompatibility {
                type_: DeviceAttribute::Platform,
                message: "The app is for Android, but Apple iPhone 15 runs iOS".to_owned(),
            }]
        );
    }

    #[test]
    fn os_older_than_the_app_needs() {
        // pixel() runs Android 14 = API 34.
        assert!(check_compatibility(&pixel(), Some(&android_app(Some(34))), None).is_empty());
        let found = check_compatibility(&pixel(), Some(&android_app(Some(35))), None);
        assert_eq!(types(&found), [DeviceAttribute::OsVersion]);
        assert_eq!(
            found[0].message,
            "The app needs Android 15 (API level 35) or later, but Google Pixel 8 runs Android 14"
        );
        // iphone() runs iOS 17.4.
        assert!(check_compatibility(&iphone(), Some(&ios_app("17.4.0")), None).is_empty());
        let found = check_compatibility(&iphone(), Some(&ios_app("17.10")), None);
        assert_eq!(found[0].message, "The app needs iOS 17.10 or later, but Apple iPhone 15 runs iOS 17.4");
        assert!(check_compatibility(&iphone(), Some(&ios_app("seventeen")), None).is_empty());
    }

    #[test]
    fn single_platform_test_types() {
        let found = check_compatibility(&pixel(), None, Some(tt("XCTEST")));
        assert_eq!(found[0].message, "XCTEST tests run only on iOS devices, and Google Pixel 8 is an Android device");
        for t in ["INSTRUMENTATION", "UIAUTOMATOR", "BUILTIN_FUZZ", "BUILTIN_EXPLORER"].map(tt) {
            assert_eq!(types(&check_compatibility(&iphone(), None, Some(t))), [DeviceAttribute::Platform], "{t}");
            assert!(check_compatibility(&pixel(), None, Some(t)).is_empty(), "{t}");
        }
        for t in ["APPIUM_JAVA_JUNIT", "APPIUM_NODE", "APPIUM_WEB_PYTHON"].map(tt) {
            assert!(check_compatibility(&pixel(), None, Some(t)).is_empty(), "{t}");
            assert!(check_compatibility(&iphone(), None, Some(t)).is_empty(), "{t}");
        }
    }

    #[test]
    fn web_tests_ignore_the_app() {
        let found = check_compatibility(&iphone(), Some(&android_app(None)), Some(tt("APPIUM_WEB_NODE")));
        assert!(found.is_empty());
    }

    #[test]
    fn reasons_accumulate_and_unavailable_devices_are_incompatible() {
        let mut device = pixel();
        device.availability = DeviceAvailability::TemporaryNotAvailable;
        let found = check_compatibility(&device, Some(&ios_app("15")), Some(tt("XCTEST")));
        assert_eq!(
            types(&found),
            [DeviceAttribute::Platform, DeviceAttribute::Platform, DeviceAttribute::Availability]
        );
        device.availability = DeviceAvailability::Busy;
        assert!(check_compatibility(&device, None, None).is_empty());
    }

    #[test]
    fn pool_verdicts_keep_device_order() {
        let devices = [pixel(), iphone()];
        let verdicts = check_pool(&devices, None, Some(tt("XCTEST")));
        assert_eq!(verdicts.len(), 2);
        assert_eq!(verdicts[0].device.name, "Google Pixel 8");
        assert!(!verdicts[0].compatible());
        assert!(verdicts[1].compatible());
    }

    #[test]
    fn serializes_type_like_the_wire() {
        let json = serde_json::to_value(Incompatibility { type_: DeviceAttribute::OsVersion, message: "m".to_owned() })
            .expect("serialize");
        assert_eq!(json, serde_json::json!({"type": "OS_VERSION", "message": "m"}));
    }
}
