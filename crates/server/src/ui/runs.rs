//! A run's page: its header and the grid of its devices, kept current by `live::run_events`.

use super::auth::Viewer;
use super::layout::{self, page};
use super::state::{run_state, JobCard, RunState};
use super::ApiPage;
use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use domain::arn::ResourceKind;
use maud::{html, Markup};

pub fn stop_form(
    id: Option<&str>,
    class: Option<&str>,
    action: &str,
    back: &str,
    csrf: &str,
    label: &str,
    what: &str,
) -> Markup {
    html! {
        form id=[id] class=[class] method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(back);
            button.stop type="submit" aria-label={ (label) " " (what) } { (label) }
        }
    }
}

pub fn job_card(card: &JobCard, back: &str, csrf: &str) -> Markup {
    html! {
        article.job data-job-arn=(card.arn) data-status=(card.status) data-result=(card.result) aria-label=(card.device) {
            h2.device-name { a.job-link href=(card.path) { (card.device) } }
            p.platform { (card.platform) }
            p { "Status " span.status.badge data-value=(card.status) aria-live="polite" { (card.status) } }
            p { "Result " span.result.badge data-value=(card.result) { (card.result) } }
            label {
                span.visually-hidden { "Tests ended" }
                progress.progress value=(card.done) max=(card.total.max(1)) { (card.done) " of " (card.total) }
            }
            p.tests-done { span.done { (card.done) } " of " span.total { (card.total) } " tests ended" }
            p.minutes { (card.minutes) }
            p.message { @if let Some(message) = &card.message { (message) } }
            @if !card.completed {
                (stop_form(None, Some("stop-job"), &format!("{}/stop", card.path), back, csrf, "Stop job", &card.device))
            }
        }
    }
}

fn run_header(state: &RunState, path: &str, csrf: &str) -> Markup {
    html! {
        section #run data-run-arn=(state.arn) data-status=(state.status) data-result=(state.result) data-events={ (path) "/events" } {
            h1 { (state.name) }
            (layout::facts("run", state.status, state.result, &state.counters, &state.minutes))
            p #run-message { @if let Some(message) = &state.message { (message) } }
            @if !state.completed {
                (stop_form(Some("stop-run"), None, &format!("{path}/stop"), path, csrf, "Stop run", &state.name))
            }
        }
    }
}

pub async fn show(viewer: Viewer, Path((project, run)): Path<(String, String)>) -> Result<Response, ApiPage> {
    let arn = layout::arn_of(&viewer, ResourceKind::Run, &format!("{project}/{run}"));
    let state = run_state(&viewer.ctx, &arn).await.map_err(|e| ApiPage::new(&viewer, e))?;
    let path = layout::run_path(&arn);
    let csrf = viewer.csrf();
    let project_arn = layout::arn_of(&viewer, ResourceKind::Project, &project);
    let project = super::calls::project(&viewer.ctx, &project_arn).await.map_err(|e| ApiPage::new(&viewer, e))?;
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/ui/projects" { "Projects" } " / "
            a href=(layout::project_path(&project_arn)) { (project.name.clone().unwrap_or_default()) } " / "
            span { (state.name) }
        }
        (run_header(&state, &path, &csrf))
        h2 { "Devices" }
        div #device-grid {
            @for card in &state.jobs { (job_card(card, &path, &csrf)) }
        }
    };
    Ok(Html(page(Some(&viewer), &state.name, body).into_string()).into_response())
}
