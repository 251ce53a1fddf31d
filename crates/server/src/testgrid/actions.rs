//! Every command a session runs, recorded as a TestGrid action. Commands are buffered in
//! memory and written about once a second as one batch record per session, all sessions'
//! batches in one transaction: a session of thousands of commands costs a write a second,
//! not one per command, and a crash loses at most the last second.

use crate::AppState;
use domain::arn::Arn;
use domain::record_kind::RecordKind;
use domain::testgrid::SessionAction;
use std::collections::HashMap;
use std::sync::Mutex;
use store::{ListQuery, Record, StoreError};

#[derive(Default)]
pub struct ActionLog {
    pending: Mutex<Vec<(Arn, SessionAction)>>,
    /// The next batch number of each session with batches written by this replica.
    next_batch: Mutex<HashMap<String, u64>>,
    /// One flush at a time: batch numbers are taken in the order batches are written.
    flushing: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The key of a session's batch `n`: under the session, in the order written.
fn batch_arn(session: &Arn, n: u64) -> String {
    format!("{session}/actions/{n:010}")
}

impl ActionLog {
    pub fn record(&self, session: &Arn, action: SessionAction) {
        lock(&self.pending).push((session.clone(), action));
    }

    /// Writes what is buffered: one batch per session, one transaction for all.
    pub async fn flush(&self, state: &AppState) {
        let _one_at_a_time = self.flushing.lock().await;
        let taken = std::mem::take(&mut *lock(&self.pending));
        if taken.is_empty() {
            return;
        }
        let mut by_session: Vec<(Arn, Vec<SessionAction>)> = Vec::new();
        for (session, action) in taken {
            match by_session.iter_mut().find(|(s, _)| *s == session) {
                Some((_, actions)) => actions.push(action),
                None => by_session.push((session, vec![action])),
            }
        }
        let now = state.now_ms();
        let mut records = Vec::with_capacity(by_session.len());
        {
            let mut next = lock(&self.next_batch);
            for (session, actions) in &by_session {
                let n = next.entry(session.to_string()).or_default();
                let mut record = Record {
                    arn: batch_arn(session, *n),
                    account_id: session.account.clone(),
                    kind: RecordKind::TestGridActions,
                    parent_arn: Some(session.to_string()),
                    name: n.to_string(),
                    status: None,
                    created_ms: now,
                    version: 0,
                    body: serde_json::Value::Null,
                };
                *n += 1;
                if record.encode(actions).is_ok() {
                    records.push(record);
                }
            }
        }
        if let Err(e) = state.store.insert_all(&records).await {
            tracing::error!(error = %e, batches = records.len(), "writing TestGrid session actions; kept for the next try");
            let mut pending = lock(&self.pending);
            let retry: Vec<(Arn, SessionAction)> = by_session
                .into_iter()
                .flat_map(|(s, actions)| actions.into_iter().map(move |a| (s.clone(), a)))
                .collect();
            pending.splice(0..0, retry);
        }
    }

    /// Forgets a session's batch numbering once it has ended and its last batch is written.
    pub fn forget(&self, session: &Arn) {
        lock(&self.next_batch).remove(&session.to_string());
    }
}

/// Every action a session recorded, in the order run.
pub async fn of_session(state: &AppState, session: &Arn) -> Result<Vec<SessionAction>, StoreError> {
    let mut actions = Vec::new();
    let mut query = ListQuery {
        parent_arn: Some(session.to_string()),
        ..ListQuery::new(session.account.clone(), RecordKind::TestGridActions, 500)
    };
    loop {
        let page = state.store.list(&query).await?;
        for record in &page.records {
            actions.extend(record.decode::<Vec<SessionAction>>()?);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(actions),
        }
    }
}
