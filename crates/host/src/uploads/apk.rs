//! Inspection of an Android app: a zip with a binary-XML `AndroidManifest.xml` at its
//! root, from which the upload's metadata is read.
//!
//! **Decision:** an APK whose manifest cannot be decoded, or names no package, FAILS.
//! Farmhand needs the package name to install, launch and clear the app on a device, so
//! accepting it would only move the failure into every run that uses it.
//!
//! The metadata uses the keys AWS returns for APKs (GetUpload's example in the CLI docs):
//! `package_name`, `version_code`, `version_name`, `sdk_version` (minSdkVersion),
//! `target_sdk_version`, `activity_name` (the launcher activity), `native_code` (ABIs
//! under `lib/`), `screens`, `device_admin`, and `error_type` (always null here). A value
//! that is a resource reference (`@7f0a0012`) is left out: it would need resources.arsc
//! to resolve, and a raw id would only mislead.

use std::collections::BTreeSet;

use apk_info_axml::AXML;
use apk_info_xml::Element;
use serde::Serialize;

use super::archive::CheckedZip;
use super::isolate::run_isolated;
use super::limits::InspectLimits;
use super::Inspection;

const MANIFEST: &str = "AndroidManifest.xml";
/// The smallest start-element chunk: each nesting level costs at least this many bytes.
const MIN_BYTES_PER_LEVEL: usize = 36;
const DEVICE_ADMIN_PERMISSION: &str = "android.permission.BIND_DEVICE_ADMIN";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ApkMetadata {
    pub device_admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    pub screens: Vec<&'static str>,
    /// Always null: AWS fills it only for apps it fails, which farmhand reports in the
    /// upload's message instead.
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<String>,
    pub package_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_code: Option<String>,
    pub native_code: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_sdk_version: Option<String>,
}

pub(crate) fn inspect(mut zip: CheckedZip, limits: &InspectLimits) -> Inspection {
    let Some(manifest) = zip.find(MANIFEST).filter(|e| !e.is_dir).map(|e| e.index) else {
        return Inspection::failed(format!("Invalid Android app: the APK is missing {MANIFEST} at its root"));
    };
    let bytes = match zip.read_capped(manifest, limits.max_metadata_file) {
        Ok(bytes) => bytes,
        Err(e) => return Inspection::failed(format!("Invalid Android app: {e}")),
    };
    let native_code = native_abis(&zip);
    match decode_manifest(bytes) {
        Ok(fields) => {
            let metadata = ApkMetadata { native_code, ..fields };
            match serde_json::to_string(&metadata) {
                Ok(json) => Inspection::succeeded(Some(json)),
                Err(e) => Inspection::failed(format!("could not record the app's metadata: {e}")),
            }
        }
        Err(reason) => Inspection::failed(format!("Invalid Android app: {reason}")),
    }
}

/// Decodes the binary manifest into everything but `native_code`.
pub(crate) fn decode_manifest(bytes: Vec<u8>) -> Result<ApkMetadata, String> {
    let max_depth = bytes.len() / MIN_BYTES_PER_LEVEL;
    run_isolated("AndroidManifest.xml", max_depth, move || {
        let axml = AXML::new(&mut bytes.as_slice(), None)
            .map_err(|e| format!("{MANIFEST} is not valid Android binary XML ({e})"))?;
        let main_activity = axml.get_main_activities().next().map(str::to_owned);
        read_manifest(&axml.root, main_activity)
    })?
}

fn read_manifest(root: &Element, main_activity: Option<String>) -> Result<ApkMetadata, String> {
    if root.name() != "manifest" {
        return Err(format!("the root element of {MANIFEST} is <{}>, not <manifest>", root.name()));
    }
    let package_name =
        literal(root.attr("package")).ok_or_else(|| format!("{MANIFEST} does not name the app's package"))?;
    let uses_sdk = root.childrens().find(|e| e.name() == "uses-sdk");
    let sdk = |attr: &str| uses_sdk.and_then(|e| literal(e.attr(attr)));
    let application = root.childrens().find(|e| e.name() == "application");
    Ok(ApkMetadata {
        device_admin: application.is_some_and(has_device_admin_receiver),
        activity_name: main_activity.and_then(|a| literal(Some(&a))).map(|a| qualify_class_name(&package_name, &a)),
        version_name: literal(root.attr("versionName")),
        screens: supported_screens(root),
        error_type: None,
        sdk_version: sdk("minSdkVersion"),
        version_code: literal(root.attr("versionCode")),
        target_sdk_version: sdk("targetSdkVersion"),
        native_code: Vec::new(),
        package_name,
    })
}

/// A manifest value usable as-is: present, not empty, not an unresolved reference.
fn literal(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty() && !v.starts_with('@') && !v.starts_with('?')).map(str::to_owned)
}

/// Android's rule for component names: ".Main" and "Main" are relative to the package.
fn qualify_class_name(package: &str, name: &str) -> String {
    if name.starts_with('.') {
        format!("{package}{name}")
    } else if !name.contains('.') {
        format!("{package}.{name}")
    } else {
        name.to_owned()
    }
}

fn has_device_admin_receiver(application: &Element) -> bool {
    application.childrens().any(|e| e.name() == "receiver" && e.attr("permission") == Some(DEVICE_ADMIN_PERMISSION))
}

/// Screen sizes from `<supports-screens>`; each is supported unless set to false.
fn supported_screens(root: &Element) -> Vec<&'static str> {
    let supports = root.childrens().find(|e| e.name() == "supports-screens");
    [("smallScreens", "small"), ("normalScreens", "normal"), ("largeScreens", "large"), ("xlargeScreens", "xlarge")]
        .into_iter()
        .filter(|(attr, _)| supports.and_then(|e| e.attr(attr)) != Some("false"))
        .map(|(_, screen)| screen)
        .collect()
}

/// ABIs that ship native libraries: `lib/<abi>/<file>`.
fn native_abis(zip: &CheckedZip) -> Vec<String> {
    let abis: BTreeSet<String> = zip
        .entries()
        .iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| {
            let mut parts = e.name.split('/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("lib"), Some(abi), Some(file)) if !abi.is_empty() && !file.is_empty() => Some(abi.to_owned()),
                _ => None,
            }
        })
        .collect();
    abis.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_qualified_like_android_does() {
        assert_eq!(qualify_class_name("com.ex", ".Main"), "com.ex.Main");
        assert_eq!(qualify_class_name("com.ex", "Main"), "com.ex.Main");
        assert_eq!(qualify_class_name("com.ex", "org.other.Main"), "org.other.Main");
    }

    #[test]
    fn references_and_blanks_are_not_literals() {
        assert_eq!(literal(Some("@7f0a0012")), None);
        assert_eq!(literal(Some("?attr")), None);
        assert_eq!(literal(Some("  ")), None);
        assert_eq!(literal(None), None);
        assert_eq!(literal(Some("1.0")), Some("1.0".to_owned()));
    }
}
