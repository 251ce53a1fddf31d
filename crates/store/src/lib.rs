//! # store
//!
//! farmhand's persistence: everything that must survive a restart or be shared between
//! server replicas.
//!
//! ## Layout
//! - [`Store`]: the one trait the server and engine use, always as `Arc<dyn Store>`;
//!   [`open`] picks the backend from the URL.
//! - `sql`: its one implementation, [`SqlStore`], the same SQL on SQLite (embedded, the
//!   default) and PostgreSQL (for several replicas); schemas in `migrations/<backend>/`,
//!   applied at open.
//! - [`record`]: the generic record every Device Farm entity is stored as, and list queries.
//! - [`ledger`]: the billing ledger, one insert-once entry per settled job.
//! - [`blob`]: uploaded files and artifacts, streamed to an `object_store` backend.
//! - `location`: database URL parsing and SQLite file preparation.
//! - [`fault`]: writes the storage refused (full, read-only, failing), told apart from bugs.
//!
//! **Architecture invariant:** the store knows nothing about Device Farm rules. It keeps
//! records, enforces only what must hold under concurrency (unique ARNs, optimistic
//! versions, the tag limit, first-writer-wins secrets, one ledger entry per job), and takes
//! every timestamp from its caller.

pub mod blob;
mod error;
pub mod fault;
pub mod lease;
pub mod ledger;
mod location;
pub mod record;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use domain::account::{AccessKey, Account, AccountSettings};

pub use domain::record_kind::RecordKind;
pub use error::StoreError;
pub use fault::StorageFault;
pub use lease::Lease;
pub use ledger::{BillingTotal, LedgerEntry, LedgerQuery};
pub use location::Backend;
pub use record::{Cursor, ListQuery, Page, Record, ScanQuery, MAX_TAGS_PER_RESOURCE};
pub use sql::SqlStore;

/// Opens (creating if needed) the database at `url` and migrates it: `postgres://…`,
/// `sqlite://path?…`, or a plain file path for SQLite.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

/// Everything farmhand persists, apart from blobs.
///
/// Lookups that take an `account_id` never return another account's data: to the caller a
/// foreign record is indistinguishable from a missing one.
#[async_trait]
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// [`StoreError::AlreadyExists`] if the id is taken.
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError>;
    /// Ordered by creation time.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// [`StoreError::NotFound`] if there is no such account.
    async fn update_account_settings(&self, id: &str, settings: &AccountSettings) -> Result<(), StoreError>;

    /// [`StoreError::AlreadyExists`] if the key id is taken, [`StoreError::NotFound`] if its
    /// account does not exist.
    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError>;
    /// The key, revoked or not: the caller tells the two apart.
    async fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>, StoreError>;
    /// The key with its account, in one read: what authenticating every request needs.
    async fn access_key_with_account(&self, access_key_id: &str) -> Result<Option<(AccessKey, Account)>, StoreError>;
    /// All keys of the account, revoked ones included, oldest first.
    async fn access_keys(&self, account_id: &str) -> Result<Vec<AccessKey>, StoreError>;
    /// Marks the key revoked at `now_ms`; false if it does not exist or already was.
    async fn revoke_access_key(&self, access_key_id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// [`StoreError::AlreadyExists`] if the ARN is taken.
    async fn insert(&self, record: &Record) -> Result<(), StoreError>;
    /// [`Store::insert`] of each, all or nothing: records that only make sense together (a
    /// run and its jobs) are never left in part by a crash or a failed write.
    async fn insert_all(&self, records: &[Record]) -> Result<(), StoreError>;
    /// [`Store::insert`] unless the account already has `max` records of the record's kind
    /// under the same parent ([`StoreError::LimitReached`], nothing written): the count and
    /// the insert are one step, so concurrent creates never pass a limit.
    async fn insert_limited(&self, record: &Record, max: i64) -> Result<(), StoreError>;
    /// The record if it exists and belongs to `account_id`.
    async fn get(&self, account_id: &str, arn: &str) -> Result<Option<Record>, StoreError>;
    /// The record whoever owns it: for the engine, which works across accounts.
    async fn get_any(&self, arn: &str) -> Result<Option<Record>, StoreError>;
    /// One page of records, ordered by `(created_ms, arn)`.
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;
    /// One page of `kind` records of every account, ordered by `(created_ms, arn)`: for the
    /// engine, whose FIFO order and device occupancy span accounts.
    async fn scan(&self, query: &ScanQuery) -> Result<Page, StoreError>;
    /// Writes `parent_arn`, `name`, `status` and `body` if the stored version still is
    /// `record.version`, and returns the record with its new version.
    /// [`StoreError::Conflict`] if the version moved, [`StoreError::NotFound`] if the record
    /// is gone. The key columns (`arn`, `account_id`, `kind`, `created_ms`) never change.
    async fn update(&self, record: &Record) -> Result<Record, StoreError>;
    /// [`Store::update`] of every record in one transaction: all land, or none does and the
    /// error is the first failing record's. For changes that only make sense together (a
    /// run's stop and its jobs').
    async fn update_all(&self, records: &[Record]) -> Result<Vec<Record>, StoreError>;
    /// Deletes the record and its tags; false if it did not exist for this account.
    /// Children are left alone: [`Store::delete_tree`] takes them too.
    async fn delete(&self, account_id: &str, arn: &str) -> Result<bool, StoreError>;
    /// Deletes the record and, with their tags, every record reachable from it through
    /// `parent_arn` links (a project's runs, jobs, uploads…), in one transaction; false if it
    /// did not exist for this account.
    async fn delete_tree(&self, account_id: &str, arn: &str) -> Result<bool, StoreError>;
    /// How many `kind` records the account has (under `parent_arn` if given): for limits.
    async fn count(&self, account_id: &str, kind: RecordKind, parent_arn: Option<&str>) -> Result<i64, StoreError>;

    /// Adds the job's ledger entry unless it already has one; true if this call added it.
    /// A job is billed at most once whoever calls, however often: a second entry for the
    /// same `job_arn` is ignored, even if it differs. [`StoreError::Invalid`] for an unknown
    /// billing method or negative seconds.
    async fn record_billing(&self, entry: &LedgerEntry) -> Result<bool, StoreError>;
    /// Settles a job in one transaction: `job` is written as [`Store::update`] writes it
    /// (same version check) and `entry` is added to the ledger as by
    /// [`Store::record_billing`]. On [`StoreError::Conflict`] or [`StoreError::NotFound`]
    /// nothing is written. [`StoreError::Invalid`] if `entry` is not `job`'s (ARN or account)
    /// or is invalid.
    async fn settle(&self, job: &Record, entry: &LedgerEntry) -> Result<Record, StoreError>;
    /// Ledger entries, ordered by `(settled_ms, job_arn)`.
    async fn billing_entries(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError>;
    /// Total METERED seconds the account was billed: what its trial-minutes quota counts.
    async fn metered_seconds(&self, account_id: &str) -> Result<i64, StoreError>;
    /// Jobs and seconds of the whole ledger (every account) per billing method, ordered by
    /// method; a method nothing was billed under is absent.
    async fn billing_totals(&self) -> Result<Vec<BillingTotal>, StoreError>;

    /// The resource's tags, sorted by key.
    async fn tags(&self, arn: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Adds or overwrites tags. All or nothing: if the resource would end with more than
    /// [`MAX_TAGS_PER_RESOURCE`] tags, nothing is written and the result is
    /// [`StoreError::TooManyTags`]. Later duplicates of a key in `tags` win.
    async fn put_tags(&self, arn: &str, tags: &[(String, String)]) -> Result<(), StoreError>;
    /// Removes these keys; absent keys are ignored.
    async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<(), StoreError>;

    /// The secret stored under `name`, storing `candidate` first if there is none. Every
    /// caller, on every replica, gets the same value.
    async fn secret_or_init(&self, name: &str, candidate: String) -> Result<String, StoreError>;

    /// Takes or renews the lease `name` for `holder` until `now_ms + ttl_ms`: granted when
    /// it is free, expired, or already `holder`'s. `None` while another holder has it.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<Lease>, StoreError>;
    /// [`Store::update`], landing only while `lease` is still held under its token;
    /// [`StoreError::LeaseLost`] otherwise, and nothing is written.
    async fn update_fenced(&self, record: &Record, lease: &Lease) -> Result<Record, StoreError>;
    /// [`update_fenced`](Store::update_fenced) for many records in one transaction: the
    /// lease is checked once ([`StoreError::LeaseLost`] writes nothing); each record then
    /// lands or not on its own version, and its outcome is in the same position.
    async fn update_all_fenced(
        &self,
        records: &[Record],
        lease: &Lease,
    ) -> Result<Vec<Result<Record, StoreError>>, StoreError>;

    /// The schema versions this build needs that the database lacks (empty when it is up
    /// to date), read from the database itself: for readiness probes, so an error means the
    /// database does not answer. Stores without a schema of their own only prove that they
    /// answer a read.
    async fn missing_migrations(&self) -> Result<Vec<i64>, StoreError> {
        self.account("").await.map(|_| Vec::new())
    }

    /// Tells every replica listening on `channel` (this one included) `payload`. A hint to
    /// act sooner: a listener may miss one while it reconnects.
    async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError>;
    /// What is notified on `channel` from now on, by any replica.
    async fn listen(&self, channel: &str) -> Result<futures::stream::BoxStream<'static, String>, StoreError>;

    /// Makes an agent token (and its host, on the host's first token).
    /// [`StoreError::AlreadyExists`] if the token id is taken.
    async fn create_agent_token(&self, token: &domain::host::AgentToken) -> Result<(), StoreError>;
    async fn agent_token(&self, token_id: &str) -> Result<Option<domain::host::AgentToken>, StoreError>;
    async fn agent_tokens(&self) -> Result<Vec<domain::host::AgentToken>, StoreError>;
    /// False if there is no such token or it was already revoked.
    async fn revoke_agent_token(&self, token_id: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Ordered by name.
    async fn hosts(&self) -> Result<Vec<domain::host::Host>, StoreError>;
    async fn host(&self, name: &str) -> Result<Option<domain::host::Host>, StoreError>;
    /// Records that `name` connected to `replica` declaring `devices`.
    async fn host_connected(
        &self,
        name: &str,
        replica: &str,
        devices: &[domain::host::HostedDevice],
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// A heartbeat, recorded only while `replica` holds the host's connection.
    async fn host_seen(&self, name: &str, replica: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// The connection of `name` to `replica` ended (a no-op if another replica has it now).
    async fn host_disconnected(&self, name: &str, replica: &str) -> Result<bool, StoreError>;

    /// Closes the connections; for a clean shutdown.
    async fn close(&self);
}
