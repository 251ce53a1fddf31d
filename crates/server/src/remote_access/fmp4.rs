//! A viewer whose browser cannot decode H.264 itself (WebCodecs exists only on https pages
//! and on http from localhost; a dashboard reached over plain http from another machine has
//! none) plays the screen as fragmented MP4 through Media Source Extensions instead. ffmpeg
//! puts the session's pictures into a fragment each, unchanged (`-c copy`): no decoding, no
//! added delay beyond its pipe.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

pub struct Remuxer {
    child: Child,
    stdin: ChildStdin,
    /// The MP4 as ffmpeg writes it: the initialization segment first, then fragments.
    pub output: mpsc::Receiver<bytes::Bytes>,
}

impl Remuxer {
    pub fn start() -> std::io::Result<Remuxer> {
        let (child, stdin, mut stdout) = host::ffmpeg::pipe(&[
            "-fflags",
            "nobuffer",
            "-probesize",
            "32",
            "-analyzeduration",
            "0",
            "-f",
            "h264",
            "-framerate",
            "30",
            "-i",
            "pipe:0",
            "-c:v",
            "copy",
            "-f",
            "mp4",
            "-movflags",
            "empty_moov+default_base_moof+frag_every_frame",
            "-flush_packets",
            "1",
            "pipe:1",
        ])?;
        let (tx, output) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 1 << 16];
            while let Ok(read) = stdout.read(&mut buffer).await {
                if read == 0 || tx.send(bytes::Bytes::copy_from_slice(&buffer[..read])).await.is_err() {
                    break;
                }
            }
        });
        Ok(Remuxer { child, stdin, output })
    }

    /// One picture (an Annex B access unit) in.
    pub async fn push(&mut self, picture: &[u8]) -> std::io::Result<()> {
        self.stdin.write_all(picture).await?;
        self.stdin.flush().await
    }

    pub async fn finish(mut self) {
        drop(self.stdin);
        let _ = self.child.kill().await;
    }
}
