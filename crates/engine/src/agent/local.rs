//! [`LocalHosts`]: real jobs run by an [`Executor`] in the scheduler's own process,
//! without the agent protocol. For benchmarks and engine tests, which measure the
//! executor and the scheduler and not the network between them.

use std::sync::Arc;

use async_trait::async_trait;
use domain::run::Job;
use store::Record;

use super::hosts::Hosts;
use host::agent::link::Orders;
use host::executor::Executor;

pub struct LocalHosts {
    executor: Arc<Executor>,
}

impl LocalHosts {
    pub fn new(executor: Arc<Executor>) -> LocalHosts {
        LocalHosts { executor }
    }

    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }
}

#[async_trait]
impl Hosts for LocalHosts {
    async fn dispatch(&self, job: &Record) {
        self.executor.start(job.arn.clone());
    }

    async fn tend(&self, jobs: &[(Record, Job)], now_ms: i64) -> Option<i64> {
        let mut next: Option<i64> = None;
        for (record, job) in jobs {
            let observed = job.observed.as_ref();
            if observed.is_some_and(|o| o.finished_ms.is_some()) {
                continue;
            }
            if !self.executor.is_running(&record.arn) {
                if observed.is_none() {
                    self.executor.start(record.arn.clone());
                } else if let Err(e) = self.executor.abandon(&record.arn).await {
                    tracing::warn!(job = %record.arn, error = %e, "ending a job whose runner is gone failed");
                }
                continue;
            }
            let (orders, deadline) = Orders::for_job(job, now_ms);
            if orders.stop {
                self.executor.request_stop(&record.arn);
            }
            if orders.time_out {
                self.executor.request_timeout(&record.arn);
            }
            next = match (next, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        next
    }
}
