//! `farmhand agent`'s settings: flags, then `FARMHAND_*` variables, then the TOML file
//! (`--config`), then defaults — the same layering as `serve`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::runner::RunnerConfig;
use anyhow::{bail, Context, Result};
use clap::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
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
    /// Keep the work directory of a job that did not pass, to look into it.
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
    /// PEM file of CA certificates trusted for https:// servers besides the public roots
    /// (a TLS-terminating proxy with a private CA).
    #[arg(long, env = "FARMHAND_AGENT_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// TOML file with the same settings (keys as the flags, with underscores).
    #[arg(long, env = "FARMHAND_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log lines as human-readable text or one JSON object each (default text).
    #[arg(long, env = "FARMHAND_LOG_FORMAT", value_enum)]
    pub log_format: Option<crate::logging::LogFormat>,
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
    ca_cert: Option<PathBuf>,
    log_format: Option<crate::logging::LogFormat>,
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
    /// The one TLS setup of both the WebSocket and the file transfers.
    pub tls: Arc<ClientConfig>,
    /// The desktop browsers this host offers TestGrid sessions on: the fleet file's
    /// `[[browser]]` tables, or what the machine has (none for the server's built-in host,
    /// whose server runs its own).
    pub browsers: Vec<crate::browser::BrowserSpec>,
}

/// The CA certificates of a PEM file. Each must also make a trust anchor (checked in
/// [`client_tls`]), so a wrong file stops the agent at start-up, not at its first
/// connection to an https:// server.
pub fn read_ca_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("reading the CA certificates in {}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM file of CA certificates", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate: expected PEM blocks of -----BEGIN CERTIFICATE-----", path.display());
    }
    Ok(certs)
}

/// TLS for https:// servers: the webpki roots, plus the CAs of `ca_file` if given.
pub fn client_tls(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let roots = trusted_roots(ca_file)?;
    // The provider is named because builds that also link aws-lc-rs (the tests') leave
    // rustls unable to choose one by itself.
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn trusted_roots(ca_file: Option<&Path>) -> Result<RootCertStore> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        for (n, cert) in read_ca_certs(path)?.into_iter().enumerate() {
            roots.add(cert).with_context(|| {
                format!("certificate {} in {} is not a usable CA certificate", n + 1, path.display())
            })?;
        }
    }
    Ok(roots)
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
    fn file(&self) -> Result<FileConfig> {
        Ok(match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileConfig::default(),
        })
    }

    /// The log format, needed before anything logs: a config file that cannot be read is
    /// reported by [`AgentArgs::resolve`], with the default format.
    pub fn log_format(&self) -> crate::logging::LogFormat {
        self.log_format.or_else(|| self.file().ok().and_then(|file| file.log_format)).unwrap_or_default()
    }

    pub fn resolve(&self) -> Result<AgentConfig> {
        let file = self.file()?;
        let servers: Vec<String> =
            if self.servers.is_empty() { file.servers.unwrap_or_default() } else { self.servers.clone() };
        let servers: Vec<String> =
            servers.iter().map(|s| s.trim().trim_end_matches('/').to_string()).filter(|s| !s.is_empty()).collect();
        if servers.is_empty() {
            bail!("give the server to connect to: --server http://HOST:PORT (or FARMHAND_AGENT_SERVERS)");
        }
        for server in &servers {
            let url = url::Url::parse(server).with_context(|| format!("server {server:?} is not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("server {server:?} must be an http:// or https:// URL");
            }
        }
        let token =
            self.token.clone().or(file.token).context("give the host's token: --token (or FARMHAND_AGENT_TOKEN)")?;
        let work_dir =
            self.work_dir.clone().or(file.work_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_WORK_DIR).join("jobs"));
        let run_as = match self.run_as.clone().or(file.run_as) {
            Some(name) => Some(crate::runner::run_as_user::resolve(&name, &work_dir)?),
            None => None,
        };
        let tls = client_tls(self.ca_cert.clone().or(file.ca_cert).as_deref())?;
        let runner = RunnerConfig {
            grace: seconds(
                "stop_grace_seconds",
                self.stop_grace_seconds.or(file.stop_grace_seconds),
                Duration::from_secs(10),
                true,
            )?,
            teardown_limit: seconds(
                "teardown_timeout_seconds",
                self.teardown_timeout_seconds.or(file.teardown_timeout_seconds),
                crate::runner::DEFAULT_TEARDOWN_LIMIT,
                false,
            )?,
            run_as,
            ..RunnerConfig::default()
        };
        let fleet = self.fleet.clone().or(file.fleet);
        let declared = match &fleet {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                domain::device::Fleet::from_toml(&text, "us-west-2")
                    .with_context(|| format!("fleet {}", path.display()))?
                    .browsers()
                    .to_vec()
            }
            None => Vec::new(),
        };
        let browsers = match declared.as_slice() {
            [] => crate::browser::discover(),
            declared => crate::browser::declared(declared).map_err(anyhow::Error::msg)?,
        };
        Ok(AgentConfig {
            servers,
            token,
            fleet,
            browsers,
            adb_discovery: self.adb_discovery || file.adb_discovery.unwrap_or(false),
            work_dir,
            keep_failed_workspaces: self.keep_failed_workspaces || file.keep_failed_workspaces.unwrap_or(false),
            runner,
            tls,
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
        let args = AgentArgs {
            servers: vec!["http://a:1/".into(), "https://b".into()],
            token: Some("t".into()),
            ..Default::default()
        };
        let config = args.resolve().expect("resolves");
        assert_eq!(config.servers, ["http://a:1", "https://b"]);
        assert_eq!(config.runner.grace, Duration::from_secs(10));
    }

    #[test]
    fn the_file_fills_what_flags_leave_out() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        std::io::Write::write_all(
            &mut file,
            b"servers = [\"http://s:2\"]\ntoken = \"from-file\"\nstop_grace_seconds = 0.5\n",
        )
        .expect("write");
        let args =
            AgentArgs { config: Some(file.path().to_path_buf()), token: Some("flag".into()), ..Default::default() };
        let config = args.resolve().expect("resolves");
        assert_eq!((config.servers[0].as_str(), config.token.as_str()), ("http://s:2", "flag"));
        assert_eq!(config.runner.grace, Duration::from_millis(500));
    }

    #[test]
    fn the_agent_logs_as_the_flag_then_the_file_says() {
        use crate::logging::LogFormat;
        let file = file_with("log_format = \"json\"\n");
        let from_file = AgentArgs { config: Some(file.path().to_path_buf()), ..Default::default() };
        assert_eq!(from_file.log_format(), LogFormat::Json);
        let flag = AgentArgs { log_format: Some(LogFormat::Text), ..from_file };
        assert_eq!(flag.log_format(), LogFormat::Text);
        assert_eq!(AgentArgs::default().log_format(), LogFormat::Text);
    }

    /// Two throw-away CAs (EC P-256), made with `openssl req -x509` for these tests only.
    const CA_ONE: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBljCCATugAwIBAgIUJ7RhtxC5EvjlW6v5uMWMTxxldpIwCgYIKoZIzj0EAwIw\n\
HzEdMBsGA1UEAwwUZmFybWhhbmQgdGVzdCBDQSBvbmUwIBcNMjYxMTI1MTU0MjAw\n\
WhgPMjEyNjExMDExNTQyMDBaMB8xHTAbBgNVBAMMFGZhcm1oYW5kIHRlc3QgQ0Eg\n\
b25lMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/DH22KSv9vymqMF96h4GSJ0I\n\
xm/pmcmiPX32I9Q8ZY3ywUs9uW4mh+om4YSPs8icIRGxBl+2rC/jBC/tKyAI06NT\n\
MFEwHQYDVR0OBBYEFIahABcR1eUlqf8MIvAwbFQ2MQLIMB8GA1UdIwQYMBaAFIah\n\
ABcR1eUlqf8MIvAwbFQ2MQLIMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID\n\
SQAwRgIhAN8tGdBI+V9+UXiY9ibwZYvAQwTV1/q3wia2SM+e/LdeAiEA6HFWM+l1\n\
TOnRAXAQWKYnSClSrKFgJK3OZnafCrWmqQ0=\n\
-----END CERTIFICATE-----";
    const CA_TWO: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBljCCATugAwIBAgIUEAb+YnQ2hqso2cwNzE4nE+iLJbIwCgYIKoZIzj0EAwIw\n\
HzEdMBsGA1UEAwwUZmFybWhhbmQgdGVzdCBDQSB0d28wIBcNMjYxMTI1MTU0MjAw\n\
WhgPMjEyNjExMDExNTQyMDBaMB8xHTAbBgNVBAMMFGZhcm1oYW5kIHRlc3QgQ0Eg\n\
dHdvMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPRS+kyKNs21S2shQYixnZPIL\n\
WOZblGgGFwbGfEB77VTIhV4UwftajxPcEnKf0xLRs7pagEntq9f17FS8WSCjkqNT\n\
MFEwHQYDVR0OBBYEFI8Mh520gjln0qMgG+Tp8eW71R6xMB8GA1UdIwQYMBaAFI8M\n\
h520gjln0qMgG+Tp8eW71R6xMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID\n\
SQAwRgIhAIzdCOHf2XwYgiOWFnYrXumaz0AfWAZ+405pkcSsMsYSAiEA6TrmGGkV\n\
UTdNwo6p1gIAvhFA+TVCge8PaKcftTezyRA=\n\
-----END CERTIFICATE-----";

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    fn error_of<T: std::fmt::Debug>(result: Result<T>) -> String {
        format!("{:#}", result.expect_err("fails"))
    }

    #[test]
    fn a_ca_file_adds_each_of_its_certificates_to_the_public_roots() {
        // Text around the blocks (comments, a bundle's labels) is no reason to refuse a file.
        let file = file_with(&format!("the proxy's CAs\n{CA_ONE}\nand its old one:\n{CA_TWO}\n"));
        assert_eq!(read_ca_certs(file.path()).expect("reads").len(), 2);
        let public = webpki_roots::TLS_SERVER_ROOTS.len();
        assert_eq!(trusted_roots(None).expect("roots").len(), public);
        assert_eq!(trusted_roots(Some(file.path())).expect("roots").len(), public + 2);
        client_tls(Some(file.path())).expect("a TLS setup");
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_is_refused_by_name() {
        let missing = Path::new("/nonexistent/farmhand-ca.pem");
        let error = error_of(client_tls(Some(missing)));
        assert!(error.contains("reading the CA certificates in /nonexistent/farmhand-ca.pem"), "{error}");

        for text in ["", "not PEM at all\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"] {
            let file = file_with(text);
            let error = error_of(client_tls(Some(file.path())));
            assert!(
                error.contains("holds no certificate") && error.contains(&file.path().display().to_string()),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn a_ca_file_with_a_broken_block_or_a_certificate_that_is_none_is_refused() {
        let body = CA_ONE.lines().nth(1).expect("a base64 line");
        for broken in [
            format!("-----BEGIN CERTIFICATE-----\n{body}\n"),
            "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n".to_string(),
        ] {
            let file = file_with(&format!("{CA_ONE}\n{broken}"));
            let error = error_of(client_tls(Some(file.path())));
            assert!(error.contains("is not a PEM file of CA certificates"), "{broken:?}: {error}");
        }
        // Well-formed PEM whose content ("hello") is no certificate: caught before the first
        // connection, with which block it is.
        let file = file_with(&format!("{CA_ONE}\n-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"));
        let error = error_of(client_tls(Some(file.path())));
        assert!(error.contains("certificate 2 in") && error.contains("not a usable CA certificate"), "{error}");
    }

    #[test]
    fn the_ca_file_comes_from_the_flag_or_the_config_file_and_is_read_at_resolve() {
        let bad = file_with("nothing here\n");
        let mut settings = tempfile::NamedTempFile::new().expect("temp");
        let toml =
            format!("servers = [\"https://s\"]\ntoken = \"t\"\nca_cert = {:?}\n", bad.path().display().to_string());
        std::io::Write::write_all(&mut settings, toml.as_bytes()).expect("write");
        let from_file = AgentArgs { config: Some(settings.path().to_path_buf()), ..Default::default() };
        assert!(error_of(from_file.resolve()).contains("holds no certificate"));

        let good = file_with(CA_ONE);
        let flag_wins = AgentArgs { ca_cert: Some(good.path().to_path_buf()), ..from_file };
        flag_wins.resolve().expect("the flag's file is read instead");
    }
}
