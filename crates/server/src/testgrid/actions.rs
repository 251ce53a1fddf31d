//! Every command a session runs, recorded as a TestGrid action. Commands are buffered in
//! memory and written about once a second as one batch record per session, all sessions'
//! batches in one transaction: a session of thousands of commands costs a write a second,
//! not one per command, and a crash loses at most the last second.

use crate::AppState;
use domain::arn::Arn;
use domain::record_kind::RecordKind;
use domain::testgrid::SessionAction;
use std::sync::Mutex;
use store::{ListQuery, Record, StoreError};

/// Actions kept in memory while the store refuses them; past this, a failed batch is
/// dropped (and said so) rather than memory growing without bound.
const MAX_PENDING: usize = 100_000;

#[derive(Default)]
pub struct ActionLog {
    pending: Mutex<Vec<(Arn, SessionAction)>>,
    /// Numbers this replica's batches: with the flush's instant, a key no other batch of
    /// the session has (a session's commands all pass through the replica that runs it).
    batches: std::sync::atomic::AtomicU64,
    /// One flush at a time: batches are numbered in the order they are written.
    flushing: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The key of a batch written at `at_ms` as this replica's `n`th: under the session, in
/// the order written.
fn batch_arn(session: &Arn, at_ms: i64, n: u64) -> String {
    format!("{session}/actions/{at_ms:015}-{n:010}")
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
            for (session, actions) in &by_session {
                let n = self.batches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut record = Record {
                    arn: batch_arn(session, now, n),
                    account_id: session.account.clone(),
                    kind: RecordKind::TestGridActions,
                    parent_arn: Some(session.to_string()),
                    name: n.to_string(),
                    status: None,
                    created_ms: now,
                    version: 0,
                    body: serde_json::Value::Null,
                };
                if record.encode(actions).is_ok() {
                    records.push(record);
                }
            }
        }
        if let Err(e) = state.store.insert_all(&records).await {
            let mut pending = lock(&self.pending);
            if pending.len() > MAX_PENDING {
                tracing::error!(error = %e, batches = records.len(), "writing TestGrid session actions; dropped");
                return;
            }
            tracing::error!(error = %e, batches = records.len(), "writing TestGrid session actions; kept for the next try");
            let retry: Vec<(Arn, SessionAction)> = by_session
                .into_iter()
                .flat_map(|(s, actions)| actions.into_iter().map(move |a| (s.clone(), a)))
                .collect();
            pending.splice(0..0, retry);
        }
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
