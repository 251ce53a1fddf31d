//! The test cases a real job's test phase reported, whatever wrote them: JUnit XML reports
//! and Android instrumentation output, found under the job's log directory.

use std::collections::BTreeSet;
use std::path::Path;

use crate::instrumentation::collect_instrumentation_results;
use crate::junit::{collect_results, CollectLimits, TestCaseResult};

/// Every reported test case under `log_dir`: the JUnit reports' first, then the
/// instrumentation outputs' (timed from `device_log`, the job's logcat, when there is one).
/// A spec may both keep the raw instrumentation output and convert it to JUnit XML; a test
/// the JUnit reports already name is then not counted again.
/// Blocking file I/O: call it from `spawn_blocking` in async code.
pub fn collect_reported_cases(log_dir: &Path, device_log: Option<&Path>) -> Vec<TestCaseResult> {
    let mut cases = collect_results(log_dir);
    let from_junit: BTreeSet<String> = cases.iter().map(|case| case.name.clone()).collect();
    cases.extend(
        collect_instrumentation_results(log_dir, device_log, &CollectLimits::default())
            .into_iter()
            .filter(|case| !from_junit.contains(&case.name)),
    );
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::job::status::ExecutionResult;
    use std::fs;

    const INSTRUMENTATION: &str = "\
INSTRUMENTATION_STATUS: class=com.example.LoginTest\nINSTRUMENTATION_STATUS: test=ok\nINSTRUMENTATION_STATUS_CODE: 1\n\
INSTRUMENTATION_STATUS: class=com.example.LoginTest\nINSTRUMENTATION_STATUS: test=ok\nINSTRUMENTATION_STATUS_CODE: 0\n\
INSTRUMENTATION_STATUS: class=com.example.LoginTest\nINSTRUMENTATION_STATUS: test=bad\nINSTRUMENTATION_STATUS_CODE: 1\n\
INSTRUMENTATION_STATUS: class=com.example.LoginTest\nINSTRUMENTATION_STATUS: stack=java.lang.AssertionError: no\n\
INSTRUMENTATION_STATUS: test=bad\nINSTRUMENTATION_STATUS_CODE: -2\nINSTRUMENTATION_CODE: -1\n";

    #[test]
    fn junit_reports_and_instrumentation_output_both_count_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("instrumentation.txt"), INSTRUMENTATION).expect("write");
        let only_raw = collect_reported_cases(dir.path(), None);
        assert_eq!(
            only_raw.iter().map(|c| (c.name.as_str(), c.result)).collect::<Vec<_>>(),
            [
                ("com.example.LoginTest.ok", ExecutionResult::Passed),
                ("com.example.LoginTest.bad", ExecutionResult::Failed)
            ]
        );

        fs::write(
            dir.path().join("junit.xml"),
            r#"<testsuite><testcase classname="com.example.LoginTest" name="bad"><failure message="no"/></testcase><testcase classname="web" name="home"/></testsuite>"#,
        )
        .expect("write");
        let both = collect_reported_cases(dir.path(), None);
        assert_eq!(
            both.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["com.example.LoginTest.bad", "web.home", "com.example.LoginTest.ok"]
        );
    }
}
