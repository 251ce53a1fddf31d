//! # server
//!
//! The farmhand service as a library: the Device Farm operations, the HTTP server around
//! them (one axum router for the JSON API `POST /`, presigned upload URLs, artifact
//! downloads, the probes, `GET /metrics`), the dashboard, and the hub the device hosts
//! connect to, over shared [`AppState`]. The `farmhand` binary parses its command line
//! and calls [`run`]; tests build the same state in process.
//!
//! ## Layout
//! - [`config`]: flags, `FARMHAND_*` variables and the TOML file, layered once.
//! - [`api`]: one function per Device Farm operation.
//! - [`ui`]: the web dashboard at `/ui`.
//! - [`agents`]: the hub: device hosts' WebSocket sessions and file transfers.
//! - `bootstrap`: start-up (store, fleet, scheduler, the built-in host); [`shutdown`].
//! - `auth`, `http`, [`throttle`], [`presign`], [`downloads`], `upload_put`: the HTTP glue.
//! - `metrics`, `health`: what operators scrape and probe.
//! - [`accounts`], [`agent_tokens`]: accounts, access keys and host tokens in the store.
//! - [`billing`]: the billing report's table, CSV and JSON.

pub mod accounts;
pub mod agent_tokens;
pub mod agents;
pub mod api;
mod auth;
pub mod billing;
mod bootstrap;
pub mod clock;
pub mod config;
pub mod connections;
mod data_dir;
pub mod downloads;
mod health;
mod http;
pub(crate) mod metrics;
mod metrics_access;
pub mod output;
pub mod presign;
pub mod remote_access;
pub mod sealed_url;
pub mod shutdown;
mod span_body;
mod storage_fault;
pub mod testgrid;
pub mod throttle;
pub mod ui;
mod upload_put;

use crate::config::ServeConfig;
use anyhow::{Context, Result};
use axum::routing::{get, post, put};
use axum::Router;
use domain::clock::Clock;
use domain::device::Fleet;
use engine::live_fleet::LiveFleet;
use engine::scheduler::Scheduler;
use protocol::pagination::TokenSealer;
use protocol::ApiError;
use std::sync::Arc;
use store::blob::BlobStore;
use store::Store;

pub use auth::SIGNING_SERVICE;
pub use throttle::THROTTLED_CODE;

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: BlobStore,
    /// The fleet file's simulated devices plus the device hosts' devices; read through
    /// [`AppState::fleet`].
    pub live_fleet: Arc<LiveFleet>,
    pub engine: Arc<Scheduler>,
    pub region: String,
    /// Base of the URLs handed to clients (uploads, later artifacts).
    pub public_url: String,
    pub max_upload_bytes: u64,
    pub tokens: TokenSealer,
    /// The server's own credential for presigning upload URLs: SigV4 query form, so the
    /// URL is as self-contained and tamper-evident as an S3 presigned URL.
    pub url_signing_key: (String, String),
    /// The service clock (scaled by `--time-scale`): creation times, timelines, billing.
    pub clock: Arc<dyn Clock>,
    /// Real time, for signature ages.
    pub wall: Arc<dyn Clock>,
    /// `--stop-grace-seconds` in ms, recorded with every stop: a simulated test in progress
    /// gets this long on the service clock, as a real test phase gets it before SIGKILL.
    pub stop_grace_ms: i64,
    /// The device hosts connected to this replica.
    pub hub: Arc<agents::Hub>,
    /// The built-in agent's token and host name (in memory only), when this server has
    /// devices of its own.
    pub internal_agent: Option<(String, String)>,
    /// The built-in agent's executor, to follow the output of its jobs from their files.
    pub local_executor: Option<Arc<host::executor::Executor>>,
    /// The built-in agent, started once the server listens.
    pub built_in_agent: Option<Arc<host::agent::Agent>>,
    /// Signs and checks dashboard sessions (a secret shared by replicas through the store).
    pub ui_sessions: crate::ui::session::SessionKey,
    /// What live pages on this replica wait on between looks.
    pub live_changes: Arc<crate::ui::live::LiveChanges>,
    /// Where a recorded stop is published: the scheduler, the hub, the live pages.
    pub stop_events: engine::stop_events::StopEvents,
    /// Set once a shutdown begins: long-lived streams (live pages, followed output) end so
    /// the browser reconnects to a replica that stays, instead of holding this one's exit.
    pub draining: shutdown::Draining,
    /// What `/metrics` counts as it happens (requests, stop latency).
    pub metrics: Arc<metrics::Metrics>,
    /// The offerings accounts may buy (config file).
    pub catalog: domain::offering::Catalog,
    /// Desktop browser testing: the WebDriver hub's sessions on this replica.
    pub grid: Arc<testgrid::live::Grid>,
    /// Remote access: the sessions whose device this replica serves.
    pub remote_access: Arc<remote_access::live::RemoteSessions>,
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The fleet as it is now.
    pub fn fleet(&self) -> Arc<Fleet> {
        self.live_fleet.current()
    }

    /// Real time, for SigV4.
    pub fn wall_now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.wall.now_ms()).unwrap_or_default()
    }

    /// Logs the cause of a server fault and gives the client the generic 500, or the 503
    /// naming the storage when the storage refused a write (`'static`: to recognise it).
    pub fn internal(&self, cause: impl std::fmt::Display + 'static) -> ApiError {
        if let Some(fault) = storage_fault::of(&cause) {
            tracing::error!(%cause, "the storage refused a write");
            return storage_fault::api_error(fault);
        }
        tracing::error!(%cause, "internal error");
        ApiError::internal()
    }
}

/// `state.draining` is what `/readyz` reports as `shutting_down`; `throttle` and `read_limit`
/// guard the JSON API against clients that are too fast or too slow; `metrics_access`
/// says who may scrape `/metrics`.
pub fn router(
    state: Arc<AppState>,
    throttle: Arc<throttle::Throttle>,
    read_limit: connections::ReadLimit,
    metrics_access: metrics_access::MetricsAccess,
) -> Router {
    let presigned = Router::new()
        .route("/uploads/{account}/{project}/{upload}", put(upload_put::put_upload))
        .route("/artifacts/{account}/{*path}", get(downloads::artifact))
        .route("/samples/{account}/{*path}", get(downloads::sample))
        .route("/video/{account}/{*job}", get(downloads::video))
        .route("/curated-test-specs/{id}", get(downloads::curated_spec))
        .route("/testgrid-artifacts/{account}/{*path}", get(downloads::testgrid_artifact))
        .route("/remote-access-artifacts/{account}/{*path}", get(downloads::remote_access_artifact))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), presign::require));
    Router::new()
        .route(
            "/",
            post(http::api).route_layer(axum::middleware::from_fn_with_state(read_limit, connections::body_deadline)),
        )
        .merge(presigned)
        .route("/output/{account}/{*job}", get(output::output))
        .merge(crate::ui::routes())
        .merge(agents::routes())
        .merge(testgrid::hub::routes())
        .merge(remote_access::viewer::routes())
        .route("/health", get(|| async { "ok" }))
        .merge(health::routes(state.draining.clone()))
        .route(
            "/metrics",
            get(metrics::metrics)
                .route_layer(axum::middleware::from_fn_with_state(metrics_access, metrics_access::require)),
        )
        .fallback(http::no_route)
        .layer(axum::middleware::from_fn(http::with_request_id))
        .layer(axum::extract::DefaultBodyLimit::max(http::MAX_REQUEST_BODY))
        .layer(axum::Extension(throttle))
        .with_state(state)
}

/// The router `run` serves for `config`, with its throttle, read limit and metrics access.
fn app(state: Arc<AppState>, config: &ServeConfig) -> Router {
    let throttle = Arc::new(throttle::Throttle::new(
        config.rate_limit.map(|(per_second, burst)| throttle::Rate { per_second, burst }),
    ));
    let read_limit = connections::ReadLimit(config.request_read_timeout);
    let metrics_access = metrics_access::MetricsAccess::new(config.metrics_token.as_deref());
    router(state, throttle, read_limit, metrics_access)
}

/// The service without a listener or its background loops: its state (store, fleet,
/// scheduler, hub) and the router `run` would serve, for driving it in process (tests).
/// Whoever holds it runs what it needs, e.g. `state.engine.clone().run(…)` to schedule.
pub async fn in_process(config: &ServeConfig) -> Result<(Arc<AppState>, Router)> {
    let state = bootstrap::state(config, config.listen).await?;
    let app = app(state.clone(), config);
    Ok((state, app))
}

pub async fn run(config: ServeConfig) -> Result<()> {
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let local = listener.local_addr()?;
    let state = bootstrap::state(&config, local).await?;
    bootstrap::announce(&state, &config, local).await?;
    bootstrap::resume_background_work(&state);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(state.hub.clone().listen());
    if let Some(agent) = state.built_in_agent.clone() {
        let mut rx = stop_rx.clone();
        tokio::spawn(agent.run(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }));
    }
    let grid = {
        let mut rx = stop_rx.clone();
        let state = state.clone();
        tokio::spawn(async move {
            state.grid.recover(&state).await;
            state
                .grid
                .clone()
                .run(state.clone(), async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
        })
    };
    let remote_access = {
        let mut rx = stop_rx.clone();
        let state = state.clone();
        tokio::spawn(async move {
            state
                .remote_access
                .clone()
                .run(state.clone(), async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
        })
    };
    let scheduler = tokio::spawn(state.engine.clone().run(async move {
        let mut rx = stop_rx;
        let _ = rx.wait_for(|stop| *stop).await;
    }));
    let draining = state.draining.clone();
    let hub = state.hub.clone();
    let built_in_host = state.internal_agent.as_ref().map(|(_, host)| host.clone());
    let send_hosts_away = move || hub.send_hosts_away(built_in_host.as_deref());
    let app = app(state.clone(), &config);
    let read_limit = connections::ReadLimit(config.request_read_timeout);
    shutdown::serve(listener, app, read_limit, draining, config.drain, send_hosts_away).await?;
    // The scheduler's loop gives up its lease on the way out, so another replica schedules
    // at once instead of after the lease's expiry.
    let _ = stop_tx.send(true);
    let _ = scheduler.await;
    let _ = grid.await;
    let _ = remote_access.await;
    tracing::info!("farmhand stopped");
    Ok(())
}
