//! A stop written between a pass's clock read and its scan of waiting jobs carries an
//! instant later than the pass's `now` (another replica recorded it, or the API read its
//! clock after the scheduler did). The job has not ended yet at `now`, so the pass must not
//! settle it: settling then would store it SETTLED while it still shows waiting, with a
//! ledger line dated before the job's end. Found by tests/clients/test_hammer.py.

mod support;

use domain::job::status::{ExecutionResult, ExecutionStatus};
use domain::run::JobPhase;
use support::db::Backend;
use support::fleet::DeviceSpec;
use support::{pass, plan, Farm, RunSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    a_waiting_job_settles_at_its_stop_instant_not_before(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    a_waiting_job_settles_at_its_stop_instant_not_before(Backend::Postgres).await
}

async fn a_waiting_job_settles_at_its_stop_instant_not_before(backend: Backend) {
    let Some(farm) = Farm::new(backend, &[DeviceSpec::android("solo", 1)]).await else {
        return;
    };
    let scheduler = farm.scheduler();
    let busy = farm.schedule(RunSpec::on(&["solo"], plan(5, &[10], 5))).await;
    farm.clock.advance(1);
    let waiting = farm.schedule(RunSpec::on(&["solo"], plan(5, &[10], 5))).await;
    assert_eq!(pass(&scheduler).await.assigned, 1);
    assert_eq!(farm.job(&busy.jobs[0]).await.1.phase, JobPhase::Active);

    let stop_at = farm.clock.now() + 250;
    assert!(farm.stop_at(&waiting.jobs[0], stop_at).await);
    let early = pass(&scheduler).await;
    assert_eq!(early.settled, 0, "settled before its stop instant");
    assert_eq!(farm.job(&waiting.jobs[0]).await.1.phase, JobPhase::Waiting);
    assert!(farm.ledger_of(&waiting.jobs[0]).await.is_empty());
    assert!(early.next_change_ms.is_some_and(|at| at <= stop_at), "the loop must wake by the stop instant");

    farm.clock.set(stop_at);
    assert_eq!(pass(&scheduler).await.settled, 1);
    let (record, job) = farm.job(&waiting.jobs[0]).await;
    assert_eq!((record.status.as_deref(), job.instance_arn.as_deref()), (Some("SETTLED"), None));
    let snapshot = farm.snapshot(&waiting.jobs[0]).await;
    assert_eq!((snapshot.status, snapshot.result), (ExecutionStatus::Completed, ExecutionResult::Stopped));
    let ledger = farm.ledger_of(&waiting.jobs[0]).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0].seconds, ledger[0].settled_ms), (0, stop_at));
    assert_eq!(snapshot.stopped_ms, Some(stop_at));
}
