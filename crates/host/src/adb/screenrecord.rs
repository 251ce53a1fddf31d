//! A job's screen recording on an adb device: `screenrecord` stops by itself after at most
//! 3 minutes (`--time-limit 180`), so segments are chained one after another until the job
//! ends, then pulled in order (the executor joins them into one Video with ffmpeg).
//!
//! A stop asks screenrecord to finish (`pkill -INT`): it writes the MP4's index on SIGINT,
//! whereas killing the local adb client would leave the device's file unplayable.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::command::{on_device, Adb};

/// screenrecord's own ceiling on one recording, in seconds.
pub const SEGMENT_SECONDS: &str = "180";
/// A segment that ends sooner than this without being stopped means the device cannot
/// record (no screenrecord, a secure screen): chaining more would spin.
const SHORTEST_SEGMENT: Duration = Duration::from_millis(200);

/// Where segment `index` is written on the device.
fn device_path(index: usize) -> String {
    format!("/sdcard/farmhand-screen-{index:03}.mp4")
}

/// A recording in progress; [`Recording::finish`] ends it.
pub struct Recording {
    stop: oneshot::Sender<()>,
    task: JoinHandle<usize>,
}

impl Adb {
    /// Starts recording the screen of `serial`, segment after segment.
    pub fn start_recording(&self, serial: &str) -> Recording {
        let (stop, mut stopped) = oneshot::channel();
        let adb = self.clone();
        let serial = serial.to_owned();
        let task = tokio::spawn(async move {
            let mut segments = 0;
            loop {
                let path = device_path(segments);
                let args = on_device(&serial, &["shell", "screenrecord", "--time-limit", SEGMENT_SECONDS, &path])
                    .iter()
                    .map(|a| a.to_os_string())
                    .collect::<Vec<_>>();
                let spawned = Command::new(&adb.program)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .kill_on_drop(true)
                    .spawn();
                let Ok(mut child) = spawned else { break };
                segments += 1;
                let began = tokio::time::Instant::now();
                tokio::select! {
                    status = child.wait() => {
                        let ok = status.is_ok_and(|s| s.success());
                        if !ok || began.elapsed() < SHORTEST_SEGMENT {
                            tracing::warn!(%serial, "screenrecord ended early; the job's video stops here");
                            break;
                        }
                    }
                    _ = &mut stopped => {
                        let interrupt = on_device(&serial, &["shell", "pkill", "-INT", "screenrecord"]);
                        if let Err(e) = adb.run(Some(&serial), &interrupt, adb.command_timeout).await {
                            tracing::warn!(%serial, error = %e, "could not stop screenrecord");
                        }
                        let _ = tokio::time::timeout(adb.command_timeout, child.wait()).await;
                        break;
                    }
                }
            }
            segments
        });
        Recording { stop, task }
    }
}

impl Recording {
    /// Stops the recording and brings its segments into `dir`, in order, removing them from
    /// the device. A segment that cannot be pulled is left out.
    pub async fn finish(self, adb: &Adb, serial: &str, dir: &Path) -> Vec<PathBuf> {
        let _ = self.stop.send(());
        let segments = self.task.await.unwrap_or_default();
        let mut pulled = Vec::with_capacity(segments);
        for index in 0..segments {
            let remote = device_path(index);
            let local = dir.join(format!("screen-{index:03}.mp4"));
            let target = local.display().to_string();
            match adb.run(Some(serial), &on_device(serial, &["pull", &remote, &target]), adb.install_timeout).await {
                Ok(_) if local.is_file() => pulled.push(local),
                Ok(_) => tracing::warn!(%serial, %remote, "pulled segment missing"),
                Err(e) => tracing::warn!(%serial, %remote, error = %e, "pulling a screen recording failed"),
            }
            let _ =
                adb.run(Some(serial), &on_device(serial, &["shell", "rm", "-f", &remote]), adb.command_timeout).await;
        }
        pulled
    }
}
