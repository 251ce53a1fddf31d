//! A device's live screen for remote access: encoded pictures fanned out to whoever watches
//! (viewers, the recorder, the line to the control plane), and the input sent back.
//!
//! Pictures are H.264 access units when the device can encode (adb `screenrecord`, or
//! ffmpeg for a synthetic screen) and PNG images otherwise (`screencap`). A viewer that
//! joins late is given the pictures since the last key picture first, so it starts at once.

pub mod adb;
pub mod encoder;
pub mod h264;
pub mod hosted;
pub mod input;
pub mod recorder;

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::broadcast;

/// How a stream's pictures are encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamConfig {
    /// `avc1.PPCCLL` for H.264, `png` for still images.
    pub codec: String,
    /// The picture's size as shown now (the device's resolution, turned with it).
    pub width: u32,
    pub height: u32,
}

impl StreamConfig {
    pub fn is_h264(&self) -> bool {
        self.codec.starts_with("avc1")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub key: bool,
    /// When it was made, in milliseconds of the host's monotonic clock since the stream began.
    pub at_ms: u64,
    pub data: bytes::Bytes,
}

/// What a watcher receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The stream (re)starts with these settings; pictures after it follow them.
    Config(StreamConfig),
    Picture(Picture),
    /// The screen is gone for good.
    Ended(String),
}

#[derive(Default)]
struct Replay {
    config: Option<StreamConfig>,
    since_key: Vec<Frame>,
    ended: Option<String>,
}

/// Pictures fanned out to any number of watchers, with what a new watcher needs to start.
#[derive(Clone)]
pub struct ScreenFeed {
    sender: broadcast::Sender<Frame>,
    replay: Arc<Mutex<Replay>>,
}

impl Default for ScreenFeed {
    fn default() -> Self {
        Self::new()
    }
}

/// A watcher: the frames to catch up with, then the live ones.
pub struct Watch {
    pub catch_up: Vec<Frame>,
    pub live: broadcast::Receiver<Frame>,
}

/// Pictures a watcher may fall behind by before it skips to the next key picture.
const BACKLOG: usize = 256;
/// Pictures kept for a late joiner; a stream whose key pictures are further apart than
/// this starts a late joiner at the next key picture instead.
const MAX_REPLAY: usize = 600;

impl ScreenFeed {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        ScreenFeed { sender, replay: Arc::default() }
    }

    fn replay(&self) -> MutexGuard<'_, Replay> {
        // Poison is a panic elsewhere mid-update of plain data: what is there still holds.
        self.replay.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn publish(&self, frame: Frame) {
        let mut replay = self.replay();
        match &frame {
            Frame::Config(config) => {
                replay.config = Some(config.clone());
                replay.since_key.clear();
            }
            Frame::Picture(p) if p.key => {
                replay.since_key.clear();
                replay.since_key.push(frame.clone());
            }
            Frame::Picture(_) if replay.since_key.is_empty() => {}
            Frame::Picture(_) if replay.since_key.len() >= MAX_REPLAY => replay.since_key.clear(),
            Frame::Picture(_) => replay.since_key.push(frame.clone()),
            Frame::Ended(why) => replay.ended = Some(why.clone()),
        }
        // Sent under the lock, so a watcher's catch-up and its live frames neither overlap
        // nor leave a gap.
        let _ = self.sender.send(frame);
    }

    pub fn watch(&self) -> Watch {
        let replay = self.replay();
        let mut catch_up = Vec::new();
        if let Some(config) = &replay.config {
            catch_up.push(Frame::Config(config.clone()));
            catch_up.extend(replay.since_key.iter().cloned());
        }
        if let Some(why) = &replay.ended {
            catch_up.push(Frame::Ended(why.clone()));
        }
        Watch { catch_up, live: self.sender.subscribe() }
    }

    pub fn config(&self) -> Option<StreamConfig> {
        self.replay().config.clone()
    }

    pub fn ended(&self) -> Option<String> {
        self.replay().ended.clone()
    }
}

/// An app to install during a session: the session's install `position` (how a host fetches
/// it from the control plane), its upload's ARN, and its file when it is on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallRequest {
    pub position: usize,
    pub app_arn: String,
    pub file: Option<std::path::PathBuf>,
}

/// A device being driven in a session: its screen, its input, its apps. Implemented by an
/// adb device ([`adb::AdbScreen`]), a simulated one (the control plane's) and a device on
/// another machine (reached over its agent's connection).
#[async_trait::async_trait]
pub trait DeviceScreen: Send + Sync {
    fn feed(&self) -> ScreenFeed;
    /// The device's own id (adb serial, simulated udid).
    fn udid(&self) -> String;
    async fn input(&self, input: &domain::remote_access::input::DeviceInput) -> Result<(), String>;
    async fn install(&self, app: &InstallRequest) -> Result<(), String>;
    /// Why the device is gone, once it is (its screen ended without being closed).
    fn lost(&self) -> Option<String> {
        self.feed().ended()
    }
    async fn close(self: Box<Self>);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(key: bool, n: u8) -> Frame {
        Frame::Picture(Picture { key, at_ms: u64::from(n), data: bytes::Bytes::from(vec![n]) })
    }

    #[tokio::test]
    async fn a_late_watcher_starts_at_the_last_key_picture() {
        let feed = ScreenFeed::new();
        let config = StreamConfig { codec: "avc1.42c01f".into(), width: 10, height: 20 };
        feed.publish(Frame::Config(config.clone()));
        feed.publish(picture(true, 1));
        feed.publish(picture(false, 2));
        feed.publish(picture(true, 3));
        feed.publish(picture(false, 4));
        let mut watch = feed.watch();
        assert_eq!(watch.catch_up, vec![Frame::Config(config), picture(true, 3), picture(false, 4)]);
        feed.publish(picture(false, 5));
        assert_eq!(watch.live.recv().await.ok(), Some(picture(false, 5)));
    }

    #[test]
    fn an_ended_screen_says_so_to_late_watchers() {
        let feed = ScreenFeed::new();
        feed.publish(Frame::Ended("stopped".into()));
        assert_eq!(feed.watch().catch_up, vec![Frame::Ended("stopped".into())]);
    }
}
