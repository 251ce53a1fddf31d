//! Copying a phase's output (stdout and stderr share one pipe, so their order is kept) into
//! its own log and the job's combined log, as it is produced.
//!
//! Bytes are written as read, without timestamps or line buffering: the log is exactly
//! what the commands printed, and a progress line without a newline shows up at once.
//! Each chunk is a `write(2)` to both files before the next read, so a crash of farmhand
//! loses nothing it had read; a follower reading the file sees output within a read.
//!
//! The pipe can outlive the phase's shell (a background process holds it until the job
//! ends), so the copy is steered by messages rather than by end-of-file alone.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

/// What copying produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Copied {
    pub bytes: u64,
    /// The first write error; reading went on so the commands never block on a full pipe.
    pub write_error: Option<String>,
    /// Whether the pipe reached end-of-file. Not when a process that left the group (a
    /// daemon that called `setsid`) still holds it.
    pub complete: bool,
}

enum Control {
    /// Copy everything already in the pipe, then append this line; acknowledge.
    Trailer(String, oneshot::Sender<()>),
    /// Stop at end-of-file, or after this long without it.
    Finish(Duration),
}

/// The running copy.
pub(crate) struct Pump {
    task: JoinHandle<Copied>,
    control: mpsc::UnboundedSender<Control>,
}

impl Pump {
    /// Starts copying from `reader` to the end of `phase_log` and `combined_log`.
    pub(crate) fn start(reader: io::PipeReader, phase_log: &Path, combined_log: &Path) -> io::Result<Pump> {
        let reader = pipe::Receiver::from_owned_fd(reader.into())?;
        let outputs =
            Outputs { files: [open_append(phase_log)?, open_append(combined_log)?], copied: Copied::default() };
        let (control, requests) = mpsc::unbounded_channel();
        let task = tokio::spawn(copy(reader, outputs, requests));
        Ok(Pump { task, control })
    }

    /// Appends `line` after all the output the pipe holds now. Called once the shell has
    /// exited, it lands after everything the shell printed.
    pub(crate) async fn trailer(&self, line: String) {
        let (done, wait) = oneshot::channel();
        if self.control.send(Control::Trailer(line, done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Copies until end-of-file, or for at most `drain` more, and reports.
    pub(crate) async fn finish(self, drain: Duration) -> Copied {
        let _ = self.control.send(Control::Finish(drain));
        self.task.await.unwrap_or_default()
    }
}

struct Outputs {
    files: [File; 2],
    copied: Copied,
}

impl Outputs {
    fn write(&mut self, bytes: &[u8]) {
        self.copied.bytes += bytes.len() as u64;
        self.write_own(bytes);
    }

    /// Writes farmhand's own text, which is not counted as output.
    fn write_own(&mut self, bytes: &[u8]) {
        // Plain blocking writes: appends of at most 16 KiB to local files take
        // microseconds, and a hop to the blocking pool per chunk would cost more.
        for file in &mut self.files {
            if let Err(e) = file.write_all(bytes) {
                self.copied.write_error.get_or_insert(format!("writing output: {e}"));
            }
        }
    }

    fn failed_read(&mut self, e: &io::Error) {
        self.copied.write_error.get_or_insert(format!("reading output: {e}"));
    }
}

async fn copy(mut reader: pipe::Receiver, mut out: Outputs, mut control: mpsc::UnboundedReceiver<Control>) -> Copied {
    let mut buf = vec![0u8; 16 * 1024];
    let mut eof = false;
    let mut deadline: Option<Instant> = None;
    loop {
        if eof && deadline.is_some() {
            out.copied.complete = true;
            return out.copied;
        }
        tokio::select! {
            read = reader.read(&mut buf), if !eof => match read {
                Ok(0) => eof = true,
                Ok(n) => out.write(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    out.failed_read(&e);
                    eof = true;
                }
            },
            message = control.recv() => match message {
                Some(Control::Trailer(line, done)) => {
                    if !eof {
                        eof = drain_available(&reader, &mut buf, &mut out);
                    }
                    out.write_own(format!("{line}\n").as_bytes());
                    let _ = done.send(());
                }
                Some(Control::Finish(drain)) => deadline = Some(Instant::now() + drain),
                // The phase was dropped: nobody will read the report.
                None => return out.copied,
            },
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                out.copied.complete = eof;
                return out.copied;
            }
        }
    }
}

/// Copies what the pipe holds right now, without waiting for more. Returns whether the
/// pipe ended.
fn drain_available(reader: &pipe::Receiver, buf: &mut [u8], out: &mut Outputs) -> bool {
    loop {
        match reader.try_read(buf) {
            Ok(0) => return true,
            Ok(n) => out.write(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.failed_read(&e);
                return true;
            }
        }
    }
}

/// Opens `path` for appending: each phase and leftover process adds to the end, whoever
/// else writes to it too.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Appends one line farmhand writes itself to each of `paths`.
pub(crate) fn append_line(paths: &[&Path], line: &str) -> io::Result<()> {
    for path in paths {
        open_append(path)?.write_all(format!("{line}\n").as_bytes())?;
    }
    Ok(())
}
