//! What a device host tells the control plane about a real job it runs, and how each
//! report changes the job's [`ObservedJob`].
//!
//! Every report may be applied twice with no further effect (a step starts once, ends
//! once; a finished job takes nothing more): a host resends what it is not sure arrived.
//!
//! Reports carry no instants: the control plane stamps each with its own service clock
//! when it applies it. A host's clock may be off, and the service clock may run scaled
//! (`--time-scale`); billing and timeouts must use one clock, the control plane's. A report
//! crosses the network in milliseconds, which is far below the billing unit (a second).

use serde::{Deserialize, Serialize};

use super::observed::{ObservedCase, ObservedJob, ObservedStep, StepEnd};
use crate::run::JobArtifact;

/// The three observed steps (notes: install + pre_test = setup, test, post_test = teardown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Step {
    Setup,
    Tests,
    Teardown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobReport {
    /// A step began. Setup spans two spec phases: its second start changes nothing, nor
    /// does a resent one.
    StepStarted {
        step: Step,
    },
    StepEnded {
        step: Step,
        end: StepEnd,
        message: Option<String>,
    },
    /// The device went away under the job: the steps it cut end ERRORED with `message`
    /// (a stop that the loss caused is not the customer's stop).
    DeviceLost {
        message: String,
    },
    /// The host is done with the device: the job's end. Its test cases and stored files.
    Finished {
        cases: Vec<ObservedCase>,
        artifacts: Vec<JobArtifact>,
    },
    /// The host could not run the job (or lost it): the step in progress, or a setup
    /// that never began, ends ERRORED with `message`, and the job ends.
    Failed {
        message: String,
    },
}

/// Applies `report` at `now_ms`. A job that has finished takes no more reports: the
/// first end wins, as with stops.
pub fn apply(observed: &mut ObservedJob, artifacts: &mut Vec<JobArtifact>, report: &JobReport, now_ms: i64) {
    if observed.finished_ms.is_some() {
        return;
    }
    match report {
        JobReport::StepStarted { step } => {
            let slot = slot(observed, *step);
            if slot.is_none() {
                *slot = Some(ObservedStep { started_ms: now_ms, ended_ms: None, end: None, message: None });
            }
        }
        JobReport::StepEnded { step, end, message } => {
            if let Some(open) = slot(observed, *step).as_mut().filter(|s| s.ended_ms.is_none()) {
                open.ended_ms = Some(now_ms);
                open.end = Some(*end);
                open.message = message.clone();
            }
        }
        JobReport::DeviceLost { message } => {
            for step in [&mut observed.setup, &mut observed.tests].into_iter().flatten() {
                if step.end == Some(StepEnd::Stopped) || step.end.is_none() {
                    step.end = Some(StepEnd::Errored);
                    step.message = Some(message.clone());
                    step.ended_ms.get_or_insert(now_ms);
                }
            }
        }
        JobReport::Finished { cases, artifacts: stored } => {
            observed.cases = cases.clone();
            *artifacts = stored.clone();
            observed.finished_ms = Some(now_ms);
        }
        JobReport::Failed { message } => {
            let never_started = observed.setup.is_none();
            let open = [&mut observed.setup, &mut observed.tests, &mut observed.teardown]
                .into_iter()
                .flatten()
                .find(|s| s.ended_ms.is_none());
            // A job ended as of its host's last sign of life may have begun a step after
            // it: that step ends where it began, never before.
            let mut end_ms = now_ms;
            if let Some(step) = open {
                end_ms = end_ms.max(step.started_ms);
                *step = ObservedStep {
                    started_ms: step.started_ms,
                    ended_ms: Some(end_ms),
                    end: Some(StepEnd::Errored),
                    message: Some(message.clone()),
                };
            } else if never_started {
                observed.setup = Some(ObservedStep {
                    started_ms: now_ms,
                    ended_ms: Some(now_ms),
                    end: Some(StepEnd::Errored),
                    message: Some(message.clone()),
                });
            }
            let latest_end = [&observed.setup, &observed.tests, &observed.teardown]
                .into_iter()
                .flatten()
                .filter_map(|s| s.ended_ms)
                .max();
            observed.finished_ms = Some(latest_end.map_or(end_ms, |e| e.max(end_ms)));
        }
    }
}

fn slot(observed: &mut ObservedJob, step: Step) -> &mut Option<ObservedStep> {
    match step {
        Step::Setup => &mut observed.setup,
        Step::Tests => &mut observed.tests,
        Step::Teardown => &mut observed.teardown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(reports: &[(JobReport, i64)]) -> (ObservedJob, Vec<JobArtifact>) {
        let mut observed = ObservedJob::default();
        let mut artifacts = Vec::new();
        for (report, at) in reports {
            apply(&mut observed, &mut artifacts, report, *at);
        }
        (observed, artifacts)
    }

    #[test]
    fn setup_starts_once_and_steps_end_with_the_reported_end() {
        let (observed, _) = applied(&[
            (JobReport::StepStarted { step: Step::Setup }, 10),
            (JobReport::StepStarted { step: Step::Setup }, 20),
            (JobReport::StepEnded { step: Step::Setup, end: StepEnd::Succeeded, message: None }, 30),
            (JobReport::StepStarted { step: Step::Tests }, 30),
            (JobReport::StepEnded { step: Step::Tests, end: StepEnd::Failed, message: Some("exit 1".into()) }, 45),
        ]);
        let setup = observed.setup.expect("setup");
        assert_eq!((setup.started_ms, setup.ended_ms, setup.end), (10, Some(30), Some(StepEnd::Succeeded)));
        let tests = observed.tests.expect("tests");
        assert_eq!(
            (tests.ended_ms, tests.end, tests.message.as_deref()),
            (Some(45), Some(StepEnd::Failed), Some("exit 1"))
        );
    }

    #[test]
    fn a_failure_errors_the_open_step_or_a_setup_that_never_began_and_ends_the_job() {
        let (observed, _) = applied(&[
            (JobReport::StepStarted { step: Step::Setup }, 10),
            (JobReport::Failed { message: "host lost".into() }, 50),
        ]);
        let setup = observed.setup.expect("setup");
        assert_eq!((setup.started_ms, setup.ended_ms, setup.end), (10, Some(50), Some(StepEnd::Errored)));
        assert_eq!(observed.finished_ms, Some(50));

        let (observed, _) = applied(&[(JobReport::Failed { message: "no workspace".into() }, 7)]);
        assert_eq!(observed.setup.map(|s| (s.started_ms, s.ended_ms)), Some((7, Some(7))));
    }

    #[test]
    fn a_failure_dated_before_the_open_step_began_ends_it_where_it_began() {
        let (observed, _) = applied(&[
            (JobReport::StepStarted { step: Step::Setup }, 100),
            (JobReport::Failed { message: "host silent".into() }, 40),
        ]);
        let setup = observed.setup.expect("setup");
        assert_eq!((setup.started_ms, setup.ended_ms), (100, Some(100)));
        assert_eq!(observed.finished_ms, Some(100));
    }

    #[test]
    fn nothing_changes_a_finished_job() {
        let finished = JobReport::Finished { cases: vec![], artifacts: vec![] };
        let (observed, _) = applied(&[
            (JobReport::StepStarted { step: Step::Teardown }, 1),
            (JobReport::StepEnded { step: Step::Teardown, end: StepEnd::Succeeded, message: None }, 2),
            (finished, 3),
            (JobReport::Failed { message: "late".into() }, 9),
            (JobReport::StepStarted { step: Step::Tests }, 9),
        ]);
        assert_eq!(observed.finished_ms, Some(3));
        assert!(observed.tests.is_none());
    }

    #[test]
    fn a_lost_device_errors_the_cut_steps_not_the_finished_ones() {
        let (observed, _) = applied(&[
            (JobReport::StepStarted { step: Step::Setup }, 1),
            (JobReport::StepEnded { step: Step::Setup, end: StepEnd::Succeeded, message: None }, 2),
            (JobReport::StepStarted { step: Step::Tests }, 2),
            (JobReport::StepEnded { step: Step::Tests, end: StepEnd::Stopped, message: None }, 5),
            (JobReport::DeviceLost { message: "unplugged".into() }, 6),
        ]);
        assert_eq!(observed.setup.and_then(|s| s.end), Some(StepEnd::Succeeded));
        let tests = observed.tests.expect("tests");
        assert_eq!(
            (tests.end, tests.message.as_deref(), tests.ended_ms),
            (Some(StepEnd::Errored), Some("unplugged"), Some(5))
        );
    }

    #[test]
    fn every_report_applied_twice_changes_nothing_more() {
        let reports = [
            JobReport::StepStarted { step: Step::Setup },
            JobReport::StepEnded { step: Step::Setup, end: StepEnd::Succeeded, message: None },
            JobReport::StepStarted { step: Step::Tests },
            JobReport::StepEnded { step: Step::Tests, end: StepEnd::Failed, message: Some("x".into()) },
            JobReport::StepStarted { step: Step::Teardown },
            JobReport::StepEnded { step: Step::Teardown, end: StepEnd::Succeeded, message: None },
            JobReport::Finished { cases: vec![], artifacts: vec![] },
        ];
        let once: Vec<(JobReport, i64)> = reports.iter().cloned().enumerate().map(|(i, r)| (r, i as i64)).collect();
        let twice: Vec<(JobReport, i64)> = reports
            .iter()
            .cloned()
            .enumerate()
            .flat_map(|(i, r)| [(r.clone(), i as i64), (r, i as i64 + 100)])
            .collect();
        assert_eq!(applied(&once), applied(&twice));
    }

    #[test]
    fn reports_cross_the_wire_unchanged() {
        let report = JobReport::StepEnded { step: Step::Tests, end: StepEnd::TimedOut, message: None };
        let text = serde_json::to_string(&report).expect("json");
        assert!(text.contains("\"report\":\"STEP_ENDED\""), "{text}");
        assert_eq!(serde_json::from_str::<JobReport>(&text).expect("parsed"), report);
    }
}
