//! Closed-loop load: `concurrency` workers, each on its own connection, each sending its next
//! request as soon as the previous answer arrived, like that many SDK clients in a loop.

use crate::http::{Connection, Request};
use anyhow::Result;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much load: for a time, or an exact number of requests (when each request uses up
/// something, like a running job that can only be stopped once).
#[derive(Debug, Clone, Copy)]
pub enum Amount {
    For(Duration),
    Requests(u64),
}

/// Makes request number `n` (counted over all workers, from 0).
pub type MakeRequest = Arc<dyn Fn(u64) -> Result<Request> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Stats {
    pub requests: u64,
    /// Answers other than 200: a run with any is not a valid measurement.
    pub failures: u64,
    pub first_failure: Option<String>,
    pub elapsed: Duration,
    /// Latencies in microseconds, sorted.
    latencies: Vec<u32>,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile (0–100) in milliseconds, nearest rank.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.latencies, p) as f64 / 1000.0
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub async fn drive(addr: SocketAddr, concurrency: usize, amount: Amount, make: MakeRequest) -> Result<Stats> {
    // Connections are opened before the clock starts: a client's handshake is not the
    // server's per-request cost.
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(Connection::open(addr).await?);
    }
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = match amount {
        Amount::For(d) => Some(started + d),
        Amount::Requests(_) => None,
    };
    let limit = match amount {
        Amount::For(_) => u64::MAX,
        Amount::Requests(n) => n,
    };
    let workers: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            let next = next.clone();
            let make = make.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                let mut first_failure = None;
                loop {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= limit {
                        break;
                    }
                    let request = make(n)?;
                    let sent = Instant::now();
                    let response = connection.send(&request).await?;
                    latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    if response.status != 200 {
                        failures += 1;
                        first_failure.get_or_insert_with(|| {
                            format!("HTTP {}: {}", response.status, String::from_utf8_lossy(&response.body))
                        });
                    }
                }
                anyhow::Ok((latencies, failures, first_failure))
            })
        })
        .collect();
    let mut stats =
        Stats { requests: 0, failures: 0, first_failure: None, elapsed: Duration::ZERO, latencies: Vec::new() };
    for worker in workers {
        let (latencies, failures, first_failure) = worker.await??;
        stats.latencies.extend(latencies);
        stats.failures += failures;
        if stats.first_failure.is_none() {
            stats.first_failure = first_failure;
        }
    }
    stats.elapsed = started.elapsed();
    stats.requests = stats.latencies.len() as u64;
    stats.latencies.sort_unstable();
    Ok(stats)
}
