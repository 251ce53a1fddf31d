//! The default specs that need an Android device: instrumentation, UI Automator, and the
//! monkey behind the built-in fuzz and explorer tests. They reach the device through the
//! `adb` farmhand uses, which reads the device from ANDROID_SERIAL.
//!
//! The executor has installed the app before these run; these install or push the tests.
//! Anything from the user (package names, parameters, the filter) is validated or quoted
//! for both shells it crosses: the host's, and the device's behind `adb shell`.

use std::path::Path;

use super::shell::{device_quote, fail_with, is_android_package, shell_quote};
use super::{DefaultSpecInput, TestPackageForm};
use crate::uploads::TestSpec;
use domain::upload::TestType;

/// Where a test phase writes `am instrument -r`'s raw output; the executor parses the
/// instrumentation output it finds in the log directory into the job's tests.
const INSTRUMENTATION_OUTPUT: &str = "$DEVICEFARM_LOG_DIR/instrumentation.txt";
/// The instrumentation component (`test.package/Runner`) found at setup, for the test phase.
const RUNNER_FILE: &str = "$TMPDIR/farmhand-instrumentation";
/// The UI Automator jars pushed at setup (names under /data/local/tmp), for the test phase.
const UIAUTOMATOR_JARS_FILE: &str = "$TMPDIR/farmhand-uiautomator-jars";

/// AWS's documented defaults and limits for the built-in fuzz's parameters.
const EVENT_COUNT: (&str, u64, u64, u64) = ("event_count", 6000, 1, 10_000);
const THROTTLE: (&str, u64, u64, u64) = ("throttle", 50, 0, 1000);

fn adb_command(adb: &Path) -> String {
    shell_quote(&adb.to_string_lossy())
}

fn app_package(input: &DefaultSpecInput) -> Result<&str, String> {
    let test_type = &input.test_type;
    let package = input
        .app_package
        .as_deref()
        .ok_or_else(|| format!("{test_type} runs need the package name of an Android app, and this run has none"))?;
    if is_android_package(package) {
        Ok(package)
    } else {
        Err(format!("the app package name {package:?} is not a valid Android package name"))
    }
}

/// The commands that put the single-file test package (`.apk`/`.jar`) where `then` can use
/// it as `$TMPDIR/<as_name>`.
fn copy_single_file(input: &DefaultSpecInput, extension: &str, as_name: &str) -> Result<Option<Vec<String>>, String> {
    match &input.package {
        TestPackageForm::Unpacked => Ok(None),
        TestPackageForm::SingleFile { stored: Some(file), .. } => {
            let file = shell_quote(&file.to_string_lossy());
            Ok(Some(vec![
                format!(
                    "[ -r {file} ] || {{ echo 'the uploaded test package is not readable by this job: upload the {extension} inside a .zip' >&2; exit 1; }}"
                ),
                format!("cp {file} \"$TMPDIR/{as_name}\""),
            ]))
        }
        TestPackageForm::SingleFile { stored: None, file_name } => Err(format!(
            "the test package {file_name:?} is a single {extension} file that farmhand cannot hand to this job \
             (its blob store is not a local directory): upload the {extension} inside a .zip"
        )),
    }
}

/// `am instrument` takes a class (`com.x.LoginTest`, `com.x.LoginTest#testOk`, or a comma
/// list of them) or a Java package. AWS's filter is one text for both, so the Java naming
/// convention decides: a last segment starting in upper case names a class.
fn instrumentation_filter(filter: &str) -> String {
    let first = filter.split(',').next().unwrap_or_default();
    let last_segment = first.split('#').next().unwrap_or_default().rsplit('.').next().unwrap_or_default();
    let kind = if last_segment.starts_with(|c: char| c.is_ascii_uppercase()) { "class" } else { "package" };
    format!(" -e {kind} {}", device_quote(filter.trim()))
}

/// The test APK(s) installed next to the app, the instrumentation that targets the app
/// found on the device, and `am instrument -r -w` with its raw output kept for parsing.
pub(super) fn instrumentation(adb: &Path, input: &DefaultSpecInput) -> Result<TestSpec, String> {
    let adb = adb_command(adb);
    let app = app_package(input)?;
    // -t: test APKs may be marked test-only. -g: grant what the tests' manifest asks for,
    // as the executor does for the app.
    let install = format!("{adb} install -r -t -g");
    let mut setup = match copy_single_file(input, ".apk", "test-package.apk")? {
        Some(mut copy) => {
            copy.push(format!("{install} \"$TMPDIR/test-package.apk\""));
            copy
        }
        None => vec![
            r#"cd "$DEVICEFARM_TEST_PACKAGE_PATH""#.to_owned(),
            r#"find . -type f -name '*.apk' | sort > "$TMPDIR/farmhand-test-apks""#.to_owned(),
            fail_unless(r#"[ -s "$TMPDIR/farmhand-test-apks" ]"#, "the test package holds no .apk file"),
            format!(
                r#"while IFS= read -r farmhand_apk; do {install} "$farmhand_apk" || exit 1; done < "$TMPDIR/farmhand-test-apks""#
            ),
        ],
    };
    // The runner class is whatever the test APK's manifest declares; the device has read
    // it: `pm list instrumentation` prints `instrumentation:PKG/RUNNER (target=APP)`.
    setup.push(format!(
        "{adb} shell pm list instrumentation | tr -d '\\r' | grep -F {} | head -n 1 | sed -e 's/^instrumentation://' -e 's/ (target=.*$//' > \"{RUNNER_FILE}\"",
        shell_quote(&format!("(target={app})"))
    ));
    // The component goes back through `adb shell` unquoted: only name characters pass.
    setup.push(format!(
        "farmhand_runner=$(cat \"{RUNNER_FILE}\"); case \"$farmhand_runner\" in ''|*[!A-Za-z0-9_./]*) {};; esac",
        fail_with(&format!(
            "no instrumentation on the device targets {app}: is the test package an instrumentation APK for this app?"
        ))
    ));
    let filter = input.filter.as_deref().map(instrumentation_filter).unwrap_or_default();
    let mut spec = TestSpec::default();
    spec.phases.install = setup;
    spec.phases.test = vec![
        format!("farmhand_runner=$(cat \"{RUNNER_FILE}\")"),
        // The results come from parsing the output; the exit status only matters when it
        // reported no test at all.
        format!(
            "{adb} shell am instrument -r -w{filter} \"$farmhand_runner\" > \"{INSTRUMENTATION_OUTPUT}\" 2>&1; farmhand_status=$?; cat \"{INSTRUMENTATION_OUTPUT}\"; [ \"$farmhand_status\" -eq 0 ]"
        ),
    ];
    Ok(spec)
}

fn fail_unless(condition: &str, why: &str) -> String {
    format!("{condition} || {{ {}; }}", fail_with(why))
}

/// The jars pushed to /data/local/tmp under fixed names (so nothing of the user's reaches
/// the device's shell), then `uiautomator runtest` over them. It reports in the same
/// status lines as instrumentation but exits 0 whatever happened, so its output decides.
pub(super) fn uiautomator(adb: &Path, input: &DefaultSpecInput) -> Result<TestSpec, String> {
    let adb = adb_command(adb);
    let jars = UIAUTOMATOR_JARS_FILE;
    let setup = match copy_single_file(input, ".jar", "farmhand-tests.jar")? {
        Some(mut copy) => {
            copy.push(format!("{adb} push \"$TMPDIR/farmhand-tests.jar\" /data/local/tmp/farmhand-tests-1.jar"));
            copy.push(format!("echo farmhand-tests-1.jar > \"{jars}\""));
            copy
        }
        None => vec![
            r#"cd "$DEVICEFARM_TEST_PACKAGE_PATH""#.to_owned(),
            r#"find . -type f -name '*.jar' | sort > "$TMPDIR/farmhand-jars""#.to_owned(),
            fail_unless(r#"[ -s "$TMPDIR/farmhand-jars" ]"#, "the test package holds no .jar file"),
            format!(
                r#"farmhand_n=0; : > "{jars}"; while IFS= read -r farmhand_jar; do farmhand_n=$((farmhand_n + 1)); {adb} push "$farmhand_jar" "/data/local/tmp/farmhand-tests-$farmhand_n.jar" || exit 1; echo "farmhand-tests-$farmhand_n.jar" >> "{jars}"; done < "$TMPDIR/farmhand-jars""#
            ),
        ],
    };
    let classes = input.filter.as_deref().map(|f| format!(" -c {}", device_quote(f.trim()))).unwrap_or_default();
    let output = "$DEVICEFARM_LOG_DIR/uiautomator.txt";
    let mut spec = TestSpec::default();
    spec.phases.install = setup;
    spec.phases.test = vec![format!(
        "{adb} shell uiautomator runtest $(cat \"{jars}\"){classes} > \"{output}\" 2>&1; farmhand_status=$?; cat \"{output}\"; \
         if grep -q -e '^FAILURES!!!' -e '^INSTRUMENTATION_STATUS_CODE: -[12]' \"{output}\"; then exit 1; fi; [ \"$farmhand_status\" -eq 0 ]"
    )];
    // The device-side glob is the device shell's to expand.
    spec.phases.post_test = vec![format!("{adb} shell rm -f '/data/local/tmp/farmhand-tests-*.jar' || true")];
    Ok(spec)
}

/// A number parameter of the built-in tests: absent means its default; anything but a
/// whole number in range is refused rather than passed to the device.
fn number_parameter(input: &DefaultSpecInput, (name, default, min, max): (&str, u64, u64, u64)) -> Result<u64, String> {
    let Some(text) = input.parameter(name) else { return Ok(default) };
    text.parse::<u64>().ok().filter(|n| (min..=max).contains(n)).ok_or_else(|| {
        format!("the {} parameter {name} must be a whole number from {min} to {max}, not {text:?}", input.test_type)
    })
}

/// `monkey` on the app: `event_count` pseudo-random events, `throttle` ms apart, from
/// `seed` when given (without one monkey picks a seed and prints it, so a run can still be
/// repeated). A crash or ANR of the app fails the test.
///
/// BUILTIN_EXPLORER runs the same monkey: AWS's explorer is its own crawler that walks the
/// app's screens, and monkey's random walk through the app is the nearest thing every
/// Android device carries. It keeps a screenshot of where the walk ended.
pub(super) fn monkey(adb: &Path, input: &DefaultSpecInput) -> Result<TestSpec, String> {
    let adb = adb_command(adb);
    let app = app_package(input)?;
    let events = number_parameter(input, EVENT_COUNT)?;
    let throttle = number_parameter(input, THROTTLE)?;
    let seed = match input.parameter("seed") {
        None => String::new(),
        Some(text) => {
            let seed = text
                .parse::<i64>()
                .map_err(|_| format!("the {} parameter seed must be a whole number, not {text:?}", input.test_type))?;
            format!(" -s {seed}")
        }
    };
    let output = "$DEVICEFARM_LOG_DIR/monkey.txt";
    let mut spec = TestSpec::default();
    spec.phases.test = vec![format!(
        "{adb} shell monkey -p {} -v --throttle {throttle}{seed} {events} > \"{output}\" 2>&1; farmhand_status=$?; cat \"{output}\"; \
         if grep -q -e '^// CRASH' -e '^// NOT RESPONDING' -e 'Monkey aborted' \"{output}\"; then echo 'the app crashed or stopped responding under monkey (see monkey.txt)' >&2; exit 1; fi; \
         [ \"$farmhand_status\" -eq 0 ]",
        shell_quote(app)
    )];
    if input.test_type == TestType::BuiltinExplorer {
        let shot = "$DEVICEFARM_SCREENSHOT_PATH/explorer-last-screen.png";
        spec.phases.post_test = vec![format!("{adb} exec-out screencap -p > \"{shot}\" || rm -f \"{shot}\"; true")];
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{all_commands, android, input};
    use super::super::{default_spec, DeviceTarget};
    use super::*;
    use std::path::PathBuf;

    const ADB: &str = "'/opt/platform tools/adb'";

    fn spec_for(test_type: &str, edit: impl FnOnce(&mut DefaultSpecInput)) -> TestSpec {
        let mut input = input(test_type, android());
        edit(&mut input);
        default_spec(&input)
    }

    fn failure(spec: &TestSpec) -> String {
        assert!(spec.phases.test.is_empty(), "{spec:?}");
        spec.phases.install.join("\n")
    }

    #[test]
    fn fuzz_runs_monkey_on_the_app_with_the_parameters() {
        let spec = spec_for("BUILTIN_FUZZ", |i| {
            i.parameters.insert("event_count".into(), " 300 ".into());
            i.parameters.insert("throttle".into(), "0".into());
            i.parameters.insert("seed".into(), "-42".into());
        });
        assert_eq!(spec.phases.install, Vec::<String>::new());
        assert!(
            spec.phases.test[0].starts_with(&format!("{ADB} shell monkey -p 'com.example.app' -v --throttle 0 -s -42 300 > \"$DEVICEFARM_LOG_DIR/monkey.txt\"")),
            "{spec:?}"
        );
        assert!(spec.phases.post_test.is_empty(), "only the explorer keeps a screenshot");
    }

    #[test]
    fn fuzz_defaults_and_explorer_screenshot() {
        let spec = spec_for("BUILTIN_EXPLORER", |_| {});
        assert!(spec.phases.test[0].contains("monkey -p 'com.example.app' -v --throttle 50 6000 >"), "{spec:?}");
        assert!(spec.phases.post_test[0].contains("exec-out screencap -p > \"$DEVICEFARM_SCREENSHOT_PATH/"));
    }

    #[test]
    fn fuzz_refuses_parameters_that_are_not_numbers_in_range_and_quotes_them_in_the_message() {
        let hostile = "1; reboot";
        let spec = spec_for("BUILTIN_FUZZ", |i| {
            i.parameters.insert("event_count".into(), hostile.into());
        });
        let message = failure(&spec);
        assert_eq!(
            message,
            "echo 'the BUILTIN_FUZZ parameter event_count must be a whole number from 1 to 10000, not \"1; reboot\"' >&2; exit 1"
        );
        for (name, value) in
            [("event_count", "0"), ("event_count", "10001"), ("throttle", "1001"), ("seed", "$(id)"), ("seed", "1.5")]
        {
            let spec = spec_for("BUILTIN_FUZZ", |i| {
                i.parameters.insert(name.into(), value.into());
            });
            assert!(failure(&spec).contains(&format!("parameter {name} must be")), "{name}={value}");
        }
        let out = std::process::Command::new("/bin/sh").arg("-c").arg(&message).output().expect("sh");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not \"1; reboot\""), "the value is printed, not run");
    }

    #[test]
    fn fuzz_needs_a_valid_app_package() {
        assert!(failure(&spec_for("BUILTIN_FUZZ", |i| i.app_package = None))
            .contains("need the package name of an Android app"));
        let bad = failure(&spec_for("BUILTIN_FUZZ", |i| i.app_package = Some("com.x'; reboot; '".into())));
        assert!(bad.contains("is not a valid Android package name"), "{bad}");
    }

    #[test]
    fn instrumentation_installs_the_test_apks_finds_the_runner_and_keeps_the_raw_output() {
        let spec = spec_for("INSTRUMENTATION", |_| {});
        let commands = all_commands(&spec);
        assert!(commands.contains(&format!("{ADB} install -r -t -g \"$farmhand_apk\"")), "{commands}");
        assert!(
            commands.contains(&format!(
                "{ADB} shell pm list instrumentation | tr -d '\\r' | grep -F '(target=com.example.app)' | head -n 1"
            )),
            "{commands}"
        );
        assert_eq!(
            spec.phases.test[1],
            format!("{ADB} shell am instrument -r -w \"$farmhand_runner\" > \"$DEVICEFARM_LOG_DIR/instrumentation.txt\" 2>&1; farmhand_status=$?; cat \"$DEVICEFARM_LOG_DIR/instrumentation.txt\"; [ \"$farmhand_status\" -eq 0 ]")
        );
    }

    #[test]
    fn instrumentation_of_a_single_apk_installs_the_uploaded_file() {
        let spec = spec_for("INSTRUMENTATION", |i| {
            i.package = TestPackageForm::SingleFile {
                file_name: "t.apk".into(),
                stored: Some(PathBuf::from("/data/blob's/1")),
            };
        });
        assert_eq!(spec.phases.install[1], "cp '/data/blob'\\''s/1' \"$TMPDIR/test-package.apk\"");
        assert_eq!(spec.phases.install[2], format!("{ADB} install -r -t -g \"$TMPDIR/test-package.apk\""));
        let remote = spec_for("INSTRUMENTATION", |i| {
            i.package = TestPackageForm::SingleFile { file_name: "t.apk".into(), stored: None };
        });
        assert!(failure(&remote).contains("upload the .apk inside a .zip"));
    }

    #[test]
    fn filters_reach_the_device_quoted_twice() {
        let spec = spec_for("INSTRUMENTATION", |i| i.filter = Some("com.example.LoginTest#testOk".into()));
        assert!(spec.phases.test[1].contains(" -e class ''\\''com.example.LoginTest#testOk'\\'''"), "{spec:?}");
        let spec = spec_for("INSTRUMENTATION", |i| i.filter = Some("com.example.login".into()));
        assert!(spec.phases.test[1].contains(" -e package "), "{spec:?}");
        let spec = spec_for("UIAUTOMATOR", |i| i.filter = Some("a'b".into()));
        assert!(spec.phases.test[0].contains(&format!(" -c {} >", device_quote("a'b"))), "{spec:?}");
    }

    #[test]
    fn uiautomator_pushes_jars_under_fixed_names_and_judges_by_the_output() {
        let spec = spec_for("UIAUTOMATOR", |_| {});
        let commands = all_commands(&spec);
        assert!(commands
            .contains(&format!("{ADB} push \"$farmhand_jar\" \"/data/local/tmp/farmhand-tests-$farmhand_n.jar\"")));
        assert!(spec.phases.test[0]
            .starts_with(&format!("{ADB} shell uiautomator runtest $(cat \"$TMPDIR/farmhand-uiautomator-jars\") >")));
        assert!(spec.phases.test[0].contains("'^FAILURES!!!'"));
        let single = spec_for("UIAUTOMATOR", |i| {
            i.package = TestPackageForm::SingleFile { file_name: "t.jar".into(), stored: Some(PathBuf::from("/b/1")) };
        });
        assert_eq!(
            single.phases.install[2],
            format!("{ADB} push \"$TMPDIR/farmhand-tests.jar\" /data/local/tmp/farmhand-tests-1.jar")
        );
    }

    /// Runs `commands` as the runner runs a phase (stop at the first failure).
    fn run_phase(commands: &[String], tmp: &Path, package: &Path) -> std::process::Output {
        let script: String = commands.iter().map(|c| format!("eval {} || exit $?\n", shell_quote(c))).collect();
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .env("TMPDIR", tmp)
            .env("DEVICEFARM_TEST_PACKAGE_PATH", package)
            .output()
            .expect("sh")
    }

    /// The instrumentation setup against a stand-in adb: the runner is picked from the
    /// device's list by the app it targets.
    #[test]
    fn instrumentation_setup_picks_the_runner_that_targets_the_app() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let adb = root.join("adb");
        std::fs::write(
            &adb,
            "#!/bin/sh\ncase \"$*\" in\n  'shell pm list instrumentation') printf 'instrumentation:com.other.test/androidx.test.runner.AndroidJUnitRunner (target=com.other)\\r\\ninstrumentation:com.example.app.test/androidx.test.runner.AndroidJUnitRunner (target=com.example.app)\\r\\n' ;;\n  install*) ;;\n  *) exit 64 ;;\nesac\n",
        )
        .expect("write");
        std::fs::set_permissions(&adb, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let package = root.join("pkg");
        std::fs::create_dir_all(&package).expect("mkdir");
        std::fs::write(package.join("app-androidTest.apk"), "").expect("write");
        let mut input = input("INSTRUMENTATION", DeviceTarget::Android { adb });

        let out = run_phase(&default_spec(&input).phases.install, root, &package);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            std::fs::read_to_string(root.join("farmhand-instrumentation")).expect("runner"),
            "com.example.app.test/androidx.test.runner.AndroidJUnitRunner\n"
        );

        input.app_package = Some("com.absent".into());
        let out = run_phase(&default_spec(&input).phases.install, root, &package);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no instrumentation on the device targets com.absent"));
    }
}
