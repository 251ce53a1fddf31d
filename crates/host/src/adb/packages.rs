//! Apps on a device: install the app under test, list what is installed, remove
//! what a job left behind.

use std::collections::BTreeSet;
use std::path::Path;

use super::command::{on_device, Adb, RawOutput};
use super::error::AdbError;
use super::parse::{is_package_name, parse_packages};

impl Adb {
    /// `adb -s SERIAL install -r -g APK`: replaces an installed version (`-r`) and
    /// grants every runtime permission the manifest asks for (`-g`), so tests do not
    /// stop at a permission dialog. Succeeds only if adb reports "Success": old adb
    /// versions exit 0 even when the device refused the APK.
    pub async fn install(&self, serial: &str, apk: &Path) -> Result<(), AdbError> {
        let mut args = on_device(serial, &["install", "-r", "-g"]);
        args.push(apk.as_os_str());
        let output = self.run_raw(&args, self.install_timeout).await?;
        if reports_success(&output) {
            return Ok(());
        }
        match self.failure(Some(serial), &args, &output) {
            gone @ AdbError::DeviceGone { .. } => Err(gone),
            _ => Err(AdbError::InstallFailed {
                serial: serial.to_owned(),
                apk: apk.to_owned(),
                reason: failure_reason(&output),
            }),
        }
    }

    /// The packages installed on the device (`pm list packages`), system ones
    /// included, so that a later listing shows exactly what was added.
    pub async fn list_packages(&self, serial: &str) -> Result<BTreeSet<String>, AdbError> {
        let listing = self.shell(serial, &["pm", "list", "packages"]).await?;
        Ok(parse_packages(&listing))
    }

    /// `adb -s SERIAL uninstall PACKAGE`.
    pub async fn uninstall(&self, serial: &str, package: &str) -> Result<(), AdbError> {
        if !is_package_name(package) {
            return Err(AdbError::InvalidPackage(package.to_owned()));
        }
        let args = on_device(serial, &["uninstall", package]);
        let output = self.run_raw(&args, self.command_timeout).await?;
        if reports_success(&output) {
            return Ok(());
        }
        match self.failure(Some(serial), &args, &output) {
            gone @ AdbError::DeviceGone { .. } => Err(gone),
            _ => Err(AdbError::UninstallFailed {
                serial: serial.to_owned(),
                package: package.to_owned(),
                reason: failure_reason(&output),
            }),
        }
    }
}

/// Whether the package manager's answer, on either stream, is a "Success" line.
fn reports_success(output: &RawOutput) -> bool {
    [&output.stdout, &output.stderr]
        .into_iter()
        .any(|stream| String::from_utf8_lossy(stream).lines().any(|line| line.trim() == "Success"))
}

/// The line that says why ("Failure [INSTALL_FAILED_OLDER_SDK: …]"), else all of
/// stderr, else all of stdout.
fn failure_reason(output: &RawOutput) -> String {
    let (stdout, stderr) = (output.stdout_text(), output.stderr_text());
    let failure_line = [stderr.as_str(), stdout.as_str()]
        .into_iter()
        .flat_map(str::lines)
        .find(|line| line.contains("Failure") || line.starts_with("adb: failed"))
        .map(|line| line.trim().to_owned());
    failure_line.or_else(|| (!stderr.is_empty()).then(|| stderr.clone())).unwrap_or_else(|| {
        let stdout = stdout.trim();
        if stdout.is_empty() {
            format!("adb gave no reason ({})", output.status)
        } else {
            stdout.to_owned()
        }
    })
}
