//! The projects page and a project's runs (a page of them at a time, newest pages linked).

use super::auth::Viewer;
use super::calls;
use super::layout::{self, page};
use super::ApiPage;
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Response};
use domain::arn::ResourceKind;
use maud::html;

pub async fn list(viewer: Viewer) -> Result<Response, ApiPage> {
    let projects = calls::projects(&viewer.ctx).await.map_err(|e| ApiPage::new(&viewer, e))?;
    let body = html! {
        h1 { "Projects" }
        @if projects.is_empty() {
            p.empty { "No projects yet. Create one with " code { "aws devicefarm create-project --name NAME" } "." }
        } @else {
            div.scroll {
                table #projects {
                    caption.visually-hidden { "Projects of account " (viewer.account_id()) }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { "Job timeout" } } }
                    tbody {
                        @for p in &projects {
                            @let arn = p.arn.clone().unwrap_or_default();
                            tr.project data-project-arn=(arn) {
                                td { a.project-link href=(layout::project_path(&arn)) { (p.name.clone().unwrap_or_default()) } }
                                td { (layout::timestamp(p.created)) }
                                td { (p.default_job_timeout_minutes.unwrap_or(0)) " min" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), "Projects", body).into_string()).into_response())
}

#[derive(serde::Deserialize)]
pub struct RunsQuery {
    /// ListRuns's nextToken for the page after this one.
    next: Option<String>,
}

pub async fn runs(
    viewer: Viewer,
    Path(project_id): Path<String>,
    Query(query): Query<RunsQuery>,
) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let project_arn = layout::arn_of(&viewer, ResourceKind::Project, &project_id);
    let project = calls::project(&viewer.ctx, &project_arn).await.map_err(fail)?;
    let (runs, next) = calls::runs_page(&viewer.ctx, &project_arn, query.next.clone()).await.map_err(fail)?;
    let now = viewer.ctx.state.wall.now_ms() as f64 / 1000.0;
    let name = project.name.clone().unwrap_or_default();
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/ui/projects" { "Projects" } " / " span { (name) } }
        h1 { (name) }
        @if runs.is_empty() {
            p.empty { "No runs in this project yet." }
        } @else {
            div.scroll {
                table #runs {
                    caption.visually-hidden { "Runs of " (name) }
                    thead { tr {
                        th scope="col" { "Run" } th scope="col" { "Status" } th scope="col" { "Result" }
                        th scope="col" { "Counters" } th scope="col" { "Minutes" } th scope="col" { "Duration" } th scope="col" { "Created" }
                    } }
                    tbody {
                        @for r in &runs {
                            @let arn = r.arn.clone().unwrap_or_default();
                            tr.run data-run-arn=(arn) data-status=(layout::status(r.status)) data-result=(layout::result(r.result)) {
                                td { a.run-link href=(layout::run_path(&arn)) { (r.name.clone().unwrap_or_else(|| "(unnamed run)".into())) } }
                                td.status { span.badge data-value=(layout::status(r.status)) { (layout::status(r.status)) } }
                                td.result { span.badge data-value=(layout::result(r.result)) { (layout::result(r.result)) } }
                                td.counters { (layout::counters(r.counters.as_ref())) }
                                td.minutes { (layout::minutes(r.device_minutes.as_ref())) }
                                td.duration { (layout::duration(r.started, r.stopped, now)) }
                                td { (layout::timestamp(r.created)) }
                            }
                        }
                    }
                }
            }
        }
        nav.pages aria-label="Pages of runs" {
            @if query.next.is_some() { a href=(layout::project_path(&project_arn)) { "First page" } }
            @if let Some(token) = &next {
                a #next-page rel="next" href={ (layout::project_path(&project_arn)) "?next=" (percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC)) } { "Next page" }
            }
        }
    };
    Ok(Html(page(Some(&viewer), &name, body).into_string()).into_response())
}
