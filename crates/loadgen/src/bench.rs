//! `farmhand-loadgen bench`: every figure of BENCHMARKS.md, each beside a baseline measured
//! in this same run, then the targets with PASS or MISS.
//!
//! Sections, in order (each starts its own processes and ends them):
//! 1. [`throughput`]: the bare baselines and moto, then farmhand's operations, at each
//!    concurrency;
//! 2. [`scale`]'s 1,000-device placement and StopRun;
//! 3. [`store_size`]: reads with a thousand jobs stored, then a million;
//! 4. [`footprint`]: cold start and idle memory.

pub mod footprint;
pub mod scale;
pub mod store_size;
pub mod throughput;

use anyhow::Result;
use rand::Rng;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::processes::{self, FarmhandSpec, Server};
use crate::report::Targets;
use crate::signer::Credentials;

#[derive(Debug, Clone)]
pub struct Options {
    pub farmhand: PathBuf,
    /// moto's `moto_server`; without it the peer baseline is skipped (and said so).
    pub moto: Option<PathBuf>,
    /// Length of each timed measurement.
    pub seconds: f64,
    /// Devices in the bench fleet, and so jobs per big run.
    pub devices: usize,
    /// Jobs in the store for the large-store read figures.
    pub stored_jobs: u64,
    pub concurrency: Vec<usize>,
    pub work: PathBuf,
    /// Sections to run; all when empty.
    pub only: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    Throughput,
    Scale,
    Store,
    Footprint,
}

impl Options {
    fn runs(&self, section: Section) -> bool {
        self.only.is_empty() || self.only.contains(&section)
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }
}

pub async fn run(options: &Options) -> Result<()> {
    let credentials = new_credentials();
    let mut targets = Targets::default();
    if options.runs(Section::Throughput) {
        let baselines = throughput::baselines(options, &credentials).await?;
        throughput::farmhand(options, &credentials, &baselines, &mut targets).await?;
    }
    if options.runs(Section::Scale) {
        scale::placement(options, &credentials, &mut targets).await?;
    }
    if options.runs(Section::Store) {
        store_size::reads(options, &credentials, &mut targets).await?;
    }
    if options.runs(Section::Footprint) {
        footprint::measure(options, &credentials, &mut targets).await?;
    }
    targets.print();
    Ok(())
}

/// A farm of `options.devices` simulated devices on a fresh data directory.
pub async fn start_farm(options: &Options, credentials: &Credentials, name: &str) -> Result<(Server, PathBuf)> {
    let data_dir = processes::scratch(&options.work, name)?;
    let server = launch_farm(options, credentials, &data_dir).await?;
    Ok((server, data_dir))
}

/// Starts (or restarts) the farm on `data_dir`: its service clock runs 1,000 times faster
/// (a simulated day of tests lasts under 90 s), the account's limits are raised so every
/// device can be busy, and per-key rate limiting is off: the bench measures the server, not
/// its throttle.
pub async fn launch_farm(options: &Options, credentials: &Credentials, data_dir: &Path) -> Result<Server> {
    let fleet = data_dir.with_extension("fleet.toml");
    crate::farm::write_fleet(&fleet, options.devices)?;
    let spec = FarmhandSpec {
        binary: &options.farmhand,
        data_dir,
        credentials,
        args: vec![
            "--fleet".into(),
            fleet.display().to_string(),
            "--time-scale".into(),
            "1000".into(),
            "--rate-limit-per-second".into(),
            "0".into(),
        ],
    };
    let server = processes::farmhand(&spec).await?;
    let mut api = crate::farm::Api::connect(server.addr, credentials).await?;
    let account = api.account_id().await?;
    let status = tokio::process::Command::new(&options.farmhand)
        .args(["account", "update", &account, "--max-concurrent-jobs"])
        .arg((options.devices * 2).to_string())
        .args(["--max-job-timeout-minutes", &crate::farm::JOB_TIMEOUT_MINUTES.to_string(), "--data-dir"])
        .arg(data_dir)
        .env_remove("FARMHAND_DATABASE_URL")
        .env("FARMHAND_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .status()
        .await?;
    anyhow::ensure!(status.success(), "farmhand account update failed");
    Ok(server)
}

/// A simulated job that stays RUNNING for over a simulated day (90 s at 1,000×). The stop
/// rules let the test in progress finish, so its tests are many and short enough (50 min
/// simulated, 3 s real) that a stopped job completes soon after.
pub fn soak_scenario() -> String {
    let tests: String =
        (0..30).map(|i| format!("  - {{name: soak-{i:02}, seconds: 3000, result: PASSED}}\n")).collect();
    format!("setup_seconds: 1\nteardown_seconds: 1\ntests:\n{tests}")
}
/// A simulated job of about a minute (60 ms at 1,000×).
pub const SHORT_SCENARIO: &str =
    "setup_seconds: 1\nteardown_seconds: 1\ntests:\n  - {name: short, seconds: 60, result: PASSED}\n";

fn new_credentials() -> Credentials {
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    let mut pick = |alphabet: &[u8], n: usize| -> String {
        (0..n).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
    };
    Credentials { access_key_id: format!("AKIA{}", pick(UPPER, 16)), secret: pick(SECRET, 40) }
}
