//! # farmhand
//!
//! A self-hosted device farm that speaks the AWS Device Farm API. `farmhand serve` runs
//! the server (the `server` crate); `farmhand agent` a device host (the `host` crate); the
//! other commands manage what the server serves, from the same store, or call its API.
//!
//! ## Layout
//! - [`cli`]: the command line, argv → the command's configuration → running it.
//! - [`client`]: the signed Device Farm API client of the user commands.
//! - [`logs`]: `farmhand logs`, a real job's output, followed live.
//! - [`watch`]: `farmhand runs watch`, a run followed to its end; [`device_list`]: `farmhand devices`.
//! - [`output`]: `--output table|json`.

mod cli;
mod client;
mod device_list;
mod logs;
mod output;
mod watch;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Parsed first: the log format is a setting. Parsing logs nothing, and prints its own
    // errors.
    let cli = cli::Cli::parse();
    host::logging::init(cli.log_format());
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
