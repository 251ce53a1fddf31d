//! A device between jobs: reboot it, wait until it is back, read and clear its log.

use std::time::Duration;

use tokio::time::Instant;

use super::command::{on_device, Adb};
use super::error::AdbError;

impl Adb {
    /// `adb -s SERIAL reboot`; returns once the device has been told, long before
    /// it is back (see [`Adb::wait_for_device`]).
    pub async fn reboot(&self, serial: &str) -> Result<(), AdbError> {
        let args = on_device(serial, &["reboot"]);
        self.run(Some(serial), &args, self.command_timeout).await?;
        Ok(())
    }

    /// Waits until the device is connected again (`wait-for-device`) and has
    /// finished booting (`sys.boot_completed` is 1): adb sees a device well before
    /// its package manager can install anything. Fails with
    /// [`AdbError::Timeout`] when `timeout` passes first.
    pub async fn wait_for_device(&self, serial: &str, timeout: Duration) -> Result<(), AdbError> {
        let deadline = Instant::now() + timeout;
        let remaining = || deadline.saturating_duration_since(Instant::now());
        let wait = on_device(serial, &["wait-for-device"]);
        self.run(Some(serial), &wait, remaining()).await?;

        let boot_completed = on_device(serial, &["shell", "getprop", "sys.boot_completed"]);
        loop {
            // Right after a reboot the device can drop off again; that is part of
            // booting, not a reason to give up before the deadline.
            let answer = match self.run(Some(serial), &boot_completed, remaining()).await {
                Ok(output) => output.stdout_text(),
                Err(AdbError::Timeout { .. }) => String::new(),
                Err(AdbError::DeviceGone { .. } | AdbError::Failed { .. }) if !remaining().is_zero() => String::new(),
                Err(e) => return Err(e),
            };
            if answer.trim() == "1" {
                return Ok(());
            }
            if remaining() <= self.boot_poll_interval {
                return Err(AdbError::Timeout {
                    command: format!("-s {serial} wait-for-device (until boot completed)"),
                    timeout,
                });
            }
            tokio::time::sleep(self.boot_poll_interval).await;
        }
    }

    /// The device's log so far (`logcat -d`), as it printed it.
    pub async fn logcat_dump(&self, serial: &str) -> Result<Vec<u8>, AdbError> {
        let args = on_device(serial, &["logcat", "-d"]);
        Ok(self.run(Some(serial), &args, self.command_timeout).await?.stdout)
    }

    /// Empties the device's log buffers (`logcat -c`), so the next dump holds only
    /// what a job produced.
    pub async fn clear_logcat(&self, serial: &str) -> Result<(), AdbError> {
        let args = on_device(serial, &["logcat", "-c"]);
        self.run(Some(serial), &args, self.command_timeout).await?;
        Ok(())
    }
}
