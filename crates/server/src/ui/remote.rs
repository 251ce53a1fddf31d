//! Remote access in the dashboard: the sessions of the viewer's projects, a session's page
//! (its live screen, driven with mouse and keyboard, its device keys, an app install, the
//! stop button, then its recording) and the "Start session" form of the devices page. A
//! session's endpoint (`/remote-access/TOKEN`) shows the same screen to whoever holds the
//! URL, without signing in. Everything goes through the remote access operations.

use super::auth::Viewer;
use super::calls;
use super::guard::{csrf_ok, Refused};
use super::layout::{self, page};
use super::ApiPage;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use domain::arn::ResourceKind;
use maud::{html, Markup};
use protocol::model as wire;
use std::sync::Arc;

/// How long the screen link a session page embeds works (it is minted on each view).
const PAGE_TOKEN_MS: i64 = 60 * 60 * 1000;

pub fn session_path(arn: &str) -> String {
    format!("/ui/sessions/{}", layout::id_of(arn).trim_end_matches("/00000"))
}

const KEYS: [(&str, &str); 6] = [
    ("back", "Back"),
    ("home", "Home"),
    ("app_switch", "Apps"),
    ("volume_down", "Volume −"),
    ("volume_up", "Volume +"),
    ("power", "Power"),
];

/// The live screen and its controls; `app.js` connects it to `ws`.
fn screen(ws: &str, mode: &str, device: &str) -> Markup {
    let input = mode != "VIDEO_ONLY";
    html! {
        section #remote data-ws=(ws) data-mode=(mode) aria-label={ "Screen of " (device) } {
            p #remote-status role="status" { "Connecting to the device…" }
            @if mode != "NO_VIDEO" {
                div.screen-wrap {
                    canvas #screen tabindex="0" width="288" height="640"
                        aria-label="The device's screen: click to tap, hold to long press, drag to swipe, type to send text" {}
                }
            }
            @if input {
                div.device-keys role="toolbar" aria-label="Device keys" {
                    @for (key, label) in KEYS {
                        button type="button" data-key=(key) { (label) }
                    }
                    button type="button" #rotate { "Rotate" }
                }
                form #remote-text {
                    label for="remote-text-input" { "Type on the device" }
                    div.inline {
                        input #remote-text-input name="text" maxlength="1000" autocomplete="off";
                        button type="submit" { "Send" }
                    }
                }
            }
        }
    }
}

fn status(s: &wire::RemoteAccessSession) -> &'static str {
    layout::status(s.status)
}

/// `/remote-access/TOKEN`: a session's endpoint, for whoever holds its URL.
pub async fn endpoint(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    let arn = match crate::remote_access::viewer::session_of_token(&state, &token) {
        Ok(arn) => arn,
        Err(e) => return layout::error_page(None, http::StatusCode::FORBIDDEN, &e.to_string()),
    };
    let session = state.store.get(&arn.account, &arn.to_string()).await.ok().flatten();
    let Some(session) = session.and_then(|r| r.decode::<domain::remote_access::RemoteSession>().ok()) else {
        return layout::error_page(None, http::StatusCode::NOT_FOUND, "There is no such session.");
    };
    let body = html! {
        h1 { "Remote access: " (session.device.name) }
        (screen(&format!("/remote-access/{token}/ws"), session.interaction_mode.as_str(), &session.device.name))
        button.stop type="button" #remote-stop { "Stop session" }
    };
    Html(page(None, &format!("Remote access: {}", session.device.name), body).into_string()).into_response()
}

pub async fn list(viewer: Viewer) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let projects = calls::projects(&viewer.ctx).await.map_err(fail)?;
    let mut sessions = Vec::new();
    for p in &projects {
        let arn = p.arn.clone().unwrap_or_default();
        for s in calls::remote_sessions(&viewer.ctx, &arn).await.map_err(fail)? {
            sessions.push((p.name.clone().unwrap_or_default(), s));
        }
    }
    sessions.sort_by(|a, b| b.1.created.partial_cmp(&a.1.created).unwrap_or(std::cmp::Ordering::Equal));
    let now = viewer.ctx.state.now_ms() as f64 / 1000.0;
    let body = html! {
        h1 { "Remote access" }
        @if sessions.is_empty() {
            p.empty { "No sessions yet. Start one from " a href="/ui/devices" { "the devices page" } "." }
        } @else {
            div.scroll {
                table #remote-sessions {
                    caption.visually-hidden { "Remote access sessions" }
                    thead { tr {
                        th scope="col" { "Session" } th scope="col" { "Project" } th scope="col" { "Device" }
                        th scope="col" { "Status" } th scope="col" { "Duration" } th scope="col" { "Minutes" }
                    } }
                    tbody {
                        @for (project, s) in &sessions {
                            @let arn = s.arn.clone().unwrap_or_default();
                            tr.remote-session data-session-arn=(arn) data-status=(status(s)) {
                                td { a href=(session_path(&arn)) { (s.name.clone().unwrap_or_default()) } }
                                td { (project) }
                                td { (s.device.as_ref().and_then(|d| d.name.clone()).unwrap_or_default()) }
                                td { span.badge data-value=(status(s)) { (status(s)) } }
                                td { (layout::duration(s.started, s.stopped, now)) }
                                td { (layout::minutes(s.device_minutes.as_ref())) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), "Remote access", body).into_string()).into_response())
}

fn session_arn(viewer: &Viewer, project: &str, session: &str) -> String {
    layout::arn_of(viewer, ResourceKind::Session, &format!("{project}/{session}/00000"))
}

pub async fn show(viewer: Viewer, Path((project, session_id)): Path<(String, String)>) -> Result<Response, ApiPage> {
    let fail = |e| ApiPage::new(&viewer, e);
    let arn = session_arn(&viewer, &project, &session_id);
    let session = calls::remote_session(&viewer.ctx, &arn).await.map_err(fail)?;
    let project_arn = layout::arn_of(&viewer, ResourceKind::Project, &project);
    let project_name = calls::project(&viewer.ctx, &project_arn).await.map_err(fail)?.name.unwrap_or_default();
    let completed = layout::is_completed(session.status);
    let artifacts = if completed {
        let mut all = calls::artifacts(&viewer.ctx, &arn, wire::ArtifactCategory::File).await.map_err(fail)?;
        all.extend(calls::artifacts(&viewer.ctx, &arn, wire::ArtifactCategory::Log).await.map_err(fail)?);
        all
    } else {
        Vec::new()
    };
    let apps: Vec<wire::Upload> = if completed {
        Vec::new()
    } else {
        let platform = session.device.as_ref().and_then(|d| d.platform).map_or("ANDROID", |p| p.as_str());
        let wanted = if platform == "IOS" { "IOS_APP" } else { "ANDROID_APP" };
        calls::uploads(&viewer.ctx, &project_arn)
            .await
            .map_err(fail)?
            .into_iter()
            .filter(|u| {
                u.r#type.map(|t| t.as_str()) == Some(wanted) && u.status.map(|s| s.as_str()) == Some("SUCCEEDED")
            })
            .collect()
    };
    let device = session.device.as_ref().and_then(|d| d.name.clone()).unwrap_or_default();
    let mode = session.interaction_mode.map_or("INTERACTIVE", |m| m.as_str());
    let state = &viewer.ctx.state;
    let token = state.remote_access.endpoint_token(
        &arn.parse().map_err(|_| fail(protocol::ApiError::internal()))?,
        state.now_ms() + PAGE_TOKEN_MS,
    );
    let base = session_path(&arn);
    let now = state.now_ms() as f64 / 1000.0;
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/ui/sessions" { "Remote access" } " / " a href=(layout::project_path(&project_arn)) { (project_name) }
        }
        h1 { "Session: " (session.name.clone().unwrap_or_default()) }
        dl.facts #session data-status=(status(&session)) {
            dt { "Status" } dd #session-status { span.badge data-value=(status(&session)) { (status(&session)) } }
            dt { "Result" } dd #session-result { span.badge data-value=(layout::result(session.result)) { (layout::result(session.result)) } }
            dt { "Device" } dd { (device) " " span.kind { (session.device_udid.clone().unwrap_or_default()) } }
            dt { "Mode" } dd { (mode) }
            dt { "Duration" } dd { (layout::duration(session.started, session.stopped, now)) }
            dt { "Minutes" } dd #session-minutes { (layout::minutes(session.device_minutes.as_ref())) }
        }
        @if let Some(message) = &session.message { p.message { (message) } }
        @if completed {
            h2 { "Files" }
            @if artifacts.is_empty() {
                p.empty { "This session left no recording." }
            }
            @for video in artifacts.iter().filter(|a| a.r#type.map(|t| t.as_str()) == Some("VIDEO")) {
                video.job-video #session-video controls preload="metadata" src=(video.url.clone().unwrap_or_default()) aria-label="Recording" {}
            }
            ul {
                @for a in &artifacts {
                    li { a.artifact href=(a.url.clone().unwrap_or_default()) { (a.name.clone().unwrap_or_default()) "." (a.extension.clone().unwrap_or_default()) } }
                }
            }
        } @else {
            (screen(&format!("/remote-access/{token}/ws"), mode, &device))
            form #stop-session method="post" action={ (base) "/stop" } {
                input type="hidden" name="csrf" value=(viewer.csrf());
                button.stop type="submit" #remote-stop { "Stop session" }
            }
            @if !apps.is_empty() {
                form #install method="post" action={ (base) "/install" } {
                    input type="hidden" name="csrf" value=(viewer.csrf());
                    label for="install-app" { "Install an app" }
                    div.inline {
                        select #install-app name="app" {
                            @for app in &apps {
                                option value=(app.arn.clone().unwrap_or_default()) { (app.name.clone().unwrap_or_default()) }
                            }
                        }
                        button type="submit" { "Install" }
                    }
                }
            }
        }
    };
    Ok(Html(page(Some(&viewer), &format!("Session on {device}"), body).into_string()).into_response())
}

#[derive(serde::Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    csrf: String,
    /// The app to install (the install form only).
    #[serde(default)]
    app: String,
}

/// What a session page's form asks for.
enum SessionAction {
    Stop,
    Install,
}

/// A session page's form: the CSRF check, the operation, then the page again.
async fn act(
    viewer: Viewer,
    ids: (String, String),
    headers: HeaderMap,
    form: SessionForm,
    action: SessionAction,
) -> Response {
    if !csrf_ok(&viewer, &headers, &form.csrf) {
        return Refused.into_response();
    }
    let arn = session_arn(&viewer, &ids.0, &ids.1);
    let done = match action {
        SessionAction::Stop => calls::stop_remote_session(&viewer.ctx, &arn).await.map(|_| ()),
        SessionAction::Install => calls::install_to_remote_session(&viewer.ctx, &arn, &form.app).await,
    };
    match done {
        Ok(()) => Redirect::to(&session_path(&arn)).into_response(),
        Err(e) => ApiPage::new(&viewer, e).into_response(),
    }
}

pub async fn stop(
    viewer: Viewer,
    Path(ids): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<SessionForm>,
) -> Response {
    act(viewer, ids, headers, form, SessionAction::Stop).await
}

pub async fn install(
    viewer: Viewer,
    Path(ids): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<SessionForm>,
) -> Response {
    act(viewer, ids, headers, form, SessionAction::Install).await
}

#[derive(serde::Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    device: String,
    project: String,
}

/// The devices page's "Start session": CreateRemoteAccessSession, then the session's page.
pub async fn start(viewer: Viewer, headers: HeaderMap, Form(form): Form<StartForm>) -> Response {
    if !csrf_ok(&viewer, &headers, &form.csrf) {
        return Refused.into_response();
    }
    match calls::create_remote_session(&viewer.ctx, &form.project, &form.device).await {
        Ok(session) => {
            let arn = session.arn.unwrap_or_default();
            tracing::info!(session = %arn, account = %viewer.account_id(), "remote access session started from the dashboard");
            Redirect::to(&session_path(&arn)).into_response()
        }
        Err(e) => ApiPage::new(&viewer, e).into_response(),
    }
}

/// The "Start session" form of one device, given the viewer's projects.
pub fn start_form(viewer: &Viewer, device_arn: &str, projects: &[wire::Project]) -> Markup {
    html! {
        @if projects.is_empty() {
            span.empty { "Create a project to start a session" }
        } @else {
            form.start-session method="post" action="/ui/sessions/start" {
                input type="hidden" name="csrf" value=(viewer.csrf());
                input type="hidden" name="device" value=(device_arn);
                label.visually-hidden for={ "project-" (layout::id_of(device_arn)) } { "Project" }
                select id={ "project-" (layout::id_of(device_arn)) } name="project" {
                    @for p in projects {
                        option value=(p.arn.clone().unwrap_or_default()) { (p.name.clone().unwrap_or_default()) }
                    }
                }
                button type="submit" { "Start session" }
            }
        }
    }
}
