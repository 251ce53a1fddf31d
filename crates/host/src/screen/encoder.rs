//! H.264 into a [`ScreenFeed`]: from a stream a device encodes itself (`screenrecord`), or
//! from pictures farmhand draws, encoded by ffmpeg for a low delay (no B-frames, no
//! look-ahead, a key picture every two seconds).

use super::h264::Splitter;
use super::{Frame, Picture, ScreenFeed, StreamConfig};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};

/// How long a pause after picture data means the picture is whole (`Splitter::flush`).
const PAUSE: Duration = Duration::from_millis(3);
const READ_SIZE: usize = 1 << 16;

/// Reads an Annex B stream to its end, publishing each picture to `feed` as soon as it is
/// whole; the first one is preceded by the stream's settings (`width` × `height`).
pub async fn pump_h264(
    mut stream: impl AsyncRead + Unpin,
    feed: &ScreenFeed,
    width: u32,
    height: u32,
    began: Instant,
) -> std::io::Result<()> {
    let mut splitter = Splitter::default();
    let mut buffer = vec![0u8; READ_SIZE];
    let mut configured = false;
    let mut publish = |unit: super::h264::AccessUnit, splitter: &Splitter| {
        if !configured {
            let Some(codec) = splitter.codec() else { return };
            feed.publish(Frame::Config(StreamConfig { codec, width, height }));
            configured = true;
        }
        let at_ms = began.elapsed().as_millis() as u64;
        feed.publish(Frame::Picture(Picture { key: unit.key, at_ms, data: unit.data.into() }));
    };
    loop {
        let read = if splitter.ends_in_picture() {
            match tokio::time::timeout(PAUSE, stream.read(&mut buffer)).await {
                Ok(read) => read?,
                Err(_) => {
                    for unit in splitter.flush() {
                        publish(unit, &splitter);
                    }
                    continue;
                }
            }
        } else {
            stream.read(&mut buffer).await?
        };
        if read == 0 {
            for unit in splitter.flush() {
                publish(unit, &splitter);
            }
            return Ok(());
        }
        for unit in splitter.push(&buffer[..read]) {
            publish(unit, &splitter);
        }
    }
}

/// ffmpeg turning RGB pictures into H.264.
pub struct Encoder {
    child: Child,
    stdin: ChildStdin,
    pub width: u32,
    pub height: u32,
}

impl Encoder {
    /// Starts ffmpeg for `width` × `height` (even numbers) RGB pictures at `fps`; its
    /// output is pumped into `feed` until it ends.
    pub fn start(width: u32, height: u32, fps: u32, feed: ScreenFeed) -> std::io::Result<Encoder> {
        let size = format!("{width}x{height}");
        let (fps_text, keys_every) = (fps.to_string(), (fps * 2).to_string());
        let (child, stdin, stdout) = crate::ffmpeg::pipe(&[
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            &size,
            "-framerate",
            &fps_text,
            "-i",
            "pipe:0",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-profile:v",
            "baseline",
            "-pix_fmt",
            "yuv420p",
            "-g",
            &keys_every,
            "-flush_packets",
            "1",
            "-f",
            "h264",
            "pipe:1",
        ])?;
        let began = Instant::now();
        tokio::spawn(async move {
            if let Err(e) = pump_h264(stdout, &feed, width, height, began).await {
                tracing::debug!(error = %e, "encoder output ended");
            }
        });
        Ok(Encoder { child, stdin, width, height })
    }

    /// Encodes one picture (`width * height * 3` bytes of RGB).
    pub async fn encode(&mut self, rgb: &[u8]) -> std::io::Result<()> {
        self.stdin.write_all(rgb).await?;
        self.stdin.flush().await
    }

    pub async fn finish(mut self) {
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drawn_pictures_come_out_as_h264_key_first() {
        let feed = ScreenFeed::new();
        let mut watch = feed.watch();
        let mut encoder = Encoder::start(64, 48, 10, feed.clone()).unwrap();
        for n in 0..5u8 {
            encoder.encode(&vec![n * 40; 64 * 48 * 3]).await.unwrap();
        }
        let first = tokio::time::timeout(Duration::from_secs(10), watch.live.recv()).await.unwrap().unwrap();
        let Frame::Config(config) = first else { panic!("{first:?}") };
        assert!(config.codec.starts_with("avc1.42"), "{}", config.codec);
        let Frame::Picture(picture) = watch.live.recv().await.unwrap() else { panic!() };
        assert!(picture.key);
        encoder.finish().await;
    }
}
