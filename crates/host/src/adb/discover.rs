//! Which Android devices are attached, and what each one is: `adb devices -l`, then
//! per usable device its system properties, screen size and memory.

use std::collections::BTreeMap;

use domain::device::{DeviceFormFactor, Resolution};

use super::command::Adb;
use super::error::AdbError;
use super::parse::{
    parse_devices, parse_getprop, parse_meminfo_total, parse_vm_size, parse_wm_size, DeviceState, ListedDevice,
};

/// An attached device as adb describes it. Everything but `serial` and `state` is
/// `None` when the device did not say — always so for a device that is not in the
/// `device` state (an unauthorised phone answers nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDevice {
    pub serial: String,
    pub state: DeviceState,
    /// `ro.product.model` ("Pixel 8"), else the `model:` of `adb devices -l`.
    pub model: Option<String>,
    /// `ro.product.manufacturer` ("Google", "samsung").
    pub manufacturer: Option<String>,
    /// `ro.build.version.release` ("14"; a preview build may give a code name).
    pub os_version: Option<String>,
    /// `ro.build.version.sdk`, the API level.
    pub sdk: Option<u32>,
    /// `ro.product.cpu.abi` ("arm64-v8a").
    pub abi: Option<String>,
    /// `wm size`'s physical size.
    pub resolution: Option<Resolution>,
    /// `MemTotal` of `/proc/meminfo`: RAM in bytes.
    pub memory_bytes: Option<u64>,
    /// `dalvik.vm.heapsize`, in bytes.
    pub heap_size_bytes: Option<u64>,
    /// `ro.build.id` ("AP2A.240805.005").
    pub build_id: Option<String>,
    /// From `ro.build.characteristics`, which lists "tablet" on tablets.
    pub form_factor: DeviceFormFactor,
    /// `gsm.operator.alpha`, the mobile network's name, when there is a SIM.
    pub carrier: Option<String>,
}

impl AttachedDevice {
    /// A device known only from its `adb devices -l` line.
    fn listed(listed: ListedDevice) -> AttachedDevice {
        AttachedDevice {
            // adb writes the model's spaces as underscores in this listing.
            model: listed.model.map(|m| m.replace('_', " ")),
            serial: listed.serial,
            state: listed.state,
            manufacturer: None,
            os_version: None,
            sdk: None,
            abi: None,
            resolution: None,
            memory_bytes: None,
            heap_size_bytes: None,
            build_id: None,
            form_factor: DeviceFormFactor::Phone,
            carrier: None,
        }
    }

    fn apply_properties(&mut self, properties: &BTreeMap<String, String>) {
        let get = |key: &str| properties.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
        if let Some(model) = get("ro.product.model") {
            self.model = Some(model);
        }
        self.manufacturer = get("ro.product.manufacturer").or_else(|| get("ro.product.brand"));
        self.os_version = get("ro.build.version.release");
        self.sdk = get("ro.build.version.sdk").and_then(|s| s.parse().ok());
        self.abi = get("ro.product.cpu.abi");
        self.heap_size_bytes = get("dalvik.vm.heapsize").and_then(|s| parse_vm_size(&s));
        self.build_id = get("ro.build.id");
        // Dual-SIM phones list one name per slot, e.g. "T-Mobile," with an empty slot.
        self.carrier = get("gsm.operator.alpha")
            .and_then(|names| names.split(',').map(str::trim).find(|name| !name.is_empty()).map(str::to_owned));
        if get("ro.build.characteristics").is_some_and(|c| c.split(',').any(|t| t == "tablet")) {
            self.form_factor = DeviceFormFactor::Tablet;
        }
    }
}

impl Adb {
    /// `adb devices -l`.
    pub async fn devices(&self) -> Result<Vec<ListedDevice>, AdbError> {
        let args = ["devices", "-l"].map(std::ffi::OsStr::new);
        let output = self.run(None, &args, self.command_timeout).await?;
        Ok(parse_devices(&output.stdout_text()))
    }

    /// Every attached device, described as far as it lets itself be. A device that
    /// fails to answer (unplugged during discovery, say) is still listed, with what
    /// `adb devices -l` said about it; adb itself failing is an error.
    pub async fn discover(&self) -> Result<Vec<AttachedDevice>, AdbError> {
        let mut attached = Vec::new();
        for listed in self.devices().await? {
            let mut device = AttachedDevice::listed(listed);
            if device.state == DeviceState::Device {
                if let Err(e) = self.describe(&mut device).await {
                    tracing::warn!(serial = %device.serial, "cannot read the device's details: {e}");
                }
            }
            attached.push(device);
        }
        Ok(attached)
    }

    async fn describe(&self, device: &mut AttachedDevice) -> Result<(), AdbError> {
        let serial = device.serial.as_str();
        let properties = parse_getprop(&self.shell(serial, &["getprop"]).await?);
        let resolution = parse_wm_size(&self.shell(serial, &["wm", "size"]).await?);
        let memory = parse_meminfo_total(&self.shell(serial, &["cat", "/proc/meminfo"]).await?);
        device.apply_properties(&properties);
        device.resolution = resolution;
        device.memory_bytes = memory;
        Ok(())
    }
}
