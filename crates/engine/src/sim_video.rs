//! A simulated job's "Video": a real H.264 MP4 of the simulated screen, as long as the
//! job's time on its device.
//!
//! The screen only changes when a step starts or ends, so the video has one frame per
//! change, each shown until the next ([`frame_plan`]); ffmpeg encodes it with a variable
//! frame rate. A 30-minute job is a handful of frames: cheap to encode whatever its length.
//! The frames come from the job's snapshot (its resolved timeline), so the video agrees
//! with GetJob and ListTests, stops and timeouts included.
//!
//! The encoder is ffmpeg ([`host::ffmpeg`]); without it there is no video and the job's
//! message says so ([`MISSING_FFMPEG`]). The encoded video is kept in the blob store once
//! the job is final, so later downloads do not encode again.

use std::fmt::Write as _;
use std::path::Path;

use domain::job::snapshot::JobSnapshot;
use domain::job::status::ExecutionResult;
use domain::run::Job;
use store::blob::{BlobError, BlobStore};
use thiserror::Error;

use crate::sim_artifacts::screen_png;

/// The job message's addition when the video could not be made for want of ffmpeg.
pub const MISSING_FFMPEG: &str = "The video could not be made: ffmpeg is not installed on the farmhand server";

/// One still of the video: how the screen looks from `at_ms` until the next frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub at_ms: i64,
    /// The status bar's colour: PENDING until a test ends, then the last result seen.
    pub result: ExecutionResult,
    /// How far the tests have got, 0 to 1.
    pub progress: f64,
}

/// The frames of a final job's video, in time order, the first at the job's start; the
/// video ends at the job's end. Empty when the job never had a device.
pub fn frame_plan(snapshot: &JobSnapshot) -> Vec<Frame> {
    let (Some(start), Some(end), true) = (snapshot.started_ms, snapshot.stopped_ms, snapshot.is_final) else {
        return Vec::new();
    };
    let tests = snapshot.suites.get(1).map(|s| s.tests.as_slice()).unwrap_or_default();
    let total = tests.len().max(1) as f64;
    let done_by = |at: i64| {
        tests.iter().filter(|t| t.stopped_ms.is_some_and(|s| s <= at) && t.started_ms.is_some()).count() as f64 / total
    };

    // The screen changes when a test ends (its result colours the status bar, the
    // progress bar grows) and when the job ends.
    let mut changes: Vec<(i64, ExecutionResult)> = vec![(start, ExecutionResult::Pending)];
    for test in tests.iter().filter(|t| t.started_ms.is_some()) {
        if let Some(at) = test.stopped_ms {
            changes.push((at, test.result));
        }
    }
    changes.push((end, snapshot.result));
    // Stable: of two changes at one instant, the one listed later (the job's end) wins.
    changes.sort_by_key(|(at, _)| *at);

    let mut frames: Vec<Frame> = Vec::new();
    for (at, result) in changes.into_iter().filter(|(at, _)| (start..=end).contains(at)) {
        let frame = Frame { at_ms: at, result, progress: done_by(at) };
        match frames.last_mut() {
            Some(last) if last.at_ms == at => *last = frame,
            _ => frames.push(frame),
        }
    }
    frames
}

pub use host::ffmpeg::find as ffmpeg;

/// Whether a simulated job's snapshot should carry [`MISSING_FFMPEG`]: it wanted a video
/// and, being final, would have one.
pub fn video_missing(job: &Job, snapshot: &JobSnapshot) -> bool {
    job.video_capture
        && !job.driver.is_real()
        && snapshot.is_final
        && snapshot.started_ms.is_some()
        && ffmpeg().is_none()
}

#[derive(Debug, Error)]
pub enum VideoError {
    #[error("{MISSING_FFMPEG}")]
    NoFfmpeg,
    #[error("the job has no video")]
    NoVideo,
    #[error("could not write the frames: {0}")]
    Io(#[from] std::io::Error),
    #[error("ffmpeg failed: {0}")]
    Ffmpeg(String),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// Encodes `frames` (each a PNG and how long it shows) as an H.264 MP4 with `ffmpeg`.
pub async fn encode(ffmpeg: &Path, frames: &[(Vec<u8>, i64)]) -> Result<Vec<u8>, VideoError> {
    let dir = tempfile::tempdir()?;
    let mut list = String::from("ffconcat version 1.0\n");
    for (i, (png, duration_ms)) in frames.iter().enumerate() {
        let name = format!("{i:05}.png");
        tokio::fs::write(dir.path().join(&name), png).await?;
        let _ = writeln!(list, "file {name}\nduration {}", seconds((*duration_ms).max(1)));
    }
    // The concat demuxer ignores the last entry's duration unless the file comes again.
    if !frames.is_empty() {
        let _ = writeln!(list, "file {:05}.png", frames.len() - 1);
    }
    tokio::fs::write(dir.path().join("frames.txt"), list).await?;
    let args = [
        "-f",
        "concat",
        "-i",
        "frames.txt",
        // H.264 in 4:2:0 needs even sides; the frames keep the device's aspect ratio.
        "-vf",
        "scale=trunc(iw/2)*2:trunc(ih/2)*2",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "veryfast",
        "-movflags",
        "+faststart",
        "video.mp4",
    ];
    host::ffmpeg::run(ffmpeg, dir.path(), &args).await.map_err(VideoError::Ffmpeg)?;
    let out = dir.path().join("video.mp4");
    Ok(tokio::fs::read(&out).await?)
}

/// The video of a final simulated job: the one kept at `key`, or a new one encoded and
/// kept there.
pub async fn video(blobs: &BlobStore, key: &str, job: &Job, snapshot: &JobSnapshot) -> Result<Vec<u8>, VideoError> {
    match read_blob(blobs, key).await {
        Ok(bytes) => return Ok(bytes),
        Err(VideoError::Blob(BlobError::NotFound(_))) => {}
        Err(e) => return Err(e),
    }
    let ffmpeg = ffmpeg().ok_or(VideoError::NoFfmpeg)?;
    let plan = frame_plan(snapshot);
    let end = snapshot.stopped_ms.ok_or(VideoError::NoVideo)?;
    if plan.is_empty() {
        return Err(VideoError::NoVideo);
    }
    let frames: Vec<(Vec<u8>, i64)> = plan
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let until = plan.get(i + 1).map_or(end, |next| next.at_ms);
            (screen_png(job, f.result, f.progress), until - f.at_ms)
        })
        .collect();
    let bytes = encode(ffmpeg, &frames).await?;
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes.clone()))]);
    blobs.put_stream(key, body, u64::MAX).await?;
    Ok(bytes)
}

async fn read_blob(blobs: &BlobStore, key: &str) -> Result<Vec<u8>, VideoError> {
    use futures::TryStreamExt as _;
    let stream = blobs.get_stream(key).await?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await?;
    Ok(chunks.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fixtures::{finished, job, seen, test, ASSIGNED_MS};
    use domain::device::DevicePlatform;

    #[test]
    fn one_frame_per_change_spanning_the_jobs_device_time() {
        let job = job(
            DevicePlatform::Android,
            "APPIUM_PYTHON",
            vec![test("a", 1_800, ExecutionResult::Passed, None), test("b", 10, ExecutionResult::Failed, None)],
        );
        let snapshot = finished(&job, None);
        let frames = frame_plan(&snapshot);
        let (start, end) = (snapshot.started_ms.expect("started"), snapshot.stopped_ms.expect("ended"));
        assert_eq!(frames.first().map(|f| f.at_ms), Some(start));
        assert!(frames.iter().all(|f| (start..end).contains(&f.at_ms) || f.at_ms == end));
        assert!(frames.windows(2).all(|w| w[0].at_ms < w[1].at_ms), "{frames:?}");
        // A 30-minute job is a handful of frames: its start, each test's end, its end.
        assert_eq!(frames.len(), 4, "{frames:?}");
        let b_end = snapshot.suites[1].tests[1].stopped_ms.expect("b ended");
        let at_b_end = frames.iter().find(|f| f.at_ms == b_end).expect("a frame when b ends");
        assert_eq!(at_b_end.result, ExecutionResult::Failed);
        assert!((at_b_end.progress - 1.0).abs() < 1e-9);
        assert_eq!(frames.last().map(|f| f.result), Some(snapshot.result));
        assert_eq!(end - start, 4_000 + 5_000 + 1_810_000 + 5_000);
    }

    #[test]
    fn a_job_not_yet_over_or_never_assigned_has_no_frames() {
        let job = job(DevicePlatform::Android, "APPIUM_PYTHON", vec![test("a", 10, ExecutionResult::Passed, None)]);
        assert!(frame_plan(&seen(&job, None, ASSIGNED_MS + 5_000)).is_empty());
        let mut waiting = job.clone();
        waiting.assigned_ms = None;
        assert!(frame_plan(&finished(&waiting, Some(ASSIGNED_MS))).is_empty());
    }

    #[tokio::test]
    async fn the_encoded_video_is_h264_and_as_long_as_its_frames() {
        let (Some(ffmpeg), Some(ffprobe)) = (ffmpeg(), which("ffprobe")) else {
            panic!("this test needs ffmpeg and ffprobe on PATH (.ci/run installs them)");
        };
        let job = job(DevicePlatform::Android, "APPIUM_PYTHON", vec![]);
        let frames = vec![
            (screen_png(&job, ExecutionResult::Pending, 0.0), 600_000),
            (screen_png(&job, ExecutionResult::Passed, 1.0), 1_200_000),
        ];
        let bytes = encode(ffmpeg, &frames).await.expect("encoded");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("v.mp4");
        std::fs::write(&file, bytes).expect("write");
        let out = std::process::Command::new(ffprobe)
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=codec_name:format=duration",
                "-of",
                "default=nw=1",
            ])
            .arg(&file)
            .output()
            .expect("ffprobe");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("codec_name=h264"), "{text}");
        let duration: f64 =
            text.lines().find_map(|l| l.strip_prefix("duration=")).and_then(|d| d.parse().ok()).expect("a duration");
        assert!((duration - 1_800.0).abs() < 18.0, "{duration}");
    }

    fn which(name: &str) -> Option<std::path::PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
    }
}
