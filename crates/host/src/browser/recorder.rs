//! A session's video: ffmpeg grabbing its X display into an H.264 MP4. Fragmented MP4
//! (a keyframe and fragment every two seconds) so that a recorder killed with its host
//! still leaves a playable file; stopped with `q` on its stdin so the last fragment is
//! written whole.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// Frames per second: a browser page changes at human speed, and every frame costs the
/// host CPU that its sessions need.
const FPS: u32 = 8;

/// The shortest recording kept: ffmpeg takes a moment to grab its first frame, and a
/// session quit at once must still leave a video that shows it.
const AT_LEAST: Duration = Duration::from_secs(1);

pub struct Recorder {
    child: Child,
    pub path: PathBuf,
    started: tokio::time::Instant,
}

impl Recorder {
    /// Starts recording `display` (`:N`, `width`×`height`) into `path`; `None` with the
    /// reason when there is no ffmpeg (the session then runs without a video).
    pub fn start(display: &str, width: u32, height: u32, path: &Path) -> Result<Recorder, String> {
        let ffmpeg = crate::ffmpeg::find().ok_or("ffmpeg is not on PATH: sessions have no video")?;
        let fps = FPS.to_string();
        let gop = (2 * FPS).to_string();
        let child = Command::new(ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "x11grab", "-draw_mouse", "1"])
            .args(["-framerate", &fps, "-video_size", &format!("{width}x{height}"), "-i", display])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage", "-crf", "30"])
            .args(["-pix_fmt", "yuv420p", "-g", &gop, "-movflags", "frag_keyframe+empty_moov+default_base_moof"])
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start ffmpeg: {e}"))?;
        Ok(Recorder { child, path: path.to_path_buf(), started: tokio::time::Instant::now() })
    }

    /// Ends the recording; the file's path when it holds a video.
    pub async fn stop(mut self) -> Option<PathBuf> {
        tokio::time::sleep_until(self.started + AT_LEAST).await;
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"q").await;
            let _ = stdin.flush().await;
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
        let size = tokio::fs::metadata(&self.path).await.map(|m| m.len()).unwrap_or(0);
        (size > 0).then_some(self.path)
    }
}
