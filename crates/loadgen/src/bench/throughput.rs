//! Requests per second and latency of farmhand's operations next to the physical limit of
//! its stack (bare axum, with and without the SigV4 check) and next to moto, all driven by
//! the same load generator at the same concurrency.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{soak_scenario, start_farm, Options, SHORT_SCENARIO};
use crate::farm::{schedule_body, status, Api};
use crate::load::{drive, Amount, MakeRequest, Stats};
use crate::processes;
use crate::report::{load_cells, ratio, Table, Targets};
use crate::signer::{Credentials, Service, DEVICE_FARM, ECS};

pub struct Baselines {
    pub bare_sigv4: Vec<Stats>,
    /// `None` when moto_server was not given.
    pub moto: Option<Vec<Stats>>,
}

const SCHEDULE_RUNS_PER_LEVEL: u64 = 300;

const HEADER: &[&str] = &["operation", "clients", "req/s", "p50 ms", "p99 ms", "non-200", "vs SigV4 axum", "vs moto"];

/// A StopJob body of the real size, for the servers that do not look inside it.
fn stand_in_stop_body() -> Value {
    json!({"arn": "arn:aws:devicefarm:us-west-2:123456789012:job:8d3bd2b6-1a2b-4c5d-8e9f-0a1b2c3d4e5f/5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c/00000"})
}

/// Every request of a load asks the same thing.
fn same(service: Service, operation: &'static str, body: Value) -> MakeRequest {
    Arc::new(move |_| service.request(operation, &body))
}

/// Request `n` names the `n`-th item of `items`, spread so that neighbours differ.
fn spread(service: Service, operation: &'static str, items: Vec<Value>) -> MakeRequest {
    Arc::new(move |n| service.request(operation, &items[((n.wrapping_mul(7919)) % items.len() as u64) as usize]))
}

pub async fn baselines(options: &Options, credentials: &Credentials) -> Result<Baselines> {
    let bare_server = processes::baseline(None).await?;
    let signed_server = processes::baseline(Some(credentials)).await?;
    let window = Amount::For(options.window());
    let mut bare = Vec::new();
    let mut bare_sigv4 = Vec::new();
    for &c in &options.concurrency {
        let unsigned = Service::new(bare_server.addr, DEVICE_FARM, None);
        bare.push(drive(bare_server.addr, c, window, same(unsigned, "StopJob", stand_in_stop_body())).await?);
        let signed = Service::new(signed_server.addr, DEVICE_FARM, Some(credentials.clone()));
        bare_sigv4.push(drive(signed_server.addr, c, window, same(signed, "StopJob", stand_in_stop_body())).await?);
    }
    drop((bare_server, signed_server));

    let moto = match &options.moto {
        None => None,
        Some(binary) => {
            let server = processes::moto(binary).await?;
            let service = Service::new(server.addr, ECS, Some(credentials.clone()));
            let body = crate::moto::stop_task_body(&service).await.context("setting up moto's ECS task")?;
            let mut stats = Vec::new();
            for &c in &options.concurrency {
                stats.push(drive(server.addr, c, window, same(service.clone(), "StopTask", body.clone())).await?);
            }
            Some(stats)
        }
    };

    let mut table = Table::new(format!("Baselines: the same load generator, {:.0} s per row", options.seconds), HEADER);
    for (i, &c) in options.concurrency.iter().enumerate() {
        let mut add = |name: &str, stats: &Stats| {
            let mut cells = vec![name.to_string(), c.to_string()];
            cells.extend(load_cells(stats));
            cells.push(ratio(stats.per_second(), bare_sigv4[i].per_second()));
            cells.push(moto.as_ref().map_or("-".to_string(), |m| ratio(stats.per_second(), m[i].per_second())));
            table.row(cells);
        };
        add("bare axum {} (no auth)", &bare[i]);
        add("bare axum {} + SigV4 check", &bare_sigv4[i]);
        if let Some(m) = &moto {
            add("moto ECS StopTask", &m[i]);
        }
    }
    table.print();
    if moto.is_none() {
        println!("  (moto baseline skipped: no --moto given)");
    }
    Ok(Baselines { bare_sigv4, moto })
}

pub async fn farmhand(
    options: &Options,
    credentials: &Credentials,
    baselines: &Baselines,
    targets: &mut Targets,
) -> Result<()> {
    let (server, _data_dir) = start_farm(options, credentials, "throughput").await?;
    let mut api = Api::connect(server.addr, credentials).await?;
    let project = api.create_project("throughput").await?;
    let soak = api.sim_package(&project, &soak_scenario()).await?;
    let short = api.sim_package(&project, SHORT_SCENARIO).await?;
    let service = Service::new(server.addr, DEVICE_FARM, Some(credentials.clone()));
    let settle_timeout = Duration::from_secs(300);

    // StopJob on running jobs: each request stops a job no one stopped before, so each level
    // gets a fresh run with a job RUNNING on every device.
    let mut stop_running = Vec::new();
    let mut runs = Vec::new();
    for (level, &c) in options.concurrency.iter().enumerate() {
        let run = api.schedule(&project, &soak, &format!("stop-running-{level}"), options.devices).await?;
        api.wait_jobs(&run, options.devices, Instant::now(), settle_timeout, |j| status(j) == "RUNNING").await?;
        let jobs: Vec<Value> = api.jobs(&run).await?.iter().map(|j| json!({"arn": j["arn"]})).collect();
        let count = jobs.len() as u64;
        let make: MakeRequest = {
            let service = service.clone();
            Arc::new(move |n| service.request("StopJob", &jobs[n as usize]))
        };
        stop_running.push(drive(server.addr, c, Amount::Requests(count), make).await?);
        api.wait_jobs(&run, options.devices, Instant::now(), settle_timeout, |j| status(j) == "COMPLETED").await?;
        runs.push(run);
    }

    let mut completed_jobs = Vec::new();
    for run in &runs {
        completed_jobs.extend(api.jobs(run).await?.iter().map(|j| json!({"arn": j["arn"]})));
    }
    let run_bodies: Vec<Value> = runs.iter().map(|r| json!({"arn": r})).collect();
    let window = Amount::For(options.window());
    let mut rows: Vec<(&str, Vec<Stats>)> = vec![("StopJob, running job", stop_running)];
    let steady = [
        ("StopJob, completed job", "StopJob", &completed_jobs),
        ("GetJob", "GetJob", &completed_jobs),
        ("ListJobs (first page)", "ListJobs", &run_bodies),
    ];
    for (name, operation, items) in steady {
        let mut stats = Vec::new();
        for &c in &options.concurrency {
            stats.push(drive(server.addr, c, window, spread(service.clone(), operation, items.clone())).await?);
        }
        rows.push((name, stats));
    }

    // A fixed number of runs per level, not a time window: every run made is work the
    // scheduler must then do, and a backlog that grows with the machine's speed would make
    // the levels incomparable.
    let mut schedule = Vec::new();
    for (level, &c) in options.concurrency.iter().enumerate() {
        let body = schedule_body(&project, &short, &format!("schedule-{level}"), 1);
        let runs = Amount::Requests(SCHEDULE_RUNS_PER_LEVEL);
        schedule.push(drive(server.addr, c, runs, same(service.clone(), "ScheduleRun", body)).await?);
        // The runs just made finish before the next level is measured.
        quiesce(&mut api, &project).await?;
    }
    rows.push(("ScheduleRun (1 device)", schedule));

    let mut table = Table::new(
        format!(
            "farmhand serve (release, SQLite), {} simulated devices; {:.0} s per row, StopJob on running jobs: one request per job of a {}-job run; ScheduleRun: {SCHEDULE_RUNS_PER_LEVEL} runs",
            options.devices, options.seconds, options.devices
        ),
        HEADER,
    );
    for (name, stats) in &rows {
        for (i, s) in stats.iter().enumerate() {
            let mut cells = vec![name.to_string(), options.concurrency[i].to_string()];
            cells.extend(load_cells(s));
            cells.push(ratio(s.per_second(), baselines.bare_sigv4[i].per_second()));
            cells.push(baselines.moto.as_ref().map_or("-".to_string(), |m| ratio(s.per_second(), m[i].per_second())));
            table.row(cells);
        }
    }
    table.print();

    let top = options.concurrency.len() - 1;
    let top_c = options.concurrency[top];
    let stop_completed = &rows[1].1[top];
    let stop_running = &rows[0].1[top];
    let sigv4 = &baselines.bare_sigv4[top];
    targets.add(
        format!("StopJob req/s vs bare axum + SigV4 (c={top_c})"),
        ">= 0.5x",
        format!(
            "{:.0} / {:.0} = {}",
            stop_completed.per_second(),
            sigv4.per_second(),
            ratio(stop_completed.per_second(), sigv4.per_second())
        ),
        stop_completed.per_second() >= 0.5 * sigv4.per_second(),
    );
    match &baselines.moto {
        Some(moto) => targets.add(
            format!("StopJob req/s vs moto StopTask (c={top_c})"),
            ">= 20x",
            format!(
                "{:.0} / {:.0} = {}",
                stop_completed.per_second(),
                moto[top].per_second(),
                ratio(stop_completed.per_second(), moto[top].per_second())
            ),
            stop_completed.per_second() >= 20.0 * moto[top].per_second(),
        ),
        None => targets.add(
            format!("StopJob req/s vs moto StopTask (c={top_c})"),
            ">= 20x",
            "not measured (no --moto)",
            false,
        ),
    }
    for (what, stats) in [("StopJob p99, completed job", stop_completed), ("StopJob p99, running job", stop_running)] {
        targets.add(
            format!("{what} (c={top_c})"),
            "< 5 ms",
            format!("{:.2} ms", stats.percentile_ms(99.0)),
            stats.percentile_ms(99.0) < 5.0,
        );
    }
    let failures: u64 = rows.iter().flat_map(|(_, s)| s.iter().map(|s| s.failures)).sum();
    anyhow::ensure!(
        failures == 0,
        "{failures} farmhand requests were not answered 200: the figures above are not valid"
    );
    server.stop(Duration::from_secs(10)).await?;
    Ok(())
}

/// Waits until every run of the project has finished.
async fn quiesce(api: &mut Api, project: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut token: Option<String> = None;
        let mut busy = 0;
        loop {
            let mut body = json!({"arn": project});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let page = api.call("ListRuns", body).await?;
            busy += page["runs"].as_array().map_or(0, |runs| runs.iter().filter(|r| status(r) != "COMPLETED").count());
            token = page.get("nextToken").and_then(Value::as_str).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if busy == 0 {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{busy} runs still not finished after 300 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
