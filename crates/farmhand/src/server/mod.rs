//! The HTTP server: one axum router for the JSON API (`POST /`), presigned upload URLs
//! (`PUT /uploads/…`) and a health check, over shared [`AppState`].

mod auth;
mod bootstrap;
mod http;
mod shutdown;
mod upload_put;

use crate::config::ServeConfig;
use anyhow::{Context, Result};
use axum::routing::{get, post, put};
use axum::Router;
use domain::clock::Clock;
use domain::device::Fleet;
use protocol::pagination::TokenSealer;
use protocol::ApiError;
use std::sync::Arc;
use store::blob::BlobStore;
use store::Store;

pub use auth::SIGNING_SERVICE;

/// Real wall-clock time; tests and simulations substitute their own [`Clock`].
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: BlobStore,
    pub fleet: Fleet,
    pub region: String,
    /// Base of the URLs handed to clients (uploads, later artifacts).
    pub public_url: String,
    pub max_upload_bytes: u64,
    pub tokens: TokenSealer,
    /// The server's own credential for presigning upload URLs: SigV4 query form, so the
    /// URL is as self-contained and tamper-evident as an S3 presigned URL.
    pub url_signing_key: (String, String),
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default()
    }

    /// Logs the cause of a server fault and gives the client the generic 500.
    pub fn internal(&self, cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::internal()
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", post(http::api))
        .route("/uploads/{account}/{project}/{upload}", put(upload_put::put_upload))
        .route("/health", get(|| async { "ok" }))
        .fallback(http::no_route)
        .layer(axum::extract::DefaultBodyLimit::max(http::MAX_REQUEST_BODY))
        .with_state(state)
}

pub async fn run(config: ServeConfig) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let local = listener.local_addr()?;
    let state = bootstrap::state(&config, local).await?;
    bootstrap::announce(&state, &config, local).await?;
    bootstrap::resume_background_work(&state);
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown::signal()).await?;
    tracing::info!("farmhand stopped");
    Ok(())
}
