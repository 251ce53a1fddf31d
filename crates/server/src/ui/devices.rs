//! The devices page: the fleet as the viewer's account sees it (ListDevices), each instance
//! with its availability and who holds it now. A job of the viewer's own account is linked;
//! another account's is only said to exist, never named.

use super::auth::Viewer;
use super::calls;
use super::layout::{self, page};
use super::ApiPage;
use axum::response::{Html, IntoResponse, Response};
use domain::run::JobPhase;
use engine::scheduler::{decode_job, scan_jobs};
use maud::html;
use std::collections::HashMap;

/// Who holds an instance: the job's (or remote access session's) account and ARN.
struct Holder {
    account_id: String,
    job_arn: String,
    assigned_ms: i64,
}

/// Instances held by a job right now, from the jobs the scheduler considers active.
async fn holders(viewer: &Viewer) -> Result<HashMap<String, Holder>, protocol::ApiError> {
    let state = &viewer.ctx.state;
    let now = state.now_ms();
    let mut held = HashMap::new();
    let active = scan_jobs(state.store.as_ref(), JobPhase::Active).await.map_err(|e| state.internal(e))?;
    for record in &active {
        let Ok(job) = decode_job(record) else { continue };
        let Some(instance) = job.instance_arn else { continue };
        // A job that ended may await settlement while its instance already runs the
        // next one: the latest assignment is the holder.
        let assigned_ms = job.assigned_ms.unwrap_or(i64::MIN);
        if held.get(&instance).is_none_or(|h: &Holder| h.assigned_ms <= assigned_ms) {
            held.insert(
                instance,
                Holder { account_id: record.account_id.clone(), job_arn: record.arn.clone(), assigned_ms },
            );
        }
    }
    let sessions =
        engine::scheduler::scan_kind(state.store.as_ref(), domain::arn::ResourceKind::Session, JobPhase::Active)
            .await
            .map_err(|e| state.internal(e))?;
    for record in &sessions {
        let Ok(session) = record.decode::<domain::remote_access::RemoteSession>() else { continue };
        let Some(instance) = session.instance_arn else { continue };
        let assigned_ms = session.assigned_ms.unwrap_or(i64::MIN);
        held.insert(
            instance,
            Holder { account_id: record.account_id.clone(), job_arn: record.arn.clone(), assigned_ms },
        );
    }
    // Which instances are busy is the scheduler's word, the same ListDevices' availability
    // is made from, so the page's two columns agree; the scan only says whose job it is.
    let busy = state.engine.instances_in_use_among(held.keys().map(String::as_str), now);
    held.retain(|instance, _| busy.contains(instance));
    Ok(held)
}

pub async fn list(viewer: Viewer) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let devices = calls::devices(&viewer.ctx).await.map_err(fail)?;
    let held = holders(&viewer).await.map_err(fail)?;
    let projects = calls::projects(&viewer.ctx).await.map_err(fail)?;
    let body = html! {
        h1 { "Devices" }
        div.scroll {
            table #devices {
                caption.visually-hidden { "Devices and their instances" }
                thead { tr {
                    th scope="col" { "Device" } th scope="col" { "Platform" } th scope="col" { "OS" }
                    th scope="col" { "Fleet" } th scope="col" { "Availability" } th scope="col" { "In use by" }
                    th scope="col" { "Remote access" }
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
                                                @if h.account_id == viewer.account_id() && h.job_arn.contains(":session:") {
                                                    a href=(super::remote::session_path(&h.job_arn)) { "your remote access session" }
                                                } @else if h.account_id == viewer.account_id() {
                                                    a href=(layout::job_path(&h.job_arn)) { "your job " (layout::id_of(&h.job_arn)) }
                                                } @else {
                                                    "another account"
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            td.remote-access {
                                @if d.remote_access_enabled == Some(true) {
                                    (super::remote::start_form(&viewer, &d.arn.clone().unwrap_or_default(), &projects))
                                } @else {
                                    span.empty { "not enabled" }
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
