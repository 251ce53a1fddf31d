//! The page shell every dashboard page shares (header, navigation, sign-out), the URLs of
//! the pages, and the small formatting rules (minutes, durations, counters) the pages and the
//! live updates both use, so a value reads the same before and after an update.

use super::auth::Viewer;
use domain::arn::{Arn, ResourceKind};
use maud::{html, Markup, DOCTYPE};
use protocol::model as wire;

pub fn page(viewer: Option<&Viewer>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · farmhand" }
                link rel="stylesheet" href={ "/ui/static/" (*super::ASSET_VERSION) "/app.css" };
                script src={ "/ui/static/" (*super::ASSET_VERSION) "/app.js" } defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href="/ui" { "farmhand" }
                    @if let Some(v) = viewer {
                        nav aria-label="Main" {
                            a #nav-projects href="/ui/projects" { "Projects" }
                            a #nav-devices href="/ui/devices" { "Devices" }
                            a #nav-sessions href="/ui/sessions" { "Remote access" }
                            a #nav-testgrid href="/ui/testgrid" { "Browsers" }
                            a #nav-billing href="/ui/billing" { "Billing" }
                        }
                        span.account { "Account " span #account { (v.account_id()) } }
                        form #logout method="post" action="/ui/logout" {
                            input type="hidden" name="csrf" value=(v.csrf());
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A page that answers an error (missing run, failed stop): status and one sentence.
pub fn error_page(viewer: Option<&Viewer>, status: http::StatusCode, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        h1 { (title) }
        p #error role="alert" { (message) }
        p { a href="/ui/projects" { "Back to projects" } }
    };
    (status, axum::response::Html(page(viewer, title, body).into_string())).into_response()
}

pub fn project_path(arn: &str) -> String {
    format!("/ui/projects/{}", id_of(arn))
}

pub fn run_path(arn: &str) -> String {
    format!("/ui/runs/{}", id_of(arn))
}

pub fn job_path(arn: &str) -> String {
    format!("/ui/jobs/{}", id_of(arn))
}

/// The id part of an ARN (`PROJECT/RUN/JOB` for a job): the pages' paths are made of it.
pub fn id_of(arn: &str) -> String {
    arn.parse::<Arn>().map(|a| a.id).unwrap_or_default()
}

/// The ARN a page path names, in the viewer's account and the server's region: a path
/// can only ever name the viewer's own resources.
pub fn arn_of(viewer: &Viewer, kind: ResourceKind, id: &str) -> String {
    viewer.ctx.arn(kind, id).to_string()
}

pub fn status(s: Option<wire::ExecutionStatus>) -> &'static str {
    s.map(|s| s.as_str()).unwrap_or("PENDING")
}

pub fn result(r: Option<wire::ExecutionResult>) -> &'static str {
    r.map(|r| r.as_str()).unwrap_or("PENDING")
}

pub fn minutes(m: Option<&wire::DeviceMinutes>) -> String {
    format!("{:.2} min", m.and_then(|m| m.total).unwrap_or(0.0))
}

pub fn counters(c: Option<&wire::Counters>) -> String {
    let Some(c) = c else { return String::new() };
    let n = |v: Option<i32>| v.unwrap_or(0);
    format!(
        "{} total · {} passed · {} failed · {} errored · {} stopped · {} skipped · {} warned",
        n(c.total),
        n(c.passed),
        n(c.failed),
        n(c.errored),
        n(c.stopped),
        n(c.skipped),
        n(c.warned)
    )
}

/// From `started` to `stopped` (or to now, still running), as a person reads it.
pub fn duration(started: Option<f64>, stopped: Option<f64>, now_seconds: f64) -> String {
    let Some(start) = started else { return "–".into() };
    let seconds = (stopped.unwrap_or(now_seconds) - start).max(0.0).round() as i64;
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

pub fn timestamp(t: Option<f64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp_millis((t * 1000.0) as i64))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "–".into())
}

/// The status, result, counters and minutes of a run or a job, each with the id
/// (`{prefix}-status`, …) the page's script updates it by.
pub fn facts(prefix: &str, status: &str, result: &str, counters: &str, minutes: &str) -> Markup {
    html! {
        dl.facts {
            dt { "Status" } dd { span.badge id={ (prefix) "-status" } data-value=(status) aria-live="polite" { (status) } }
            dt { "Result" } dd { span.badge id={ (prefix) "-result" } data-value=(result) { (result) } }
            dt { "Tests" } dd id={ (prefix) "-counters" } { (counters) }
            dt { "Device minutes" } dd id={ (prefix) "-minutes" } { (minutes) }
        }
    }
}

pub fn is_completed(s: Option<wire::ExecutionStatus>) -> bool {
    s == Some(wire::ExecutionStatus::Completed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(duration(None, None, 10.0), "–");
        assert_eq!(duration(Some(0.0), Some(42.4), 0.0), "42s");
        assert_eq!(duration(Some(0.0), Some(125.0), 0.0), "2m 05s");
        assert_eq!(duration(Some(0.0), None, 7260.0), "2h 01m");
    }
}
