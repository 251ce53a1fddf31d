//! The runner against real processes: `/bin/sh`, `sleep`, signals and the process table.
//! Grace periods are short so each test takes at most a second or two.
//!
//! "No process left" means no *running* member of the group: orphans reparented to a
//! PID 1 that does not reap (as in some containers) stay zombies, which run nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use domain::clock::Clock;

use super::process_table::live_members;
use super::*;
use crate::uploads::{InspectLimits, Phases, TestSpec};

/// Each reading is one more than the last: instants are ordered and exact.
struct TickClock(AtomicI64);

impl Clock for TickClock {
    fn now_ms(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

struct Job {
    _tmp: tempfile::TempDir,
    ws: Workspace,
    env: JobEnv,
    runner: Runner,
}

impl Job {
    fn new(grace_ms: u64) -> Job {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = Workspace::create(tmp.path(), "job", None, None, &InspectLimits::default()).expect("workspace");
        let mut env = JobEnv::new();
        env.set_workspace_paths(&ws);
        env.set("DEVICEFARM_DEVICE_NAME", "Host").expect("set");
        env.add_user_variables([("MY_VAR", "my value")]).expect("user variable");
        let config = RunnerConfig { grace: Duration::from_millis(grace_ms), ..RunnerConfig::default() };
        let runner = Runner::new(config, Arc::new(TickClock(AtomicI64::new(1_000))));
        Job { _tmp: tmp, ws, env, runner }
    }

    /// A file the commands can reach as `$DEVICEFARM_LOG_DIR/<name>`.
    fn file(&self, name: &str) -> PathBuf {
        self.ws.log_dir().join(name)
    }

    async fn phase(&self, phase: Phase, commands: &[&str], cancel: CancelSignal) -> PhaseReport {
        self.runner.run_phase(&self.ws, phase, &strings(commands), &self.env, cancel).await
    }

    async fn spec(&self, spec: &TestSpec, cancel: CancelSignal) -> SpecReport {
        self.runner.run_spec(&self.ws, spec, &self.env, cancel).await
    }
}

fn strings(commands: &[&str]) -> Vec<String> {
    commands.iter().map(|c| (*c).to_owned()).collect()
}

fn spec(install: &[&str], pre_test: &[&str], test: &[&str], post_test: &[&str]) -> TestSpec {
    TestSpec {
        phases: Phases {
            install: strings(install),
            pre_test: strings(pre_test),
            test: strings(test),
            post_test: strings(post_test),
        },
        ..TestSpec::default()
    }
}

/// `touch`es a marker named after each phase, so the files show which phases ran.
fn marker_spec(install: &str, test: &str, post_test: &str) -> TestSpec {
    spec(
        &[install, "touch \"$DEVICEFARM_LOG_DIR/install\""],
        &["touch \"$DEVICEFARM_LOG_DIR/pre_test\""],
        &[test, "touch \"$DEVICEFARM_LOG_DIR/test\""],
        &[post_test, "touch \"$DEVICEFARM_LOG_DIR/post_test\""],
    )
}

fn ran(job: &Job) -> Vec<&'static str> {
    Phase::ALL.iter().map(|p| p.name()).filter(|name| job.file(name).exists()).collect()
}

async fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if !text.is_empty() {
                return text;
            }
        }
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "condition never held");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whether the process whose pid is in `pid_file` still runs (a zombie does not).
fn is_running(pid_file: &Path) -> bool {
    let pid = fs::read_to_string(pid_file).expect("pid file");
    let stat = fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

/// Running `sleep` processes of the group.
fn sleeps_in(pgid: i32) -> usize {
    live_members(pgid)
        .into_iter()
        .filter(|pid| fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep"))
        .count()
}

async fn pgid_written_to(path: &Path) -> i32 {
    wait_for_file(path).await.trim().parse().expect("a pgid")
}

fn epoch_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_nanos()
}

#[tokio::test]
async fn phases_run_in_order_with_the_job_variables_and_nothing_else() {
    let inherited = "CARGO_MANIFEST_DIR";
    assert!(std::env::var(inherited).is_ok(), "cargo sets it for tests");
    let job = Job::new(300);
    let order = "echo $0 >/dev/null; echo";
    let spec = spec(
        &[&format!("{order} install >> \"$DEVICEFARM_LOG_DIR/order\"")],
        &[&format!("{order} pre_test >> \"$DEVICEFARM_LOG_DIR/order\"")],
        &[
            "env > \"$DEVICEFARM_LOG_DIR/env.txt\"",
            "cd package && pwd > \"$DEVICEFARM_LOG_DIR/cwd\"",
            "echo test >> \"$DEVICEFARM_LOG_DIR/order\"",
        ],
        &["echo post_test >> \"$DEVICEFARM_LOG_DIR/order\""],
    );
    let report = job.spec(&spec, CancelSignal::never()).await;

    assert_eq!(fs::read_to_string(job.file("order")).expect("order"), "install\npre_test\ntest\npost_test\n");
    let env = fs::read_to_string(job.file("env.txt")).expect("env");
    let root = job.ws.root().to_string_lossy().into_owned();
    for expected in [
        "MY_VAR=my value".to_owned(),
        "DEVICEFARM_DEVICE_NAME=Host".to_owned(),
        format!("DEVICEFARM_LOG_DIR={root}/logs"),
        format!("DEVICEFARM_TEST_PACKAGE_PATH={root}/package"),
        format!("HOME={}", job.ws.home_dir().display()),
        "LANG=C.UTF-8".to_owned(),
    ] {
        assert!(env.lines().any(|l| l == expected), "{expected} missing:\n{env}");
    }
    assert!(!env.contains(inherited), "farmhand's environment leaked:\n{env}");
    // One shell per phase: a `cd` carries over to the next command.
    assert_eq!(fs::read_to_string(job.file("cwd")).expect("cwd").trim(), job.ws.package_dir().to_string_lossy());

    let phases: Vec<&PhaseReport> = Phase::ALL.iter().map(|p| report.phase(*p).expect("ran")).collect();
    assert!(phases.iter().all(|p| p.outcome == PhaseOutcome::Succeeded));
    for pair in phases.windows(2) {
        assert!(pair[0].started_ms < pair[0].ended_ms);
        assert!(pair[0].ended_ms < pair[1].started_ms, "{pair:?}");
    }
    assert!(!report.setup_errored());
    assert_eq!(report.cancelled, None);
}

#[tokio::test]
async fn a_failing_command_fails_the_phase_naming_it_and_skips_the_rest() {
    let job = Job::new(300);
    let report = job
        .phase(
            Phase::Test,
            &["true", "echo output; exit 3", "touch \"$DEVICEFARM_LOG_DIR/after\""],
            CancelSignal::never(),
        )
        .await;
    assert_eq!(
        report.outcome,
        PhaseOutcome::Failed {
            exit_code: Some(3),
            signal: None,
            failed_command: Some("echo output; exit 3".to_owned()),
        }
    );
    assert!(!job.file("after").exists());
    let log = fs::read_to_string(&report.log).expect("log");
    assert!(log.contains("[farmhand] $ echo output; exit 3\noutput\n"), "{log}");
    assert!(log.ends_with("[farmhand] test failed with exit code 3 in command: echo output; exit 3\n"), "{log}");

    let killed = job.phase(Phase::Test, &["kill -9 $$"], CancelSignal::never()).await;
    assert_eq!(
        killed.outcome,
        PhaseOutcome::Failed { exit_code: None, signal: Some(9), failed_command: Some("kill -9 $$".to_owned()) }
    );
}

#[tokio::test]
async fn a_failing_test_still_runs_post_test_and_is_not_a_setup_error() {
    let job = Job::new(300);
    let report = job.spec(&marker_spec("true", "false", "true"), CancelSignal::never()).await;
    assert_eq!(ran(&job), ["install", "pre_test", "post_test"]);
    assert!(matches!(report.test.as_ref().map(|p| &p.outcome), Some(PhaseOutcome::Failed { exit_code: Some(1), .. })));
    assert!(!report.setup_errored());
}

#[tokio::test]
async fn a_failing_install_skips_pre_test_and_test_but_runs_post_test() {
    let job = Job::new(300);
    let report = job.spec(&marker_spec("exit 7", "true", "true"), CancelSignal::never()).await;
    assert_eq!(ran(&job), ["post_test"]);
    assert!(report.setup_errored());
    assert!(report.pre_test.is_none() && report.test.is_none());
    assert_eq!(report.post_test.map(|p| p.outcome), Some(PhaseOutcome::Succeeded));
}

#[tokio::test]
async fn a_stop_during_setup_lets_setup_finish_skips_test_and_runs_post_test() {
    let job = Job::new(300);
    let (canceller, signal) = Canceller::new();
    let started = Instant::now();
    let spec = marker_spec("sleep 0.5", "true", "true");
    let run = job.spec(&spec, signal);
    let stop = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        canceller.stop();
    };
    let (report, ()) = tokio::join!(run, stop);
    assert!(started.elapsed() >= Duration::from_millis(500), "install was cut short");
    assert_eq!(ran(&job), ["install", "pre_test", "post_test"]);
    assert_eq!(report.install.map(|p| p.outcome), Some(PhaseOutcome::Succeeded));
    assert!(report.test.is_none());
    assert_eq!(report.cancelled, Some(CancelReason::Stop));
}

#[tokio::test]
async fn a_stop_during_the_test_terminates_its_whole_group_then_runs_post_test() {
    let job = Job::new(3_000);
    let (canceller, signal) = Canceller::new();
    let test = "echo $$ > \"$DEVICEFARM_LOG_DIR/pgid\"; \
                trap 'date +%s%N > \"$DEVICEFARM_LOG_DIR/term\"; exit 143' TERM; \
                sleep 100 & sleep 30";
    let spec = marker_spec("true", test, "true");
    let run = job.spec(&spec, signal);
    let stop = async {
        let pgid = pgid_written_to(&job.file("pgid")).await;
        // Both sleeps exec'd: a child signalled between fork and exec would still run
        // the shell's trap handler, swallow SIGTERM and need SIGKILL.
        wait_until(|| sleeps_in(pgid) == 2).await;
        assert_eq!(live_members(pgid).len(), 3, "the shell and its two sleeps");
        let stopped_at = epoch_ns();
        canceller.stop();
        (pgid, stopped_at, Instant::now())
    };
    let (report, (pgid, stopped_at_ns, stopped_at)) = tokio::join!(run, stop);

    let test = report.test.expect("test ran");
    assert_eq!(test.outcome, PhaseOutcome::Stopped);
    assert!(!test.killed_after_grace, "SIGTERM was enough");
    let term_ns: u128 =
        fs::read_to_string(job.file("term")).expect("the shell got SIGTERM").trim().parse().expect("nanoseconds");
    let latency = Duration::from_nanos(u64::try_from(term_ns - stopped_at_ns).expect("fits"));
    assert!(latency < Duration::from_millis(250), "SIGTERM after {latency:?}");
    assert!(stopped_at.elapsed() < Duration::from_secs(2), "did not wait out the grace");
    assert!(live_members(pgid).is_empty(), "{:?}", live_members(pgid));
    assert_eq!(ran(&job), ["install", "pre_test", "post_test"]);
    assert_eq!(report.cancelled, Some(CancelReason::Stop));
}

#[tokio::test]
async fn a_command_ignoring_sigterm_gets_sigkill_after_the_grace_period() {
    let job = Job::new(300);
    let (canceller, signal) = Canceller::new();
    let run = job.phase(Phase::Test, &["echo $$ > \"$DEVICEFARM_LOG_DIR/pgid\"", "trap '' TERM; sleep 30"], signal);
    let stop = async {
        let pgid = pgid_written_to(&job.file("pgid")).await;
        // Once `sleep` runs, the trap before it is set.
        wait_until(|| sleeps_in(pgid) == 1).await;
        canceller.stop();
        (pgid, Instant::now())
    };
    let (report, (pgid, stopped_at)) = tokio::join!(run, stop);
    let took = stopped_at.elapsed();
    assert_eq!(report.outcome, PhaseOutcome::Stopped);
    assert!(report.killed_after_grace);
    assert!(took >= Duration::from_millis(300), "killed before the grace: {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(live_members(pgid).is_empty());
}

#[tokio::test]
async fn a_stop_during_post_test_interrupts_nothing() {
    let job = Job::new(300);
    let (canceller, signal) = Canceller::new();
    let spec = marker_spec("true", "true", "touch \"$DEVICEFARM_LOG_DIR/post_started\"; sleep 0.4");
    let run = job.spec(&spec, signal);
    let stop = async {
        wait_for_file_exists(&job.file("post_started")).await;
        canceller.stop();
    };
    let (report, ()) = tokio::join!(run, stop);
    assert_eq!(ran(&job), ["install", "pre_test", "test", "post_test"]);
    assert_eq!(report.post_test.map(|p| p.outcome), Some(PhaseOutcome::Succeeded));
    assert_eq!(report.test.map(|p| p.outcome), Some(PhaseOutcome::Succeeded));
    assert_eq!(report.cancelled, Some(CancelReason::Stop));
}

async fn wait_for_file_exists(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn the_deadline_ends_the_test_phase_and_post_test_still_runs() {
    let job = Job::new(300);
    let (canceller, signal) = Canceller::new();
    let spec = marker_spec("true", "sleep 30", "true");
    let run = job.spec(&spec, signal);
    let deadline = async {
        wait_for_file_exists(&job.file("pre_test")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        canceller.time_out();
    };
    let (report, ()) = tokio::join!(run, deadline);
    assert_eq!(report.test.map(|p| p.outcome), Some(PhaseOutcome::TimedOut));
    assert_eq!(ran(&job), ["install", "pre_test", "post_test"]);
    assert_eq!(report.cancelled, Some(CancelReason::Timeout));
}

#[tokio::test]
async fn the_deadline_ends_setup_even_after_a_stop_let_it_go_on() {
    let job = Job::new(300);
    let (canceller, signal) = Canceller::new();
    let started = Instant::now();
    let spec = marker_spec("sleep 30", "true", "true");
    let run = job.spec(&spec, signal);
    let requests = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        canceller.stop();
        tokio::time::sleep(Duration::from_millis(200)).await;
        canceller.time_out();
    };
    let (report, ()) = tokio::join!(run, requests);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(report.install.as_ref().map(|p| &p.outcome), Some(&PhaseOutcome::TimedOut));
    assert!(report.setup_errored());
    assert!(report.pre_test.is_none() && report.test.is_none());
    assert_eq!(ran(&job), ["post_test"]);
    assert_eq!(report.cancelled, Some(CancelReason::Timeout));
}

#[tokio::test]
async fn a_request_made_before_the_spec_starts_runs_nothing() {
    let job = Job::new(300);
    let (canceller, signal) = Canceller::new();
    canceller.stop();
    let report = job.spec(&marker_spec("true", "true", "true"), signal).await;
    assert!(ran(&job).is_empty());
    assert_eq!(report.span_ms(), None);
    assert_eq!(report.cancelled, Some(CancelReason::Stop));
}

#[tokio::test]
async fn output_is_in_the_log_while_the_phase_still_runs() {
    let job = Job::new(300);
    let run =
        job.phase(Phase::Test, &["echo first; echo to-stderr >&2", "sleep 0.6", "echo second"], CancelSignal::never());
    let log = job.ws.output_dir().join("test.log");
    let follow = async {
        let seen = wait_for_file(&log).await;
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut seen = seen;
        while !seen.contains("first\nto-stderr\n") && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
            seen = fs::read_to_string(&log).expect("log");
        }
        seen
    };
    let (report, seen) = tokio::join!(run, follow);
    assert!(seen.contains("first\nto-stderr\n"), "{seen:?}");
    assert!(!seen.contains("second"), "read after the phase ended: {seen}");
    let full = fs::read_to_string(&report.log).expect("log");
    assert!(full.contains("second\n"), "{full}");
    assert_eq!(report.output_error, None);
    let combined = fs::read_to_string(job.ws.combined_log()).expect("combined");
    assert!(combined.starts_with("[farmhand] ==== test ====\n"), "{combined}");
    assert!(combined.contains("first\nto-stderr\n"), "{combined}");
}

#[tokio::test]
async fn processes_a_phase_leaves_behind_do_not_outlive_it() {
    let job = Job::new(300);
    let report = job
        .phase(
            Phase::Install,
            &["echo $$ > \"$DEVICEFARM_LOG_DIR/pgid\"", "sleep 100 & echo $! > \"$DEVICEFARM_LOG_DIR/bg\""],
            CancelSignal::never(),
        )
        .await;
    assert_eq!(report.outcome, PhaseOutcome::Succeeded);
    let pgid = pgid_written_to(&job.file("pgid")).await;
    assert!(live_members(pgid).is_empty(), "{:?}", live_members(pgid));
    assert!(!is_running(&job.file("bg")));
}

#[tokio::test]
async fn a_server_started_in_pre_test_serves_the_test_phase_and_dies_with_the_job() {
    let job = Job::new(300);
    let spec = spec(
        &[],
        &["sleep 100 & echo $! > \"$DEVICEFARM_LOG_DIR/server\""],
        &["kill -0 \"$(cat \"$DEVICEFARM_LOG_DIR/server\")\""],
        &["kill -0 \"$(cat \"$DEVICEFARM_LOG_DIR/server\")\""],
    );
    let report = job.spec(&spec, CancelSignal::never()).await;
    assert_eq!(report.test.map(|p| p.outcome), Some(PhaseOutcome::Succeeded));
    assert_eq!(report.post_test.map(|p| p.outcome), Some(PhaseOutcome::Succeeded));
    assert!(!is_running(&job.file("server")));
    // The server held pre_test's output open all along; its outcome still closes its part.
    let combined = fs::read_to_string(job.ws.combined_log()).expect("combined");
    let outcome = combined.find("[farmhand] pre_test succeeded\n");
    let next = combined.find("[farmhand] ==== test ====");
    assert!(outcome.is_some() && outcome < next, "{combined}");
}

#[tokio::test]
async fn dropping_a_running_phase_kills_its_group() {
    let job = Arc::new(Job::new(300));
    let running = {
        let job = Arc::clone(&job);
        tokio::spawn(async move {
            job.phase(
                Phase::Test,
                &["echo $$ > \"$DEVICEFARM_LOG_DIR/pgid\"", "sleep 100 & sleep 30"],
                CancelSignal::never(),
            )
            .await
        })
    };
    let pgid = pgid_written_to(&job.file("pgid")).await;
    running.abort();
    assert!(running.await.is_err(), "aborted");
    let deadline = Instant::now() + Duration::from_secs(2);
    while !live_members(pgid).is_empty() {
        assert!(Instant::now() < deadline, "{:?}", live_members(pgid));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_shell_that_cannot_start_is_reported_and_errors_setup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = Workspace::create(tmp.path(), "job", None, None, &InspectLimits::default()).expect("workspace");
    let config = RunnerConfig { shell: PathBuf::from("/nonexistent/sh"), ..RunnerConfig::default() };
    let runner = Runner::new(config, Arc::new(TickClock(AtomicI64::new(0))));
    let report =
        runner.run_spec(&ws, &marker_spec("true", "true", "true"), &JobEnv::new(), CancelSignal::never()).await;
    assert!(matches!(report.install.as_ref().map(|p| &p.outcome), Some(PhaseOutcome::NotStarted { .. })));
    assert!(report.setup_errored());
    assert!(report.test.is_none());
    assert!(report.post_test.is_some(), "teardown is still attempted");
}

#[tokio::test]
async fn artifacts_are_zipped_after_teardown_and_escaping_paths_refused() {
    let job = Job::new(300);
    let mut spec = spec(
        &[],
        &[],
        &["mkdir -p results && echo data > results/out.txt", "echo '<testsuite/>' > \"$DEVICEFARM_LOG_DIR/junit.xml\""],
        &["echo late >> results/out.txt"],
    );
    spec.artifacts = strings(&["results", "../x", "$DEVICEFARM_LOG_DIR/junit.xml"]);
    let report = job.spec(&spec, CancelSignal::never()).await;
    let artifacts = report.artifacts.expect("artifacts");
    assert_eq!(
        artifacts.skipped,
        [SkippedArtifact { path: "../x".to_owned(), reason: SkipReason::OutsideWorkDirectory }]
    );
    let zip = artifacts.customer_artifacts.expect("customer artifacts");
    assert_eq!(zip, job.ws.artifacts_dir().join(CUSTOMER_ARTIFACTS_ZIP));
    let mut archive = zip::ZipArchive::new(fs::File::open(&zip).expect("open")).expect("zip");
    let mut names: Vec<String> = archive.file_names().map(|n| n.expect("name").into_owned()).collect();
    names.sort();
    assert_eq!(names, ["logs/junit.xml", "results/", "results/out.txt"]);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("results/out.txt").expect("entry"), &mut out).expect("read");
    assert_eq!(out, "data\nlate\n", "zipped after post_test");
    let log_zip = artifacts.customer_artifacts_log.expect("log zip");
    let archive = zip::ZipArchive::new(fs::File::open(log_zip).expect("open")).expect("zip");
    let names: Vec<String> = archive.file_names().map(|n| n.expect("name").into_owned()).collect();
    assert_eq!(names, ["junit.xml"]);
}

#[tokio::test]
async fn a_hung_teardown_is_ended_at_its_limit_and_leaves_nothing() {
    let mut job = Job::new(200);
    job.runner = Runner::new(
        RunnerConfig {
            grace: Duration::from_millis(200),
            teardown_limit: Duration::from_millis(400),
            ..RunnerConfig::default()
        },
        Arc::new(TickClock(AtomicI64::new(1_000))),
    );
    let (canceller, signal) = Canceller::new();
    // A stop before teardown must not count against it: the limit is teardown's own.
    canceller.stop();
    let started = Instant::now();
    let report = job
        .spec(
            &spec(
                &[],
                &[],
                &[],
                &["echo $$ > \"$DEVICEFARM_LOG_DIR/pgid\"; sleep 30", "touch \"$DEVICEFARM_LOG_DIR/after\""],
            ),
            signal,
        )
        .await;
    // The stop came before anything started: nothing runs at all.
    assert!(report.post_test.is_none());

    let report = job
        .spec(
            &spec(
                &[],
                &[],
                &[],
                &["echo $$ > \"$DEVICEFARM_LOG_DIR/pgid\"; sleep 30", "touch \"$DEVICEFARM_LOG_DIR/after\""],
            ),
            CancelSignal::never(),
        )
        .await;
    let post_test = report.post_test.expect("teardown ran");
    assert_eq!(post_test.outcome, PhaseOutcome::TimedOut);
    assert!(!job.file("after").exists(), "the rest of teardown is not run");
    assert!(started.elapsed() < Duration::from_secs(10), "ended at the limit, not after sleep 30");
    let pgid = pgid_written_to(&job.file("pgid")).await;
    assert!(live_members(pgid).is_empty());
}

#[tokio::test]
async fn commands_run_as_the_configured_user_in_a_workspace_it_owns() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let mut job = Job::new(200);
    let run_as = RunAs { uid: 65534, gid: 65534 };
    job.runner = Runner::new(
        RunnerConfig { run_as: Some(run_as), ..RunnerConfig::default() },
        Arc::new(TickClock(AtomicI64::new(1_000))),
    );
    run_as.hand_over(&job.ws).expect("hand over");
    let report = job
        .spec(
            &spec(
                &["id -u > \"$DEVICEFARM_LOG_DIR/uid\"", "echo home > \"$HOME/h\" && echo tmp > \"$TMPDIR/t\""],
                &[],
                // A file farmhand owns is out of reach.
                &["echo x >> \"$DEVICEFARM_LOG_DIR/../../farmhand/testspec-output/test.log\""],
                &[],
            ),
            CancelSignal::never(),
        )
        .await;
    assert_eq!(report.install.as_ref().map(|p| &p.outcome), Some(&PhaseOutcome::Succeeded));
    assert_eq!(fs::read_to_string(job.file("uid")).expect("uid").trim(), "65534");
    assert!(matches!(report.test.as_ref().map(|p| &p.outcome), Some(PhaseOutcome::Failed { .. })));
}
