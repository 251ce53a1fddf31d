//! ffmpeg, the one tool farmhand makes and joins videos with: a child process rather than
//! a library, because Rust's H.264 encoders wrap C code to build (openh264) and Debian's
//! `ffmpeg` is one package. Looked for once on PATH; without it farmhand says so at start
//! and on each job that lacks its video.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

/// The ffmpeg on this process's PATH, looked for once.
pub fn find() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).map(|dir| dir.join("ffmpeg")).find(|p| p.is_file())
        })
        .as_deref()
}

/// Runs ffmpeg in `dir` with `args`, quietly; its complaint when it fails.
pub async fn run(ffmpeg: &Path, dir: &Path, args: &[&str]) -> Result<(), String> {
    let output = tokio::process::Command::new(ffmpeg)
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// ffmpeg as a filter between pipes: `args` read `pipe:0` and write `pipe:1`; what it says
/// on stderr is dropped (a live stream's consumer sees its end instead). Killed when dropped.
pub fn pipe(
    args: &[&str],
) -> std::io::Result<(tokio::process::Child, tokio::process::ChildStdin, tokio::process::ChildStdout)> {
    let mut child = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("ffmpeg has no stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("ffmpeg has no stdout"))?;
    Ok((child, stdin, stdout))
}

/// Joins MP4 `segments` of one stream, in order, into `out` without re-encoding (the
/// concat demuxer with `-c copy`: segments of one recorder share their codec settings).
pub async fn concat(ffmpeg: &Path, segments: &[PathBuf], out: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut list = String::from("ffconcat version 1.0\n");
    for segment in segments {
        // ffconcat quotes with single quotes; a quote inside is written '\''.
        let quoted = segment.display().to_string().replace('\'', r"'\''");
        let _ = writeln!(list, "file '{quoted}'");
    }
    let list_path = dir.path().join("segments.txt");
    tokio::fs::write(&list_path, list).await.map_err(|e| e.to_string())?;
    let out = out.display().to_string();
    run(
        ffmpeg,
        dir.path(),
        &["-f", "concat", "-safe", "0", "-i", "segments.txt", "-c", "copy", "-movflags", "+faststart", &out],
    )
    .await
}
