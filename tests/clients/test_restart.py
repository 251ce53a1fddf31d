"""Restart safety: a server stopped mid-run (SIGTERM, and kill -9) and started again on the
same data dir finishes every job exactly once, with the minutes an uninterrupted run gives.

The service clock is anchored to the data dir's first start, so with the same --time-scale
simulated time keeps running while the server is down: jobs that would have moved on during
the outage must be found there on restart, not replayed from where the server left them.
A stop keeps the grace it was recorded with, even when the server comes back with another.
"""

from __future__ import annotations

import time

import pytest

from harness import new_access_key, running
from support import unsigned
from simfarm import (
    PREP_SECONDS, Lab, Scenario, SimTest, billed, check_final_job, device, devices_by_name, expected_job, job_tree, minutes,
    sim_server, stop_offset, ts, wait_job_status, wait_run_completed, wait_step_running,
)

ONE, TWO, SOLO = "Restart One", "Restart Two", "Restart Solo"
FLEET = [device("restart-one", ONE), device("restart-two", TWO), device("restart-solo", SOLO)]
SCENARIO = Scenario(setup=20, teardown=15, tests=(
    SimTest("test_first", 30), SimTest("test_second", 40, "FAILED", "broken"), SimTest("test_third", 25),
))
SETUP, T1, T2, TEARDOWN = 20, 30, 40, 15
# The stop grace before the restart, and the one the server comes back with: the stop
# recorded before keeps the first (simulated seconds).
GRACE, LATER_GRACE = 25.0, 2.0


def comparable(job: dict) -> dict:
    """A job without what is made per request (video URL signature) or live (device state)."""
    job = dict(unsigned(job))
    job.pop("device")
    if "videoEndpoint" in job:
        # The restarted server may answer on another address: the path names the video.
        job["videoEndpoint"] = job["videoEndpoint"].split("/video/", 1)[1]
    return job


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_restart_mid_run_finishes_every_job_exactly_once(tmp_path, signal_name):
    data = tmp_path / "data"
    key = new_access_key()
    farm = sim_server(data, fleet=FLEET, root_key=key, stop_grace=GRACE).start()
    try:
        lab = Lab(farm, name="restart")
        fleet = devices_by_name(lab.client)
        package = lab.package(SCENARIO)
        run_a = lab.web_run(lab.pool([fleet[n]["arn"] for n in (ONE, TWO, SOLO)]), package)
        jobs_a = {j["name"]: j for j in lab.jobs(run_a["arn"])}
        # A stop in progress across the restart: TWO is in its second test, which runs on
        # for the grace (the outage's length), then teardown.
        wait_step_running(lab.client, jobs_a[TWO]["arn"], SCENARIO, 2)
        assert lab.client.stop_job(arn=jobs_a[TWO]["arn"])["job"]["status"] == "STOPPING"
        # A job waiting for a device across the restart.
        run_b = lab.web_run(lab.pool([fleet[SOLO]["arn"]]), package)
        [job_b] = lab.jobs(run_b["arn"])
        wait_job_status(lab.client, job_b["arn"], "PENDING_DEVICE", timeout=10)
        assert lab.client.get_job(arn=jobs_a[ONE]["arn"])["job"]["status"] == "RUNNING"
    finally:
        if signal_name == "SIGTERM":
            assert farm.stop() == 0, farm.log_tail()
        else:
            farm.kill()
    # Down for a while: 1 s of wall time is 20 simulated seconds, during which steps end.
    time.sleep(1.0)

    with running(sim_server(data, fleet=FLEET, root_key=key, stop_grace=LATER_GRACE)) as farm:
        client = farm.client()
        final_a = wait_run_completed(client, run_a["arn"], timeout=60)
        final_b = wait_run_completed(client, run_b["arn"], timeout=60)
        jobs = {j["name"]: j for j in client.list_jobs(arn=run_a["arn"])["jobs"]}
        assert sorted(jobs) == sorted([ONE, TWO, SOLO]), "no job lost or added"
        [b] = client.list_jobs(arn=run_b["arn"])["jobs"]

        full = expected_job(SCENARIO)
        for job in (jobs[ONE], jobs[SOLO], b):
            check_final_job(client, job, SCENARIO, full)
            # Ran once, from its first start: its timeline is exactly the scenario's.
            assert ts(job["stopped"]) - ts(job["started"]) == pytest.approx(SCENARIO.duration, abs=0.002)
            assert job["result"] == "FAILED" and job["message"] == "broken"
        two = jobs[TWO]
        at = stop_offset(two, job_tree(client, two["arn"]), GRACE)
        two_start = PREP_SECONDS + SETUP + T1
        assert two_start < at < two_start + T2 - GRACE, at
        stopped = expected_job(SCENARIO, stop_at=at, grace=GRACE)
        assert stopped.results == ["PASSED", "PASSED", "STOPPED", "STOPPED", "PASSED"]
        assert stopped.billed_seconds == SETUP + T1 + billed(at + GRACE - two_start) + TEARDOWN
        check_final_job(client, two, SCENARIO, stopped)
        # One device instance, one job at a time, across the restart too.
        assert b["started"] >= jobs[SOLO]["stopped"]

        assert (final_a["result"], final_a["completedJobs"]) == ("FAILED", 3)
        assert final_a["deviceMinutes"] == minutes(2 * SCENARIO.full_seconds + stopped.billed_seconds)
        assert final_b["deviceMinutes"] == minutes(SCENARIO.full_seconds)
        before = [final_a, final_b, *[comparable(j) for j in (*jobs.values(), b)]]

    # Settled for good: another restart changes nothing, and bills nothing more.
    with running(sim_server(data, fleet=FLEET, root_key=key)) as farm:
        client = farm.client()
        time.sleep(0.5)
        again = [client.get_run(arn=run_a["arn"])["run"], client.get_run(arn=run_b["arn"])["run"],
                 *[comparable(client.get_job(arn=j["arn"])["job"]) for j in (*jobs.values(), b)]]
        assert again == before
