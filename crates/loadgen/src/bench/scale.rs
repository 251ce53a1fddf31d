//! One ScheduleRun onto every device of a 1,000-device fleet until ListJobs shows all jobs
//! RUNNING, then one StopRun until all are COMPLETED; the baseline is the same for a single
//! device, so the ratio says what the other 999 cost.

use anyhow::Result;
use serde_json::json;
use std::time::{Duration, Instant};

use super::{soak_scenario, start_farm, Options};
use crate::farm::{status, Api};
use crate::load::percentile;
use crate::report::{ratio, Table, Targets};
use crate::signer::Credentials;

const ROUNDS: usize = 3;

struct Round {
    answered: Duration,
    running: Duration,
    /// Until no job shows RUNNING: each is STOPPING (its test in progress may finish, by the
    /// stop rules) or already COMPLETED.
    stopping: Duration,
    stopped: Duration,
}

pub async fn placement(options: &Options, credentials: &Credentials, targets: &mut Targets) -> Result<()> {
    let (server, _data_dir) = start_farm(options, credentials, "scale").await?;
    let mut api = Api::connect(server.addr, credentials).await?;
    let project = api.create_project("scale").await?;
    let soak = api.sim_package(&project, &soak_scenario()).await?;

    let mut single = Vec::new();
    let mut fleet = Vec::new();
    for round in 0..ROUNDS {
        single.push(place_and_stop(&mut api, &project, &soak, &format!("one-{round}"), 1).await?);
        fleet.push(place_and_stop(&mut api, &project, &soak, &format!("all-{round}"), options.devices).await?);
    }

    let median = |rounds: &[Round], of: fn(&Round) -> Duration| -> f64 {
        let mut values: Vec<f64> = rounds.iter().map(|r| of(r).as_secs_f64() * 1000.0).collect();
        values.sort_by(f64::total_cmp);
        percentile(&values, 50.0)
    };
    let mut table = Table::new(
        format!(
            "Placement and StopRun: ms from the call until ListJobs shows every job there; median of {ROUNDS} rounds"
        ),
        &[
            "run",
            "ScheduleRun answered",
            "all RUNNING",
            "vs 1 device",
            "StopRun -> none RUNNING",
            "vs 1 device",
            "-> all COMPLETED",
            "RUNNING, each round",
        ],
    );
    let base_running = median(&single, |r| r.running);
    let base_stopping = median(&single, |r| r.stopping);
    for (name, rounds) in
        [("1 device (baseline)".to_string(), &single), (format!("{} devices", options.devices), &fleet)]
    {
        let running = median(rounds, |r| r.running);
        let stopping = median(rounds, |r| r.stopping);
        let each: Vec<String> = rounds.iter().map(|r| format!("{:.0}", r.running.as_secs_f64() * 1000.0)).collect();
        table.row(vec![
            name,
            format!("{:.0}", median(rounds, |r| r.answered)),
            format!("{running:.0}"),
            ratio(running, base_running),
            format!("{stopping:.0}"),
            ratio(stopping, base_stopping),
            format!("{:.0}", median(rounds, |r| r.stopped)),
            each.join(" "),
        ]);
    }
    table.print();
    let running = median(&fleet, |r| r.running);
    targets.add(
        format!("ScheduleRun onto {} devices -> all RUNNING", options.devices),
        "< 1000 ms",
        format!("{running:.0} ms"),
        running < 1000.0,
    );
    server.stop(Duration::from_secs(10)).await?;
    Ok(())
}

async fn place_and_stop(api: &mut Api, project: &str, package: &str, name: &str, devices: usize) -> Result<Round> {
    let timeout = Duration::from_secs(300);
    let started = Instant::now();
    let run = api.schedule(project, package, name, devices).await?;
    let answered = started.elapsed();
    let running = api.wait_jobs(&run, devices, started, timeout, |j| status(j) == "RUNNING").await?;
    let stop_started = Instant::now();
    api.call("StopRun", json!({"arn": run})).await?;
    let stopping = api.wait_jobs(&run, devices, stop_started, timeout, |j| status(j) != "RUNNING").await?;
    let stopped = api.wait_jobs(&run, devices, stop_started, timeout, |j| status(j) == "COMPLETED").await?;
    Ok(Round { answered, running, stopping, stopped })
}
