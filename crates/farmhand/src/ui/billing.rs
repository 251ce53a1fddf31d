//! The billing page: the viewer's account's ledger (the durable record `farmhand billing
//! report` reads too), totalled per UTC day and overall, with its latest lines.

use super::auth::Viewer;
use super::layout::{self, page};
use super::ApiPage;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use std::collections::BTreeMap;
use store::{LedgerEntry, LedgerQuery};

/// Lines shown under the totals; the rest is in `farmhand billing report`.
const LATEST: usize = 100;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub jobs: usize,
    pub metered_seconds: i64,
    pub unmetered_seconds: i64,
}

impl Totals {
    fn add(&mut self, e: &LedgerEntry) {
        self.jobs += 1;
        match e.billing_method.as_str() {
            store::ledger::METERED => self.metered_seconds += e.seconds,
            _ => self.unmetered_seconds += e.seconds,
        }
    }
}

fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%d").to_string()
}

/// Totals per UTC day of settlement (newest first), and over everything.
pub fn by_day(entries: &[LedgerEntry]) -> (Vec<(String, Totals)>, Totals) {
    let mut days: BTreeMap<String, Totals> = BTreeMap::new();
    let mut all = Totals::default();
    for e in entries {
        days.entry(day_of(e.settled_ms)).or_default().add(e);
        all.add(e);
    }
    (days.into_iter().rev().collect(), all)
}

fn minutes(seconds: i64) -> String {
    format!("{:.2}", seconds as f64 / 60.0)
}

pub async fn show(viewer: Viewer) -> Result<Response, ApiPage> {
    let state = &viewer.ctx.state;
    let query = LedgerQuery { account_id: Some(viewer.account_id().to_string()), since_ms: None, until_ms: None };
    let entries = state
        .store
        .billing_entries(&query)
        .await
        .map_err(|e| ApiPage::new(&viewer, state.internal(e)))?;
    let (days, total) = by_day(&entries);
    let body = html! {
        h1 { "Billing" }
        p #billing-total data-metered-seconds=(total.metered_seconds) data-unmetered-seconds=(total.unmetered_seconds) data-jobs=(total.jobs) {
            "Account " (viewer.account_id()) ": " (total.jobs) " jobs, "
            strong { (minutes(total.metered_seconds)) } " metered minutes, "
            strong { (minutes(total.unmetered_seconds)) } " unmetered minutes, "
            strong { (minutes(total.metered_seconds + total.unmetered_seconds)) } " in all."
        }
        div.scroll {
            table #billing-days {
                caption { "Device minutes per day (UTC)" }
                thead { tr { th scope="col" { "Day" } th scope="col" { "Jobs" } th scope="col" { "Metered" } th scope="col" { "Unmetered" } th scope="col" { "Total" } } }
                tbody {
                    @for (day, t) in &days {
                        tr.day data-day=(day) {
                            td { (day) } td { (t.jobs) } td.metered { (minutes(t.metered_seconds)) }
                            td.unmetered { (minutes(t.unmetered_seconds)) } td.total { (minutes(t.metered_seconds + t.unmetered_seconds)) }
                        }
                    }
                }
            }
        }
        h2 { "Latest jobs billed" }
        div.scroll {
            table #billing-jobs {
                caption.visually-hidden { "The latest ledger lines" }
                thead { tr { th scope="col" { "Settled" } th scope="col" { "Device" } th scope="col" { "Method" } th scope="col" { "Minutes" } } }
                tbody {
                    @for e in entries.iter().rev().take(LATEST) {
                        tr {
                            td { (layout::timestamp(Some(e.settled_ms as f64 / 1000.0))) }
                            td { a href=(layout::job_path(&e.job_arn)) { (e.device_name) } }
                            td { (e.billing_method) }
                            td { (minutes(e.seconds)) }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), "Billing", body).into_string()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(settled_ms: i64, method: &str, seconds: i64) -> LedgerEntry {
        LedgerEntry {
            job_arn: format!("arn:aws:devicefarm:us-west-2:123456789012:job:p/r/{settled_ms}"),
            account_id: "123456789012".into(),
            project_arn: String::new(),
            run_arn: String::new(),
            device_arn: String::new(),
            device_name: "Pixel".into(),
            platform: "ANDROID".into(),
            billing_method: method.into(),
            seconds,
            started_ms: 0,
            settled_ms,
        }
    }

    #[test]
    fn totals_per_utc_day_newest_first() {
        let day = 86_400_000;
        let entries = [entry(10, "METERED", 60), entry(day - 1, "UNMETERED", 30), entry(day, "METERED", 90)];
        let (days, total) = by_day(&entries);
        assert_eq!(days[0].0, "1970-01-02");
        assert_eq!(days[0].1, Totals { jobs: 1, metered_seconds: 90, unmetered_seconds: 0 });
        assert_eq!(days[1].1, Totals { jobs: 2, metered_seconds: 60, unmetered_seconds: 30 });
        assert_eq!(total, Totals { jobs: 3, metered_seconds: 150, unmetered_seconds: 30 });
    }
}
