//! The devices page: the fleet as the viewer's account sees it (ListDevices), each instance
//! with its availability and who holds it now. A job of the viewer's own account is linked;
//! another account's is only said to exist, never named.

use super::auth::Viewer;
use super::calls;
use super::layout::{self, page};
use super::ApiPage;
use axum::response::{Html, IntoResponse, Response};
use domain::run::{Job, JobPhase};
use maud::html;
use std::collections::HashMap;
use store::ScanQuery;

/// Who holds an instance: the job's account and ARN.
struct Holder {
    account_id: String,
    job_arn: String,
}

/// Instances held by a job right now, from the jobs the scheduler considers active.
async fn holders(viewer: &Viewer) -> Result<HashMap<String, Holder>, protocol::ApiError> {
    let state = &viewer.ctx.state;
    let now = state.now_ms();
    let mut held = HashMap::new();
    let mut query = ScanQuery { kind: "job".into(), status_in: Some(vec![JobPhase::Active.as_str().into()]), after: None, limit: 500 };
    loop {
        let page = state.store.scan(&query).await.map_err(|e| state.internal(e))?;
        for record in &page.records {
            let Ok(job) = serde_json::from_value::<Job>(record.body.clone()) else { continue };
            let Some(instance) = job.instance_arn.clone() else { continue };
            let released = engine::job_view::release_ms(&job, record, state.engine.prep()).is_some_and(|at| at <= now);
            if !released {
                held.insert(instance, Holder { account_id: record.account_id.clone(), job_arn: record.arn.clone() });
            }
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(held),
        }
    }
}

pub async fn list(viewer: Viewer) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let devices = calls::devices(&viewer.ctx).await.map_err(fail)?;
    let held = holders(&viewer).await.map_err(fail)?;
    let body = html! {
        h1 { "Devices" }
        div.scroll {
            table #devices {
                caption.visually-hidden { "Devices and their instances" }
                thead { tr {
                    th scope="col" { "Device" } th scope="col" { "Platform" } th scope="col" { "OS" }
                    th scope="col" { "Fleet" } th scope="col" { "Availability" } th scope="col" { "In use by" }
                } }
                tbody {
                    @for d in &devices {
                        @let instances = d.instances.clone().unwrap_or_default();
                        @let availability = d.availability.map(|a| a.as_str()).unwrap_or("UNKNOWN");
                        tr.device data-device-arn=(d.arn.clone().unwrap_or_default()) data-availability=(availability) {
                            td { (d.name.clone().unwrap_or_default()) }
                            td { (d.platform.map(|p| p.as_str()).unwrap_or("")) }
                            td { (d.os.clone().unwrap_or_default()) }
                            td { (d.fleet_name.clone().unwrap_or_default()) }
                            td.availability { span.badge data-value=(availability) { (availability) } }
                            td.in-use {
                                @let users: Vec<&Holder> = instances.iter().filter_map(|i| i.arn.as_ref().and_then(|a| held.get(a))).collect();
                                @if users.is_empty() {
                                    "–"
                                } @else {
                                    ul {
                                        @for h in users {
                                            li {
                                                @if h.account_id == viewer.account_id() {
                                                    a href=(layout::job_path(&h.job_arn)) { "your job " (short(&h.job_arn)) }
                                                } @else {
                                                    "another account"
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), "Devices", body).into_string()).into_response())
}

/// A job's ARN as a person can tell jobs apart by: its run and index.
fn short(job_arn: &str) -> String {
    job_arn.parse::<domain::arn::Arn>().map(|a| a.id).unwrap_or_default()
}
