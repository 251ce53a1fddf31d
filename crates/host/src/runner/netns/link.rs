//! The job's link, emulated in userspace: packets the job sends come out of the TUN device
//! inside its namespace, wait as the profile's uplink says (bandwidth, delay, jitter,
//! loss), and are written to the TUN device on the host; replies go back the same way
//! under the downlink.
//!
//! **Why not tc:** netem (delay, jitter, loss) is missing from the kernels farmhand runs
//! on, and shaping only bandwidth in the kernel would split one profile over two
//! mechanisms. One emulator for all four keeps a profile meaning the same on every host.
//! Packets of a direction leave in the order they came (jitter never reorders them),
//! which is what a single real link does.

use std::sync::Arc;
use std::time::Duration;

use domain::network::LinkShape;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tun::AsyncDevice;

/// How long a packet may wait for the link's bandwidth before it is dropped instead (the
/// queue of a real link is finite; TCP backs off on the drops).
const QUEUE_LIMIT: Duration = Duration::from_millis(500);
/// Larger than any packet a TUN device with the default MTU hands over.
const MAX_PACKET: usize = 65_536;

/// When the packets of one direction leave.
#[derive(Debug)]
pub(crate) struct Schedule {
    shape: LinkShape,
    /// When the link finishes sending the packets before (bandwidth).
    busy_until: Option<Instant>,
    /// When the last packet left (packets never overtake each other).
    last_departure: Option<Instant>,
}

impl Schedule {
    pub(crate) fn new(shape: LinkShape) -> Schedule {
        Schedule { shape, busy_until: None, last_departure: None }
    }

    /// When a packet of `len` bytes that arrives at `now` leaves; None: it is lost or the
    /// queue is full. `loss_roll` is uniform in [0, 100), `jitter_roll` in [-1, 1].
    pub(crate) fn departure(&mut self, now: Instant, len: usize, loss_roll: f64, jitter_roll: f64) -> Option<Instant> {
        if loss_roll < f64::from(self.shape.loss_percent) {
            return None;
        }
        // A link of no bandwidth carries nothing.
        let bits_per_second = u64::try_from(self.shape.bandwidth_bits).ok().filter(|b| *b > 0)?;
        let start = self.busy_until.filter(|b| *b > now).unwrap_or(now);
        if start - now > QUEUE_LIMIT {
            return None;
        }
        let bits = len as u64 * 8;
        let sent = start + Duration::from_nanos(bits.saturating_mul(1_000_000_000) / bits_per_second);
        self.busy_until = Some(sent);
        let delay_ms = self.shape.delay_ms.max(0) as f64 + jitter_roll * self.shape.jitter_ms.max(0) as f64;
        let departure = sent + Duration::from_secs_f64(delay_ms.max(0.0) / 1000.0);
        let departure = self.last_departure.map_or(departure, |last| departure.max(last));
        self.last_departure = Some(departure);
        Some(departure)
    }
}

/// Carries packets from `from` to `to` as `shape` says, until aborted.
pub(crate) fn spawn(from: Arc<AsyncDevice>, to: Arc<AsyncDevice>, shape: LinkShape) -> Vec<JoinHandle<()>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = tokio::spawn(async move {
        let mut schedule = Schedule::new(shape);
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            let len = match from.recv(&mut buf).await {
                Ok(len) => len,
                Err(e) => {
                    tracing::warn!(error = %e, "reading a job's link failed; the link is down");
                    return;
                }
            };
            let (loss_roll, jitter_roll) = {
                let mut rng = rand::thread_rng();
                (rng.gen_range(0.0..100.0), rng.gen_range(-1.0..=1.0))
            };
            if let Some(at) = schedule.departure(Instant::now(), len, loss_roll, jitter_roll) {
                if tx.send((at, buf[..len].to_vec())).is_err() {
                    return;
                }
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some((at, packet)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            // A packet the other side refuses (its device is going down) is a lost packet.
            let _ = to.send(&packet).await;
        }
    });
    vec![reader, writer]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(bandwidth_bits: i64, delay_ms: i64, jitter_ms: i64, loss_percent: i32) -> LinkShape {
        LinkShape { bandwidth_bits, delay_ms, jitter_ms, loss_percent }
    }

    #[test]
    fn delay_and_jitter_add_to_the_departure() {
        let now = Instant::now();
        let mut s = Schedule::new(shape(LinkShape::UNSHAPED.bandwidth_bits, 200, 50, 0));
        let at = s.departure(now, 0, 99.0, 0.0).expect("sent");
        assert_eq!(at - now, Duration::from_millis(200));
        let mut s = Schedule::new(shape(LinkShape::UNSHAPED.bandwidth_bits, 200, 50, 0));
        assert_eq!(s.departure(now, 0, 99.0, -1.0).expect("sent") - now, Duration::from_millis(150));
        let mut s = Schedule::new(shape(LinkShape::UNSHAPED.bandwidth_bits, 10, 50, 0));
        assert_eq!(s.departure(now, 0, 99.0, -1.0), Some(now), "never before it arrived");
    }

    #[test]
    fn jitter_never_reorders() {
        let now = Instant::now();
        let mut s = Schedule::new(shape(LinkShape::UNSHAPED.bandwidth_bits, 100, 80, 0));
        let first = s.departure(now, 0, 99.0, 1.0).expect("sent");
        let second = s.departure(now + Duration::from_millis(1), 0, 99.0, -1.0).expect("sent");
        assert!(second >= first);
    }

    #[test]
    fn bandwidth_spaces_packets_and_a_full_queue_drops() {
        let now = Instant::now();
        // 8000 bit/s: a 1000-byte packet takes one second.
        let mut s = Schedule::new(shape(8000, 0, 0, 0));
        assert_eq!(s.departure(now, 1000, 99.0, 0.0), Some(now + Duration::from_secs(1)));
        assert_eq!(s.departure(now, 0, 99.0, 0.0), None, "a second of backlog is past the queue's limit");
        assert_eq!(s.departure(now + Duration::from_secs(1), 500, 99.0, 0.0), Some(now + Duration::from_millis(1500)));
    }

    #[test]
    fn loss_and_a_link_without_bandwidth_drop() {
        let now = Instant::now();
        let mut s = Schedule::new(shape(LinkShape::UNSHAPED.bandwidth_bits, 0, 0, 30));
        assert_eq!(s.departure(now, 10, 29.9, 0.0), None);
        assert_eq!(s.departure(now, 10, 30.0, 0.0).map(|at| at - now < Duration::from_millis(1)), Some(true));
        let mut s = Schedule::new(shape(0, 0, 0, 0));
        assert_eq!(s.departure(now, 10, 99.0, 0.0), None);
    }
}
