//! A simulated job's "Test spec output": the transcript a real job's runner would have
//! written, phase by phase, for the course the job actually took.
//!
//! The phases map onto the job's steps as on a real job (notes: install + pre_test are the
//! setup, test is the tests, post_test the teardown), with the commands of the default spec
//! of the job's test type on a device of its platform. Every instant comes from the job's
//! snapshot, which reads the resolved timeline: a stop or a timeout shows here exactly as
//! GetJob and ListTests report it, and nothing is recomputed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::device::DevicePlatform;
use domain::job::snapshot::{JobSnapshot, TestSnapshot};
use domain::job::status::ExecutionResult;
use domain::run::Job;

use host::default_specs::{buildable_spec, DefaultSpecInput, DeviceTarget, TestPackageForm};
use host::uploads::TestSpec;

const SETUP: usize = 0;
const TESTS: usize = 1;
const TEARDOWN: usize = 2;

fn stamp(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// The commands each phase runs: the default spec of the job's test type, built as for a
/// device of the job's platform, or, where farmhand has no default that runs there, why.
fn spec_for(job: &Job) -> Result<TestSpec, String> {
    let target = match job.device.platform {
        // The simulated device has no adb of its own; "adb" is what the spec would call.
        DevicePlatform::Android => DeviceTarget::Android { adb: PathBuf::from("adb") },
        DevicePlatform::Ios => DeviceTarget::Host,
    };
    buildable_spec(&DefaultSpecInput {
        test_type: job.test_type,
        parameters: BTreeMap::new(),
        filter: None,
        app_package: None,
        target,
        package: TestPackageForm::Unpacked,
    })
}

struct Transcript(String);

impl Transcript {
    fn line(&mut self, at: i64, text: &str) {
        let _ = writeln!(self.0, "{} {text}", stamp(at));
    }

    fn phase(&mut self, at: i64, name: &str, commands: &[String]) {
        self.line(at, &format!("[DeviceFarm] Entering the {name} phase"));
        for command in commands {
            self.line(at, &format!("[DeviceFarm] {command}"));
        }
    }

    fn phase_end(&mut self, at: i64, name: &str, result: ExecutionResult) {
        let how = match result {
            ExecutionResult::Passed => "completed".to_owned(),
            ExecutionResult::Stopped => "was stopped".to_owned(),
            other => format!("ended {}", other.as_str()),
        };
        self.line(at, &format!("[DeviceFarm] The {name} phase {how}"));
    }
}

fn step(snapshot: &JobSnapshot, suite: usize) -> impl Iterator<Item = &TestSnapshot> {
    snapshot.suites.get(suite).into_iter().flat_map(|s| &s.tests)
}

/// The transcript at this snapshot: everything that has happened so far, in time order.
pub fn testspec_output(job: &Job, snapshot: &JobSnapshot) -> String {
    let mut out = Transcript(String::new());
    let Some(started) = snapshot.started_ms else {
        return out.0;
    };
    out.line(
        started,
        &format!(
            "[DeviceFarm] Device {} ({} {}) assigned",
            job.device.name,
            job.device.platform.as_str(),
            job.device.os.as_str()
        ),
    );
    let spec = spec_for(job);
    let (install, pre_test, test, post_test) = match &spec {
        Ok(spec) => {
            let p = &spec.phases;
            (p.install.clone(), p.pre_test.clone(), p.test.clone(), p.post_test.clone())
        }
        Err(reason) => {
            out.line(started, &format!("[DeviceFarm] No default test spec runs here ({reason}); the simulated device runs the package's tests itself"));
            Default::default()
        }
    };

    for setup in step(snapshot, SETUP) {
        let Some(at) = setup.started_ms else { continue };
        out.phase(at, "install", &install);
        out.phase(at, "pre_test", &pre_test);
        if let Some(end) = setup.stopped_ms {
            out.phase_end(end, "pre_test", setup.result);
        }
    }

    let tests: Vec<&TestSnapshot> = step(snapshot, TESTS).collect();
    if let Some(first) = tests.iter().find_map(|t| t.started_ms) {
        out.phase(first, "test", &test);
        for t in &tests {
            let Some(at) = t.started_ms else { continue };
            out.line(at, &format!("[TestRunner] started: {}", t.name));
            if let Some(end) = t.stopped_ms {
                let message = t.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                out.line(end, &format!("[TestRunner] finished: {} {}{message}", t.name, t.result.as_str()));
            }
        }
        let last_end =
            tests.iter().filter(|t| t.started_ms.is_some()).map(|t| t.stopped_ms).collect::<Option<Vec<_>>>();
        if let Some(end) = last_end.and_then(|ends| ends.into_iter().max()) {
            let suite_result = snapshot.suites.get(TESTS).map_or(ExecutionResult::Pending, |s| s.result);
            out.phase_end(end, "test", suite_result);
        }
    }

    for teardown in step(snapshot, TEARDOWN) {
        let Some(at) = teardown.started_ms else { continue };
        out.phase(at, "post_test", &post_test);
        if let Some(end) = teardown.stopped_ms {
            out.phase_end(end, "post_test", teardown.result);
        }
    }

    if let (Some(end), true) = (snapshot.stopped_ms, snapshot.is_final) {
        let message = snapshot.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
        out.line(end, &format!("[DeviceFarm] Job {} {}{message}", snapshot.status.as_str(), snapshot.result.as_str()));
    }
    out.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fixtures::{finished, job, seen, test, ASSIGNED_MS};

    /// Setup starts after the default prep (4 s); setup 5 s, then the tests.
    const SETUP_START: i64 = ASSIGNED_MS + 4_000;
    const TESTS_START: i64 = SETUP_START + 5_000;

    fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.contains(needle)).collect()
    }

    #[test]
    fn phases_carry_the_default_specs_commands_tests_and_results_on_the_timeline() {
        let job = job(
            DevicePlatform::Android,
            "APPIUM_PYTHON",
            vec![
                test("test_login", 3, ExecutionResult::Passed, None),
                test("test_checkout", 4, ExecutionResult::Failed, Some("expected 200, got 500")),
            ],
        );
        let text = testspec_output(&job, &finished(&job, None));
        let phases: Vec<&str> = lines_with(&text, "Entering the")
            .into_iter()
            .map(|l| l.rsplit("the ").next().unwrap_or_default())
            .collect();
        assert_eq!(phases, ["install phase", "pre_test phase", "test phase", "post_test phase"]);
        // The default Appium Python spec's own commands, in its phases.
        assert!(text.contains("[DeviceFarm] cd \"$DEVICEFARM_TEST_PACKAGE_PATH\""), "{text}");
        assert!(text.contains("-m pytest --junitxml="), "{text}");
        assert!(text.contains(&format!("{} [TestRunner] started: test_login", stamp(TESTS_START))), "{text}");
        assert!(
            text.contains(&format!("{} [TestRunner] finished: test_login PASSED", stamp(TESTS_START + 3_000))),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "{} [TestRunner] finished: test_checkout FAILED: expected 200, got 500",
                stamp(TESTS_START + 7_000)
            )),
            "{text}"
        );
        assert!(text.contains("The test phase ended FAILED"), "{text}");
        assert!(text.contains("] Job COMPLETED FAILED: expected 200, got 500"), "{text}");
        // Time order throughout: the stamps are ISO 8601, so text order is time order.
        let stamps: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap_or_default()).collect();
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{text}");
    }

    #[test]
    fn a_stop_shows_as_the_timeline_resolved_it() {
        let job = job(
            DevicePlatform::Android,
            "APPIUM_PYTHON",
            vec![test("long", 1_800, ExecutionResult::Passed, None), test("next", 5, ExecutionResult::Passed, None)],
        );
        let stop = TESTS_START + 60_000;
        let snapshot = finished(&job, Some(stop));
        let text = testspec_output(&job, &snapshot);
        let long = snapshot.suites[1].tests[0].clone();
        let end = long.stopped_ms.expect("the test ended");
        assert!(
            text.contains(&format!("{} [TestRunner] finished: long {}", stamp(end), long.result.as_str())),
            "{text}"
        );
        // The test after the stop never started, and teardown still ran.
        assert!(!text.contains("started: next"), "{text}");
        assert!(text.contains("Entering the post_test phase"), "{text}");
        assert!(text.contains(&format!("] Job {} {}", snapshot.status.as_str(), snapshot.result.as_str())), "{text}");
    }

    #[test]
    fn a_running_job_shows_what_happened_so_far() {
        let job = job(DevicePlatform::Android, "APPIUM_PYTHON", vec![test("t", 10, ExecutionResult::Passed, None)]);
        let text = testspec_output(&job, &seen(&job, None, TESTS_START + 1_000));
        assert!(text.contains("started: t"), "{text}");
        assert!(!text.contains("finished: t"), "{text}");
        assert!(!text.contains("post_test"), "{text}");
        assert_eq!(testspec_output(&job, &seen(&job, None, ASSIGNED_MS - 1)), "");
    }

    #[test]
    fn a_type_without_a_runnable_default_says_so_instead_of_failing_commands() {
        let job = job(DevicePlatform::Ios, "XCTEST", vec![test("t", 1, ExecutionResult::Passed, None)]);
        let text = testspec_output(&job, &finished(&job, None));
        assert!(text.contains("No default test spec runs here (XCTEST tests need an iOS device"), "{text}");
        assert!(!text.contains("exit 1"), "{text}");
        assert!(text.contains("finished: t PASSED"), "{text}");
    }
}
