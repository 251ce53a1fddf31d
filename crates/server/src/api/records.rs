//! The glue every operation shares between wire ARNs, stored records and list pages, so
//! that "not found", "wrong account" and "bad token" mean the same everywhere.

use super::Ctx;
use domain::arn::{Arn, ResourceKind};
use protocol::pagination::{Cursor, PAGE_SIZE};
use protocol::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use store::{ListQuery, Record};

/// Parses an ARN the model already accepted (pattern, length). One that cannot name
/// anything farmhand issues is simply not found; one naming another type of resource is
/// the caller's mistake.
pub fn parse_arn(ctx: &Ctx, text: &str, kind: ResourceKind) -> Result<Arn, ApiError> {
    let arn: Arn = text.parse().map_err(|_| not_found(kind, text))?;
    if arn.kind != kind {
        return Err(ApiError::argument(format!(
            "Invalid ARN '{text}': expected a {} ARN, got a {} ARN",
            kind.as_str(),
            arn.kind.as_str()
        )));
    }
    if arn.region != ctx.state.region {
        return Err(not_found(kind, text));
    }
    Ok(arn)
}

pub fn not_found(kind: ResourceKind, arn: &str) -> ApiError {
    ApiError::not_found(format!("No {} was found with ARN {arn}", kind.as_str()))
}

/// A record's body read or written through the store's one codec (`Record::decode` /
/// `Record::encode`); a body that does not fit its type is the service's fault, logged once
/// here and answered as an internal error.
pub trait RecordExt {
    fn body_as<T: DeserializeOwned>(&self) -> Result<T, ApiError>;
    fn set_body<T: Serialize>(&mut self, value: &T) -> Result<(), ApiError>;
}

impl RecordExt for Record {
    fn body_as<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.decode().map_err(|e| codec_failure("does not decode", e))
    }

    fn set_body<T: Serialize>(&mut self, value: &T) -> Result<(), ApiError> {
        self.encode(value).map_err(|e| codec_failure("does not encode", e))
    }
}

fn codec_failure(what: &str, error: store::StoreError) -> ApiError {
    tracing::error!(%error, "stored record {what}");
    ApiError::internal()
}

/// A wire value kept as JSON inside a record's body (not a body itself).
pub fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|_| ApiError::internal())
}

impl Ctx {
    pub fn internal(&self, cause: impl std::fmt::Display + 'static) -> ApiError {
        self.state.internal(cause)
    }

    /// The caller's record at `arn`; another account's is as absent as a missing one.
    pub async fn load(&self, arn: &Arn) -> Result<Record, ApiError> {
        self.state
            .store
            .get(&self.account.id, &arn.to_string())
            .await
            .map_err(|e| self.internal(e))?
            .ok_or_else(|| not_found(arn.kind, &arn.to_string()))
    }

    pub fn arn(&self, kind: ResourceKind, id: impl Into<String>) -> Arn {
        Arn::new(&self.state.region, &self.account.id, kind, id)
    }

    /// One page of the caller's records of `kind` under `parent`. `scope` names the list
    /// for its `nextToken` (operation plus every filter), so a token cannot be replayed
    /// against another list.
    pub async fn page(
        &self,
        scope: &str,
        kind: ResourceKind,
        parent: Option<&Arn>,
        next_token: Option<&str>,
    ) -> Result<(Vec<Record>, Option<String>), ApiError> {
        self.page_of(scope, kind, parent, next_token, PAGE_SIZE).await
    }

    /// [`Ctx::page`] of at most `limit` records: a caller's `maxResults`, or the room left
    /// in a page that already holds items of its own (ListUploads' curated specs).
    pub async fn page_of(
        &self,
        scope: &str,
        kind: ResourceKind,
        parent: Option<&Arn>,
        next_token: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Record>, Option<String>), ApiError> {
        let scope = format!("{scope}|{}|{}", self.account.id, parent.map(Arn::to_string).unwrap_or_default());
        let after = next_token
            .map(|t| self.state.tokens.open(&scope, t))
            .transpose()?
            .map(|c| store::Cursor { created_ms: c.created_ms, arn: c.arn });
        let query = ListQuery {
            parent_arn: parent.map(Arn::to_string),
            after,
            ..ListQuery::new(self.account.id.clone(), kind, limit as u32)
        };
        let page = self.state.store.list(&query).await.map_err(|e| self.internal(e))?;
        let next = page.next.map(|c| self.state.tokens.seal(&scope, &Cursor { created_ms: c.created_ms, arn: c.arn }));
        let records = page.records;
        Ok((records, next))
    }
}

/// Pages an in-memory list the same way (devices, curated pools): items must come in a
/// stable order with a unique key.
pub fn page_slice<'a, T>(
    ctx: &Ctx,
    scope: &str,
    items: &'a [T],
    key: impl Fn(&T) -> String,
    next_token: Option<&str>,
    page_size: usize,
) -> Result<(&'a [T], Option<String>), ApiError> {
    let scope = format!("{scope}|{}", ctx.account.id);
    let start = match next_token {
        None => 0,
        Some(t) => {
            let cursor = ctx.state.tokens.open(&scope, t)?;
            items.iter().position(|i| key(i) == cursor.arn).map(|p| p + 1).unwrap_or(items.len())
        }
    };
    let end = (start + page_size.max(1)).min(items.len());
    let next = (end < items.len() && end > 0)
        .then(|| ctx.state.tokens.seal(&scope, &Cursor { created_ms: 0, arn: key(&items[end - 1]) }));
    Ok((&items[start..end], next))
}

impl Ctx {
    /// Read-modify-write of the caller's record at `arn`, retried when another writer got
    /// there first (optimistic concurrency: replicas may share the database).
    pub async fn modify<T, F>(&self, arn: &Arn, mut change: F) -> Result<(Record, T), ApiError>
    where
        T: DeserializeOwned + Serialize,
        F: FnMut(&mut T, &mut Record) -> Result<(), ApiError>,
    {
        for _ in 0..16 {
            let mut record = self.load(arn).await?;
            let mut value: T = record.body_as()?;
            change(&mut value, &mut record)?;
            record.set_body(&value)?;
            match self.state.store.update(&record).await {
                Ok(updated) => return Ok((updated, value)),
                Err(store::StoreError::Conflict) => continue,
                Err(store::StoreError::NotFound) => return Err(not_found(arn.kind, &arn.to_string())),
                Err(e) => return Err(self.internal(e)),
            }
        }
        Err(self.internal(format!("gave up updating {arn} after repeated conflicts")))
    }

    /// Deletes the caller's record at `arn` and everything under it (a run's jobs, suites and
    /// tests; a project's runs, uploads and pools) in one step; one that a concurrent request
    /// deleted first is not found, as it would be a moment later.
    pub async fn remove_tree(&self, arn: &Arn) -> Result<(), ApiError> {
        match self.state.store.delete_tree(&self.account.id, &arn.to_string()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_found(arn.kind, &arn.to_string())),
            Err(e) => Err(self.internal(e)),
        }
    }

    /// Deletes the caller's record at `arn`; one that a concurrent request deleted first is
    /// not found, as it would be a moment later.
    pub async fn remove(&self, arn: &Arn) -> Result<(), ApiError> {
        match self.state.store.delete(&self.account.id, &arn.to_string()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_found(arn.kind, &arn.to_string())),
            Err(e) => Err(self.internal(e)),
        }
    }

    /// Stores a new record for the caller's account.
    pub async fn insert<T: Serialize>(
        &self,
        arn: &Arn,
        parent: Option<&Arn>,
        name: &str,
        status: Option<&str>,
        value: &T,
    ) -> Result<Record, ApiError> {
        let record = self.new_record(arn, parent, name, status, value)?;
        self.state.store.insert(&record).await.map_err(|e| self.internal(e))?;
        Ok(record)
    }

    /// A new record of the caller's account, created now, not stored yet: for records
    /// stored together with [`store::Store::insert_all`].
    pub fn new_record<T: Serialize>(
        &self,
        arn: &Arn,
        parent: Option<&Arn>,
        name: &str,
        status: Option<&str>,
        value: &T,
    ) -> Result<Record, ApiError> {
        let mut record = Record {
            arn: arn.to_string(),
            account_id: self.account.id.clone(),
            kind: arn.kind.into(),
            parent_arn: parent.map(Arn::to_string),
            name: name.to_string(),
            status: status.map(str::to_string),
            created_ms: self.state.now_ms(),
            version: 0,
            body: serde_json::Value::Null,
        };
        record.set_body(value)?;
        Ok(record)
    }

    /// [`Ctx::insert`] unless the account already has `limit` records of the kind under the
    /// same parent: LimitExceededException then, counted and inserted as one step so that
    /// concurrent creates never pass the limit.
    pub async fn insert_limited<T: Serialize>(
        &self,
        arn: &Arn,
        parent: Option<&Arn>,
        name: &str,
        status: Option<&str>,
        value: &T,
        limit: i64,
    ) -> Result<Record, ApiError> {
        let record = self.new_record(arn, parent, name, status, value)?;
        match self.state.store.insert_limited(&record, limit).await {
            Ok(()) => Ok(record),
            Err(store::StoreError::LimitReached { limit }) => Err(ApiError::limit_exceeded(format!(
                "The account's limit of {limit} {} resources has been reached.",
                arn.kind.as_str()
            ))),
            Err(e) => Err(self.internal(e)),
        }
    }
}

pub fn epoch_seconds(ms: i64) -> f64 {
    domain::clock::to_epoch_seconds(ms)
}
