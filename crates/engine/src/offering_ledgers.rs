//! Where each account's offering [`Ledger`] is stored: one record per account, so a
//! purchase is one version-checked write. Checking a purchase against what the account
//! holds (maxSlots, a promotion used once) and recording it is then atomic on SQLite and
//! PostgreSQL alike, and replicas sharing a database cannot both spend the last slot.
//!
//! The API appends to it; the scheduler reads every account's each pass to count slots.

use std::collections::BTreeMap;

use domain::offering::{Ledger, Transaction};
use domain::record_kind::RecordKind;
use store::{Record, ScanQuery, Store, StoreError};

/// The records' kind; not a Device Farm resource, so it has no ARN of its own.
pub const KIND: RecordKind = RecordKind::OfferingLedger;

/// How often an append is retried when another writer changed the ledger in between.
const RETRIES: usize = 16;

/// The record key of `account_id`'s ledger.
pub fn key(account_id: &str) -> String {
    format!("{}/{account_id}", KIND.as_str())
}

/// Why nothing was appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError<E> {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("gave up appending to offering ledger {0} after repeated conflicts")]
    Contended(String),
    /// The caller's own refusal.
    #[error("refused")]
    Refused(E),
}

fn decode(record: &Record) -> Result<Ledger, StoreError> {
    record.decode()
}

/// `account_id`'s ledger; empty for an account that never transacted.
pub async fn load(store: &dyn Store, account_id: &str) -> Result<Ledger, StoreError> {
    match store.get(account_id, &key(account_id)).await? {
        Some(record) => decode(&record),
        None => Ok(Ledger::default()),
    }
}

/// Every account's ledger, by account id.
pub async fn all(store: &dyn Store) -> Result<BTreeMap<String, Ledger>, StoreError> {
    let mut query = ScanQuery { kind: KIND, status_in: None, after: None, limit: 500 };
    let mut ledgers = BTreeMap::new();
    loop {
        let page = store.scan(&query).await?;
        for record in &page.records {
            ledgers.insert(record.account_id.clone(), decode(record)?);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(ledgers),
        }
    }
}

/// Appends the transaction `decide` makes from the ledger as stored, or nothing if it
/// refuses. `decide` may run more than once: when another writer got there first it sees
/// the ledger again, with that writer's transaction in it.
pub async fn append<E>(
    store: &dyn Store,
    account_id: &str,
    now_ms: i64,
    mut decide: impl FnMut(&Ledger) -> Result<Transaction, E>,
) -> Result<Transaction, AppendError<E>> {
    let key = key(account_id);
    for _ in 0..RETRIES {
        let existing = store.get(account_id, &key).await?;
        let mut ledger = match &existing {
            Some(record) => decode(record)?,
            None => Ledger::default(),
        };
        let transaction = decide(&ledger).map_err(AppendError::Refused)?;
        ledger.transactions.push(transaction.clone());
        let written = match existing {
            Some(mut record) => {
                record.encode(&ledger)?;
                store.update(&record).await.map(drop)
            }
            None => {
                let mut record = Record {
                    arn: key.clone(),
                    account_id: account_id.to_owned(),
                    kind: KIND,
                    parent_arn: None,
                    name: KIND.as_str().to_owned(),
                    status: None,
                    created_ms: now_ms,
                    version: 0,
                    body: serde_json::Value::Null,
                };
                record.encode(&ledger)?;
                store.insert(&record).await
            }
        };
        match written {
            Ok(()) => return Ok(transaction),
            // Another writer updated, or created, the ledger first: decide again on theirs.
            Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppendError::Contended(key))
}
