//! Start-up: open the store, make sure an account exists to sign in with, load the fleet,
//! and print what a newcomer needs to point an AWS client at this server.

use super::agents::Hub;
use super::clock::{ScaledClock, SystemClock};
use super::AppState;
use crate::accounts;
use crate::config::ServeConfig;
use anyhow::{Context, Result};
use domain::clock::Clock;
use domain::device::Fleet;
use domain::host::HostedDevice;
use domain::job::timeline::PrepDurations;
use engine::live_fleet::LiveFleet;
use engine::scheduler::Scheduler;
use host::agent::{Agent, AgentConfig};
use protocol::pagination::TokenSealer;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use store::blob::BlobStore;

/// The key id the server signs its own upload URLs with; it never appears in the store's
/// key table, so no client can sign API requests with it.
const URL_SIGNING_KEY_ID: &str = "FARMHANDURLSIGNER000";

pub async fn state(config: &ServeConfig, local: SocketAddr) -> Result<Arc<AppState>> {
    super::data_dir::prepare(&config.store.data_dir)?;
    let store = store::open(&config.store.database_url).await.context("opening the store")?;
    let blobs = BlobStore::from_url(config.blob_store.as_deref(), &config.store.data_dir.join("blobs"))
        .context("opening the blob store")?;
    let fleet = match &config.fleet {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Fleet::from_toml(&text, &config.region).with_context(|| format!("fleet {}", path.display()))?
        }
        None => Fleet::demo(&config.region),
    };
    let token_key = store.secret_or_init("pagination-token-key", accounts::random_hex(32)).await?;
    let url_secret = store.secret_or_init("upload-url-signing-secret", accounts::random_hex(32)).await?;
    let ui_sessions = crate::ui::session::SessionKey::load(store.as_ref()).await?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
    let origin: i64 = store
        .secret_or_init("service-clock-origin-ms", SystemClock.now_ms().to_string())
        .await?
        .parse()
        .context("stored service clock origin")?;
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(origin, config.time_scale));
    // The fleet file's real devices belong to this server's built-in device host; the
    // control plane itself holds only the simulated ones.
    let (simulated, own_devices) = fleet.split_real();
    let own_devices: Vec<HostedDevice> =
        own_devices.into_iter().map(|(device, driver)| HostedDevice { device, driver }).collect();
    let live_fleet = Arc::new(LiveFleet::new(simulated));
    let machine = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let replica = format!("{machine}/{local}");
    let link = engine::agent::DirectLink::new(store.clone(), blobs.clone(), clock.clone(), config.region.clone())
        .with_time_scale(config.time_scale);
    // Hosts are judged by the service clock, which --time-scale speeds up like every
    // other duration of the farm.
    let host_timeout_ms = (config.host_timeout.as_millis() as f64 * config.time_scale) as i64;
    let wake = engine::scheduler::Wake::default();
    let sessions_wake = engine::scheduler::Wake::default();
    let hub = Arc::new(Hub::new(
        replica.clone(),
        config.region.clone(),
        link,
        live_fleet.clone(),
        HEARTBEAT,
        host_timeout_ms,
        wake.clone(),
    ));
    let metrics = Arc::new(super::metrics::Metrics::default());
    let engine = Arc::new(
        Scheduler::new(store.clone(), live_fleet.clone(), clock.clone(), PrepDurations::default(), config.time_scale)
            .with_holder(replica.clone())
            .with_hosts(hub.clone())
            .with_observer(metrics.clone())
            .with_wake(wake)
            .with_sessions_wake(sessions_wake.clone()),
    );

    if engine::sim_video::ffmpeg().is_none() {
        // Said once here and on every job that wanted a video, never silently.
        tracing::warn!("ffmpeg is not on PATH: simulated jobs will have no Video artifact (install ffmpeg, e.g. apt-get install ffmpeg)");
    }
    // Checked even without devices of our own: a wrong setting should fail at start.
    let run_as = match &config.run_as {
        Some(name) => Some(host::runner::run_as_user::resolve(name, &config.work_dir)?),
        None => None,
    };
    let built_in = if own_devices.is_empty() && !config.adb_discovery {
        None
    } else {
        let host = built_in_host_name(&machine);
        let token = accounts::random_hex(32);
        let runner = host::runner::RunnerConfig {
            grace: config.stop_grace,
            teardown_limit: config.teardown_limit,
            sample_interval: config.sample_interval,
            run_as,
            ..Default::default()
        };
        let connect_to = match local.ip().is_unspecified() {
            true => SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port()),
            false => local,
        };
        let agent_config = AgentConfig {
            servers: vec![format!("http://{connect_to}")],
            token: token.clone(),
            fleet: None,
            adb_discovery: config.adb_discovery,
            work_dir: config.work_dir.clone(),
            keep_failed_workspaces: config.keep_failed_workspaces,
            runner,
            tls: host::agent::config::client_tls(None)?,
            browsers: Vec::new(),
        };
        // Listed at once, so the first ListDevices shows them; the host's connection a
        // moment later confirms them.
        live_fleet.set_host(&host, own_devices.clone(), true);
        store
            .host_connected(&host, &replica, &own_devices, clock.now_ms())
            .await
            .context("registering the built-in device host")?;
        let agent = Agent::new(agent_config, own_devices).context("starting the built-in device host")?;
        Some((agent, token, host))
    };
    // Desktop browsers: the fleet file's `[[browser]]` tables, or what this machine has.
    let browsers = match fleet.browsers() {
        _ if !config.testgrid.local_browsers => Vec::new(),
        [] => host::browser::discover(),
        declared => host::browser::declared(declared).map_err(anyhow::Error::msg).context("fleet [[browser]]")?,
    };
    if browsers.is_empty() && config.testgrid.local_browsers {
        tracing::info!("no desktop browser found (chromium + chromedriver, firefox-esr + geckodriver): TestGrid sessions will be refused");
    }
    let grid = Arc::new(crate::testgrid::live::Grid::new(
        config.testgrid.clone(),
        crate::sealed_url::TokenKey::load(store.as_ref(), crate::sealed_url::Purpose::TestGrid).await?,
        browsers,
        (replica.clone(), peer_url(&machine, local)),
        metrics.clone(),
    ));
    let remote_access = Arc::new(crate::remote_access::live::RemoteSessions::new(
        config.remote_access.clone(),
        crate::sealed_url::TokenKey::load(store.as_ref(), crate::sealed_url::Purpose::RemoteAccess).await?,
        (replica.clone(), peer_url(&machine, local)),
        sessions_wake,
    ));
    let live_changes = Arc::new(crate::ui::live::LiveChanges::default());
    let stop_events = engine::stop_events::StopEvents::new(vec![engine.clone(), hub.clone(), live_changes.clone()]);
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
        stop_grace_ms: i64::try_from(config.stop_grace.as_millis()).unwrap_or(i64::MAX),
        hub,
        internal_agent: built_in.as_ref().map(|(_, token, host)| (token.clone(), host.clone())),
        local_executor: built_in.as_ref().map(|(agent, _, _)| agent.executor.clone()),
        built_in_agent: built_in.map(|(agent, _, _)| agent),
        ui_sessions,
        live_changes,
        stop_events,
        draining: super::shutdown::Draining::default(),
        metrics,
        catalog: config.catalog.clone(),
        grid,
        remote_access,
    }))
}

/// Where other replicas reach this one: its listening address, or the machine's name when
/// it listens on every address.
fn peer_url(machine: &str, local: SocketAddr) -> String {
    if local.ip().is_unspecified() && !machine.is_empty() {
        format!("http://{machine}:{}", local.port())
    } else {
        format!("http://{local}")
    }
}

/// How often hosts send a heartbeat.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);

/// The built-in host's name: the machine's, made a valid host name.
fn built_in_host_name(machine: &str) -> String {
    let cleaned: String = machine
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' })
        .take(56)
        .collect();
    let name = format!("server-{}", cleaned.trim_matches(['-', '.']));
    if domain::host::is_valid_host_name(&name) {
        name
    } else {
        "server".to_string()
    }
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
    writeln!(out, "# dashboard: {}/ui (sign in with an access key of the account)", state.public_url)?;
    out.flush()?;
    Ok(())
}

/// Picks up what a previous process left half done: uploads still PROCESSING.
pub fn resume_background_work(state: &Arc<AppState>) {
    let state = state.clone();
    tokio::spawn(async move {
        match engine::upload_processing::resume(state.store.as_ref(), &state.blobs, &state.region).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "resumed upload inspection"),
            Err(e) => tracing::error!(error = %e, "resuming upload inspection failed"),
        }
    });
}
