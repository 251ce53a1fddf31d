//! Live pages: server-sent events carrying a run's or a job's state whenever it changes, and
//! a job's test-spec output as it is written.
//!
//! A job changes by itself as its timeline passes (no write marks the moment a simulated test
//! starts), so the streams look again every [`TICK`] rather than waiting for writes; a stop
//! recorded on this replica wakes them at once (`AppState::announce_change`), so the STOPPING a
//! person asked for shows without waiting for the tick. An event is sent only when what the
//! page shows differs from the last one sent.

use super::auth::Viewer;
use super::jobs::live_fragments;
use super::layout;
use super::state::{artifacts, job_state, run_state};
use axum::extract::Path;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::arn::ResourceKind;
use futures::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

pub const TICK: Duration = Duration::from_millis(250);

/// Waits for the next look: the tick, or a change announced on this replica.
async fn next_look(changes: &mut tokio::sync::watch::Receiver<u64>) {
    tokio::select! {
        _ = tokio::time::sleep(TICK) => {}
        _ = changes.changed() => {}
    }
}

/// How soon a browser reconnects when a stream ends before the page is final (a replica
/// stopping, a blip): sooner than EventSource's default of a few seconds.
const RECONNECT: Duration = Duration::from_millis(1000);

fn event(name: &str, data: &impl serde::Serialize) -> Option<Event> {
    let json = serde_json::to_string(data).ok()?;
    Some(Event::default().event(name).data(json).retry(RECONNECT))
}

/// Bumped when something changes that live pages on this replica show (a stop), so they
/// look again at once instead of at their next tick.
#[derive(Default)]
pub struct LiveChanges(tokio::sync::watch::Sender<u64>);

impl LiveChanges {
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }

    /// Something a live page shows changed on this replica (a remote access session began
    /// or ended).
    pub fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[async_trait::async_trait]
impl engine::stop_events::StopListener for LiveChanges {
    async fn jobs_stopped(&self, _: &[engine::stop_events::StoppedJob<'_>]) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Sends `look()`'s value as event `name` each time it changes, until it says it is final.
/// A failed look (the run was deleted, the store is down) ends the stream: the browser's
/// EventSource reconnects, and its next page load shows the error.
fn watch<T, F, Fut>(viewer: Viewer, name: &'static str, look: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    T: serde::Serialize + PartialEq + Send + 'static,
    F: Fn(Viewer) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Option<(T, bool, Viewer)>> + Send,
{
    let changes = viewer.ctx.state.live_changes.subscribe();
    futures::stream::unfold((Some(viewer), None::<T>, changes, false), move |(viewer, last, mut changes, done)| {
        let look = look.clone();
        async move {
            let viewer = viewer?;
            if done {
                return None;
            }
            let mut last = last;
            let mut viewer = viewer;
            loop {
                // A stream outlives the request that opened it: it ends with its session
                // (sign-out cannot reach it, but a revoked key or an expiry does).
                let state = viewer.ctx.state.clone();
                super::auth::resolve(&state, &state.ui_sessions, &viewer.session_value).await?;
                // A stopping replica ends its streams; EventSource reconnects, through the
                // balancer, to a replica that stays.
                if state.draining.is_draining() {
                    return None;
                }
                let (value, is_final, v) = look(viewer).await?;
                viewer = v;
                if last.as_ref() != Some(&value) {
                    let sent = event(name, &value)?;
                    return Some((Ok(sent), (Some(viewer), Some(value), changes, is_final)));
                }
                if is_final {
                    return None;
                }
                next_look(&mut changes).await;
                last = Some(value);
            }
        }
    })
}

fn sse(stream: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    let mut response = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    // A proxy that buffers would hold the events back until the stream ends.
    response.headers_mut().insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    response
}

pub async fn run_events(viewer: Viewer, Path((project, run)): Path<(String, String)>) -> Response {
    let arn = layout::arn_of(&viewer, ResourceKind::Run, &format!("{project}/{run}"));
    if let Err(e) = run_state(&viewer.ctx, &arn).await {
        return super::ApiPage::new(&viewer, e).into_response();
    }
    sse(watch(viewer, "run", move |viewer: Viewer| {
        let arn = arn.clone();
        async move {
            let state = run_state(&viewer.ctx, &arn).await.ok()?;
            let done = state.completed;
            Some((state, done, viewer))
        }
    }))
}

#[derive(PartialEq, serde::Serialize)]
struct JobUpdate {
    job: super::state::JobCard,
    suites_html: String,
    /// Sent once the job has ended: only then is its list of files complete.
    artifacts_html: Option<String>,
}

pub async fn job_events(viewer: Viewer, Path((project, run, job)): Path<(String, String, String)>) -> Response {
    let arn = layout::arn_of(&viewer, ResourceKind::Job, &format!("{project}/{run}/{job}"));
    if let Err(e) = job_state(&viewer.ctx, &arn).await {
        return super::ApiPage::new(&viewer, e).into_response();
    }
    sse(watch(viewer, "job", move |viewer: Viewer| {
        let arn = arn.clone();
        async move {
            let state = job_state(&viewer.ctx, &arn).await.ok()?;
            let done = state.job.completed;
            let links = match done {
                true => Some(artifacts(&viewer.ctx, &arn).await.ok()?),
                false => None,
            };
            let (suites_html, artifacts_html) = live_fragments(&state, links.as_deref());
            Some((JobUpdate { job: state.job, suites_html, artifacts_html }, done, viewer))
        }
    }))
}

/// `GET /ui/jobs/…/output`: the job's test-spec output, followed until the job ends, for the
/// page's `pre#output`; the same stream `farmhand logs --follow` reads, behind the session
/// instead of a signature.
pub async fn output(viewer: Viewer, Path((project, run, job)): Path<(String, String, String)>) -> Response {
    let arn = layout::arn_of(&viewer, ResourceKind::Job, &format!("{project}/{run}/{job}"));
    if let Err(e) = super::calls::job(&viewer.ctx, &arn).await {
        return super::ApiPage::new(&viewer, e).into_response();
    }
    let state = viewer.ctx.state.clone();
    let session = viewer.session_value.clone();
    let still_allowed: crate::output::StillAllowed = Arc::new(move || {
        let (state, session) = (state.clone(), session.clone());
        Box::pin(async move { super::auth::resolve(&state, &state.ui_sessions, &session).await.is_some() })
    });
    let Ok(arn) = arn.parse() else { return super::login::not_found(Some(&viewer)) };
    crate::output::stream(&viewer.ctx.state, &viewer.ctx.account.id, arn, true, Some(still_allowed)).await
}
