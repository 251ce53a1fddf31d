//! What `farmhand serve` costs before any work: time from exec to the first answered API
//! request, on a new data directory and on a restart, and resident memory at rest; the
//! baseline is the bare SigV4 axum server started and asked the same way.

use anyhow::{ensure, Result};
use serde_json::json;
use std::time::{Duration, Instant};

use super::Options;
use crate::http::Connection;
use crate::load::percentile;
use crate::processes::{self, FarmhandSpec, Server};
use crate::report::{ratio, Table, Targets};
use crate::signer::{Credentials, Service, DEVICE_FARM};

const STARTS: usize = 5;
/// How long a server sits idle before its memory is read.
const AT_REST: Duration = Duration::from_secs(2);

pub async fn measure(options: &Options, credentials: &Credentials, targets: &mut Targets) -> Result<()> {
    let mut fresh = Vec::new();
    let mut restart = Vec::new();
    let mut rss = Vec::new();
    for i in 0..STARTS {
        let data_dir = processes::scratch(&options.work, &format!("footprint-{i}"))?;
        let spec = FarmhandSpec { binary: &options.farmhand, data_dir: &data_dir, credentials, args: Vec::new() };
        let (server, took) = first_answer(processes::farmhand(&spec), credentials).await?;
        fresh.push(took);
        tokio::time::sleep(AT_REST).await;
        rss.push(server.rss_bytes()?);
        server.stop(Duration::from_secs(10)).await?;
        let (server, took) = first_answer(processes::farmhand(&spec), credentials).await?;
        restart.push(took);
        server.stop(Duration::from_secs(10)).await?;
    }
    let mut bare = Vec::new();
    let mut bare_rss = Vec::new();
    for _ in 0..STARTS {
        let (server, took) = first_answer(processes::baseline(Some(credentials)), credentials).await?;
        bare.push(took);
        tokio::time::sleep(AT_REST).await;
        bare_rss.push(server.rss_bytes()?);
    }

    let ms = |values: &mut Vec<Duration>| {
        values.sort();
        percentile(values, 50.0).as_secs_f64() * 1000.0
    };
    let mb = |values: &mut Vec<u64>| {
        values.sort();
        percentile(values, 50.0) as f64 / (1024.0 * 1024.0)
    };
    let (fresh_ms, restart_ms, bare_ms) = (ms(&mut fresh), ms(&mut restart), ms(&mut bare));
    let (rss_mb, bare_mb) = (mb(&mut rss), mb(&mut bare_rss));
    let mut table = Table::new(
        format!("Start-up and memory: exec to the first answered signed request, RSS after {} s at rest; median of {STARTS}", AT_REST.as_secs()),
        &["server", "first answer ms", "vs baseline", "idle RSS MB", "vs baseline"],
    );
    table.row(vec![
        "bare axum + SigV4 (baseline)".into(),
        format!("{bare_ms:.1}"),
        "1.00x".into(),
        format!("{bare_mb:.1}"),
        "1.00x".into(),
    ]);
    table.row(vec![
        "farmhand serve, new data dir, demo fleet".into(),
        format!("{fresh_ms:.1}"),
        ratio(fresh_ms, bare_ms),
        format!("{rss_mb:.1}"),
        ratio(rss_mb, bare_mb),
    ]);
    table.row(vec![
        "farmhand serve, restart".into(),
        format!("{restart_ms:.1}"),
        ratio(restart_ms, bare_ms),
        "-".into(),
        "-".into(),
    ]);
    table.print();
    targets.add(
        "cold start to first answered request (new data dir)",
        "< 200 ms",
        format!("{fresh_ms:.1} ms"),
        fresh_ms < 200.0,
    );
    targets.add("idle RSS (demo fleet)", "< 30 MB", format!("{rss_mb:.1} MB"), rss_mb < 30.0);
    Ok(())
}

/// Starts a server and sends it a signed request as soon as it says it listens; returns the
/// server and the time from exec to that request's answer.
async fn first_answer(
    start: impl std::future::Future<Output = Result<Server>>,
    credentials: &Credentials,
) -> Result<(Server, Duration)> {
    let began = Instant::now();
    let server = start.await?;
    let service = Service::new(server.addr, DEVICE_FARM, Some(credentials.clone()));
    let mut connection = Connection::open(server.addr).await?;
    let response = connection.send(&service.request("ListProjects", &json!({}))?).await?;
    let took = began.elapsed();
    ensure!(response.status == 200, "{}'s first answer was HTTP {}", server.name, response.status);
    Ok((server, took))
}
