//! A store that can hold one caller at a chosen point: the way to make two scheduler
//! replicas interleave in one exact order instead of hoping a race shows up.

use async_trait::async_trait;
use domain::account::{AccessKey, Account, AccountSettings};
use std::sync::{Arc, Mutex};
use store::{Backend, Lease, LedgerEntry, LedgerQuery, ListQuery, Page, Record, ScanQuery, Store, StoreError};
use tokio::sync::oneshot;

pub struct PausingStore {
    inner: Arc<dyn Store>,
    armed: Mutex<Option<Armed>>,
}

struct Armed {
    status: String,
    reached: oneshot::Sender<()>,
    resume: oneshot::Receiver<()>,
}

/// The test's side of an armed pause: `reached` fires when the caller is held, sending on
/// `resume` lets it go on.
pub struct Pause {
    pub reached: oneshot::Receiver<()>,
    pub resume: oneshot::Sender<()>,
}

impl PausingStore {
    pub fn new(inner: Arc<dyn Store>) -> Arc<PausingStore> {
        Arc::new(PausingStore { inner, armed: Mutex::new(None) })
    }

    /// Holds the next `scan` for records of `status`, before it reads anything.
    pub fn pause_before_scan(&self, status: &str) -> Pause {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (resume_tx, resume_rx) = oneshot::channel();
        *self.armed.lock().expect("pause lock") =
            Some(Armed { status: status.to_owned(), reached: reached_tx, resume: resume_rx });
        Pause { reached: reached_rx, resume: resume_tx }
    }

    fn take_pause_for(&self, query: &ScanQuery) -> Option<Armed> {
        let mut armed = self.armed.lock().expect("pause lock");
        let hit = armed.as_ref().is_some_and(|a| query.status_in.as_deref().is_some_and(|s| s.contains(&a.status)));
        if hit {
            armed.take()
        } else {
            None
        }
    }
}

#[async_trait]
impl Store for PausingStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        self.inner.create_account(account).await
    }
    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.inner.account(id).await
    }
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.inner.accounts().await
    }
    async fn update_account_settings(&self, id: &str, settings: &AccountSettings) -> Result<(), StoreError> {
        self.inner.update_account_settings(id, settings).await
    }
    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError> {
        self.inner.create_access_key(key).await
    }
    async fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>, StoreError> {
        self.inner.access_key(access_key_id).await
    }
    async fn access_key_with_account(&self, access_key_id: &str) -> Result<Option<(AccessKey, Account)>, StoreError> {
        self.inner.access_key_with_account(access_key_id).await
    }
    async fn access_keys(&self, account_id: &str) -> Result<Vec<AccessKey>, StoreError> {
        self.inner.access_keys(account_id).await
    }
    async fn revoke_access_key(&self, access_key_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.revoke_access_key(access_key_id, now_ms).await
    }
    async fn insert(&self, record: &Record) -> Result<(), StoreError> {
        self.inner.insert(record).await
    }
    async fn insert_all(&self, records: &[Record]) -> Result<(), StoreError> {
        self.inner.insert_all(records).await
    }
    async fn insert_limited(&self, record: &Record, max: i64) -> Result<(), StoreError> {
        self.inner.insert_limited(record, max).await
    }
    async fn get(&self, account_id: &str, arn: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get(account_id, arn).await
    }
    async fn get_any(&self, arn: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get_any(arn).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.inner.list(query).await
    }
    async fn scan(&self, query: &ScanQuery) -> Result<Page, StoreError> {
        if let Some(armed) = self.take_pause_for(query) {
            let _ = armed.reached.send(());
            let _ = armed.resume.await;
        }
        self.inner.scan(query).await
    }
    async fn update(&self, record: &Record) -> Result<Record, StoreError> {
        self.inner.update(record).await
    }
    async fn update_all(&self, records: &[Record]) -> Result<Vec<Record>, StoreError> {
        self.inner.update_all(records).await
    }
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<Lease>, StoreError> {
        self.inner.acquire_lease(name, holder, now_ms, ttl_ms).await
    }
    async fn update_fenced(&self, record: &Record, lease: &Lease) -> Result<Record, StoreError> {
        self.inner.update_fenced(record, lease).await
    }
    async fn update_all_fenced(
        &self,
        records: &[Record],
        lease: &Lease,
    ) -> Result<Vec<Result<Record, StoreError>>, StoreError> {
        self.inner.update_all_fenced(records, lease).await
    }
    async fn delete(&self, account_id: &str, arn: &str) -> Result<bool, StoreError> {
        self.inner.delete(account_id, arn).await
    }
    async fn delete_tree(&self, account_id: &str, arn: &str) -> Result<bool, StoreError> {
        self.inner.delete_tree(account_id, arn).await
    }
    async fn count(
        &self,
        account_id: &str,
        kind: store::RecordKind,
        parent_arn: Option<&str>,
    ) -> Result<i64, StoreError> {
        self.inner.count(account_id, kind, parent_arn).await
    }
    async fn record_billing(&self, entry: &LedgerEntry) -> Result<bool, StoreError> {
        self.inner.record_billing(entry).await
    }
    async fn settle(&self, job: &Record, entry: &LedgerEntry) -> Result<Record, StoreError> {
        self.inner.settle(job, entry).await
    }
    async fn billing_entries(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        self.inner.billing_entries(query).await
    }
    async fn metered_seconds(&self, account_id: &str) -> Result<i64, StoreError> {
        self.inner.metered_seconds(account_id).await
    }

    async fn billing_totals(&self) -> Result<Vec<store::BillingTotal>, StoreError> {
        self.inner.billing_totals().await
    }
    async fn tags(&self, arn: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.tags(arn).await
    }
    async fn put_tags(&self, arn: &str, tags: &[(String, String)]) -> Result<(), StoreError> {
        self.inner.put_tags(arn, tags).await
    }
    async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        self.inner.remove_tags(arn, keys).await
    }
    async fn secret_or_init(&self, name: &str, candidate: String) -> Result<String, StoreError> {
        self.inner.secret_or_init(name, candidate).await
    }
    async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        self.inner.notify(channel, payload).await
    }
    async fn listen(&self, channel: &str) -> Result<futures::stream::BoxStream<'static, String>, StoreError> {
        self.inner.listen(channel).await
    }
    async fn create_agent_token(&self, token: &domain::host::AgentToken) -> Result<(), StoreError> {
        self.inner.create_agent_token(token).await
    }
    async fn agent_token(&self, token_id: &str) -> Result<Option<domain::host::AgentToken>, StoreError> {
        self.inner.agent_token(token_id).await
    }
    async fn agent_tokens(&self) -> Result<Vec<domain::host::AgentToken>, StoreError> {
        self.inner.agent_tokens().await
    }
    async fn revoke_agent_token(&self, token_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.revoke_agent_token(token_id, now_ms).await
    }
    async fn hosts(&self) -> Result<Vec<domain::host::Host>, StoreError> {
        self.inner.hosts().await
    }
    async fn host(&self, name: &str) -> Result<Option<domain::host::Host>, StoreError> {
        self.inner.host(name).await
    }
    async fn host_connected(
        &self,
        name: &str,
        replica: &str,
        devices: &[domain::host::HostedDevice],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner.host_connected(name, replica, devices, now_ms).await
    }
    async fn host_seen(&self, name: &str, replica: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.host_seen(name, replica, now_ms).await
    }
    async fn host_disconnected(&self, name: &str, replica: &str) -> Result<bool, StoreError> {
        self.inner.host_disconnected(name, replica).await
    }
    async fn close(&self) {
        self.inner.close().await
    }
}
