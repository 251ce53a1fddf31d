//! A job's page: its suites and tests with their failure messages, its files (screenshots
//! as thumbnails, the video inline), its samples as charts, and the test spec's output as
//! it is written; kept current by `live::job_events` and `live::output`.

use super::auth::Viewer;
use super::charts::chart;
use super::layout::{self, page};
use super::runs::stop_form;
use super::state::{artifacts, job_state, ArtifactLink, JobState};
use super::ApiPage;
use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use domain::arn::Arn;
use domain::arn::ResourceKind;
use engine::samples::{SampleKind, Series};
use maud::{html, Markup};
use protocol::ApiError;

pub fn artifact_list(links: &[ArtifactLink]) -> Markup {
    html! {
        @if links.is_empty() {
            p.empty { "No files yet." }
        } @else {
            @for video in links.iter().filter(|a| a.kind == "VIDEO") {
                video.job-video controls preload="metadata" src=(video.url) aria-label=(video.file_name) {}
            }
            ul {
                @for a in links {
                    li {
                        @if a.kind == "SCREENSHOT" {
                            a.thumbnail href=(a.url) { img src=(a.url) alt=(a.name) loading="lazy" width="96" {} }
                            " "
                        }
                        a.artifact href=(a.url) download=(a.file_name) { (a.file_name) } " " span.kind { (a.kind) }
                    }
                }
            }
        }
    }
}

/// The job's samples, each read the way its download is (`downloads::sample_csv`).
async fn sample_charts(viewer: &Viewer, job_arn: &str) -> Result<Markup, ApiError> {
    let job: Arn = job_arn.parse().map_err(|_| ApiError::internal())?;
    let mut charts = Vec::new();
    for sample in super::calls::samples(&viewer.ctx, job_arn).await? {
        let index = sample.arn.as_deref().and_then(|a| a.rsplit('/').next()).and_then(|i| i.parse().ok());
        let Some(kind) = index.and_then(SampleKind::from_index) else { continue };
        let csv = crate::downloads::sample_csv(&viewer.ctx.state, &job.account, &job.id, kind).await?;
        charts.push(chart(kind, &Series::parse_csv(&csv).unwrap_or_default()));
    }
    Ok(html! {
        @if charts.is_empty() {
            p.empty { "No samples yet." }
        } @else {
            div.charts { @for c in &charts { (c) } }
        }
    })
}

fn suites(state: &JobState) -> Markup {
    html! {
        @for suite in &state.suites {
            section.suite data-suite-arn=(suite.arn) data-name=(suite.name) data-status=(suite.status) data-result=(suite.result) {
                h3 { (suite.name) " " span.badge data-value=(suite.result) { (suite.result) } }
                div.scroll {
                    table {
                        caption.visually-hidden { "Tests of " (suite.name) }
                        thead { tr { th scope="col" { "Test" } th scope="col" { "Status" } th scope="col" { "Result" } th scope="col" { "Minutes" } th scope="col" { "Message" } } }
                        tbody {
                            @for t in &suite.tests {
                                tr.test data-test-arn=(t.arn) data-name=(t.name) data-status=(t.status) data-result=(t.result) {
                                    td.name { (t.name) }
                                    td.status { span.badge data-value=(t.status) { (t.status) } }
                                    td.result { span.badge data-value=(t.result) { (t.result) } }
                                    td.minutes { (t.minutes) }
                                    td.message { @if let Some(m) = &t.message { (m) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn show(
    viewer: Viewer,
    Path((project, run, job)): Path<(String, String, String)>,
) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let arn = layout::arn_of(&viewer, ResourceKind::Job, &format!("{project}/{run}/{job}"));
    let state = job_state(&viewer.ctx, &arn).await.map_err(fail)?;
    let links = artifacts(&viewer.ctx, &arn).await.map_err(fail)?;
    let charts = sample_charts(&viewer, &arn).await.map_err(fail)?;
    let run = super::calls::run(&viewer.ctx, &state.run_arn).await.map_err(fail)?;
    let path = layout::job_path(&arn);
    let card = &state.job;
    let csrf = viewer.csrf();
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/ui/projects" { "Projects" } " / " a href=(layout::run_path(&state.run_arn)) { (run.name.clone().unwrap_or_else(|| "Run".into())) } " / " span { (card.device) }
        }
        section #job data-job-arn=(card.arn) data-status=(card.status) data-result=(card.result) data-events={ (path) "/events" } {
            h1 { (card.device) " " span.platform { (card.platform) } }
            (layout::facts("job", card.status, card.result, &card.counters, &card.minutes))
            p #job-message { @if let Some(m) = &card.message { (m) } }
            @if !card.completed {
                (stop_form(Some("stop-job"), None, &format!("{path}/stop"), &path, &csrf, "Stop job", &card.device))
            }
        }
        h2 { "Suites and tests" }
        div #suites { (suites(&state)) }
        h2 { "Files" }
        div #artifacts { (artifact_list(&links)) }
        h2 { "Samples" }
        div #samples { (charts) }
        h2 { "Test spec output" }
        pre #output tabindex="0" aria-live="off" aria-label="Test spec output" data-src={ (path) "/output" } {}
    };
    Ok(Html(page(Some(&viewer), &card.device, body).into_string()).into_response())
}

/// The pieces of the page a live update replaces whole (the tests, the files).
pub fn live_fragments(state: &JobState, links: Option<&[ArtifactLink]>) -> (String, Option<String>) {
    (suites(state).into_string(), links.map(|l| artifact_list(l).into_string()))
}
