"""Remote device hosts: a `farmhand agent` process on "another machine" (here, another
process with its own work directory) connects to a real server with an agent token,
declares its `host` devices, and runs the jobs scheduled on them through boto3.

Covers the host's lifecycle as the control plane sees it: the device appears when the host
connects; StopJob reaches the host's live processes; a host killed mid-job is noticed after
`--host-timeout-seconds` (job ERRORED, billed to its last heartbeat, device unavailable) and
sweeps the leftovers when it comes back; a host restarted within the timeout has its job
ERRORED as "restarted"; bad tokens and a device already held by another host are refused;
a server restart is ridden out by the agent reconnecting on its own.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import time
import zipfile
from pathlib import Path

import pytest
import requests

from agents import AgentProcess, create_token, run_on, start_agent
from harness import running
from simfarm import Lab, devices_by_name, host_device, sim_fixture, sim_server, spec_yaml, wait_availability, wait_for
from support import unique
from test_host_runner import processes_with, results_of, wait_status

# Short, so losing a host costs the suite seconds; heartbeats come every second.
HOST_TIMEOUT = 2.0
# Long enough that a server restart (or an agent restart) is well within it.
PATIENT_HOST_TIMEOUT = 10.0
JUNIT_ONE_PASS = ("printf '<testsuite><testcase classname=\"cart\" name=\"checkout\" time=\"0.1\"/></testsuite>'"
                  " > $DEVICEFARM_LOG_DIR/junit.xml")

# Every long-running test process this file starts carries one of these on its command
# line, so a failing test cannot leave one behind.
_started_tokens: list[str] = []


def long_sleep(token: str) -> str:
    _started_tokens.append(token)
    return f"python3 -c 'import time; time.sleep(60)' {token}"


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    yield
    for token in _started_tokens:
        for pid in processes_with(token):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_file(path: Path, timeout: float = 30.0) -> None:
    wait_for(lambda: {"exists": path.exists()}, lambda v: v["exists"], timeout=timeout, interval=0.05,
             what=f"{path.name} to be written")


def steps_of(lab: Lab, job_arn: str) -> list[dict]:
    return [t for s in lab.client.list_suites(arn=job_arn)["suites"] for t in lab.client.list_tests(arn=s["arn"])["tests"]]


def assert_billing_adds_up(lab: Lab, job: dict) -> None:
    tests = steps_of(lab, job["arn"])
    total = sum(t["deviceMinutes"]["total"] for t in tests)
    assert job["deviceMinutes"]["total"] == pytest.approx(total), (job["deviceMinutes"], total)
    assert job["deviceMinutes"]["metered"] == pytest.approx(total)


# --- a server whose hosts are lost after 2 s of silence, and one agent (lab-1) -------------

PHONE = host_device("agent-phone", "Agent Phone")


farm = sim_fixture("agents-server", scale=1, extra_args=["--host-timeout-seconds", str(HOST_TIMEOUT)])


@pytest.fixture(scope="module")
def agent(farm, tmp_path_factory):
    with start_agent(farm, "lab-1", [PHONE], tmp_path_factory.mktemp("lab-1")) as process:
        yield process


def phone_arn(lab: Lab, agent: AgentProcess) -> str:
    try:
        return wait_availability(lab.client, PHONE["name"], "AVAILABLE")["arn"]
    except AssertionError as e:
        raise AssertionError(f"{e}\nagent log:\n{agent.log_tail()}") from None


def test_the_hosts_device_is_listed_and_runs_a_test_spec_on_the_agent(agent, lab, markers):
    listed = wait_availability(lab.client, PHONE["name"], "AVAILABLE")
    assert listed["fleetType"] == "PRIVATE" and listed["fleetName"] == "Test lab", listed
    assert listed["model"] == "Agent Phone" and listed["platform"] == "ANDROID"
    assert [i["udid"] for i in listed["instances"]] == ["AGENTPHONE000"]
    assert lab.client.get_device(arn=listed["arn"])["device"]["availability"] == "AVAILABLE"

    spec = spec_yaml(
        install=[f"touch {markers}/install"],
        pre_test=[f"touch {markers}/pre_test"],
        test=[
            f"pwd > {markers}/where",
            f"ls $DEVICEFARM_TEST_PACKAGE_PATH/tests > {markers}/package.txt",
            "printf '<testsuite><testcase classname=\"shop\" name=\"login\" time=\"0.3\"/>"
            "<testcase classname=\"shop\" name=\"pay\" time=\"0.2\"><failure message=\"card declined\"/></testcase>"
            "<testcase classname=\"shop\" name=\"later\"><skipped/></testcase></testsuite>' > $DEVICEFARM_LOG_DIR/junit.xml",
            "echo keep-me > $DEVICEFARM_LOG_DIR/extra.log",
            f"touch {markers}/test",
        ],
        post_test=[f"touch {markers}/post_test"],
        artifacts=["$DEVICEFARM_LOG_DIR"],
    )
    job = run_on(lab, listed["arn"], spec)
    final = wait_status(lab, job["arn"], "COMPLETED", timeout=40)
    assert (final["result"], final["message"]) == ("FAILED", "card declined"), final
    assert final["device"]["arn"] == listed["arn"]
    for phase in ("install", "pre_test", "test", "post_test"):
        assert (markers / phase).exists(), phase
    where = Path((markers / "where").read_text().strip()).resolve()
    assert where.is_relative_to(agent.work_dir.resolve()), f"the job ran in {where}, not in the agent's work dir"
    assert (markers / "package.txt").read_text().split() == ["data.txt"], "the package came down from the server"

    assert results_of(lab, job["arn"]) == [
        ("Setup Suite", "Setup Test", "PASSED", None),
        ("Tests Suite", "shop.login", "PASSED", None),
        ("Tests Suite", "shop.pay", "FAILED", "card declined"),
        ("Tests Suite", "shop.later", "SKIPPED", None),
        ("Teardown Suite", "Teardown Test", "PASSED", None),
    ]
    assert final["counters"] == {"total": 5, "passed": 3, "failed": 1, "warned": 0, "errored": 0, "stopped": 0,
                                 "skipped": 1}
    assert final["deviceMinutes"]["total"] > 0
    assert_billing_adds_up(lab, final)

    files = {a["type"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
    assert files["TESTSPEC_OUTPUT"]["url"].startswith(lab.farm.endpoint), files["TESTSPEC_OUTPUT"]["url"]
    output = requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10)
    assert output.status_code == 200
    assert "==== install ====" in output.text and "==== post_test ====" in output.text, output.text
    assert files["CUSTOMER_ARTIFACT"]["extension"] == "zip"
    archive = zipfile.ZipFile(io.BytesIO(requests.get(files["CUSTOMER_ARTIFACT"]["url"], timeout=10).content))
    extra = [name for name in archive.namelist() if name.endswith("extra.log")]
    assert extra and archive.read(extra[0]).decode().strip() == "keep-me", archive.namelist()
    log_zip = zipfile.ZipFile(io.BytesIO(requests.get(files["CUSTOMER_ARTIFACT_LOG"]["url"], timeout=10).content))
    assert any(name.endswith("junit.xml") for name in log_zip.namelist()), log_zip.namelist()


def test_farmhand_agent_alone_runs_a_hosts_job(farm, lab, markers, tmp_path):
    """`farmhand-agent`, built from crates/host without the server or the store, is the same
    agent: it declares its devices and runs their jobs, stops included."""
    bench = host_device("bench-phone", "Bench Phone")
    with start_agent(farm, "bench-1", [bench], tmp_path / "bench", standalone=True) as process:
        try:
            arn = wait_availability(lab.client, bench["name"], "AVAILABLE")["arn"]
        except AssertionError as e:
            raise AssertionError(f"{e}\nfarmhand-agent log:\n{process.log_tail()}") from None
        job = run_on(lab, arn, spec_yaml(test=[f"pwd > {markers}/standalone"]), name="standalone")
        final = wait_status(lab, job["arn"], "COMPLETED", timeout=40)
        assert final["result"] == "PASSED", (final, process.log_tail())
        where = Path((markers / "standalone").read_text().strip()).resolve()
        assert where.is_relative_to(process.work_dir.resolve()), f"the job ran in {where}, not in farmhand-agent's"


def test_an_idle_agent_keeps_its_connection(agent, lab):
    phone_arn(lab, agent)
    time.sleep(1)  # whatever the last test's job said has been acknowledged
    before = agent.log()
    # Longer than the three heartbeats of silence after which either side gives up on the other.
    time.sleep(4)
    since = agent.log()[len(before):]
    assert "connection to the server" not in since and "connected to the server" not in since, (
        f"an idle agent dropped its connection:\n{since}")
    assert devices_by_name(lab.client)[PHONE["name"]]["availability"] == "AVAILABLE"


def test_stop_job_reaches_the_agents_test_processes(agent, lab, markers):
    arn = phone_arn(lab, agent)
    token = unique("agent-stop")
    spec = spec_yaml(test=[f"touch {markers}/test-started", long_sleep(token)],
                     post_test=[f"touch {markers}/post_test"])
    job = run_on(lab, arn, spec)
    wait_file(markers / "test-started")
    wait_for(lambda: {"pids": processes_with(token)}, lambda v: v["pids"], what="the test process")
    wait_status(lab, job["arn"], "RUNNING")

    asked = time.monotonic()
    assert lab.client.stop_job(arn=job["arn"])["job"]["status"] == "STOPPING"
    wait_for(lambda: {"pids": processes_with(token)}, lambda v: not v["pids"], timeout=2.5, interval=0.05,
             what=f"the test process to end after StopJob\n{agent.log_tail()}")
    gone_after = time.monotonic() - asked
    assert gone_after < 2.5, gone_after

    final = wait_status(lab, job["arn"], "COMPLETED", timeout=20)
    assert final["result"] == "STOPPED", final
    assert (markers / "post_test").exists(), "teardown still runs after a stop"
    assert [t[2] for t in results_of(lab, job["arn"])] == ["PASSED", "STOPPED", "PASSED"]
    assert_billing_adds_up(lab, final)


def test_bad_tokens_and_a_second_host_for_the_same_device_are_refused(agent, farm, lab, markers, tmp_path):
    arn = phone_arn(lab, agent)
    stranger = host_device("stranger-phone", "Stranger Phone")

    revoked_id, revoked_token = create_token(farm, "lab-2")
    assert farm.manage("agent-token", "revoke", revoked_id) == [f"revoked {revoked_id}"]
    revoked = start_agent(farm, "lab-2", [stranger], tmp_path / "revoked", token=revoked_token)
    unknown = start_agent(farm, "lab-x", [stranger], tmp_path / "unknown",
                          token="fhagent_0123456789abcdef_" + "0" * 64)
    # lab-3 declares the very device lab-1 holds (the same fleet file).
    intruder = start_agent(farm, "lab-3", [PHONE], tmp_path / "intruder")
    try:
        for refused in (revoked, unknown):
            refused.wait_log("the server does not accept this host", count=2)
            assert "401" in refused.log(), refused.log_tail()
            assert refused.alive(), "a refused agent keeps trying; it does not crash"
        intruder.wait_log("the server refused this host", count=1)
        assert "already declared by another host" in intruder.log(), intruder.log_tail()
        assert "refused" in farm.log_tail(200)

        names = devices_by_name(lab.client)
        assert "Stranger Phone" not in names, "a refused host's device is never listed"
        assert names[PHONE["name"]]["availability"] == "AVAILABLE"
        assert names[PHONE["name"]]["arn"] == arn

        # The device is still lab-1's: a job on it runs in lab-1's work directory.
        job = run_on(lab, arn, spec_yaml(test=[f"pwd > {markers}/where"]))
        final = wait_status(lab, job["arn"], "COMPLETED", timeout=40)
        assert final["result"] == "PASSED", (final, agent.log_tail())
        where = Path((markers / "where").read_text().strip()).resolve()
        assert where.is_relative_to(agent.work_dir.resolve()), where
        assert not intruder.work_dir.exists() or not any(intruder.work_dir.iterdir())
    finally:
        for process in (revoked, unknown, intruder):
            process.stop()


def test_a_killed_agent_is_lost_after_the_timeout_and_sweeps_its_leftovers_when_back(agent, lab, markers):
    arn = phone_arn(lab, agent)
    token = unique("agent-killed")
    job = run_on(lab, arn, spec_yaml(test=[f"touch {markers}/test-started", long_sleep(token)],
                                     post_test=[f"touch {markers}/post_test"]))
    wait_file(markers / "test-started")
    wait_for(lambda: {"pids": processes_with(token)}, lambda v: v["pids"], what="the test process")
    wait_status(lab, job["arn"], "RUNNING")
    time.sleep(1.5)  # a test step with some length, and heartbeats during it

    killed_at = time.time()
    agent.kill9()
    assert processes_with(token), "the job's processes outlive a SIGKILLed agent (they are the sweep's business)"
    final = wait_status(lab, job["arn"], "COMPLETED", timeout=HOST_TIMEOUT + 6)
    noticed_after = time.time() - killed_at
    assert final["result"] == "ERRORED", final
    assert "stopped answering" in final["message"] and "lab-1" in final["message"], final["message"]
    assert noticed_after >= HOST_TIMEOUT - 1.2, f"the host was given up after {noticed_after:.1f}s, before its timeout"
    assert lab.client.get_device(arn=arn)["device"]["availability"] == "TEMPORARY_NOT_AVAILABLE"
    assert not (markers / "post_test").exists(), "nobody ran the teardown: the host is gone"

    # Billed up to the host's last heartbeat (≤ 1 s before the kill), not to when it was
    # given up (≥ 1 s after it).
    tests = steps_of(lab, job["arn"])
    assert [t["result"] for t in tests] == ["PASSED", "ERRORED", "STOPPED"], tests
    setup, test, _ = tests
    setup_started = setup["started"].timestamp()
    test_stopped = test["stopped"].timestamp()
    assert killed_at - 1.5 <= test_stopped <= killed_at + 0.5, (test_stopped - killed_at)
    billed_seconds = round(final["deviceMinutes"]["total"] * 60)
    ran = killed_at - setup_started
    # Each of the two steps that ran is rounded up to a whole second.
    assert ran - 1.5 <= billed_seconds <= ran + 2, (billed_seconds, ran)
    assert_billing_adds_up(lab, final)

    agent.start()
    wait_for(lambda: {"pids": processes_with(token)}, lambda v: not v["pids"], timeout=10, interval=0.05,
             what=f"the restarted agent to end the killed job's processes\n{agent.log_tail()}")
    wait_availability(lab.client, PHONE["name"], "AVAILABLE")
    again = run_on(lab, arn, spec_yaml(test=[f"touch {markers}/again"]))
    done = wait_status(lab, again["arn"], "COMPLETED", timeout=40)
    assert done["result"] == "PASSED", (done, agent.log_tail())
    assert (markers / "again").exists()
    assert wait_status(lab, job["arn"], "COMPLETED")["result"] == "ERRORED", "the lost job stays as it ended"


# --- a server with a fixed port and a patient host timeout, and one agent (lab-9) ---------

TABLET = host_device("patient-tablet", "Patient Tablet")


@pytest.fixture(scope="module")
def patient_farm(tmp_path_factory):
    server = sim_server(tmp_path_factory.mktemp("patient-server"), scale=1,
                        extra_args=["--host-timeout-seconds", str(PATIENT_HOST_TIMEOUT)])
    server.listen = f"127.0.0.1:{free_port()}"
    # A test restarts it: a restart that failed is that test's failure.
    with running(server, only_if_alive=True):
        yield server


@pytest.fixture(scope="module")
def patient_agent(patient_farm, tmp_path_factory):
    with start_agent(patient_farm, "lab-9", [TABLET], tmp_path_factory.mktemp("lab-9")) as process:
        yield process


def tablet_arn(lab: Lab, agent: AgentProcess) -> str:
    try:
        return wait_availability(lab.client, TABLET["name"], "AVAILABLE")["arn"]
    except AssertionError as e:
        raise AssertionError(f"{e}\nagent log:\n{agent.log_tail()}") from None


def test_an_agent_restarted_within_the_timeout_has_its_job_errored_as_restarted(patient_farm, patient_agent, markers):
    lab = Lab(patient_farm)
    arn = tablet_arn(lab, patient_agent)
    token = unique("agent-restarted")
    job = run_on(lab, arn, spec_yaml(test=[f"touch {markers}/test-started", long_sleep(token)]))
    wait_file(markers / "test-started")
    wait_status(lab, job["arn"], "RUNNING")

    patient_agent.kill9()
    restarted_at = time.monotonic()
    patient_agent.start()
    final = wait_status(lab, job["arn"], "COMPLETED", timeout=PATIENT_HOST_TIMEOUT - 2)
    assert time.monotonic() - restarted_at < PATIENT_HOST_TIMEOUT, "ended by the restart, not the timeout"
    assert final["result"] == "ERRORED", final
    assert "restarted" in final["message"] and "stopped answering" not in final["message"], final["message"]
    assert processes_with(token) == [], "the restarted agent ended the interrupted job's processes"
    assert [t["result"] for t in steps_of(lab, job["arn"])] == ["PASSED", "ERRORED", "STOPPED"]
    assert_billing_adds_up(lab, final)
    wait_availability(lab.client, TABLET["name"], "AVAILABLE")


def test_the_agent_rides_out_a_server_restart_and_the_job_completes(patient_farm, patient_agent, markers):
    lab = Lab(patient_farm)
    arn = tablet_arn(lab, patient_agent)
    patient_agent.wait_log("connected to the server")
    job = run_on(lab, arn, spec_yaml(test=[f"touch {markers}/test-started", "sleep 3", JUNIT_ONE_PASS,
                                           "echo after-the-blip", f"touch {markers}/test"],
                                     post_test=[f"touch {markers}/post_test"]))
    wait_file(markers / "test-started")
    wait_status(lab, job["arn"], "RUNNING")

    down_at = time.monotonic()
    log_before = patient_agent.log()
    assert patient_farm.stop() == 0, patient_farm.log_tail()
    # Down long enough for the agent's heartbeats and first reconnection attempts to fail.
    time.sleep(1)
    patient_farm.start()
    assert time.monotonic() - down_at < PATIENT_HOST_TIMEOUT / 2, "the server was down too long for this test"

    client = patient_farm.client()
    final = wait_for(lambda: client.get_job(arn=job["arn"])["job"], lambda j: j["status"] == "COMPLETED",
                     timeout=30, what=f"the job to complete\n{patient_agent.log_tail()}")
    assert final["result"] == "PASSED", (final, patient_agent.log_tail())
    assert (markers / "test").exists() and (markers / "post_test").exists()
    assert patient_agent.alive()
    since = patient_agent.log()[len(log_before):]
    assert "connection to the server failed" in since, f"the agent noticed the server was gone:\n{since}"
    assert "connected to the server" in since, f"the agent reconnected by itself:\n{since}"
    assert results_of(lab, job["arn"]) == [
        ("Setup Suite", "Setup Test", "PASSED", None),
        ("Tests Suite", "cart.checkout", "PASSED", None),
        ("Teardown Suite", "Teardown Test", "PASSED", None),
    ]
    assert_billing_adds_up(lab, final)
    files = {a["type"]: a for a in client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
    output = requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10).text
    assert "after-the-blip" in output and "==== post_test ====" in output, output
