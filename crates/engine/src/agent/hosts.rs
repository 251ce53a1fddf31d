//! [`Hosts`]: where real jobs run, as the scheduler sees it. The server's agent hub
//! implements it; the scheduler only says which jobs hold devices and when one was just
//! given one.

use async_trait::async_trait;
use domain::run::Job;
use store::Record;

#[async_trait]
pub trait Hosts: Send + Sync {
    /// A real job was just given a device by this replica: hand it to the device's host
    /// now rather than at the next pass.
    async fn dispatch(&self, job: &Record);

    /// Called every pass with the real jobs that hold a device and have not finished:
    /// sends each to its host if that has not happened yet, passes on stops and passed
    /// deadlines, and ends the jobs of hosts that stopped answering. Returns the earliest
    /// instant at which it needs another pass (a deadline to enforce).
    async fn tend(&self, jobs: &[(Record, Job)], now_ms: i64) -> Option<i64>;
}
