//! Desktop browser testing in the dashboard: the TestGrid projects, a project's sessions
//! (browser, status, duration, minutes) and a session's page (its video played inline, its
//! Selenium log, every command it ran), all read through the TestGrid operations.

use super::auth::Viewer;
use super::calls;
use super::layout::{self, page};
use super::ApiPage;
use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use domain::arn::ResourceKind;
use maud::html;
use protocol::model as wire;

fn project_path(arn: &str) -> String {
    format!("/ui/testgrid/{}", layout::id_of(arn))
}

fn session_path(arn: &str) -> String {
    format!("/ui/testgrid/{}", layout::id_of(arn))
}

fn status(s: Option<wire::TestGridSessionStatus>) -> &'static str {
    s.map_or("ACTIVE", |s| s.as_str())
}

/// `browser version` from AWS's seleniumProperties (`browser`, `browserVersion`).
fn browser(session: &wire::TestGridSession) -> String {
    let properties: serde_json::Value =
        session.selenium_properties.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
    let text = |k: &str| properties[k].as_str().unwrap_or_default().to_string();
    format!("{} {}", text("browser"), text("browserVersion")).trim().to_string()
}

fn now_seconds(viewer: &Viewer) -> f64 {
    viewer.ctx.state.now_ms() as f64 / 1000.0
}

pub async fn projects(viewer: Viewer) -> Result<Response, ApiPage> {
    let projects = calls::testgrid_projects(&viewer.ctx).await.map_err(|e| ApiPage::new(&viewer, e))?;
    let body = html! {
        h1 { "Browser testing" }
        @if projects.is_empty() {
            p.empty {
                "No TestGrid projects yet. Create one with "
                code { "aws devicefarm create-test-grid-project --name NAME" } "."
            }
        } @else {
            div.scroll {
                table #testgrid-projects {
                    caption.visually-hidden { "TestGrid projects of account " (viewer.account_id()) }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Created" } } }
                    tbody {
                        @for p in &projects {
                            @let arn = p.arn.clone().unwrap_or_default();
                            tr.testgrid-project data-project-arn=(arn) {
                                td { a.project-link href=(project_path(&arn)) { (p.name.clone().unwrap_or_default()) } }
                                td { (p.description.clone().unwrap_or_default()) }
                                td { (layout::timestamp(p.created)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), "Browser testing", body).into_string()).into_response())
}

pub async fn sessions(viewer: Viewer, Path(project_id): Path<String>) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let project_arn = layout::arn_of(&viewer, ResourceKind::TestGridProject, &project_id);
    let project = calls::testgrid_project(&viewer.ctx, &project_arn).await.map_err(fail)?;
    let sessions = calls::testgrid_sessions(&viewer.ctx, &project_arn).await.map_err(fail)?;
    let now = now_seconds(&viewer);
    let name = project.name.clone().unwrap_or_default();
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/ui/testgrid" { "Browser testing" } " / " span { (name) } }
        h1 { (name) }
        @if sessions.is_empty() {
            p.empty { "No sessions yet: point a Selenium client at a URL from " code { "create-test-grid-url" } "." }
        } @else {
            div.scroll {
                table #testgrid-sessions {
                    caption.visually-hidden { "Sessions of " (name) }
                    thead { tr {
                        th scope="col" { "Session" } th scope="col" { "Browser" } th scope="col" { "Status" }
                        th scope="col" { "Duration" } th scope="col" { "Minutes" } th scope="col" { "Created" }
                    } }
                    tbody {
                        @for s in sessions.iter().rev() {
                            @let arn = s.arn.clone().unwrap_or_default();
                            tr.testgrid-session data-session-arn=(arn) data-status=(status(s.status)) {
                                td { a.session-link href=(session_path(&arn)) { (layout::id_of(&arn).rsplit('/').next().unwrap_or_default()) } }
                                td.browser { (browser(s)) }
                                td.status { span.badge data-value=(status(s.status)) { (status(s.status)) } }
                                td.duration { (layout::duration(s.created, s.ended, now)) }
                                td.minutes { (format!("{:.2}", s.billing_minutes.unwrap_or(0.0))) }
                                td { (layout::timestamp(s.created)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), &name, body).into_string()).into_response())
}

pub async fn session(
    viewer: Viewer,
    Path((project_id, session_id)): Path<(String, String)>,
) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let project_arn = layout::arn_of(&viewer, ResourceKind::TestGridProject, &project_id);
    let session_arn = layout::arn_of(&viewer, ResourceKind::TestGridSession, &format!("{project_id}/{session_id}"));
    let project = calls::testgrid_project(&viewer.ctx, &project_arn).await.map_err(fail)?;
    let session = calls::testgrid_session(&viewer.ctx, &session_arn).await.map_err(fail)?;
    let actions = calls::testgrid_actions(&viewer.ctx, &session_arn).await.map_err(fail)?;
    let artifacts = calls::testgrid_artifacts(&viewer.ctx, &session_arn).await.map_err(fail)?;
    let now = now_seconds(&viewer);
    let project_name = project.name.clone().unwrap_or_default();
    let kind = |a: &wire::TestGridSessionArtifact| a.r#type.map_or("UNKNOWN", |t| t.as_str());
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/ui/testgrid" { "Browser testing" } " / "
            a href=(project_path(&project_arn)) { (project_name) } " / " span { (session_id) }
        }
        h1 { "Session " (session_id) }
        dl.facts {
            dt { "Status" } dd #session-status { span.badge data-value=(status(session.status)) { (status(session.status)) } }
            dt { "Browser" } dd #session-browser { (browser(&session)) }
            dt { "Duration" } dd #session-duration { (layout::duration(session.created, session.ended, now)) }
            dt { "Minutes" } dd #session-minutes { (format!("{:.2}", session.billing_minutes.unwrap_or(0.0))) }
            dt { "Commands" } dd #session-commands { (actions.len()) }
            dt { "Created" } dd { (layout::timestamp(session.created)) }
            dt { "Ended" } dd { (layout::timestamp(session.ended)) }
        }
        h2 { "Files" }
        @if artifacts.is_empty() {
            p.empty { "The video and the Selenium log appear when the session ends." }
        } @else {
            @for video in artifacts.iter().filter(|a| kind(a) == "VIDEO") {
                video.job-video #session-video controls preload="metadata" src=(video.url.clone().unwrap_or_default())
                    aria-label=(video.filename.clone().unwrap_or_default()) {}
            }
            ul {
                @for a in &artifacts {
                    li {
                        a.artifact href=(a.url.clone().unwrap_or_default()) download=(a.filename.clone().unwrap_or_default()) {
                            (a.filename.clone().unwrap_or_default())
                        }
                        " " span.kind { (kind(a)) }
                    }
                }
            }
        }
        h2 { "Commands" }
        @if actions.is_empty() {
            p.empty { "No commands recorded yet (they are written about once a second)." }
        } @else {
            div.scroll {
                table #testgrid-actions {
                    caption.visually-hidden { "Commands of session " (session_id) }
                    thead { tr {
                        th scope="col" { "#" } th scope="col" { "Command" } th scope="col" { "Method" }
                        th scope="col" { "Status" } th scope="col" { "Took" } th scope="col" { "Started" }
                    } }
                    tbody {
                        @for (i, a) in actions.iter().enumerate() {
                            tr.testgrid-action {
                                td { (i + 1) }
                                td.action { code { (a.action.clone().unwrap_or_default()) } }
                                td { (a.request_method.clone().unwrap_or_default()) }
                                td.status-code { (a.status_code.clone().unwrap_or_default()) }
                                td { (a.duration.unwrap_or(0)) " ms" }
                                td { (layout::timestamp(a.started)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), &format!("Session {session_id}"), body).into_string()).into_response())
}
