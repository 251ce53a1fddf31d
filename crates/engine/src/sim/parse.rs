//! `farmhand-sim.yaml` text → [`Scenario`], refusing anything that is not exactly the
//! documented format (see [`super`]) with the line of the first problem.
//!
//! The file comes from an untrusted upload: size, list lengths, durations and string
//! lengths are capped here, and serde-saphyr's default budget bounds the YAML itself
//! (nesting, aliases, node count), so parsing ends in a value or an error on any input.

use domain::device::DevicePlatform;
use domain::job::plan::{SimFile, TestPlan};
use domain::job::status::ExecutionResult;
use serde::{Deserialize, Deserializer};
use serde_saphyr::{DuplicateKeyPolicy, Spanned};

use super::error::ScenarioError;
use super::scenario::{DeviceMatch, DeviceOverride, Scenario, Settings};

/// Largest scenario accepted. Real ones are a few kilobytes; this leaves room for
/// generated files with thousands of tests.
pub const MAX_SCENARIO_BYTES: usize = 1024 * 1024;
/// Most tests one `tests` list may hold.
pub const MAX_TESTS: usize = 10_000;
/// Most entries `devices` may hold.
pub const MAX_DEVICE_OVERRIDES: usize = 10_000;
/// Longest setup, teardown or test: a day, far beyond any job timeout.
pub const MAX_SECONDS: f64 = 24.0 * 60.0 * 60.0;
/// The model's limit on a test's (and a device's) `name`.
pub const MAX_NAME_CHARS: usize = 256;
/// The model's limit on a test's `message`.
pub const MAX_MESSAGE_CHARS: usize = 16_384;
/// Most files one `customer_artifacts` list may declare.
pub const MAX_CUSTOMER_FILES: usize = 1_000;
/// Longest path of a declared file, in characters.
pub const MAX_PATH_CHARS: usize = 1_024;

pub(super) fn parse_scenario(text: &str) -> Result<Scenario, ScenarioError> {
    if text.len() > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::invalid(None, format!("the file is larger than {MAX_SCENARIO_BYTES} bytes")));
    }
    let options = serde_saphyr::options! {
        with_snippet: false,
        // A repeated key would silently replace half of what the author wrote.
        duplicate_keys: DuplicateKeyPolicy::Error,
    };
    // An empty file (or one of comments only) is a document with no value, which says
    // nothing: the same as no file.
    let raw: Option<RawScenario> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| from_yaml_error(&e))?;
    raw.map_or_else(|| Ok(Scenario::default()), RawScenario::into_scenario)
}

fn from_yaml_error(error: &serde_saphyr::Error) -> ScenarioError {
    let line = error.location().map(|l| l.line()).filter(|l| *l > 0);
    ScenarioError::invalid(line, readable(&error.to_string()))
}

/// serde-saphyr's first message line, without the " at line L column C" it appends (the
/// line is reported on its own) and with parser event names in the author's terms.
fn readable(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    let first = first.rfind(" at line ").map_or(first, |i| &first[..i]);
    [
        ("expected mapping start", "expected a mapping (key: value)"),
        ("expected sequence start", "expected a list"),
        ("expected string scalar", "expected a string"),
        ("invalid floating point", "expected a number"),
        (", set DuplicateKeyPolicy in Options if acceptable", ""),
    ]
    .iter()
    .fold(first.to_owned(), |m, (from, to)| m.replace(from, to))
}

/// A key that may be left out, but not written without a value: `tests:` alone would
/// otherwise read as "no tests" to some authors and "the default tests" to others.
type Key<T> = Option<Spanned<Option<T>>>;

/// Keeps an explicit null as `Some(null)` so [`Key`] can tell it from a missing key
/// (serde's own `Option` handling would fold the two together).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default, deserialize_with = "present")]
    setup_seconds: Key<f64>,
    #[serde(default, deserialize_with = "present")]
    teardown_seconds: Key<f64>,
    #[serde(default, deserialize_with = "present")]
    tests: Key<Vec<Spanned<RawTest>>>,
    #[serde(default, deserialize_with = "present")]
    customer_artifacts: Key<Vec<Spanned<RawFile>>>,
    #[serde(default, deserialize_with = "present")]
    devices: Key<Vec<Spanned<RawOverride>>>,
}

/// The same keys as the top level (but `devices`), under a `match`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    #[serde(rename = "match")]
    matcher: Spanned<RawMatch>,
    #[serde(default, deserialize_with = "present")]
    setup_seconds: Key<f64>,
    #[serde(default, deserialize_with = "present")]
    teardown_seconds: Key<f64>,
    #[serde(default, deserialize_with = "present")]
    tests: Key<Vec<Spanned<RawTest>>>,
    #[serde(default, deserialize_with = "present")]
    customer_artifacts: Key<Vec<Spanned<RawFile>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: Spanned<String>,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    platform: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: Spanned<String>,
    seconds: Spanned<f64>,
    #[serde(default)]
    result: Option<Spanned<String>>,
    #[serde(default)]
    message: Option<Spanned<String>>,
}

impl RawScenario {
    fn into_scenario(self) -> Result<Scenario, ScenarioError> {
        let base = settings(self.setup_seconds, self.teardown_seconds, self.tests, self.customer_artifacts)?;
        let entries = value_of("devices", self.devices)?.unwrap_or_default();
        if entries.len() > MAX_DEVICE_OVERRIDES {
            return Err(ScenarioError::invalid(
                None,
                format!("`devices` has {} entries, more than the {MAX_DEVICE_OVERRIDES} allowed", entries.len()),
            ));
        }
        let mut overrides: Vec<DeviceOverride> = Vec::with_capacity(entries.len());
        for entry in entries {
            let raw = entry.value;
            let line = raw.matcher.referenced.line();
            let matcher = device_match(raw.matcher)?;
            if overrides.iter().any(|o| o.matcher == matcher) {
                // Two overrides for the same devices would leave the winner to file
                // order, which nobody reading the file would guess.
                return Err(ScenarioError::at(line, "another entry of `devices` has the same `match`"));
            }
            let settings = settings(raw.setup_seconds, raw.teardown_seconds, raw.tests, raw.customer_artifacts)?;
            overrides.push(DeviceOverride { matcher, settings });
        }
        Ok(Scenario { base, overrides })
    }
}

fn settings(
    setup: Key<f64>,
    teardown: Key<f64>,
    tests: Key<Vec<Spanned<RawTest>>>,
    files: Key<Vec<Spanned<RawFile>>>,
) -> Result<Settings, ScenarioError> {
    let ms = |key: &'static str, value: Key<f64>| -> Result<Option<i64>, ScenarioError> {
        let line = value.as_ref().map(|v| v.referenced.line());
        value_of(key, value)?.map(|seconds| milliseconds(key, seconds, line.unwrap_or_default())).transpose()
    };
    let tests_line = tests.as_ref().map(|t| t.referenced.line());
    let tests = value_of("tests", tests)?.map(|list| test_plans(list, tests_line.unwrap_or_default())).transpose()?;
    let files_line = files.as_ref().map(|f| f.referenced.line());
    let customer_files = value_of("customer_artifacts", files)?
        .map(|list| customer_files(list, files_line.unwrap_or_default()))
        .transpose()?;
    Ok(Settings {
        setup_ms: ms("setup_seconds", setup)?,
        teardown_ms: ms("teardown_seconds", teardown)?,
        tests,
        customer_files,
    })
}

/// The value of a key that was written, refusing one written without a value.
fn value_of<T>(key: &str, value: Key<T>) -> Result<Option<T>, ScenarioError> {
    match value {
        None => Ok(None),
        Some(Spanned { value: Some(v), .. }) => Ok(Some(v)),
        Some(Spanned { value: None, referenced, .. }) => Err(ScenarioError::at(
            referenced.line(),
            format!("`{key}` has no value; leave the key out to use the default"),
        )),
    }
}

fn test_plans(list: Vec<Spanned<RawTest>>, line: u64) -> Result<Vec<TestPlan>, ScenarioError> {
    if list.len() > MAX_TESTS {
        return Err(ScenarioError::at(
            line,
            format!("`tests` has {} entries, more than the {MAX_TESTS} allowed", list.len()),
        ));
    }
    list.into_iter().map(|t| test_plan(t.value)).collect()
}

fn test_plan(raw: RawTest) -> Result<TestPlan, ScenarioError> {
    let name = checked_name("test", raw.name)?;
    let duration_ms = milliseconds("seconds", raw.seconds.value, raw.seconds.referenced.line())?;
    let result = raw.result.map_or(Ok(ExecutionResult::Passed), |r| {
        scripted_result(&r.value).map_err(|m| ScenarioError::at(r.referenced.line(), m))
    })?;
    let message = raw
        .message
        .map(|m| {
            if m.value.chars().count() > MAX_MESSAGE_CHARS {
                Err(ScenarioError::at(
                    m.referenced.line(),
                    format!("`message` is longer than {MAX_MESSAGE_CHARS} characters"),
                ))
            } else {
                Ok(m.value)
            }
        })
        .transpose()?;
    Ok(TestPlan { name, duration_ms, result, message })
}

fn customer_files(list: Vec<Spanned<RawFile>>, line: u64) -> Result<Vec<SimFile>, ScenarioError> {
    if list.len() > MAX_CUSTOMER_FILES {
        return Err(ScenarioError::at(
            line,
            format!("`customer_artifacts` has {} entries, more than the {MAX_CUSTOMER_FILES} allowed", list.len()),
        ));
    }
    let mut files: Vec<SimFile> = Vec::with_capacity(list.len());
    for entry in list {
        let RawFile { path, text } = entry.value;
        let at = path.referenced.line();
        let path =
            zip_path(&path.value).map_err(|why| ScenarioError::at(at, format!("the `path` {:?} {why}", path.value)))?;
        // Two entries of one name in a zip: unzip tools keep either, silently.
        if files.iter().any(|f| f.path == path) {
            return Err(ScenarioError::at(at, format!("the `path` {path:?} is declared twice")));
        }
        files.push(SimFile { path, text });
    }
    Ok(files)
}

/// A path that unpacks inside the directory it is unzipped into, whatever the tool: zip
/// readers differ on `..`, absolute paths and backslashes, so none of them is allowed.
fn zip_path(path: &str) -> Result<String, &'static str> {
    if path.chars().count() > MAX_PATH_CHARS {
        return Err("is too long");
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err("contains a control character or a backslash");
    }
    if path.starts_with('/') {
        return Err("is absolute; paths are relative to the zip's root");
    }
    if path.split('/').any(|segment| matches!(segment, "" | "." | "..")) {
        return Err("has an empty, `.` or `..` segment");
    }
    Ok(path.to_owned())
}

/// The results a test can be scripted to reach. STOPPED and PENDING are not among them:
/// farmhand decides those (a stop, a timeout, a test not yet run).
fn scripted_result(value: &str) -> Result<ExecutionResult, String> {
    const SCRIPTABLE: [ExecutionResult; 5] = [
        ExecutionResult::Passed,
        ExecutionResult::Failed,
        ExecutionResult::Warned,
        ExecutionResult::Skipped,
        ExecutionResult::Errored,
    ];
    if let Some(r) = SCRIPTABLE.iter().find(|r| r.as_str() == value) {
        return Ok(*r);
    }
    let allowed = SCRIPTABLE.map(ExecutionResult::as_str).join(", ");
    let why = match value {
        "STOPPED" | "PENDING" => " (farmhand sets it when a job is stopped or times out)",
        _ => "",
    };
    Err(format!("`result` {value:?} is not allowed{why}; expected one of: {allowed}"))
}

fn device_match(raw: Spanned<RawMatch>) -> Result<DeviceMatch, ScenarioError> {
    let line = raw.referenced.line();
    let RawMatch { name, platform } = raw.value;
    if name.is_none() && platform.is_none() {
        return Err(ScenarioError::at(line, "`match` needs a `name`, a `platform` or both"));
    }
    let name = name.map(|n| checked_name("device", n)).transpose()?;
    let platform = platform
        .map(|p| {
            DevicePlatform::parse(&p.value)
                .map_err(|e| ScenarioError::at(p.referenced.line(), format!("`platform`: {e}")))
        })
        .transpose()?;
    Ok(DeviceMatch { name, platform })
}

/// A test or device name as the model allows it, and printable: a control character in
/// a name is never intended and garbles every listing it appears in.
fn checked_name(what: &str, name: Spanned<String>) -> Result<String, ScenarioError> {
    let line = name.referenced.line();
    let value = name.value;
    let problem = if value.trim().is_empty() {
        Some("is empty".to_owned())
    } else if value.chars().count() > MAX_NAME_CHARS {
        Some(format!("is longer than {MAX_NAME_CHARS} characters"))
    } else if value.chars().any(char::is_control) {
        Some("contains a control character".to_owned())
    } else {
        None
    };
    match problem {
        Some(p) => Err(ScenarioError::at(line, format!("the {what} `name` {p}"))),
        None => Ok(value),
    }
}

/// Whole milliseconds of a duration in seconds: the plan's unit, and fine enough for any
/// fraction a person writes.
fn milliseconds(key: &str, seconds: f64, line: u64) -> Result<i64, ScenarioError> {
    if !seconds.is_finite() || !(0.0..=MAX_SECONDS).contains(&seconds) {
        return Err(ScenarioError::at(
            line,
            format!("`{key}` must be a number of seconds from 0 to {MAX_SECONDS}, not {seconds}"),
        ));
    }
    // In range by the check above, so the cast neither saturates nor wraps.
    #[allow(clippy::cast_possible_truncation)]
    Ok((seconds * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::job::plan::JobPlan;
    use proptest::prelude::*;

    fn error(text: &str) -> ScenarioError {
        match parse_scenario(text) {
            Ok(s) => panic!("accepted {text:?} as {s:?}"),
            Err(e) => e,
        }
    }

    /// The line and message of a refusal, checking the Display form on the way.
    fn refusal(text: &str) -> (u64, String) {
        let e = error(text);
        let line = e.line().unwrap_or_else(|| panic!("no line in {e}"));
        let shown = e.to_string();
        let prefix = format!("Invalid farmhand-sim.yaml: line {line}: ");
        assert!(shown.starts_with(&prefix), "{shown}");
        (line, shown[prefix.len()..].to_owned())
    }

    fn only_plan(text: &str) -> JobPlan {
        parse_scenario(text).expect("valid").plan_for("any", DevicePlatform::Android)
    }

    #[test]
    fn an_empty_or_comment_only_file_is_the_same_as_none() {
        assert_eq!(parse_scenario(""), Ok(Scenario::default()));
        assert_eq!(parse_scenario("# nothing scripted yet\n"), Ok(Scenario::default()));
    }

    #[test]
    fn unknown_keys_are_refused_at_their_line_at_every_level() {
        let (line, msg) = refusal("setup_seconds: 2\nsetup_secs: 1\n");
        assert_eq!(line, 2);
        assert!(msg.contains("unknown field `setup_secs`"), "{msg}");

        let (line, msg) =
            refusal("tests:\n  - {name: a, seconds: 1}\n  - name: b\n    seconds: 1\n    outcome: FAILED\n");
        assert_eq!(line, 5);
        assert!(msg.contains("unknown field `outcome`"), "{msg}");

        let (line, msg) = refusal("devices:\n  - match: {model: Pixel}\n");
        assert_eq!(line, 2);
        assert!(msg.contains("unknown field `model`"), "{msg}");

        // Overrides do not nest.
        let (line, msg) = refusal("devices:\n  - match: {platform: IOS}\n    devices: []\n");
        assert_eq!(line, 3);
        assert!(msg.contains("unknown field `devices`"), "{msg}");
    }

    #[test]
    fn results_farmhand_decides_cannot_be_scripted() {
        for result in ["STOPPED", "PENDING"] {
            let text = format!("tests:\n  - name: a\n    seconds: 1\n    result: {result}\n");
            let (line, msg) = refusal(&text);
            assert_eq!(line, 4);
            assert!(msg.contains("farmhand sets it"), "{msg}");
        }
        let (line, msg) = refusal("tests:\n  - {name: a, seconds: 1, result: passed}\n");
        assert_eq!(line, 2);
        assert!(msg.contains("PASSED, FAILED, WARNED, SKIPPED, ERRORED"), "{msg}");
    }

    #[test]
    fn every_scriptable_result_is_kept_and_passed_is_the_default() {
        let plan = only_plan(
            "tests:\n\
             \x20 - {name: a, seconds: 1}\n\
             \x20 - {name: b, seconds: 1, result: PASSED}\n\
             \x20 - {name: c, seconds: 1, result: FAILED}\n\
             \x20 - {name: d, seconds: 1, result: WARNED}\n\
             \x20 - {name: e, seconds: 1, result: SKIPPED}\n\
             \x20 - {name: f, seconds: 1, result: ERRORED, message: boom}\n",
        );
        let results: Vec<_> = plan.tests.iter().map(|t| t.result).collect();
        assert_eq!(
            results,
            [
                ExecutionResult::Passed,
                ExecutionResult::Passed,
                ExecutionResult::Failed,
                ExecutionResult::Warned,
                ExecutionResult::Skipped,
                ExecutionResult::Errored,
            ]
        );
        assert_eq!(plan.tests[5].message.as_deref(), Some("boom"));
        assert_eq!(plan.tests[0].message, None);
    }

    #[test]
    fn a_key_without_a_value_is_refused_rather_than_guessed() {
        for key in ["setup_seconds", "teardown_seconds", "tests", "devices"] {
            let (line, msg) = refusal(&format!("setup_seconds: 1\n{key}:\n"));
            // `setup_seconds` repeated is its own error; every other key is line 2.
            assert_eq!(line, 2, "{key}");
            if key != "setup_seconds" {
                assert!(msg.contains(&format!("`{key}` has no value")), "{msg}");
            }
        }
        let (line, msg) = refusal("devices:\n  - match: {platform: IOS}\n    tests:\n");
        assert_eq!(line, 3);
        assert!(msg.contains("`tests` has no value"), "{msg}");
    }

    #[test]
    fn structural_mistakes_are_placed_on_their_line() {
        let cases: [(&str, u64, &str); 7] = [
            ("setup_seconds: 1\nsetup_seconds: 2\n", 2, "duplicate"),
            ("tests:\n  - {name: a}\n", 2, "missing field `seconds`"),
            ("devices:\n  - setup_seconds: 2\n", 2, "missing field `match`"),
            ("teardown_seconds: soon\n", 1, "expected a number"),
            ("\n\ntests: {a: 1}\n", 3, "expected a list"),
            ("tests: [\n", 1, "unclosed"),
            ("devices:\n  - match: {}\n", 2, "needs a `name`, a `platform` or both"),
        ];
        for (text, want_line, want) in cases {
            let (line, msg) = refusal(text);
            assert_eq!(line, want_line, "{text:?}: {msg}");
            assert!(msg.contains(want), "{text:?}: {msg}");
        }
    }

    #[test]
    fn device_matches_are_checked() {
        let (line, msg) = refusal("devices:\n  - match: {platform: ios}\n");
        assert_eq!(line, 2);
        assert!(msg.contains("ANDROID, IOS"), "{msg}");

        let (line, msg) = refusal(
            "devices:\n\
             \x20 - match: {name: Pixel, platform: ANDROID}\n\
             \x20   setup_seconds: 1\n\
             \x20 - match: {platform: ANDROID, name: Pixel}\n\
             \x20   setup_seconds: 2\n",
        );
        assert_eq!(line, 4);
        assert!(msg.contains("same `match`"), "{msg}");

        // Same name, different platform: different devices, both fine.
        parse_scenario(
            "devices:\n\
             \x20 - match: {name: Pixel, platform: ANDROID}\n\
             \x20 - match: {name: Pixel, platform: IOS}\n\
             \x20 - match: {name: Pixel}\n",
        )
        .expect("distinct matches");
    }

    #[test]
    fn fractional_seconds_are_kept_to_the_millisecond() {
        let plan = only_plan(
            "setup_seconds: 0.25\nteardown_seconds: 0\ntests:\n  - {name: a, seconds: 2.5}\n  - {name: b, seconds: 0.001}\n  - {name: c, seconds: 7}\n",
        );
        assert_eq!((plan.setup_ms, plan.teardown_ms), (250, 0));
        let ms: Vec<i64> = plan.tests.iter().map(|t| t.duration_ms).collect();
        assert_eq!(ms, [2_500, 1, 7_000]);
    }

    #[test]
    fn durations_are_between_zero_and_a_day() {
        assert_eq!(only_plan("setup_seconds: 86400\n").setup_ms, 86_400_000);
        for bad in ["-1", "-0.001", "86400.5", ".inf", ".nan"] {
            let (line, msg) = refusal(&format!("tests:\n  - name: a\n    seconds: {bad}\n"));
            assert_eq!(line, 3, "{bad}");
            assert!(msg.contains("from 0 to 86400"), "{bad}: {msg}");
        }
    }

    #[test]
    fn names_follow_the_model_limit_in_characters() {
        let longest = "é".repeat(MAX_NAME_CHARS);
        let plan = only_plan(&format!("tests:\n  - {{name: {longest}, seconds: 1}}\n"));
        assert_eq!(plan.tests[0].name, longest);

        let too_long = "a".repeat(MAX_NAME_CHARS + 1);
        let (line, msg) = refusal(&format!("tests:\n  - {{name: {too_long}, seconds: 1}}\n"));
        assert_eq!(line, 2);
        assert!(msg.contains("longer than 256"), "{msg}");

        for bad in ["''", "'   '", "\"a\\tb\"", "\"a\\nb\""] {
            let (line, _) = refusal(&format!("tests:\n  - name: {bad}\n    seconds: 1\n"));
            assert_eq!(line, 2, "{bad}");
        }
        let (line, msg) = refusal("devices:\n  - match: {name: ''}\n");
        assert_eq!(line, 2);
        assert!(msg.contains("device `name` is empty"), "{msg}");
    }

    #[test]
    fn messages_follow_the_model_limit() {
        let longest = "m".repeat(MAX_MESSAGE_CHARS);
        let plan = only_plan(&format!("tests:\n  - {{name: a, seconds: 1, message: {longest}}}\n"));
        assert_eq!(plan.tests[0].message.as_deref(), Some(longest.as_str()));
        let (line, msg) = refusal(&format!("tests:\n  - name: a\n    seconds: 1\n    message: {longest}m\n"));
        assert_eq!(line, 4);
        assert!(msg.contains("longer than 16384"), "{msg}");
    }

    fn tests_list(count: usize) -> String {
        let mut text = String::from("tests:\n");
        for i in 0..count {
            text.push_str(&format!("  - {{name: t{i}, seconds: 0}}\n"));
        }
        text
    }

    #[test]
    fn a_test_list_holds_at_most_the_limit() {
        assert_eq!(only_plan(&tests_list(MAX_TESTS)).tests.len(), MAX_TESTS);
        let (line, msg) = refusal(&format!("\n{}", tests_list(MAX_TESTS + 1)));
        // A block list is placed where its first entry starts.
        assert_eq!(line, 3);
        assert!(msg.contains("more than the 10000 allowed"), "{msg}");
    }

    #[test]
    fn the_device_list_holds_at_most_the_limit() {
        let devices = |count: usize| {
            let mut text = String::from("devices:\n");
            for i in 0..count {
                text.push_str(&format!("  - match: {{name: d{i}}}\n"));
            }
            text
        };
        parse_scenario(&devices(MAX_DEVICE_OVERRIDES)).expect("at the limit");
        let e = error(&devices(MAX_DEVICE_OVERRIDES + 1));
        assert!(e.to_string().contains("more than the 10000 allowed"), "{e}");
    }

    #[test]
    fn customer_file_paths_must_stay_inside_the_zip() {
        for (path, why) in [
            ("/etc/passwd", "absolute"),
            ("a/../../x", "segment"),
            ("./a", "segment"),
            ("a//b", "segment"),
            ("a\\\\b", "backslash"),
        ] {
            let text = format!("customer_artifacts:\n  - {{path: {path:?}, text: x}}\n");
            let (line, message) = refusal(&text);
            assert_eq!(line, 2, "{path}");
            assert!(message.contains(why), "{path}: {message}");
        }
        let (_, message) = refusal("customer_artifacts:\n  - {path: a, text: x}\n  - {path: a, text: y}\n");
        assert!(message.contains("twice"), "{message}");
        let ok = parse_scenario("customer_artifacts:\n  - {path: logs/app.log, text: \"one\\ntwo\"}\n").expect("valid");
        assert_eq!(
            ok.base.customer_files,
            Some(vec![SimFile { path: "logs/app.log".into(), text: "one\ntwo".into() }])
        );
    }

    #[test]
    fn a_file_over_the_size_cap_is_refused_before_parsing() {
        let text = format!("# {}\n", "x".repeat(MAX_SCENARIO_BYTES));
        let e = error(&text);
        assert_eq!(e.line(), None);
        assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}");
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_any_text(text in any::<String>()) {
            let _ = parse_scenario(&text);
        }

        #[test]
        fn parse_never_panics_on_yaml_like_text(
            text in "([a-z_]{0,16}|setup_seconds|tests|devices|match|name|seconds|result|platform|IOS|PASSED|[-:{}\\[\\],&*!|>'\" \n0-9.]){0,80}"
        ) {
            let _ = parse_scenario(&text);
        }

        /// Any duration written with up to three decimals comes back as exactly the
        /// milliseconds it spells (no float truncation: 0.291 s is 291 ms, not 290).
        #[test]
        fn decimal_seconds_give_exact_milliseconds(ms in 0_i64..=86_400_000) {
            let text = format!("setup_seconds: {}.{:03}\n", ms / 1000, ms % 1000);
            prop_assert_eq!(only_plan(&text).setup_ms, ms);
        }
    }
}
