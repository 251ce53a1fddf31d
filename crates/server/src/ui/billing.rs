//! The billing page: the viewer's account's ledger (the durable record `farmhand billing
//! report` reads too), totalled per UTC day and overall, with its latest lines.

use super::auth::Viewer;
use super::layout::{self, page};
use super::ApiPage;
use crate::billing::{minutes, Totals};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use std::collections::BTreeMap;
use store::{LedgerEntry, LedgerQuery};

/// Lines shown under the totals; the rest is in `farmhand billing report`.
const LATEST: usize = 100;

fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m-%d").to_string()
}

/// Totals per UTC day of settlement (newest first), and over everything; summed by the
/// report's own [`Totals`], so the page and `farmhand billing report` cannot disagree.
pub fn by_day(entries: &[LedgerEntry]) -> (Vec<(String, Totals)>, Totals) {
    let mut days: BTreeMap<String, Vec<LedgerEntry>> = BTreeMap::new();
    for e in entries {
        days.entry(day_of(e.settled_ms)).or_default().push(e.clone());
    }
    (days.into_iter().rev().map(|(day, of_day)| (day, Totals::of(&of_day))).collect(), Totals::of(entries))
}

pub async fn show(viewer: Viewer) -> Result<Response, ApiPage> {
    let state = &viewer.ctx.state;
    let query = LedgerQuery { account_id: Some(viewer.account_id().to_string()), since_ms: None, until_ms: None };
    let entries = state.store.billing_entries(&query).await.map_err(|e| ApiPage::new(&viewer, state.internal(e)))?;
    let (days, total) = by_day(&entries);
    let body = html! {
        h1 { "Billing" }
        @let all = total.total();
        p #billing-total data-metered-seconds=(total.metered.seconds) data-unmetered-seconds=(total.unmetered.seconds) data-jobs=(all.jobs) {
            "Account " (viewer.account_id()) ": " (all.jobs) " jobs, "
            strong { (minutes(total.metered.seconds)) } " metered minutes, "
            strong { (minutes(total.unmetered.seconds)) } " unmetered minutes, "
            strong { (minutes(all.seconds)) } " in all."
        }
        div.scroll {
            table #billing-days {
                caption { "Device minutes per day (UTC)" }
                thead { tr { th scope="col" { "Day" } th scope="col" { "Jobs" } th scope="col" { "Metered" } th scope="col" { "Unmetered" } th scope="col" { "Total" } } }
                tbody {
                    @for (day, t) in &days {
                        tr.day data-day=(day) {
                            td { (day) } td { (t.total().jobs) } td.metered { (minutes(t.metered.seconds)) }
                            td.unmetered { (minutes(t.unmetered.seconds)) } td.total { (minutes(t.total().seconds)) }
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
        let sums = |t: &Totals| (t.metered.jobs, t.metered.seconds, t.unmetered.jobs, t.unmetered.seconds);
        assert_eq!(days.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(), ["1970-01-02", "1970-01-01"]);
        assert_eq!(sums(&days[0].1), (1, 90, 0, 0));
        assert_eq!(sums(&days[1].1), (1, 60, 1, 30));
        assert_eq!(sums(&total), (2, 150, 1, 30));
    }
}
