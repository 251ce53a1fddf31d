//! farmhand's load generator. `bench` measures a real `farmhand serve` against baselines run
//! in the same process (see BENCHMARKS.md; `./scripts/bench` builds and runs it);
//! `baseline-server` is the bare server the bench starts as a child.

mod baseline;
mod bench;
mod farm;
mod http;
mod load;
mod moto;
mod processes;
mod report;
mod seed;
mod signer;

use anyhow::{ensure, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "farmhand-loadgen", about = "Benchmarks farmhand against baselines measured in the same run.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every benchmark and prints each figure with its ratio to a baseline, then the targets.
    Bench {
        /// The farmhand binary to measure (a release build).
        #[arg(long, default_value = "target/release/farmhand")]
        farmhand: PathBuf,
        /// moto's `moto_server`, for the peer baseline.
        #[arg(long)]
        moto: Option<PathBuf>,
        /// Seconds of each timed measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Simulated devices in the bench fleet (and jobs per large run).
        #[arg(long, default_value_t = 1000)]
        devices: usize,
        /// Jobs in the store for the large-store reads.
        #[arg(long, default_value_t = 1_000_000)]
        stored_jobs: u64,
        /// Concurrency levels (clients, each on its own connection).
        #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
        concurrency: Vec<usize>,
        /// Runs only these sections (default: all).
        #[arg(long, value_enum, value_delimiter = ',')]
        only: Vec<bench::Section>,
        /// Where data directories go (default: a temporary directory removed at the end).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// A bare axum server answering `{}` (the bench's baseline; prints its address).
    #[command(hide = true)]
    BaselineServer {
        /// Verify each request's SigV4 signature first (key from LOADGEN_ACCESS_KEY_ID /
        /// LOADGEN_SECRET_ACCESS_KEY).
        #[arg(long)]
        sigv4: bool,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::BaselineServer { sigv4 } => baseline::serve(sigv4).await,
        Command::Bench { farmhand, moto, seconds, devices, stored_jobs, concurrency, only, work_dir } => {
            ensure!(farmhand.exists(), "{} does not exist: cargo build --release -p farmhand", farmhand.display());
            ensure!(
                !concurrency.is_empty() && concurrency.iter().all(|&c| c > 0),
                "--concurrency needs positive levels"
            );
            ensure!(devices > 0 && seconds > 0.0, "--devices and --seconds must be positive");
            let scratch = tempfile::tempdir()?;
            let work = work_dir.unwrap_or_else(|| scratch.path().to_path_buf());
            std::fs::create_dir_all(&work)?;
            let options = bench::Options {
                farmhand: std::fs::canonicalize(farmhand)?,
                moto,
                seconds,
                devices,
                stored_jobs,
                concurrency,
                work,
                only,
            };
            // Interrupted, the bench future is dropped, and with it every server it started
            // (each is killed on drop): none is left running to skew the next bench.
            let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                result = bench::run(&options) => result,
                _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
                _ = terminate.recv() => anyhow::bail!("terminated"),
            }
        }
    }
}
