//! Log lines on standard error, as `farmhand serve`, `farmhand agent` and `farmhand-agent`
//! write them: `FARMHAND_LOG` filters (default `info`), `--log-format` shapes.

use serde::Deserialize;
use std::io::IsTerminal;

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line, with the fields of the spans it was logged in (a request's
    /// `request_id` among them), for log pipelines.
    Json,
}

pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FARMHAND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: a log file or journal would keep the escapes.
    let ansi = std::io::stderr().is_terminal();
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => logs.init(),
        // The event's fields at the top level, beside the spans it was logged in.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}
