//! # farmhand
//!
//! A self-hosted device farm that speaks the AWS Device Farm API. `farmhand serve` runs
//! the server; the other commands manage what it serves from the same store.
//!
//! ## Layout
//! - [`config`]: flags, `FARMHAND_*` variables and the TOML file, layered once.
//! - [`server`]: HTTP (axum), authentication, start-up and shutdown.
//! - [`api`]: one function per Device Farm operation.
//! - [`client`]: the signed Device Farm API client of the user commands.
//! - [`logs`]: `farmhand logs`, a real job's output, followed live.
//! - [`watch`]: `farmhand runs watch`, a run followed to its end; [`device_list`]: `farmhand devices`.
//! - [`output`]: `--output table|json`.
//! - [`billing`]: the billing report's table, CSV and JSON.
//! - [`accounts`]: the default account and key management.
//! - [`ui`]: the web dashboard at `/ui`.

mod accounts;
mod agent;
mod agent_tokens;
mod api;
mod billing;
mod cli;
mod client;
mod config;
mod device_list;
mod logs;
mod output;
mod run_as;
mod server;
mod ui;
mod watch;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Parsed first: the log format is a setting. Parsing logs nothing, and prints its own
    // errors.
    let cli = cli::Cli::parse();
    init_logging(cli.log_format());
    match cli.run().await {
        Ok(code) => code,
        Err(e) => {
            // One line, causes joined: what an operator reads in a service log. Returning
            // the error from main would print it over several lines, with a backtrace
            // whenever RUST_BACKTRACE is set.
            eprintln!("farmhand: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FARMHAND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: a log file or journal would keep the escapes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        config::LogFormat::Text => logs.init(),
        // The event's fields at the top level, beside the spans it was logged in.
        config::LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}
