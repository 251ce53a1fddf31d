"""Real execution on a `host` device: a test spec's phases run as real processes on this
machine. Marker files written by the phases prove which ran; JUnit output becomes the Tests
Suite; output and customer artifacts are downloadable; StopJob and the job timeout reach the
live processes (SIGTERM, grace, SIGKILL) and leave none behind."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest
import requests

from harness import running
from simfarm import Lab, host_device, sim_fixture, sim_server, spec_yaml, wait_for
from support import unique

HOST = host_device("host-runner", "Host Runner")


def processes_with(token: str) -> list[int]:
    """PIDs of running (not zombie) processes whose command line holds `token`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline and state != "Z":
            found.append(int(pid))
    return found


farm = sim_fixture("host", scale=1, fleet=[HOST], stop_grace=0.5)


def run_spec(lab: Lab, spec: str, *, job_timeout: int | None = None) -> tuple[dict, dict]:
    kwargs = {}
    if job_timeout is not None:
        kwargs["executionConfiguration"] = {"jobTimeoutMinutes": job_timeout}
    run = lab.spec_run(lab.device_arn(HOST["name"]), spec, name="host-run", **kwargs)
    job = lab.jobs(run["arn"])[0]
    return run, job


def wait_status(lab: Lab, job_arn: str, *statuses: str, timeout: float = 60.0) -> dict:
    return wait_for(lambda: lab.client.get_job(arn=job_arn)["job"], lambda j: j["status"] in statuses,
                    timeout=timeout, what=f"job {statuses}")


def results_of(lab: Lab, job_arn: str) -> list[tuple[str, str, str, str | None]]:
    out = []
    for suite in lab.client.list_suites(arn=job_arn)["suites"]:
        for test in lab.client.list_tests(arn=suite["arn"])["tests"]:
            out.append((suite["name"], test["name"], test["result"], test.get("message")))
    return out


def assert_billing_adds_up(lab: Lab, job: dict) -> None:
    suites = lab.client.list_suites(arn=job["arn"])["suites"]
    total = sum(s["deviceMinutes"]["total"] for s in suites)
    assert job["deviceMinutes"]["total"] == pytest.approx(total)
    assert job["deviceMinutes"]["metered"] == pytest.approx(total)
    for suite in suites:
        tests = lab.client.list_tests(arn=suite["arn"])["tests"]
        assert suite["deviceMinutes"]["total"] == pytest.approx(sum(t["deviceMinutes"]["total"] for t in tests))


def test_phases_run_with_the_job_environment_and_junit_becomes_the_tests(lab, markers):
    secret = unique("not-inherited")
    os.environ["FARMHAND_TEST_LEAK"] = secret
    spec = spec_yaml(
        install=[f"env > {markers}/install.env", f"touch {markers}/install"],
        pre_test=[f"touch {markers}/pre_test"],
        test=[
            f"ls $DEVICEFARM_TEST_PACKAGE_PATH/tests > {markers}/package.txt",
            "printf '<testsuite><testcase classname=\"shop\" name=\"login\" time=\"0.3\"/>"
            "<testcase classname=\"shop\" name=\"pay\" time=\"0.2\"><failure message=\"card declined\"/></testcase>"
            "<testcase classname=\"shop\" name=\"later\"><skipped/></testcase></testsuite>' > $DEVICEFARM_LOG_DIR/junit.xml",
            "echo keep-me > $DEVICEFARM_LOG_DIR/extra.log",
            "printf '\\211PNG\\r\\n\\032\\n' > $DEVICEFARM_SCREENSHOT_PATH/checkout.png",
            f"touch {markers}/test",
        ],
        post_test=[f"touch {markers}/post_test"],
        artifacts=["$DEVICEFARM_LOG_DIR"],
    )
    run, job = run_spec(lab, spec)
    final = wait_status(lab, job["arn"], "COMPLETED")
    del os.environ["FARMHAND_TEST_LEAK"]
    assert (final["result"], final["message"]) == ("FAILED", "card declined")
    for phase in ("install", "pre_test", "test", "post_test"):
        assert (markers / phase).exists(), phase
    assert (markers / "package.txt").read_text().split() == ["data.txt"]
    env = dict(line.split("=", 1) for line in (markers / "install.env").read_text().splitlines() if "=" in line)
    assert env["DEVICEFARM_DEVICE_NAME"] == "Host Runner"
    assert env["DEVICEFARM_DEVICE_PLATFORM_NAME"] == "Android"
    assert env["DEVICEFARM_DEVICE_UDID"] == "HOSTRUNNER000"
    assert env["DEVICEFARM_RUN_ARN"] == run["arn"]
    assert env["DEVICEFARM_PROJECT_ARN"] == lab.arn
    assert env["DEVICEFARM_JOB_NUMBER"] == "0" and env["DEVICEFARM_TOTAL_JOBS"] == "1"
    assert env["AWS_REGION"] == "us-west-2"
    assert "DEVICEFARM_APP_PATH" not in env, "web tests have no app"
    assert secret not in (markers / "install.env").read_text(), "the job's environment is clean"

    assert results_of(lab, job["arn"]) == [
        ("Setup Suite", "Setup Test", "PASSED", None),
        ("Tests Suite", "shop.login", "PASSED", None),
        ("Tests Suite", "shop.pay", "FAILED", "card declined"),
        ("Tests Suite", "shop.later", "SKIPPED", None),
        ("Teardown Suite", "Teardown Test", "PASSED", None),
    ]
    assert final["counters"] == {"total": 5, "passed": 3, "failed": 1, "warned": 0, "errored": 0, "stopped": 0,
                                 "skipped": 1}
    assert_billing_adds_up(lab, final)
    problems = lab.client.list_unique_problems(arn=run["arn"])["uniqueProblems"]
    assert [p["message"] for p in problems["FAILED"]] == ["card declined"]

    # Filed as AWS files them (domain::artifact): what a custom environment leaves is FILE,
    # pictures are SCREENSHOT, and a host job has no device log for LOG.
    listed = {kind: {a["type"]: a for a in lab.client.list_artifacts(arn=run["arn"], type=kind)["artifacts"]}
              for kind in ("FILE", "LOG", "SCREENSHOT")}
    assert {kind: sorted(found) for kind, found in listed.items()} == {
        "FILE": ["CUSTOMER_ARTIFACT", "CUSTOMER_ARTIFACT_LOG", "TESTSPEC_OUTPUT"], "LOG": [], "SCREENSHOT": ["SCREENSHOT"]}
    files = listed["FILE"]
    assert (files["TESTSPEC_OUTPUT"]["name"], files["TESTSPEC_OUTPUT"]["extension"]) == ("Test spec output", "txt")
    assert listed["SCREENSHOT"]["SCREENSHOT"]["name"] == "checkout"
    output = requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10).text
    assert "==== install ====" in output and "==== post_test ====" in output
    assert files["CUSTOMER_ARTIFACT"]["extension"] == "zip"
    archive = zipfile.ZipFile(io.BytesIO(requests.get(files["CUSTOMER_ARTIFACT"]["url"], timeout=10).content))
    assert any(name.endswith("extra.log") for name in archive.namelist()), archive.namelist()
    log_zip = zipfile.ZipFile(io.BytesIO(requests.get(files["CUSTOMER_ARTIFACT_LOG"]["url"], timeout=10).content))
    assert any(name.endswith("junit.xml") for name in log_zip.namelist()), log_zip.namelist()


def test_a_failing_install_errors_the_job_skips_the_tests_and_still_tears_down(lab, markers):
    spec = spec_yaml(install=["echo about to fail", "exit 3"], test=[f"touch {markers}/test"],
                     post_test=[f"touch {markers}/post_test"])
    _, job = run_spec(lab, spec)
    final = wait_status(lab, job["arn"], "COMPLETED")
    assert final["result"] == "ERRORED"
    assert final["message"] == "Command failed (exit status 3): exit 3"
    assert not (markers / "test").exists() and (markers / "post_test").exists()
    assert [t[2] for t in results_of(lab, job["arn"])] == ["ERRORED", "SKIPPED", "PASSED"]


def test_a_failing_test_command_fails_the_test(lab, markers):
    _, job = run_spec(lab, spec_yaml(test=["false"], post_test=[f"touch {markers}/post_test"]))
    final = wait_status(lab, job["arn"], "COMPLETED")
    assert final["result"] == "FAILED"
    assert results_of(lab, job["arn"])[1] == ("Tests Suite", "Tests", "FAILED", "Command failed (exit status 1): false")
    assert (markers / "post_test").exists()


def test_stop_during_install_lets_setup_finish_skips_the_tests_and_runs_post_test(lab, markers):
    spec = spec_yaml(install=["sleep 1", f"touch {markers}/install"], pre_test=[f"touch {markers}/pre_test"],
                     test=[f"touch {markers}/test"], post_test=[f"touch {markers}/post_test"])
    _, job = run_spec(lab, spec)
    wait_status(lab, job["arn"], "PREPARING")
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    assert stopped["status"] == "STOPPING"
    final = wait_status(lab, job["arn"], "COMPLETED")
    assert final["result"] == "STOPPED"
    assert (markers / "install").exists() and (markers / "pre_test").exists(), "setup runs to completion"
    assert not (markers / "test").exists(), "the tests never start"
    assert (markers / "post_test").exists(), "teardown runs"
    assert [t[2] for t in results_of(lab, job["arn"])] == ["PASSED", "STOPPED", "PASSED"]
    assert_billing_adds_up(lab, final)


def test_stop_during_a_long_test_signals_its_processes_and_leaves_none(lab, markers):
    token = unique("long-test")
    spec = spec_yaml(
        test=[f"touch {markers}/test-started",
              f"python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)' {token} &",
              f"python3 -c 'import time; time.sleep(60)' {token}"],
        post_test=[f"touch {markers}/post_test"],
    )
    _, job = run_spec(lab, spec)
    wait_for(lambda: {"started": (markers / "test-started").exists() and len(processes_with(token)) == 2},
             lambda v: v["started"], what="the test processes to start")
    asked = time.monotonic()
    assert lab.client.stop_job(arn=job["arn"])["job"]["status"] == "STOPPING"
    final = wait_status(lab, job["arn"], "COMPLETED")
    took = time.monotonic() - asked
    assert processes_with(token) == [], "no process of the job survives it"
    assert took < 10, f"stopping took {took:.1f}s with a 0.5 s grace period"
    assert final["result"] == "STOPPED"
    assert (markers / "post_test").exists()
    assert results_of(lab, job["arn"])[1][2] == "STOPPED"
    assert_billing_adds_up(lab, final)


def test_stop_during_post_test_interrupts_nothing(lab, markers):
    spec = spec_yaml(test=["true"], post_test=[f"touch {markers}/post-started", "sleep 1", f"touch {markers}/post_test"])
    _, job = run_spec(lab, spec)
    wait_for(lambda: {"started": (markers / "post-started").exists()}, lambda v: v["started"], what="post_test")
    lab.client.stop_job(arn=job["arn"])
    final = wait_status(lab, job["arn"], "COMPLETED")
    assert (markers / "post_test").exists(), "post_test ran to completion"
    assert final["result"] == "STOPPED"
    assert [t[2] for t in results_of(lab, job["arn"])] == ["PASSED", "PASSED", "PASSED"]


def test_a_job_past_its_timeout_is_killed_and_errored(tmp_path, markers):
    # The service clock runs 600× faster: the 5-minute minimum timeout is half a real second.
    with running(sim_server(tmp_path / "fast", scale=600, fleet=[HOST], stop_grace=0.2)) as server:
        lab = Lab(server)
        token = unique("timeout")
        spec = spec_yaml(test=[f"python3 -c 'import time; time.sleep(60)' {token}"],
                         post_test=[f"touch {markers}/post_test"])
        _, job = run_spec(lab, spec, job_timeout=5)
        final = wait_status(lab, job["arn"], "COMPLETED", timeout=30)
        assert final["result"] == "ERRORED"
        assert final["message"] == "Job timed out after 5 minutes"
        assert processes_with(token) == []
        assert (markers / "post_test").exists(), "teardown still runs after a timeout"


def test_a_restart_mid_job_ends_the_job_errored(tmp_path, markers):
    server = sim_server(tmp_path / "restart", scale=1, fleet=[HOST])
    server.start()
    lab = Lab(server)
    token = unique("interrupted")
    _, job = run_spec(lab, spec_yaml(test=[f"touch {markers}/test-started",
                                           f"python3 -c 'import time; time.sleep(60)' {token}"]))
    wait_for(lambda: {"started": (markers / "test-started").exists()}, lambda v: v["started"], what="the test")
    # The server has recorded the test phase's start (what a crash may lose is the step in progress).
    wait_status(lab, job["arn"], "RUNNING")
    server.kill()
    again = sim_server(tmp_path / "restart", scale=1, fleet=[HOST], root_key=(server.access_key_id, server.secret_access_key))
    with running(again):
        client = again.client()
        final = wait_for(lambda: client.get_job(arn=job["arn"])["job"], lambda j: j["status"] == "COMPLETED",
                         timeout=30, what="the interrupted job to end")
        assert final["result"] == "ERRORED"
        assert "restarted" in final["message"]
        assert processes_with(token) == [], "the interrupted job's processes are ended on restart"
        tests = [t for s in client.list_suites(arn=job["arn"])["suites"] for t in client.list_tests(arn=s["arn"])["tests"]]
        assert [t["result"] for t in tests] == ["PASSED", "ERRORED", "STOPPED"]


def test_farmhand_logs_follows_a_running_jobs_output(farm, lab, markers):
    import subprocess
    from harness import binary, clean_env
    spec = spec_yaml(test=["echo first-line", f"touch {markers}/printed", "sleep 2", "echo last-line"])
    _, job = run_spec(lab, spec)
    wait_for(lambda: {"printed": (markers / "printed").exists()}, lambda v: v["printed"], what="the first line")
    env = {**clean_env(), "AWS_ACCESS_KEY_ID": farm.access_key_id, "AWS_SECRET_ACCESS_KEY": farm.secret_access_key,
           "AWS_ENDPOINT_URL_DEVICE_FARM": farm.endpoint}
    follower = subprocess.Popen([str(binary()), "logs", "--follow", job["arn"]], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    seen = []
    for line in follower.stdout:
        seen.append(line.rstrip("\n"))
        if line.strip() == "first-line":
            assert lab.client.get_job(arn=job["arn"])["job"]["status"] == "RUNNING", "output arrives while the job runs"
    assert follower.wait(timeout=30) == 0, follower.stderr.read()
    assert "first-line" in seen and "last-line" in seen
    assert lab.client.get_job(arn=job["arn"])["job"]["status"] == "COMPLETED", "following ends with the job"

    whole = subprocess.run([str(binary()), "logs", job["arn"]], env=env, capture_output=True, text=True, timeout=30)
    assert whole.returncode == 0 and "last-line" in whole.stdout
    wrong = {**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    refused = subprocess.run([str(binary()), "logs", job["arn"]], env=wrong, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "InvalidSignatureException" in refused.stderr


def test_failed_jobs_keep_their_work_directory_when_asked(tmp_path):
    with running(sim_server(tmp_path / "keep", scale=1, fleet=[HOST],
                            extra_args=["--keep-failed-workspaces"])) as server:
        lab = Lab(server)
        _, failed = run_spec(lab, spec_yaml(test=["echo evidence > $DEVICEFARM_LOG_DIR/evidence.txt", "false"]))
        _, passed = run_spec(lab, spec_yaml(test=["true"]))
        for job in (failed, passed):
            wait_status(lab, job["arn"], "COMPLETED")
        jobs_dir = tmp_path / "keep" / "jobs"
        failed_id = failed["arn"].split(":job:")[1].replace("/", "-")
        # The passed job's directory goes right after the job completes.
        kept = wait_for(lambda: {"dirs": sorted(p for p in jobs_dir.iterdir() if p.is_dir())},
                        lambda v: [p.name for p in v["dirs"]] == [failed_id], timeout=10, what="only the failed job kept")["dirs"]
        assert any(p.name == "evidence.txt" for p in kept[0].rglob("*")), "the failed job's files are there to inspect"
