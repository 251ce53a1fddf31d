//! What a run scheduled without a test spec (no `testSpecArn`) runs: one default spec per
//! test type the model knows, built from what the job knows about itself
//! ([`DefaultSpecInput`]).
//!
//! Each default does what a user of that framework would do by hand where the job runs:
//! - driver `host`: the host itself, with no device. The Appium frameworks run there (web
//!   tests, or tests that reach a device on their own); types that need an Android or iOS
//!   device fail their setup saying so.
//! - driver `adb`: an Android device (`ANDROID_SERIAL` names it, the app is already
//!   installed by the executor). Android's own frameworks and the built-in fuzz run
//!   through `adb`.
//!
//! A type farmhand cannot run fails its setup with a one-line reason, which becomes the
//! job's message (the job ends ERRORED), instead of passing with nothing run.
//!
//! Layout: [`shell`] (quoting user input), `appium` (the Appium frameworks), `android`
//! (instrumentation, UI Automator, the monkey behind the built-in tests).

mod android;
mod appium;
pub mod shell;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use domain::curated_specs::CuratedSpec;
use domain::device::Driver;
use domain::resources::Upload;
use domain::upload::TestType;

use crate::adb::Adb;
use crate::agent::Assignment;
use crate::runner::Workspace;
use crate::uploads::TestSpec;
use shell::fail_with;

/// Where the job's commands find the device under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceTarget {
    /// Driver `host`: the host runs the commands and there is no device.
    Host,
    /// Driver `adb`: an Android device. `adb` is the executable farmhand drives the device
    /// with, found on farmhand's own PATH; the commands call it by that path because the
    /// job's PATH is a fixed one that need not hold Android's platform tools.
    Android { adb: PathBuf },
}

impl DeviceTarget {
    /// For messages: what the job runs on.
    fn described(&self) -> &'static str {
        match self {
            DeviceTarget::Host => "on the host (driver host) with no device attached",
            DeviceTarget::Android { .. } => "on an Android device (driver adb)",
        }
    }
}

/// How the test package reaches the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestPackageForm {
    /// No test package, or an archive unpacked into `DEVICEFARM_TEST_PACKAGE_PATH`.
    Unpacked,
    /// The package was uploaded as one `.apk` or `.jar`. The workspace unpacks it like any
    /// zip, which leaves nothing `adb` can install or push, so the spec needs the file as
    /// uploaded: `stored` is where it stays readable for the whole job, when it does.
    SingleFile { file_name: String, stored: Option<PathBuf> },
}

impl TestPackageForm {
    /// The form of a package uploaded as `file_name`, kept at `stored` if anywhere.
    pub fn of(file_name: &str, stored: Option<&Path>) -> TestPackageForm {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".apk") || lower.ends_with(".jar") {
            TestPackageForm::SingleFile { file_name: file_name.to_owned(), stored: stored.map(Path::to_path_buf) }
        } else {
            TestPackageForm::Unpacked
        }
    }
}

/// Everything a default spec depends on, gathered once so that building the spec is a
/// pure function of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultSpecInput {
    /// The run's test type.
    pub test_type: TestType,
    /// ScheduleRunTest.parameters, as sent: untrusted text.
    pub parameters: BTreeMap<String, String>,
    /// ScheduleRunTest.filter, when given: untrusted text.
    pub filter: Option<String>,
    /// The app's package name, as upload inspection read it from the APK's manifest.
    pub app_package: Option<String>,
    pub target: DeviceTarget,
    pub package: TestPackageForm,
}

impl DefaultSpecInput {
    /// What the default spec of an assigned job needs: the app's package name that upload
    /// inspection found, the test package's name (a bare `.apk`/`.jar` is placed in the
    /// workspace as the file it is), and where `adb` is for a job on an Android device.
    pub fn for_assignment(assignment: &Assignment, workspace: &Workspace) -> DefaultSpecInput {
        let run = &assignment.run;
        let package = match &assignment.package {
            Some(input) => {
                let placed = workspace.package_dir().join(&input.file_name);
                TestPackageForm::of(&input.file_name, placed.is_file().then_some(placed.as_path()))
            }
            None => TestPackageForm::Unpacked,
        };
        let target = match assignment.job.driver {
            Driver::Adb => DeviceTarget::Android {
                // If adb is missing the executor fails the job before any spec runs.
                adb: Adb::from_path_env().map(|adb| adb.program).unwrap_or_else(|_| PathBuf::from("adb")),
            },
            Driver::Host | Driver::Simulated | Driver::Scripted => DeviceTarget::Host,
        };
        DefaultSpecInput {
            test_type: run.test_type,
            parameters: test_parameters(&run.echo),
            filter: test_filter(&run.echo),
            app_package: assignment.app_package.clone(),
            target,
            package,
        }
    }

    pub(crate) fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(|value| value.trim()).filter(|value| !value.is_empty())
    }
}

/// The spec a run without a test spec runs, for `input`'s test type and device.
pub fn default_spec(input: &DefaultSpecInput) -> TestSpec {
    buildable_spec(input).unwrap_or_else(|reason| failing_spec(&reason))
}

/// The default spec for `input`, or why farmhand has none that can run there.
pub fn buildable_spec(input: &DefaultSpecInput) -> Result<TestSpec, String> {
    use TestType::*;
    let test_type = input.test_type;
    let android_only = |what: &str| {
        format!("{test_type} {what} need an Android device, and this job runs {}", input.target.described())
    };
    match (test_type, &input.target) {
        (AppiumPython | AppiumWebPython, _) => Ok(appium::python()),
        (AppiumNode | AppiumWebNode, _) => Ok(appium::node()),
        (AppiumRuby | AppiumWebRuby, _) => Ok(appium::ruby()),
        (AppiumJavaTestng | AppiumWebJavaTestng, _) => Ok(appium::java_testng()),
        (AppiumJavaJunit | AppiumWebJavaJunit, _) => Ok(appium::java_junit()),
        (Instrumentation | Uiautomator, DeviceTarget::Host) => Err(android_only("tests")),
        (BuiltinFuzz | BuiltinExplorer, DeviceTarget::Host) => Err(android_only("runs")),
        (Instrumentation, DeviceTarget::Android { adb }) => android::instrumentation(adb, input),
        (Uiautomator, DeviceTarget::Android { adb }) => android::uiautomator(adb, input),
        (BuiltinFuzz | BuiltinExplorer, DeviceTarget::Android { adb }) => android::monkey(adb, input),
        (Xctest | XctestUi | Uiautomation, target) => {
            Err(format!("{test_type} tests need an iOS device, and this job runs {}", target.described()))
        }
        (Calabash, _) => {
            Err("CALABASH tests need the Calabash runtime, which is discontinued and which farmhand does not provide"
                .to_owned())
        }
        (RemoteAccessRecord | RemoteAccessReplay, _) => {
            Err(format!("{test_type} runs come from remote access sessions, which farmhand does not offer"))
        }
        (WebPerformanceProfile, _) => {
            Err("WEB_PERFORMANCE_PROFILE runs need the AWS web performance profiler, which farmhand does not have"
                .to_owned())
        }
    }
}

/// The YAML a curated test spec upload holds: the default for its test type as a job on
/// the host runs it, to download and start a spec of one's own from. A run given the
/// curated spec's ARN runs the default made for its own job instead (see
/// [`runs_default_spec`]), which differs only where the job's device, app, parameters or
/// filter enter the commands.
pub fn curated_spec_yaml(spec: &CuratedSpec) -> String {
    let input = DefaultSpecInput {
        test_type: spec.test_type(),
        parameters: BTreeMap::new(),
        filter: None,
        app_package: None,
        target: DeviceTarget::Host,
        package: TestPackageForm::Unpacked,
    };
    let comment = format!(
        "{}: farmhand's default test spec for {} runs, as a job on the host runs it.\n\
         A run scheduled with this curated spec runs the same default, made for its own device, app,\n\
         test parameters and filter. Download this file to start a test spec of your own.",
        spec.name,
        spec.test_type()
    );
    default_spec(&input).to_yaml(&comment)
}

/// Whether a run with this `testSpecArn` runs farmhand's default spec: it has none, or it
/// names a curated spec (whose content is that default).
pub fn runs_default_spec(region: &str, test_spec_arn: Option<&str>) -> bool {
    test_spec_arn.is_none_or(|arn| domain::curated_specs::find_curated_spec(region, arn).is_some())
}

/// A spec whose setup fails with `reason`: the job ends ERRORED with it, its tests SKIPPED.
fn failing_spec(reason: &str) -> TestSpec {
    let mut spec = TestSpec::default();
    spec.phases.install = vec![fail_with(reason)];
    spec
}

/// ScheduleRunTest.parameters, as the API stored them (`testParameters` of the run's echo).
fn test_parameters(echo: &serde_json::Value) -> BTreeMap<String, String> {
    echo.get("testParameters")
        .and_then(|value| value.as_object())
        .map(|map| map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

fn test_filter(echo: &serde_json::Value) -> Option<String> {
    echo.get("testFilter").and_then(|value| value.as_str()).filter(|text| !text.trim().is_empty()).map(str::to_owned)
}

/// The package name upload inspection stored for an APK (`package_name`, AWS's key).
pub fn app_package_name(upload: &Upload) -> Option<String> {
    let metadata: serde_json::Value = serde_json::from_str(upload.metadata.as_deref()?).ok()?;
    metadata.get("package_name")?.as_str().map(str::to_owned)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn input(test_type: &str, target: DeviceTarget) -> DefaultSpecInput {
        DefaultSpecInput {
            test_type: test_type.parse().expect("a test type"),
            parameters: BTreeMap::new(),
            filter: None,
            app_package: Some("com.example.app".to_owned()),
            target,
            package: TestPackageForm::Unpacked,
        }
    }

    pub fn android() -> DeviceTarget {
        DeviceTarget::Android { adb: PathBuf::from("/opt/platform tools/adb") }
    }

    /// Every command of the spec, phase by phase, in one text for `contains` checks.
    pub fn all_commands(spec: &TestSpec) -> String {
        [&spec.phases.install, &spec.phases.pre_test, &spec.phases.test, &spec.phases.post_test]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{all_commands, android, input};
    use super::*;

    #[test]
    fn every_curated_spec_holds_a_valid_spec_that_is_the_hosts_default() {
        for spec in domain::curated_specs::curated_specs() {
            let yaml = curated_spec_yaml(&spec);
            assert!(yaml.starts_with(&format!("# {}: ", spec.name)), "{yaml}");
            let parsed =
                crate::uploads::parse_test_spec(&yaml).unwrap_or_else(|e| panic!("{}: {e}\n{yaml}", spec.name));
            let mut host = input(spec.test_type().as_str(), DeviceTarget::Host);
            host.app_package = None;
            assert_eq!(parsed, default_spec(&host), "{}", spec.name);
        }
    }

    #[test]
    fn a_curated_spec_arn_runs_the_default() {
        let curated = domain::curated_specs::curated_specs()[0].arn("us-west-2");
        assert!(runs_default_spec("us-west-2", None));
        assert!(runs_default_spec("us-west-2", Some(&curated)));
        assert!(!runs_default_spec("us-west-2", Some("arn:aws:devicefarm:us-west-2:123456789012:upload:p/u")));
    }

    const MODEL_TEST_TYPES: [&str; 21] = [
        "BUILTIN_FUZZ",
        "BUILTIN_EXPLORER",
        "WEB_PERFORMANCE_PROFILE",
        "APPIUM_JAVA_JUNIT",
        "APPIUM_JAVA_TESTNG",
        "APPIUM_PYTHON",
        "APPIUM_NODE",
        "APPIUM_RUBY",
        "APPIUM_WEB_JAVA_JUNIT",
        "APPIUM_WEB_JAVA_TESTNG",
        "APPIUM_WEB_PYTHON",
        "APPIUM_WEB_NODE",
        "APPIUM_WEB_RUBY",
        "CALABASH",
        "INSTRUMENTATION",
        "UIAUTOMATION",
        "UIAUTOMATOR",
        "XCTEST",
        "XCTEST_UI",
        "REMOTE_ACCESS_RECORD",
        "REMOTE_ACCESS_REPLAY",
    ];

    /// The reason a failing spec gives, or `None` when the spec runs tests.
    fn failure_of(spec: &TestSpec) -> Option<String> {
        let [only] = spec.phases.install.as_slice() else { return None };
        (spec.phases.test.is_empty() && only.starts_with("echo ")).then(|| only.clone())
    }

    #[test]
    fn every_type_runs_its_framework_or_fails_its_setup_saying_why() {
        for test_type in MODEL_TEST_TYPES {
            for target in [DeviceTarget::Host, android()] {
                let spec = default_spec(&input(test_type, target.clone()));
                let appium = test_type.starts_with("APPIUM_");
                let android_type =
                    matches!(test_type, "INSTRUMENTATION" | "UIAUTOMATOR" | "BUILTIN_FUZZ" | "BUILTIN_EXPLORER");
                let expect_tests = appium || (android_type && target != DeviceTarget::Host);
                assert_eq!(failure_of(&spec).is_none(), expect_tests, "{test_type} on {target:?}: {spec:?}");
                assert!(!spec.phases.test.is_empty() || !spec.phases.install.is_empty(), "{test_type}: an empty spec");
            }
        }
    }

    #[test]
    fn device_types_on_the_host_say_which_device_they_need() {
        let on_host = |t: &str| failure_of(&default_spec(&input(t, DeviceTarget::Host))).expect("a failing spec");
        assert_eq!(
            on_host("INSTRUMENTATION"),
            "echo 'INSTRUMENTATION tests need an Android device, and this job runs on the host (driver host) with no device attached' >&2; exit 1"
        );
        assert!(on_host("BUILTIN_FUZZ").contains("BUILTIN_FUZZ runs need an Android device"));
        assert!(on_host("XCTEST_UI").contains("XCTEST_UI tests need an iOS device, and this job runs on the host"));
        let on_phone = failure_of(&default_spec(&input("XCTEST", android()))).expect("a failing spec");
        assert!(
            on_phone.contains("XCTEST tests need an iOS device, and this job runs on an Android device (driver adb)"),
            "{on_phone}"
        );
        assert!(on_host("REMOTE_ACCESS_REPLAY").contains("remote access sessions"));
        // A type the model lacks never gets here: TestType has no such value.
    }

    #[test]
    fn appium_types_run_the_same_way_on_both_drivers() {
        for test_type in ["APPIUM_PYTHON", "APPIUM_WEB_NODE", "APPIUM_JAVA_TESTNG"] {
            assert_eq!(default_spec(&input(test_type, DeviceTarget::Host)), default_spec(&input(test_type, android())));
        }
        let python = all_commands(&default_spec(&input("APPIUM_WEB_PYTHON", DeviceTarget::Host)));
        assert!(python.contains("pytest --junitxml=\"$DEVICEFARM_LOG_DIR/junit.xml\""), "{python}");
    }

    #[test]
    fn the_inputs_come_from_the_stored_run_and_upload() {
        let echo = serde_json::json!({
            "testParameters": {"event_count": "200", "seed": "7"},
            "testFilter": "com.example.LoginTest",
        });
        assert_eq!(
            test_parameters(&echo),
            BTreeMap::from([("event_count".to_owned(), "200".to_owned()), ("seed".to_owned(), "7".to_owned())])
        );
        assert_eq!(test_filter(&echo).as_deref(), Some("com.example.LoginTest"));
        assert_eq!(test_parameters(&serde_json::json!({"testParameters": null})), BTreeMap::new());
        assert_eq!(test_filter(&serde_json::json!({"testFilter": "  "})), None);

        let upload = Upload {
            name: "app.apk".into(),
            upload_type: domain::upload::UploadType::AndroidApp,
            status: domain::upload::UploadStatus::Succeeded,
            category: domain::upload::UploadCategory::Private,
            content_type: None,
            metadata: Some(r#"{"package_name":"com.example.shop","sdk_version":"26"}"#.into()),
            message: None,
            url: "http://127.0.0.1/upload".into(),
            url_expires_ms: 0,
            size_bytes: Some(10),
        };
        assert_eq!(app_package_name(&upload).as_deref(), Some("com.example.shop"));
        assert_eq!(app_package_name(&Upload { metadata: None, ..upload }), None);
    }

    #[test]
    fn single_file_packages_are_told_apart_from_archives() {
        let stored = Path::new("/data/blobs/1");
        assert_eq!(
            TestPackageForm::of("app-debug-androidTest.APK", Some(stored)),
            TestPackageForm::SingleFile { file_name: "app-debug-androidTest.APK".into(), stored: Some(stored.into()) }
        );
        assert_eq!(
            TestPackageForm::of("tests.jar", None),
            TestPackageForm::SingleFile { file_name: "tests.jar".into(), stored: None }
        );
        assert_eq!(TestPackageForm::of("tests.zip", Some(stored)), TestPackageForm::Unpacked);
    }
}
