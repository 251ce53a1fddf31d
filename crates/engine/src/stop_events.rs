//! A stop, once recorded, is told to everyone who acts on it through one event: the
//! scheduler (a device may be released sooner; it wakes to look), the hub (the host of a
//! real job hears at once), the live pages. Whoever records a stop publishes; nobody
//! places those side effects by hand.

use async_trait::async_trait;
use domain::run::Job;
use std::sync::Arc;

/// One job whose stop was just written, as stored.
pub struct StoppedJob<'a> {
    pub arn: &'a str,
    pub job: &'a Job,
    /// When its device will be free, as the stop rules now say (none before assignment).
    pub release_ms: Option<i64>,
}

#[async_trait]
pub trait StopListener: Send + Sync {
    async fn jobs_stopped(&self, jobs: &[StoppedJob<'_>]);
}

/// The listeners, fixed at start-up.
#[derive(Clone, Default)]
pub struct StopEvents {
    listeners: Vec<Arc<dyn StopListener>>,
}

impl StopEvents {
    pub fn new(listeners: Vec<Arc<dyn StopListener>>) -> Self {
        StopEvents { listeners }
    }

    /// Tells every listener, in the order given at start-up, and returns once all have heard.
    pub async fn publish(&self, jobs: &[StoppedJob<'_>]) {
        for listener in &self.listeners {
            listener.jobs_stopped(jobs).await;
        }
    }
}
