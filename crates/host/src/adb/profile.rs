//! After a job: an instance profile's cleanup of a private device — remove the apps
//! the job added (`packageCleanup`, sparing `excludeAppPackagesFromCleanup`), then
//! reboot (`rebootAfterUse`).

use std::collections::BTreeSet;
use std::fmt;

use domain::device::InstanceProfile;

use super::command::Adb;
use super::error::AdbError;

/// One step of a cleanup, for the job's logs: what was asked of adb and whether it
/// worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCommand {
    /// As typed after `adb`, e.g. `-s SERIAL uninstall com.example.app`.
    pub command: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl fmt::Display for IssuedCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            None => write!(f, "adb {}: ok", self.command),
            Some(e) => write!(f, "adb {}: {e}", self.command),
        }
    }
}

/// Steps taken so far.
#[derive(Default)]
struct Steps(Vec<IssuedCommand>);

impl Steps {
    fn record<T>(&mut self, command: String, outcome: &Result<T, AdbError>) {
        self.0.push(IssuedCommand { command, error: outcome.as_ref().err().map(ToString::to_string) });
    }
}

impl Adb {
    /// Applies `profile` to the device after a job, given the packages it had
    /// before the job. A failed uninstall does not stop the others (each is
    /// reported); a device that is gone or cannot list its packages is not
    /// rebooted. Returns every command issued, in order, with its outcome —
    /// one with an error means the device may need a look before its next job.
    /// The wait for the device to come back after a reboot is bounded by
    /// [`Adb::boot_timeout`].
    pub async fn apply_instance_profile(
        &self,
        serial: &str,
        before: &BTreeSet<String>,
        profile: &InstanceProfile,
    ) -> Vec<IssuedCommand> {
        let mut steps = Steps::default();
        if profile.package_cleanup {
            let listed = self.list_packages(serial).await;
            steps.record(format!("-s {serial} shell pm list packages"), &listed);
            let Ok(now) = listed else {
                return steps.0;
            };
            let keep: BTreeSet<&str> = profile.exclude_app_packages_from_cleanup.iter().map(String::as_str).collect();
            for package in now.iter().filter(|p| !before.contains(*p) && !keep.contains(p.as_str())) {
                let removed = self.uninstall(serial, package).await;
                steps.record(format!("-s {serial} uninstall {package}"), &removed);
                if matches!(removed, Err(AdbError::DeviceGone { .. })) {
                    return steps.0;
                }
            }
        }
        if profile.reboot_after_use {
            let rebooted = self.reboot(serial).await;
            steps.record(format!("-s {serial} reboot"), &rebooted);
            if rebooted.is_ok() {
                let back = self.wait_for_device(serial, self.boot_timeout).await;
                steps.record(format!("-s {serial} wait-for-device"), &back);
            }
        }
        steps.0
    }
}
