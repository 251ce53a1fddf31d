//! Graceful shutdown of a replica behind a load balancer, so a restart or a scale-down
//! loses no request and never cuts a write in half. On SIGINT or SIGTERM:
//!
//! 1. `/readyz` answers 503 at once, and the balancer stops sending work here;
//! 2. for the drain period (`--drain-seconds`) requests are still served, new ones too:
//!    the balancer may route a few before its next probe;
//! 3. the listener closes and requests in flight are waited for (up to [`IN_FLIGHT_LIMIT`]).
//!
//! The caller then stops the scheduler, which hands its lease over. A second signal skips
//! what is left of the drain and of the wait.

use super::connections::{self, ReadLimit};
use anyhow::Result;
use axum::Router;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long requests in flight may still take once the listener is closed. A download or
/// `logs --follow` can last as long as a job; with the default drain this keeps the whole
/// stop under Kubernetes' default 30 s grace, so the scheduler lease is released by us
/// rather than lost to a SIGKILL.
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(20);

/// Whether this replica is on its way out: set once, never cleared.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Serves `app` until a signal, then drains as described above.
/// `on_drain` runs when the drain begins (device hosts are sent to other replicas).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    read_limit: ReadLimit,
    draining: Draining,
    drain: Duration,
    on_drain: impl FnOnce(),
) -> Result<()> {
    let (close, closed) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(connections::serve(listener, app, read_limit, async {
        let _ = closed.await;
    }));
    tokio::select! {
        ended = &mut server => return Ok(ended??),
        () = signal() => {}
    }
    draining.begin();
    on_drain();
    tracing::info!(seconds = drain.as_secs_f64(), "draining: /readyz answers 503, requests are still served");
    tokio::select! {
        () = tokio::time::sleep(drain) => {}
        () = signal() => tracing::info!("second signal: drain cut short"),
    }
    let _ = close.send(());
    tracing::info!("listener closed; waiting for requests in flight");
    tokio::select! {
        ended = &mut server => ended??,
        () = tokio::time::sleep(IN_FLIGHT_LIMIT) => {
            tracing::warn!(seconds = IN_FLIGHT_LIMIT.as_secs(), "requests still in flight; stopping without them");
            server.abort();
        }
        () = signal() => {
            tracing::warn!("second signal: stopping without the requests in flight");
            server.abort();
        }
    }
    Ok(())
}

/// Resolves at the next SIGINT or SIGTERM.
async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested");
}
