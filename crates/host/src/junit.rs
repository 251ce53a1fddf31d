//! JUnit XML reports → the tests of a job's Tests Suite.
//!
//! Test frameworks disagree on many details of "JUnit XML"; this reads what pytest,
//! Maven Surefire (JUnit 4 and 5), TestNG's JUnit reports and similar tools write:
//!
//! - The root is `<testsuites>` or a single `<testsuite>`; suites may nest, and every
//!   `<testcase>` under the root counts, however deep (a `<testcase>` inside another
//!   one is not a test of its own).
//! - **Name:** `classname.name` when the case has a `classname`, so that
//!   `test_login` of two classes stays two tests; just `name` when the classname is
//!   missing or empty, or when `name` already starts with it (jest-junit and some
//!   others repeat the class in the name). A case without a name is named by its
//!   classname, or else `testcase N` (its 1-based position in the file).
//! - **Duration:** the `time` attribute, in seconds (fractional), rounded to whole
//!   milliseconds; missing, negative or unreadable means 0. Surefire writes
//!   thousands separators in some locales ("1,234.5"), and a lone comma is taken as
//!   a decimal comma ("0,25").
//! - **Result:** `<error>` → ERRORED, else `<failure>` → FAILED, else `<skipped>` →
//!   SKIPPED, else PASSED. Surefire's `<flakyFailure>`/`<flakyError>` (failed, then
//!   passed on a rerun) and `<rerunFailure>`/`<rerunError>` (which come with a real
//!   `<failure>`/`<error>`) do not change the result.
//! - **Message:** of the element that decided the result: its `message` attribute,
//!   else the first non-blank line of its text; `None` when there is neither or the
//!   test passed.
//!
//! Safety: no DTD is processed, so entities a document declares are never expanded
//! (an unknown `&name;` is kept as written); only XML's five predefined entities and
//! character references are resolved. The parser does not recurse, so deep nesting
//! cannot overflow the stack. Names and messages are cut to a bounded length, and a
//! file may hold at most [`MAX_TEST_CASES`] cases. A document that is not well formed
//! — including one cut short, as a killed test run may leave it — is an error rather
//! than a partial list, because its missing cases may be the failing ones.

use std::borrow::Cow;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use domain::job::status::ExecutionResult;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

/// Most `<testcase>`s one file may hold; a larger one is refused rather than
/// turned into millions of tests.
pub const MAX_TEST_CASES: usize = 100_000;
/// Longest test name kept, in characters.
pub const MAX_NAME_CHARS: usize = 1024;
/// Longest message kept, in characters (the first line of a stack trace fits).
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// One `<testcase>` of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCaseResult {
    pub name: String,
    pub duration_ms: u64,
    /// PASSED, FAILED, ERRORED or SKIPPED.
    pub result: ExecutionResult,
    pub message: Option<String>,
}

/// Why a file is not a usable JUnit report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JunitError {
    #[error("not well-formed XML at byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    #[error("the XML ends with {open} element(s) still open")]
    Truncated { open: usize },
    #[error("not a JUnit report: the root element is `<{root}>`, not `<testsuites>` or `<testsuite>`")]
    NotJunit { root: String },
    #[error("not a JUnit report: there is no root element")]
    Empty,
    #[error("more than {MAX_TEST_CASES} test cases in one report")]
    TooManyTestCases,
}

/// The test cases of one JUnit XML document, in document order.
pub fn parse_junit(xml: &[u8]) -> Result<Vec<TestCaseResult>, JunitError> {
    let text = decode(xml);
    let mut reader = Reader::from_str(&text);
    let mut parser = Parser::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| JunitError::Malformed { position: reader.error_position(), reason: e.to_string() })?;
        match event {
            Event::Start(start) => parser.open(&start, false)?,
            Event::Empty(start) => parser.open(&start, true)?,
            Event::End(_) => parser.close(),
            Event::Text(text) => parser.text(&text.xml10_content()),
            Event::CData(data) => parser.text(&data.xml10_content()),
            Event::GeneralRef(reference) => parser.text(&resolve_reference(&reference)),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    parser.finish()
}

/// Text of the document. Reports are UTF-8 in practice; UTF-16 (with a byte order
/// mark) is decoded too, and invalid bytes become U+FFFD rather than refusing the
/// whole report for one odd character in a log line.
fn decode(xml: &[u8]) -> Cow<'_, str> {
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = bytes.chunks_exact(2).map(|pair| from([pair[0], pair[1]])).collect();
        Cow::Owned(String::from_utf16_lossy(&units))
    };
    match xml {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8_lossy(rest),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8_lossy(xml),
    }
}

/// Which child element decided (so far) a case's result, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Errored,
    Failed,
    Skipped,
}

impl Outcome {
    fn of(element: &str) -> Option<Outcome> {
        match element {
            "error" => Some(Outcome::Errored),
            "failure" => Some(Outcome::Failed),
            "skipped" => Some(Outcome::Skipped),
            _ => None,
        }
    }

    fn result(self) -> ExecutionResult {
        match self {
            Outcome::Errored => ExecutionResult::Errored,
            Outcome::Failed => ExecutionResult::Failed,
            Outcome::Skipped => ExecutionResult::Skipped,
        }
    }
}

/// A `<testcase>` being read.
#[derive(Debug)]
struct OpenCase {
    /// Element depth of the `<testcase>` itself.
    depth: usize,
    name: String,
    duration_ms: u64,
    outcome: Option<(Outcome, Option<String>)>,
    /// The outcome element whose text is being read, when it gave no `message`.
    reading: Option<ReadingText>,
}

#[derive(Debug)]
struct ReadingText {
    depth: usize,
    text: String,
    /// The first non-blank line is complete (or the text is already long): only the
    /// first line is kept, so the rest of a stack trace is not gathered.
    done: bool,
}

#[derive(Debug, Default)]
struct Parser {
    /// Open elements; the root counts as 1.
    depth: usize,
    root_seen: bool,
    case: Option<OpenCase>,
    cases: Vec<TestCaseResult>,
}

impl Parser {
    fn open(&mut self, element: &BytesStart<'_>, empty: bool) -> Result<(), JunitError> {
        let local = element.local_name();
        let local = local.as_ref();
        if !self.root_seen {
            self.root_seen = true;
            if local != "testsuites" && local != "testsuite" {
                return Err(JunitError::NotJunit { root: local.to_owned() });
            }
        }
        let depth = self.depth + 1;
        match &mut self.case {
            None if local == "testcase" => {
                if self.cases.len() >= MAX_TEST_CASES {
                    return Err(JunitError::TooManyTestCases);
                }
                self.case = Some(OpenCase {
                    depth,
                    name: case_name(element, self.cases.len() + 1),
                    duration_ms: attribute(element, "time").map_or(0, |t| seconds_to_ms(&t)),
                    outcome: None,
                    reading: None,
                });
            }
            Some(case) if depth == case.depth + 1 => {
                if let Some(outcome) = Outcome::of(local) {
                    let worse = case.outcome.as_ref().is_none_or(|(o, _)| outcome < *o);
                    if worse {
                        let message = attribute(element, "message")
                            .map(|m| truncate(m.trim(), MAX_MESSAGE_CHARS))
                            .filter(|m| !m.is_empty());
                        let reading =
                            message.is_none().then(|| ReadingText { depth, text: String::new(), done: false });
                        case.outcome = Some((outcome, message));
                        case.reading = reading;
                    }
                }
            }
            _ => {}
        }
        self.depth = depth;
        if empty {
            // An empty element opens and closes at once.
            self.close();
        }
        Ok(())
    }

    fn close(&mut self) {
        let depth = self.depth;
        self.depth = self.depth.saturating_sub(1);
        let Some(case) = &mut self.case else { return };
        if let Some(reading) = &case.reading {
            if reading.depth == depth {
                if let Some((_, message)) = &mut case.outcome {
                    *message = first_line(&reading.text);
                }
                case.reading = None;
            }
        }
        if case.depth == depth {
            if let Some(case) = self.case.take() {
                let (result, message) = match case.outcome {
                    Some((outcome, message)) => (outcome.result(), message),
                    None => (ExecutionResult::Passed, None),
                };
                self.cases.push(TestCaseResult { name: case.name, duration_ms: case.duration_ms, result, message });
            }
        }
    }

    fn text(&mut self, text: &str) {
        let Some(reading) = self.case.as_mut().and_then(|c| c.reading.as_mut()) else {
            return;
        };
        if reading.done {
            return;
        }
        reading.text.push_str(text);
        reading.done = reading.text.len() >= MAX_MESSAGE_CHARS * 4
            || (text.contains('\n') && reading.text.trim_start().contains('\n'));
    }

    fn finish(self) -> Result<Vec<TestCaseResult>, JunitError> {
        if !self.root_seen {
            return Err(JunitError::Empty);
        }
        if self.depth > 0 {
            return Err(JunitError::Truncated { open: self.depth });
        }
        Ok(self.cases)
    }
}

/// An attribute's value with references resolved as [`resolve_reference`] does and
/// its tabs and line breaks turned into spaces, as XML specifies; `None` when absent.
fn attribute(element: &BytesStart<'_>, key: &str) -> Option<String> {
    let attr = element.attributes().flatten().find(|a| a.key.as_ref() == key)?;
    // quick-xml's own attribute unescaping refuses a value with an undeclared entity;
    // a report is better read with the entity kept as written.
    let raw = attr.value.replace(['\t', '\n', '\r'], " ");
    let mut value = String::with_capacity(raw.len());
    let mut rest = raw.as_str();
    while let Some(amp) = rest.find('&') {
        value.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match after.find(';') {
            Some(semi) => {
                value.push_str(&resolve_reference(&after[..semi]));
                rest = &after[semi + 1..];
            }
            None => {
                value.push_str(&rest[amp..]);
                rest = "";
            }
        }
    }
    value.push_str(rest);
    Some(value)
}

/// The text of `&name;`: XML's five predefined entities and character references
/// are resolved; anything else is kept as written. Entities a document's DTD declares
/// are never expanded: that is how "billion laughs" and external-entity attacks work.
fn resolve_reference(name: &str) -> Cow<'static, str> {
    match BytesRef::new(name).resolve_char_ref() {
        Ok(Some(c)) => Cow::Owned(c.to_string()),
        _ => match resolve_predefined_entity(name) {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(format!("&{name};")),
        },
    }
}

fn case_name(element: &BytesStart<'_>, position: usize) -> String {
    let name = attribute(element, "name").unwrap_or_default();
    let name = name.trim();
    let class = attribute(element, "classname").unwrap_or_default();
    let class = class.trim();
    let full = match (class.is_empty(), name.is_empty()) {
        (_, true) if !class.is_empty() => class.to_owned(),
        (_, true) => format!("testcase {position}"),
        (true, false) => name.to_owned(),
        (false, false) if name.starts_with(class) => name.to_owned(),
        (false, false) => format!("{class}.{name}"),
    };
    truncate(&full, MAX_NAME_CHARS)
}

fn seconds_to_ms(time: &str) -> u64 {
    let time = time.trim();
    let normalised: Cow<'_, str> = match (time.contains(','), time.contains('.')) {
        (true, true) => Cow::Owned(time.replace(',', "")),
        (true, false) => Cow::Owned(time.replace(',', ".")),
        _ => Cow::Borrowed(time),
    };
    match normalised.parse::<f64>() {
        // `as` saturates, so an absurd time becomes u64::MAX ms rather than wrapping.
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => (seconds * 1000.0).round() as u64,
        _ => 0,
    }
}

fn first_line(text: &str) -> Option<String> {
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(|l| truncate(l, MAX_MESSAGE_CHARS))
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => s[..end].to_owned(),
        None => s.to_owned(),
    }
}

/// Limits for [`collect_results`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectLimits {
    /// Larger files are skipped: real reports are far smaller, and the whole file is
    /// read into memory.
    pub max_file_bytes: u64,
    /// At most this many `.xml` files are read (in path order).
    pub max_files: usize,
    /// How deep under the directory files are looked for.
    pub max_depth: usize,
}

impl Default for CollectLimits {
    fn default() -> Self {
        CollectLimits { max_file_bytes: 16 * 1024 * 1024, max_files: 1000, max_depth: 16 }
    }
}

/// The test cases of every JUnit report (`*.xml`) under `dir`, files in path order,
/// with the default [`CollectLimits`].
pub fn collect_results(dir: &Path) -> Vec<TestCaseResult> {
    collect_results_with(dir, &CollectLimits::default())
}

/// [`collect_results`] with explicit limits. Files that are not JUnit reports (a
/// log directory holds other XML too), unreadable or too large are skipped with a
/// warning; symbolic links are not followed, so a report cannot point outside `dir`.
/// Blocking file I/O: call it from `spawn_blocking` in async code.
pub fn collect_results_with(dir: &Path, limits: &CollectLimits) -> Vec<TestCaseResult> {
    let mut results = Vec::new();
    for path in report_paths(dir, limits) {
        match read_capped(&path, limits.max_file_bytes) {
            Ok(Some(bytes)) => match parse_junit(&bytes) {
                Ok(cases) => results.extend(cases),
                Err(e) => tracing::warn!(path = %path.display(), "skipping XML file: {e}"),
            },
            Ok(None) => tracing::warn!(
                path = %path.display(),
                "skipping XML file larger than {} bytes",
                limits.max_file_bytes
            ),
            Err(e) => tracing::warn!(path = %path.display(), "cannot read XML file: {e}"),
        }
    }
    results
}

fn report_paths(dir: &Path, limits: &CollectLimits) -> Vec<PathBuf> {
    // As Path::extension reads it: a file named just ".xml" has none.
    files_under(dir, limits, |name| name.len() > ".xml".len() && name.ends_with(".xml"))
}

/// The regular files under `dir` whose lowercased name `wanted` accepts, in name order,
/// within the limits' depth and count; symbolic links are not followed, so a job's log
/// directory cannot point the collectors outside it.
pub(crate) fn files_under(dir: &Path, limits: &CollectLimits, wanted: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .max_depth(limits.max_depth)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| wanted(&entry.file_name().to_string_lossy().to_ascii_lowercase()))
        .take(limits.max_files)
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// The file's bytes, or `None` if it has more than `cap` (checked while reading, as
/// the file may still be growing).
pub(crate) fn read_capped(path: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn case(name: &str, ms: u64, result: ExecutionResult, message: Option<&str>) -> TestCaseResult {
        TestCaseResult { name: name.to_owned(), duration_ms: ms, result, message: message.map(str::to_owned) }
    }

    fn parse(xml: &str) -> Vec<TestCaseResult> {
        parse_junit(xml.as_bytes()).expect("a valid report")
    }

    /// pytest's default (xunit2) report: a `<testsuites>` root around one suite.
    const PYTEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="0.120" timestamp="2024-05-01T10:00:00.000000" hostname="runner">
<testcase classname="tests.test_login" name="test_ok" time="0.001" />
<testcase classname="tests.test_login" name="test_wrong_password[pixel]" time="0.052"><failure message="AssertionError: assert 401 == 200">def test_wrong_password():
&gt;       assert resp.status == 200
E       AssertionError: assert 401 == 200

tests/test_login.py:12: AssertionError</failure></testcase>
<testcase classname="tests.test_login" name="test_fixture_broken" time="0.000"><error message="failed on setup with &quot;ConnectionError: no device&quot;">@pytest.fixture
def driver(): ...</error></testcase>
<testcase classname="tests.test_login" name="test_later" time="0.000"><skipped type="pytest.skip" message="not on this device">tests/test_login.py:20: not on this device</skipped></testcase>
</testsuite></testsuites>
"#;

    #[test]
    fn pytest_report() {
        assert_eq!(
            parse(PYTEST),
            vec![
                case("tests.test_login.test_ok", 1, ExecutionResult::Passed, None),
                case(
                    "tests.test_login.test_wrong_password[pixel]",
                    52,
                    ExecutionResult::Failed,
                    Some("AssertionError: assert 401 == 200")
                ),
                case(
                    "tests.test_login.test_fixture_broken",
                    0,
                    ExecutionResult::Errored,
                    Some("failed on setup with \"ConnectionError: no device\"")
                ),
                case("tests.test_login.test_later", 0, ExecutionResult::Skipped, Some("not on this device")),
            ]
        );
    }

    /// Maven Surefire with JUnit 5: a single `<testsuite>` root, properties, a flaky
    /// test that passed on rerun, a test that failed every rerun, and a failure whose
    /// only description is its CDATA stack trace.
    const SUREFIRE_JUNIT5: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd" version="3.0" name="com.example.app.CheckoutTest" time="1,234.567" tests="4" errors="0" skipped="1" failures="2">
  <properties>
    <property name="java.version" value="17.0.10"/>
    <property name="os.name" value="Linux"/>
  </properties>
  <testcase name="addsToCart()" classname="com.example.app.CheckoutTest" time="1,200.5"/>
  <testcase name="retriesPayment()" classname="com.example.app.CheckoutTest" time="0.31">
    <flakyFailure message="timeout" type="java.util.concurrent.TimeoutException"><stackTrace>java.util.concurrent.TimeoutException: timeout</stackTrace></flakyFailure>
    <system-out><![CDATA[retrying]]></system-out>
  </testcase>
  <testcase name="totals(int)[2]" classname="com.example.app.CheckoutTest" time="0.002">
    <failure type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <4> but was: <5>
	at org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:151)
	at com.example.app.CheckoutTest.totals(CheckoutTest.java:42)
]]></failure>
    <rerunFailure message="expected: &lt;4&gt; but was: &lt;5&gt;" type="org.opentest4j.AssertionFailedError"/>
    <system-err><![CDATA[WARN something]]></system-err>
  </testcase>
  <testcase name="legacyFlow()" classname="com.example.app.CheckoutTest" time="0">
    <skipped message="@Disabled until the new API ships"/>
  </testcase>
</testsuite>
"#;

    #[test]
    fn surefire_junit5_report() {
        assert_eq!(
            parse(SUREFIRE_JUNIT5),
            vec![
                case("com.example.app.CheckoutTest.addsToCart()", 1_200_500, ExecutionResult::Passed, None),
                case("com.example.app.CheckoutTest.retriesPayment()", 310, ExecutionResult::Passed, None),
                case(
                    "com.example.app.CheckoutTest.totals(int)[2]",
                    2,
                    ExecutionResult::Failed,
                    Some("org.opentest4j.AssertionFailedError: expected: <4> but was: <5>")
                ),
                case(
                    "com.example.app.CheckoutTest.legacyFlow()",
                    0,
                    ExecutionResult::Skipped,
                    Some("@Disabled until the new API ships")
                ),
            ]
        );
    }

    /// Surefire with JUnit 4: an error with a message and text, and an error whose
    /// text starts with blank lines.
    const SUREFIRE_JUNIT4: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<testsuite name=\"com.example.LoginIT\" time=\"2.5\" tests=\"2\" errors=\"2\" skipped=\"0\" failures=\"0\">\r\n\
<testcase name=\"login\" classname=\"com.example.LoginIT\" time=\"2.1\">\r\n\
<error message=\"Connection refused\" type=\"java.net.ConnectException\">java.net.ConnectException: Connection refused\r\n\
\tat java.base/sun.nio.ch.Net.connect0(Native Method)</error>\r\n\
</testcase>\r\n\
<testcase name=\"logout\" classname=\"com.example.LoginIT\" time=\"0.4\">\r\n\
<error type=\"java.lang.NullPointerException\">\r\n\r\n   java.lang.NullPointerException  \r\n\tat com.example.LoginIT.logout(LoginIT.java:30)</error>\r\n\
</testcase>\r\n\
</testsuite>\r\n";

    #[test]
    fn surefire_junit4_report() {
        assert_eq!(
            parse(SUREFIRE_JUNIT4),
            vec![
                case("com.example.LoginIT.login", 2100, ExecutionResult::Errored, Some("Connection refused")),
                case(
                    "com.example.LoginIT.logout",
                    400,
                    ExecutionResult::Errored,
                    Some("java.lang.NullPointerException")
                ),
            ]
        );
    }

    /// TestNG's `junitreports/TEST-*.xml`.
    const TESTNG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by org.testng.reporters.JUnitReportReporter -->
<testsuite hostname="runner" failures="1" tests="3" name="com.example.CalculatorTest" time="0.015" errors="0" timestamp="2024-05-01T10:00:00 UTC" skipped="1">
  <testcase classname="com.example.CalculatorTest" name="adds" time="0.003"/>
  <testcase classname="com.example.CalculatorTest" name="divides" time="0.009">
    <failure type="java.lang.ArithmeticException" message="/ by zero">
      <![CDATA[java.lang.ArithmeticException: / by zero
	at com.example.CalculatorTest.divides(CalculatorTest.java:18)
]]>
    </failure>
  </testcase>
  <testcase classname="com.example.CalculatorTest" name="multiplies" time="0.0">
    <skipped/>
  </testcase>
</testsuite>
"#;

    #[test]
    fn testng_report() {
        assert_eq!(
            parse(TESTNG),
            vec![
                case("com.example.CalculatorTest.adds", 3, ExecutionResult::Passed, None),
                case("com.example.CalculatorTest.divides", 9, ExecutionResult::Failed, Some("/ by zero")),
                case("com.example.CalculatorTest.multiplies", 0, ExecutionResult::Skipped, None),
            ]
        );
    }

    #[test]
    fn nested_suites_namespaces_and_names_without_classname() {
        let xml = r#"<testsuites name="all">
          <testsuite name="checkout">
            <testsuite name="checkout.payment">
              <testcase name="Payment accepts cards" classname="Payment accepts cards" time="0.5"/>
              <testcase name="Payment rejects expired cards" classname="Payment" time="0.25"/>
            </testsuite>
            <testcase name="plain" time="1"/>
            <testcase classname="OnlyClass"/>
            <testcase/>
          </testsuite>
          <r:testcase xmlns:r="urn:x" name="prefixed" classname=""/>
        </testsuites>"#;
        let names: Vec<String> = parse(xml).into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["Payment accepts cards", "Payment rejects expired cards", "plain", "OnlyClass", "testcase 5", "prefixed"]
        );
    }

    #[test]
    fn the_worst_outcome_decides_and_gives_the_message() {
        let xml = r#"<testsuite>
          <testcase name="a"><skipped message="skip"/><failure message="fail"/></testcase>
          <testcase name="b"><failure message="fail"/><error message="boom"/><failure message="again"/></testcase>
          <testcase name="c"><failure message="first"/><failure message="second"/></testcase>
          <testcase name="d"><failure>  </failure></testcase>
          <testcase name="e"><system-out>noise</system-out><failure message="  ">from text</failure></testcase>
          <testcase name="f"><testcase name="inner"><error message="inner"/></testcase></testcase>
        </testsuite>"#;
        let got: Vec<_> = parse(xml).into_iter().map(|c| (c.name, c.result, c.message)).collect();
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            got,
            [
                ("a".to_owned(), ExecutionResult::Failed, some("fail")),
                ("b".to_owned(), ExecutionResult::Errored, some("boom")),
                ("c".to_owned(), ExecutionResult::Failed, some("first")),
                ("d".to_owned(), ExecutionResult::Failed, None),
                ("e".to_owned(), ExecutionResult::Failed, some("from text")),
                ("f".to_owned(), ExecutionResult::Passed, None),
            ]
        );
    }

    #[test]
    fn durations() {
        for (time, ms) in [
            ("0.0015", 2),
            ("12", 12_000),
            ("1,234.5", 1_234_500),
            ("0,25", 250),
            (" 3.5 ", 3_500),
            ("1e3", 1_000_000),
            ("-1", 0),
            ("NaN", 0),
            ("inf", 0),
            ("", 0),
            ("soon", 0),
            ("1e400", 0),
            ("1e300", u64::MAX),
        ] {
            assert_eq!(seconds_to_ms(time), ms, "{time:?}");
        }
    }

    #[test]
    fn long_names_and_messages_are_cut_on_a_char_boundary() {
        let name = "é".repeat(MAX_NAME_CHARS + 10);
        let message = "ü".repeat(MAX_MESSAGE_CHARS + 10);
        let xml =
            format!(r#"<testsuite><testcase name="{name}"><failure message="{message}"/></testcase></testsuite>"#);
        let cases = parse(&xml);
        assert_eq!(cases[0].name.chars().count(), MAX_NAME_CHARS);
        let got = cases[0].message.as_deref().expect("message");
        assert_eq!(got.chars().count(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn encodings() {
        let bom_utf8 = [b"\xEF\xBB\xBF".as_slice(), TESTNG.as_bytes()].concat();
        assert_eq!(parse_junit(&bom_utf8), Ok(parse(TESTNG)));

        let xml =
            r#"<?xml version="1.0" encoding="UTF-16"?><testsuite><testcase classname="Ünï" name="çødé"/></testsuite>"#;
        for (bom, to_bytes) in [
            ([0xFF, 0xFE], u16::to_le_bytes as fn(u16) -> [u8; 2]),
            ([0xFE, 0xFF], u16::to_be_bytes as fn(u16) -> [u8; 2]),
        ] {
            let mut bytes = bom.to_vec();
            bytes.extend(xml.encode_utf16().flat_map(to_bytes));
            let cases = parse_junit(&bytes).expect("UTF-16 report");
            assert_eq!(cases[0].name, "Ünï.çødé");
        }

        let latin1 = b"<testsuite><testcase name=\"caf\xE9\"/></testsuite>";
        assert_eq!(parse_junit(latin1).expect("invalid UTF-8 is replaced")[0].name, "caf\u{FFFD}");
    }

    #[test]
    fn references() {
        let xml = r#"<testsuite><testcase name="a&amp;b &#x263A; &#65; &unknown;">
            <failure>&lt;tag&gt; &#9731; &custom; rest</failure></testcase></testsuite>"#;
        let cases = parse(xml);
        assert_eq!(cases[0].name, "a&b \u{263A} A &unknown;");
        assert_eq!(cases[0].message.as_deref(), Some("<tag> \u{2603} &custom; rest"));
    }

    #[test]
    fn declared_entities_are_never_expanded() {
        // "Billion laughs": expanding lol9 would take gigabytes.
        let mut dtd = String::from("<!ENTITY lol0 \"lol\">");
        for i in 1..10 {
            let prev = format!("&lol{};", i - 1);
            dtd.push_str(&format!("<!ENTITY lol{i} \"{}\">", prev.repeat(10)));
        }
        let xml = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE testsuite [{dtd}]>\
             <testsuite><testcase name=\"&lol9;\"><failure>&lol9;</failure></testcase></testsuite>"
        );
        let cases = parse(&xml);
        assert_eq!(cases[0].name, "&lol9;");
        assert_eq!(cases[0].message.as_deref(), Some("&lol9;"));

        let external = r#"<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <testsuite><testcase name="&xxe;"/></testsuite>"#;
        assert_eq!(parse(external)[0].name, "&xxe;");
    }

    #[test]
    fn refuses_what_is_not_a_whole_junit_report() {
        let err = |xml: &[u8]| parse_junit(xml).expect_err("refused");
        assert_eq!(
            err(b"<project><modelVersion>4.0.0</modelVersion></project>"),
            JunitError::NotJunit { root: "project".to_owned() }
        );
        assert_eq!(err(b""), JunitError::Empty);
        assert_eq!(err(b"  <!-- nothing -->  "), JunitError::Empty);
        assert_eq!(err(b"just some text"), JunitError::Empty);
        assert_eq!(err(b"<testsuite><testcase name=\"a\"/><testcase name=\"b\">"), JunitError::Truncated { open: 2 });
        assert!(matches!(err(b"<testsuite><testcase></testsuite>"), JunitError::Malformed { .. }));
        let odd_attributes = parse("<testsuite><testcase name=\"a\" name=\"b\" time=1 x classname='c'/></testsuite>");
        assert_eq!(odd_attributes.len(), 1, "{odd_attributes:?}");
        assert!(matches!(err(b"<testsuite name=\"a></testsuite>"), JunitError::Malformed { .. }));
        let soup = parse_junit(b"\x00\x01\x02<<<>>>");
        assert!(soup.is_err(), "{soup:?}");
        assert_eq!(parse("<testsuites/>"), []);
        assert_eq!(parse("<testsuite name=\"none\" tests=\"0\"></testsuite>"), []);
    }

    #[test]
    fn deep_nesting_is_handled_without_recursion() {
        let depth = 200_000;
        let mut xml = "<testsuite>".repeat(depth);
        xml.push_str("<testcase name=\"deep\"/>");
        let closed = format!("{xml}{}", "</testsuite>".repeat(depth));
        let cases = parse(&closed);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].name, "deep");
        assert_eq!(parse_junit(xml.as_bytes()), Err(JunitError::Truncated { open: depth }));
    }

    #[test]
    fn too_many_test_cases_are_refused() {
        let body = "<testcase/>".repeat(MAX_TEST_CASES);
        let at_limit = format!("<testsuite>{body}</testsuite>");
        assert_eq!(parse(&at_limit).len(), MAX_TEST_CASES);
        let over = format!("<testsuite>{body}<testcase/></testsuite>");
        assert_eq!(parse_junit(over.as_bytes()), Err(JunitError::TooManyTestCases));
    }

    #[test]
    fn a_huge_failure_text_keeps_only_its_first_line() {
        let trace = "\tat a.b.C.d(C.java:1) &amp; more\n".repeat(200_000);
        let xml = format!(
            "<testsuite><testcase name=\"t\"><failure>\n\nBoom: it broke\n{trace}</failure></testcase></testsuite>"
        );
        let cases = parse(&xml);
        assert_eq!(cases[0].message.as_deref(), Some("Boom: it broke"));
    }

    fn write(path: &Path, text: &[u8]) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(path, text).expect("write");
    }

    #[test]
    fn collects_reports_under_a_directory_in_path_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(&root.join("b/TEST-com.example.CalculatorTest.xml"), TESTNG.as_bytes());
        write(&root.join("a/nested/deeper/report.XML"), PYTEST.as_bytes());
        write(&root.join("pom.xml"), b"<project/>");
        write(&root.join("broken.xml"), b"<testsuite><testcase>");
        write(&root.join("results.json"), b"{}");
        write(&root.join("c/notes.txt"), SUREFIRE_JUNIT4.as_bytes());

        let outside = tempfile::tempdir().expect("tempdir");
        write(&outside.path().join("secret.xml"), SUREFIRE_JUNIT4.as_bytes());
        std::os::unix::fs::symlink(outside.path().join("secret.xml"), root.join("link.xml")).expect("symlink");
        std::os::unix::fs::symlink(outside.path(), root.join("linked-dir")).expect("symlink");

        let expected: Vec<_> = parse(PYTEST).into_iter().chain(parse(TESTNG)).collect();
        assert_eq!(collect_results(root), expected);

        let small = CollectLimits { max_file_bytes: TESTNG.len() as u64, ..CollectLimits::default() };
        assert_eq!(collect_results_with(root, &small), parse(TESTNG), "PYTEST is larger");
        let one_file = CollectLimits { max_files: 1, ..CollectLimits::default() };
        assert_eq!(collect_results_with(root, &one_file), parse(PYTEST));
        let shallow = CollectLimits { max_depth: 2, ..CollectLimits::default() };
        assert_eq!(collect_results_with(root, &shallow), parse(TESTNG));

        assert_eq!(collect_results(&root.join("missing")), []);
    }

    /// A generated `<testcase>` and what parsing it must give.
    fn arb_case() -> impl Strategy<Value = (String, TestCaseResult)> {
        // Starts with a visible character: a blank message is tested elsewhere.
        let text = "[a-zA-Z0-9_.<>&\"'()-][a-zA-Z0-9 _.<>&\"'\\[\\]()-]{0,19}";
        (proptest::option::of("[A-Za-z][A-Za-z0-9.]{0,10}"), "[a-z][a-z0-9_]{0,10}", 0u32..100_000, 0usize..4, text)
            .prop_map(|(class, name, millis, kind, message)| {
                let message = message.trim().to_owned();
                let escaped = quick_xml::escape::escape(message.as_str()).into_owned();
                let (child, result) = match kind {
                    0 => (String::new(), ExecutionResult::Passed),
                    1 => (format!("<failure message=\"{escaped}\"/>"), ExecutionResult::Failed),
                    2 => (format!("<error>{escaped}\nmore</error>"), ExecutionResult::Errored),
                    _ => (format!("<skipped message=\"{escaped}\"></skipped>"), ExecutionResult::Skipped),
                };
                let class_attr = class.as_ref().map(|c| format!(" classname=\"{c}\"")).unwrap_or_default();
                let xml = format!(
                    "<testcase name=\"{name}\"{class_attr} time=\"{}.{:03}\">{child}</testcase>",
                    millis / 1000,
                    millis % 1000
                );
                let full_name = match class {
                    Some(c) if !name.starts_with(&c) => format!("{c}.{name}"),
                    _ => name,
                };
                let message = (kind != 0 && !message.is_empty()).then_some(message);
                let expected = TestCaseResult { name: full_name, duration_ms: u64::from(millis), result, message };
                (xml, expected)
            })
    }

    proptest! {
        #[test]
        fn generated_reports_parse_back(
            suites in proptest::collection::vec(proptest::collection::vec(arb_case(), 0..6), 0..4),
            wrap in any::<bool>(),
        ) {
            let mut xml = String::new();
            let mut expected = Vec::new();
            for cases in &suites {
                xml.push_str("<testsuite name=\"s\">");
                for (case_xml, case) in cases {
                    xml.push_str(case_xml);
                    expected.push(case.clone());
                }
                xml.push_str("</testsuite>");
            }
            let xml = if wrap || suites.len() != 1 {
                format!("<testsuites>{xml}</testsuites>")
            } else {
                xml
            };
            prop_assert_eq!(parse_junit(xml.as_bytes()), Ok(expected));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_junit(&bytes);
        }

        #[test]
        fn xml_like_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
            Just("<testsuites>"), Just("</testsuites>"), Just("<testsuite>"), Just("</testsuite>"),
            Just("<testcase name=\"a\" classname=\"b\" time=\"1.5\">"), Just("</testcase>"),
            Just("<testcase/>"), Just("<failure message=\"m\">"), Just("</failure>"),
            Just("<error/>"), Just("<skipped/>"), Just("text\n"), Just("&amp;"), Just("&#0;"),
            Just("&#xFFFFFFFF;"), Just("&x;"), Just("<![CDATA[c]]>"), Just("<!-- c -->"),
            Just("<!DOCTYPE x [<!ENTITY x \"y\">]>"), Just("<?pi x?>"), Just("<"), Just(">"),
            Just("\""), Just("<a b='c'>"), Just("</a>"),
        ], 0..40)) {
            let _ = parse_junit(parts.concat().as_bytes());
        }
    }
}
