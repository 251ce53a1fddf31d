//! Android instrumentation output (`am instrument -r`, the "raw" mode) → the tests of a
//! job's Tests Suite, as the same [`TestCaseResult`]s the JUnit reader gives.
//!
//! The raw format is a stream of key/value bundles:
//!
//! - `INSTRUMENTATION_STATUS: key=value` lines fill a bundle (`class`, `test`, `stack`,
//!   `stream`, `current`, `numtests`, `Error`, …); a value runs on over the following
//!   lines until the next `INSTRUMENTATION_` line (stack traces span many).
//! - `INSTRUMENTATION_STATUS_CODE: N` closes the bundle: for a test, 1 = started, 0 =
//!   passed, -2 = failed, -1 = errored, -3 = ignored, -4 = assumption failure.
//! - `INSTRUMENTATION_RESULT: key=value` and `INSTRUMENTATION_CODE: N` end the run: code
//!   -1 (Activity.RESULT_OK) when it completed; a crash of the app's process gives
//!   `shortMsg=Process crashed.` and code 0.
//!
//! **Mapping:** a test is named `class.test`, like a JUnit case with its classname.
//! Ignored and assumption failures are SKIPPED (as JUnit runners report them). The message
//! of a failure is the first line of its stack. A test that started and never ended is
//! ERRORED with the run's crash message: the crash happened during it. A run that did not
//! complete with no test to blame (it crashed between tests, the instrumentation was not
//! found, the output was cut off) adds one ERRORED test, [`RUN_TEST_NAME`], so the job
//! cannot pass with tests missing.
//!
//! **Durations:** the raw output has no times. The device's log has: the test runner logs
//! `TestRunner: started: test(class)` and `finished: …` with a timestamp, so when the
//! job's logcat is at hand each test gets the time between the two; otherwise 0 (the
//! job's tests are then laid end to end over the test phase, the last taking the rest).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use domain::job::status::ExecutionResult;

use crate::junit::{files_under, read_capped, CollectLimits, TestCaseResult, MAX_MESSAGE_CHARS, MAX_NAME_CHARS};

/// The test that stands for a run that did not complete when no test of it can be blamed.
pub const RUN_TEST_NAME: &str = "Instrumentation run";

const STATUS: &str = "INSTRUMENTATION_STATUS: ";
const STATUS_CODE: &str = "INSTRUMENTATION_STATUS_CODE: ";
const RESULT: &str = "INSTRUMENTATION_RESULT: ";
const CODE: &str = "INSTRUMENTATION_CODE: ";
/// Printed inside a line (`android.util.AndroidException: INSTRUMENTATION_FAILED: …`) when
/// the instrumentation does not exist.
const FAILED: &str = "INSTRUMENTATION_FAILED: ";
/// Printed by newer Android versions when the system itself went down mid-run.
const ABORTED: &str = "INSTRUMENTATION_ABORTED: ";

/// `Activity.RESULT_OK`: the instrumentation finished normally.
const RUN_COMPLETED: i64 = -1;

/// Which bundle a multi-line value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bundle {
    Status,
    Result,
}

#[derive(Debug, Default)]
struct Parser {
    status: BTreeMap<String, String>,
    result: BTreeMap<String, String>,
    /// The key whose value the next plain line continues.
    continuing: Option<(Bundle, String)>,
    cases: Vec<TestCaseResult>,
    /// The test that started and has not ended.
    running: Option<String>,
    code: Option<i64>,
    /// Why the run could not start or went down, when the output says so.
    run_error: Option<String>,
    saw_instrumentation: bool,
}

/// The tests of one `am instrument -r` output, in the order they ended.
pub fn parse_instrumentation(raw: &str) -> Vec<TestCaseResult> {
    let mut parser = Parser::default();
    for line in raw.lines() {
        parser.line(line.strip_suffix('\r').unwrap_or(line));
    }
    parser.finish()
}

impl Parser {
    fn line(&mut self, line: &str) {
        if let Some(pair) = line.strip_prefix(STATUS) {
            self.set(Bundle::Status, pair);
        } else if let Some(code) = line.strip_prefix(STATUS_CODE) {
            self.continuing = None;
            self.saw_instrumentation = true;
            let bundle = std::mem::take(&mut self.status);
            if let Ok(code) = code.trim().parse::<i64>() {
                self.status_code(code, bundle);
            }
        } else if let Some(pair) = line.strip_prefix(RESULT) {
            self.set(Bundle::Result, pair);
        } else if let Some(code) = line.strip_prefix(CODE) {
            self.continuing = None;
            self.saw_instrumentation = true;
            self.code = code.trim().parse().ok();
        } else if let Some(at) = line.find(FAILED) {
            self.continuing = None;
            self.saw_instrumentation = true;
            let component = line[at + FAILED.len()..].trim();
            self.run_error.get_or_insert_with(|| format!("The instrumentation {component} could not be started"));
        } else if let Some(why) = line.strip_prefix(ABORTED) {
            self.continuing = None;
            self.saw_instrumentation = true;
            self.run_error = Some(format!("The instrumentation was aborted: {}", why.trim()));
        } else if let Some((bundle, key)) = &self.continuing {
            let values = match bundle {
                Bundle::Status => &mut self.status,
                Bundle::Result => &mut self.result,
            };
            if let Some(value) = values.get_mut(key) {
                value.push('\n');
                value.push_str(line);
            }
        }
    }

    fn set(&mut self, bundle: Bundle, pair: &str) {
        self.saw_instrumentation = true;
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let values = match bundle {
            Bundle::Status => &mut self.status,
            Bundle::Result => &mut self.result,
        };
        values.insert(key.to_owned(), value.to_owned());
        self.continuing = Some((bundle, key.to_owned()));
    }

    fn status_code(&mut self, code: i64, bundle: BTreeMap<String, String>) {
        let name = match (bundle.get("class"), bundle.get("test")) {
            (Some(class), Some(test)) => truncate(&format!("{}.{}", class.trim(), test.trim()), MAX_NAME_CHARS),
            _ => {
                // A status of the whole run: -1 without a test is the instrumentation
                // refusing to start ("Unable to find instrumentation info for …").
                if code == -1 {
                    let why = bundle.get("Error").or(bundle.get("stream")).and_then(|t| first_line(t));
                    self.run_error = Some(why.unwrap_or_else(|| "The instrumentation reported an error".to_owned()));
                }
                return;
            }
        };
        let stack_message = || bundle.get("stack").and_then(|stack| first_line(stack));
        let (result, message) = match code {
            1 => {
                if let Some(previous) = self.running.replace(name) {
                    self.end(
                        previous,
                        ExecutionResult::Errored,
                        Some("The test runner reported no result for this test".to_owned()),
                    );
                }
                return;
            }
            0 => (ExecutionResult::Passed, None),
            -2 => (ExecutionResult::Failed, stack_message()),
            -1 => (ExecutionResult::Errored, stack_message()),
            -3 => (ExecutionResult::Skipped, None),
            -4 => (ExecutionResult::Skipped, stack_message()),
            // Other codes are runner-specific progress reports, not results.
            _ => return,
        };
        if self.running.as_deref() == Some(name.as_str()) {
            self.running = None;
        }
        self.end(name, result, message);
    }

    fn end(&mut self, name: String, result: ExecutionResult, message: Option<String>) {
        self.cases.push(TestCaseResult {
            name,
            duration_ms: 0,
            result,
            message: message.map(|m| truncate(&m, MAX_MESSAGE_CHARS)),
        });
    }

    /// What the run's end says went wrong, if anything: a crash, an abort, a failure to
    /// start, or no end at all.
    fn run_problem(&self) -> Option<String> {
        let crash = self.result.get("shortMsg").and_then(|m| first_line(m)).map(|short| {
            match self.result.get("longMsg").and_then(|m| first_line(m)) {
                Some(long) => format!("{short} ({long})"),
                None => short,
            }
        });
        if let Some(problem) = crash.or_else(|| self.run_error.clone()) {
            return Some(problem);
        }
        match self.code {
            Some(RUN_COMPLETED) => None,
            Some(code) => Some(format!("The instrumentation ended with result code {code}")),
            None => Some("The instrumentation output ends before the run reported its result".to_owned()),
        }
    }

    fn finish(mut self) -> Vec<TestCaseResult> {
        if !self.saw_instrumentation {
            return Vec::new();
        }
        let problem = self.run_problem();
        if let Some(running) = self.running.take() {
            let why = problem.clone().unwrap_or_else(|| "The test runner reported no result for this test".to_owned());
            self.end(running, ExecutionResult::Errored, Some(why));
        } else if let Some(problem) = problem {
            self.end(RUN_TEST_NAME.to_owned(), ExecutionResult::Errored, Some(problem));
        }
        self.cases
    }
}

fn first_line(text: &str) -> Option<String> {
    text.lines().map(str::trim).find(|line| !line.is_empty()).map(str::to_owned)
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// How long each test took, from the test runner's `started:` / `finished:` lines in a
/// logcat dump (threadtime format, `MM-DD HH:MM:SS.mmm …`), in the order they finished:
/// per test name (`class.test`), the durations of its runs.
pub fn durations_from_logcat(logcat: &str) -> BTreeMap<String, VecDeque<u64>> {
    let mut started: BTreeMap<String, u64> = BTreeMap::new();
    let mut durations: BTreeMap<String, VecDeque<u64>> = BTreeMap::new();
    for line in logcat.lines() {
        let Some(at) = line.find("TestRunner: ") else { continue };
        let Some(ms) = logcat_time_ms(line) else { continue };
        let message = line[at + "TestRunner: ".len()..].trim();
        if let Some(test) = message.strip_prefix("started: ").and_then(runner_test_name) {
            started.insert(test, ms);
        } else if let Some(test) = message.strip_prefix("finished: ").and_then(runner_test_name) {
            if let Some(start) = started.remove(&test) {
                // Midnight (or a month's end) between the two lines reads as going back:
                // better 0 than a duration of weeks.
                durations.entry(test).or_default().push_back(ms.saturating_sub(start));
            }
        }
    }
    durations
}

/// `testName(com.example.Class)` → `com.example.Class.testName`.
fn runner_test_name(text: &str) -> Option<String> {
    let (test, rest) = text.rsplit_once('(').map(|(t, r)| (t, r.strip_suffix(')')))?;
    Some(format!("{}.{}", rest?.trim(), test.trim()))
}

/// Milliseconds since the start of the month of a threadtime line's `MM-DD HH:MM:SS.mmm`.
fn logcat_time_ms(line: &str) -> Option<u64> {
    let stamp = line.get(..18)?;
    let bytes = stamp.as_bytes();
    let separators = [(2, b'-'), (5, b' '), (8, b':'), (11, b':'), (14, b'.')];
    if separators.iter().any(|(i, c)| bytes[*i] != *c) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<u64>().ok();
    let (day, hour, minute, second, milli) =
        (number(3..5)?, number(6..8)?, number(9..11)?, number(12..14)?, number(15..18)?);
    Some((((day * 24 + hour) * 60 + minute) * 60 + second) * 1000 + milli)
}

/// The tests of every instrumentation output under `dir` (files whose name mentions
/// "instrument", as the default spec's `instrumentation.txt` and AWS's `instrument.log`
/// do), with durations from `logcat` when given. Symbolic links are not followed.
/// Blocking file I/O.
pub fn collect_instrumentation_results(
    dir: &Path,
    logcat: Option<&Path>,
    limits: &CollectLimits,
) -> Vec<TestCaseResult> {
    let mut cases: Vec<TestCaseResult> = output_paths(dir, limits)
        .iter()
        .filter_map(|path| read_text(path, limits.max_file_bytes))
        .flat_map(|text| parse_instrumentation(&text))
        .collect();
    if cases.is_empty() {
        return cases;
    }
    if let Some(text) = logcat.and_then(|path| read_text(path, limits.max_file_bytes)) {
        let mut durations = durations_from_logcat(&text);
        for case in &mut cases {
            if let Some(ms) = durations.get_mut(&case.name).and_then(VecDeque::pop_front) {
                case.duration_ms = ms;
            }
        }
    }
    cases
}

fn output_paths(dir: &Path, limits: &CollectLimits) -> Vec<PathBuf> {
    files_under(dir, limits, |name| name.contains("instrument") && !name.ends_with(".xml"))
}

/// The file as text, or `None` when unreadable or larger than `cap` (with a warning).
fn read_text(path: &Path, cap: u64) -> Option<String> {
    match read_capped(path, cap) {
        Ok(Some(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Ok(None) => {
            tracing::warn!(path = %path.display(), "skipping instrumentation output larger than {cap} bytes");
            None
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read instrumentation output: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn case(name: &str, result: ExecutionResult, message: Option<&str>) -> TestCaseResult {
        TestCaseResult { name: name.to_owned(), duration_ms: 0, result, message: message.map(str::to_owned) }
    }

    /// One test's start and end bundles as AndroidJUnitRunner prints them.
    fn test_lines(class: &str, test: &str, current: u32, end_code: i32, end_extra: &str) -> String {
        let head = format!(
            "INSTRUMENTATION_STATUS: class={class}\nINSTRUMENTATION_STATUS: current={current}\nINSTRUMENTATION_STATUS: id=AndroidJUnitRunner\nINSTRUMENTATION_STATUS: numtests=4\n"
        );
        format!(
            "{head}INSTRUMENTATION_STATUS: stream=\n{class}:\nINSTRUMENTATION_STATUS: test={test}\nINSTRUMENTATION_STATUS_CODE: 1\n\
             {head}{end_extra}INSTRUMENTATION_STATUS: stream=.\nINSTRUMENTATION_STATUS: test={test}\nINSTRUMENTATION_STATUS_CODE: {end_code}\n"
        )
    }

    const STACK: &str = "INSTRUMENTATION_STATUS: stack=java.lang.AssertionError: expected:<200> but was:<401>\n\
\tat org.junit.Assert.fail(Assert.java:89)\n\
\tat com.example.app.LoginTest.wrongPassword(LoginTest.java:31)\n\
\n";

    fn passing_run() -> String {
        let mut raw = test_lines("com.example.app.LoginTest", "opensTheApp", 1, 0, "");
        raw += &test_lines("com.example.app.LoginTest", "wrongPassword", 2, -2, STACK);
        raw += &test_lines("com.example.app.LoginTest", "later", 3, -3, "");
        raw += &test_lines(
            "com.example.app.CartTest",
            "onlyOnTablets",
            4,
            -4,
            "INSTRUMENTATION_STATUS: stack=org.junit.AssumptionViolatedException: got: <false>\n\tat org.junit.Assume.assumeTrue(Assume.java:59)\n",
        );
        raw += "INSTRUMENTATION_RESULT: stream=\n\nTime: 2.417\nThere was 1 failure:\n1) wrongPassword(com.example.app.LoginTest)\n\
java.lang.AssertionError: expected:<200> but was:<401>\n\nFAILURES!!!\nTests run: 3,  Failures: 1\n\n\nINSTRUMENTATION_CODE: -1\n";
        raw
    }

    #[test]
    fn passing_failing_ignored_and_assumption_failures() {
        assert_eq!(
            parse_instrumentation(&passing_run()),
            vec![
                case("com.example.app.LoginTest.opensTheApp", ExecutionResult::Passed, None),
                case(
                    "com.example.app.LoginTest.wrongPassword",
                    ExecutionResult::Failed,
                    Some("java.lang.AssertionError: expected:<200> but was:<401>")
                ),
                case("com.example.app.LoginTest.later", ExecutionResult::Skipped, None),
                case(
                    "com.example.app.CartTest.onlyOnTablets",
                    ExecutionResult::Skipped,
                    Some("org.junit.AssumptionViolatedException: got: <false>")
                ),
            ]
        );
    }

    #[test]
    fn carriage_returns_of_old_adb_shells_are_ignored() {
        let crlf = passing_run().replace('\n', "\r\n");
        assert_eq!(parse_instrumentation(&crlf), parse_instrumentation(&passing_run()));
    }

    #[test]
    fn a_crash_errors_the_test_that_was_running() {
        let mut raw = test_lines("com.example.app.LoginTest", "opensTheApp", 1, 0, "");
        raw += "INSTRUMENTATION_STATUS: class=com.example.app.LoginTest\nINSTRUMENTATION_STATUS: current=2\n\
INSTRUMENTATION_STATUS: id=AndroidJUnitRunner\nINSTRUMENTATION_STATUS: numtests=4\nINSTRUMENTATION_STATUS: stream=\n\
INSTRUMENTATION_STATUS: test=crashes\nINSTRUMENTATION_STATUS_CODE: 1\n\
INSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n";
        assert_eq!(
            parse_instrumentation(&raw),
            vec![
                case("com.example.app.LoginTest.opensTheApp", ExecutionResult::Passed, None),
                case("com.example.app.LoginTest.crashes", ExecutionResult::Errored, Some("Process crashed.")),
            ]
        );
    }

    #[test]
    fn a_run_that_fails_outside_any_test_adds_one_errored_test() {
        let mut between = test_lines("com.example.app.LoginTest", "opensTheApp", 1, 0, "");
        between += "INSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_RESULT: longMsg=java.lang.IllegalStateException: boom\n\tat x\nINSTRUMENTATION_CODE: 0\n";
        let cases = parse_instrumentation(&between);
        assert_eq!(
            cases[1],
            case(
                RUN_TEST_NAME,
                ExecutionResult::Errored,
                Some("Process crashed. (java.lang.IllegalStateException: boom)")
            )
        );

        let missing = "INSTRUMENTATION_STATUS: id=ActivityManagerService\n\
INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: ComponentInfo{com.example.app.test/androidx.test.runner.AndroidJUnitRunner}\n\
INSTRUMENTATION_STATUS_CODE: -1\n\
android.util.AndroidException: INSTRUMENTATION_FAILED: com.example.app.test/androidx.test.runner.AndroidJUnitRunner\n\
\tat com.android.commands.am.Instrument.run(Instrument.java:519)\n";
        assert_eq!(
            parse_instrumentation(missing),
            vec![case(
                RUN_TEST_NAME,
                ExecutionResult::Errored,
                Some("Unable to find instrumentation info for: ComponentInfo{com.example.app.test/androidx.test.runner.AndroidJUnitRunner}")
            )]
        );

        let cut = test_lines("com.example.app.LoginTest", "opensTheApp", 1, 0, "");
        assert_eq!(
            parse_instrumentation(&cut)[1],
            case(
                RUN_TEST_NAME,
                ExecutionResult::Errored,
                Some("The instrumentation output ends before the run reported its result")
            )
        );
        assert_eq!(
            parse_instrumentation("INSTRUMENTATION_ABORTED: System has crashed.\n"),
            vec![case(
                RUN_TEST_NAME,
                ExecutionResult::Errored,
                Some("The instrumentation was aborted: System has crashed.")
            )]
        );
    }

    #[test]
    fn text_without_instrumentation_lines_is_no_test() {
        assert_eq!(parse_instrumentation(""), vec![]);
        assert_eq!(parse_instrumentation("adb: device offline\n"), vec![]);
    }

    #[test]
    fn a_start_without_an_end_before_the_next_start_errors_that_test() {
        let raw = "INSTRUMENTATION_STATUS: class=A\nINSTRUMENTATION_STATUS: test=one\nINSTRUMENTATION_STATUS_CODE: 1\n\
INSTRUMENTATION_STATUS: class=A\nINSTRUMENTATION_STATUS: test=two\nINSTRUMENTATION_STATUS_CODE: 1\n\
INSTRUMENTATION_STATUS: class=A\nINSTRUMENTATION_STATUS: test=two\nINSTRUMENTATION_STATUS_CODE: 0\nINSTRUMENTATION_CODE: -1\n";
        assert_eq!(
            parse_instrumentation(raw),
            vec![
                case("A.one", ExecutionResult::Errored, Some("The test runner reported no result for this test")),
                case("A.two", ExecutionResult::Passed, None),
            ]
        );
    }

    const LOGCAT: &str = "\
05-01 10:00:00.000  1234  1234 I ActivityManager: Start proc 4321:com.example.app/u0a123 for added application com.example.app\n\
05-01 10:00:01.250  4321  4340 I TestRunner: started: opensTheApp(com.example.app.LoginTest)\n\
05-01 10:00:02.000  4321  4340 I TestRunner: finished: opensTheApp(com.example.app.LoginTest)\n\
05-01 10:00:02.010  4321  4340 I TestRunner: started: wrongPassword(com.example.app.LoginTest)\n\
05-01 10:00:02.500  4321  4340 E TestRunner: failed: wrongPassword(com.example.app.LoginTest)\n\
05-01 10:00:03.010  4321  4340 I TestRunner: finished: wrongPassword(com.example.app.LoginTest)\n\
05-01 23:59:59.900  4321  4340 I TestRunner: started: midnight(com.example.app.LoginTest)\n\
05-02 00:00:00.100  4321  4340 I TestRunner: finished: midnight(com.example.app.LoginTest)\n";

    #[test]
    fn durations_come_from_the_test_runner_lines_of_logcat() {
        let durations = durations_from_logcat(LOGCAT);
        assert_eq!(durations["com.example.app.LoginTest.opensTheApp"], [750]);
        assert_eq!(durations["com.example.app.LoginTest.wrongPassword"], [1000]);
        assert_eq!(durations["com.example.app.LoginTest.midnight"], [200]);
        assert_eq!(logcat_time_ms("not a logcat line at all"), None);
    }

    #[test]
    fn collects_outputs_named_instrument_and_times_them_from_logcat() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("logs");
        fs::create_dir_all(logs.join("nested")).expect("mkdir");
        fs::write(logs.join("nested/instrumentation.txt"), passing_run()).expect("write");
        fs::write(logs.join("appium.log"), passing_run()).expect("write");
        fs::write(logs.join("instrument-report.xml"), passing_run()).expect("write");
        let logcat = dir.path().join("logcat.txt");
        fs::write(&logcat, LOGCAT).expect("write");

        let cases = collect_instrumentation_results(&logs, Some(&logcat), &CollectLimits::default());
        assert_eq!(cases.len(), 4, "only the file named for instrumentation: {cases:?}");
        assert_eq!(cases.iter().map(|c| c.duration_ms).collect::<Vec<_>>(), [750, 1000, 0, 0]);
        let untimed = collect_instrumentation_results(&logs, None, &CollectLimits::default());
        assert!(untimed.iter().all(|c| c.duration_ms == 0));
        assert_eq!(collect_instrumentation_results(&dir.path().join("missing"), None, &CollectLimits::default()), []);
    }
}
