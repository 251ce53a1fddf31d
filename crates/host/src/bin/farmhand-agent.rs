//! `farmhand-agent`: a device host on its own, for machines that run jobs but not the
//! server. The same agent as `farmhand agent`, built without the server or the store.

use clap::Parser;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "farmhand-agent",
    version,
    about = "A farmhand device host: connects to a farmhand server and runs the jobs of this machine's devices"
)]
struct Cli {
    #[command(flatten)]
    args: host::agent::AgentArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    host::logging::init(cli.args.log_format());
    match host::agent::run(cli.args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, causes joined, as `farmhand` prints it.
            eprintln!("farmhand-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}
