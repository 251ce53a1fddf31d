//! The servers under measurement, each a real child process: `farmhand serve`, the bare
//! baselines (this binary's `baseline-server`), and moto. Dropping one kills it, so a failed
//! bench leaves nothing running.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::signer::Credentials;

pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
}

impl Server {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resident memory as the kernel counts it (VmRSS), in bytes.
    pub fn rss_bytes(&self) -> Result<u64> {
        let pid = self.pid().context("process already gone")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .context("no VmRSS line")?;
        Ok(kb * 1024)
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub async fn stop(mut self, grace: Duration) -> Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
            if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}

/// How to start `farmhand serve`.
pub struct FarmhandSpec<'a> {
    pub binary: &'a Path,
    pub data_dir: &'a Path,
    pub credentials: &'a Credentials,
    pub args: Vec<String>,
}

/// Starts `farmhand serve` on a free port and waits for its "listening" line.
pub async fn farmhand(spec: &FarmhandSpec<'_>) -> Result<Server> {
    let mut command = Command::new(spec.binary);
    command.arg("serve").arg("--data-dir").arg(spec.data_dir).args(["--listen", "127.0.0.1:0"]).args(&spec.args);
    quiet_farmhand_env(&mut command, spec.credentials);
    start(command, "farmhand", "farmhand listening on http://").await
}

/// The environment every bench `farmhand serve` gets: fixed root credentials, nothing
/// inherited that would change its behaviour, and no drain delay at stop.
pub fn quiet_farmhand_env(command: &mut Command, credentials: &Credentials) {
    for (name, _) in std::env::vars() {
        if name.starts_with("FARMHAND_") || name.starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("FARMHAND_ROOT_ACCESS_KEY_ID", &credentials.access_key_id)
        .env("FARMHAND_ROOT_SECRET_ACCESS_KEY", &credentials.secret)
        .env("FARMHAND_DRAIN_SECONDS", "0")
        .env("FARMHAND_LOG", "warn");
}

/// Starts this binary's bare baseline server, with or without a SigV4 check.
pub async fn baseline(sigv4: Option<&Credentials>) -> Result<Server> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("baseline-server");
    let name = match sigv4 {
        Some(c) => {
            command.env("LOADGEN_ACCESS_KEY_ID", &c.access_key_id).env("LOADGEN_SECRET_ACCESS_KEY", &c.secret);
            command.arg("--sigv4");
            "bare axum + SigV4"
        }
        None => "bare axum",
    };
    start(command, name, crate::baseline::LISTENING).await
}

/// Starts moto's standalone server on a free port and waits until it answers.
pub async fn moto(binary: &Path) -> Result<Server> {
    let port = free_port()?;
    let mut command = Command::new(binary);
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    command.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
    let child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            bail!("moto_server did not listen on {addr} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Server { name: "moto".to_string(), addr, child })
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn start(mut command: Command, name: &str, listening_prefix: &str) -> Result<Server> {
    command.stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
    let mut child = command.spawn().with_context(|| format!("starting {name}"))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix(listening_prefix) {
                return Ok(rest.trim().parse::<SocketAddr>()?);
            }
        }
        bail!("{name} exited before listening")
    })
    .await
    .with_context(|| format!("{name} did not start within 60 s"))??;
    // Keeps draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Server { name: name.to_string(), addr, child })
}

/// A fresh scratch directory below `root`.
pub fn scratch(root: &Path, name: &str) -> Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
