//! GetJob and ListJobs with a thousand jobs stored, then with a million: the same server,
//! the same data directory, grown in between by [`crate::seed`]. Reads that stay fast only
//! because the table is small (a missing index, a scan) show up as the ratio.

use anyhow::Result;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{launch_farm, start_farm, Options, SHORT_SCENARIO};
use crate::farm::{status, Api};
use crate::load::{drive, Amount, MakeRequest, Stats};
use crate::report::{load_cells, ratio, Table, Targets};
use crate::signer::{Credentials, Service, DEVICE_FARM};

/// Concurrency of the read measurements: enough clients to keep both cores busy.
const CLIENTS: usize = 16;
/// ARNs sampled from the store for the reads.
const SAMPLES: u64 = 20_000;

struct Reads {
    jobs_stored: u64,
    get_job: Stats,
    list_jobs: Stats,
}

pub async fn reads(options: &Options, credentials: &Credentials, targets: &mut Targets) -> Result<()> {
    let (server, data_dir) = start_farm(options, credentials, "store").await?;
    let mut api = Api::connect(server.addr, credentials).await?;
    let project = api.create_project("store").await?;
    let package = api.sim_package(&project, SHORT_SCENARIO).await?;
    let run = api.schedule(&project, &package, "original", options.devices).await?;
    api.wait_jobs(&run, options.devices, Instant::now(), Duration::from_secs(300), |j| status(j) == "COMPLETED")
        .await?;
    let jobs: Vec<String> =
        api.jobs(&run).await?.iter().filter_map(|j| j["arn"].as_str().map(str::to_string)).collect();
    let small = measure(options, credentials, &server, options.devices as u64, &run, &jobs, 0).await?;
    server.stop(Duration::from_secs(30)).await?;

    let copies = options.stored_jobs.div_ceil(options.devices as u64).saturating_sub(1);
    let seeding = Instant::now();
    let stored = crate::seed::copy_run(&data_dir.join("farmhand.db"), &run, copies).await?;
    println!(
        "\n  (stored {stored} jobs: {copies} copies of a {}-job run in one transaction, {:.1} s)",
        options.devices,
        seeding.elapsed().as_secs_f64()
    );
    let server = launch_farm(options, credentials, &data_dir).await?;
    let large = measure(options, credentials, &server, stored, &run, &jobs, copies).await?;
    server.stop(Duration::from_secs(30)).await?;

    let mut table = Table::new(
        format!(
            "Reads by stored jobs, {CLIENTS} clients, {:.0} s per row, random jobs / runs of the whole store",
            options.seconds
        ),
        &["operation", "jobs stored", "req/s", "p50 ms", "p99 ms", "non-200", "p99 vs 1k"],
    );
    for (name, of) in [
        ("GetJob", (|r: &Reads| &r.get_job) as fn(&Reads) -> &Stats),
        ("ListJobs (first page)", |r: &Reads| &r.list_jobs),
    ] {
        for reads in [&small, &large] {
            let stats = of(reads);
            let mut cells = vec![name.to_string(), reads.jobs_stored.to_string()];
            cells.extend(load_cells(stats));
            cells.push(ratio(stats.percentile_ms(99.0), of(&small).percentile_ms(99.0)));
            table.row(cells);
        }
        let (p_small, p_large) = (of(&small).percentile_ms(99.0), of(&large).percentile_ms(99.0));
        targets.add(
            format!("{name} p99 at {} jobs vs {} jobs", large.jobs_stored, small.jobs_stored),
            "<= 1.5x",
            format!("{p_large:.2} / {p_small:.2} ms = {}", ratio(p_large, p_small)),
            p_large <= 1.5 * p_small,
        );
    }
    table.print();
    let failures =
        small.get_job.failures + small.list_jobs.failures + large.get_job.failures + large.list_jobs.failures;
    anyhow::ensure!(failures == 0, "{failures} reads were not answered 200: the figures above are not valid");
    Ok(())
}

async fn measure(
    options: &Options,
    credentials: &Credentials,
    server: &crate::processes::Server,
    jobs_stored: u64,
    run: &str,
    jobs: &[String],
    copies: u64,
) -> Result<Reads> {
    let run_id = run.rsplit('/').next().unwrap_or_default().to_string();
    let sample = |i: u64| i.wrapping_mul(2_654_435_761) % (copies + 1);
    let job_bodies: Vec<Value> = (0..SAMPLES)
        .map(|i| json!({"arn": crate::seed::arn_in_copy(&jobs[(i as usize * 7919) % jobs.len()], &run_id, sample(i))}))
        .collect();
    let run_bodies: Vec<Value> =
        (0..SAMPLES).map(|i| json!({"arn": crate::seed::arn_in_copy(run, &run_id, sample(i))})).collect();
    let service = Service::new(server.addr, DEVICE_FARM, Some(credentials.clone()));
    let cycle = |operation: &'static str, bodies: Vec<Value>| -> MakeRequest {
        let service = service.clone();
        Arc::new(move |n| service.request(operation, &bodies[(n % bodies.len() as u64) as usize]))
    };
    // Both stores are read once for a second first: the big one was just written, the small
    // one just reopened, and neither figure should be a cold page cache.
    drive(server.addr, CLIENTS, Amount::For(Duration::from_secs(1)), cycle("GetJob", job_bodies.clone())).await?;
    let window = Amount::For(options.window());
    let get_job = drive(server.addr, CLIENTS, window, cycle("GetJob", job_bodies)).await?;
    let list_jobs = drive(server.addr, CLIENTS, window, cycle("ListJobs", run_bodies)).await?;
    Ok(Reads { jobs_stored, get_job, list_jobs })
}
