//! `farmhand agent`'s settings: flags, then `FARMHAND_*` variables, then the TOML file
//! (`--config`), then defaults — the same layering as `serve`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use engine::runner::RunnerConfig;
use serde::Deserialize;

pub const DEFAULT_WORK_DIR: &str = "./farmhand-agent";

#[derive(Debug, Clone, Args, Default)]
pub struct AgentArgs {
    /// A server to connect to (http://… or https://…); give several, or a comma-separated
    /// list, and the agent moves to the next when one stops answering.
    #[arg(long = "server", env = "FARMHAND_AGENT_SERVERS", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// The host's token, from `farmhand agent-token create --host NAME`.
    #[arg(long, env = "FARMHAND_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// This host's devices: a fleet file whose devices are `host`, `adb`, or `simulated`
    /// (played by this host in real time, for exercising a farm without phones).
    #[arg(long, env = "FARMHAND_FLEET")]
    pub fleet: Option<PathBuf>,
    /// Also offer the Android phones `adb devices` sees.
    #[arg(long, env = "FARMHAND_ADB_DISCOVERY")]
    pub adb_discovery: bool,
    /// Where jobs get their work directories.
    #[arg(long, env = "FARMHAND_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    #[arg(long, env = "FARMHAND_KEEP_FAILED_WORKSPACES")]
    pub keep_failed_workspaces: bool,
    /// Run the jobs' commands as this user (the agent must run as root).
    #[arg(long, env = "FARMHAND_RUN_AS")]
    pub run_as: Option<String>,
    /// Seconds between SIGTERM and SIGKILL when a job's test processes are stopped.
    #[arg(long, env = "FARMHAND_STOP_GRACE_SECONDS")]
    pub stop_grace_seconds: Option<f64>,
    /// Seconds a job's teardown may run before it is ended.
    #[arg(long, env = "FARMHAND_TEARDOWN_TIMEOUT_SECONDS")]
    pub teardown_timeout_seconds: Option<f64>,
    /// TOML file with the same settings (keys as the flags, with underscores).
    #[arg(long, env = "FARMHAND_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    servers: Option<Vec<String>>,
    token: Option<String>,
    fleet: Option<PathBuf>,
    adb_discovery: Option<bool>,
    work_dir: Option<PathBuf>,
    keep_failed_workspaces: Option<bool>,
    run_as: Option<String>,
    stop_grace_seconds: Option<f64>,
    teardown_timeout_seconds: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub servers: Vec<String>,
    pub token: String,
    pub fleet: Option<PathBuf>,
    pub adb_discovery: bool,
    pub work_dir: PathBuf,
    pub keep_failed_workspaces: bool,
    pub runner: RunnerConfig,
}

/// Seconds from the settings, checked.
pub fn seconds(name: &str, value: Option<f64>, default: Duration, allow_zero: bool) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some(s) if s.is_finite() && (s > 0.0 || (allow_zero && s == 0.0)) => Ok(Duration::from_secs_f64(s)),
        Some(_) => bail!("{name} must be a {} number of seconds", if allow_zero { "non-negative" } else { "positive" }),
    }
}

impl AgentArgs {
    pub fn resolve(&self) -> Result<AgentConfig> {
        let file: FileConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let servers: Vec<String> = if self.servers.is_empty() { file.servers.unwrap_or_default() } else { self.servers.clone() };
        let servers: Vec<String> = servers.iter().map(|s| s.trim().trim_end_matches('/').to_string()).filter(|s| !s.is_empty()).collect();
        if servers.is_empty() {
            bail!("give the server to connect to: --server http://HOST:PORT (or FARMHAND_AGENT_SERVERS)");
        }
        for server in &servers {
            let url = url::Url::parse(server).with_context(|| format!("server {server:?} is not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("server {server:?} must be an http:// or https:// URL");
            }
        }
        let token = self.token.clone().or(file.token).context("give the host's token: --token (or FARMHAND_AGENT_TOKEN)")?;
        let work_dir = self.work_dir.clone().or(file.work_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_WORK_DIR).join("jobs"));
        let run_as = match self.run_as.clone().or(file.run_as) {
            Some(name) => Some(crate::run_as::resolve(&name, &work_dir)?),
            None => None,
        };
        let runner = RunnerConfig {
            grace: seconds("stop_grace_seconds", self.stop_grace_seconds.or(file.stop_grace_seconds), Duration::from_secs(10), true)?,
            teardown_limit: seconds(
                "teardown_timeout_seconds",
                self.teardown_timeout_seconds.or(file.teardown_timeout_seconds),
                engine::runner::DEFAULT_TEARDOWN_LIMIT,
                false,
            )?,
            run_as,
            ..RunnerConfig::default()
        };
        Ok(AgentConfig {
            servers,
            token,
            fleet: self.fleet.clone().or(file.fleet),
            adb_discovery: self.adb_discovery || file.adb_discovery.unwrap_or(false),
            work_dir,
            keep_failed_workspaces: self.keep_failed_workspaces || file.keep_failed_workspaces.unwrap_or(false),
            runner,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_a_token_are_required_and_checked() {
        assert!(AgentArgs::default().resolve().is_err());
        let args = AgentArgs { servers: vec!["ftp://x".into()], token: Some("t".into()), ..Default::default() };
        assert!(args.resolve().is_err());
        let args = AgentArgs { servers: vec!["http://a:1/".into(), "https://b".into()], token: Some("t".into()), ..Default::default() };
        let config = args.resolve().expect("resolves");
        assert_eq!(config.servers, ["http://a:1", "https://b"]);
        assert_eq!(config.runner.grace, Duration::from_secs(10));
    }

    #[test]
    fn the_file_fills_what_flags_leave_out() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        std::io::Write::write_all(&mut file, b"servers = [\"http://s:2\"]\ntoken = \"from-file\"\nstop_grace_seconds = 0.5\n").expect("write");
        let args = AgentArgs { config: Some(file.path().to_path_buf()), token: Some("flag".into()), ..Default::default() };
        let config = args.resolve().expect("resolves");
        assert_eq!((config.servers[0].as_str(), config.token.as_str()), ("http://s:2", "flag"));
        assert_eq!(config.runner.grace, Duration::from_millis(500));
    }
}
