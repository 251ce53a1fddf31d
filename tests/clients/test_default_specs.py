"""Runs scheduled without a testSpecArn run the default spec of their test type on real
devices: pytest (in a venv of the job) or npm on a `host` device, instrumentation and the
built-in fuzz on an Android phone behind the `adb` driver (a fake `adb` on the server's PATH
that answers like a phone and logs every call), and a clear ERRORED message where the
device cannot run the type."""

from __future__ import annotations

import os
import shutil
import stat

import pytest
import requests

from harness import running
from simfarm import Lab, device, host_device, sim_server, wait_for
from support import make_apk, make_zip, unique

HOST = host_device("default-host", "Default Host")
PHONE = {**device("default-phone", "Default Phone"), "driver": "adb"}
SERIAL = PHONE["udids"][0]
APP_PACKAGE = "com.example.app"
RUNNER = f"{APP_PACKAGE}.test/androidx.test.runner.AndroidJUnitRunner"
# The PATH the runner gives every job (farmhand's own PATH is not passed on).
JOB_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Logs "ANDROID_SERIAL|arguments" per call: farmhand's own calls name the device with -s,
# the spec's calls get it from ANDROID_SERIAL.
FAKE_ADB = r"""#!/bin/sh
d='@DIR@'
printf '%s|%s\n' "${ANDROID_SERIAL-}" "$*" >> "$d/log"
[ "$1" = "-s" ] && shift 2
case "$*" in
  "shell pm list packages") echo "package:com.android.settings" ;;
  "install -r -g "*) echo Success ;;
  "install -r -t -g "*) cp "$5" "$d/installed-test.apk"; echo Success ;;
  "shell pm list instrumentation")
    printf 'instrumentation:com.android.shell.test/android.test.InstrumentationTestRunner (target=com.android.shell)\r\n'
    printf 'instrumentation:@RUNNER@ (target=@APP@)\r\n' ;;
  "shell am instrument -r -w @RUNNER@") cat "$d/instrument-output" ;;
  "shell monkey "*) printf ':Monkey: seed=1234 count=250\nEvents injected: 250\n// Monkey finished\n' ;;
  "logcat -c") ;;
  "logcat -d") cat "$d/logcat" ;;
  *) echo "fake adb: unexpected arguments: $*" >&2; exit 64 ;;
esac
""".replace("@RUNNER@", RUNNER).replace("@APP@", APP_PACKAGE)


def status_bundle(class_name: str, test: str, current: int, code: int, extra: str = "") -> str:
    head = (f"INSTRUMENTATION_STATUS: class={class_name}\nINSTRUMENTATION_STATUS: current={current}\n"
            "INSTRUMENTATION_STATUS: id=AndroidJUnitRunner\nINSTRUMENTATION_STATUS: numtests=3\n")
    start = f"{head}INSTRUMENTATION_STATUS: stream=\nINSTRUMENTATION_STATUS: test={test}\nINSTRUMENTATION_STATUS_CODE: 1\n"
    end = f"{head}{extra}INSTRUMENTATION_STATUS: stream=.\nINSTRUMENTATION_STATUS: test={test}\nINSTRUMENTATION_STATUS_CODE: {code}\n"
    return start + end


# What `am instrument -r -w` prints for one passing, one failing and one ignored test.
INSTRUMENT_OUTPUT = (
    status_bundle("com.example.app.LoginTest", "opensTheApp", 1, 0)
    + status_bundle("com.example.app.LoginTest", "wrongPassword", 2, -2,
                    "INSTRUMENTATION_STATUS: stack=java.lang.AssertionError: expected:<200> but was:<401>\n"
                    "\tat org.junit.Assert.fail(Assert.java:89)\n"
                    "\tat com.example.app.LoginTest.wrongPassword(LoginTest.java:31)\n\n")
    + status_bundle("com.example.app.LoginTest", "later", 3, -3)
    + "INSTRUMENTATION_RESULT: stream=\n\nTime: 1.92\nThere was 1 failure:\n"
      "1) wrongPassword(com.example.app.LoginTest)\njava.lang.AssertionError: expected:<200> but was:<401>\n\n"
      "FAILURES!!!\nTests run: 2,  Failures: 1\n\n\nINSTRUMENTATION_CODE: -1\n"
).replace("\n", "\r\n")  # adb shells of older devices end lines with CR LF

LOGCAT = ("05-01 10:00:01.000  4321  4340 I TestRunner: started: opensTheApp(com.example.app.LoginTest)\n"
          "05-01 10:01:01.000  4321  4340 I TestRunner: finished: opensTheApp(com.example.app.LoginTest)\n")


@pytest.fixture(scope="module")
def fake_adb(tmp_path_factory):
    fake = tmp_path_factory.mktemp("fake-adb")
    (fake / "adb").write_text(FAKE_ADB.replace("@DIR@", str(fake)))
    (fake / "adb").chmod((fake / "adb").stat().st_mode | stat.S_IEXEC)
    (fake / "instrument-output").write_text(INSTRUMENT_OUTPUT)
    (fake / "logcat").write_text(LOGCAT)
    (fake / "log").write_text("")
    return fake


@pytest.fixture(scope="module")
def farm(tmp_path_factory, fake_adb):
    # The fake `adb` first on the server's PATH, where the adb driver looks for it.
    with running(sim_server(tmp_path_factory.mktemp("default-specs"), scale=1, fleet=[HOST, PHONE],
                            env={"PATH": f"{fake_adb}:{os.environ['PATH']}"})) as server:
        yield server


def adb_calls(fake_adb) -> list[str]:
    return (fake_adb / "log").read_text().splitlines()


def schedule(lab: Lab, device_name: str, test: dict, *, app: bool = True) -> dict:
    """A run of `test` (no testSpecArn) on the fleet device named `device_name`; its one job."""
    arn = next(d["arn"] for d in lab.client.list_devices()["devices"] if d["name"] == device_name)
    kwargs = {"appArn": lab.upload("app.apk", "ANDROID_APP", make_apk(APP_PACKAGE))["arn"]} if app else {}
    run = lab.client.schedule_run(projectArn=lab.arn, devicePoolArn=lab.pool([arn]), name=unique("default-spec"),
                                  test=test, **kwargs)["run"]
    assert "testSpecArn" not in run
    (job,) = lab.jobs(run["arn"])
    return job


def finished(lab: Lab, job: dict, timeout: float = 120.0) -> dict:
    return wait_for(lambda: lab.client.get_job(arn=job["arn"])["job"], lambda j: j["status"] == "COMPLETED",
                    timeout=timeout, what="the job to complete")


def results_of(lab: Lab, job_arn: str) -> list[tuple[str, str, str | None]]:
    return [(t["name"], t["result"], t.get("message"))
            for suite in lab.client.list_suites(arn=job_arn)["suites"]
            for t in lab.client.list_tests(arn=suite["arn"])["tests"]]


def spec_output_of(lab: Lab, job_arn: str) -> str:
    files = {a["type"]: a for a in lab.client.list_artifacts(arn=job_arn, type="FILE")["artifacts"]}
    return requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10).text


def test_appium_python_on_the_host_runs_pytest_in_a_venv_and_reports_each_test(lab):
    package = make_zip({
        "requirements.txt": "pytest\n",
        "tests/test_shop.py": "def test_login():\n    pass\n\n\ndef test_pay():\n    assert 1 == 2, 'card declined'\n",
    })
    upload = lab.upload("tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", package)
    job = schedule(lab, "Default Host", {"type": "APPIUM_PYTHON", "testPackageArn": upload["arn"]})
    final = finished(lab, job, timeout=300)

    results = results_of(lab, job["arn"])
    assert [(name, result) for name, result, _ in results] == [
        ("Setup Test", "PASSED"),
        ("tests.test_shop.test_login", "PASSED"),
        ("tests.test_shop.test_pay", "FAILED"),
        ("Teardown Test", "PASSED"),
    ], results
    assert results[2][2].startswith("AssertionError: card declined"), results
    assert final["result"] == "FAILED" and final["message"].startswith("AssertionError: card declined"), final
    assert final["counters"] == {"total": 4, "passed": 3, "failed": 1, "warned": 0, "errored": 0, "stopped": 0,
                                 "skipped": 0}
    output = spec_output_of(lab, job["arn"])
    assert 'python3 -m venv --system-site-packages "$HOME/venv"' in output, "requirements go into the job's venv"


@pytest.mark.skipif(shutil.which("npm", path=JOB_PATH) is None, reason="npm is not on the PATH jobs get")
def test_appium_node_on_the_host_runs_npm_test_and_its_exit_status_is_the_result(lab):
    package_json = '{"name": "shop-tests", "version": "1.0.0", "scripts": {"test": "node -e \\"process.exit(1)\\""}}'
    upload = lab.upload("tests.zip", "APPIUM_NODE_TEST_PACKAGE", make_zip({"package.json": package_json}))
    job = schedule(lab, "Default Host", {"type": "APPIUM_NODE", "testPackageArn": upload["arn"]})
    final = finished(lab, job)
    assert (final["result"], final["message"]) == ("FAILED", "Command failed (exit status 1): npm test"), final
    assert [r[1] for r in results_of(lab, job["arn"])] == ["PASSED", "FAILED", "PASSED"], "npm install passed"


def test_instrumentation_on_a_phone_installs_the_test_apk_and_reports_its_test_cases(lab, fake_adb):
    test_apk = make_apk(f"{APP_PACKAGE}.test")
    upload = lab.upload("app-debug-androidTest.apk", "INSTRUMENTATION_TEST_PACKAGE", test_apk)
    calls_before = len(adb_calls(fake_adb))
    job = schedule(lab, "Default Phone", {"type": "INSTRUMENTATION", "testPackageArn": upload["arn"]})
    final = finished(lab, job)

    assert results_of(lab, job["arn"]) == [
        ("Setup Test", "PASSED", None),
        ("com.example.app.LoginTest.opensTheApp", "PASSED", None),
        ("com.example.app.LoginTest.wrongPassword", "FAILED", "java.lang.AssertionError: expected:<200> but was:<401>"),
        ("com.example.app.LoginTest.later", "SKIPPED", None),
        ("Teardown Test", "PASSED", None),
    ]
    assert (final["result"], final["message"]) == ("FAILED", "java.lang.AssertionError: expected:<200> but was:<401>")
    assert final["counters"] == {"total": 5, "passed": 3, "failed": 1, "warned": 0, "errored": 0, "stopped": 0,
                                 "skipped": 1}
    # The logcat's TestRunner lines give the first test 60 s, more than this fast phase
    # lasted: it takes the whole phase. Untimed, the tests would take 0 and the last one
    # the phase.
    tests_suite = next(s for s in lab.client.list_suites(arn=job["arn"])["suites"] if s["name"] == "Tests Suite")
    minutes = [t["deviceMinutes"]["total"] for t in lab.client.list_tests(arn=tests_suite["arn"])["tests"]]
    assert minutes[0] > 0 and minutes[1:] == [0, 0], minutes

    calls = adb_calls(fake_adb)[calls_before:]
    app_install = next(i for i, c in enumerate(calls) if c.startswith(f"|-s {SERIAL} install -r -g "))
    test_install = next(i for i, c in enumerate(calls) if c.startswith(f"{SERIAL}|install -r -t -g "))
    instrument = calls.index(f"{SERIAL}|shell am instrument -r -w {RUNNER}")
    assert app_install < test_install < instrument, calls
    assert (fake_adb / "installed-test.apk").read_bytes() == test_apk, "the uploaded APK itself is installed"


def test_builtin_fuzz_on_a_phone_runs_monkey_with_the_run_parameters(lab, fake_adb):
    calls_before = len(adb_calls(fake_adb))
    job = schedule(lab, "Default Phone", {"type": "BUILTIN_FUZZ",
                                          "parameters": {"event_count": "250", "throttle": "10", "seed": "1234"}})
    final = finished(lab, job)
    assert final["result"] == "PASSED", final
    calls = adb_calls(fake_adb)[calls_before:]
    assert f"{SERIAL}|shell monkey -p {APP_PACKAGE} -v --throttle 10 -s 1234 250" in calls, calls


def test_builtin_fuzz_refuses_a_parameter_that_is_not_a_number(lab, fake_adb):
    calls_before = len(adb_calls(fake_adb))
    job = schedule(lab, "Default Phone", {"type": "BUILTIN_FUZZ", "parameters": {"event_count": "5; reboot"}})
    final = finished(lab, job)
    assert final["result"] == "ERRORED", final
    assert "the BUILTIN_FUZZ parameter event_count must be a whole number from 1 to 10000" in final["message"], final
    assert not any("monkey" in c or "reboot" in c for c in adb_calls(fake_adb)[calls_before:])


def test_an_android_only_type_on_a_host_device_errors_saying_why(lab):
    upload = lab.upload("app-debug-androidTest.apk", "INSTRUMENTATION_TEST_PACKAGE", make_apk(f"{APP_PACKAGE}.test"))
    job = schedule(lab, "Default Host", {"type": "INSTRUMENTATION", "testPackageArn": upload["arn"]})
    final = finished(lab, job)
    reason = "INSTRUMENTATION tests need an Android device, and this job runs on the host (driver host) with no device attached"
    assert final["result"] == "ERRORED", final
    assert reason in final["message"] and "\n" not in final["message"], final
    assert [r[1] for r in results_of(lab, job["arn"])] == ["ERRORED", "SKIPPED", "PASSED"]
