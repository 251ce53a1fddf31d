//! The generic resource record and the list query over it.
//!
//! Every Device Farm entity (project, upload, device pool, run, job, suite, test, artifact…)
//! is stored as one [`Record`]: its JSON body plus the few columns that queries filter and
//! sort on. The store never looks inside `body`; the server and engine own its shape.

use domain::record_kind::RecordKind;
use serde_json::Value;

/// AWS's limit of tags per resource (TooManyTagsException beyond it).
pub const MAX_TAGS_PER_RESOURCE: usize = 50;

/// One stored entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub arn: String,
    pub account_id: String,
    /// What it is; lists and counts are per kind.
    pub kind: RecordKind,
    /// The entity this one belongs to (a run's project, a job's run…); deletes cascade along it.
    pub parent_arn: Option<String>,
    pub name: String,
    /// Lifecycle status, indexed so the engine can find work by status.
    pub status: Option<String>,
    pub created_ms: i64,
    /// Bumped by every [`Store::update`](crate::Store::update); an update names the version
    /// it read and fails with [`Conflict`](crate::StoreError::Conflict) if it moved.
    pub version: i64,
    pub body: Value,
}

impl Record {
    /// The body as the entity it stores: the one decoder of stored records, so a body that
    /// does not decode is [`StoreError::Corrupt`](crate::StoreError::Corrupt) everywhere,
    /// naming the record. From the stored tree by reference: cloning it first cost every
    /// read more than the decoding itself.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::StoreError> {
        T::deserialize(&self.body).map_err(|e| crate::StoreError::Corrupt(format!("{}: {e}", self.arn)))
    }

    /// Stores `value` as the body.
    pub fn encode<T: serde::Serialize>(&mut self, value: &T) -> Result<(), crate::StoreError> {
        self.body =
            serde_json::to_value(value).map_err(|e| crate::StoreError::Corrupt(format!("{}: {e}", self.arn)))?;
        Ok(())
    }
}

/// Position after which a list page starts: the sort key of the last record of the
/// previous page. Keyset (not offset) pagination keeps pages stable while records are
/// inserted and deleted between requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_ms: i64,
    pub arn: String,
}

impl Cursor {
    /// The cursor that continues a listing after `record`.
    pub fn after(record: &Record) -> Cursor {
        Cursor { created_ms: record.created_ms, arn: record.arn.clone() }
    }
}

/// What [`Store::list`](crate::Store::list) returns, ordered by `(created_ms, arn)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub account_id: String,
    pub kind: RecordKind,
    /// Only children of this entity.
    pub parent_arn: Option<String>,
    /// Only records whose status is one of these; an empty list matches nothing.
    pub status_in: Option<Vec<String>>,
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl ListQuery {
    /// The first page of `kind` records of an account, unfiltered.
    pub fn new(account_id: impl Into<String>, kind: impl Into<RecordKind>, limit: u32) -> ListQuery {
        ListQuery {
            account_id: account_id.into(),
            kind: kind.into(),
            parent_arn: None,
            status_in: None,
            after: None,
            limit,
        }
    }
}

/// What [`Store::scan`](crate::Store::scan) returns: `kind` records of every account,
/// ordered by `(created_ms, arn)`. For the engine, whose scheduling order (FIFO) and device
/// occupancy are global, not per account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanQuery {
    pub kind: RecordKind,
    /// Only records whose status is one of these; an empty list matches nothing.
    pub status_in: Option<Vec<String>>,
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl ScanQuery {
    /// The first page of `kind` records whose status is one of `statuses`.
    pub fn with_status<S: Into<String>>(
        kind: impl Into<RecordKind>,
        statuses: impl IntoIterator<Item = S>,
        limit: u32,
    ) -> ScanQuery {
        ScanQuery {
            kind: kind.into(),
            status_in: Some(statuses.into_iter().map(Into::into).collect()),
            after: None,
            limit,
        }
    }
}

/// One page of a listing or scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub records: Vec<Record>,
    /// Where the next page starts; `None` when this page is the last.
    pub next: Option<Cursor>,
}
