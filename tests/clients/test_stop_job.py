"""StopJob and StopRun exactly as stop_job.txt says, on a simulated fleet with a fast clock.

  "AWS Device Farm immediately stops the job on the device where tests have not started.
   You are not billed for this device. On the device where tests have started, setup suite
   and teardown suite tests run to completion on the device. You are billed for setup,
   teardown, and any tests that were in progress or already completed."

One scenario with distinct step lengths (41, 37, 43, 53, 29 simulated seconds) makes every
billing sum name exactly which steps ran. Each test stops a job in one phase, checks every
field of the StopJob response, then the final job, its suites, tests and minutes.
"""

from __future__ import annotations

import pytest

from simfarm import (
    JOB_ARN, PREP_SECONDS, Lab, Scenario, SimTest, check_final_job, counters, device, devices_by_name, expected_job,
    job_tree, minutes, sim_server, step_arn, stop_offset, ts, unique, wait_for, wait_job_status,
    wait_run_completed, wait_step_running,
)
from support import DEVICE_INSTANCE_ARN

SOLO, S2, S3, S4, S5, S6, S7 = "Solo", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh"
FLEET = [device(f"stop-{name.lower()}", name) for name in (SOLO, S2, S3, S4, S5, S6, S7)]

STOP = Scenario(setup=41, teardown=29, tests=(
    SimTest("test_one", 37), SimTest("test_two", 43, "FAILED", "boom"), SimTest("test_three", 53),
))
SETUP, T1, T2, T3, TEARDOWN = 41, 37, 43, 53, 29
# Keeps a device busy, and stops quickly when asked: each step is short.
BLOCKER = Scenario(setup=1, teardown=1, tests=tuple(SimTest(f"hold_{i}", 5) for i in range(60)))


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    farm = sim_server(tmp_path_factory.mktemp("stops"), fleet=FLEET).start()
    yield farm
    assert farm.stop() == 0, farm.log_tail()


@pytest.fixture(scope="module")
def fleet(sim):
    return devices_by_name(sim.client())


@pytest.fixture(scope="module")
def lab(sim):
    return Lab(sim, name="stops")


@pytest.fixture(scope="module")
def package(lab):
    return lab.package(STOP)


@pytest.fixture(scope="module")
def blocker_package(lab):
    return lab.package(BLOCKER)


def start_one(lab: Lab, fleet, name: str, package: str, **kwargs) -> tuple[dict, dict]:
    run = lab.web_run(lab.pool([fleet[name]["arn"]]), package, **kwargs)
    [job] = lab.jobs(run["arn"])
    return run, job


def occupy(lab: Lab, fleet, name: str, blocker_package: str) -> dict:
    """Schedules a long job on `name` and waits until it holds the device."""
    run, job = start_one(lab, fleet, name, blocker_package)
    wait_job_status(lab.client, job["arn"], "PROCESSING", "SCHEDULING", "PREPARING", "RUNNING")
    return run


def release(lab: Lab, run: dict) -> dict:
    lab.client.stop_run(arn=run["arn"])
    return wait_run_completed(lab.client, run["arn"])


def static_device(d: dict) -> dict:
    """A device without what changes as jobs come and go (availability, instance status)."""
    d = dict(d)
    d.pop("availability", None)
    d["instances"] = [{k: v for k, v in i.items() if k != "status"} for i in d.get("instances", [])]
    return d


def without_live_fields(job: dict) -> dict:
    """A job without its device's live state, which moves as other jobs come and go, and
    without the video URL's signature, which is made afresh for each response."""
    job = dict(job, device=static_device(job["device"]))
    if "videoEndpoint" in job:
        job["videoEndpoint"] = job["videoEndpoint"].split("?")[0]
    return job


def assert_job_fields(job: dict, *, run: dict, device: dict, status: str, result: str, counts: dict,
                      billed_seconds: int, assigned: bool, ended: bool, video: bool = True) -> None:
    """Every member of a Job (stop_job.txt's response syntax)."""
    m = JOB_ARN.match(job["arn"])
    assert m and job["arn"].startswith(run["arn"].replace(":run:", ":job:") + "/"), job["arn"]
    assert job["name"] == device["name"]
    assert job["type"] == "APPIUM_WEB_PYTHON"
    assert job["created"] >= run["created"]
    assert (job["status"], job["result"]) == (status, result), job
    assert job["counters"] == counts, job["counters"]
    assert job["deviceMinutes"] == minutes(billed_seconds), (job["deviceMinutes"], billed_seconds)
    assert "message" not in job, "a plain stop needs no message"
    if assigned:
        assert job["started"] >= job["created"]
        assert DEVICE_INSTANCE_ARN.match(job["instanceArn"])
        assert job["instanceArn"] in {i["arn"] for i in device["instances"]}
    else:
        assert "started" not in job and "instanceArn" not in job, job
    if ended:
        assert job["stopped"] >= job.get("started", job["created"])
    else:
        assert "stopped" not in job, job
    got = job["device"]
    assert static_device(got) == static_device(device)
    assert got["cpu"] == device["cpu"] and set(got["cpu"]) == {"frequency", "architecture", "clock"}
    assert got["resolution"] == device["resolution"] and set(got["resolution"]) == {"width", "height"}
    assert got["availability"] in {"TEMPORARY_NOT_AVAILABLE", "BUSY", "AVAILABLE", "HIGHLY_AVAILABLE"}
    assert [i["arn"] for i in got["instances"]] == [i["arn"] for i in device["instances"]]
    assert all(i["status"] in {"IN_USE", "PREPARING", "AVAILABLE", "NOT_AVAILABLE"} for i in got["instances"])
    assert job["videoCapture"] is video
    if video:
        assert job["videoEndpoint"].startswith("http")
    else:
        assert "videoEndpoint" not in job


def stopped_counts(ran: list[str], stopped: int, pending: int = 0) -> dict:
    return counters(ran + ["STOPPED"] * stopped + ["PENDING"] * pending)


# --- StopJob in each phase ------------------------------------------------------------


def test_stop_before_start_while_waiting_for_the_device(sim, lab, fleet, package, blocker_package):
    blocker = occupy(lab, fleet, SOLO, blocker_package)
    run, job = start_one(lab, fleet, SOLO, package)
    wait_job_status(lab.client, job["arn"], "PENDING_DEVICE", timeout=10)

    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    assert_job_fields(stopped, run=run, device=fleet[SOLO], status="COMPLETED", result="STOPPED",
                      counts=stopped_counts([], 5), billed_seconds=0, assigned=False, ended=True)
    assert without_live_fields(lab.client.get_job(arn=job["arn"])["job"]) == without_live_fields(stopped)
    run_now = lab.client.get_run(arn=run["arn"])["run"]
    assert (run_now["status"], run_now["result"], run_now["completedJobs"]) == ("COMPLETED", "STOPPED", 1)
    assert run_now["deviceMinutes"] == minutes(0)
    assert run_now["counters"] == stopped_counts([], 5)

    # The job never starts, even once the device is free again.
    release(lab, blocker)
    final = lab.client.get_job(arn=job["arn"])["job"]
    assert without_live_fields(final) == without_live_fields(stopped)
    check_final_job(lab.client, final, STOP, expected_job(STOP, stop_at=-1))


def test_stop_right_after_scheduling(sim, lab, fleet, package):
    run, job = start_one(lab, fleet, S2, package)
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    # Setup begins 4 simulated seconds (0.2 s) after assignment: the stop came before it.
    assert_job_fields(stopped, run=run, device=fleet[S2], status="COMPLETED", result="STOPPED",
                      counts=stopped_counts([], 5), billed_seconds=0, assigned="started" in stopped, ended=True)
    final = wait_run_completed(lab.client, run["arn"], timeout=5)
    assert final["result"] == "STOPPED" and final["deviceMinutes"] == minutes(0)
    at = ts(stopped["stopped"]) - ts(stopped["started"]) if "started" in stopped else -1
    assert at <= PREP_SECONDS
    check_final_job(lab.client, lab.client.get_job(arn=job["arn"])["job"], STOP, expected_job(STOP, stop_at=at))


@pytest.fixture(scope="module")
def slow_sim(tmp_path_factory):
    """A clock only twice as fast, so that the 4 simulated seconds between device assignment
    and setup last 2 s: long enough to stop a job that has a device but no setup yet."""
    farm = sim_server(tmp_path_factory.mktemp("slow-stops"), scale=2, fleet=FLEET).start()
    yield farm
    assert farm.stop() == 0, farm.log_tail()


def test_stop_after_the_device_was_assigned_before_setup(slow_sim):
    lab = Lab(slow_sim, name="assigned")
    fleet = devices_by_name(lab.client)
    run, job = start_one(lab, fleet, S3, lab.package(STOP))
    wait_job_status(lab.client, job["arn"], "PROCESSING", "SCHEDULING", timeout=10)
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    assert_job_fields(stopped, run=run, device=fleet[S3], status="COMPLETED", result="STOPPED",
                      counts=stopped_counts([], 5), billed_seconds=0, assigned=True, ended=True)
    at = ts(stopped["stopped"]) - ts(stopped["started"])
    assert 0 <= at < PREP_SECONDS
    # The device is free at once, and the response already says so.
    shown = {i["arn"]: i["status"] for i in stopped["device"]["instances"]}
    assert shown[stopped["instanceArn"]] == "AVAILABLE", stopped["device"]["instances"]
    instance = lab.client.get_device_instance(arn=stopped["instanceArn"])["deviceInstance"]
    assert instance["status"] == "AVAILABLE", instance
    run_now = lab.client.get_run(arn=run["arn"])["run"]
    assert (run_now["status"], run_now["result"], run_now["deviceMinutes"]) == ("COMPLETED", "STOPPED", minutes(0))
    check_final_job(lab.client, lab.client.get_job(arn=job["arn"])["job"], STOP, expected_job(STOP, stop_at=at))


def test_stop_during_setup(sim, lab, fleet, package):
    run, job = start_one(lab, fleet, S3, package)
    wait_step_running(lab.client, job["arn"], STOP, 0)
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    # Setup runs on; the tests will never start, so they are STOPPED already.
    assert_job_fields(stopped, run=run, device=fleet[S3], status="STOPPING", result="PENDING",
                      counts=stopped_counts([], 3, pending=2), billed_seconds=0, assigned=True, ended=False)
    assert lab.client.get_job(arn=job["arn"])["job"]["status"] == "STOPPING"

    final = wait_job_status(lab.client, job["arn"], "COMPLETED", timeout=30)
    tree = job_tree(lab.client, job["arn"])
    at = stop_offset(final, tree)
    assert PREP_SECONDS < at < PREP_SECONDS + SETUP, at
    expected = expected_job(STOP, stop_at=at)
    assert expected.billed_seconds == SETUP + TEARDOWN
    check_final_job(lab.client, final, STOP, expected)
    assert final["instanceArn"] == stopped["instanceArn"]
    # Teardown starts when setup ends: nothing ran in between.
    assert ts(final["stopped"]) - ts(final["started"]) == pytest.approx(PREP_SECONDS + SETUP + TEARDOWN, abs=0.002)
    run_final = wait_run_completed(lab.client, run["arn"])
    assert (run_final["result"], run_final["deviceMinutes"]) == ("STOPPED", minutes(SETUP + TEARDOWN))


def test_stop_during_tests_then_a_second_stop(sim, lab, fleet, package):
    run, job = start_one(lab, fleet, S4, package)
    wait_step_running(lab.client, job["arn"], STOP, 2)  # test_two
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    assert_job_fields(stopped, run=run, device=fleet[S4], status="STOPPING", result="PENDING",
                      counts=stopped_counts(["PASSED", "PASSED"], 1, pending=2),
                      billed_seconds=SETUP + T1, assigned=True, ended=False)
    three = lab.client.get_test(arn=step_arn(job["arn"], STOP, 3))["test"]
    assert (three["status"], three["result"]) == ("COMPLETED", "STOPPED")
    two = lab.client.get_test(arn=step_arn(job["arn"], STOP, 2))["test"]
    assert two["status"] == "RUNNING", "the test in progress runs to its end"

    again = lab.client.stop_job(arn=job["arn"])["job"]
    assert without_live_fields(again) == without_live_fields(stopped), "a second stop while STOPPING changes nothing"
    assert lab.client.get_test(arn=step_arn(job["arn"], STOP, 3))["test"] == three

    final = wait_job_status(lab.client, job["arn"], "COMPLETED", timeout=30)
    tree = job_tree(lab.client, job["arn"])
    at = stop_offset(final, tree)
    assert at == pytest.approx(ts(three["stopped"]) - ts(final["started"]), abs=0.002)
    assert PREP_SECONDS + SETUP + T1 < at < PREP_SECONDS + SETUP + T1 + T2, at
    expected = expected_job(STOP, stop_at=at)
    assert expected.billed_seconds == SETUP + T1 + T2 + TEARDOWN
    assert expected.results == ["PASSED", "PASSED", "FAILED", "STOPPED", "PASSED"]
    check_final_job(lab.client, final, STOP, expected)
    run_final = wait_run_completed(lab.client, run["arn"])
    assert run_final["result"] == "STOPPED"
    assert run_final["deviceMinutes"] == minutes(SETUP + T1 + T2 + TEARDOWN)
    assert without_live_fields(lab.client.stop_job(arn=job["arn"])["job"]) == without_live_fields(final)


def test_stop_during_teardown(sim, lab, fleet, package):
    run, job = start_one(lab, fleet, S5, package)
    wait_step_running(lab.client, job["arn"], STOP, 4, timeout=30)
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    assert_job_fields(stopped, run=run, device=fleet[S5], status="STOPPING", result="PENDING",
                      counts=counters(["PASSED", "PASSED", "FAILED", "PASSED", "PENDING"]),
                      billed_seconds=SETUP + T1 + T2 + T3, assigned=True, ended=False)
    final = wait_job_status(lab.client, job["arn"], "COMPLETED", timeout=30)
    tree = job_tree(lab.client, job["arn"])
    assert stop_offset(final, tree) is None, "every test had run"
    expected = expected_job(STOP, stop_at=PREP_SECONDS + SETUP + T1 + T2 + T3 + 1)
    assert expected.billed_seconds == STOP.full_seconds
    check_final_job(lab.client, final, STOP, expected)
    assert ts(final["stopped"]) - ts(final["started"]) == pytest.approx(STOP.duration, abs=0.002)
    assert wait_run_completed(lab.client, run["arn"])["deviceMinutes"] == minutes(STOP.full_seconds)


def test_stop_after_completion_returns_the_job_unchanged(sim, lab, fleet):
    short = Scenario(setup=2, teardown=1, tests=(SimTest("a", 3), SimTest("b", 2.5, "FAILED", "nope")))
    run, job = start_one(lab, fleet, S6, lab.package(short))
    run_final = wait_run_completed(lab.client, run["arn"])
    before = lab.client.get_job(arn=job["arn"])["job"]
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    assert stopped == before
    assert (stopped["status"], stopped["result"], stopped["message"]) == ("COMPLETED", "FAILED", "nope")
    check_final_job(lab.client, stopped, short, expected_job(short))
    assert lab.client.stop_run(arn=run["arn"])["run"] == run_final
    assert lab.client.get_run(arn=run["arn"])["run"] == run_final
    assert run_final["result"] == "FAILED"


# --- StopRun --------------------------------------------------------------------------


def test_stop_run_with_pending_and_running_jobs(sim, fleet):
    lab = Lab(sim, name="stop-run")
    blocker_package = lab.package(BLOCKER)
    blocker = occupy(lab, fleet, SOLO, blocker_package)
    run = lab.web_run(lab.pool([fleet[n]["arn"] for n in (SOLO, S2, S3)]), lab.package(STOP))
    jobs = {j["name"]: j for j in lab.jobs(run["arn"])}
    wait_job_status(lab.client, jobs[SOLO]["arn"], "PENDING_DEVICE", timeout=10)
    for name in (S2, S3):
        wait_step_running(lab.client, jobs[name]["arn"], STOP, 1)  # test_one

    response = lab.client.stop_run(arn=run["arn"])["run"]
    assert response["arn"] == run["arn"] and response["status"] == "STOPPING", response
    assert response["result"] == "PENDING"
    assert lab.client.stop_run(arn=run["arn"])["run"]["status"] == "STOPPING"
    now = {j["name"]: j for j in lab.jobs(run["arn"])}
    assert (now[SOLO]["status"], now[SOLO]["result"]) == ("COMPLETED", "STOPPED")
    assert now[SOLO]["deviceMinutes"] == minutes(0)
    for name in (S2, S3):
        assert now[name]["status"] == "STOPPING", now[name]

    final = wait_for(lambda: lab.client.get_run(arn=run["arn"])["run"], lambda r: r["status"] == "COMPLETED",
                     timeout=30, what="run COMPLETED")
    assert final["result"] == "STOPPED"
    assert final["completedJobs"] == final["totalJobs"] == 3
    billed = 0
    for job in lab.jobs(run["arn"]):
        tree = job_tree(lab.client, job["arn"])
        if job["name"] == SOLO:
            expected = expected_job(STOP, stop_at=-1)
            assert "started" not in job
        else:
            at = stop_offset(job, tree)
            assert PREP_SECONDS + SETUP < at < PREP_SECONDS + SETUP + T1, at
            expected = expected_job(STOP, stop_at=at)
            assert expected.billed_seconds == SETUP + T1 + TEARDOWN
        check_final_job(lab.client, job, STOP, expected)
        billed += expected.billed_seconds
    assert final["deviceMinutes"] == minutes(billed) == minutes(2 * (SETUP + T1 + TEARDOWN))

    # The pending job never starts, even once its device is free.
    release(lab, blocker)
    assert "started" not in lab.client.get_job(arn=jobs[SOLO]["arn"])["job"]
    assert lab.client.get_run(arn=run["arn"])["run"] == final


def test_stop_run_with_a_job_waiting_for_an_unmetered_slot(sim, fleet):
    lab = Lab(sim, sim.create_account(unique("unmetered-stop")), name="unmetered-stop")
    run = lab.web_run(lab.pool([fleet[n]["arn"] for n in (S6, S7)]), lab.package(STOP),
                      configuration={"billingMethod": "UNMETERED"})

    def split(_=None):
        return {"status": sorted(j["status"] for j in lab.jobs(run["arn"]))}

    wait_for(split, lambda v: v["status"][0] == "PENDING_CONCURRENCY" and v["status"][1] == "PREPARING",
             timeout=10, what="one job PREPARING, one PENDING_CONCURRENCY")
    jobs = lab.jobs(run["arn"])
    waiting = next(j for j in jobs if j["status"] == "PENDING_CONCURRENCY")
    active = next(j for j in jobs if j is not waiting)
    wait_step_running(lab.client, active["arn"], STOP, 0)

    assert lab.client.stop_run(arn=run["arn"])["run"]["status"] == "STOPPING"
    final = wait_run_completed(lab.client, run["arn"], timeout=30)
    assert final["result"] == "STOPPED"
    assert final["deviceMinutes"] == minutes(SETUP + TEARDOWN, "UNMETERED")
    waiting = lab.client.get_job(arn=waiting["arn"])["job"]
    assert "started" not in waiting
    check_final_job(lab.client, waiting, STOP, expected_job(STOP, stop_at=-1), "UNMETERED")
    active = lab.client.get_job(arn=active["arn"])["job"]
    at = stop_offset(active, job_tree(lab.client, active["arn"]))
    check_final_job(lab.client, active, STOP, expected_job(STOP, stop_at=at), "UNMETERED")
    assert active["deviceMinutes"] == minutes(SETUP + TEARDOWN, "UNMETERED")
