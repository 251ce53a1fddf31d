//! Start-up: open the store, make sure an account exists to sign in with, load the fleet,
//! and print what a newcomer needs to point an AWS client at this server.

use super::clock::{ScaledClock, SystemClock};
use super::AppState;
use domain::clock::Clock;
use domain::job::timeline::PrepDurations;
use engine::live_fleet::LiveFleet;
use engine::scheduler::Scheduler;
use crate::accounts;
use crate::config::ServeConfig;
use anyhow::{Context, Result};
use domain::device::Fleet;
use protocol::pagination::TokenSealer;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use store::blob::BlobStore;

/// The key id the server signs its own upload URLs with; it never appears in the store's
/// key table, so no client can sign API requests with it.
const URL_SIGNING_KEY_ID: &str = "FARMHANDURLSIGNER000";

pub async fn state(config: &ServeConfig, local: SocketAddr) -> Result<Arc<AppState>> {
    std::fs::create_dir_all(&config.store.data_dir)
        .with_context(|| format!("creating {}", config.store.data_dir.display()))?;
    let store = store::open(&config.store.database_url).await.context("opening the store")?;
    let blobs = BlobStore::local(config.store.data_dir.join("blobs")).context("opening the blob store")?;
    let fleet = match &config.fleet {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Fleet::from_toml(&text, &config.region).with_context(|| format!("fleet {}", path.display()))?
        }
        None => Fleet::demo(&config.region),
    };
    let token_key = store.secret_or_init("pagination-token-key", accounts::random_hex(32)).await?;
    let url_secret = store.secret_or_init("upload-url-signing-secret", accounts::random_hex(32)).await?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let origin: i64 = store
        .secret_or_init("service-clock-origin-ms", SystemClock.now_ms().to_string())
        .await?
        .parse()
        .context("stored service clock origin")?;
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(origin, config.time_scale));
    let live_fleet = Arc::new(LiveFleet::new(fleet.clone()));
    let fleet = Arc::new(fleet);
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let engine = Arc::new(
        Scheduler::new(store.clone(), fleet.clone(), clock.clone(), PrepDurations::default(), config.time_scale)
            .with_holder(format!("{host}/{local}"))
            .with_live_fleet(live_fleet.clone()),
    );
    let region = config.region.clone();
    let upload_blob_key: engine::executor::UploadBlobKey = Arc::new(move |arn: &str| {
        arn.parse::<domain::arn::Arn>()
            .ok()
            .filter(|a| a.region == region)
            .map(|a| crate::api::uploads::blob_key(&a))
    });
    let waker = Arc::downgrade(&engine);
    let run_as = match &config.run_as {
        Some(name) => Some(crate::run_as::resolve(name, &config.work_dir)?),
        None => None,
    };
    let runner_config = engine::runner::RunnerConfig {
        grace: config.stop_grace,
        teardown_limit: config.teardown_limit,
        run_as,
        ..Default::default()
    };
    engine.attach_executor(Arc::new(
        engine::executor::Executor::new(
        store.clone(),
        blobs.clone(),
        clock.clone(),
        engine::runner::Runner::new(runner_config, clock.clone()),
        config.work_dir.clone(),
        config.region.clone(),
        upload_blob_key,
        Arc::new(move || {
            if let Some(scheduler) = waker.upgrade() {
                scheduler.wake();
            }
        }),
        )
        .keeping_failed_workspaces(config.keep_failed_workspaces),
    ));
    Ok(Arc::new(AppState {
        store,
        blobs,
        live_fleet,
        engine,
        region: config.region.clone(),
        public_url: public_url.trim_end_matches('/').to_string(),
        max_upload_bytes: config.max_upload_bytes,
        tokens: TokenSealer::new(token_key.into_bytes()),
        url_signing_key: (URL_SIGNING_KEY_ID.to_string(), url_secret),
        clock,
        wall: Arc::new(SystemClock),
    }))
}

/// Prints the address and, when this start created them, the credentials as `export`
/// lines. A secret is shown once, like AWS shows it once; later starts say how to get a new one.
pub async fn announce(state: &AppState, config: &ServeConfig, local: SocketAddr) -> Result<()> {
    let first = accounts::ensure_default_account(state.store.as_ref(), config.root_key.clone(), state.now_ms()).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "farmhand listening on http://{local}")?;
    writeln!(out, "export AWS_ENDPOINT_URL_DEVICE_FARM={}", state.public_url)?;
    // AWS_REGION for the SDKs, AWS_DEFAULT_REGION for the AWS CLI v1 and older boto3.
    writeln!(out, "export AWS_REGION={}", state.region)?;
    writeln!(out, "export AWS_DEFAULT_REGION={}", state.region)?;
    match first {
        accounts::DefaultAccount::Created { key } => {
            writeln!(out, "export AWS_ACCESS_KEY_ID={}", key.access_key_id)?;
            writeln!(out, "export AWS_SECRET_ACCESS_KEY={}", key.secret_access_key)?;
        }
        accounts::DefaultAccount::Existing { account_id, configured_key } => {
            if let Some(key_id) = configured_key {
                writeln!(out, "export AWS_ACCESS_KEY_ID={key_id}")?;
                writeln!(out, "# AWS_SECRET_ACCESS_KEY: the one configured in FARMHAND_ROOT_SECRET_ACCESS_KEY")?;
            } else {
                writeln!(
                    out,
                    "# credentials were printed when account {account_id} was created; \
                     `farmhand key create --account {account_id}` makes a new key"
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Picks up what a previous process left half done: uploads still PROCESSING.
pub fn resume_background_work(state: &Arc<AppState>) {
    let state = state.clone();
    tokio::spawn(async move {
        let region = state.region.clone();
        let key_of = |arn: &str| {
            arn.parse::<domain::arn::Arn>()
                .ok()
                .filter(|a| a.region == region)
                .map(|a| crate::api::uploads::blob_key(&a))
        };
        match engine::upload_processing::resume(state.store.as_ref(), &state.blobs, key_of).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "resumed upload inspection"),
            Err(e) => tracing::error!(error = %e, "resuming upload inspection failed"),
        }
    });
}

/// How often attached Android devices are looked for.
const ADB_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the fleet's USB devices current: each poll of `adb` replaces the discovered
/// devices; one that went away stays listed, TEMPORARY_NOT_AVAILABLE.
pub fn discover_android_devices(state: &Arc<AppState>) {
    let state = state.clone();
    tokio::spawn(async move {
        let adb = match engine::adb::Adb::from_path_env() {
            Ok(adb) => adb,
            Err(e) => {
                tracing::error!(error = %e, "adb discovery is on, but adb cannot be run");
                return;
            }
        };
        loop {
            match adb.discover().await {
                Ok(attached) => {
                    let devices = attached
                        .iter()
                        .filter(|d| d.state == engine::adb::DeviceState::Device)
                        .map(|d| engine::adb::to_fleet_device(d, &state.region, "USB", Vec::new(), None))
                        .collect();
                    for serial in state.live_fleet.set_attached(devices) {
                        if let Some(executor) = state.engine.executor() {
                            executor.device_lost(&serial);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "looking for attached Android devices failed"),
            }
            tokio::time::sleep(ADB_POLL).await;
        }
    });
}
