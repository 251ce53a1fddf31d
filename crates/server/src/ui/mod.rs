//! The web dashboard at `/ui`: server-rendered pages of what an account's keys can see,
//! updated live by server-sent events, with the stop buttons of StopRun and StopJob.
//!
//! ## Layout
//! - [`session`], [`auth`], [`guard`], [`login`]: who is looking (signed session cookies,
//!   checked on every request), CSRF, signing in and out.
//! - [`calls`]: the only way pages read or act, the Device Farm operations themselves.
//! - [`state`]: what a run page and a job page show, as values both the page and its live
//!   stream are made from.
//! - [`projects`], [`runs`], [`jobs`], [`devices`], [`billing`]: one module per page;
//!   [`testgrid`]: desktop browser testing's projects, sessions and a session's page.
//! - [`live`]: the event streams and the followed test-spec output; [`actions`]: the stops.
//! - `assets/`: the stylesheet and the one small script (no build step).

mod actions;
pub mod auth;
mod billing;
mod calls;
mod charts;
mod devices;
pub mod guard;
mod jobs;
mod layout;
pub mod live;
mod login;
mod projects;
mod remote;
mod runs;
pub mod session;
mod state;
mod testgrid;

use crate::AppState;
use auth::Viewer;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use protocol::{ApiError, ErrorCode};
use std::sync::Arc;

/// An operation's error as a page: a missing (or another account's) resource is the
/// ordinary 404 page, anything else names the error as the API would.
pub struct ApiPage(Response);

impl ApiPage {
    pub fn new(viewer: &Viewer, e: ApiError) -> ApiPage {
        if e.code == ErrorCode::NotFound {
            return ApiPage(login::not_found(Some(viewer)));
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiPage(layout::error_page(Some(viewer), status, &format!("{}: {}", e.code.as_str(), e.message)))
    }
}

impl IntoResponse for ApiPage {
    fn into_response(self) -> Response {
        self.0
    }
}

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// Part of the assets' URLs, a hash of their content: a page never runs a script older or
/// newer than itself that a browser kept, so the assets can be cached for good.
pub static ASSET_VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(CSS).chain_update(JS).finalize();
    hex::encode(&digest[..6])
});

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [(http::header::CONTENT_TYPE, content_type), (http::header::CACHE_CONTROL, "public, max-age=86400, immutable")],
        body,
    )
        .into_response()
}

/// Pages are not cached (they show live state and carry CSRF tokens), load nothing from
/// elsewhere and run no inline script, and may not be framed (clickjacking a stop button).
async fn page_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.entry(http::header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn not_found_page(viewer: Option<Viewer>) -> Response {
    login::not_found(viewer.as_ref())
}

pub fn routes() -> Router<Arc<AppState>> {
    let ui = Router::new()
        .route("/ui", get(login::home))
        .route("/ui/", get(login::home))
        .route("/ui/login", get(login::show).post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/projects", get(projects::list))
        .route("/ui/projects/{project}", get(projects::runs))
        .route("/ui/runs/{project}/{run}", get(runs::show))
        .route("/ui/runs/{project}/{run}/events", get(live::run_events))
        .route("/ui/runs/{project}/{run}/stop", post(actions::stop_run))
        .route("/ui/jobs/{project}/{run}/{job}", get(jobs::show))
        .route("/ui/jobs/{project}/{run}/{job}/events", get(live::job_events))
        .route("/ui/jobs/{project}/{run}/{job}/output", get(live::output))
        .route("/ui/jobs/{project}/{run}/{job}/stop", post(actions::stop_job))
        .route("/ui/devices", get(devices::list))
        .route("/ui/billing", get(billing::show))
        .route("/ui/testgrid", get(testgrid::projects))
        .route("/ui/testgrid/{project}", get(testgrid::sessions))
        .route("/ui/testgrid/{project}/{session}", get(testgrid::session))
        .route("/ui/sessions", get(remote::list))
        .route("/ui/sessions/start", post(remote::start))
        .route("/ui/sessions/{project}/{session}", get(remote::show))
        .route("/ui/sessions/{project}/{session}/stop", post(remote::stop))
        .route("/ui/sessions/{project}/{session}/install", post(remote::install))
        .route("/remote-access/{token}", get(remote::endpoint))
        .route("/ui/{*rest}", get(not_found_page))
        .layer(axum::middleware::map_response(page_headers));
    Router::new()
        .route("/ui/static/{version}/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/ui/static/{version}/app.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .merge(ui)
}
