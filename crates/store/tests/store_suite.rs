//! One behaviour suite for every `Store` backend: each case runs on SQLite (a temp file)
//! always, and on PostgreSQL when `FARMHAND_TEST_DATABASE_URL` is set, each PostgreSQL
//! test in a schema of its own so tests run in parallel.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod harness;

use std::collections::BTreeSet;
use std::sync::Arc;

use domain::account::{AccessKey, Account, AccountSettings, ACCESS_KEY_RANDOM_BYTES};
use harness::Harness;
use serde_json::json;
use store::ledger::{METERED, UNMETERED};
use store::{
    BillingTotal, Cursor, LedgerEntry, LedgerQuery, ListQuery, Record, RecordKind, ScanQuery, Store, StoreError,
    MAX_TAGS_PER_RESOURCE,
};

/// Declares each case once per backend.
macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let h = super::Harness::sqlite().await;
                    super::$case(&h).await;
                    h.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(h) = super::Harness::postgres().await else {
                        eprintln!("skipped: FARMHAND_TEST_DATABASE_URL is not set");
                        return;
                    };
                    super::$case(&h).await;
                    h.finish().await;
                }
            )*
        }
    };
}

store_suite!(
    accounts_crud,
    access_keys_crud_and_revoke,
    insert_get_and_duplicate,
    insert_all_is_all_or_nothing,
    insert_limited_stops_at_the_limit,
    insert_limited_holds_under_concurrency,
    update_all_is_all_or_nothing,
    accounts_are_isolated,
    list_orders_and_paginates,
    list_filters_by_parent_and_kind,
    pagination_is_stable_under_concurrent_inserts,
    list_filters_by_status,
    update_detects_conflicts,
    concurrent_updates_from_one_version_have_one_winner,
    concurrent_increments_lose_nothing,
    delete_removes_tags,
    delete_tree_takes_the_record_and_everything_below,
    count_by_kind_and_parent,
    tags_upsert_sort_and_remove,
    tag_limit_is_atomic,
    tag_limit_holds_under_concurrency,
    secret_or_init_has_one_winner,
    reopen_keeps_data_and_migrations_are_idempotent,
    scan_orders_and_paginates_across_accounts,
    scan_filters_by_status,
    record_billing_keeps_the_first_entry_of_a_job,
    invalid_ledger_entries_are_refused,
    concurrent_record_billing_bills_once,
    concurrent_settlers_bill_once,
    settle_and_record_billing_racing_bill_once,
    settle_writes_record_and_entry_together,
    settle_writes_nothing_on_conflict_or_absence,
    billing_entries_filter_and_order,
    metered_seconds_ignores_unmetered_and_other_accounts,
    billing_totals_sum_the_whole_ledger_by_method,
    ledger_survives_reopen,
    lease_is_exclusive_renewable_and_expires,
    concurrent_lease_contenders_have_one_winner,
    fenced_update_fails_after_takeover,
    hosts_and_agent_tokens,
    notifications_reach_every_listener_of_the_database,
);

// ---- helpers -------------------------------------------------------------------------

/// The stored kind the test names by its text.
fn k(kind: &str) -> RecordKind {
    RecordKind::parse(kind).unwrap_or_else(|| panic!("no record kind {kind}"))
}

fn account(id: &str, created_ms: i64) -> Account {
    Account { id: id.to_owned(), name: format!("account {id}"), created_ms, settings: AccountSettings::default() }
}

fn record(account_id: &str, kind: &str, arn: &str, parent: Option<&str>, created_ms: i64) -> Record {
    Record {
        arn: arn.to_owned(),
        account_id: account_id.to_owned(),
        kind: k(kind),
        parent_arn: parent.map(str::to_owned),
        name: format!("name of {arn}"),
        status: None,
        created_ms,
        version: 0,
        body: json!({ "arn": arn, "n": created_ms }),
    }
}

fn key(account_id: &str, seed: u8) -> AccessKey {
    AccessKey::generate(account_id, 1_000 + i64::from(seed), &[seed; ACCESS_KEY_RANDOM_BYTES])
}

const ACC: &str = "111111111111";
const OTHER: &str = "222222222222";

/// Every page of `query`, following cursors.
async fn all_pages(store: &dyn Store, mut query: ListQuery) -> Vec<Vec<Record>> {
    let mut pages = Vec::new();
    loop {
        let page = store.list(&query).await.unwrap();
        assert!(page.records.len() <= query.limit as usize);
        pages.push(page.records);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return pages,
        }
    }
}

fn arns(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.arn.clone()).collect()
}

fn tag(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

// ---- accounts and keys ---------------------------------------------------------------

async fn accounts_crud(h: &Harness) {
    let s = h.store();
    assert_eq!(s.account(ACC).await.unwrap(), None);
    s.create_account(&account(OTHER, 20)).await.unwrap();
    s.create_account(&account(ACC, 10)).await.unwrap();
    assert!(matches!(s.create_account(&account(ACC, 30)).await, Err(StoreError::AlreadyExists)));

    assert_eq!(s.account(ACC).await.unwrap(), Some(account(ACC, 10)));
    let ids: Vec<String> = s.accounts().await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(ids, [ACC, OTHER], "oldest first");

    let mut settings =
        AccountSettings { max_concurrent_jobs: 3, trial_minutes_total: Some(12.5), ..AccountSettings::default() };
    settings.max_slots.insert("offering-1".to_owned(), 4);
    s.update_account_settings(ACC, &settings).await.unwrap();
    assert_eq!(s.account(ACC).await.unwrap().unwrap().settings, settings);
    assert_eq!(s.account(OTHER).await.unwrap().unwrap().settings, AccountSettings::default());
    assert!(matches!(s.update_account_settings("999999999999", &settings).await, Err(StoreError::NotFound)));
}

async fn access_keys_crud_and_revoke(h: &Harness) {
    let s = h.store();
    s.create_account(&account(ACC, 1)).await.unwrap();
    s.create_account(&account(OTHER, 2)).await.unwrap();
    let (k1, k2, k3) = (key(ACC, 1), key(ACC, 2), key(OTHER, 3));
    for k in [&k2, &k1, &k3] {
        s.create_access_key(k).await.unwrap();
    }
    assert!(matches!(s.create_access_key(&k1).await, Err(StoreError::AlreadyExists)));
    assert!(
        matches!(s.create_access_key(&key("999999999999", 4)).await, Err(StoreError::NotFound)),
        "a key needs an existing account"
    );

    assert_eq!(s.access_key(&k1.access_key_id).await.unwrap(), Some(k1.clone()));
    assert_eq!(s.access_key("AKIANOTAKEYATALL0000").await.unwrap(), None);
    assert_eq!(
        s.access_key_with_account(&k3.access_key_id).await.unwrap(),
        Some((k3.clone(), s.account(OTHER).await.unwrap().expect("account"))),
        "the key's own account, settings and creation time included"
    );
    assert_eq!(s.access_key_with_account("AKIANOTAKEYATALL0000").await.unwrap(), None);
    assert_eq!(s.access_keys(ACC).await.unwrap(), vec![k1.clone(), k2.clone()], "oldest first, own keys only");

    assert!(s.revoke_access_key(&k1.access_key_id, 5_000).await.unwrap());
    assert!(!s.revoke_access_key(&k1.access_key_id, 6_000).await.unwrap(), "already revoked");
    assert!(!s.revoke_access_key("AKIANOTAKEYATALL0000", 6_000).await.unwrap());
    let revoked = s.access_key(&k1.access_key_id).await.unwrap().expect("revoked keys are still returned");
    assert_eq!(revoked.revoked_ms, Some(5_000), "the first revocation time is kept");
    assert!(!revoked.is_active());
    assert!(s.access_key(&k2.access_key_id).await.unwrap().unwrap().is_active());
}

// ---- records -------------------------------------------------------------------------

async fn insert_get_and_duplicate(h: &Harness) {
    let s = h.store();
    let mut r = record(ACC, "project", "arn:p1", None, 5);
    r.status = Some("ACTIVE".to_owned());
    r.body = json!({ "name": "Ünïcödé ✓", "nested": { "list": [1, 2.5, null, "x"] }, "big": 9007199254740993i64 });
    s.insert(&r).await.unwrap();
    assert_eq!(s.get(ACC, "arn:p1").await.unwrap(), Some(r.clone()));
    assert_eq!(s.get_any("arn:p1").await.unwrap(), Some(r.clone()));
    assert_eq!(s.get(ACC, "arn:nope").await.unwrap(), None);

    let mut dup = record(ACC, "project", "arn:p1", None, 6);
    dup.name = "other".to_owned();
    assert!(matches!(s.insert(&dup).await, Err(StoreError::AlreadyExists)));
    dup.account_id = OTHER.to_owned();
    assert!(matches!(s.insert(&dup).await, Err(StoreError::AlreadyExists)), "ARNs are unique across accounts");
    assert_eq!(s.get(ACC, "arn:p1").await.unwrap(), Some(r), "the original is untouched");
}

async fn insert_all_is_all_or_nothing(h: &Harness) {
    let s = h.store();
    let run = record(ACC, "run", "arn:run", None, 1);
    let jobs: Vec<Record> =
        (0..3).map(|i| record(ACC, "job", &format!("arn:run/{i}"), Some("arn:run"), 2 + i)).collect();
    s.insert_all(&[vec![run.clone()], jobs.clone()].concat()).await.unwrap();
    assert_eq!(s.count(ACC, k("job"), Some("arn:run")).await.unwrap(), 3);

    // The last record's ARN is taken: the ones before it, new as they are, are not kept.
    let other = record(ACC, "run", "arn:other-run", None, 9);
    let clash = record(ACC, "job", "arn:run/2", Some("arn:other-run"), 10);
    assert!(matches!(s.insert_all(&[other, clash]).await, Err(StoreError::AlreadyExists)));
    assert_eq!(s.get(ACC, "arn:other-run").await.unwrap(), None);
    assert_eq!(s.get(ACC, "arn:run/2").await.unwrap(), Some(jobs[2].clone()));
}

async fn insert_limited_stops_at_the_limit(h: &Harness) {
    let s = h.store();
    s.create_account(&account(ACC, 1)).await.unwrap();
    for i in 0..2 {
        s.insert_limited(&record(ACC, "upload", &format!("arn:p1/{i}"), Some("arn:p1"), i), 2).await.unwrap();
    }
    let third = record(ACC, "upload", "arn:p1/2", Some("arn:p1"), 2);
    assert!(matches!(s.insert_limited(&third, 2).await, Err(StoreError::LimitReached { limit: 2 })));
    assert_eq!(s.get(ACC, "arn:p1/2").await.unwrap(), None, "nothing written past the limit");
    // The limit counts the kind under the same parent only.
    s.insert_limited(&record(ACC, "upload", "arn:p2/0", Some("arn:p2"), 3), 2).await.unwrap();
    s.insert_limited(&record(ACC, "devicepool", "arn:p1/pool", Some("arn:p1"), 4), 2).await.unwrap();
    // An account the store does not have has no room at all.
    let stray = record(OTHER, "project", "arn:stray", None, 5);
    assert!(matches!(s.insert_limited(&stray, 10).await, Err(StoreError::NotFound)));
}

async fn insert_limited_holds_under_concurrency(h: &Harness) {
    let s = h.store_arc();
    s.create_account(&account(ACC, 1)).await.unwrap();
    // Several rounds, because a missing serialisation shows only in some interleavings.
    for round in 0..5 {
        let parent = format!("arn:limited/{round}");
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let s = s.clone();
                let r = record(ACC, "project", &format!("{parent}/{i}"), Some(&parent), i);
                tokio::spawn(async move { s.insert_limited(&r, 7).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::LimitReached { limit: 7 }) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok, 7, "24 concurrent creates under a limit of 7");
        assert_eq!(s.count(ACC, k("project"), Some(&parent)).await.unwrap(), 7);
    }
}

async fn update_all_is_all_or_nothing(h: &Harness) {
    let s = h.store();
    let run = record(ACC, "run", "arn:run", None, 1);
    let jobs: Vec<Record> =
        (0..3).map(|i| record(ACC, "job", &format!("arn:run/{i}"), Some("arn:run"), 2 + i)).collect();
    s.insert_all(&[vec![run.clone()], jobs.clone()].concat()).await.unwrap();

    let stopped = |r: &Record| Record { status: Some("STOPPING".into()), ..r.clone() };
    let mut batch: Vec<Record> = std::iter::once(&run).chain(&jobs).map(stopped).collect();
    // Someone else moved the last job on: nothing of the batch lands.
    s.update(&Record { name: "moved".into(), ..jobs[2].clone() }).await.unwrap();
    assert!(matches!(s.update_all(&batch).await, Err(StoreError::Conflict)));
    assert_eq!(s.get(ACC, "arn:run").await.unwrap(), Some(run.clone()));
    assert_eq!(s.get(ACC, "arn:run/0").await.unwrap(), Some(jobs[0].clone()));

    batch[3] = stopped(&s.get(ACC, "arn:run/2").await.unwrap().unwrap());
    let written = s.update_all(&batch).await.unwrap();
    for (w, b) in written.iter().zip(&batch) {
        assert_eq!(w.version, b.version + 1);
        assert_eq!(s.get(ACC, &w.arn).await.unwrap().as_ref(), Some(w));
    }
    // A record that is gone is named as such, and again nothing lands.
    s.delete(ACC, "arn:run/1").await.unwrap();
    let again: Vec<Record> = written.iter().map(|r| Record { name: "again".into(), ..r.clone() }).collect();
    assert!(matches!(s.update_all(&again).await, Err(StoreError::NotFound)));
    assert_eq!(s.get(ACC, "arn:run").await.unwrap(), Some(written[0].clone()));
}

async fn accounts_are_isolated(h: &Harness) {
    let s = h.store();
    let mine = record(ACC, "project", "arn:mine", None, 1);
    s.insert(&mine).await.unwrap();
    s.insert(&record(ACC, "run", "arn:mine/run", Some("arn:mine"), 2)).await.unwrap();
    s.put_tags("arn:mine", &[tag("k", "v")]).await.unwrap();

    assert_eq!(s.get(OTHER, "arn:mine").await.unwrap(), None);
    assert!(s.list(&ListQuery::new(OTHER, k("project"), 10)).await.unwrap().records.is_empty());
    assert_eq!(s.count(OTHER, k("project"), None).await.unwrap(), 0);
    let mut theirs = mine.clone();
    theirs.account_id = OTHER.to_owned();
    theirs.name = "hijacked".to_owned();
    assert!(matches!(s.update(&theirs).await, Err(StoreError::NotFound)));
    assert!(!s.delete(OTHER, "arn:mine").await.unwrap());
    assert!(!s.delete_tree(OTHER, "arn:mine").await.unwrap());

    assert_eq!(s.get(ACC, "arn:mine").await.unwrap(), Some(mine));
    assert_eq!(s.count(ACC, k("run"), Some("arn:mine")).await.unwrap(), 1);
    assert_eq!(s.tags("arn:mine").await.unwrap(), vec![tag("k", "v")]);
}

async fn list_orders_and_paginates(h: &Harness) {
    let s = h.store();
    // Inserted out of order, with ties on created_ms that the ARN must break.
    let mut expected = Vec::new();
    for i in 0..25i64 {
        let created = (i * 7) % 10; // 0..9, several records per instant
        let arn = format!("arn:p/{:02}", (i * 11) % 25);
        let r = record(ACC, "project", &arn, None, created);
        s.insert(&r).await.unwrap();
        expected.push(r);
    }
    s.insert(&record(OTHER, "project", "arn:other", None, 0)).await.unwrap();
    s.insert(&record(ACC, "upload", "arn:upload", None, 0)).await.unwrap();
    expected.sort_by(|a, b| (a.created_ms, &a.arn).cmp(&(b.created_ms, &b.arn)));

    for limit in [1u32, 7, 25, 100] {
        let pages = all_pages(s, ListQuery::new(ACC, k("project"), limit)).await;
        let flat: Vec<Record> = pages.iter().flatten().cloned().collect();
        assert_eq!(arns(&flat), arns(&expected), "limit {limit}");
        assert_eq!(flat, expected, "records come back whole");
        assert_eq!(pages.len(), 25usize.div_ceil(limit as usize), "no empty trailing page (limit {limit})");
    }

    let first = s.list(&ListQuery::new(ACC, k("project"), 25)).await.unwrap();
    assert_eq!(first.next, None, "a page that ends the list has no cursor");
    let zero = s.list(&ListQuery::new(ACC, k("project"), 0)).await.unwrap();
    assert!(zero.records.is_empty() && zero.next.is_none());

    let mut after_last = ListQuery::new(ACC, k("project"), 10);
    after_last.after = Some(Cursor::after(&expected[24]));
    assert!(s.list(&after_last).await.unwrap().records.is_empty());
}

async fn list_filters_by_parent_and_kind(h: &Harness) {
    let s = h.store();
    s.insert(&record(ACC, "project", "arn:p1", None, 1)).await.unwrap();
    s.insert(&record(ACC, "project", "arn:p2", None, 2)).await.unwrap();
    for (arn, parent, t) in [("arn:u1", "arn:p1", 3), ("arn:u2", "arn:p2", 4), ("arn:u3", "arn:p1", 5)] {
        s.insert(&record(ACC, "upload", arn, Some(parent), t)).await.unwrap();
    }
    s.insert(&record(ACC, "devicepool", "arn:d1", Some("arn:p1"), 6)).await.unwrap();

    let mut q = ListQuery::new(ACC, k("upload"), 10);
    q.parent_arn = Some("arn:p1".to_owned());
    assert_eq!(arns(&s.list(&q).await.unwrap().records), ["arn:u1", "arn:u3"]);
    q.parent_arn = None;
    assert_eq!(arns(&s.list(&q).await.unwrap().records), ["arn:u1", "arn:u2", "arn:u3"]);
}

async fn pagination_is_stable_under_concurrent_inserts(h: &Harness) {
    let s = h.store_arc();
    for i in 0..30i64 {
        s.insert(&record(ACC, "run", &format!("arn:r/{i:03}"), None, 1_000 + i)).await.unwrap();
    }
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            // New records land both before the cursor (older timestamps) and after it.
            for i in 0..40i64 {
                let created = if i % 2 == 0 { 500 + i } else { 2_000 + i };
                s.insert(&record(ACC, "run", &format!("arn:new/{i:03}"), None, created)).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut query = ListQuery::new(ACC, k("run"), 4);
    loop {
        let page = s.list(&query).await.unwrap();
        seen.extend(page.records.iter().map(|r| (r.created_ms, r.arn.clone())));
        match page.next {
            Some(c) => query.after = Some(c),
            None => break,
        }
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();

    let sorted = seen.windows(2).all(|w| w[0] < w[1]);
    assert!(sorted, "strictly increasing, hence no duplicates: {seen:?}");
    let originals: BTreeSet<String> = (0..30).map(|i| format!("arn:r/{i:03}")).collect();
    let seen_arns: BTreeSet<String> = seen.iter().map(|(_, a)| a.clone()).collect();
    assert!(originals.is_subset(&seen_arns), "every record that existed throughout was listed");
}

async fn list_filters_by_status(h: &Harness) {
    let s = h.store();
    for (i, status) in ["PENDING", "RUNNING", "COMPLETED", "RUNNING", "PENDING"].iter().enumerate() {
        let mut r = record(ACC, "job", &format!("arn:j{i}"), None, i as i64);
        r.status = Some((*status).to_owned());
        s.insert(&r).await.unwrap();
    }
    s.insert(&record(ACC, "job", "arn:no-status", None, 10)).await.unwrap();

    let mut q = ListQuery::new(ACC, k("job"), 2);
    q.status_in = Some(vec!["PENDING".to_owned(), "RUNNING".to_owned()]);
    let flat: Vec<Record> = all_pages(s, q.clone()).await.into_iter().flatten().collect();
    assert_eq!(arns(&flat), ["arn:j0", "arn:j1", "arn:j3", "arn:j4"]);

    q.status_in = Some(vec!["COMPLETED".to_owned()]);
    assert_eq!(arns(&s.list(&q).await.unwrap().records), ["arn:j2"]);
    q.status_in = Some(Vec::new());
    assert!(s.list(&q).await.unwrap().records.is_empty(), "an empty set matches nothing");
    q.status_in = None;
    q.limit = 100;
    assert_eq!(s.list(&q).await.unwrap().records.len(), 6);
}

async fn update_detects_conflicts(h: &Harness) {
    let s = h.store();
    let original = record(ACC, "run", "arn:run", Some("arn:p"), 7);
    s.insert(&original).await.unwrap();

    let mut a = original.clone();
    a.status = Some("RUNNING".to_owned());
    a.name = "a".to_owned();
    a.body = json!({ "by": "a" });
    let a_saved = s.update(&a).await.unwrap();
    assert_eq!(a_saved.version, 1);
    assert_eq!(s.get(ACC, "arn:run").await.unwrap(), Some(a_saved.clone()));

    let mut b = original.clone();
    b.body = json!({ "by": "b" });
    assert!(matches!(s.update(&b).await, Err(StoreError::Conflict)), "b read version 0, a moved it");
    assert_eq!(s.get(ACC, "arn:run").await.unwrap().unwrap().body, json!({ "by": "a" }));

    let mut next = a_saved.clone();
    next.status = None;
    next.parent_arn = None;
    let next_saved = s.update(&next).await.unwrap();
    assert_eq!(next_saved.version, 2);
    let stored = s.get(ACC, "arn:run").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.parent_arn), (None, None), "nullable columns can be cleared");
    assert_eq!(stored.created_ms, 7);

    assert!(s.delete(ACC, "arn:run").await.unwrap());
    assert!(matches!(s.update(&next_saved).await, Err(StoreError::NotFound)));
}

async fn concurrent_updates_from_one_version_have_one_winner(h: &Harness) {
    let s = h.store_arc();
    let original = record(ACC, "job", "arn:job", None, 1);
    s.insert(&original).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (s, mut r) = (s.clone(), original.clone());
            r.body = json!({ "winner": i });
            tokio::spawn(async move { s.update(&r).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(saved) => winners.push((i, saved)),
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update from version 0 succeeds");
    let stored = s.get(ACC, "arn:job").await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.body, json!({ "winner": winners[0].0 }));
}

async fn concurrent_increments_lose_nothing(h: &Harness) {
    let s = h.store_arc();
    let mut r = record(ACC, "project", "arn:counter", None, 1);
    r.body = json!({ "n": 0 });
    s.insert(&r).await.unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                for _ in 0..8 {
                    // The read-modify-write loop every caller of `update` runs.
                    loop {
                        let mut cur = s.get(ACC, "arn:counter").await.unwrap().unwrap();
                        cur.body["n"] = json!(cur.body["n"].as_i64().unwrap() + 1);
                        match s.update(&cur).await {
                            Ok(_) => break,
                            Err(StoreError::Conflict) => tokio::task::yield_now().await,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stored = s.get(ACC, "arn:counter").await.unwrap().unwrap();
    assert_eq!(stored.body["n"], json!(48));
    assert_eq!(stored.version, 48);
}

async fn delete_removes_tags(h: &Harness) {
    let s = h.store();
    s.insert(&record(ACC, "project", "arn:p", None, 1)).await.unwrap();
    s.insert(&record(ACC, "project", "arn:q", None, 2)).await.unwrap();
    s.put_tags("arn:p", &[tag("a", "1"), tag("b", "2")]).await.unwrap();
    s.put_tags("arn:q", &[tag("a", "1")]).await.unwrap();

    assert!(s.delete(ACC, "arn:p").await.unwrap());
    assert_eq!(s.get(ACC, "arn:p").await.unwrap(), None);
    assert!(s.tags("arn:p").await.unwrap().is_empty());
    assert_eq!(s.tags("arn:q").await.unwrap(), vec![tag("a", "1")], "other resources keep theirs");
    assert!(!s.delete(ACC, "arn:p").await.unwrap(), "already gone");

    // A resource recreated under the same ARN starts with no tags and a fresh tag budget.
    s.insert(&record(ACC, "project", "arn:p", None, 3)).await.unwrap();
    assert!(s.tags("arn:p").await.unwrap().is_empty());
}

async fn delete_tree_takes_the_record_and_everything_below(h: &Harness) {
    let s = h.store();
    let tree = [
        ("project", "arn:proj", None),
        ("upload", "arn:up", Some("arn:proj")),
        ("run", "arn:run", Some("arn:proj")),
        ("job", "arn:job", Some("arn:run")),
        ("suite", "arn:suite", Some("arn:job")),
        ("test", "arn:test", Some("arn:suite")),
        ("project", "arn:proj2", None),
        ("run", "arn:run2", Some("arn:proj2")),
    ];
    for (i, (kind, arn, parent)) in tree.iter().enumerate() {
        s.insert(&record(ACC, kind, arn, *parent, i as i64)).await.unwrap();
        s.put_tags(arn, &[tag("k", arn)]).await.unwrap();
    }

    assert!(s.delete_tree(ACC, "arn:proj").await.unwrap());
    for arn in ["arn:proj", "arn:up", "arn:run", "arn:job", "arn:suite", "arn:test"] {
        assert_eq!(s.get(ACC, arn).await.unwrap(), None, "{arn}");
        assert!(s.tags(arn).await.unwrap().is_empty(), "{arn}");
    }
    for arn in ["arn:proj2", "arn:run2"] {
        assert!(s.get(ACC, arn).await.unwrap().is_some(), "{arn} is not below arn:proj");
        assert_eq!(s.tags(arn).await.unwrap().len(), 1);
    }
    assert!(!s.delete_tree(ACC, "arn:proj").await.unwrap(), "already gone");
}

async fn count_by_kind_and_parent(h: &Harness) {
    let s = h.store();
    assert_eq!(s.count(ACC, k("upload"), None).await.unwrap(), 0);
    for i in 0..5 {
        let parent = if i < 3 { "arn:p1" } else { "arn:p2" };
        s.insert(&record(ACC, "upload", &format!("arn:u{i}"), Some(parent), i)).await.unwrap();
    }
    s.insert(&record(ACC, "devicepool", "arn:d", Some("arn:p1"), 9)).await.unwrap();
    assert_eq!(s.count(ACC, k("upload"), None).await.unwrap(), 5);
    assert_eq!(s.count(ACC, k("upload"), Some("arn:p1")).await.unwrap(), 3);
    assert_eq!(s.count(ACC, k("upload"), Some("arn:p2")).await.unwrap(), 2);
    assert_eq!(s.count(ACC, k("devicepool"), Some("arn:p1")).await.unwrap(), 1);
}

// ---- tags ----------------------------------------------------------------------------

async fn tags_upsert_sort_and_remove(h: &Harness) {
    let s = h.store();
    assert!(s.tags("arn:t").await.unwrap().is_empty());
    s.put_tags("arn:t", &[tag("zeta", "1"), tag("Alpha", "2"), tag("alpha", "3")]).await.unwrap();
    s.put_tags("arn:t", &[tag("zeta", "updated"), tag("mid", ""), tag("mid", "last wins")]).await.unwrap();
    assert_eq!(
        s.tags("arn:t").await.unwrap(),
        vec![tag("Alpha", "2"), tag("alpha", "3"), tag("mid", "last wins"), tag("zeta", "updated")],
        "sorted bytewise by key, values upserted"
    );
    s.put_tags("arn:t", &[]).await.unwrap();

    s.remove_tags("arn:t", &["alpha".to_owned(), "absent".to_owned()]).await.unwrap();
    s.remove_tags("arn:t", &[]).await.unwrap();
    assert_eq!(
        s.tags("arn:t").await.unwrap(),
        vec![tag("Alpha", "2"), tag("mid", "last wins"), tag("zeta", "updated")]
    );
    assert!(s.tags("arn:other").await.unwrap().is_empty());
}

async fn tag_limit_is_atomic(h: &Harness) {
    let s = h.store();
    let first: Vec<_> = (0..40).map(|i| tag(&format!("k{i:02}"), "v")).collect();
    s.put_tags("arn:t", &first).await.unwrap();

    // 5 overwrites + 11 new = 51 tags: rejected, and none of the 16 is written.
    let mut too_many: Vec<_> = (0..5).map(|i| tag(&format!("k{i:02}"), "changed")).collect();
    too_many.extend((40..51).map(|i| tag(&format!("k{i:02}"), "new")));
    match s.put_tags("arn:t", &too_many).await {
        Err(StoreError::TooManyTags { limit }) => assert_eq!(limit, MAX_TAGS_PER_RESOURCE),
        other => panic!("expected TooManyTags, got {other:?}"),
    }
    assert_eq!(s.tags("arn:t").await.unwrap(), first, "nothing written");

    // Exactly 50 is fine, and overwriting at the limit still works.
    too_many.pop();
    s.put_tags("arn:t", &too_many).await.unwrap();
    assert_eq!(s.tags("arn:t").await.unwrap().len(), 50);
    s.put_tags("arn:t", &[tag("k00", "again")]).await.unwrap();
    assert!(matches!(s.put_tags("arn:t", &[tag("one-more", "x")]).await, Err(StoreError::TooManyTags { .. })));
    s.remove_tags("arn:t", &["k01".to_owned()]).await.unwrap();
    s.put_tags("arn:t", &[tag("one-more", "x")]).await.unwrap();
    assert_eq!(s.tags("arn:t").await.unwrap().len(), 50);
}

async fn tag_limit_holds_under_concurrency(h: &Harness) {
    let s = h.store_arc();
    // Several rounds, because a missing serialisation shows only in some interleavings.
    for round in 0..5 {
        let arn = format!("arn:race/{round}");
        let tasks: Vec<_> = (0..10)
            .map(|t| {
                let (s, arn) = (s.clone(), arn.clone());
                let tags: Vec<_> = (0..10).map(|i| tag(&format!("t{t}-{i}"), "v")).collect();
                tokio::spawn(async move { s.put_tags(&arn, &tags).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::TooManyTags { .. }) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok, 5, "10 writers of 10 new tags each: exactly 5 fit");
        assert_eq!(s.tags(&arn).await.unwrap().len(), 50);
    }
}

// ---- secrets and lifecycle -----------------------------------------------------------

async fn secret_or_init_has_one_winner(h: &Harness) {
    let s = h.store_arc();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.secret_or_init("token-key", format!("candidate-{i}")).await })
        })
        .collect();
    let mut values = BTreeSet::new();
    for t in tasks {
        values.insert(t.await.unwrap().unwrap());
    }
    assert_eq!(values.len(), 1, "every caller gets the same secret: {values:?}");
    let value = values.into_iter().next().unwrap();
    assert!(value.starts_with("candidate-"));
    assert_eq!(s.secret_or_init("token-key", "late".to_owned()).await.unwrap(), value);
    assert_eq!(s.secret_or_init("other", "own".to_owned()).await.unwrap(), "own", "secrets are per name");
}

async fn reopen_keeps_data_and_migrations_are_idempotent(h: &Harness) {
    let s = h.store();
    s.create_account(&account(ACC, 1)).await.unwrap();
    s.create_access_key(&key(ACC, 1)).await.unwrap();
    s.insert(&record(ACC, "project", "arn:p", None, 1)).await.unwrap();
    s.put_tags("arn:p", &[tag("k", "v")]).await.unwrap();
    let secret = s.secret_or_init("s", "value".to_owned()).await.unwrap();
    s.close().await;

    for _ in 0..2 {
        // Each open runs the migrations again; they must be a no-op on an up-to-date schema.
        let again: Arc<dyn Store> = store::open(h.url()).await.unwrap();
        assert_eq!(again.account(ACC).await.unwrap(), Some(account(ACC, 1)));
        assert_eq!(again.access_key(&key(ACC, 1).access_key_id).await.unwrap(), Some(key(ACC, 1)));
        assert_eq!(again.get(ACC, "arn:p").await.unwrap(), Some(record(ACC, "project", "arn:p", None, 1)));
        assert_eq!(again.tags("arn:p").await.unwrap(), vec![tag("k", "v")]);
        assert_eq!(again.secret_or_init("s", "other".to_owned()).await.unwrap(), secret);
        again.close().await;
    }
}

// ---- cross-account scan --------------------------------------------------------------

/// Every page of `query`, following cursors.
async fn all_scan_pages(store: &dyn Store, mut query: ScanQuery) -> Vec<Vec<Record>> {
    let mut pages = Vec::new();
    loop {
        let page = store.scan(&query).await.unwrap();
        assert!(page.records.len() <= query.limit as usize);
        pages.push(page.records);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return pages,
        }
    }
}

fn scan_all(kind: &str, limit: u32) -> ScanQuery {
    ScanQuery { kind: k(kind), status_in: None, after: None, limit }
}

async fn scan_orders_and_paginates_across_accounts(h: &Harness) {
    let s = h.store();
    let accounts = [ACC, OTHER, "333333333333"];
    // Interleaved accounts and timestamps, with ties on created_ms across accounts that the
    // ARN must break.
    let mut expected = Vec::new();
    for i in 0..30i64 {
        let acc = accounts[(i % 3) as usize];
        let arn = format!("arn:job/{:02}", (i * 7) % 30);
        let r = record(acc, "job", &arn, Some("arn:run"), (i * 13) % 10);
        s.insert(&r).await.unwrap();
        expected.push(r);
    }
    s.insert(&record(ACC, "run", "arn:run", None, 0)).await.unwrap();
    expected.sort_by(|a, b| (a.created_ms, &a.arn).cmp(&(b.created_ms, &b.arn)));

    for limit in [1u32, 4, 30, 100] {
        let pages = all_scan_pages(s, scan_all("job", limit)).await;
        let flat: Vec<Record> = pages.iter().flatten().cloned().collect();
        assert_eq!(flat, expected, "every account's jobs in one order (limit {limit})");
        assert_eq!(pages.len(), 30usize.div_ceil(limit as usize), "no empty trailing page (limit {limit})");
    }
    let owners: BTreeSet<String> =
        s.scan(&scan_all("job", 100)).await.unwrap().records.into_iter().map(|r| r.account_id).collect();
    assert_eq!(owners.len(), 3);

    let zero = s.scan(&scan_all("job", 0)).await.unwrap();
    assert!(zero.records.is_empty() && zero.next.is_none());
    let mut after_last = scan_all("job", 10);
    after_last.after = Some(Cursor::after(&expected[29]));
    assert!(s.scan(&after_last).await.unwrap().records.is_empty());
    assert_eq!(arns(&s.scan(&scan_all("run", 10)).await.unwrap().records), ["arn:run"], "one kind only");
}

async fn scan_filters_by_status(h: &Harness) {
    let s = h.store();
    let statuses = ["PENDING", "RUNNING", "COMPLETED", "PENDING_DEVICE", "PENDING"];
    for (i, status) in statuses.iter().enumerate() {
        let acc = if i % 2 == 0 { ACC } else { OTHER };
        // Later ARNs get earlier timestamps: the order must come from created_ms.
        let mut r = record(acc, "job", &format!("arn:j{i}"), None, 100 - i as i64);
        r.status = Some((*status).to_owned());
        s.insert(&r).await.unwrap();
    }
    s.insert(&record(ACC, "job", "arn:no-status", None, 0)).await.unwrap();
    let mut other_kind = record(ACC, "run", "arn:run", None, 0);
    other_kind.status = Some("PENDING".to_owned());
    s.insert(&other_kind).await.unwrap();

    let q = ScanQuery::with_status(k("job"), ["PENDING", "PENDING_DEVICE"], 1);
    let flat: Vec<Record> = all_scan_pages(s, q.clone()).await.into_iter().flatten().collect();
    assert_eq!(arns(&flat), ["arn:j4", "arn:j3", "arn:j0"]);

    let running = ScanQuery::with_status(k("job"), ["RUNNING"], 10);
    assert_eq!(arns(&s.scan(&running).await.unwrap().records), ["arn:j1"]);
    let none = ScanQuery::with_status(k("job"), Vec::<String>::new(), 10);
    assert!(s.scan(&none).await.unwrap().records.is_empty(), "an empty set matches nothing");
    assert_eq!(s.scan(&scan_all("job", 100)).await.unwrap().records.len(), 6);
}

// ---- billing ledger ------------------------------------------------------------------

fn entry(account_id: &str, job_arn: &str, method: &str, seconds: i64, settled_ms: i64) -> LedgerEntry {
    LedgerEntry {
        job_arn: job_arn.to_owned(),
        account_id: account_id.to_owned(),
        project_arn: "arn:project".to_owned(),
        run_arn: "arn:run".to_owned(),
        device_arn: "arn:device".to_owned(),
        device_name: "Google Pixel 8 ✓".to_owned(),
        platform: "ANDROID".to_owned(),
        billing_method: method.to_owned(),
        seconds,
        started_ms: settled_ms - seconds * 1_000,
        settled_ms,
    }
}

fn all_entries() -> LedgerQuery {
    LedgerQuery::default()
}

/// A job record about to settle, as the engine holds it.
async fn running_job(s: &dyn Store, arn: &str) -> Record {
    let mut job = record(ACC, "job", arn, Some("arn:run"), 1);
    job.status = Some("RUNNING".to_owned());
    s.insert(&job).await.unwrap();
    job
}

fn completed(job: &Record) -> Record {
    let mut done = job.clone();
    done.status = Some("COMPLETED".to_owned());
    done.body = json!({ "status": "COMPLETED", "result": "PASSED" });
    done
}

async fn record_billing_keeps_the_first_entry_of_a_job(h: &Harness) {
    let s = h.store();
    let first = entry(ACC, "arn:job/1", METERED, 75, 10_000);
    assert!(s.record_billing(&first).await.unwrap());
    assert_eq!(s.billing_entries(&all_entries()).await.unwrap(), vec![first.clone()]);

    let mut retry = entry(ACC, "arn:job/1", METERED, 75, 10_000);
    assert!(!s.record_billing(&retry).await.unwrap(), "a retry bills nothing");
    retry.seconds = 999;
    retry.settled_ms = 20_000;
    assert!(!s.record_billing(&retry).await.unwrap(), "a job is billed once, even if a later settlement disagrees");
    assert_eq!(s.billing_entries(&all_entries()).await.unwrap(), vec![first]);
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 75);

    assert!(s.record_billing(&entry(ACC, "arn:job/2", METERED, 5, 11_000)).await.unwrap());
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 80);
}

async fn invalid_ledger_entries_are_refused(h: &Harness) {
    let s = h.store();
    let job = running_job(s, "arn:job").await;
    let bad = [
        entry(ACC, "arn:job", "metered", 1, 1_000),
        entry(ACC, "arn:job", "FREE", 1, 1_000),
        entry(ACC, "arn:job", METERED, -1, 1_000),
    ];
    for e in &bad {
        assert!(matches!(s.record_billing(e).await, Err(StoreError::Invalid(_))), "{e:?}");
        assert!(matches!(s.settle(&completed(&job), e).await, Err(StoreError::Invalid(_))), "{e:?}");
    }
    let foreign_job = entry(ACC, "arn:another-job", METERED, 1, 1_000);
    let foreign_account = entry(OTHER, "arn:job", METERED, 1, 1_000);
    for e in [&foreign_job, &foreign_account] {
        assert!(
            matches!(s.settle(&completed(&job), e).await, Err(StoreError::Invalid(_))),
            "an entry settles only its own job: {e:?}"
        );
    }
    assert!(s.billing_entries(&all_entries()).await.unwrap().is_empty());
    assert_eq!(s.get(ACC, "arn:job").await.unwrap(), Some(job), "a refused settlement leaves the job alone");
    assert!(
        s.record_billing(&entry(ACC, "arn:job", METERED, 0, 1_000)).await.unwrap(),
        "zero seconds (a job stopped before it started) is a valid entry"
    );
}

async fn concurrent_record_billing_bills_once(h: &Harness) {
    let s = h.store_arc();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            // Each racer settles at its own instant, so the row tells who won.
            let e = entry(ACC, "arn:job", METERED, 120, 50_000 + i);
            tokio::spawn(async move { (s.record_billing(&e).await.unwrap(), e) })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (inserted, e) = t.await.unwrap();
        if inserted {
            winners.push(e);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one racer inserts");
    assert_eq!(s.billing_entries(&all_entries()).await.unwrap(), winners);
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 120, "not doubled");
}

async fn concurrent_settlers_bill_once(h: &Harness) {
    let s = h.store_arc();
    running_job(s.as_ref(), "arn:job").await;
    // Each racer runs the engine's loop: read the job, stop if it is already final,
    // otherwise settle it from the version it read.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                loop {
                    let cur = s.get(ACC, "arn:job").await.unwrap().unwrap();
                    if cur.status.as_deref() == Some("COMPLETED") {
                        return false;
                    }
                    let e = entry(ACC, "arn:job", METERED, 90, 70_000 + i);
                    match s.settle(&completed(&cur), &e).await {
                        Ok(_) => return true,
                        Err(StoreError::Conflict) => tokio::task::yield_now().await,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            })
        })
        .collect();
    let mut settled = 0;
    for t in tasks {
        settled += usize::from(t.await.unwrap());
    }
    assert_eq!(settled, 1, "one racer settles, the others see it settled");
    let entries = s.billing_entries(&all_entries()).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 90, "not doubled");
    let job = s.get(ACC, "arn:job").await.unwrap().unwrap();
    assert_eq!((job.status.as_deref(), job.version), (Some("COMPLETED"), 1));
}

async fn settle_and_record_billing_racing_bill_once(h: &Harness) {
    let s = h.store_arc();
    // Several rounds, because a missing guarantee shows only in some interleavings.
    for round in 0..4 {
        let arn = format!("arn:job/{round}");
        let job = running_job(s.as_ref(), &arn).await;
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (s, job) = (s.clone(), job.clone());
                let e = entry(ACC, &arn, UNMETERED, 30, 1_000 + i);
                tokio::spawn(async move {
                    if i % 2 == 0 {
                        match s.settle(&completed(&job), &e).await {
                            Ok(_) => "settled",
                            Err(StoreError::Conflict) => "conflict",
                            Err(e) => panic!("unexpected {e}"),
                        }
                    } else if s.record_billing(&e).await.unwrap() {
                        "recorded"
                    } else {
                        "already billed"
                    }
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        let count = |what: &str| outcomes.iter().filter(|o| **o == what).count();
        assert_eq!(count("settled"), 1, "{outcomes:?}");
        assert!(count("recorded") <= 1, "{outcomes:?}");
        let q = LedgerQuery { account_id: Some(ACC.to_owned()), ..LedgerQuery::default() };
        let rows: Vec<_> = s.billing_entries(&q).await.unwrap().into_iter().filter(|e| e.job_arn == arn).collect();
        assert_eq!(rows.len(), 1, "{outcomes:?}");
        assert_eq!(rows[0].seconds, 30);
    }
}

async fn settle_writes_record_and_entry_together(h: &Harness) {
    let s = h.store();
    let job = running_job(s, "arn:job").await;
    let e = entry(ACC, "arn:job", METERED, 61, 9_000);
    let saved = s.settle(&completed(&job), &e).await.unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(saved.status.as_deref(), Some("COMPLETED"));
    assert_eq!(s.get(ACC, "arn:job").await.unwrap(), Some(saved.clone()));
    assert_eq!(s.billing_entries(&all_entries()).await.unwrap(), vec![e.clone()]);

    // A job billed earlier (e.g. by a replica that crashed before updating the record)
    // still settles, and keeps its one entry.
    let other = running_job(s, "arn:job2").await;
    let early = entry(ACC, "arn:job2", METERED, 10, 9_500);
    assert!(s.record_billing(&early).await.unwrap());
    let late = entry(ACC, "arn:job2", METERED, 10_000, 9_600);
    let saved2 = s.settle(&completed(&other), &late).await.unwrap();
    assert_eq!(saved2.version, 1);
    assert_eq!(s.billing_entries(&all_entries()).await.unwrap(), vec![e, early]);
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 71);
}

async fn settle_writes_nothing_on_conflict_or_absence(h: &Harness) {
    let s = h.store();
    let job = running_job(s, "arn:job").await;
    let mut moved = job.clone();
    moved.body = json!({ "progress": "teardown" });
    let moved = s.update(&moved).await.unwrap();

    let e = entry(ACC, "arn:job", METERED, 42, 5_000);
    assert!(matches!(s.settle(&completed(&job), &e).await, Err(StoreError::Conflict)), "settling from a stale version");
    assert!(s.billing_entries(&all_entries()).await.unwrap().is_empty(), "a conflicting settlement bills nothing");
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 0);
    assert_eq!(s.get(ACC, "arn:job").await.unwrap(), Some(moved.clone()));

    let gone = running_job(s, "arn:gone").await;
    assert!(s.delete(ACC, "arn:gone").await.unwrap());
    let e_gone = entry(ACC, "arn:gone", METERED, 42, 5_000);
    assert!(matches!(s.settle(&completed(&gone), &e_gone).await, Err(StoreError::NotFound)));
    let mut foreign = completed(&moved);
    foreign.account_id = OTHER.to_owned();
    assert!(
        matches!(s.settle(&foreign, &entry(OTHER, "arn:job", METERED, 42, 5_000)).await, Err(StoreError::NotFound)),
        "another account's job is not found"
    );
    assert!(s.billing_entries(&all_entries()).await.unwrap().is_empty());

    // From the current version it settles.
    s.settle(&completed(&moved), &e).await.unwrap();
    assert_eq!(s.billing_entries(&all_entries()).await.unwrap(), vec![e]);
}

async fn billing_entries_filter_and_order(h: &Harness) {
    let s = h.store();
    // (account, job, settled_ms), inserted out of order, with a tie on settled_ms that the
    // job ARN breaks.
    let rows = [
        (ACC, "arn:job/c", 300),
        (OTHER, "arn:job/x", 100),
        (ACC, "arn:job/b", 200),
        (ACC, "arn:job/a", 200),
        (OTHER, "arn:job/y", 400),
        (ACC, "arn:job/d", 500),
    ];
    for (acc, job, at) in rows {
        s.record_billing(&entry(acc, job, METERED, 1, at)).await.unwrap();
    }
    let jobs = |entries: Vec<LedgerEntry>| -> Vec<String> { entries.into_iter().map(|e| e.job_arn).collect() };
    let query = |account: Option<&str>, since: Option<i64>, until: Option<i64>| LedgerQuery {
        account_id: account.map(str::to_owned),
        since_ms: since,
        until_ms: until,
    };

    let all = s.billing_entries(&all_entries()).await.unwrap();
    assert_eq!(jobs(all.clone()), ["arn:job/x", "arn:job/a", "arn:job/b", "arn:job/c", "arn:job/y", "arn:job/d"]);
    assert_eq!(all[1], entry(ACC, "arn:job/a", METERED, 1, 200), "entries come back whole");
    assert_eq!(
        jobs(s.billing_entries(&query(Some(ACC), None, None)).await.unwrap()),
        ["arn:job/a", "arn:job/b", "arn:job/c", "arn:job/d"]
    );
    assert_eq!(
        jobs(s.billing_entries(&query(None, Some(200), None)).await.unwrap()),
        ["arn:job/a", "arn:job/b", "arn:job/c", "arn:job/y", "arn:job/d"],
        "since is inclusive"
    );
    assert_eq!(
        jobs(s.billing_entries(&query(None, None, Some(300))).await.unwrap()),
        ["arn:job/x", "arn:job/a", "arn:job/b"],
        "until is exclusive"
    );
    assert_eq!(jobs(s.billing_entries(&query(Some(OTHER), Some(150), Some(1_000))).await.unwrap()), ["arn:job/y"]);
    assert!(s.billing_entries(&query(Some("999999999999"), None, None)).await.unwrap().is_empty());
    // Consecutive periods split the ledger without overlap or gap.
    let first = s.billing_entries(&query(None, None, Some(250))).await.unwrap();
    let second = s.billing_entries(&query(None, Some(250), None)).await.unwrap();
    assert_eq!([first, second].concat(), all);
}

async fn metered_seconds_ignores_unmetered_and_other_accounts(h: &Harness) {
    let s = h.store();
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 0, "no entries yet");
    let rows = [
        (ACC, "arn:j1", METERED, 61),
        (ACC, "arn:j2", UNMETERED, 1_000),
        (ACC, "arn:j3", METERED, 0),
        (ACC, "arn:j4", METERED, 3_600),
        (OTHER, "arn:j5", METERED, 7),
        (OTHER, "arn:j6", UNMETERED, 9),
    ];
    for (i, (acc, job, method, secs)) in rows.into_iter().enumerate() {
        s.record_billing(&entry(acc, job, method, secs, i as i64 * 1_000)).await.unwrap();
    }
    assert_eq!(s.metered_seconds(ACC).await.unwrap(), 3_661);
    assert_eq!(s.metered_seconds(OTHER).await.unwrap(), 7);
    assert_eq!(s.metered_seconds("999999999999").await.unwrap(), 0);

    // Sums stay exact beyond 32 bits.
    let big = 3_000_000_000i64;
    s.record_billing(&entry(OTHER, "arn:big", METERED, big, big * 1_000 + 1)).await.unwrap();
    assert_eq!(s.metered_seconds(OTHER).await.unwrap(), big + 7);
}

async fn billing_totals_sum_the_whole_ledger_by_method(h: &Harness) {
    let s = h.store();
    assert_eq!(s.billing_totals().await.unwrap(), vec![], "an empty ledger has no totals");
    let rows = [
        (ACC, "arn:t1", METERED, 61),
        (ACC, "arn:t2", UNMETERED, 1_000),
        (OTHER, "arn:t3", METERED, 0),
        (OTHER, "arn:t4", METERED, 3_000_000_000),
    ];
    for (i, (acc, job, method, secs)) in rows.into_iter().enumerate() {
        s.record_billing(&entry(acc, job, method, secs, i as i64 * 1_000)).await.unwrap();
    }
    // A second entry for a billed job changes nothing.
    s.record_billing(&entry(ACC, "arn:t1", METERED, 999, 9_000)).await.unwrap();
    let total = |method: &str, jobs, seconds| BillingTotal { billing_method: method.to_owned(), jobs, seconds };
    assert_eq!(s.billing_totals().await.unwrap(), vec![total(METERED, 3, 3_000_000_061), total(UNMETERED, 1, 1_000)]);
}

async fn ledger_survives_reopen(h: &Harness) {
    let s = h.store();
    let job = running_job(s, "arn:job").await;
    let settled = entry(ACC, "arn:job", METERED, 65, 2_000);
    let saved = s.settle(&completed(&job), &settled).await.unwrap();
    let unmetered = entry(OTHER, "arn:job2", UNMETERED, 5, 3_000);
    s.record_billing(&unmetered).await.unwrap();
    s.close().await;

    let again: Arc<dyn Store> = store::open(h.url()).await.unwrap();
    assert_eq!(again.billing_entries(&all_entries()).await.unwrap(), vec![settled.clone(), unmetered]);
    assert_eq!(again.metered_seconds(ACC).await.unwrap(), 65);
    assert_eq!(again.get(ACC, "arn:job").await.unwrap(), Some(saved));
    assert!(!again.record_billing(&settled).await.unwrap(), "a retry after a restart still bills nothing");
    assert_eq!(
        arns(&again.scan(&ScanQuery::with_status(k("job"), ["COMPLETED"], 10)).await.unwrap().records),
        ["arn:job"]
    );
    again.close().await;
}

// ---- leases --------------------------------------------------------------------------

async fn lease_is_exclusive_renewable_and_expires(h: &Harness) {
    let s = h.store();
    let a = s.acquire_lease("scheduler", "a", 1_000, 100).await.unwrap().expect("free lease is granted");
    assert_eq!((a.holder.as_str(), a.token), ("a", 1));
    assert!(s.acquire_lease("scheduler", "b", 1_050, 100).await.unwrap().is_none(), "held and unexpired");
    let renewed = s.acquire_lease("scheduler", "a", 1_090, 100).await.unwrap().expect("holder renews");
    assert_eq!(renewed.token, 1, "renewal keeps the token");
    assert!(s.acquire_lease("scheduler", "b", 1_150, 100).await.unwrap().is_none(), "renewal moved expiry");
    let b = s.acquire_lease("scheduler", "b", 1_190, 100).await.unwrap().expect("expired lease is taken over");
    assert_eq!((b.holder.as_str(), b.token), ("b", 2), "a change of holder bumps the token");
    assert!(s.acquire_lease("other", "a", 1_190, 100).await.unwrap().is_some(), "leases are per name");
}

async fn concurrent_lease_contenders_have_one_winner(h: &Harness) {
    let s = h.store_arc();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.acquire_lease("scheduler", &format!("holder-{i}"), 5_000, 1_000).await })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(lease) = t.await.unwrap().unwrap() {
            winners.push(lease);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one contender holds the lease: {winners:?}");
}

async fn fenced_update_fails_after_takeover(h: &Harness) {
    let s = h.store();
    let arn = "arn:aws:devicefarm:us-west-2:111111111111:job:p/r/00000";
    s.insert(&record("111111111111", "job", arn, None, 1)).await.unwrap();
    let a = s.acquire_lease("scheduler", "a", 0, 100).await.unwrap().expect("granted");
    let mut r = s.get("111111111111", arn).await.unwrap().unwrap();
    r.status = Some("ACTIVE".into());
    let r = s.update_fenced(&r, &a).await.expect("holder writes");
    let b = s.acquire_lease("scheduler", "b", 500, 100).await.unwrap().expect("takeover after expiry");
    let mut late = r.clone();
    late.status = Some("LATE".into());
    assert!(matches!(s.update_fenced(&late, &a).await, Err(StoreError::LeaseLost)), "former holder is fenced off");
    assert_eq!(s.get("111111111111", arn).await.unwrap().unwrap().status.as_deref(), Some("ACTIVE"), "nothing written");
    let stale = Record { version: 0, ..late.clone() };
    assert!(matches!(s.update_fenced(&stale, &b).await, Err(StoreError::Conflict)), "the version check still applies");
    s.update_fenced(&late, &b).await.expect("new holder writes");

    // A batch: the lease is checked once, each record lands on its own version.
    let other = "arn:aws:devicefarm:us-west-2:111111111111:job:p/r/00001";
    s.insert(&record("111111111111", "job", other, None, 2)).await.unwrap();
    let current = s.get("111111111111", arn).await.unwrap().unwrap();
    let fresh = Record { status: Some("BATCHED".into()), ..s.get("111111111111", other).await.unwrap().unwrap() };
    let outdated = Record { version: current.version - 1, status: Some("BATCHED".into()), ..current.clone() };
    assert!(
        matches!(s.update_all_fenced(std::slice::from_ref(&fresh), &a).await, Err(StoreError::LeaseLost)),
        "a lost lease writes nothing"
    );
    let outcomes = s.update_all_fenced(&[outdated, fresh.clone()], &b).await.expect("holder's batch");
    assert!(matches!(outcomes[0], Err(StoreError::Conflict)), "the outdated one is refused");
    assert_eq!(outcomes[1].as_ref().expect("the fresh one lands").version, fresh.version + 1);
    assert_eq!(s.get("111111111111", other).await.unwrap().unwrap().status.as_deref(), Some("BATCHED"));
    assert_eq!(s.get("111111111111", arn).await.unwrap().unwrap(), current, "untouched");
}

async fn hosts_and_agent_tokens(h: &Harness) {
    use domain::host::AgentToken;
    let store = h.store();
    let token = |id: &str, host: &str| AgentToken {
        token_id: id.into(),
        secret_hash: format!("hash-of-{id}"),
        host: host.into(),
        created_ms: 10,
        revoked_ms: None,
    };
    store.create_agent_token(&token("t1", "lab-1")).await.unwrap();
    store.create_agent_token(&token("t2", "lab-1")).await.unwrap();
    store.create_agent_token(&token("t3", "lab-2")).await.unwrap();
    assert!(matches!(store.create_agent_token(&token("t1", "lab-2")).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.agent_token("t2").await.unwrap(), Some(token("t2", "lab-1")));
    assert_eq!(store.agent_tokens().await.unwrap().len(), 3);
    let hosts = store.hosts().await.unwrap();
    assert_eq!(hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["lab-1", "lab-2"], "one host per name");
    assert_eq!(hosts[0].last_seen_ms, None);

    assert!(store.revoke_agent_token("t2", 50).await.unwrap());
    assert!(!store.revoke_agent_token("t2", 60).await.unwrap(), "revoked once");
    assert!(!store.revoke_agent_token("nope", 60).await.unwrap());
    assert_eq!(store.agent_token("t2").await.unwrap().and_then(|t| t.revoked_ms), Some(50));

    // The replica holding the connection records heartbeats; another cannot, nor can it
    // disconnect the host from under the holder.
    assert!(!store.host_seen("lab-1", "replica-a", 100).await.unwrap(), "not connected yet");
    store.host_connected("lab-1", "replica-a", &[], 100).await.unwrap();
    assert!(store.host_seen("lab-1", "replica-a", 150).await.unwrap());
    assert!(!store.host_seen("lab-1", "replica-b", 160).await.unwrap());
    assert!(!store.host_disconnected("lab-1", "replica-b").await.unwrap());
    let host = store.host("lab-1").await.unwrap().unwrap();
    assert_eq!((host.last_seen_ms, host.connected_to.as_deref()), (Some(150), Some("replica-a")));
    assert!(store.host_disconnected("lab-1", "replica-a").await.unwrap());
    assert_eq!(store.host("lab-1").await.unwrap().unwrap().connected_to, None);
    // A host without a token (the server's own) is made on its first connection.
    store.host_connected("built-in", "replica-a", &[], 7).await.unwrap();
    assert_eq!(store.host("built-in").await.unwrap().map(|h| (h.created_ms, h.last_seen_ms)), Some((7, Some(7))));
}

async fn notifications_reach_every_listener_of_the_database(h: &Harness) {
    use futures::StreamExt;
    let store = h.store();
    let mut mine = store.listen("farmhand_test").await.unwrap();
    let mut other_channel = store.listen("farmhand_other").await.unwrap();
    // A second replica of the same database (for SQLite, the same process's store).
    let second = match store.backend() {
        store::Backend::Postgres => Some(store::open(h.url()).await.unwrap()),
        store::Backend::Sqlite => None,
    };
    let mut theirs = match &second {
        Some(second) => second.listen("farmhand_test").await.unwrap(),
        None => store.listen("farmhand_test").await.unwrap(),
    };
    let within = std::time::Duration::from_secs(5);
    store.notify("farmhand_test", "job-1").await.unwrap();
    assert_eq!(tokio::time::timeout(within, mine.next()).await.unwrap().as_deref(), Some("job-1"));
    assert_eq!(tokio::time::timeout(within, theirs.next()).await.unwrap().as_deref(), Some("job-1"));
    if let Some(second) = &second {
        second.notify("farmhand_test", "from-the-other").await.unwrap();
        assert_eq!(tokio::time::timeout(within, mine.next()).await.unwrap().as_deref(), Some("from-the-other"));
    }
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), other_channel.next()).await.is_err(),
        "channels are separate"
    );
}
