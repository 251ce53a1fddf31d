//! The default specs of the Appium frameworks: install the package's dependencies the way
//! its ecosystem does, then run its tests, writing JUnit XML into `$DEVICEFARM_LOG_DIR`
//! where the tool can (the executor reads every report found there).
//!
//! They are the same on every driver: the tests drive the device (or browser) through
//! their own Appium or WebDriver client. No Appium server is started for them, because
//! jobs on several phones of one host would all want Appium's port 4723.
//!
//! Dependencies go into the job's own HOME (a venv, a bundle path, npm's cache), never the
//! host's shared locations: no root is needed and no job sees what another installed.
//! Every command reads only fixed text and the job's variables, so nothing a user sent is
//! pasted into them.

use crate::uploads::TestSpec;

const CD_PACKAGE: &str = r#"cd "$DEVICEFARM_TEST_PACKAGE_PATH""#;

fn spec(install: &[&str], test: &[&str]) -> TestSpec {
    let mut spec = TestSpec::default();
    spec.phases.install = install.iter().map(|c| (*c).to_owned()).collect();
    spec.phases.test = test.iter().map(|c| (*c).to_owned()).collect();
    spec
}

/// The job's venv when the install made one, else the host's python3 (a package without
/// requirements.txt relies on what the host has).
const PICK_PYTHON: &str = r#"if [ -x "$HOME/venv/bin/python" ]; then farmhand_python="$HOME/venv/bin/python"; else farmhand_python=python3; fi"#;

/// pytest over the package (AWS's Python packages: `tests/`, `requirements.txt`, and
/// sometimes a `wheelhouse/` of prebuilt wheels, preferred when present).
pub(super) fn python() -> TestSpec {
    spec(
        &[
            CD_PACKAGE,
            // --system-site-packages: what the host already provides (a preinstalled Appium
            // client, pytest) stays usable without being downloaded again.
            r#"if [ -f requirements.txt ]; then python3 -m venv --system-site-packages "$HOME/venv"; fi"#,
            r#"set --; if [ -d wheelhouse ]; then set -- --find-links "$PWD/wheelhouse"; fi"#,
            r#"if [ -f requirements.txt ]; then "$HOME/venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$@" -r requirements.txt; fi"#,
            PICK_PYTHON,
            // Missing pytest is a broken setup, not failing tests.
            r#""$farmhand_python" -m pytest --version >/dev/null 2>&1 || { echo 'pytest is not installed: list it in the requirements.txt of the test package' >&2; exit 1; }"#,
        ],
        &[CD_PACKAGE, PICK_PYTHON, r#""$farmhand_python" -m pytest --junitxml="$DEVICEFARM_LOG_DIR/junit.xml""#],
    )
}

/// The directory holding package.json: the package's root, or the `npm pack` tarball the
/// install unpacked (AWS asks for Node tests as such a tarball, zipped).
const CD_NODE_PACKAGE: &str = r#"if [ -f "$DEVICEFARM_TEST_PACKAGE_PATH/package.json" ]; then cd "$DEVICEFARM_TEST_PACKAGE_PATH"; else cd "$HOME/npm-package/package"; fi"#;

/// `npm test` in the package; its exit status is the result.
pub(super) fn node() -> TestSpec {
    spec(
        &[
            r#"command -v npm >/dev/null 2>&1 || { echo 'Node.js tests need npm on the PATH of the host' >&2; exit 1; }"#,
            CD_PACKAGE,
            r#"if [ ! -f package.json ]; then set -- *.tgz; [ -f "$1" ] || { echo 'the test package has neither a package.json nor an npm pack tarball (*.tgz) at its root' >&2; exit 1; }; mkdir -p "$HOME/npm-package" && tar -xzf "$1" -C "$HOME/npm-package"; fi"#,
            CD_NODE_PACKAGE,
            // A lock file means the exact tree was chosen: `npm ci` installs just that.
            // Audit and funding notices only slow the job and talk to the registry.
            r#"if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi"#,
        ],
        &[CD_NODE_PACKAGE, "npm test"],
    )
}

/// Bundler installs into the job's HOME, not the host's gem directory.
const BUNDLE_PATH: &str = r#"export BUNDLE_PATH="$HOME/vendor/bundle""#;

/// rspec, under Bundler when there is a Gemfile; with JUnit output when the bundle has
/// the formatter for it.
pub(super) fn ruby() -> TestSpec {
    spec(
        &[
            CD_PACKAGE,
            BUNDLE_PATH,
            r#"if [ -f Gemfile ]; then bundle install; else command -v rspec >/dev/null 2>&1 || { echo 'Ruby tests without a Gemfile need rspec on the PATH of the host' >&2; exit 1; }; fi"#,
        ],
        &[
            CD_PACKAGE,
            BUNDLE_PATH,
            r#"set --; if [ -f Gemfile.lock ] && grep -q rspec_junit_formatter Gemfile.lock; then set -- --format progress --format RspecJunitFormatter --out "$DEVICEFARM_LOG_DIR/rspec.xml"; fi"#,
            r#"if [ -f Gemfile ]; then bundle exec rspec "$@"; else rspec "$@"; fi"#,
        ],
    )
}

const REQUIRE_JAVA: &str =
    r#"command -v java >/dev/null 2>&1 || { echo 'Java tests need java on the PATH of the host' >&2; exit 1; }"#;

/// AWS's Java package layout (the Maven assembly its docs describe): the tests as
/// `*-tests.jar` at the root, their dependencies in `dependency-jars/`.
const FIND_TESTS_JAR: &str = r#"set -- *-tests.jar; [ -f "$1" ] || { echo 'the test package has no *-tests.jar at its root (with its dependencies in dependency-jars/)' >&2; exit 1; }; farmhand_tests_jar=$1"#;

/// TestNG over every test class of the tests jar (or its testng.xml, when the jar has one).
pub(super) fn java_testng() -> TestSpec {
    spec(
        &[REQUIRE_JAVA, CD_PACKAGE, FIND_TESTS_JAR],
        &[
            CD_PACKAGE,
            FIND_TESTS_JAR,
            // Only the JUnit-format reporter (junitreports/TEST-*.xml) and the HTML summary:
            // TestNG's default listeners also write each test again as <suite>/<test>.xml,
            // which the collector would count twice.
            r#"java -cp "$farmhand_tests_jar:dependency-jars/*" org.testng.TestNG -d "$DEVICEFARM_LOG_DIR/testng" -usedefaultlisteners false -listener org.testng.reporters.JUnitReportReporter,org.testng.reporters.EmailableReporter2 -testjar "$farmhand_tests_jar""#,
        ],
    )
}

/// The JUnit Platform console launcher when the package brings one (JUnit 5 and, through
/// its vintage engine, 4), with JUnit XML reports; else JUnit 4's runner over the classes
/// of the tests jar named like tests, whose exit status is the result.
pub(super) fn java_junit() -> TestSpec {
    spec(
        &[REQUIRE_JAVA, CD_PACKAGE, FIND_TESTS_JAR],
        &[
            CD_PACKAGE,
            FIND_TESTS_JAR,
            r#"farmhand_console=; for farmhand_jar in dependency-jars/junit-platform-console-standalone*.jar; do if [ -f "$farmhand_jar" ]; then farmhand_console=$farmhand_jar; fi; break; done"#,
            // Inner classes ($) are run by their outer class.
            r#"if [ -z "$farmhand_console" ]; then farmhand_classes=$({ unzip -Z1 "$farmhand_tests_jar" 2>/dev/null || jar tf "$farmhand_tests_jar"; } | grep -E '^[^$]*Tests?\.class$' | sed -e 's/\.class$//' -e 's#/#.#g'); [ -n "$farmhand_classes" ] || { echo 'the tests jar has no class whose name ends in Test or Tests' >&2; exit 1; }; fi"#,
            r#"if [ -n "$farmhand_console" ]; then java -cp "$farmhand_tests_jar:dependency-jars/*" org.junit.platform.console.ConsoleLauncher --disable-banner --scan-class-path "$farmhand_tests_jar" --reports-dir "$DEVICEFARM_LOG_DIR/junit"; else java -cp "$farmhand_tests_jar:dependency-jars/*" org.junit.runner.JUnitCore $farmhand_classes; fi"#,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;
    use std::process::Command;

    /// Runs the spec's phases as the runner would (one shell per phase, stop at the first
    /// failing command) with stand-ins for the tools on PATH, which log their arguments.
    /// Returns the tools' log, and the failing phase's stderr if one failed.
    fn run_with_stubs(spec: &TestSpec, package: &[(&str, &str)], tools: &[&str]) -> (String, Option<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let (pkg, home, logs, bin) = (root.join("pkg"), root.join("home"), root.join("logs"), root.join("bin"));
        for d in [&pkg, &home, &logs, &bin] {
            fs::create_dir_all(d).expect("mkdir");
        }
        for (name, text) in package {
            let path = pkg.join(name);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        }
        let log = root.join("calls");
        for tool in tools {
            let script = format!("#!/bin/sh\nprintf '%s %s\\n' {tool} \"$*\" >> '{}'\n", log.display());
            write_executable(&bin.join(tool), &script);
        }
        let path = format!("{}:/usr/bin:/bin", bin.display());
        for phase in [&spec.phases.install, &spec.phases.test] {
            let script: String =
                phase.iter().map(|c| format!("eval {} || exit $?\n", super::super::shell::shell_quote(c))).collect();
            let out = Command::new("/bin/sh")
                .arg("-c")
                .arg(&script)
                .env_clear()
                .env("PATH", &path)
                .env("HOME", &home)
                .env("DEVICEFARM_TEST_PACKAGE_PATH", &pkg)
                .env("DEVICEFARM_LOG_DIR", &logs)
                .current_dir(root)
                .output()
                .expect("sh");
            if !out.status.success() {
                return (
                    fs::read_to_string(&log).unwrap_or_default(),
                    Some(String::from_utf8_lossy(&out.stderr).into_owned()),
                );
            }
        }
        (fs::read_to_string(&log).unwrap_or_default(), None)
    }

    fn write_executable(path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        fs::write(path, text).expect("write");
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// A python3 that logs its arguments; `-m venv … DIR` makes DIR/bin/python (a copy of
    /// itself), as the real one would.
    const FAKE_PYTHON: &str = "#!/bin/sh\nprintf 'python3 %s\\n' \"$*\" >> \"$HOME/../calls\"\nif [ \"$1 $2\" = '-m venv' ]; then mkdir -p \"$4/bin\"; cp \"$0\" \"$4/bin/python\"; fi\n";

    /// [`run_with_stubs`] with [`FAKE_PYTHON`] first on PATH. It logs to `$HOME/../calls`,
    /// the stubs' log.
    fn run_with_fake_python(package: &[(&str, &str)]) -> (String, Option<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        write_executable(&dir.path().join("python3"), FAKE_PYTHON);
        let mut spec = python();
        let prefix = format!("export PATH={}:\"$PATH\"", dir.path().display());
        spec.phases.install.insert(0, prefix.clone());
        spec.phases.test.insert(0, prefix);
        run_with_stubs(&spec, package, &[])
    }

    #[test]
    fn python_installs_requirements_into_a_venv_of_the_job_and_runs_pytest_with_it() {
        let (calls, failed) = run_with_fake_python(&[("requirements.txt", "pytest\n"), ("wheelhouse/x.whl", "")]);
        assert_eq!(failed, None, "{calls}");
        let lines: Vec<&str> = calls.lines().collect();
        assert_eq!(lines.len(), 4, "venv, pip, pytest --version, pytest: {calls}");
        assert!(
            lines[0].starts_with("python3 -m venv --system-site-packages ") && lines[0].ends_with("/home/venv"),
            "{calls}"
        );
        assert!(
            lines[1].contains("-m pip install") && lines[1].ends_with("/pkg/wheelhouse -r requirements.txt"),
            "{calls}"
        );
        assert!(
            lines[3].starts_with("python3 -m pytest --junitxml=") && lines[3].ends_with("/logs/junit.xml"),
            "{calls}"
        );
    }

    #[test]
    fn python_without_requirements_uses_the_host_python() {
        let (calls, failed) = run_with_fake_python(&[("tests/test_a.py", "")]);
        assert_eq!(failed, None);
        assert!(!calls.contains("venv") && !calls.contains("pip"), "{calls}");
        assert!(calls.trim_end().ends_with("/logs/junit.xml"), "{calls}");
    }

    #[test]
    fn node_uses_npm_ci_with_a_lock_file_and_npm_install_without() {
        let (calls, failed) = run_with_stubs(&node(), &[("package.json", "{}"), ("package-lock.json", "{}")], &["npm"]);
        assert_eq!(failed, None);
        assert_eq!(calls, "npm ci --no-audit --no-fund\nnpm test\n");
        let (calls, _) = run_with_stubs(&node(), &[("package.json", "{}")], &["npm"]);
        assert_eq!(calls, "npm install --no-audit --no-fund\nnpm test\n");
        let (_, failed) = run_with_stubs(&node(), &[("README", "")], &["npm"]);
        assert!(failed.expect("fails").contains("neither a package.json nor an npm pack tarball"));
    }

    #[test]
    fn ruby_bundles_into_the_job_home_and_runs_rspec_under_bundler() {
        let (calls, failed) = run_with_stubs(
            &ruby(),
            &[("Gemfile", "gem 'rspec'\n"), ("Gemfile.lock", "    rspec_junit_formatter (0.6.0)\n")],
            &["bundle", "rspec"],
        );
        assert_eq!(failed, None);
        let lines: Vec<&str> = calls.lines().collect();
        assert_eq!(lines[0], "bundle install");
        assert!(
            lines[1].starts_with("bundle exec rspec --format progress --format RspecJunitFormatter --out ")
                && lines[1].ends_with("/logs/rspec.xml"),
            "{calls}"
        );
        let (calls, _) = run_with_stubs(&ruby(), &[("spec/a_spec.rb", "")], &["bundle", "rspec"]);
        assert_eq!(calls, "rspec \n");
        assert!(ruby().phases.install.iter().any(|c| c.contains(r#"BUNDLE_PATH="$HOME/vendor/bundle""#)));
    }

    #[test]
    fn testng_runs_the_tests_jar_with_its_dependencies_and_junit_reports_only() {
        let (calls, failed) = run_with_stubs(
            &java_testng(),
            &[("shop-1.0-tests.jar", ""), ("dependency-jars/testng.jar", "")],
            &["java"],
        );
        assert_eq!(failed, None);
        let expected = "java -cp shop-1.0-tests.jar:dependency-jars/* org.testng.TestNG -d ";
        assert!(calls.starts_with(expected), "{calls}");
        assert!(
            calls.contains(
                "/logs/testng -usedefaultlisteners false -listener org.testng.reporters.JUnitReportReporter,"
            ),
            "{calls}"
        );
        assert!(calls.trim_end().ends_with("-testjar shop-1.0-tests.jar"), "{calls}");
        let (_, failed) = run_with_stubs(&java_testng(), &[("shop.jar", "")], &["java"]);
        assert!(failed.expect("fails").contains("no *-tests.jar"));
    }

    #[test]
    fn junit_prefers_the_console_launcher_and_falls_back_to_junitcore_over_test_classes() {
        let package = [("shop-tests.jar", ""), ("dependency-jars/junit-platform-console-standalone-1.10.2.jar", "")];
        let (calls, failed) = run_with_stubs(&java_junit(), &package, &["java"]);
        assert_eq!(failed, None);
        assert!(calls.starts_with("java -cp shop-tests.jar:dependency-jars/* org.junit.platform.console.ConsoleLauncher --disable-banner --scan-class-path shop-tests.jar --reports-dir "), "{calls}");

        // `unzip -Z1` stands in for listing the jar.
        let listing = "META-INF/MANIFEST.MF\ncom/shop/LoginTest.class\ncom/shop/LoginTest$1.class\ncom/shop/CartTests.class\ncom/shop/Helper.class\n";
        let unzip = format!("#!/bin/sh\nprintf '{}'\n", listing.replace('\n', "\\n").replace('$', "\\$"));
        let dir = tempfile::tempdir().expect("tempdir");
        write_executable(&dir.path().join("unzip"), &unzip);
        let mut spec = java_junit();
        spec.phases.test.insert(0, format!("export PATH={}:\"$PATH\"", dir.path().display()));
        let (calls, failed) = run_with_stubs(&spec, &[("shop-tests.jar", "")], &["java"]);
        assert_eq!(failed, None);
        assert_eq!(calls, "java -cp shop-tests.jar:dependency-jars/* org.junit.runner.JUnitCore com.shop.LoginTest com.shop.CartTests\n");
    }
}
