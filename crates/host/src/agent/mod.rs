//! The agent: how a device host reaches the control plane, and the process that does it.
//! An [`crate::executor::Executor`] reaches the control plane only through a [`JobLink`]:
//! the control plane's own implementation when the host runs inside `farmhand serve`, a
//! [`remote_link::RemoteLink`] for `farmhand agent` (or `farmhand-agent`) on another machine.
//!
//! - [`protocol`]: the messages between the two, and what a host is given to run a job.
//! - [`link`]: the [`JobLink`] trait.
//! - [`config`]: the agent's flags, environment and TOML.
//! - [`remote_link`]: [`remote_link::RemoteLink`], the link over the network.
//! - `connection`: the WebSocket session and reconnecting.
//! - `devices`: the host's devices as they are now.
//!
//! It connects to one of several server URLs, declares its devices (from a fleet file and,
//! optionally, the Android phones `adb` sees), runs the jobs it is given, and obeys stop
//! orders the moment they are pushed. `farmhand serve` runs one of these inside itself for
//! the devices of its own fleet file, so there is one way real jobs run.

pub mod config;
mod connection;
mod devices;
pub mod link;
pub mod protocol;
pub mod remote_link;

pub use link::{JobLink, LinkError, Orders};
pub use protocol::{Assignment, InputFile};

use std::sync::Arc;

use crate::executor::Executor;
use crate::runner::Runner;
use anyhow::{Context, Result};
use domain::clock::Clock;

pub use config::{AgentArgs, AgentConfig};

/// What a running agent is made of; shared by its connection and device watcher.
pub struct Agent {
    pub config: AgentConfig,
    pub link: Arc<remote_link::RemoteLink>,
    pub executor: Arc<Executor>,
    pub devices: devices::Devices,
    /// The TestGrid sessions on this host's browsers.
    pub browsers: Arc<crate::browser::hosted::HostedBrowsers>,
    /// The remote access sessions on this host's devices.
    pub screens: Arc<crate::screen::hosted::HostedScreens>,
}

/// Real time: a host's instants never reach the control plane (it stamps reports with
/// its own clock), they only pace the runner.
struct WallClock;

impl Clock for WallClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

impl Agent {
    /// An agent for `config`; `fixed` are devices given already built (the server's own).
    pub fn new(config: AgentConfig, fixed: Vec<domain::host::HostedDevice>) -> Result<Arc<Agent>> {
        std::fs::create_dir_all(&config.work_dir).with_context(|| format!("creating {}", config.work_dir.display()))?;
        let link = Arc::new(remote_link::RemoteLink::new(config.token.clone(), &config.tls)?);
        let runner = Runner::new(config.runner.clone(), Arc::new(WallClock));
        let executor = Arc::new(
            Executor::new(link.clone(), runner, config.work_dir.clone(), Arc::new(|| {}))
                .keeping_failed_workspaces(config.keep_failed_workspaces),
        );
        let devices = devices::Devices::new(&config, fixed)?;
        let browsers =
            crate::browser::hosted::HostedBrowsers::new(config.browsers.clone(), config.work_dir.join("testgrid"));
        let screens = crate::screen::hosted::HostedScreens::new(config.work_dir.join("remote-access"));
        Ok(Arc::new(Agent { config, link, executor, devices, browsers, screens }))
    }

    /// Runs until `shutdown` resolves: sweeps what an earlier run left, watches the
    /// devices, and keeps a connection to one of the servers.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        self.executor.sweep().await;
        if self.config.adb_discovery {
            tokio::spawn(self.clone().watch_android_devices());
        }
        tokio::select! {
            () = shutdown => {}
            () = connection::keep_connected(self.clone()) => {}
        }
    }

    async fn watch_android_devices(self: Arc<Self>) {
        loop {
            for serial in self.devices.poll_adb().await {
                self.executor.device_lost(&serial);
            }
            tokio::time::sleep(devices::ADB_POLL).await;
        }
    }
}

/// `farmhand agent`.
pub async fn run(args: AgentArgs) -> Result<()> {
    let config = args.resolve()?;
    let agent = Agent::new(config, Vec::new())?;
    tracing::info!(servers = ?agent.config.servers, "farmhand agent starting");
    agent
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}
