//! The `adb` driver: Android devices attached to this host, reached only through the
//! `adb` executable (found on PATH or configured), each call a direct child process
//! with an argument vector and a time limit — never a shell on this host.
//!
//! ## Layout
//! - [`command`]: [`Adb`], the executable and its time limits; running it.
//! - [`discover`]: `adb devices -l` + properties → [`AttachedDevice`].
//! - [`fleet_device`]: [`AttachedDevice`] → a private fleet `Device` with one instance.
//! - [`packages`]: install the app, list packages, uninstall.
//! - [`lifecycle`]: reboot, wait until booted, logcat dump and clear.
//! - [`profile`]: an instance profile's cleanup after a job.
//! - [`screenrecord`]: a job's screen recording, 3-minute segments chained.
//! - [`watch`]: plug/unplug events by polling.
//! - [`perf`]: an app's CPU, memory, threads and network on the device, for its samples.
//! - [`parse`]: readers of adb's and the device tools' output.
//! - [`error`]: [`AdbError`], what can go wrong.
//!
//! **Architecture Invariant:** nothing here decides what a job's result is or when a
//! device is free; it reports what adb says and leaves that to the scheduler.

pub mod command;
pub mod discover;
pub mod error;
pub mod fleet_device;
pub mod lifecycle;
pub mod network;
pub mod packages;
pub mod parse;
pub mod perf;
pub mod profile;
pub mod proxy;
pub mod screenrecord;
pub mod watch;

#[cfg(test)]
mod fake_adb;
#[cfg(test)]
mod tests;

pub use command::Adb;
pub use discover::AttachedDevice;
pub use error::AdbError;
pub use fleet_device::{fleet_device_id, to_fleet_device};
pub use parse::{DeviceState, ListedDevice};
pub use profile::IssuedCommand;
pub use screenrecord::Recording;
pub use watch::{watch, DeviceEvent};
