//! Readers for what `adb` and the device's tools print. Pure functions, so every
//! format quirk is tested without a device.
//!
//! Output of `adb shell` on old devices (before adb's shell protocol v2) ends lines
//! with "\r\n", sometimes "\r\r\n"; every reader here ignores trailing carriage
//! returns.

use std::collections::{BTreeMap, BTreeSet};

use domain::device::Resolution;

/// A device's connection state, the second column of `adb devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    /// Connected and authorised: usable.
    Device,
    /// The user has not accepted this computer's key on the phone yet.
    Unauthorized,
    /// Connected but not responding (booting, or a broken connection).
    Offline,
    /// The host user may not open the USB device (udev rules on Linux).
    NoPermissions,
    /// Anything else adb reports: recovery, sideload, bootloader, authorizing, …
    Other(String),
}

impl DeviceState {
    fn parse(word: &str) -> DeviceState {
        match word {
            "device" => DeviceState::Device,
            "unauthorized" => DeviceState::Unauthorized,
            "offline" => DeviceState::Offline,
            other => DeviceState::Other(other.to_owned()),
        }
    }
}

/// One line of `adb devices -l`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDevice {
    pub serial: String,
    pub state: DeviceState,
    /// `model:` — adb writes spaces of the model name as underscores.
    pub model: Option<String>,
    pub product: Option<String>,
    /// `device:`, the device's code name (e.g. "shiba").
    pub device: Option<String>,
    pub transport_id: Option<String>,
}

/// The devices listed by `adb devices` or `adb devices -l`, in adb's order.
pub fn parse_devices(stdout: &str) -> Vec<ListedDevice> {
    lines(stdout)
        .filter(|line| !line.starts_with('*') && !line.starts_with("List of devices"))
        .filter_map(parse_device_line)
        .collect()
}

fn parse_device_line(line: &str) -> Option<ListedDevice> {
    let mut words = line.split_whitespace();
    let serial = words.next()?;
    let state_word = words.next()?;
    let state = if state_word == "no" && line.contains("no permissions") {
        DeviceState::NoPermissions
    } else {
        DeviceState::parse(state_word)
    };
    let mut device =
        ListedDevice { serial: serial.to_owned(), state, model: None, product: None, device: None, transport_id: None };
    // The "no permissions" explanation has words with colons too (a URL); only the
    // known keys are taken.
    for (key, value) in words.filter_map(|w| w.split_once(':')) {
        let slot = match key {
            "model" => &mut device.model,
            "product" => &mut device.product,
            "device" => &mut device.device,
            "transport_id" => &mut device.transport_id,
            _ => continue,
        };
        *slot = Some(value.to_owned());
    }
    Some(device)
}

/// `adb shell getprop` output (`[key]: [value]` lines) as a map. A value with line
/// breaks spans several lines until one ends with `]`.
pub fn parse_getprop(stdout: &str) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let mut unfinished: Option<(String, String)> = None;
    // Blank lines are kept: inside a multi-line value they are part of it.
    for line in stdout.lines().map(|line| line.trim_end_matches('\r')) {
        if let Some((key, mut value)) = unfinished.take() {
            value.push('\n');
            match line.strip_suffix(']') {
                Some(last) => {
                    value.push_str(last);
                    properties.insert(key, value);
                }
                None => {
                    value.push_str(line);
                    unfinished = Some((key, value));
                }
            }
            continue;
        }
        let Some((key, value)) = line.strip_prefix('[').and_then(|rest| rest.split_once("]: [")) else {
            continue;
        };
        match value.strip_suffix(']') {
            Some(value) => {
                properties.insert(key.to_owned(), value.to_owned());
            }
            None => unfinished = Some((key.to_owned(), value.to_owned())),
        }
    }
    properties
}

/// The physical screen size from `wm size` ("Physical size: 1080x2400"); an
/// "Override size" set by the user is not the hardware's.
pub fn parse_wm_size(stdout: &str) -> Option<Resolution> {
    lines(stdout).find_map(|line| {
        let size = line.strip_prefix("Physical size:")?.trim();
        let (width, height) = size.split_once('x')?;
        Some(Resolution { width: width.trim().parse().ok()?, height: height.trim().parse().ok()? })
    })
}

/// `MemTotal` of `/proc/meminfo`, in bytes (the file says kB, meaning KiB).
pub fn parse_meminfo_total(stdout: &str) -> Option<u64> {
    lines(stdout).find_map(|line| {
        let rest = line.strip_prefix("MemTotal:")?;
        let mut words = rest.split_whitespace();
        let number: u64 = words.next()?.parse().ok()?;
        let factor = match words.next() {
            Some("kB") | Some("KB") | Some("kb") => 1024,
            None => 1,
            Some(_) => return None,
        };
        number.checked_mul(factor)
    })
}

/// `pm list packages` output ("package:com.example") as package names.
pub fn parse_packages(stdout: &str) -> BTreeSet<String> {
    lines(stdout)
        .filter_map(|line| line.strip_prefix("package:"))
        .map(str::trim)
        .filter(|name| is_package_name(name))
        .map(str::to_owned)
        .collect()
}

/// A Java-style package name as Android allows it: dot-separated segments of
/// letters, digits and underscores. Checked before a name read from a device is
/// passed back to adb, which hands it to the device's shell.
pub fn is_package_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .split('.')
            .all(|segment| !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// A Dalvik/ART size property such as `dalvik.vm.heapsize` ("512m"), in bytes.
pub fn parse_vm_size(value: &str) -> Option<u64> {
    let value = value.trim();
    let (digits, factor) = match value.as_bytes().last()? {
        b'k' | b'K' => (&value[..value.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&value[..value.len() - 1], 1 << 20),
        b'g' | b'G' => (&value[..value.len() - 1], 1 << 30),
        _ => (value, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|line| line.trim_end_matches('\r')).filter(|line| !line.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn devices_with_every_state_and_noise() {
        let out = "* daemon not running; starting now at tcp:5037\n\
            * daemon started successfully\n\
            List of devices attached\n\
            38181FDJH000AB         device usb:1-1.2 product:shiba model:Pixel_8 device:shiba transport_id:3\n\
            R58M123ABC             unauthorized usb:1-1.3 transport_id:4\r\n\
            emulator-5554\toffline transport_id:1\n\
            0123456789ABCDEF       no permissions (user in plugdev group; are your udev rules wrong?); see [http://developer.android.com/tools/device.html] usb:1-2\n\
            192.168.1.20:5555      recovery product:x model:y device:z\n\
            \n";
        let devices = parse_devices(out);
        let states: Vec<_> = devices.iter().map(|d| (d.serial.as_str(), d.state.clone())).collect();
        assert_eq!(
            states,
            [
                ("38181FDJH000AB", DeviceState::Device),
                ("R58M123ABC", DeviceState::Unauthorized),
                ("emulator-5554", DeviceState::Offline),
                ("0123456789ABCDEF", DeviceState::NoPermissions),
                ("192.168.1.20:5555", DeviceState::Other("recovery".to_owned())),
            ]
        );
        assert_eq!(
            devices[0],
            ListedDevice {
                serial: "38181FDJH000AB".to_owned(),
                state: DeviceState::Device,
                model: Some("Pixel_8".to_owned()),
                product: Some("shiba".to_owned()),
                device: Some("shiba".to_owned()),
                transport_id: Some("3".to_owned()),
            }
        );
        assert_eq!(devices[1].transport_id.as_deref(), Some("4"));
        assert_eq!(devices[1].model, None);
        assert_eq!(devices[3].model, None);
        assert_eq!(parse_devices("List of devices attached\n\n"), []);
        assert_eq!(parse_devices("SERIAL\tdevice\n")[0].state, DeviceState::Device);
    }

    #[test]
    fn getprop_lines_including_multi_line_values() {
        let out = "[ro.product.model]: [Pixel 8]\r\n\
            [ro.build.version.release]: [14]\r\n\
            [empty]: []\n\
            [ro.product.cpu.abilist]: [arm64-v8a,armeabi-v7a]\n\
            [motd]: [line one\n\
            line two]\n\
            garbage line\n\
            [no.value]\n\
            [brackets]: [a [b] c]\n";
        let props = parse_getprop(out);
        assert_eq!(props["ro.product.model"], "Pixel 8");
        assert_eq!(props["ro.build.version.release"], "14");
        assert_eq!(props["empty"], "");
        assert_eq!(props["motd"], "line one\nline two");
        assert_eq!(props["brackets"], "a [b] c");
        assert!(!props.contains_key("no.value"));
        assert_eq!(props.len(), 6);
    }

    #[test]
    fn screen_memory_packages_and_vm_sizes() {
        assert_eq!(
            parse_wm_size("Physical size: 1440x3120\r\nOverride size: 1080x2340\r\n"),
            Some(Resolution { width: 1440, height: 3120 })
        );
        assert_eq!(parse_wm_size("Override size: 1080x2340"), None);
        assert_eq!(parse_wm_size("Physical size: axb"), None);

        let meminfo = "MemTotal:        7842104 kB\nMemFree:          201456 kB\n";
        assert_eq!(parse_meminfo_total(meminfo), Some(7_842_104 * 1024));
        assert_eq!(parse_meminfo_total("MemFree: 1 kB"), None);
        assert_eq!(parse_meminfo_total("MemTotal: 18446744073709551615 kB"), None);

        let packages = parse_packages(
            "package:com.android.chrome\r\npackage:com.example.app_1\npackage:bad;rm -rf\nnoise\npackage:\n",
        );
        assert_eq!(packages.into_iter().collect::<Vec<_>>(), ["com.android.chrome", "com.example.app_1"]);

        assert_eq!(parse_vm_size("512m"), Some(512 << 20));
        assert_eq!(parse_vm_size("16384k"), Some(16 << 20));
        assert_eq!(parse_vm_size("1g"), Some(1 << 30));
        assert_eq!(parse_vm_size("4096"), Some(4096));
        assert_eq!(parse_vm_size("m"), None);
        assert_eq!(parse_vm_size(""), None);
    }

    #[test]
    fn package_names() {
        for ok in ["com.example", "a", "com.example.app_2", "A.B9"] {
            assert!(is_package_name(ok), "{ok}");
        }
        for bad in ["", ".a", "a.", "a..b", "a b", "a;b", "a/b", "a$(x)", "é.a"] {
            assert!(!is_package_name(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn getprop_round_trips(props in proptest::collection::btree_map(
            "[a-z][a-z0-9._]{0,20}",
            "[ -Z^-~]{0,30}(\n[ -Z^-~]{0,10}){0,2}",
            0..20,
        )) {
            let out: String = props.iter().map(|(k, v)| format!("[{k}]: [{v}]\n")).collect();
            prop_assert_eq!(parse_getprop(&out), props);
        }

        #[test]
        fn readers_never_panic(text in "(\\PC|\n|\r|\\[|\\]|:|x|package:){0,200}") {
            let _ = parse_devices(&text);
            let _ = parse_getprop(&text);
            let _ = parse_wm_size(&text);
            let _ = parse_meminfo_total(&text);
            let _ = parse_packages(&text);
            let _ = parse_vm_size(&text);
        }
    }
}
