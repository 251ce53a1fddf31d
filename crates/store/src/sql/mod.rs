//! The one [`Store`] implementation: SQL over `sqlx::AnyPool`, the same statements on SQLite
//! and PostgreSQL.
//!
//! Portability rules every statement here follows: `$N` placeholders (both drivers bind
//! them by number), only TEXT and 64-bit integer columns (what the Any driver carries),
//! `INSERT … ON CONFLICT` for "create if absent", and every transaction starts with a write
//! so SQLite takes its write lock up front instead of failing a read-to-write upgrade.

mod accounts;
mod builder;
mod hosts;
mod leases;
mod ledger;
mod migrate;
mod notify;
mod records;
mod secrets;
mod tags;
mod transaction;

use std::time::Duration;

use async_trait::async_trait;
use domain::account::{AccessKey, Account, AccountSettings};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::location::{self, Location};
use crate::{
    Backend, BillingTotal, Lease, LedgerEntry, LedgerQuery, ListQuery, Page, Record, RecordKind, ScanQuery, Store,
    StoreError,
};

/// How long a SQLite writer waits for another's write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// A store over a SQL database.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    notifier: notify::Notifier,
}

impl SqlStore {
    /// Connects, prepares a SQLite file, and brings the schema up to date.
    pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let location = location::parse(url)?;
        let pool = match &location {
            Location::Postgres { url } => AnyPoolOptions::new().max_connections(16).connect(url).await?,
            Location::Sqlite { url, file } => {
                if let Some(file) = file {
                    location::prepare_sqlite_file(file)?;
                }
                sqlite_pool(url, file.is_none()).await?
            }
        };
        if location.backend() == Backend::Sqlite {
            // WAL lets readers proceed while a writer commits. It is a property of the
            // file, so setting it once here covers every connection.
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        migrate::run(&pool, location.backend()).await?;
        if let Location::Sqlite { file: Some(file), .. } = &location {
            location::restrict_sqlite_files(file)?;
        }
        tracing::info!(backend = %location.backend(), "store opened");
        let notifier = match &location {
            Location::Postgres { url } => notify::Notifier::Postgres { url: url.clone() },
            Location::Sqlite { .. } => notify::Notifier::Local(Default::default()),
        };
        Ok(SqlStore { pool, backend: location.backend(), notifier })
    }
}

async fn sqlite_pool(url: &str, in_memory: bool) -> Result<AnyPool, sqlx::Error> {
    let options = AnyPoolOptions::new().after_connect(|conn, _meta| {
        Box::pin(async move {
            // The Any driver can only be configured through the URL, which carries neither
            // setting, so each new connection sets them itself.
            conn.execute("PRAGMA foreign_keys = ON").await?;
            conn.execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str()).await?;
            Ok(())
        })
    });
    let options = if in_memory {
        // Through the Any driver every new connection to `:memory:` opens a new, empty
        // database, so an in-memory store must live on exactly one connection, forever.
        options.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
    } else {
        options.max_connections(8).acquire_timeout(Duration::from_secs(30))
    };
    options.connect(url).await
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        accounts::create_account(&self.pool, account).await
    }

    async fn create_agent_token(&self, token: &domain::host::AgentToken) -> Result<(), StoreError> {
        hosts::create_agent_token(&self.pool, token).await
    }

    async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        self.notifier.notify(&self.pool, channel, payload).await
    }

    async fn listen(&self, channel: &str) -> Result<futures::stream::BoxStream<'static, String>, StoreError> {
        self.notifier.listen(channel).await
    }

    async fn agent_token(&self, token_id: &str) -> Result<Option<domain::host::AgentToken>, StoreError> {
        hosts::agent_token(&self.pool, token_id).await
    }

    async fn agent_tokens(&self) -> Result<Vec<domain::host::AgentToken>, StoreError> {
        hosts::agent_tokens(&self.pool).await
    }

    async fn revoke_agent_token(&self, token_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        hosts::revoke_agent_token(&self.pool, token_id, now_ms).await
    }

    async fn hosts(&self) -> Result<Vec<domain::host::Host>, StoreError> {
        hosts::hosts(&self.pool).await
    }

    async fn host(&self, name: &str) -> Result<Option<domain::host::Host>, StoreError> {
        hosts::host(&self.pool, name).await
    }

    async fn host_connected(
        &self,
        name: &str,
        replica: &str,
        devices: &[domain::host::HostedDevice],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        hosts::host_connected(&self.pool, name, replica, devices, now_ms).await
    }

    async fn host_seen(&self, name: &str, replica: &str, now_ms: i64) -> Result<bool, StoreError> {
        hosts::host_seen(&self.pool, name, replica, now_ms).await
    }

    async fn host_disconnected(&self, name: &str, replica: &str) -> Result<bool, StoreError> {
        hosts::host_disconnected(&self.pool, name, replica).await
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        accounts::account(&self.pool, id).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        accounts::accounts(&self.pool).await
    }

    async fn update_account_settings(&self, id: &str, settings: &AccountSettings) -> Result<(), StoreError> {
        accounts::update_account_settings(&self.pool, id, settings).await
    }

    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError> {
        accounts::create_access_key(&self.pool, key).await
    }

    async fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>, StoreError> {
        accounts::access_key(&self.pool, access_key_id).await
    }

    async fn access_key_with_account(&self, access_key_id: &str) -> Result<Option<(AccessKey, Account)>, StoreError> {
        accounts::access_key_with_account(&self.pool, access_key_id).await
    }

    async fn access_keys(&self, account_id: &str) -> Result<Vec<AccessKey>, StoreError> {
        accounts::access_keys(&self.pool, account_id).await
    }

    async fn revoke_access_key(&self, access_key_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        accounts::revoke_access_key(&self.pool, access_key_id, now_ms).await
    }

    async fn insert(&self, record: &Record) -> Result<(), StoreError> {
        records::insert(&self.pool, record).await
    }

    async fn insert_all(&self, records: &[Record]) -> Result<(), StoreError> {
        records::insert_all(&self.pool, records).await
    }

    async fn insert_limited(&self, record: &Record, max: i64) -> Result<(), StoreError> {
        records::insert_limited(&self.pool, record, max).await
    }

    async fn get(&self, account_id: &str, arn: &str) -> Result<Option<Record>, StoreError> {
        records::get(&self.pool, Some(account_id), arn).await
    }

    async fn get_any(&self, arn: &str) -> Result<Option<Record>, StoreError> {
        records::get(&self.pool, None, arn).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        records::list(&self.pool, query).await
    }

    async fn scan(&self, query: &ScanQuery) -> Result<Page, StoreError> {
        records::scan(&self.pool, query).await
    }

    async fn update(&self, record: &Record) -> Result<Record, StoreError> {
        records::update(&self.pool, record).await
    }

    async fn update_all(&self, records: &[Record]) -> Result<Vec<Record>, StoreError> {
        records::update_all(&self.pool, records).await
    }

    async fn delete(&self, account_id: &str, arn: &str) -> Result<bool, StoreError> {
        records::delete(&self.pool, account_id, arn).await
    }

    async fn delete_tree(&self, account_id: &str, arn: &str) -> Result<bool, StoreError> {
        records::delete_tree(&self.pool, account_id, arn).await
    }

    async fn count(&self, account_id: &str, kind: RecordKind, parent_arn: Option<&str>) -> Result<i64, StoreError> {
        records::count(&self.pool, account_id, kind, parent_arn).await
    }

    async fn record_billing(&self, entry: &LedgerEntry) -> Result<bool, StoreError> {
        ledger::record_billing(&self.pool, entry).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<Lease>, StoreError> {
        leases::acquire(&self.pool, name, holder, now_ms, ttl_ms).await
    }

    async fn update_fenced(&self, record: &Record, lease: &Lease) -> Result<Record, StoreError> {
        leases::update_fenced(&self.pool, record, lease).await
    }

    async fn update_all_fenced(
        &self,
        records: &[Record],
        lease: &Lease,
    ) -> Result<Vec<Result<Record, StoreError>>, StoreError> {
        leases::update_all_fenced(&self.pool, records, lease).await
    }

    async fn settle(&self, job: &Record, entry: &LedgerEntry) -> Result<Record, StoreError> {
        ledger::settle(&self.pool, job, entry).await
    }

    async fn billing_entries(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        ledger::billing_entries(&self.pool, query).await
    }

    async fn metered_seconds(&self, account_id: &str) -> Result<i64, StoreError> {
        ledger::metered_seconds(&self.pool, account_id).await
    }

    async fn billing_totals(&self) -> Result<Vec<BillingTotal>, StoreError> {
        ledger::billing_totals(&self.pool).await
    }

    async fn tags(&self, arn: &str) -> Result<Vec<(String, String)>, StoreError> {
        tags::tags(&self.pool, arn).await
    }

    async fn put_tags(&self, arn: &str, new: &[(String, String)]) -> Result<(), StoreError> {
        tags::put_tags(&self.pool, arn, new).await
    }

    async fn remove_tags(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        tags::remove_tags(&self.pool, arn, keys).await
    }

    async fn secret_or_init(&self, name: &str, candidate: String) -> Result<String, StoreError> {
        secrets::secret_or_init(&self.pool, name, candidate).await
    }

    async fn missing_migrations(&self) -> Result<Vec<i64>, StoreError> {
        migrate::missing(&self.pool, self.backend).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sqlx::Row;

    use super::*;

    /// The premise of sharing SQL text between backends: sqlx's SQLite driver binds `$N` by
    /// its number, not by position, so placeholders may repeat and come in any order.
    #[tokio::test]
    async fn sqlite_binds_dollar_placeholders_by_number() {
        sqlx::any::install_default_drivers();
        let pool = sqlite_pool("sqlite::memory:", true).await.unwrap();
        let row = sqlx::query("SELECT $2 AS a, $1 AS b, $2 || $1 AS c, $3 AS d")
            .bind("one")
            .bind("two")
            .bind(3i64)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>("a"), "two");
        assert_eq!(row.get::<String, _>("b"), "one");
        assert_eq!(row.get::<String, _>("c"), "twoone");
        assert_eq!(row.get::<i64, _>("d"), 3);
    }

    #[tokio::test]
    async fn sqlite_connections_enforce_foreign_keys() {
        sqlx::any::install_default_drivers();
        let pool = sqlite_pool("sqlite::memory:", true).await.unwrap();
        let row = sqlx::query("PRAGMA foreign_keys").fetch_one(&pool).await.unwrap();
        assert_eq!(row.get::<i64, _>(0), 1);
    }
}
