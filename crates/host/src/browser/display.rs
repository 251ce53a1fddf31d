//! A session's own X display: an Xvfb server that picks a free display number itself
//! (`-displayfd`) and says which on its stdout, so concurrent sessions never race for one.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Display {
    child: Child,
    pub number: u32,
}

impl Display {
    pub async fn start(width: u32, height: u32) -> Result<Display, String> {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-noreset", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start Xvfb (Debian package xvfb): {e}"))?;
        let stdout = child.stdout.take().ok_or("Xvfb has no stdout")?;
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        let read = stdout.read_line(&mut line);
        match tokio::time::timeout(Duration::from_secs(15), read).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return Err("Xvfb did not report a display within 15 s".to_string()),
        }
        let number = line.trim().parse().map_err(|_| format!("Xvfb reported display {line:?}"))?;
        Ok(Display { child, number })
    }

    /// The `DISPLAY` value for programs on this display.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
