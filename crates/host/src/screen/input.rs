//! A device's input during a remote access session: one `adb shell` kept open for the whole
//! session, fed one command line per gesture (a process per touch would cost adb's
//! connection setup, tens of milliseconds, on every tap).
//!
//! The line is built only from [`DeviceInput`], whose numbers are numbers and whose text is
//! printable ASCII; the text is still quoted for the device's shell, so nothing a viewer
//! types is ever run.

use domain::remote_access::input::DeviceInput;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

use crate::adb::Adb;

/// The device shell command line for `input` (no trailing newline).
pub fn shell_line(input: &DeviceInput) -> String {
    match input {
        DeviceInput::Tap { x, y } => format!("input tap {x} {y}"),
        // A swipe that does not move is Android's long press.
        DeviceInput::LongPress { x, y, ms } => format!("input swipe {x} {y} {x} {y} {ms}"),
        DeviceInput::Swipe { x1, y1, x2, y2, ms } => format!("input swipe {x1} {y1} {x2} {y2} {ms}"),
        DeviceInput::Text { text } => {
            // `input text` reads "%s" as a space and stops at a real one.
            let spaced = text.replace(' ', "%s");
            format!("input text {}", quote(&spaced))
        }
        DeviceInput::Key { key } => format!("input keyevent {}", key.keycode()),
        DeviceInput::Rotate { rotation } => format!(
            "settings put system accelerometer_rotation 0; settings put system user_rotation {}",
            rotation.quarter_turns()
        ),
    }
}

/// Single quotes for a POSIX shell (the device's `sh`), the one quoting with no special
/// characters inside: a `'` in the text closes, escapes and reopens.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The open shell.
pub struct InputShell {
    child: Child,
    stdin: ChildStdin,
}

impl InputShell {
    pub fn open(adb: &Adb, serial: &str) -> std::io::Result<InputShell> {
        let mut child = Command::new(&adb.program)
            .args(["-s", serial, "shell"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("adb shell has no stdin"))?;
        Ok(InputShell { child, stdin })
    }

    pub async fn send(&mut self, input: &DeviceInput) -> std::io::Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(std::io::Error::other(format!("the device's shell ended ({status})")));
        }
        let mut line = shell_line(input);
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await
    }

    /// Ends the shell: `exit`, then a kill if it lingers.
    pub async fn close(mut self) {
        let _ = self.stdin.write_all(b"exit\n").await;
        drop(self.stdin);
        if tokio::time::timeout(std::time::Duration::from_secs(2), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::remote_access::input::{Key, Rotation};

    #[test]
    fn gestures_become_input_commands() {
        assert_eq!(shell_line(&DeviceInput::Tap { x: 540, y: 1200 }), "input tap 540 1200");
        assert_eq!(shell_line(&DeviceInput::LongPress { x: 1, y: 2, ms: 800 }), "input swipe 1 2 1 2 800");
        assert_eq!(shell_line(&DeviceInput::Key { key: Key::Home }), "input keyevent KEYCODE_HOME");
        assert_eq!(
            shell_line(&DeviceInput::Rotate { rotation: Rotation::Left }),
            "settings put system accelerometer_rotation 0; settings put system user_rotation 1"
        );
    }

    #[test]
    fn typed_text_is_quoted_and_never_run() {
        let hostile = "a'; reboot; echo '$(id) `id` && \\ b";
        let line = shell_line(&DeviceInput::Text { text: hostile.into() });
        assert_eq!(line, r"input text 'a'\'';%sreboot;%secho%s'\''$(id)%s`id`%s&&%s\%sb'");
        // What the device's shell hands `input` as its one argument: the text, spaces as %s.
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("printf %s {}", line.trim_start_matches("input text "))])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), hostile.replace(' ', "%s"));
    }
}
