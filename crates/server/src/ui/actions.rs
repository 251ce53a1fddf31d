//! The dashboard's buttons: StopRun and StopJob, called as the API calls them (through
//! `calls`), behind the CSRF checks. A plain form post is answered with a redirect back to
//! the page; the page's script posts the same form with `Accept: application/json` and gets
//! the stopped run or job instead, so the page updates without a reload.

use super::auth::Viewer;
use super::calls;
use super::guard::{csrf_ok, Refused};
use super::layout;
use super::state::JobCard;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use domain::arn::ResourceKind;

#[derive(serde::Deserialize)]
pub struct StopForm {
    #[serde(default)]
    csrf: String,
    /// The page to return to; only a dashboard path is followed.
    #[serde(default)]
    back: String,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

fn back_to(form: &StopForm, fallback: String) -> Response {
    // Only our own pages: a crafted `back` must not turn the form into an open redirect.
    // Visible ASCII only: a control character would make the Location header invalid, and
    // the stop, already done, would answer 500.
    let safe = form.back.starts_with("/ui/")
        && !form.back.contains("//")
        && !form.back.contains('\\')
        && form.back.bytes().all(|b| b.is_ascii_graphic());
    Redirect::to(if safe { &form.back } else { &fallback }).into_response()
}

fn failed(viewer: &Viewer, e: protocol::ApiError) -> Response {
    super::ApiPage::new(viewer, e).into_response()
}

pub async fn stop_run(
    viewer: Viewer,
    Path((project, run)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<StopForm>,
) -> Response {
    if !csrf_ok(&viewer, &headers, &form.csrf) {
        return Refused.into_response();
    }
    let arn = layout::arn_of(&viewer, ResourceKind::Run, &format!("{project}/{run}"));
    match calls::stop_run(&viewer.ctx, &arn).await {
        Ok(run) => {
            tracing::info!(run = %arn, account = %viewer.account_id(), "run stopped from the dashboard");
            if wants_json(&headers) {
                let body =
                    serde_json::json!({"status": layout::status(run.status), "result": layout::result(run.result)});
                return Json(body).into_response();
            }
            back_to(&form, layout::run_path(&arn))
        }
        Err(e) => failed(&viewer, e),
    }
}

pub async fn stop_job(
    viewer: Viewer,
    Path((project, run, job)): Path<(String, String, String)>,
    headers: HeaderMap,
    Form(form): Form<StopForm>,
) -> Response {
    if !csrf_ok(&viewer, &headers, &form.csrf) {
        return Refused.into_response();
    }
    let arn = layout::arn_of(&viewer, ResourceKind::Job, &format!("{project}/{run}/{job}"));
    match calls::stop_job(&viewer.ctx, &arn).await {
        Ok(job) => {
            tracing::info!(job = %arn, account = %viewer.account_id(), "job stopped from the dashboard");
            if wants_json(&headers) {
                return Json(JobCard::of(&job)).into_response();
            }
            back_to(&form, layout::job_path(&arn))
        }
        Err(e) => failed(&viewer, e),
    }
}
