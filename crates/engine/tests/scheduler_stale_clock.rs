//! Found by tests/clients/test_hammer.py: the lease holder reads the clock at the start of
//! its pass and stamps its assignments with that instant. If another replica could settle a
//! job between that read and the holder's scan of active jobs, the settled job would be
//! missing from the holder's view, its instance would look free, and the next job would be
//! given it as of an instant before the settled job ended: two jobs at once on one instance.
//! So only the lease holder settles jobs that hold an instance.

mod support;

use domain::run::JobPhase;
use support::db::Backend;
use support::fleet::DeviceSpec;
use support::pausing_store::PausingStore;
use support::{pass, plan, Farm, RunSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    an_assignment_never_predates_the_previous_jobs_end(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    an_assignment_never_predates_the_previous_jobs_end(Backend::Postgres).await
}

async fn an_assignment_never_predates_the_previous_jobs_end(backend: Backend) {
    let Some(farm) = Farm::new(backend, &[DeviceSpec::android("solo", 1)]).await else {
        return;
    };
    let paused = PausingStore::new(farm.db.open().await);
    let holder = farm.scheduler_on(paused.clone());
    let other = farm.scheduler_on(farm.db.open().await);
    let first = farm.schedule(RunSpec::on(&["solo"], plan(5, &[10], 5))).await;
    farm.clock.advance(1);
    let next = farm.schedule(RunSpec::on(&["solo"], plan(5, &[10], 5))).await;
    assert_eq!(pass(&holder).await.assigned, 1, "the holder takes the lease and assigns the first job");
    let (_, running) = farm.job(&first.jobs[0]).await;
    let end = running.assigned_ms.expect("assigned") + farm.prep.total_ms() + 20_000;

    // The holder reads the clock 20 ms before the first job ends, then stalls before its
    // scan of active jobs; meanwhile the other replica, past the end, must leave the job to
    // the holder.
    farm.clock.set(end - 20);
    let pause = paused.pause_before_scan(JobPhase::Active.as_str());
    let holder_pass = tokio::spawn(async move { holder.pass().await });
    pause.reached.await.expect("the holder reaches its scan");
    farm.clock.set(end);
    assert_eq!(pass(&other).await.settled, 0, "only the lease holder settles a job holding an instance");
    pause.resume.send(()).expect("the holder is waiting");
    holder_pass.await.expect("the holder's pass").expect("the holder's pass succeeds");

    let (_, successor) = farm.job(&next.jobs[0]).await;
    if let Some(assigned) = successor.assigned_ms {
        assert!(assigned >= end, "the instance was given again at {assigned}, before its job ended at {end}");
    }
}
