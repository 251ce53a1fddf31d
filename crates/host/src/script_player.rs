//! Playing a job's scenario on a device host (driver `scripted`): the plan's setup, tests
//! and teardown happen in real time, divided by the farm's time scale, and are reported
//! step by step exactly as a real run's would be, under the same stop rules (setup
//! finishes, the test in progress is stopped and the rest never start, teardown runs; the
//! deadline ends setup or tests and the job ERRORS). Nothing runs but timers: it is how a
//! farm's hosts, failover and load are exercised without devices.

use std::time::Duration;

use domain::job::observed::{ObservedCase, StepEnd};
use domain::job::plan::JobPlan;
use domain::job::report::{JobReport, Step};
use domain::job::status::ExecutionResult;

use crate::agent::{JobLink, LinkError};
use crate::runner::{CancelReason, CancelSignal};

/// Real time a plan's `ms` of service time takes at `time_scale`.
fn real(ms: i64, time_scale: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0) as f64 / 1000.0 / time_scale.max(f64::MIN_POSITIVE))
}

/// Waits `duration` unless `signal` fires first; returns what fired.
async fn wait(duration: Duration, signal: &mut CancelSignal) -> Option<CancelReason> {
    tokio::select! {
        () = tokio::time::sleep(duration) => None,
        reason = signal.fired() => Some(reason),
    }
}

fn interrupted(reason: CancelReason) -> StepEnd {
    match reason {
        CancelReason::Stop => StepEnd::Stopped,
        CancelReason::Timeout => StepEnd::TimedOut,
    }
}

/// Plays `plan` for `job_arn`, reporting through `link`, listening on `signal`.
pub async fn play(
    link: &dyn JobLink,
    job_arn: &str,
    plan: &JobPlan,
    time_scale: f64,
    signal: CancelSignal,
) -> Result<(), LinkError> {
    let ended = |step, end| JobReport::StepEnded { step, end, message: None };
    if signal.current().is_some() {
        // Stopped before its tests could start: nothing runs (StopEffect::EndsAtOnce).
        return link.report(job_arn, JobReport::Finished { cases: Vec::new(), artifacts: Vec::new() }).await;
    }
    link.report(job_arn, JobReport::StepStarted { step: Step::Setup }).await?;
    let mut setup_signal = signal.timeout_only();
    let setup_cut = wait(real(plan.setup_ms, time_scale), &mut setup_signal).await;
    link.report(job_arn, ended(Step::Setup, setup_cut.map_or(StepEnd::Succeeded, interrupted))).await?;

    let mut cases = Vec::new();
    if setup_cut.is_none() && signal.current().is_none() {
        link.report(job_arn, JobReport::StepStarted { step: Step::Tests }).await?;
        let mut tests_signal = signal.clone();
        let mut tests_end = StepEnd::Succeeded;
        for test in &plan.tests {
            let started = tokio::time::Instant::now();
            if let Some(reason) = wait(real(test.duration_ms, time_scale), &mut tests_signal).await {
                let ran_ms = (started.elapsed().as_secs_f64() * 1000.0 * time_scale) as i64;
                let result = match reason {
                    CancelReason::Stop => ExecutionResult::Stopped,
                    CancelReason::Timeout => ExecutionResult::Errored,
                };
                cases.push(ObservedCase { name: test.name.clone(), duration_ms: ran_ms, result, message: None });
                tests_end = interrupted(reason);
                break;
            }
            cases.push(ObservedCase {
                name: test.name.clone(),
                duration_ms: test.duration_ms,
                result: test.result,
                message: test.message.clone(),
            });
        }
        link.report(job_arn, ended(Step::Tests, tests_end)).await?;
    }

    link.report(job_arn, JobReport::StepStarted { step: Step::Teardown }).await?;
    tokio::time::sleep(real(plan.teardown_ms, time_scale)).await;
    link.report(job_arn, ended(Step::Teardown, StepEnd::Succeeded)).await?;
    link.report(job_arn, JobReport::Finished { cases, artifacts: Vec::new() }).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::protocol::Assignment;
    use crate::agent::Orders;
    use crate::runner::Canceller;
    use domain::job::plan::TestPlan;
    use std::path::Path;
    use std::sync::Mutex;

    /// Records the reports, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<JobReport>>);

    #[async_trait::async_trait]
    impl JobLink for Recorder {
        async fn orders(&self, _: &str) -> Result<Orders, LinkError> {
            Ok(Orders::default())
        }
        async fn assignment(&self, _: &str) -> Result<Assignment, LinkError> {
            Err(LinkError::Gone("not used".into()))
        }
        async fn fetch_input(&self, _: &str, _: &str, _: &Path) -> Result<(), LinkError> {
            Ok(())
        }
        async fn report(&self, _: &str, report: JobReport) -> Result<(), LinkError> {
            self.0.lock().map_err(|_| LinkError::Unavailable("poisoned".into()))?.push(report);
            Ok(())
        }
        async fn put_output(&self, _: &str, _: &Path) -> Result<(), LinkError> {
            Ok(())
        }
        async fn put_artifact(&self, _: &str, _: u32, _: &Path) -> Result<String, LinkError> {
            Ok(String::new())
        }
    }

    fn plan() -> JobPlan {
        let test = |name: &str, result| TestPlan { name: name.into(), duration_ms: 10_000, result, message: None };
        JobPlan {
            setup_ms: 5_000,
            tests: vec![
                test("a", ExecutionResult::Passed),
                test("b", ExecutionResult::Failed),
                test("c", ExecutionResult::Passed),
            ],
            teardown_ms: 5_000,
        }
    }

    fn reports(recorder: &Recorder) -> Vec<JobReport> {
        recorder.0.lock().expect("lock").clone()
    }

    #[tokio::test(start_paused = true)]
    async fn a_whole_plan_is_reported_step_by_step_at_the_time_scale() {
        let recorder = Recorder::default();
        let (_canceller, signal) = Canceller::new();
        let started = tokio::time::Instant::now();
        play(&recorder, "job", &plan(), 10.0, signal).await.expect("played");
        // 5 + 30 + 5 s of plan at 10× = 4 s.
        assert_eq!(started.elapsed(), Duration::from_secs(4));
        let reports = reports(&recorder);
        let JobReport::Finished { cases, .. } = reports.last().expect("finished") else { panic!("{reports:?}") };
        assert_eq!(
            cases.iter().map(|c| (c.name.as_str(), c.result)).collect::<Vec<_>>(),
            [("a", ExecutionResult::Passed), ("b", ExecutionResult::Failed), ("c", ExecutionResult::Passed)]
        );
        assert_eq!(reports.len(), 7, "three steps started and ended, then finished: {reports:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_during_the_tests_stops_the_current_one_and_skips_the_rest_but_teardown_runs() {
        let recorder = std::sync::Arc::new(Recorder::default());
        let (canceller, signal) = Canceller::new();
        let player = {
            let recorder = recorder.clone();
            tokio::spawn(async move { play(recorder.as_ref(), "job", &plan(), 1.0, signal).await })
        };
        // Setup 5 s, test a 10 s, then 3 s into test b.
        tokio::time::sleep(Duration::from_secs(18)).await;
        canceller.stop();
        player.await.expect("join").expect("played");
        let reports = reports(&recorder);
        assert!(reports.contains(&JobReport::StepEnded { step: Step::Tests, end: StepEnd::Stopped, message: None }));
        assert!(reports.contains(&JobReport::StepEnded {
            step: Step::Teardown,
            end: StepEnd::Succeeded,
            message: None
        }));
        let JobReport::Finished { cases, .. } = reports.last().expect("finished") else { panic!() };
        assert_eq!(
            cases.iter().map(|c| (c.name.as_str(), c.result)).collect::<Vec<_>>(),
            [("a", ExecutionResult::Passed), ("b", ExecutionResult::Stopped)]
        );
        assert_eq!(cases[1].duration_ms, 3_000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_during_setup_lets_it_finish_and_no_test_starts() {
        let recorder = std::sync::Arc::new(Recorder::default());
        let (canceller, signal) = Canceller::new();
        let player = {
            let recorder = recorder.clone();
            tokio::spawn(async move { play(recorder.as_ref(), "job", &plan(), 1.0, signal).await })
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        canceller.stop();
        player.await.expect("join").expect("played");
        let reports = reports(&recorder);
        assert!(
            reports.contains(&JobReport::StepEnded { step: Step::Setup, end: StepEnd::Succeeded, message: None }),
            "{reports:?}"
        );
        assert!(!reports.contains(&JobReport::StepStarted { step: Step::Tests }));
        assert!(reports.contains(&JobReport::StepStarted { step: Step::Teardown }));
    }
}
