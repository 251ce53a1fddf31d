//! Configuration: command-line flags, then `FARMHAND_*` environment variables (clap reads
//! both), then the TOML file given by `--config`, then built-in defaults. The layering lives
//! here alone so that every command sees the same settings.

use anyhow::{Context, Result};
use clap::Args;
use domain::offering::{Catalog, Offering, Promotion};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4766";
pub const DEFAULT_DATA_DIR: &str = "./farmhand-data";
pub const DEFAULT_REGION: &str = "us-west-2";
/// AWS's upload limit for an app or test package.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Long enough for a load balancer that polls /readyz every second or two to see it fail;
/// slower pollers need more.
pub const DEFAULT_DRAIN_SECONDS: f64 = 5.0;
/// Well above what a CI pipeline's polling or a busy dashboard sends with one key, so only
/// a runaway client meets the limit.
pub const DEFAULT_RATE_LIMIT_PER_SECOND: f64 = 200.0;
pub const DEFAULT_RATE_BURST: f64 = 400.0;
/// As hyper's own default header timeout: ample for a slow link, short for a slowloris.
pub const DEFAULT_REQUEST_READ_TIMEOUT_SECONDS: f64 = 30.0;

/// Where data lives; shared by `serve` and the management commands.
#[derive(Debug, Clone, Args, Default)]
pub struct StoreArgs {
    /// Directory for the embedded SQLite database and uploaded files.
    #[arg(long, env = "FARMHAND_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…) to share state between replicas; default: SQLite in the data dir.
    #[arg(long, env = "FARMHAND_DATABASE_URL")]
    pub database_url: Option<String>,
    /// TOML configuration file.
    #[arg(long, env = "FARMHAND_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "FARMHAND_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Base URL clients reach this server at, used in upload URLs (default: http://LISTEN).
    #[arg(long, env = "FARMHAND_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// AWS region the server answers for.
    #[arg(long, env = "FARMHAND_REGION")]
    pub region: Option<String>,
    /// Fleet definition (TOML); default: the built-in demo fleet.
    #[arg(long, env = "FARMHAND_FLEET")]
    pub fleet: Option<PathBuf>,
    /// Where uploads and artifacts are kept: a directory (PATH or file:///PATH) or an S3
    /// bucket, s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION], with credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Replicas must share one. Default: DATA_DIR/blobs.
    #[arg(long, env = "FARMHAND_BLOB_STORE")]
    pub blob_store: Option<String>,
    /// Largest accepted upload, in bytes.
    #[arg(long, env = "FARMHAND_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Runs the service clock N times faster than real time (simulated jobs finish sooner;
    /// minutes are billed in simulated time).
    #[arg(long, env = "FARMHAND_TIME_SCALE")]
    pub time_scale: Option<f64>,
    /// Adds Android devices attached to this host (found with `adb` on PATH) to the fleet,
    /// and follows them being plugged in and out.
    #[arg(long, env = "FARMHAND_ADB_DISCOVERY")]
    pub adb_discovery: bool,
    /// Keeps the work directory (DATA_DIR/jobs/…) of real jobs that did not pass.
    #[arg(long, env = "FARMHAND_KEEP_FAILED_WORKSPACES")]
    pub keep_failed_workspaces: bool,
    /// Seconds between SIGTERM and SIGKILL when a job's test processes are stopped.
    #[arg(long, env = "FARMHAND_STOP_GRACE_SECONDS")]
    pub stop_grace_seconds: Option<f64>,
    /// Seconds of silence after which a device host is lost: its devices unavailable, its
    /// running jobs ERRORED (default 30).
    #[arg(long, env = "FARMHAND_HOST_TIMEOUT_SECONDS")]
    pub host_timeout_seconds: Option<f64>,
    /// Runs every job's commands as this user (farmhand must run as root to switch).
    #[arg(long, env = "FARMHAND_RUN_AS")]
    pub run_as: Option<String>,
    /// Where real jobs get their work directories; default DATA_DIR/jobs.
    #[arg(long, env = "FARMHAND_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Seconds a job's teardown (post_test) may run before it is ended (default 1800).
    #[arg(long, env = "FARMHAND_TEARDOWN_TIMEOUT_SECONDS")]
    pub teardown_timeout_seconds: Option<f64>,
    /// Seconds between two samples of a real job's processes (ListSamples; default 1).
    #[arg(long, env = "FARMHAND_SAMPLE_INTERVAL_SECONDS")]
    pub sample_interval_seconds: Option<f64>,
    /// Seconds between SIGTERM and closing the listener, while /readyz already answers 503
    /// and requests are still served (default 5).
    #[arg(long, env = "FARMHAND_DRAIN_SECONDS")]
    pub drain_seconds: Option<f64>,
    /// JSON API requests per second allowed to one access key, on each replica; over it the
    /// answer is ThrottlingException (default 200; 0 turns the limit off).
    #[arg(long, env = "FARMHAND_RATE_LIMIT_PER_SECOND")]
    pub rate_limit_per_second: Option<f64>,
    /// Requests one access key may send at once above its rate (default 400).
    #[arg(long, env = "FARMHAND_RATE_BURST")]
    pub rate_burst: Option<f64>,
    /// Seconds a client has to send a request's headers, and a JSON API request's body,
    /// before its connection is closed (default 30).
    #[arg(long, env = "FARMHAND_REQUEST_READ_TIMEOUT_SECONDS")]
    pub request_read_timeout_seconds: Option<f64>,
    /// Fixes the default account's first access key (for CI).
    #[arg(long, env = "FARMHAND_ROOT_ACCESS_KEY_ID", requires = "root_secret_access_key")]
    pub root_access_key_id: Option<String>,
    /// The secret of that key.
    #[arg(long, env = "FARMHAND_ROOT_SECRET_ACCESS_KEY", hide_env_values = true, requires = "root_access_key_id")]
    pub root_secret_access_key: Option<String>,
    /// Log lines as human-readable text or one JSON object each (default text).
    #[arg(long, env = "FARMHAND_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Makes GET /metrics require `Authorization: Bearer TOKEN` (default: open, like /healthz).
    #[arg(long, env = "FARMHAND_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

pub use host::logging::LogFormat;

/// The TOML file: every setting optional, same names as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    region: Option<String>,
    fleet: Option<PathBuf>,
    blob_store: Option<String>,
    max_upload_bytes: Option<u64>,
    time_scale: Option<f64>,
    stop_grace_seconds: Option<f64>,
    adb_discovery: Option<bool>,
    keep_failed_workspaces: Option<bool>,
    run_as: Option<String>,
    host_timeout_seconds: Option<f64>,
    work_dir: Option<PathBuf>,
    teardown_timeout_seconds: Option<f64>,
    sample_interval_seconds: Option<f64>,
    drain_seconds: Option<f64>,
    rate_limit_per_second: Option<f64>,
    rate_burst: Option<f64>,
    request_read_timeout_seconds: Option<f64>,
    root_access_key_id: Option<String>,
    root_secret_access_key: Option<String>,
    log_format: Option<LogFormat>,
    metrics_token: Option<String>,
    /// The offering catalog (`[[offerings]]`); absent: [`Catalog::demo`]. File only: a
    /// catalog is a list of tables, not something a flag spells.
    offerings: Option<Vec<Offering>>,
    /// `[[offering_promotions]]`; absent with no `offerings`: the demo catalog's.
    offering_promotions: Option<Vec<Promotion>>,
    /// `[testgrid]`: desktop browser testing's quotas and timeouts.
    testgrid: Option<TestGridFile>,
    /// `[remote_access]`: remote access sessions' idle timeout and screen.
    remote_access: Option<RemoteAccessFile>,
}

fn read_file_config(path: Option<&PathBuf>) -> Result<FileConfig> {
    let Some(path) = path else { return Ok(FileConfig::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub data_dir: PathBuf,
    pub database_url: String,
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub store: StoreConfig,
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub region: String,
    pub fleet: Option<PathBuf>,
    /// The `--blob-store` location as given; `None` for DATA_DIR/blobs.
    pub blob_store: Option<String>,
    pub max_upload_bytes: u64,
    pub time_scale: f64,
    /// SIGTERM → SIGKILL for stopped test processes (notes: default 10 s).
    pub stop_grace: std::time::Duration,
    pub adb_discovery: bool,
    pub keep_failed_workspaces: bool,
    /// The user real jobs run as (a name from the host's user database).
    pub run_as: Option<String>,
    pub work_dir: PathBuf,
    pub teardown_limit: std::time::Duration,
    pub sample_interval: std::time::Duration,
    /// Silence after which a device host is lost (real time).
    pub host_timeout: std::time::Duration,
    /// How long a replica told to stop keeps serving while reporting not-ready, so load
    /// balancers stop sending to it before its listener closes.
    pub drain: std::time::Duration,
    /// Per-access-key JSON API rate and burst; `None` when limiting is off.
    pub rate_limit: Option<(f64, f64)>,
    /// How long a client may take over a request's headers and a JSON API body.
    pub request_read_timeout: std::time::Duration,
    pub root_key: Option<(String, String)>,
    /// The bearer token `/metrics` requires; `None`: open.
    pub metrics_token: Option<String>,
    /// What PurchaseOffering sells.
    pub catalog: Catalog,
    /// Desktop browser testing: quotas, timeouts, where sessions keep their files.
    pub testgrid: crate::testgrid::GridConfig,
    /// Remote access sessions: idle timeout, simulated screens, where sessions keep files.
    pub remote_access: crate::remote_access::RemoteAccessConfig,
}

fn store_config(args: &StoreArgs, file: &FileConfig) -> StoreConfig {
    let data_dir =
        args.data_dir.clone().or_else(|| file.data_dir.clone()).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let database_url = args
        .database_url
        .clone()
        .or_else(|| file.database_url.clone())
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("farmhand.db").display()));
    StoreConfig { data_dir, database_url }
}

impl StoreArgs {
    pub fn resolve(&self) -> Result<StoreConfig> {
        Ok(store_config(self, &read_file_config(self.config.as_ref())?))
    }
}

impl ServeArgs {
    /// The log format, needed before anything logs: a config file that cannot be read is
    /// reported by [`ServeArgs::resolve`], with the default format.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
            .or_else(|| read_file_config(self.store.config.as_ref()).ok().and_then(|file| file.log_format))
            .unwrap_or_default()
    }

    pub fn resolve(&self) -> Result<ServeConfig> {
        let file = read_file_config(self.store.config.as_ref())?;
        let listen = match self.listen.or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().context("default listen address")?,
        };
        let root_key = match (
            self.root_access_key_id.clone().or(file.root_access_key_id.clone()),
            self.root_secret_access_key.clone().or(file.root_secret_access_key.clone()),
        ) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => anyhow::bail!("root_access_key_id and root_secret_access_key must be given together"),
        };
        let store = store_config(&self.store, &file);
        Ok(ServeConfig {
            listen,
            public_url: self.public_url.clone().or(file.public_url),
            region: self.region.clone().or(file.region).unwrap_or_else(|| DEFAULT_REGION.to_string()),
            fleet: self.fleet.clone().or(file.fleet),
            blob_store: self.blob_store.clone().or(file.blob_store),
            max_upload_bytes: self.max_upload_bytes.or(file.max_upload_bytes).unwrap_or(DEFAULT_MAX_UPLOAD_BYTES),
            time_scale: {
                let scale = self.time_scale.or(file.time_scale).unwrap_or(1.0);
                anyhow::ensure!(scale.is_finite() && scale > 0.0, "time_scale must be a positive number");
                scale
            },
            adb_discovery: self.adb_discovery || file.adb_discovery.unwrap_or(false),
            keep_failed_workspaces: self.keep_failed_workspaces || file.keep_failed_workspaces.unwrap_or(false),
            stop_grace: {
                let secs = self.stop_grace_seconds.or(file.stop_grace_seconds).unwrap_or(10.0);
                anyhow::ensure!(secs.is_finite() && secs >= 0.0, "stop_grace_seconds must be a non-negative number");
                std::time::Duration::from_secs_f64(secs)
            },
            teardown_limit: match self.teardown_timeout_seconds.or(file.teardown_timeout_seconds) {
                None => host::runner::DEFAULT_TEARDOWN_LIMIT,
                Some(secs) => {
                    anyhow::ensure!(
                        secs.is_finite() && secs > 0.0,
                        "teardown_timeout_seconds must be a positive number"
                    );
                    std::time::Duration::from_secs_f64(secs)
                }
            },
            sample_interval: {
                let secs = self.sample_interval_seconds.or(file.sample_interval_seconds).unwrap_or(1.0);
                // Finer than /proc's clock ticks (10 ms) a CPU figure would be mostly rounding.
                anyhow::ensure!(secs.is_finite() && secs >= 0.05, "sample_interval_seconds must be at least 0.05");
                std::time::Duration::from_secs_f64(secs)
            },
            drain: {
                let secs = self.drain_seconds.or(file.drain_seconds).unwrap_or(DEFAULT_DRAIN_SECONDS);
                anyhow::ensure!(secs.is_finite() && secs >= 0.0, "drain_seconds must be a non-negative number");
                std::time::Duration::from_secs_f64(secs)
            },
            rate_limit: {
                let rate =
                    self.rate_limit_per_second.or(file.rate_limit_per_second).unwrap_or(DEFAULT_RATE_LIMIT_PER_SECOND);
                let burst = self.rate_burst.or(file.rate_burst).unwrap_or(DEFAULT_RATE_BURST);
                anyhow::ensure!(rate.is_finite() && rate >= 0.0, "rate_limit_per_second must be a non-negative number");
                anyhow::ensure!(burst.is_finite() && burst >= 1.0, "rate_burst must be at least 1");
                (rate > 0.0).then_some((rate, burst))
            },
            request_read_timeout: {
                let secs = self
                    .request_read_timeout_seconds
                    .or(file.request_read_timeout_seconds)
                    .unwrap_or(DEFAULT_REQUEST_READ_TIMEOUT_SECONDS);
                anyhow::ensure!(
                    secs.is_finite() && secs > 0.0,
                    "request_read_timeout_seconds must be a positive number"
                );
                std::time::Duration::from_secs_f64(secs)
            },
            host_timeout: host::agent::config::seconds(
                "host_timeout_seconds",
                self.host_timeout_seconds.or(file.host_timeout_seconds),
                std::time::Duration::from_secs(30),
                false,
            )?,
            run_as: self.run_as.clone().or(file.run_as),
            work_dir: self.work_dir.clone().or(file.work_dir).unwrap_or_else(|| store.data_dir.join("jobs")),
            metrics_token: match self.metrics_token.clone().or(file.metrics_token) {
                Some(token) => {
                    // What a scraper can send back intact in an Authorization header.
                    anyhow::ensure!(
                        !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()),
                        "metrics_token must be non-empty printable ASCII without spaces"
                    );
                    Some(token)
                }
                None => None,
            },
            catalog: catalog(file.offerings, file.offering_promotions)?,
            testgrid: testgrid(file.testgrid, store.data_dir.join("testgrid"))?,
            remote_access: remote_access(file.remote_access, store.data_dir.join("remote-access"))?,
            store,
            root_key,
        })
    }
}

/// `[testgrid]` of the config file; AWS's documented quotas where absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGridFile {
    max_active_sessions: Option<u32>,
    sessions_per_second: Option<f64>,
    urls_per_second: Option<f64>,
    max_body_bytes: Option<usize>,
    idle_timeout_seconds: Option<f64>,
    max_duration_minutes: Option<f64>,
    local_browsers: Option<bool>,
}

fn testgrid(file: Option<TestGridFile>, work_dir: PathBuf) -> Result<crate::testgrid::GridConfig> {
    let file = file.unwrap_or_default();
    let mut config = crate::testgrid::GridConfig::with_work_dir(work_dir);
    let positive = |name: &str, v: f64| -> Result<f64> {
        anyhow::ensure!(v.is_finite() && v > 0.0, "[testgrid] {name} must be a positive number");
        Ok(v)
    };
    if let Some(n) = file.max_active_sessions {
        anyhow::ensure!(n >= 1, "[testgrid] max_active_sessions must be at least 1");
        config.max_active_sessions = n;
    }
    if let Some(v) = file.sessions_per_second {
        config.sessions_per_second = positive("sessions_per_second", v)?;
    }
    if let Some(v) = file.urls_per_second {
        config.urls_per_second = positive("urls_per_second", v)?;
    }
    if let Some(n) = file.max_body_bytes {
        anyhow::ensure!(n >= 1024, "[testgrid] max_body_bytes must be at least 1024");
        config.max_body_bytes = n;
    }
    if let Some(v) = file.idle_timeout_seconds {
        config.idle_timeout = std::time::Duration::from_secs_f64(positive("idle_timeout_seconds", v)?);
    }
    if let Some(local) = file.local_browsers {
        config.local_browsers = local;
    }
    if let Some(v) = file.max_duration_minutes {
        config.max_duration = std::time::Duration::from_secs_f64(60.0 * positive("max_duration_minutes", v)?);
    }
    Ok(config)
}

/// `[remote_access]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoteAccessFile {
    idle_timeout_minutes: Option<f64>,
    simulated_fps: Option<u32>,
}

fn remote_access(
    file: Option<RemoteAccessFile>,
    work_dir: PathBuf,
) -> Result<crate::remote_access::RemoteAccessConfig> {
    let file = file.unwrap_or_default();
    let mut config = crate::remote_access::RemoteAccessConfig::with_work_dir(work_dir);
    if let Some(v) = file.idle_timeout_minutes {
        anyhow::ensure!(v.is_finite() && v > 0.0, "[remote_access] idle_timeout_minutes must be a positive number");
        config.idle_timeout = std::time::Duration::from_secs_f64(60.0 * v);
    }
    if let Some(fps) = file.simulated_fps {
        anyhow::ensure!((1..=30).contains(&fps), "[remote_access] simulated_fps must be 1 to 30");
        config.simulated_fps = fps;
    }
    Ok(config)
}

/// The file's catalog, or the demo's when the file defines no offerings. Promotions
/// without offerings would be promotions of nothing, so they need `offerings` too.
fn catalog(offerings: Option<Vec<Offering>>, promotions: Option<Vec<Promotion>>) -> Result<Catalog> {
    let catalog = match (offerings, promotions) {
        (None, None) => Catalog::demo(),
        (None, Some(_)) => anyhow::bail!("offering_promotions needs offerings in the same file"),
        (Some(offerings), promotions) => Catalog { offerings, promotions: promotions.unwrap_or_default() },
    };
    catalog.validate()?;
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(file, "listen = \"127.0.0.1:9000\"\nregion = \"eu-west-1\"\nmax_upload_bytes = 10").expect("write");
        let args = ServeArgs {
            store: StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() },
            region: Some("us-east-1".into()),
            ..Default::default()
        };
        let cfg = args.resolve().expect("resolves");
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(cfg.region, "us-east-1");
        assert_eq!(cfg.max_upload_bytes, 10);
        assert!(cfg.store.database_url.starts_with("sqlite://./farmhand-data/"));
    }

    #[test]
    fn log_format_comes_from_the_flag_then_the_file_and_defaults_to_text() {
        use clap::Parser;
        #[derive(Parser)]
        struct Serve {
            #[command(flatten)]
            args: ServeArgs,
        }
        assert_eq!(ServeArgs::default().log_format(), LogFormat::Text);
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(file, "log_format = \"json\"").expect("write");
        let config = file.path().to_str().expect("utf-8 path");
        let from_file = Serve::try_parse_from(["serve", "--config", config]).expect("parses").args;
        assert_eq!(from_file.log_format(), LogFormat::Json);
        let flag = Serve::try_parse_from(["serve", "--config", config, "--log-format", "text"]).expect("parses").args;
        assert_eq!(flag.log_format(), LogFormat::Text);
        assert!(Serve::try_parse_from(["serve", "--log-format", "xml"]).is_err(), "only text and json");

        let mut bad = tempfile::NamedTempFile::new().expect("temp");
        writeln!(bad, "log_format = \"xml\"").expect("write");
        let args = ServeArgs {
            store: StoreArgs { config: Some(bad.path().to_path_buf()), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(args.log_format(), LogFormat::Text, "logging starts, so the error can be reported");
        assert!(args.resolve().is_err(), "and resolving the file reports it");
    }

    #[test]
    fn drain_defaults_to_five_seconds_and_reads_the_file() {
        assert_eq!(ServeArgs::default().resolve().expect("resolves").drain, std::time::Duration::from_secs(5));
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(file, "drain_seconds = 0.5").expect("write");
        let args = ServeArgs {
            store: StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(args.resolve().expect("resolves").drain, std::time::Duration::from_millis(500));
        let negative = ServeArgs { drain_seconds: Some(-1.0), ..Default::default() };
        assert!(negative.resolve().is_err());
    }

    #[test]
    fn blob_store_comes_from_the_flag_then_the_file() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(file, "blob_store = \"s3://from-file?region=eu-west-1\"").expect("write");
        let store = StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() };
        let from_file = ServeArgs { store: store.clone(), ..Default::default() }.resolve().expect("resolves");
        assert_eq!(from_file.blob_store.as_deref(), Some("s3://from-file?region=eu-west-1"));
        let flag = ServeArgs { store, blob_store: Some("/srv/blobs".into()), ..Default::default() };
        assert_eq!(flag.resolve().expect("resolves").blob_store.as_deref(), Some("/srv/blobs"));
        assert_eq!(ServeArgs::default().resolve().expect("resolves").blob_store, None);
    }

    #[test]
    fn rate_limit_defaults_reads_the_file_and_zero_turns_it_off() {
        let defaults = ServeArgs::default().resolve().expect("resolves");
        assert_eq!(defaults.rate_limit, Some((DEFAULT_RATE_LIMIT_PER_SECOND, DEFAULT_RATE_BURST)));
        assert_eq!(defaults.request_read_timeout, std::time::Duration::from_secs(30));
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(file, "rate_limit_per_second = 5\nrate_burst = 7\nrequest_read_timeout_seconds = 2").expect("write");
        let store = StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() };
        let from_file = ServeArgs { store: store.clone(), ..Default::default() }.resolve().expect("resolves");
        assert_eq!(from_file.rate_limit, Some((5.0, 7.0)));
        assert_eq!(from_file.request_read_timeout, std::time::Duration::from_secs(2));
        let off = ServeArgs { store, rate_limit_per_second: Some(0.0), ..Default::default() };
        assert_eq!(off.resolve().expect("resolves").rate_limit, None);
        assert!(ServeArgs { rate_burst: Some(0.0), ..Default::default() }.resolve().is_err());
    }

    #[test]
    fn metrics_token_comes_from_the_flag_then_the_file_and_must_be_header_text() {
        assert_eq!(ServeArgs::default().resolve().expect("resolves").metrics_token, None);
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(file, "metrics_token = \"from-file\"").expect("write");
        let store = StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() };
        let from_file = ServeArgs { store: store.clone(), ..Default::default() }.resolve().expect("resolves");
        assert_eq!(from_file.metrics_token.as_deref(), Some("from-file"));
        let flag = ServeArgs { store, metrics_token: Some("from-flag".into()), ..Default::default() };
        assert_eq!(flag.resolve().expect("resolves").metrics_token.as_deref(), Some("from-flag"));
        for bad in ["", "two words", "tab\there", "caf\u{e9}"] {
            let args = ServeArgs { metrics_token: Some(bad.into()), ..Default::default() };
            assert!(args.resolve().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_offering_catalog_comes_from_the_file_or_is_the_demo_one() {
        assert_eq!(ServeArgs::default().resolve().expect("resolves").catalog, Catalog::demo());
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(
            file,
            r#"
            [[offerings]]
            id = "00000000-0000-4000-8000-000000000001"
            description = "Android slot"
            platform = "ANDROID"
            type = "RECURRING"
            price = {{ amount = 100.0, currency_code = "USD", frequency = "MONTHLY" }}

            [[offering_promotions]]
            id = "HALF-OFF"
            description = "Half off"
            discount_percent = 50
            "#
        )
        .expect("write");
        let args = ServeArgs {
            store: StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() },
            ..Default::default()
        };
        let catalog = args.resolve().expect("resolves").catalog;
        assert_eq!(catalog.offerings.len(), 1);
        assert_eq!(catalog.offerings[0].price.amount, 100.0);
        assert_eq!(catalog.promotions[0].id, "HALF-OFF");

        for bad in [
            "[[offerings]]\nid = \"short\"\ndescription = \"x\"\nplatform = \"ANDROID\"\nprice = { amount = 1.0 }",
            "[[offerings]]\nid = \"00000000-0000-4000-8000-000000000001\"\ndescription = \"x\"\nplatform = \"ANDROID\"\nprice = { amount = 1.0, currency_code = \"EUR\" }",
            "[[offering_promotions]]\nid = \"HALF\"\ndescription = \"x\"\ndiscount_percent = 50",
        ] {
            let mut file = tempfile::NamedTempFile::new().expect("temp");
            writeln!(file, "{bad}").expect("write");
            let args = ServeArgs { store: StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() }, ..Default::default() };
            assert!(args.resolve().is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        writeln!(file, "lisen = \"127.0.0.1:9000\"").expect("write");
        let args = ServeArgs {
            store: StoreArgs { config: Some(file.path().to_path_buf()), ..Default::default() },
            ..Default::default()
        };
        assert!(args.resolve().is_err());
    }
}
