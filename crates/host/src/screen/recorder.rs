//! A session's recording: every picture of a [`ScreenFeed`] from the first key picture on,
//! written to an MP4 by ffmpeg (the H.264 copied as it is, PNG pictures encoded), each
//! stamped with the moment it arrived so the video keeps the session's own pace.

use super::{Frame, ScreenFeed, StreamConfig};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, Command};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

pub struct Recorder {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<bool>>,
    path: PathBuf,
}

fn ffmpeg(config: &StreamConfig, path: &Path) -> std::io::Result<tokio::process::Child> {
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-use_wallclock_as_timestamps", "1"]);
    if config.is_h264() {
        command.args(["-f", "h264", "-i", "pipe:0", "-c:v", "copy"]);
    } else {
        command.args(["-f", "image2pipe", "-c:v", "png", "-i", "pipe:0"]);
        command.args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    }
    command
        .args(["-fps_mode", "passthrough", "-movflags", "+faststart"])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
}

impl Recorder {
    /// Starts recording `feed` into `path`.
    pub fn start(feed: &ScreenFeed, path: PathBuf) -> Recorder {
        let (stop, stopped) = oneshot::channel();
        let watch = feed.watch();
        let out = path.clone();
        let task = tokio::spawn(async move { record(watch, stopped, &out).await });
        Recorder { stop, task, path }
    }

    /// Ends the recording; the file, if a picture was ever recorded.
    pub async fn finish(self) -> Option<PathBuf> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(true)) => Some(self.path),
            Ok(Ok(false)) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, path = %self.path.display(), "the session's recording failed");
                None
            }
            Err(_) => None,
        }
    }
}

async fn record(watch: super::Watch, mut stopped: oneshot::Receiver<()>, path: &Path) -> std::io::Result<bool> {
    let mut live = watch.live;
    let mut backlog: std::collections::VecDeque<Frame> = watch.catch_up.into();
    let mut stdin: Option<ChildStdin> = None;
    let mut child = None;
    let mut wrote = false;
    loop {
        let frame = match backlog.pop_front() {
            Some(frame) => frame,
            None => tokio::select! {
                _ = &mut stopped => break,
                frame = live.recv() => match frame {
                    Ok(frame) => frame,
                    // Behind: what was missed is lost to the video, which goes on.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            },
        };
        match frame {
            Frame::Config(config) if child.is_none() => {
                let mut started = ffmpeg(&config, path)?;
                stdin = started.stdin.take();
                child = Some(started);
            }
            Frame::Config(_) => {}
            Frame::Picture(picture) => {
                let Some(pipe) = stdin.as_mut() else { continue };
                if !wrote && !picture.key {
                    continue;
                }
                pipe.write_all(&picture.data).await?;
                wrote = true;
            }
            Frame::Ended(_) => break,
        }
    }
    drop(stdin);
    if let Some(mut child) = child {
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    return Err(std::io::Error::other(format!("ffmpeg failed: {status}")));
                }
            }
            Err(_) => {
                let _ = child.kill().await;
                return Err(std::io::Error::other("ffmpeg did not finish the recording"));
            }
        }
    }
    Ok(wrote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::encoder::Encoder;

    #[tokio::test]
    async fn a_recorded_feed_is_a_playable_mp4() {
        let dir = tempfile::tempdir().unwrap();
        let feed = ScreenFeed::new();
        let recorder = Recorder::start(&feed, dir.path().join("video.mp4"));
        let mut encoder = Encoder::start(64, 48, 10, feed.clone()).unwrap();
        for n in 0..20u8 {
            encoder.encode(&vec![n * 10; 64 * 48 * 3]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        encoder.finish().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let path = recorder.finish().await.expect("a recording");
        let probe = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries"])
            .args(["stream=codec_name,nb_read_frames", "-of", "csv=p=0"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&probe.stdout).to_string();
        assert!(text.starts_with("h264,"), "{text}");
        let frames: u32 = text.trim().trim_start_matches("h264,").parse().unwrap();
        assert!(frames >= 15, "{text}");
    }
}
