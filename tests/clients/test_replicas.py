"""Two `farmhand serve` replicas on one PostgreSQL database with a device host (`farmhand
agent`) connected to one of them: a run scheduled through either replica runs on the host,
a StopJob sent to the other replica reaches the host's processes, and killing the replica
the host is connected to loses nothing: the host moves to the other one and the job ends
with every report. Runs when FARMHAND_TEST_DATABASE_URL names a PostgreSQL server."""

from __future__ import annotations

import time
import signal

import pytest

from agents import run_on, start_agent
from harness import Farmhand, new_access_key
from simfarm import Lab, Scenario, SimTest, device, host_device, spec_yaml, wait_for
from support import unique
from test_host_runner import processes_with, results_of

HOST_DEVICE = host_device("replica-bench", "Replica Bench")
# A simulated device on the host: the host plays its scenario (driver "scripted").
PLAYED_DEVICE = device("replica-played", "Replica Played")


@pytest.fixture
def farm(tmp_path, pg_database):
    key = new_access_key()
    # Replicas share the database and the blob store (a directory here; S3 in production).
    replicas = [Farmhand(tmp_path / f"replica-{name}", database_url=pg_database.url, root_key=key,
                         extra_args=["--host-timeout-seconds", "5", "--blob-store", str(tmp_path / "blobs")])
                for name in ("a", "b")]
    for replica in replicas:
        replica.start()
    a, b = replicas
    # The host knows both replicas and tries B first.
    agent = start_agent(a, "rack-1", [HOST_DEVICE, PLAYED_DEVICE], tmp_path, servers=[b.endpoint, a.endpoint],
                        token_in_env=True)
    try:
        yield a, b, agent
    finally:
        agent.stop()
        for replica in replicas:
            if replica.proc and replica.proc.poll() is None:
                assert replica.stop() == 0, replica.log_tail()


def bench_device(client) -> dict:
    def find():
        found = client.list_devices(filters=[{"attribute": "MODEL", "operator": "EQUALS", "values": ["Replica Bench"]}])
        return {"devices": found["devices"]}
    return wait_for(find, lambda v: v["devices"] and v["devices"][0]["availability"] != "TEMPORARY_NOT_AVAILABLE",
                    timeout=20, what="the host's device")["devices"][0]


def schedule(lab: Lab, device_arn: str, spec: str) -> dict:
    return run_on(lab, device_arn, spec, name="replicated")


def status_is(client, job_arn: str, *statuses: str, timeout: float = 30) -> dict:
    return wait_for(lambda: client.get_job(arn=job_arn)["job"], lambda j: j["status"] in statuses, timeout=timeout,
                    what=f"job {statuses}")


def test_a_stop_sent_to_the_other_replica_reaches_the_hosts_processes(farm, tmp_path):
    a, b, agent = farm
    lab = Lab(a)
    bench = bench_device(lab.client)
    token = unique("replicated-sleep")
    spec = spec_yaml(test=[f"touch {tmp_path}/test-started", f"python3 -c 'import time; time.sleep(60)' {token}"],
                     post_test=[f"touch {tmp_path}/post_test"])
    job = schedule(lab, bench["arn"], spec)
    wait_for(lambda: {"started": (tmp_path / "test-started").exists()}, lambda v: v["started"], timeout=30,
             what="the test phase on the host")
    # The host is connected to B; the stop goes to A.
    stopped = a.client().stop_job(arn=job["arn"])["job"]
    assert stopped["status"] == "STOPPING"
    wait_for(lambda: {"left": processes_with(token)}, lambda v: v["left"] == [], timeout=5,
             what="the stopped test's processes to end")
    final = status_is(b.client(), job["arn"], "COMPLETED")
    assert final["result"] == "STOPPED"
    assert (tmp_path / "post_test").exists(), "teardown ran on the host"
    assert [t[2] for t in results_of(Lab(b), job["arn"])] == ["PASSED", "STOPPED", "PASSED"]
    assert "connected to the server" in agent.log()


def test_killing_the_hosts_replica_loses_nothing(farm, tmp_path):
    a, b, agent = farm
    lab = Lab(a)
    bench = bench_device(lab.client)
    spec = spec_yaml(test=[f"touch {tmp_path}/test-started", "sleep 3",
                           "printf '<testsuite><testcase classname=\"r\" name=\"survives\" time=\"3\"/></testsuite>'"
                           " > $DEVICEFARM_LOG_DIR/junit.xml"],
                     post_test=[f"touch {tmp_path}/post_test"])
    job = schedule(lab, bench["arn"], spec)
    wait_for(lambda: {"started": (tmp_path / "test-started").exists()}, lambda v: v["started"], timeout=30,
             what="the test phase on the host")
    b.kill()
    final = status_is(a.client(), job["arn"], "COMPLETED", timeout=40)
    assert final["result"] == "PASSED", (final, agent.log()[-3000:])
    assert [t[1:3] for t in results_of(lab, job["arn"])] == [("Setup Test", "PASSED"), ("r.survives", "PASSED"),
                                                             ("Teardown Test", "PASSED")]
    assert (tmp_path / "post_test").exists()
    # Billed once, from setup to teardown: at least the 3 s the test slept.
    assert final["deviceMinutes"]["total"] >= 3 / 60
    files = a.client().list_artifacts(arn=job["arn"], type="FILE")["artifacts"]
    assert "TESTSPEC_OUTPUT" in {x["type"] for x in files}


def test_a_simulated_device_on_a_host_plays_its_scenario_and_stops_by_the_rules(farm):
    a, b, agent = farm
    lab = Lab(b)
    def played():
        found = lab.client.list_devices(filters=[{"attribute": "MODEL", "operator": "EQUALS", "values": ["Replica Played"]}])
        return {"devices": found["devices"]}
    device_arn = wait_for(played, lambda v: v["devices"] and v["devices"][0]["availability"] != "TEMPORARY_NOT_AVAILABLE",
                          timeout=20, what="the host's simulated device")["devices"][0]["arn"]
    scenario = Scenario(setup=1, teardown=1, tests=(SimTest("checkout", 1), SimTest("refund", 1, "FAILED", "bad total"),
                                                    SimTest("slow", 30)))
    package = lab.package(scenario)
    pool = lab.pool([device_arn])
    run = lab.web_run(pool, package)
    [job] = lab.jobs(run["arn"])
    # Into the third test (setup 1 s + two 1 s tests + ~2 s of "slow"), then StopRun through the other replica.
    wait_for(lambda: a.client().get_job(arn=job["arn"])["job"], lambda j: j["status"] == "RUNNING", timeout=20,
             what="the played job to run")
    time.sleep(4.5)
    a.client().stop_run(arn=run["arn"])
    final = status_is(a.client(), job["arn"], "COMPLETED", timeout=20)
    assert final["result"] == "STOPPED"
    tests = [(t[1], t[2]) for t in results_of(lab, job["arn"])]
    assert tests == [("Setup Test", "PASSED"), ("checkout", "PASSED"), ("refund", "FAILED"), ("slow", "STOPPED"),
                     ("Teardown Test", "PASSED")], tests
    # Billed for what was played (setup, two tests, part of the third, teardown), not the 30 s test.
    assert 4 / 60 <= final["deviceMinutes"]["total"] <= 12 / 60, final["deviceMinutes"]
    assert a.client().get_run(arn=run["arn"])["run"]["result"] == "STOPPED"


def test_a_stopping_replica_sends_its_hosts_to_another_one(farm, tmp_path):
    a, b, agent = farm
    lab = Lab(a)
    bench_device(lab.client)
    assert b.endpoint in agent.log(), "the host starts on B, the first of its list"
    b.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: {"log": agent.log()}, lambda v: "sent this host to another replica" in v["log"], timeout=10,
             what="the host to be sent away")
    def moved_to_a(log: str) -> bool:
        after = log.split("sent this host to another replica", 1)[-1]
        return "connected to the server" in after and a.endpoint in after
    wait_for(lambda: {"log": agent.log()}, lambda v: moved_to_a(v["log"]), timeout=10, what="the host to connect to A")
    assert b.proc.wait(timeout=30) == 0
    spec = spec_yaml(test=[f"touch {tmp_path}/ran-after-the-move"])
    job = schedule(lab, bench_device(lab.client)["arn"], spec)
    assert status_is(a.client(), job["arn"], "COMPLETED")["result"] == "PASSED"
    assert (tmp_path / "ran-after-the-move").exists()


def test_a_device_spread_over_two_hosts_keeps_running_jobs_when_one_is_lost(farm, tmp_path):
    a, b, agent = farm
    lab = Lab(a)
    # A second host with another instance of the same played device model.
    second = start_agent(a, "rack-2", [{**PLAYED_DEVICE, "udids": ["REPLICAPLAYED900"]}], tmp_path / "rack-2",
                         servers=[a.endpoint], token_in_env=True)
    try:
        def played():
            found = lab.client.list_devices(filters=[{"attribute": "MODEL", "operator": "EQUALS", "values": ["Replica Played"]}])
            return {"devices": found["devices"]}
        device = wait_for(played, lambda v: v["devices"] and len(v["devices"][0]["instances"]) == 2, timeout=20,
                          what="one device with an instance on each host")["devices"][0]
        # The first host goes silent: after the timeout its instance is unavailable, the device is not.
        agent.proc.kill()
        agent.proc.wait()
        device = wait_for(played, lambda v: any(i["status"] == "NOT_AVAILABLE" for i in v["devices"][0]["instances"]),
                          timeout=20, what="the lost host's instance to be unavailable")["devices"][0]
        assert device["availability"] != "TEMPORARY_NOT_AVAILABLE", device
        scenario = Scenario(setup=1, teardown=1, tests=(SimTest("still-served", 1),))
        run = lab.web_run(lab.pool([device["arn"]]), lab.package(scenario))
        [job] = lab.jobs(run["arn"])
        final = status_is(lab.client, job["arn"], "COMPLETED", timeout=30)
        assert final["result"] == "PASSED", final
        [live] = [i for i in device["instances"] if i["status"] != "NOT_AVAILABLE"]
        assert final["instanceArn"] == live["arn"], "the job ran on the host that still answers"
    finally:
        second.stop()
