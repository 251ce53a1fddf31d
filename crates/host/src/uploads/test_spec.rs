//! The YAML test spec of a custom test environment: its typed form and the parser that
//! checks an uploaded spec, reporting the line of the first problem.
//!
//! Shape (Device Farm's format): `version: 0.1`, a `phases` mapping whose keys are
//! `install`, `pre_test`, `test`, `post_test`, each with `commands: [string, …]`, and a
//! top-level `artifacts: [path, …]`. AWS's sample specs leave lists holding only comments,
//! which YAML reads as null: an empty `commands:`, phase or `artifacts:` counts as empty.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_saphyr::{DuplicateKeyPolicy, Spanned};
use thiserror::Error;

/// The only spec version Device Farm defines.
pub const SUPPORTED_VERSION: &str = "0.1";

/// A parsed, valid test spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestSpec {
    pub phases: Phases,
    /// Paths whose contents are collected as artifacts after the run.
    pub artifacts: Vec<String>,
    /// AWS's choice of Android host image (`android_test_host`), kept for the runner.
    pub android_test_host: Option<String>,
    /// AWS's choice of iOS host image (`ios_test_host`), kept for the runner.
    pub ios_test_host: Option<String>,
}

/// The four phases, run in field order; an absent phase has no commands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phases {
    pub install: Vec<String>,
    pub pre_test: Vec<String>,
    pub test: Vec<String>,
    pub post_test: Vec<String>,
}

/// Why a test spec was refused. `line` is 1-based, when the parser could place it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct TestSpecError {
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for TestSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "Invalid test spec: line {line}: {}", self.message),
            None => write!(f, "Invalid test spec: {}", self.message),
        }
    }
}

/// Parses and checks a test spec.
pub fn parse_test_spec(text: &str) -> Result<TestSpec, TestSpecError> {
    let options = serde_saphyr::options! {
        with_snippet: false,
        // A repeated key is almost always a mistake that would silently drop commands.
        duplicate_keys: DuplicateKeyPolicy::Error,
    };
    let raw: RawSpec = serde_saphyr::from_str_with_options(text, options).map_err(|e| from_yaml_error(&e))?;
    raw.into_spec()
}

impl TestSpec {
    /// The spec as YAML that [`parse_test_spec`] reads back to the same spec, after
    /// `comment` (each line becomes a `#` line). Every string is written as a JSON string,
    /// which is also a YAML double-quoted scalar: hand-written because the YAML crate is
    /// built without its serializer, and this needs no more than that.
    pub fn to_yaml(&self, comment: &str) -> String {
        let quoted = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
        let mut out: String = comment.lines().map(|line| format!("# {line}\n").replace("# \n", "#\n")).collect();
        out.push_str(&format!("version: {SUPPORTED_VERSION}\n"));
        for (key, value) in [("android_test_host", &self.android_test_host), ("ios_test_host", &self.ios_test_host)] {
            if let Some(value) = value {
                out.push_str(&format!("{key}: {}\n", quoted(value)));
            }
        }
        out.push_str("phases:\n");
        let phases = &self.phases;
        for (name, commands) in [
            ("install", &phases.install),
            ("pre_test", &phases.pre_test),
            ("test", &phases.test),
            ("post_test", &phases.post_test),
        ] {
            if commands.is_empty() {
                continue;
            }
            out.push_str(&format!("  {name}:\n    commands:\n"));
            for command in commands {
                out.push_str(&format!("      - {}\n", quoted(command)));
            }
        }
        if !self.artifacts.is_empty() {
            out.push_str("artifacts:\n");
            for path in &self.artifacts {
                out.push_str(&format!("  - {}\n", quoted(path)));
            }
        }
        out
    }
}

fn from_yaml_error(error: &serde_saphyr::Error) -> TestSpecError {
    let line = error.location().map(|l| l.line()).filter(|l| *l > 0);
    TestSpecError { line, message: in_spec_terms(&strip_location_suffix(&error.to_string())) }
}

/// Rewords the parser's event names into what a spec author wrote, and drops advice
/// aimed at the programmer using the library.
fn in_spec_terms(message: &str) -> String {
    const REWORDS: [(&str, &str); 4] = [
        ("expected mapping start", "expected a mapping (key: value)"),
        ("expected sequence start", "expected a list"),
        ("expected string scalar", "expected a string"),
        (", set DuplicateKeyPolicy in Options if acceptable", ""),
    ];
    REWORDS.iter().fold(message.to_owned(), |m, (from, to)| m.replace(from, to))
}

/// serde-saphyr appends " at line L column C" to its messages; the line is reported on
/// its own, so the suffix would say it twice.
fn strip_location_suffix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or_default();
    match first_line.rfind(" at line ") {
        Some(i) => first_line[..i].to_owned(),
        None => first_line.to_owned(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    version: Spanned<Version>,
    phases: Spanned<Option<RawPhases>>,
    #[serde(default)]
    artifacts: Option<Vec<String>>,
    #[serde(default)]
    android_test_host: Option<String>,
    #[serde(default)]
    ios_test_host: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPhases {
    #[serde(default)]
    install: Option<RawPhase>,
    #[serde(default)]
    pre_test: Option<RawPhase>,
    #[serde(default)]
    test: Option<RawPhase>,
    #[serde(default)]
    post_test: Option<RawPhase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    #[serde(default)]
    commands: Option<Vec<String>>,
}

impl RawSpec {
    fn into_spec(self) -> Result<TestSpec, TestSpecError> {
        if self.version.value.0 != SUPPORTED_VERSION {
            return Err(TestSpecError {
                line: Some(self.version.referenced.line()),
                message: format!(
                    "unsupported version {:?}; the only supported version is {SUPPORTED_VERSION}",
                    self.version.value.0
                ),
            });
        }
        let phases = self.phases.value.unwrap_or_default();
        let commands = |p: Option<RawPhase>| p.and_then(|p| p.commands).unwrap_or_default();
        Ok(TestSpec {
            phases: Phases {
                install: commands(phases.install),
                pre_test: commands(phases.pre_test),
                test: commands(phases.test),
                post_test: commands(phases.post_test),
            },
            artifacts: self.artifacts.unwrap_or_default(),
            android_test_host: self.android_test_host,
            ios_test_host: self.ios_test_host,
        })
    }
}

/// The `version` value as written: YAML reads `0.1` as a float, but a quoted "0.1" is
/// just as clear, so both are accepted and compared as text.
struct Version(String);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;

        impl Visitor<'_> for VersionVisitor {
            type Value = Version;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version number such as 0.1")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Version, E> {
                Ok(Version(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Version, E> {
                Ok(Version(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Version, E> {
                Ok(Version(v.to_string()))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Version, E> {
                Ok(Version(v.trim().to_owned()))
            }
        }

        deserializer.deserialize_any(VersionVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_yaml_reads_back_as_the_same_spec_whatever_the_text() {
        let mut spec = TestSpec::default();
        spec.phases.install = vec!["echo 'a: b' # not a comment".into(), "printf \"%s\\n\" \"$X\"".into()];
        spec.phases.test = vec!["- starts like a list item".into(), "tab\there, newline\nthere, ünïcode".into()];
        spec.artifacts = vec!["$DEVICEFARM_LOG_DIR".into(), "*.log".into()];
        spec.android_test_host = Some("amazon_linux_2".into());
        let yaml = spec.to_yaml("first line\n\nthird: with colon");
        assert!(yaml.starts_with("# first line\n#\n# third: with colon\nversion: 0.1\n"), "{yaml}");
        assert_eq!(parse_test_spec(&yaml), Ok(spec));
    }

    const GOOD: &str = "\
version: 0.1
android_test_host: amazon_linux_2
phases:
  install:
    commands:
      - export PATH=$PATH:/opt/tools
      - pip install -r requirements.txt
  pre_test:
    commands:
      # only a comment: YAML reads this list as null
  test:
    commands:
      - pytest tests/ --junit-xml $DEVICEFARM_LOG_DIR/junit.xml
  post_test:
artifacts:
  - $DEVICEFARM_LOG_DIR
";

    #[test]
    fn a_good_spec_parses_into_its_phases() {
        let spec = parse_test_spec(GOOD).expect("valid spec");
        assert_eq!(spec.phases.install, ["export PATH=$PATH:/opt/tools", "pip install -r requirements.txt"]);
        assert!(spec.phases.pre_test.is_empty());
        assert_eq!(spec.phases.test.len(), 1);
        assert!(spec.phases.post_test.is_empty());
        assert_eq!(spec.artifacts, ["$DEVICEFARM_LOG_DIR"]);
        assert_eq!(spec.android_test_host.as_deref(), Some("amazon_linux_2"));
    }

    #[test]
    fn quoted_version_and_missing_phases_inside_are_fine() {
        let spec =
            parse_test_spec("version: \"0.1\"\nphases:\n  test:\n    commands: [echo hi]\n").expect("valid spec");
        assert_eq!(spec.phases.test, ["echo hi"]);
        assert!(spec.artifacts.is_empty());
    }

    #[test]
    fn broken_yaml_reports_its_line() {
        let text = "version: 0.1\nphases:\n  test:\n    commands: [echo hi\n  post_test: {\n";
        let err = parse_test_spec(text).unwrap_err();
        assert!(err.line.is_some_and(|l| l >= 4), "{err:?}");
        assert!(err.to_string().starts_with("Invalid test spec: line "), "{err}");
    }

    #[test]
    fn unknown_phase_is_named_with_its_line() {
        let text = "version: 0.1\nphases:\n  install:\n    commands: []\n  pretest:\n    commands: []\n";
        let err = parse_test_spec(text).unwrap_err();
        assert_eq!(err.line, Some(5), "{err:?}");
        assert!(err.message.contains("pretest"), "{err}");
    }

    #[test]
    fn commands_must_be_a_list_of_strings() {
        let text = "version: 0.1\nphases:\n  test:\n    commands:\n      - echo ok\n      - [nested]\n";
        let err = parse_test_spec(text).unwrap_err();
        assert_eq!(err.line, Some(6), "{err:?}");

        let text = "version: 0.1\nphases:\n  test:\n    commands: echo not-a-list\n";
        let err = parse_test_spec(text).unwrap_err();
        assert_eq!(err.line, Some(4), "{err:?}");
        assert_eq!(err.message, "expected a list");
    }

    #[test]
    fn a_misspelt_phase_key_is_refused() {
        let text = "version: 0.1\nphases:\n  test:\n    command:\n      - echo hi\n";
        let err = parse_test_spec(text).unwrap_err();
        assert_eq!(err.line, Some(4), "{err:?}");
        assert!(err.message.contains("command"), "{err}");
    }

    #[test]
    fn version_must_be_present_and_supported() {
        let err = parse_test_spec("version: 0.2\nphases: {}\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("0.2"), "{err}");

        let err = parse_test_spec("phases:\n  test:\n    commands: []\n").unwrap_err();
        assert!(err.message.contains("version"), "{err}");
    }

    #[test]
    fn phases_are_required_and_the_top_level_must_be_a_mapping() {
        let err = parse_test_spec("version: 0.1\n").unwrap_err();
        assert!(err.message.contains("phases"), "{err}");
        let err = parse_test_spec("- just\n- a list\n").unwrap_err();
        assert_eq!(err.to_string(), "Invalid test spec: line 1: expected a mapping (key: value)");
        assert!(parse_test_spec("").is_err());
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let text = "version: 0.1\nphases:\n  test:\n    commands: [a]\n  test:\n    commands: [b]\n";
        let err = parse_test_spec(text).unwrap_err();
        assert_eq!(err.line, Some(5), "{err:?}");
        assert_eq!(err.message, "duplicate mapping key: test");
    }

    #[test]
    fn alias_bombs_are_stopped_by_the_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        text.push_str("version: 0.1\nphases: {}\n");
        assert!(parse_test_spec(&text).is_err());
    }
}
