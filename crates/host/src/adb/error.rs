//! What can go wrong when talking to a device through `adb`.

use std::path::PathBuf;
use std::time::Duration;

/// A failed `adb` call. `command` is the argument list as it would be typed after
/// `adb`, for messages and logs.
#[derive(Debug, thiserror::Error)]
pub enum AdbError {
    #[error("no `adb` executable at {}; install Android platform-tools or configure its path", program.display())]
    NotFound { program: PathBuf },
    #[error("no `adb` executable on PATH; install Android platform-tools or configure its path")]
    NotOnPath,
    #[error("could not run `adb {command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`adb {command}` did not finish within {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    #[error("`adb {command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        /// The exit status as the OS reports it ("exit status: 1", "signal: 9").
        status: String,
        stderr: String,
    },
    #[error("device {serial} is no longer attached (`adb {command}`: {stderr})")]
    DeviceGone { serial: String, command: String, stderr: String },
    #[error("installing {} on {serial} failed: {reason}", apk.display())]
    InstallFailed { serial: String, apk: PathBuf, reason: String },
    #[error("uninstalling {package} from {serial} failed: {reason}")]
    UninstallFailed { serial: String, package: String, reason: String },
    #[error("`{0}` is not an Android package name")]
    InvalidPackage(String),
}
