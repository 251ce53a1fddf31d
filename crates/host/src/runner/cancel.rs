//! How the caller interrupts a running spec: a stop request (StopJob, StopRun) or the job's
//! deadline. The caller keeps the [`Canceller`]; phases listen on [`CancelSignal`]s.
//!
//! Both requests are kept, not just the first: a stop lets setup finish, and a deadline
//! that passes while it does must still end it. Which requests a phase hears is the
//! signal's choice ([`CancelSignal::timeout_only`], [`CancelSignal::never`]).

use std::future::pending;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

/// Why a phase was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The job was stopped.
    Stop,
    /// The job's deadline passed.
    Timeout,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Requests {
    stop: bool,
    timeout: bool,
}

/// The caller's end: request a stop, or report the deadline.
#[derive(Debug)]
pub struct Canceller {
    tx: watch::Sender<Requests>,
}

impl Canceller {
    /// A canceller and the signal a runner listens on.
    pub fn new() -> (Canceller, CancelSignal) {
        let (tx, rx) = watch::channel(Requests::default());
        let signal = CancelSignal { rx: Some(rx), hears_stop: true, limit: None };
        (Canceller { tx }, signal)
    }

    /// Requests a stop. A second request changes nothing.
    pub fn stop(&self) {
        self.tx.send_modify(|r| r.stop = true);
    }

    /// Reports that the job's deadline has passed.
    pub fn time_out(&self) {
        self.tx.send_modify(|r| r.timeout = true);
    }

    /// Another signal for the same requests.
    pub fn signal(&self) -> CancelSignal {
        CancelSignal { rx: Some(self.tx.subscribe()), hears_stop: true, limit: None }
    }
}

/// What a phase listens on. Dropping the [`Canceller`] without a request means no
/// request will ever come.
#[derive(Debug, Clone)]
pub struct CancelSignal {
    rx: Option<watch::Receiver<Requests>>,
    hears_stop: bool,
    /// A time limit of the phase's own, heard as a timeout (teardown's).
    limit: Option<Instant>,
}

impl CancelSignal {
    /// A signal that never fires: teardown, which nothing interrupts.
    pub fn never() -> CancelSignal {
        CancelSignal { rx: None, hears_stop: false, limit: None }
    }

    /// Hears no request, but fires as a timeout once `limit` has passed from now: a
    /// teardown, which stops and the job's deadline let finish, still may not hang.
    pub fn only_after(limit: Duration) -> CancelSignal {
        CancelSignal { rx: None, hears_stop: false, limit: Some(Instant::now() + limit) }
    }

    /// The same requests with stops ignored: setup, which a stop lets finish but the
    /// deadline ends.
    pub fn timeout_only(&self) -> CancelSignal {
        CancelSignal { rx: self.rx.clone(), hears_stop: false, limit: self.limit }
    }

    /// The request this signal hears, if one was made. The deadline wins over a stop:
    /// a job whose deadline passed is ERRORED whatever else was asked.
    pub fn current(&self) -> Option<CancelReason> {
        if self.limit.is_some_and(|limit| Instant::now() >= limit) {
            return Some(CancelReason::Timeout);
        }
        let requests = *self.rx.as_ref()?.borrow();
        self.heard(requests)
    }

    /// Resolves once a request this signal hears has been made (at once if it already was).
    pub async fn fired(&mut self) -> CancelReason {
        let limit = self.limit;
        let limit_passed = async move {
            match limit {
                Some(limit) => sleep_until(limit).await,
                None => pending().await,
            }
        };
        tokio::select! {
            reason = self.requested() => reason,
            () = limit_passed => CancelReason::Timeout,
        }
    }

    async fn requested(&mut self) -> CancelReason {
        let hears_stop = self.hears_stop;
        let Some(rx) = self.rx.as_mut() else {
            return pending().await;
        };
        loop {
            let requests = *rx.borrow_and_update();
            if let Some(reason) = heard(requests, hears_stop) {
                return reason;
            }
            if rx.changed().await.is_err() {
                return pending().await;
            }
        }
    }

    fn heard(&self, requests: Requests) -> Option<CancelReason> {
        heard(requests, self.hears_stop)
    }
}

fn heard(requests: Requests, hears_stop: bool) -> Option<CancelReason> {
    if requests.timeout {
        Some(CancelReason::Timeout)
    } else if requests.stop && hears_stop {
        Some(CancelReason::Stop)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::timeout;

    #[tokio::test]
    async fn a_stop_fires_the_signal_and_is_remembered() {
        let (canceller, mut signal) = Canceller::new();
        assert_eq!(signal.current(), None);
        canceller.stop();
        assert_eq!(signal.fired().await, CancelReason::Stop);
        assert_eq!(signal.current(), Some(CancelReason::Stop));
        // A signal made after the request still sees it.
        assert_eq!(canceller.signal().fired().await, CancelReason::Stop);
    }

    #[tokio::test]
    async fn setup_signal_ignores_stops_but_hears_the_deadline() {
        let (canceller, signal) = Canceller::new();
        let mut setup = signal.timeout_only();
        canceller.stop();
        assert_eq!(setup.current(), None);
        assert!(timeout(Duration::from_millis(30), setup.fired()).await.is_err());
        canceller.time_out();
        assert_eq!(setup.fired().await, CancelReason::Timeout);
        assert_eq!(signal.current(), Some(CancelReason::Timeout));
    }

    #[tokio::test]
    async fn never_and_a_dropped_canceller_do_not_fire() {
        assert!(timeout(Duration::from_millis(20), CancelSignal::never().fired()).await.is_err());
        let (canceller, mut signal) = Canceller::new();
        drop(canceller);
        assert!(timeout(Duration::from_millis(20), signal.fired()).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_limited_signal_times_out_at_its_limit_only() {
        let mut teardown = CancelSignal::only_after(Duration::from_secs(60));
        assert_eq!(teardown.current(), None);
        assert!(timeout(Duration::from_secs(59), teardown.fired()).await.is_err());
        assert_eq!(teardown.fired().await, CancelReason::Timeout);
        assert_eq!(teardown.current(), Some(CancelReason::Timeout));
    }

    #[tokio::test]
    async fn a_waiting_signal_wakes_on_the_request() {
        let (canceller, mut signal) = Canceller::new();
        let waiter = tokio::spawn(async move { signal.fired().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        canceller.time_out();
        assert_eq!(waiter.await.expect("join"), CancelReason::Timeout);
    }
}
