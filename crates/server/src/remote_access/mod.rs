//! Remote access sessions: a person driving a device from a browser. The API
//! (`api::remote_access`) stores a session and the scheduler gives it a device like a job;
//! from there [`live::RemoteSessions`] on one replica serves the device's screen and input
//! (a simulated device's drawn by farmhand, a real one's through its host), viewers watch
//! and drive it over a WebSocket ([`viewer`]), and its end (a stop, the idle timeout, the
//! maximum duration, the device lost) is settled once, with its recording.

pub mod artifacts;
pub mod fmp4;
pub mod live;
pub mod remote;
pub mod viewer;

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteAccessConfig {
    /// Without input and without a viewer for this long (service clock), a session ends.
    pub idle_timeout: Duration,
    /// Pictures per second of a simulated device's screen.
    pub simulated_fps: u32,
    /// Where sessions keep their recording and input log while they run.
    pub work_dir: PathBuf,
}

impl RemoteAccessConfig {
    pub fn with_work_dir(work_dir: PathBuf) -> RemoteAccessConfig {
        RemoteAccessConfig { idle_timeout: Duration::from_secs(10 * 60), simulated_fps: 10, work_dir }
    }
}
