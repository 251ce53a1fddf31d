//! Property tests over random interleavings of everything that happens to runs on a small
//! fleet: runs scheduled, instances going away and coming back, scheduler rounds, time
//! passing (through the timeout too), hosts reporting real jobs' steps (resent at times),
//! StopJob and StopRun at any instant (twice, after the end), the server's stop grace
//! changed between stops, and restarts. After every
//! event the promises the API makes are checked against what the pure functions derive, so
//! a rule that only breaks in some order of events is caught, not just one that breaks for
//! a single job in isolation (that is `properties.rs`).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::billing::{BillingMethod, DeviceMinutes};
use super::counters::Counters;
use super::observed::{observed_snapshot, ObservedCase, ObservedJob, StepEnd};
use super::plan::{JobPlan, TestPlan};
use super::properties::arb_result;
use super::report::{apply, JobReport, Step as HostStep};
use super::run::{run_snapshot, RunSnapshot};
use super::snapshot::{snapshot, JobSnapshot};
use super::status::{ExecutionResult, ExecutionStatus};
use super::timeline::{JobTimes, PrepDurations};
use crate::run::WaitReason;
use crate::scheduling::{decide, AccountSlots, ActiveJob, Decision, WaitingJob};

const ACCOUNT: &str = "acct";
const PLATFORM: &str = "ANDROID";
/// One device with a single instance (so jobs queue for it) and one with two.
const INSTANCES: [(&str, &str); 3] = [("d0", "d0/i0"), ("d1", "d1/i0"), ("d1", "d1/i1")];
const DEVICES: [&str; 2] = ["d0", "d1"];

fn fleet() -> BTreeMap<String, Vec<String>> {
    let mut fleet: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (device, instance) in INSTANCES {
        fleet.entry(device.to_owned()).or_default().push(instance.to_owned());
    }
    fleet
}

/// How a job's course is known: from its plan, or from what its host reports.
#[derive(Debug, Clone)]
enum Driver {
    Simulated { plan: JobPlan, prep: PrepDurations },
    Real { cases: Vec<ObservedCase>, observed: ObservedJob },
}

/// A job as the store keeps it: everything else is derived.
#[derive(Debug, Clone)]
struct Job {
    run: usize,
    device: usize,
    driver: Driver,
    times: JobTimes,
    instance: Option<String>,
    waiting: WaitReason,
}

impl Job {
    fn at(&self, now: i64) -> JobSnapshot {
        match &self.driver {
            Driver::Simulated { plan, prep } => snapshot(plan, prep, &self.times, self.waiting, now),
            Driver::Real { observed, .. } => observed_snapshot(observed, &self.times, self.waiting, now),
        }
    }

    /// When setup begins (or began), if known.
    fn setup_start(&self) -> Option<i64> {
        match &self.driver {
            Driver::Simulated { prep, .. } => self.times.assigned_ms.map(|a| a + prep.total_ms()),
            Driver::Real { observed, .. } => observed.setup.as_ref().map(|s| s.started_ms),
        }
    }

    /// Whether a stop came while "tests have not started" (stop rules 1–2). A simulated
    /// job's setup starting exactly at the stop counts as not started (half-open instants);
    /// a real job's host has already begun it then.
    fn stopped_before_setup(&self) -> bool {
        let Some(stop) = self.times.stop_requested_ms else {
            return false;
        };
        match (&self.driver, self.setup_start()) {
            (_, None) => true,
            (Driver::Simulated { .. }, Some(setup)) => stop <= setup,
            (Driver::Real { .. }, Some(setup)) => stop < setup,
        }
    }
}

#[derive(Debug, Clone)]
struct Run {
    billing: BillingMethod,
    stop_requested_ms: Option<i64>,
    jobs: Vec<usize>,
}

#[derive(Debug, Clone)]
enum JobSpec {
    Simulated(JobPlan, PrepDurations),
    Real(Vec<ObservedCase>),
}

#[derive(Debug, Clone)]
enum Event {
    ScheduleRun {
        metered: bool,
        timeout_minutes: i32,
        jobs: Vec<(usize, JobSpec)>,
    },
    Advance(i64),
    /// Straight to the next instant at which some job changes by itself, as the engine
    /// wakes: events then land exactly on step boundaries and ends.
    AdvanceToNextChange,
    SchedulerRound,
    ToggleInstance(usize),
    StopJob(usize),
    StopRun(usize),
    /// The operator changes `stop_grace_seconds` (and restarts): stops already recorded
    /// keep the grace they were recorded with.
    SetStopGrace(i64),
    HostReports {
        job: usize,
        choice: u8,
    },
    Restart,
}

/// The state the server would hold, plus who holds each instance as the engine tracks it:
/// taken on assignment, given back when the job is seen final.
#[derive(Debug, Clone)]
struct World {
    now: i64,
    max_concurrent: i32,
    /// The server's stop grace, recorded with each stop.
    stop_grace_ms: i64,
    jobs: Vec<Job>,
    runs: Vec<Run>,
    unavailable: BTreeSet<String>,
    holders: BTreeMap<String, usize>,
}

/// What earlier steps saw, to check that nothing goes backwards.
#[derive(Debug, Default)]
struct Seen {
    jobs: Vec<Sighting<JobSnapshot>>,
    runs: Vec<Sighting<RunSnapshot>>,
}

#[derive(Debug)]
struct Sighting<T> {
    last: T,
    settled: Option<T>,
}

/// The order the model's statuses go through; the three waits are one step apart from
/// PENDING, not from each other (the scheduler's reason may change between rounds).
fn status_rank(status: ExecutionStatus) -> u8 {
    match status {
        ExecutionStatus::Pending => 0,
        ExecutionStatus::PendingConcurrency | ExecutionStatus::PendingDevice => 1,
        ExecutionStatus::Processing => 2,
        ExecutionStatus::Scheduling => 3,
        ExecutionStatus::Preparing => 4,
        ExecutionStatus::Running => 5,
        ExecutionStatus::Stopping => 6,
        ExecutionStatus::Completed => 7,
    }
}

fn ceil_seconds(ms: i64) -> i64 {
    (ms.max(0) + 999) / 1000
}

impl World {
    fn new(max_concurrent: i32) -> World {
        World {
            now: 0,
            max_concurrent,
            stop_grace_ms: 10_000,
            jobs: Vec::new(),
            runs: Vec::new(),
            unavailable: BTreeSet::new(),
            holders: BTreeMap::new(),
        }
    }

    fn snapshots(&self) -> Vec<JobSnapshot> {
        self.jobs.iter().map(|j| j.at(self.now)).collect()
    }

    fn run_at(&self, run: &Run, jobs: &[JobSnapshot]) -> RunSnapshot {
        let mine: Vec<JobSnapshot> = run.jobs.iter().map(|j| jobs[*j].clone()).collect();
        run_snapshot(&mine, run.stop_requested_ms, self.now)
    }

    /// The engine gives an instance back once its job is final.
    fn release_finished(&mut self) {
        let (now, jobs) = (self.now, &self.jobs);
        self.holders.retain(|_, j| !jobs[*j].at(now).is_final);
    }

    fn apply(&mut self, event: &Event) -> Result<(), TestCaseError> {
        match event {
            Event::ScheduleRun { metered, timeout_minutes, jobs } => {
                self.schedule_run(*metered, *timeout_minutes, jobs)
            }
            Event::Advance(ms) => self.now += ms,
            Event::AdvanceToNextChange => {
                let next = self.snapshots().iter().filter_map(|s| s.next_change_ms).min();
                self.now = next.unwrap_or(self.now).max(self.now);
            }
            Event::SchedulerRound => self.scheduler_round()?,
            Event::ToggleInstance(i) => {
                let instance = INSTANCES[i % INSTANCES.len()].1.to_owned();
                if !self.unavailable.remove(&instance) {
                    self.unavailable.insert(instance);
                }
            }
            Event::StopJob(j) => {
                let (now, grace) = (self.now, self.stop_grace_ms);
                if let Some(job) = pick(&mut self.jobs, *j) {
                    job.times.request_stop(now, grace);
                }
            }
            Event::StopRun(r) => {
                let now = self.now;
                let snaps = self.snapshots();
                let n = self.runs.len();
                if n > 0 {
                    // As the API's StopRun: a run that has ended is returned unchanged and
                    // nothing is recorded. `run_snapshot` alone would still count a StopRun
                    // dated exactly at the last job's end (its guard is `end < at`), while
                    // a job's own stop at that instant is ignored.
                    let settled = self.run_at(&self.runs[r % n], &snaps).is_final;
                    let run = &mut self.runs[r % n];
                    if !settled {
                        run.stop_requested_ms.get_or_insert(now);
                        for j in run.jobs.clone() {
                            self.jobs[j].times.request_stop(now, self.stop_grace_ms);
                        }
                    }
                }
            }
            Event::HostReports { job, choice } => {
                let now = self.now;
                if let Some(job) = pick(&mut self.jobs, *job) {
                    host_reports(job, *choice, now);
                }
            }
            Event::Restart => self.restart()?,
            Event::SetStopGrace(grace_ms) => {
                let before = self.snapshots();
                self.stop_grace_ms = *grace_ms;
                self.restart()?;
                prop_assert_eq!(self.snapshots(), before, "a new grace changed recorded stops");
            }
        }
        self.release_finished();
        Ok(())
    }

    fn schedule_run(&mut self, metered: bool, timeout_minutes: i32, specs: &[(usize, JobSpec)]) {
        let run = self.runs.len();
        let first = self.jobs.len();
        for (device, spec) in specs {
            let driver = match spec {
                JobSpec::Simulated(plan, prep) => Driver::Simulated { plan: plan.clone(), prep: *prep },
                JobSpec::Real(cases) => Driver::Real { cases: cases.clone(), observed: ObservedJob::default() },
            };
            self.jobs.push(Job {
                run,
                device: device % DEVICES.len(),
                driver,
                times: JobTimes::new(self.now, timeout_minutes),
                instance: None,
                waiting: WaitReason::Pending,
            });
        }
        self.runs.push(Run {
            billing: if metered { BillingMethod::Metered } else { BillingMethod::Unmetered },
            stop_requested_ms: None,
            jobs: (first..self.jobs.len()).collect(),
        });
    }

    fn scheduler_round(&mut self) -> Result<(), TestCaseError> {
        let now = self.now;
        let snaps = self.snapshots();
        let billing = |j: &Job| self.runs[j.run].billing;
        // Jobs are created in order, so index order is FIFO.
        let waiting: Vec<WaitingJob> = self
            .jobs
            .iter()
            .enumerate()
            .filter(|(i, j)| j.times.assigned_ms.is_none() && !snaps[*i].is_final)
            .map(|(i, j)| WaitingJob {
                key: i.to_string(),
                account_id: ACCOUNT.to_owned(),
                platform: PLATFORM.to_owned(),
                billing_method: billing(j),
                device_arn: DEVICES[j.device].to_owned(),
                remote_access: false,
                only_instance: None,
            })
            .collect();
        let active: Vec<ActiveJob> = self
            .holders
            .iter()
            .map(|(instance, j)| ActiveJob {
                account_id: ACCOUNT.to_owned(),
                platform: PLATFORM.to_owned(),
                billing_method: billing(&self.jobs[*j]),
                instance_arn: instance.clone(),
                remote_access: false,
            })
            .collect();
        let slots = BTreeMap::from([(
            ACCOUNT.to_owned(),
            AccountSlots {
                max_concurrent_jobs: self.max_concurrent,
                unmetered_devices: BTreeMap::from([(PLATFORM.to_owned(), self.max_concurrent)]),
                unmetered_remote_access_devices: BTreeMap::new(),
            },
        )]);
        let decisions = decide(&waiting, &active, &fleet(), &self.unavailable, &slots);
        prop_assert_eq!(decisions.len(), waiting.len());
        for decision in decisions {
            match decision {
                Decision::Assign { key, instance_arn } => {
                    let j: usize = key.parse().map_err(|_| TestCaseError::fail("bad key"))?;
                    prop_assert!(
                        !self.holders.contains_key(&instance_arn),
                        "{} given to job {} while held by {:?}",
                        instance_arn,
                        j,
                        self.holders.get(&instance_arn)
                    );
                    prop_assert!(!self.unavailable.contains(&instance_arn), "{} is unavailable", instance_arn);
                    prop_assert!(fleet()[DEVICES[self.jobs[j].device]].contains(&instance_arn));
                    self.holders.insert(instance_arn.clone(), j);
                    let job = &mut self.jobs[j];
                    job.times.assigned_ms = Some(now);
                    job.instance = Some(instance_arn);
                }
                Decision::Wait { key, reason } => {
                    let j: usize = key.parse().map_err(|_| TestCaseError::fail("bad key"))?;
                    self.jobs[j].waiting = reason;
                }
            }
        }
        Ok(())
    }

    /// A restart keeps only what the store keeps: the jobs' records (through their stored
    /// form where they have one) and the runs'. Everything read afterwards must be what it
    /// was before, and the instances' holders re-derived from the records must be the ones
    /// the engine tracked.
    fn restart(&mut self) -> Result<(), TestCaseError> {
        let before = self.snapshots();
        let stored = |e: serde_json::Error| TestCaseError::fail(e.to_string());
        let mut jobs = Vec::with_capacity(self.jobs.len());
        for job in &self.jobs {
            let driver = match &job.driver {
                Driver::Simulated { plan, prep } => Driver::Simulated {
                    plan: serde_json::from_str(&serde_json::to_string(plan).map_err(stored)?).map_err(stored)?,
                    prep: *prep,
                },
                Driver::Real { cases, observed } => Driver::Real {
                    cases: cases.clone(),
                    observed: serde_json::from_str(&serde_json::to_string(observed).map_err(stored)?)
                        .map_err(stored)?,
                },
            };
            jobs.push(Job { driver, ..job.clone() });
        }
        let mut restarted = World { jobs, holders: BTreeMap::new(), ..self.clone() };
        let now = restarted.now;
        restarted.holders = restarted
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| !j.at(now).is_final)
            .filter_map(|(i, j)| j.instance.clone().map(|inst| (inst, i)))
            .collect();
        prop_assert_eq!(&restarted.holders, &self.holders);
        prop_assert_eq!(restarted.snapshots(), before);
        *self = restarted;
        Ok(())
    }
}

fn pick<T>(items: &mut [T], i: usize) -> Option<&mut T> {
    let n = items.len();
    if n == 0 {
        return None;
    }
    items.get_mut(i % n)
}

/// What a well-behaved host reports next for its real job, given what it has reported and
/// whether the job was stopped: setup runs to completion even when stopped, the test phase
/// is signalled by a stop, teardown always runs, and one step begins at the instant the
/// one before ended (a host moves on at once). `choice` picks among the outcomes; some
/// reports are sent twice, as a host unsure they arrived does.
fn host_reports(job: &mut Job, choice: u8, now: i64) {
    let stopped = job.times.stop_requested_ms.is_some_and(|s| s <= now);
    let Some(assigned) = job.times.assigned_ms else {
        return;
    };
    let Driver::Real { cases, observed } = &mut job.driver else {
        return;
    };
    if assigned > now {
        return;
    }
    let open = |s: &Option<super::observed::ObservedStep>| s.as_ref().is_some_and(|s| s.ended_ms.is_none());
    let finished = |cases: Vec<ObservedCase>| JobReport::Finished { cases, artifacts: vec![] };
    let ended =
        |step, end| JobReport::StepEnded { step, end, message: (end == StepEnd::Failed).then(|| "exit 1".to_owned()) };
    let started = |step| JobReport::StepStarted { step };
    let reports: Vec<JobReport> = if observed.finished_ms.is_some() {
        // A late or stray report: the first end must win.
        vec![JobReport::Failed { message: "late".to_owned() }, started(HostStep::Tests)]
    } else if choice.is_multiple_of(17) {
        vec![JobReport::Failed { message: "host lost".to_owned() }]
    } else if observed.setup.is_none() {
        if stopped {
            vec![finished(vec![])]
        } else {
            vec![started(HostStep::Setup)]
        }
    } else if open(&observed.setup) {
        let end = match choice % 6 {
            0 => StepEnd::Failed,
            1 if !stopped => StepEnd::TimedOut,
            _ => StepEnd::Succeeded,
        };
        let next = if end == StepEnd::Succeeded && !stopped { HostStep::Tests } else { HostStep::Teardown };
        vec![ended(HostStep::Setup, end), started(next)]
    } else if open(&observed.tests) {
        match choice % 7 {
            0 => vec![JobReport::DeviceLost { message: "unplugged".to_owned() }, finished(cases.clone())],
            _ => {
                let end = match choice % 5 {
                    _ if stopped => StepEnd::Stopped,
                    0 => StepEnd::Failed,
                    1 => StepEnd::TimedOut,
                    _ => StepEnd::Succeeded,
                };
                vec![ended(HostStep::Tests, end), started(HostStep::Teardown)]
            }
        }
    } else if open(&observed.teardown) {
        let end = if choice.is_multiple_of(9) { StepEnd::Failed } else { StepEnd::Succeeded };
        let ran_tests = if observed.tests.is_some() { cases.clone() } else { vec![] };
        vec![ended(HostStep::Teardown, end), finished(ran_tests)]
    } else {
        vec![finished(vec![])]
    };
    let mut artifacts = Vec::new();
    let times = if choice.is_multiple_of(4) { 2 } else { 1 };
    for _ in 0..times {
        for report in &reports {
            apply(observed, &mut artifacts, report, now);
        }
    }
}

/// Every rule checked after every event.
fn check(world: &World, seen: &mut Seen) -> Result<(), TestCaseError> {
    let now = world.now;
    let snaps = world.snapshots();
    for (i, (job, snap)) in world.jobs.iter().zip(&snaps).enumerate() {
        check_job(job, snap, now).map_err(|e| TestCaseError::fail(format!("job {i} at {now}: {e}")))?;
        match seen.jobs.get_mut(i) {
            None => seen.jobs.push(Sighting { last: snap.clone(), settled: snap.is_final.then(|| snap.clone()) }),
            Some(sighting) => {
                let last = &sighting.last;
                prop_assert!(
                    status_rank(snap.status) >= status_rank(last.status),
                    "job {} went from {} back to {} at {}",
                    i,
                    last.status,
                    snap.status,
                    now
                );
                prop_assert!(
                    snap.billed_seconds >= last.billed_seconds,
                    "job {} billed {} then {} at {}",
                    i,
                    last.billed_seconds,
                    snap.billed_seconds,
                    now
                );
                let method = world.runs[job.run].billing;
                let minutes = |s: i64| DeviceMinutes::from_seconds(s, method).total;
                prop_assert!(minutes(snap.billed_seconds) >= minutes(last.billed_seconds));
                match &sighting.settled {
                    Some(settled) => {
                        prop_assert_eq!(snap, settled, "job {} changed after it settled", i)
                    }
                    None if snap.is_final => sighting.settled = Some(snap.clone()),
                    None => {}
                }
                sighting.last = snap.clone();
            }
        }
    }
    check_instances(world, &snaps)?;
    for (r, run) in world.runs.iter().enumerate() {
        let rolled = world.run_at(run, &snaps);
        let mine = || run.jobs.iter().map(|j| &snaps[*j]);
        prop_assert_eq!(rolled.counters, Counters::sum(mine().map(|j| &j.counters)));
        prop_assert_eq!(rolled.billed_seconds, mine().map(|j| j.billed_seconds).sum::<i64>());
        prop_assert_eq!(rolled.completed_jobs as usize, mine().filter(|j| j.is_final).count());
        if rolled.status == ExecutionStatus::Stopping {
            prop_assert!(run.stop_requested_ms.is_some_and(|s| s <= now));
        }
        match seen.runs.get_mut(r) {
            None => seen.runs.push(Sighting { last: rolled.clone(), settled: rolled.is_final.then(|| rolled.clone()) }),
            Some(sighting) => {
                let last = &sighting.last;
                prop_assert!(
                    status_rank(rolled.status) >= status_rank(last.status),
                    "run {} went from {} back to {} at {}",
                    r,
                    last.status,
                    rolled.status,
                    now
                );
                prop_assert!(rolled.billed_seconds >= last.billed_seconds);
                prop_assert!(rolled.completed_jobs >= last.completed_jobs);
                match &sighting.settled {
                    Some(settled) => {
                        prop_assert_eq!(&rolled, settled, "run {} changed after it settled", r)
                    }
                    None if rolled.is_final => sighting.settled = Some(rolled.clone()),
                    None => {}
                }
                sighting.last = rolled;
            }
        }
    }
    Ok(())
}

fn check_job(job: &Job, snap: &JobSnapshot, now: i64) -> Result<(), TestCaseError> {
    prop_assert_eq!(snap.suites.len(), 3);
    for suite in &snap.suites {
        prop_assert_eq!(suite.counters, Counters::sum(suite.tests.iter().map(|t| &t.counters)));
        prop_assert_eq!(suite.billed_seconds, suite.tests.iter().map(|t| t.billed_seconds).sum::<i64>());
    }
    prop_assert_eq!(snap.counters, Counters::sum(snap.suites.iter().map(|s| &s.counters)));
    prop_assert_eq!(snap.billed_seconds, snap.suites.iter().map(|s| s.billed_seconds).sum::<i64>());
    prop_assert_eq!(snap.is_final, snap.status == ExecutionStatus::Completed);
    if snap.is_final {
        prop_assert_eq!(snap.counters.decided(), snap.counters.total, "a final job with an undecided test");
        prop_assert!(snap.result != ExecutionResult::Pending);
    }
    if snap.status == ExecutionStatus::Stopping {
        prop_assert!(job.times.stop_requested_ms.is_some_and(|s| s <= now), "STOPPING without a stop");
    }
    if job.stopped_before_setup() {
        prop_assert_eq!(snap.billed_seconds, 0, "stopped before setup, yet billed");
    }
    check_interrupted(job, snap)?;
    check_billing_span(job, snap)
}

/// The revised stop rule for simulated tests: none runs past stop + the grace recorded
/// with the stop, and teardown still runs its whole planned length. (A real job's test
/// phase ends when its host says; the runner enforces the grace there.)
fn check_interrupted(job: &Job, snap: &JobSnapshot) -> Result<(), TestCaseError> {
    let Driver::Simulated { plan, .. } = &job.driver else {
        return Ok(());
    };
    let (Some(stop), Some(grace)) = (job.times.stop_requested_ms, job.times.stop_grace_ms) else {
        return Ok(());
    };
    for t in &snap.suites[1].tests {
        if let Some(end) = t.stopped_ms {
            prop_assert!(end <= stop + grace, "{} ended at {}, after stop {} + grace {}", t.name, end, stop, grace);
        }
    }
    let teardown = &snap.suites[2].tests[0];
    if let (Some(started), Some(ended)) = (teardown.started_ms, teardown.stopped_ms) {
        prop_assert_eq!(ended - started, plan.teardown_ms, "teardown cut short");
    }
    Ok(())
}

/// Notes, "Billing unit": from the start of setup to the end of teardown, in whole seconds
/// rounded up. Each step is rounded on its own and summed (`billing.rs`), so the sum may
/// exceed the rounded span by less than a second per step, and equals it when every step
/// begins and ends on a whole second.
fn check_billing_span(job: &Job, snap: &JobSnapshot) -> Result<(), TestCaseError> {
    if !snap.is_final {
        return Ok(());
    }
    let Some(setup_started) = snap.suites[0].tests[0].started_ms else {
        prop_assert_eq!(snap.billed_seconds, 0, "billed without setup");
        return Ok(());
    };
    prop_assert_eq!(Some(setup_started), job.setup_start());
    let end = snap.stopped_ms.ok_or_else(|| TestCaseError::fail("final without an end"))?;
    let span = ceil_seconds(end - setup_started);
    let ran: Vec<(i64, i64)> = snap.tests().filter_map(|t| t.started_ms.zip(t.stopped_ms)).collect();
    let extra = i64::try_from(ran.len().saturating_sub(1)).unwrap_or(i64::MAX);
    prop_assert!(snap.billed_seconds >= span, "billed {} < span {}", snap.billed_seconds, span);
    prop_assert!(snap.billed_seconds <= span + extra, "billed {} > span {} + {}", snap.billed_seconds, span, extra);
    if ran.iter().all(|(s, e)| s % 1000 == 0 && e % 1000 == 0) && (end - setup_started) % 1000 == 0 {
        prop_assert_eq!(snap.billed_seconds, span);
    }
    Ok(())
}

/// An instance runs at most one job at a time: the stretches from each job's assignment
/// to its release never overlap on one instance, and every unfinished job that has an
/// instance is its holder.
fn check_instances(world: &World, snaps: &[JobSnapshot]) -> Result<(), TestCaseError> {
    let mut stretches: BTreeMap<&str, Vec<(i64, i64, usize)>> = BTreeMap::new();
    for (i, (job, snap)) in world.jobs.iter().zip(snaps).enumerate() {
        let (Some(instance), Some(assigned)) = (job.instance.as_deref(), job.times.assigned_ms) else {
            continue;
        };
        let released = if snap.is_final { snap.device_released_ms.unwrap_or(i64::MIN) } else { i64::MAX };
        prop_assert!(released >= assigned, "job {} released {} before its assignment {}", i, released, assigned);
        if !snap.is_final {
            prop_assert_eq!(world.holders.get(instance), Some(&i));
        }
        stretches.entry(instance).or_default().push((assigned, released, i));
    }
    for (instance, mut list) in stretches {
        list.sort();
        for pair in list.windows(2) {
            let ((_, released, a), (assigned, _, b)) = (pair[0], pair[1]);
            prop_assert!(assigned >= released, "{} ran jobs {} and {} at once", instance, a, b);
        }
    }
    Ok(())
}

/// Whole seconds half the time, so the rounded span must match the sum exactly then.
fn arb_ms() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), 0i64..40_000, (0i64..40).prop_map(|s| s * 1_000)]
}

fn arb_plan() -> impl Strategy<Value = JobPlan> {
    (arb_ms(), proptest::collection::vec((arb_ms(), arb_result()), 0..4), arb_ms()).prop_map(
        |(setup_ms, tests, teardown_ms)| JobPlan {
            setup_ms,
            tests: tests
                .into_iter()
                .enumerate()
                .map(|(i, (duration_ms, result))| TestPlan {
                    name: format!("t{i}"),
                    duration_ms,
                    result,
                    message: None,
                })
                .collect(),
            teardown_ms,
        },
    )
}

fn arb_prep() -> impl Strategy<Value = PrepDurations> {
    prop_oneof![
        Just(PrepDurations::default()),
        (0i64..3_000, 0i64..3_000, 0i64..3_000).prop_map(|(p, s, r)| PrepDurations {
            processing_ms: p,
            scheduling_ms: s,
            preparing_ms: r
        }),
    ]
}

fn arb_spec() -> impl Strategy<Value = JobSpec> {
    let cases = proptest::collection::vec(((0i64..20).prop_map(|s| s * 1_000), arb_result()), 0..3).prop_map(|cases| {
        cases
            .into_iter()
            .enumerate()
            .map(|(i, (duration_ms, result))| ObservedCase {
                name: format!("c{i}"),
                duration_ms,
                result,
                message: None,
            })
            .collect()
    });
    prop_oneof![
        2 => (arb_plan(), arb_prep()).prop_map(|(plan, prep)| JobSpec::Simulated(plan, prep)),
        1 => cases.prop_map(JobSpec::Real),
    ]
}

fn arb_schedule_run() -> impl Strategy<Value = Event> {
    (any::<bool>(), 1i32..=2, proptest::collection::vec((0usize..2, arb_spec()), 1..4))
        .prop_map(|(metered, timeout_minutes, jobs)| Event::ScheduleRun { metered, timeout_minutes, jobs })
}

fn arb_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        1 => arb_schedule_run(),
        4 => prop_oneof![Just(0i64), 1i64..3_000, (1i64..30).prop_map(|s| s * 1_000), 30_000i64..90_000].prop_map(Event::Advance),
        3 => Just(Event::AdvanceToNextChange),
        4 => Just(Event::SchedulerRound),
        1 => (0usize..3).prop_map(Event::ToggleInstance),
        2 => (0usize..8).prop_map(Event::StopJob),
        1 => (0usize..2).prop_map(Event::StopRun),
        1 => prop_oneof![Just(0i64), 1i64..20_000, (0i64..15).prop_map(|s| s * 1_000)].prop_map(Event::SetStopGrace),
        4 => (0usize..8, any::<u8>()).prop_map(|(job, choice)| Event::HostReports { job, choice }),
        1 => Just(Event::Restart),
    ]
}

/// A run first, so every sequence has jobs to act on.
fn arb_history() -> impl Strategy<Value = (i32, Vec<Event>)> {
    (1i32..4, arb_schedule_run(), proptest::collection::vec(arb_event(), 1..60))
        .prop_map(|(max, first, rest)| (max, std::iter::once(first).chain(rest).collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_interleaving_keeps_the_rules((max_concurrent, events) in arb_history()) {
        let mut world = World::new(max_concurrent);
        let mut seen = Seen::default();
        for (step, event) in events.iter().enumerate() {
            world.apply(event).map_err(|e| TestCaseError::fail(format!("step {step} {event:?}: {e}")))?;
            check(&world, &mut seen).map_err(|e| TestCaseError::fail(format!("after step {step} {event:?}: {e}")))?;
        }
    }

    /// Once every instance is available and time runs on, the scheduler drains the queue:
    /// no job is left waiting forever, and every run settles.
    #[test]
    fn every_job_eventually_settles((max_concurrent, events) in arb_history()) {
        let mut world = World::new(max_concurrent);
        let mut seen = Seen::default();
        for event in &events {
            world.apply(event)?;
        }
        world.unavailable.clear();
        for _ in 0..200 {
            world.apply(&Event::SchedulerRound)?;
            for j in 0..world.jobs.len() {
                world.apply(&Event::HostReports { job: j, choice: 2 })?;
            }
            world.apply(&Event::Advance(60_000))?;
            check(&world, &mut seen)?;
        }
        for (i, snap) in world.snapshots().iter().enumerate() {
            prop_assert!(snap.is_final, "job {} never settled: {:?}", i, snap.status);
        }
    }
}
