//! The scheduler over a real store (SQLite always, PostgreSQL when
//! `FARMHAND_TEST_DATABASE_URL` is set), with a clock the test moves by hand: jobs move
//! through their statuses, wait for devices and account slots, stop, time out and settle
//! exactly once, also with two replicas and across a restart.

mod support;

use domain::job::status::{ExecutionResult, ExecutionStatus};
use domain::run::{JobPhase, WaitReason};
use engine::scheduler::{Scheduler, SettleObserver};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use support::db::Backend;
use support::fleet::DeviceSpec;
use support::{pass, plan, uninterrupted_seconds, Farm, RunSpec, T0};

/// Each case runs once per backend; the PostgreSQL one passes trivially when no server is
/// configured.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$case(super::Backend::Postgres).await
            }
        }
    )*};
}

on_every_backend!(
    a_job_goes_through_every_status_and_settles_once,
    a_busy_device_keeps_the_next_job_waiting_until_teardown_ends_fifo_across_runs,
    the_account_concurrency_limit_keeps_metered_jobs_waiting,
    unmetered_jobs_wait_for_their_platforms_slots,
    purchased_slots_add_to_the_platforms_unmetered_devices_from_the_purchase_on,
    a_job_stopped_before_it_has_a_device_settles_unbilled_and_never_gets_one,
    a_job_stopped_during_its_tests_releases_the_device_at_teardown_end,
    a_long_test_stopped_in_progress_frees_the_device_at_stop_plus_grace_plus_teardown,
    a_job_stopped_before_setup_releases_the_device_at_once,
    a_stop_read_before_the_assignment_still_ends_the_job_unbilled,
    a_job_past_its_timeout_ends_errored_after_teardown,
    the_loop_passes_when_woken_and_ends_on_shutdown,
    a_restarted_scheduler_continues_where_the_old_one_stopped,
    replicas_racing_never_give_one_instance_to_two_jobs,
    replicas_racing_never_exceed_the_concurrency_limit,
    a_stalled_replica_is_replaced_and_fenced_off,
    two_replicas_and_a_restart_settle_every_job_once_and_bill_it_right,
);

/// `solo` has one instance, `duo` two; `tablet` is the one iOS device.
fn small_fleet() -> Vec<DeviceSpec> {
    vec![DeviceSpec::android("solo", 1), DeviceSpec::android("duo", 2), DeviceSpec::ios("tablet", 1)]
}

/// Setup 5 s, three tests of 10 s, teardown 5 s: 40 s on the device.
fn default_plan() -> domain::job::plan::JobPlan {
    plan(5, &[10, 10, 10], 5)
}

/// When a job assigned at `assigned` starts setup (the farm's PROCESSING, SCHEDULING and
/// PREPARING last 4 s together).
fn setup_start(farm: &Farm, assigned: i64) -> i64 {
    assigned + farm.prep.total_ms()
}

/// No two ACTIVE jobs hold the same instance right now.
async fn assert_no_instance_held_twice(farm: &Farm) {
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (record, job) in farm.jobs(Some(JobPhase::Active)).await {
        let instance = job.instance_arn.clone().unwrap_or_else(|| panic!("active job {} has no instance", record.arn));
        holders.entry(instance).or_default().push(record.arn);
    }
    for (instance, jobs) in holders {
        assert_eq!(jobs.len(), 1, "instance {instance} is held by {} active jobs: {jobs:?}", jobs.len());
    }
}

async fn a_job_goes_through_every_status_and_settles_once(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    let run = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    let job = &run.jobs[0];
    assert_eq!(farm.snapshot(job).await.status, ExecutionStatus::Pending);

    // As the server's loop does: a pass, then on to the next instant the pass names.
    let mut seen = Vec::new();
    let mut settled = 0;
    for _ in 0..50 {
        let report = pass(&scheduler).await;
        settled += report.settled;
        let status = farm.snapshot(job).await.status;
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        match report.next_change_ms {
            Some(next) => {
                assert!(next > farm.clock.now(), "the next change must lie ahead");
                farm.clock.set(next);
            }
            None => break,
        }
    }
    use ExecutionStatus::*;
    assert_eq!(seen, [Processing, Scheduling, Preparing, Running, Completed]);
    let end = setup_start(&farm, T0) + 40_000;
    assert_eq!(farm.clock.now(), end, "settled at the end of teardown");
    assert_eq!(settled, 1);

    let (record, stored) = farm.job(job).await;
    assert_eq!(record.status.as_deref(), Some("SETTLED"));
    assert_eq!(stored.phase, JobPhase::Settled);
    assert_eq!(stored.settled_ms, Some(end));
    assert_eq!(stored.assigned_ms, Some(T0));
    assert_eq!(stored.instance_arn.as_deref(), Some(farm.device("solo").instances[0].arn.as_str()));

    let snapshot = farm.snapshot(job).await;
    assert_eq!((snapshot.status, snapshot.result), (Completed, ExecutionResult::Passed));
    assert_eq!(snapshot.billed_seconds, 40);
    assert_eq!(snapshot.device_released_ms, Some(end));
    let ledger = farm.ledger_of(job).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].seconds, snapshot.billed_seconds);
    assert_eq!(ledger[0].billing_method, "METERED");
    assert_eq!(ledger[0].run_arn, run.arn);
    assert_eq!((ledger[0].started_ms, ledger[0].settled_ms), (T0, end));

    // Settling is not repeated by later passes.
    farm.clock.advance(60_000);
    assert_eq!(pass(&scheduler).await.settled, 0);
    assert_eq!(farm.ledger().await.len(), 1);
}

async fn a_busy_device_keeps_the_next_job_waiting_until_teardown_ends_fifo_across_runs(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    let p = plan(5, &[10], 5);
    let first = farm.schedule(RunSpec::on(&["solo", "duo"], p.clone())).await;
    farm.clock.advance(1);
    let second = farm.schedule(RunSpec::on(&["solo", "duo"], p.clone())).await;
    farm.clock.advance(1);
    let third = farm.schedule(RunSpec::on(&["solo"], p.clone())).await;
    farm.clock.advance(1);

    let start = farm.clock.now();
    // duo has two instances, so both runs get one; solo's only instance goes to the oldest.
    assert_eq!(pass(&scheduler).await.assigned, 3);
    for waiting in [&second.jobs[0], &third.jobs[0]] {
        assert_eq!(farm.snapshot(waiting).await.status, ExecutionStatus::PendingDevice);
        assert_eq!(farm.job(waiting).await.1.wait_reason, WaitReason::Device);
    }
    let mut duo_instances = BTreeSet::new();
    for job in [&first.jobs[1], &second.jobs[1]] {
        duo_instances.insert(farm.job(job).await.1.instance_arn.expect("duo job assigned"));
    }
    assert_eq!(duo_instances.len(), 2, "each duo job on its own instance");

    let end_of_first = setup_start(&farm, start) + 20_000;
    farm.clock.set(end_of_first - 1);
    let report = pass(&scheduler).await;
    assert_eq!((report.assigned, report.settled), (0, 0), "nothing ends, nothing starts before teardown ends");
    assert_eq!(farm.snapshot(&second.jobs[0]).await.status, ExecutionStatus::PendingDevice);

    farm.clock.set(end_of_first);
    let report = pass(&scheduler).await;
    assert_eq!(report.settled, 3);
    assert_eq!(report.assigned, 1, "the freed instance goes to the oldest waiting job only");
    let (_, next) = farm.job(&second.jobs[0]).await;
    assert_eq!(next.assigned_ms, Some(end_of_first));
    assert_eq!(next.instance_arn, farm.job(&first.jobs[0]).await.1.instance_arn);
    assert_eq!(farm.snapshot(&second.jobs[0]).await.status, ExecutionStatus::Processing);
    assert_eq!(farm.snapshot(&third.jobs[0]).await.status, ExecutionStatus::PendingDevice);

    let end_of_second = setup_start(&farm, end_of_first) + 20_000;
    farm.clock.set(end_of_second - 1);
    assert_eq!(pass(&scheduler).await.assigned, 0);
    farm.clock.set(end_of_second);
    assert_eq!(pass(&scheduler).await.assigned, 1);
    assert_eq!(farm.job(&third.jobs[0]).await.1.assigned_ms, Some(end_of_second));
}

async fn the_account_concurrency_limit_keeps_metered_jobs_waiting(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    farm.update_settings(|s| s.max_concurrent_jobs = 1).await;
    let scheduler = farm.scheduler();
    let run = farm.schedule(RunSpec::on(&["solo", "duo"], plan(5, &[10], 5))).await;

    let report = pass(&scheduler).await;
    assert_eq!(report.assigned, 1, "one slot, one job, although duo is free");
    assert_eq!(farm.snapshot(&run.jobs[0]).await.status, ExecutionStatus::Processing);
    assert_eq!(farm.snapshot(&run.jobs[1]).await.status, ExecutionStatus::PendingConcurrency);
    assert_eq!(farm.job(&run.jobs[1]).await.1.wait_reason, WaitReason::Concurrency);

    let end = setup_start(&farm, T0) + 20_000;
    farm.clock.set(end - 1);
    assert_eq!(pass(&scheduler).await.assigned, 0);
    farm.clock.set(end);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (1, 1), "the slot passes on when the first job settles");
    assert_eq!(farm.job(&run.jobs[1]).await.1.assigned_ms, Some(end));
}

async fn unmetered_jobs_wait_for_their_platforms_slots(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    farm.update_settings(|s| {
        s.max_concurrent_jobs = 1;
        s.unmetered_devices = [("ANDROID".to_owned(), 1), ("IOS".to_owned(), 1)].into();
    })
    .await;
    let scheduler = farm.scheduler();
    let android = farm.schedule(RunSpec::on(&["solo", "duo"], plan(5, &[10], 5)).unmetered()).await;
    farm.clock.advance(1);
    let ios = farm.schedule(RunSpec::on(&["tablet"], plan(5, &[10], 5)).unmetered()).await;
    farm.clock.advance(1);
    let metered = farm.schedule(RunSpec::on(&["duo"], plan(5, &[10], 5))).await;

    let start = farm.clock.now();
    let report = pass(&scheduler).await;
    assert_eq!(report.assigned, 3);
    assert_eq!(farm.snapshot(&android.jobs[0]).await.status, ExecutionStatus::Processing);
    assert_eq!(
        farm.snapshot(&android.jobs[1]).await.status,
        ExecutionStatus::PendingConcurrency,
        "the one ANDROID unmetered slot is taken, though a duo instance is free"
    );
    assert_eq!(farm.snapshot(&ios.jobs[0]).await.status, ExecutionStatus::Processing, "IOS has its own slots");
    assert_eq!(
        farm.snapshot(&metered.jobs[0]).await.status,
        ExecutionStatus::Processing,
        "metered jobs count against max_concurrent_jobs, not the unmetered slots"
    );

    let end = setup_start(&farm, start) + 20_000;
    farm.clock.set(end);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (3, 1));
    assert_eq!(farm.job(&android.jobs[1]).await.1.assigned_ms, Some(end));
    let ledger = farm.ledger_of(&android.jobs[0]).await;
    assert_eq!((ledger[0].billing_method.as_str(), ledger[0].seconds), ("UNMETERED", 20));
}

async fn purchased_slots_add_to_the_platforms_unmetered_devices_from_the_purchase_on(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    farm.update_settings(|s| s.unmetered_devices = [("ANDROID".to_owned(), 0)].into()).await;
    let scheduler = farm.scheduler();
    let run = farm.schedule(RunSpec::on(&["solo", "duo"], plan(5, &[10], 5)).unmetered()).await;
    let report = pass(&scheduler).await;
    assert_eq!(report.assigned, 0, "no slot configured, none purchased");

    let catalog = domain::offering::Catalog::demo();
    let android = catalog.offerings[0].id.clone();
    let bought_at = farm.clock.now() + 1_000;
    let buy = |ledger: &domain::offering::Ledger| {
        let max_slots = Default::default();
        ledger.purchase(
            domain::offering::Terms { catalog: &catalog, max_slots: &max_slots },
            &android,
            2,
            None,
            "t1".repeat(16),
            bought_at,
        )
    };
    engine::offering_ledgers::append(farm.store.as_ref(), support::ACCOUNT, bought_at, buy).await.expect("purchase");
    assert_eq!(pass(&scheduler).await.assigned, 0, "the purchase takes effect when made, not before");
    farm.clock.set(bought_at);
    let report = pass(&scheduler).await;
    assert_eq!(report.assigned, 2, "two purchased slots: both jobs run");
    for job in &run.jobs {
        assert_eq!(farm.job(job).await.1.assigned_ms, Some(bought_at));
    }
}

async fn a_job_stopped_before_it_has_a_device_settles_unbilled_and_never_gets_one(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    // Stopped while PENDING: its device is free, yet it must never get it.
    let pending = farm.schedule(RunSpec::on(&["duo"], default_plan())).await;
    assert!(farm.stop(&pending.jobs[0]).await);
    farm.clock.advance(1);
    let first = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    farm.clock.advance(1);
    let second = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    farm.clock.advance(1);
    let third = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;

    let start = farm.clock.now();
    let report = pass(&scheduler).await;
    assert_eq!((report.assigned, report.settled), (1, 1));
    assert_eq!(farm.snapshot(&second.jobs[0]).await.status, ExecutionStatus::PendingDevice);

    // Stopped while PENDING_DEVICE.
    farm.clock.advance(1_000);
    assert!(farm.stop(&second.jobs[0]).await);
    assert_eq!(pass(&scheduler).await.settled, 1);

    for job in [&pending.jobs[0], &second.jobs[0]] {
        let (record, stored) = farm.job(job).await;
        assert_eq!(record.status.as_deref(), Some("SETTLED"));
        assert_eq!((stored.instance_arn.as_deref(), stored.assigned_ms), (None, None));
        let snapshot = farm.snapshot(job).await;
        assert_eq!((snapshot.status, snapshot.result), (ExecutionStatus::Completed, ExecutionResult::Stopped));
        assert_eq!((snapshot.billed_seconds, snapshot.device_released_ms), (0, None));
        assert!(snapshot.tests().all(|t| t.result == ExecutionResult::Stopped && t.started_ms.is_none()));
        let ledger = farm.ledger_of(job).await;
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].seconds, 0);
    }

    // The stopped job no longer queues: the third run is next on solo.
    let end = setup_start(&farm, start) + 40_000;
    farm.clock.set(end);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (1, 1));
    assert_eq!(farm.job(&third.jobs[0]).await.1.assigned_ms, Some(end));
    assert_eq!(farm.job(&first.jobs[0]).await.1.phase, JobPhase::Settled);
}

async fn a_job_stopped_during_its_tests_releases_the_device_at_teardown_end(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    // A service clock 4 times faster than real time: stop latencies are reported in real time.
    let stops = Arc::new(StopLatencies::default());
    let scheduler = Arc::new(
        Scheduler::new(farm.store.clone(), farm.live_fleet(), farm.clock.clone(), farm.prep, 4.0)
            .with_observer(stops.clone()),
    );
    let run = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    assert_eq!(pass(&scheduler).await.assigned, 1);
    farm.clock.advance(1);
    let next = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    pass(&scheduler).await;

    // Setup is 5 s from S; test_0 runs from S + 5 s to S + 15 s.
    let s = setup_start(&farm, T0);
    let stop_at = s + 8_000;
    farm.clock.set(stop_at);
    assert!(farm.stop(&run.jobs[0]).await);
    assert!(!farm.stop(&run.jobs[0]).await, "only the first stop is recorded");
    pass(&scheduler).await;
    assert_eq!(farm.snapshot(&run.jobs[0]).await.status, ExecutionStatus::Stopping);

    // The rules, straight from the pure domain: test_0 finishes, teardown runs in full.
    let (record, job) = farm.job(&run.jobs[0]).await;
    let expected = farm.final_snapshot(&record, &job);
    let teardown_end = s + 5_000 + 10_000 + 5_000;
    assert_eq!(expected.device_released_ms, Some(teardown_end));
    assert_eq!(expected.billed_seconds, 20, "setup + the test in progress + teardown");

    farm.clock.set(teardown_end - 1);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (0, 0), "the device is held until teardown ends");
    assert_eq!(farm.snapshot(&next.jobs[0]).await.status, ExecutionStatus::PendingDevice);
    // The devices' view agrees, whole or asked about a few instances (a job's own view).
    let solo = job.instance_arn.clone().expect("the stopped job holds its instance");
    let held = BTreeSet::from([solo.clone()]);
    assert_eq!(scheduler.instances_in_use(teardown_end - 1), held);
    assert_eq!(scheduler.instances_in_use_among([solo.as_str(), "an-instance-nobody-holds"], teardown_end - 1), held);
    assert_eq!(
        scheduler.instances_in_use_among([solo.as_str()], teardown_end),
        BTreeSet::new(),
        "let go as teardown ends"
    );

    farm.clock.set(teardown_end);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (1, 1));
    assert_eq!(farm.job(&next.jobs[0]).await.1.assigned_ms, Some(teardown_end));

    let snapshot = farm.snapshot(&run.jobs[0]).await;
    assert_eq!(snapshot, expected, "what a read shows is what the rules say");
    assert_eq!(snapshot.result, ExecutionResult::Stopped);
    let results: Vec<_> = snapshot.suites[1].tests.iter().map(|t| t.result).collect();
    assert_eq!(results, [ExecutionResult::Passed, ExecutionResult::Stopped, ExecutionResult::Stopped]);
    let ledger = farm.ledger_of(&run.jobs[0]).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].seconds, expected.billed_seconds);

    // The observer heard the stopped job once, as long after its stop as it took to end in
    // real time; the job that was never stopped is not a stop's latency.
    let next_end = teardown_end + 40_000 + farm.prep.total_ms();
    farm.clock.set(next_end + 1);
    assert_eq!(pass(&scheduler).await.settled, 1, "the next job ends unstopped");
    pass(&scheduler).await;
    assert_eq!(stops.seen(), [Duration::from_millis((teardown_end - stop_at) as u64 / 4)]);
}

async fn a_long_test_stopped_in_progress_frees_the_device_at_stop_plus_grace_plus_teardown(backend: Backend) {
    let Some(mut farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    // Setup 5 s, one test of 30 minutes, teardown 5 s.
    let run = farm.schedule(RunSpec::on(&["solo"], plan(5, &[1_800], 5))).await;
    assert_eq!(pass(&scheduler).await.assigned, 1);
    farm.clock.advance(1);
    let next = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    pass(&scheduler).await;

    let stop_at = setup_start(&farm, T0) + 65_000; // a minute into the test
    farm.clock.set(stop_at);
    farm.stop_grace_ms = 7_000;
    assert!(farm.stop(&run.jobs[0]).await);
    // The server comes back with another grace: the stop keeps the one it was recorded with.
    farm.stop_grace_ms = 60_000;
    assert!(!farm.stop(&run.jobs[0]).await);
    let (record, job) = farm.job(&run.jobs[0]).await;
    assert_eq!((job.stop_requested_ms, job.stop_grace_ms), (Some(stop_at), Some(7_000)));
    let release = stop_at + 7_000 + 5_000;
    let expected = farm.final_snapshot(&record, &job);
    assert_eq!(expected.device_released_ms, Some(release));
    assert_eq!(expected.billed_seconds, 5 + 67 + 5, "the test billed up to stop + grace");

    farm.clock.set(release - 1);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (0, 0), "held through the grace and teardown");
    farm.clock.set(release);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (1, 1), "freed then, not at the test's planned end");
    assert_eq!(farm.job(&next.jobs[0]).await.1.assigned_ms, Some(release));

    let snapshot = farm.snapshot(&run.jobs[0]).await;
    assert_eq!(snapshot, expected);
    let test = &snapshot.suites[1].tests[0];
    assert_eq!(
        (test.result, test.stopped_ms, test.billed_seconds),
        (ExecutionResult::Stopped, Some(stop_at + 7_000), 67)
    );
    assert_eq!(snapshot.result, ExecutionResult::Stopped);
    let ledger = farm.ledger_of(&run.jobs[0]).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].seconds, 77);
}

/// What a [`SettleObserver`] heard.
#[derive(Default)]
struct StopLatencies(std::sync::Mutex<Vec<Duration>>);

impl StopLatencies {
    fn seen(&self) -> Vec<Duration> {
        self.0.lock().expect("not poisoned").clone()
    }
}

impl SettleObserver for StopLatencies {
    fn stopped_job_settled(&self, latency: Duration) {
        self.0.lock().expect("not poisoned").push(latency);
    }
}

async fn a_job_stopped_before_setup_releases_the_device_at_once(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    let run = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    pass(&scheduler).await;
    farm.clock.advance(1);
    let next = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    pass(&scheduler).await;

    // SCHEDULING: the device has not begun setup.
    let stop_at = T0 + 1_500;
    farm.clock.set(stop_at);
    assert_eq!(farm.snapshot(&run.jobs[0]).await.status, ExecutionStatus::Scheduling);
    assert!(farm.stop(&run.jobs[0]).await);
    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (1, 1), "ended at once, the device passes on in the same pass");
    assert_eq!(farm.job(&next.jobs[0]).await.1.assigned_ms, Some(stop_at));

    let (record, job) = farm.job(&run.jobs[0]).await;
    let expected = farm.final_snapshot(&record, &job);
    assert_eq!((expected.billed_seconds, expected.device_released_ms), (0, Some(stop_at)));
    assert_eq!(farm.snapshot(&run.jobs[0]).await, expected);
    assert_eq!(farm.ledger_of(&run.jobs[0]).await[0].seconds, 0);
}

async fn a_stop_read_before_the_assignment_still_ends_the_job_unbilled(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    let run = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    farm.clock.advance(1);
    let next = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    // StopJob read the job while it waited (its instant is then), but its write lost the
    // race to the assignment and was retried after it, as api/runs/stop.rs does.
    let stop_at = farm.clock.now();
    farm.clock.advance(500);
    assert_eq!(pass(&scheduler).await.assigned, 1);
    assert!(farm.stop_at(&run.jobs[0], stop_at).await);

    let report = pass(&scheduler).await;
    assert_eq!((report.settled, report.assigned), (1, 1), "ends at once; the device passes on");
    let snapshot = farm.snapshot(&run.jobs[0]).await;
    assert_eq!((snapshot.result, snapshot.billed_seconds), (ExecutionResult::Stopped, 0));
    assert_eq!(farm.ledger_of(&run.jobs[0]).await[0].seconds, 0);
    assert_eq!(farm.job(&next.jobs[0]).await.1.assigned_ms, Some(farm.clock.now()));
}

async fn the_loop_passes_when_woken_and_ends_on_shutdown(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let stop_signal = shutdown.clone();
    let running = tokio::spawn(scheduler.clone().run(async move { stop_signal.notified().await }));

    let run = farm.schedule(RunSpec::on(&["solo"], plan(1, &[1], 1))).await;
    scheduler.wake();
    eventually(&farm, &run.jobs[0], JobPhase::Active).await;
    farm.clock.advance(farm.prep.total_ms() + 3_000);
    scheduler.wake();
    eventually(&farm, &run.jobs[0], JobPhase::Settled).await;

    shutdown.notify_one();
    tokio::time::timeout(std::time::Duration::from_secs(5), running)
        .await
        .expect("the loop ends on shutdown")
        .expect("the loop does not panic");
    assert_eq!(farm.ledger_of(&run.jobs[0]).await[0].seconds, 3);
}

/// Waits (in real time, briefly) for the scheduler's loop to bring the job to `phase`.
async fn eventually(farm: &Farm, job: &str, phase: JobPhase) {
    let reached = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while farm.job(job).await.1.phase != phase {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    });
    reached.await.unwrap_or_else(|_| panic!("{job} never reached {phase:?}"));
}

async fn a_job_past_its_timeout_ends_errored_after_teardown(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let scheduler = farm.scheduler();
    // Five minutes (the API's minimum) from setup start; the one test would take 400 s.
    let run = farm.schedule(RunSpec::on(&["solo"], plan(5, &[400], 5)).timeout_minutes(5)).await;
    pass(&scheduler).await;
    let deadline = setup_start(&farm, T0) + 5 * 60_000;
    let end = deadline + 5_000;

    farm.clock.set(deadline);
    pass(&scheduler).await;
    let snapshot = farm.snapshot(&run.jobs[0]).await;
    assert_eq!(snapshot.status, ExecutionStatus::Running, "teardown runs after the deadline");
    assert_eq!(snapshot.suites[1].tests[0].result, ExecutionResult::Errored);

    farm.clock.set(end - 1);
    assert_eq!(pass(&scheduler).await.settled, 0);
    farm.clock.set(end);
    assert_eq!(pass(&scheduler).await.settled, 1);

    let snapshot = farm.snapshot(&run.jobs[0]).await;
    assert_eq!((snapshot.status, snapshot.result), (ExecutionStatus::Completed, ExecutionResult::Errored));
    assert_eq!(snapshot.message.as_deref(), Some("Job timed out after 5 minutes"));
    assert_eq!(snapshot.device_released_ms, Some(end));
    assert_eq!(snapshot.billed_seconds, 5 + 295 + 5, "setup, the test up to the deadline, teardown");
    let (record, job) = farm.job(&run.jobs[0]).await;
    assert_eq!(snapshot, farm.final_snapshot(&record, &job));
    assert_eq!(farm.ledger_of(&run.jobs[0]).await[0].seconds, 305);
}

async fn a_restarted_scheduler_continues_where_the_old_one_stopped(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let run = farm.schedule(RunSpec::on(&["solo", "duo"], default_plan())).await;
    farm.clock.advance(1);
    let queued = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;

    let old_store = farm.db.open().await;
    let old = farm.scheduler_on(old_store.clone());
    let start = farm.clock.now();
    assert_eq!(pass(&old).await.assigned, 2);
    farm.clock.set(setup_start(&farm, start) + 12_000);
    pass(&old).await;
    drop(old);
    old_store.close().await;

    // A new process: new connections, new scheduler, nothing carried over but the database.
    let new = farm.scheduler_on(farm.db.open().await);
    let (assigned, settled) = drive(&farm, &[&new]).await;
    assert_eq!((assigned, settled), (1, 3));

    let first_end = setup_start(&farm, start) + 40_000;
    for job in &run.jobs {
        let (_, stored) = farm.job(job).await;
        assert_eq!((stored.assigned_ms, stored.settled_ms), (Some(start), Some(first_end)));
    }
    let (_, stored) = farm.job(&queued.jobs[0]).await;
    assert_eq!(stored.assigned_ms, Some(first_end));
    let ledger = farm.ledger().await;
    assert_eq!(ledger.len(), 3);
    assert!(ledger.iter().all(|e| e.seconds == 40), "billed as if uninterrupted: {ledger:?}");
}

/// Passes on every scheduler, jumping the clock to the next change, until nothing is left
/// to change. Returns the jobs assigned and settled.
async fn drive(farm: &Farm, schedulers: &[&Scheduler]) -> (usize, usize) {
    let (mut assigned, mut settled) = (0, 0);
    for _ in 0..1_000 {
        let mut next: Option<i64> = None;
        for scheduler in schedulers {
            let report = pass(scheduler).await;
            assigned += report.assigned;
            settled += report.settled;
            next = match (next, report.next_change_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        match next {
            Some(at) => farm.clock.set(at.max(farm.clock.now())),
            None => return (assigned, settled),
        }
    }
    panic!("the jobs never settled");
}

async fn replicas_racing_never_give_one_instance_to_two_jobs(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let paused = support::pausing_store::PausingStore::new(farm.db.open().await);
    let a = farm.scheduler_on(paused.clone());
    let b = farm.scheduler_on(farm.db.open().await);
    let first = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    farm.clock.advance(1);
    let second = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;

    // Replica A has read which instances are held (none) and is about to read the waiting
    // jobs when replica B runs a whole pass: A holds the scheduling lease, so B assigns nothing.
    let pause = paused.pause_before_scan(JobPhase::Waiting.as_str());
    let a_pass = tokio::spawn(async move { a.pass().await });
    pause.reached.await.expect("replica A reaches the waiting scan");
    assert_eq!(pass(&b).await.assigned, 0, "replica A holds the scheduling lease");
    pause.resume.send(()).expect("replica A is waiting");
    a_pass.await.expect("replica A's pass").expect("replica A's pass succeeds");

    assert_eq!(farm.job(&first.jobs[0]).await.1.phase, JobPhase::Active);
    assert_eq!(
        farm.job(&second.jobs[0]).await.1.phase,
        JobPhase::Waiting,
        "solo's only instance is already held by the first job"
    );
    assert_no_instance_held_twice(&farm).await;
}

async fn replicas_racing_never_exceed_the_concurrency_limit(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    farm.update_settings(|s| s.max_concurrent_jobs = 1).await;
    let paused = support::pausing_store::PausingStore::new(farm.db.open().await);
    let a = farm.scheduler_on(paused.clone());
    let b = farm.scheduler_on(farm.db.open().await);
    farm.schedule(RunSpec::on(&["solo", "duo"], default_plan())).await;

    let pause = paused.pause_before_scan(JobPhase::Waiting.as_str());
    let a_pass = tokio::spawn(async move { a.pass().await });
    pause.reached.await.expect("replica A reaches the waiting scan");
    assert_eq!(pass(&b).await.assigned, 0, "replica A holds the scheduling lease");
    pause.resume.send(()).expect("replica A is waiting");
    a_pass.await.expect("replica A's pass").expect("replica A's pass succeeds");

    let active = farm.jobs(Some(JobPhase::Active)).await.len();
    assert_eq!(active, 1, "max_concurrent_jobs = 1, yet {active} jobs hold devices");
}

/// A replica that stalls past its lease is replaced, and its late assignments are fenced
/// off: the successor's view wins and no instance is held twice.
async fn a_stalled_replica_is_replaced_and_fenced_off(backend: Backend) {
    let Some(farm) = Farm::new(backend, &small_fleet()).await else { return };
    let paused = support::pausing_store::PausingStore::new(farm.db.open().await);
    let a = farm.scheduler_on(paused.clone());
    let b = farm.scheduler_on(farm.db.open().await);
    let first = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;
    farm.clock.advance(1);
    let second = farm.schedule(RunSpec::on(&["solo"], default_plan())).await;

    let pause = paused.pause_before_scan(JobPhase::Waiting.as_str());
    let a_pass = tokio::spawn(async move { a.pass().await });
    pause.reached.await.expect("replica A reaches the waiting scan");
    // A stalls for longer than its lease (3 s at time scale 1): B takes over and assigns.
    farm.clock.advance(3_001);
    assert_eq!(pass(&b).await.assigned, 1, "the expired lease passes to replica B");
    pause.resume.send(()).expect("replica A is waiting");
    let report = a_pass.await.expect("replica A's pass").expect("replica A's pass succeeds");
    assert_eq!(report.assigned, 0, "replica A's late assignment is fenced off");

    assert_eq!(farm.job(&first.jobs[0]).await.1.phase, JobPhase::Active);
    assert_eq!(farm.job(&second.jobs[0]).await.1.phase, JobPhase::Waiting);
    assert_no_instance_held_twice(&farm).await;
}

/// A small deterministic generator: the stress test must replay identically.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn two_replicas_and_a_restart_settle_every_job_once_and_bill_it_right(backend: Backend) {
    let fleet = vec![
        DeviceSpec::android("solo", 1),
        DeviceSpec::android("duo", 2),
        DeviceSpec::android("trio", 3),
        DeviceSpec::ios("tablet", 1),
    ];
    let Some(farm) = Farm::new(backend, &fleet).await else { return };
    let farm = Arc::new(farm);
    let names = ["solo", "duo", "trio", "tablet"];
    let mut rng = XorShift(0x5eed_f00d_dead_beef);
    let mut a = farm.scheduler_on(farm.db.open().await);
    let b_store = farm.db.open().await;
    let mut b = farm.scheduler_on(b_store.clone());
    let mut jobs: Vec<String> = Vec::new();
    let (mut assigned, mut settled) = (0, 0);

    for round in 0..160 {
        if jobs.len() < 40 && rng.below(3) == 0 {
            let devices: Vec<&str> = names.iter().copied().filter(|_| rng.below(2) == 0).collect();
            if !devices.is_empty() {
                let tests: Vec<i64> = (0..=rng.below(3)).map(|_| 1 + rng.below(15) as i64).collect();
                let mut spec = RunSpec::on(&devices, plan(1 + rng.below(4) as i64, &tests, 1 + rng.below(4) as i64));
                if rng.below(5) == 0 {
                    // Cut by the deadline: a test longer than the five-minute timeout.
                    spec = RunSpec::on(&devices, plan(2, &[320], 3)).timeout_minutes(5);
                }
                jobs.extend(farm.schedule(spec).await.jobs);
            }
        }
        if round == 80 {
            // Replica B restarts: its connections and scheduler are gone, a fresh one starts.
            drop(b);
            b_store.close().await;
            b = farm.scheduler_on(farm.db.open().await);
        }
        // Now and then a user stops a job while both replicas are mid-pass.
        let victim =
            (!jobs.is_empty() && rng.below(6) == 0).then(|| jobs[rng.below(jobs.len() as u64) as usize].clone());
        let stopper = farm.clone();
        let (ra, rb, _) = tokio::join!(a.pass(), b.pass(), async move {
            if let Some(job) = victim {
                stopper.stop(&job).await;
            }
        });
        for report in [ra.expect("replica A's pass"), rb.expect("replica B's pass")] {
            assigned += report.assigned;
            settled += report.settled;
        }
        assert_no_instance_held_twice(&farm).await;
        farm.clock.advance(rng.below(4_000) as i64);
        if round == 40 {
            a = farm.scheduler_on(farm.db.open().await);
        }
    }
    // Let everything finish.
    let (more_assigned, more_settled) = drive(&farm, &[&a, &b]).await;
    assigned += more_assigned;
    settled += more_settled;

    let all = farm.jobs(None).await;
    assert_eq!(all.len(), jobs.len());
    assert_eq!(settled, jobs.len(), "every job settled exactly once, by one replica or the other");
    let ledger = farm.ledger().await;
    assert_eq!(ledger.len(), jobs.len(), "one ledger row per job");
    let billed: BTreeMap<&str, i64> = ledger.iter().map(|e| (e.job_arn.as_str(), e.seconds)).collect();
    let mut held: BTreeMap<String, Vec<(i64, i64, String)>> = BTreeMap::new();
    let mut assigned_jobs = 0;
    let mut seen = BTreeSet::new();
    for (record, job) in &all {
        assert_eq!(job.phase, JobPhase::Settled, "{} is not settled", record.arn);
        let expected = farm.final_snapshot(record, job);
        seen.insert(match (job.stop_requested_ms, job.instance_arn.as_ref(), expected.result) {
            (Some(_), None, _) => "stopped before it had a device",
            (Some(_), Some(_), _) if expected.billed_seconds > 0 => "stopped on its device",
            (None, _, ExecutionResult::Errored) => "timed out",
            _ if job.wait_reason == WaitReason::Device => "waited for its device",
            _ => "ran",
        });
        assert_eq!(billed.get(record.arn.as_str()), Some(&expected.billed_seconds), "{} billed", record.arn);
        if job.stop_requested_ms.is_none() && job.timeout_minutes == 150 {
            assert_eq!(expected.billed_seconds, uninterrupted_seconds(&job.plan));
        }
        if let (Some(instance), Some(from)) = (&job.instance_arn, job.assigned_ms) {
            assigned_jobs += 1;
            let until = job.settled_ms.expect("settled");
            held.entry(instance.clone()).or_default().push((from, until, record.arn.clone()));
        }
    }
    assert_eq!(assigned, assigned_jobs, "every assignment that counted is stored");
    assert_eq!(seen.len(), 5, "the schedule exercises every case: {seen:?}");
    // No instance ever served two jobs at once: its holds never overlap.
    for (instance, mut holds) in held {
        holds.sort();
        for pair in holds.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "instance {instance} held by {} and {} at once", pair[0].2, pair[1].2);
        }
    }
}
