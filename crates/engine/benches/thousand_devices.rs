//! How the scheduler copes with a big farm: 1,000 simulated devices and one run of 1,000
//! jobs on them. Prints the real time the scheduler's passes take until every job is
//! RUNNING, and how long a StopRun of all of them takes (the stops recorded as the API
//! records them, then the passes until every job has settled), each also as a ratio to a
//! baseline measured in the same process on the same store: inserting and scanning 1,000
//! plain records. Simulated time is skipped with a manual clock; only real work is timed.
//!
//! Run with `cargo bench -p engine --bench thousand_devices` (SQLite in a temp dir; also
//! PostgreSQL when `FARMHAND_TEST_DATABASE_URL` is set).

#[path = "../tests/support/mod.rs"]
mod support;

use domain::account::AccountSettings;
use domain::job::status::ExecutionStatus;
use domain::run::JobPhase;
use std::time::{Duration, Instant};
use store::{Record, ScanQuery, Store};
use support::db::Backend;
use support::fleet::{fleet, DeviceSpec};
use support::{pass, plan, Farm, RunSpec, ACCOUNT, T0};

const DEVICES: usize = 1_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            bench(backend).await;
        }
    });
}

async fn bench(backend: Backend) {
    let devices: Vec<DeviceSpec> = (0..DEVICES).map(|i| DeviceSpec::android(&format!("sim-{i:04}"), 1)).collect();
    let settings = AccountSettings { max_concurrent_jobs: DEVICES as i32, ..AccountSettings::default() };
    let Some(farm) = Farm::with_settings(backend, fleet(&devices), settings).await else { return };
    println!("\n== {backend:?}: {DEVICES} devices, one run of {DEVICES} jobs ==");

    // The baseline is best of three, so one slow fsync does not skew every ratio.
    let mut baseline = Duration::MAX;
    for round in 0..3 {
        baseline = baseline.min(insert_and_scan(farm.store.as_ref(), round).await);
    }
    println!("baseline: insert + scan {DEVICES} plain records      {:>9.1} ms", ms(baseline));

    let names: Vec<String> = devices.iter().map(|d| d.id.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let scheduler = farm.scheduler();
    let started = Instant::now();
    let run = farm.schedule(RunSpec::on(&names, plan(5, &[30, 30, 30], 5))).await;
    report("ScheduleRun records (not the scheduler)", started.elapsed(), baseline);

    // Until RUNNING: the pass that assigns every device, then the pass once setup is over.
    let started = Instant::now();
    let assigning = pass(&scheduler).await;
    let assign_time = started.elapsed();
    assert_eq!(assigning.assigned, DEVICES, "every job gets its device in one pass");
    let running_from = T0 + farm.prep.total_ms() + 5_000;
    farm.clock.set(running_from);
    let started = Instant::now();
    pass(&scheduler).await;
    let idle_time = started.elapsed();
    let until_running = assign_time + idle_time;
    report("until all RUNNING (2 passes)", until_running, baseline);
    report("  the pass assigning 1,000 devices", assign_time, baseline);
    report("  a pass over 1,000 running jobs", idle_time, baseline);
    let started = Instant::now();
    let all_running = all_jobs_have_status(&farm, &run.jobs, ExecutionStatus::Running).await;
    report("  reading every job's status (GetJob x1000)", started.elapsed(), baseline);
    assert!(all_running, "every job is RUNNING");

    // StopRun during the first test: the test finishes, teardown runs, then all settle.
    let stop_at = running_from + 10_000;
    farm.clock.set(stop_at);
    let started = Instant::now();
    for job in &run.jobs {
        assert!(farm.stop(job).await, "stop recorded");
    }
    let recording = started.elapsed();
    let started = Instant::now();
    pass(&scheduler).await;
    farm.clock.set(running_from + 30_000 + 5_000);
    let settling = pass(&scheduler).await;
    let passes = started.elapsed();
    assert_eq!(settling.settled, DEVICES, "every job settles in the pass after teardown");
    report("StopRun of 1,000 jobs until all settled", recording + passes, baseline);
    report("  recording 1,000 stops (as StopRun does)", recording, baseline);
    report("  passes until all settled (2 passes)", passes, baseline);

    assert_eq!(farm.ledger().await.len(), DEVICES);
    assert!(farm.jobs(Some(JobPhase::Active)).await.is_empty());
}

/// Inserts `DEVICES` records with a body the size of a job's, then scans them back in
/// pages as the scheduler does.
async fn insert_and_scan(store: &dyn Store, round: usize) -> Duration {
    // A kind the bench's farm never stores, and a status of this round's own: each round
    // scans exactly its own records.
    let kind = domain::arn::ResourceKind::Artifact;
    let status = format!("BASELINE{round}");
    let body = serde_json::json!({ "padding": "x".repeat(1_500) });
    let started = Instant::now();
    for i in 0..DEVICES {
        let record = Record {
            arn: format!("arn:aws:devicefarm:us-west-2:{ACCOUNT}:artifact:baseline{round}/{i:05}"),
            account_id: ACCOUNT.to_owned(),
            kind: kind.into(),
            parent_arn: None,
            name: format!("record {i}"),
            status: Some(status.clone()),
            created_ms: T0,
            version: 0,
            body: body.clone(),
        };
        store.insert(&record).await.expect("insert baseline record");
    }
    let mut query = ScanQuery::with_status(kind, [status.as_str()], 500);
    let mut seen = 0;
    loop {
        let page = store.scan(&query).await.expect("scan baseline records");
        seen += page.records.len();
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, DEVICES);
    started.elapsed()
}

async fn all_jobs_have_status(farm: &Farm, jobs: &[String], status: ExecutionStatus) -> bool {
    let mut all = true;
    for job in jobs {
        all &= farm.snapshot(job).await.status == status;
    }
    all
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn report(what: &str, took: Duration, baseline: Duration) {
    println!("{what:<48} {:>9.1} ms  {:>6.2}x baseline", ms(took), took.as_secs_f64() / baseline.as_secs_f64());
}
