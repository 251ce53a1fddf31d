//! # farmhand
//!
//! A self-hosted device farm that speaks the AWS Device Farm API. `farmhand serve` runs
//! the server; the other commands manage what it serves from the same store.
//!
//! ## Layout
//! - [`config`]: flags, `FARMHAND_*` variables and the TOML file, layered once.
//! - [`server`]: HTTP (axum), authentication, start-up and shutdown.
//! - [`api`]: one function per Device Farm operation.
//! - [`logs`]: `farmhand logs`, a real job's output, followed live.
//! - [`billing`]: the billing report's table and CSV.
//! - [`accounts`]: the default account and key management.
//! - [`ui`]: the web dashboard at `/ui`.

mod accounts;
mod agent;
mod agent_tokens;
mod api;
mod billing;
mod cli;
mod config;
mod logs;
mod run_as;
mod server;
mod ui;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FARMHAND_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::Cli::parse().run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, causes joined: what an operator reads in a service log. Returning
            // the error from main would print it over several lines, with a backtrace
            // whenever RUST_BACKTRACE is set.
            eprintln!("farmhand: {e:#}");
            ExitCode::FAILURE
        }
    }
}
