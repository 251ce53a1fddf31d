//! [`Adb`]: where the `adb` executable is and how long its calls may take, and the one
//! place that runs it — as a direct child with an argument vector (never through a
//! shell), stdin closed, output captured, killed when its time is up.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::Command;

use super::error::AdbError;

/// The `adb` executable farmhand drives devices with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adb {
    pub program: PathBuf,
    /// Limit for quick calls (listing devices, reading properties, uninstalling).
    pub command_timeout: Duration,
    /// Limit for `adb install`: pushing a large APK over USB 2 takes minutes.
    pub install_timeout: Duration,
    /// How long a device may take to come back after a reboot between jobs.
    pub boot_timeout: Duration,
    /// How often [`Adb::wait_for_device`] asks whether boot has completed.
    pub boot_poll_interval: Duration,
}

/// What a finished `adb` call wrote and how it exited.
#[derive(Debug)]
pub(super) struct RawOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl RawOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

impl Adb {
    /// The executable at `program`, with default time limits.
    pub fn new(program: impl Into<PathBuf>) -> Adb {
        Adb {
            program: program.into(),
            command_timeout: Duration::from_secs(30),
            install_timeout: Duration::from_secs(600),
            boot_timeout: Duration::from_secs(300),
            boot_poll_interval: Duration::from_millis(500),
        }
    }

    /// The `adb` found on this process's PATH.
    pub fn from_path_env() -> Result<Adb, AdbError> {
        let path = std::env::var_os("PATH").ok_or(AdbError::NotOnPath)?;
        Adb::find_in(&path).ok_or(AdbError::NotOnPath)
    }

    /// The first executable file named `adb` in the directories of `path_var` (a
    /// PATH-style list).
    pub fn find_in(path_var: &OsStr) -> Option<Adb> {
        std::env::split_paths(path_var)
            .map(|dir| dir.join("adb"))
            .find(|candidate| is_executable(candidate))
            .map(Adb::new)
    }

    /// Runs `adb ARGS` and insists on exit status 0. With `serial`, the call is
    /// about that device (the caller put `-s SERIAL` in `args`), and adb's "not
    /// found" / "offline" complaints become [`AdbError::DeviceGone`].
    pub(super) async fn run(
        &self,
        serial: Option<&str>,
        args: &[&OsStr],
        timeout: Duration,
    ) -> Result<RawOutput, AdbError> {
        let output = self.run_raw(args, timeout).await?;
        if output.status.success() {
            return Ok(output);
        }
        Err(self.failure(serial, args, &output))
    }

    /// `adb -s SERIAL shell COMMAND…`'s standard output. The words are joined by
    /// adb and run by the device's shell, so callers pass fixed words only.
    pub(super) async fn shell(&self, serial: &str, command: &[&str]) -> Result<String, AdbError> {
        let mut rest = vec!["shell"];
        rest.extend_from_slice(command);
        let output = self.run(Some(serial), &on_device(serial, &rest), self.command_timeout).await?;
        Ok(output.stdout_text())
    }

    /// The error for a call that did not do its job, given what it printed.
    pub(super) fn failure(&self, serial: Option<&str>, args: &[&OsStr], output: &RawOutput) -> AdbError {
        let stderr = output.stderr_text();
        match serial {
            Some(serial) if says_device_is_gone(&stderr) => {
                AdbError::DeviceGone { serial: serial.to_owned(), command: command_line(args), stderr }
            }
            _ => AdbError::Failed { command: command_line(args), status: output.status.to_string(), stderr },
        }
    }

    /// Runs `adb ARGS` and returns whatever it did, failing only when it could not
    /// be started or ran out of time (it is killed then).
    pub(super) async fn run_raw(&self, args: &[&OsStr], timeout: Duration) -> Result<RawOutput, AdbError> {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropping the wait on timeout must not leave adb running.
            .kill_on_drop(true);
        let child = self.spawn(&mut command, args).await?;
        match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Err(_elapsed) => Err(AdbError::Timeout { command: command_line(args), timeout }),
            Ok(Err(source)) => Err(AdbError::Spawn { command: command_line(args), source }),
            Ok(Ok(output)) => Ok(RawOutput { status: output.status, stdout: output.stdout, stderr: output.stderr }),
        }
    }

    async fn spawn(&self, command: &mut Command, args: &[&OsStr]) -> Result<tokio::process::Child, AdbError> {
        // ETXTBSY: an executable that was just written (an updated adb, or a test's
        // stand-in) can be briefly "busy" while another thread of this process forks
        // with the written file's descriptor still open. It clears within
        // milliseconds, so a few retries beat failing the device.
        const TEXT_FILE_BUSY: i32 = 26;
        let mut attempts = 0;
        loop {
            match command.spawn() {
                Ok(child) => return Ok(child),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(AdbError::NotFound { program: self.program.clone() })
                }
                Err(e) if e.raw_os_error() == Some(TEXT_FILE_BUSY) && attempts < 5 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(source) => return Err(AdbError::Spawn { command: command_line(args), source }),
            }
        }
    }
}

/// `-s SERIAL` followed by `rest`, as arguments.
pub(super) fn on_device<'a>(serial: &'a str, rest: &[&'a str]) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = vec![OsStr::new("-s"), OsStr::new(serial)];
    args.extend(rest.iter().map(|arg| OsStr::new(*arg)));
    args
}

/// The arguments as one line, for messages (not for running: nothing here is ever
/// handed to a shell).
pub(super) fn command_line(args: &[&OsStr]) -> String {
    args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
}

/// adb's wording when the device it was told to use is not there (unplugged,
/// rebooting, lost its USB or network connection).
fn says_device_is_gone(stderr: &str) -> bool {
    let stderr = stderr.to_ascii_lowercase();
    (stderr.contains("device") && stderr.contains("not found"))
        || stderr.contains("device offline")
        || stderr.contains("no devices/emulators found")
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}
