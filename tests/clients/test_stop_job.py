"""StopJob and StopRun exactly as stop_job.txt says, on a simulated fleet with a fast clock.

  "AWS Device Farm immediately stops the job on the device where tests have not started.
   You are not billed for this device. On the device where tests have started, setup suite
   and teardown suite tests run to completion on the device. You are billed for setup,
   teardown, and any tests that were in progress or already completed."

One scenario with distinct step lengths (41, 37, 43, 53, 29 simulated seconds) makes every
billing sum name exactly which steps ran. Each test stops a job in one phase, checks every
field of the StopJob response, then the final job, its suites, tests and minutes.

The test in progress is interrupted as a real one is (device-farm-notes, "The test in
progress when a stop comes is interrupted"): it ends STOPPED at stop + the server's grace,
here GRACE simulated seconds (`--stop-grace-seconds`), unless it ends by itself first.
"""

from __future__ import annotations

import pytest

from simfarm import (
    JOB_ARN, PREP_SECONDS, Lab, Scenario, SimTest, billed, check_final_job, counters, device, devices_by_name, expected_job,
    job_tree, minutes, sim_fixture, step_arn, stop_offset, ts, unique, wait_for, wait_job_status,
    wait_run_completed, wait_step_running,
)
from support import DEVICE_INSTANCE_ARN, unsigned

SOLO, S2, S3, S4, S5, S6, S7 = "Solo", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh"
FLEET = [device(f"stop-{name.lower()}", name) for name in (SOLO, S2, S3, S4, S5, S6, S7)]

STOP = Scenario(setup=41, teardown=29, tests=(
    SimTest("test_one", 37), SimTest("test_two", 43, "FAILED", "boom"), SimTest("test_three", 53),
))
SETUP, T1, T2, T3, TEARDOWN = 41, 37, 43, 53, 29
# Shorter than any test, long enough (0.75 s of wall time) to see the test in progress run on.
GRACE = 15.0
# A test of 30 simulated minutes (90 s of wall time): only an interrupting stop ends the job
# within the tests' patience.
LONG_TEST, M_SETUP, M_TEARDOWN = 30 * 60, 3, 7
MARATHON = Scenario(setup=M_SETUP, teardown=M_TEARDOWN, tests=(
    SimTest("marathon", LONG_TEST, "FAILED", "never reached"), SimTest("after", 5),
))
# Keeps a device busy, and stops quickly when asked: each step is short.
BLOCKER = Scenario(setup=1, teardown=1, tests=tuple(SimTest(f"hold_{i}", 5) for i in range(60)))


sim = sim_fixture("stops", fleet=FLEET, stop_grace=GRACE)


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
    return unsigned(dict(job, device=static_device(job["device"])))


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
    check_final_job(lab.client, final, STOP, expected_job(STOP, grace=GRACE, stop_at=-1))


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
    check_final_job(lab.client, lab.client.get_job(arn=job["arn"])["job"], STOP, expected_job(STOP, grace=GRACE, stop_at=at))


# A clock only twice as fast, so that the 4 simulated seconds between device assignment and
# setup last 2 s: long enough to stop a job that has a device but no setup yet.
slow_sim = sim_fixture("slow-stops", scale=2, fleet=FLEET, stop_grace=GRACE)


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
    check_final_job(lab.client, lab.client.get_job(arn=job["arn"])["job"], STOP, expected_job(STOP, grace=GRACE, stop_at=at))


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
    at = stop_offset(final, tree, GRACE)
    assert PREP_SECONDS < at < PREP_SECONDS + SETUP, at
    expected = expected_job(STOP, grace=GRACE, stop_at=at)
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
    assert two["status"] == "RUNNING", "the test in progress runs on through the grace"

    again = lab.client.stop_job(arn=job["arn"])["job"]
    assert without_live_fields(again) == without_live_fields(stopped), "a second stop while STOPPING changes nothing"
    assert lab.client.get_test(arn=step_arn(job["arn"], STOP, 3))["test"] == three

    final = wait_job_status(lab.client, job["arn"], "COMPLETED", timeout=30)
    tree = job_tree(lab.client, job["arn"])
    at = stop_offset(final, tree, GRACE)
    assert at == pytest.approx(ts(three["stopped"]) - ts(final["started"]), abs=0.002)
    two_start = PREP_SECONDS + SETUP + T1
    assert two_start < at < two_start + T2 - GRACE, at
    expected = expected_job(STOP, grace=GRACE, stop_at=at)
    # test_two, which would have FAILED, is cut at stop + grace and billed up to then.
    assert expected.results == ["PASSED", "PASSED", "STOPPED", "STOPPED", "PASSED"]
    two_billed = billed(at + GRACE - two_start)
    assert expected.billed_seconds == SETUP + T1 + two_billed + TEARDOWN
    check_final_job(lab.client, final, STOP, expected)
    run_final = wait_run_completed(lab.client, run["arn"])
    assert run_final["result"] == "STOPPED"
    assert run_final["deviceMinutes"] == minutes(SETUP + T1 + two_billed + TEARDOWN)
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
    assert stop_offset(final, tree, GRACE) is None, "every test had run"
    expected = expected_job(STOP, grace=GRACE, stop_at=PREP_SECONDS + SETUP + T1 + T2 + T3 + 1)
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
            expected = expected_job(STOP, grace=GRACE, stop_at=-1)
            assert "started" not in job
        else:
            at = stop_offset(job, tree, GRACE)
            one_start = PREP_SECONDS + SETUP
            assert one_start < at < one_start + T1 - GRACE, at
            expected = expected_job(STOP, grace=GRACE, stop_at=at)
            # test_one is cut at stop + grace, not run to its end.
            assert expected.results == ["PASSED", "STOPPED", "STOPPED", "STOPPED", "PASSED"]
            assert expected.billed_seconds < SETUP + T1 + TEARDOWN
        check_final_job(lab.client, job, STOP, expected)
        billed += expected.billed_seconds
    assert final["deviceMinutes"] == minutes(billed)

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
    check_final_job(lab.client, waiting, STOP, expected_job(STOP, grace=GRACE, stop_at=-1), "UNMETERED")
    active = lab.client.get_job(arn=active["arn"])["job"]
    at = stop_offset(active, job_tree(lab.client, active["arn"]), GRACE)
    check_final_job(lab.client, active, STOP, expected_job(STOP, grace=GRACE, stop_at=at), "UNMETERED")
    assert active["deviceMinutes"] == minutes(SETUP + TEARDOWN, "UNMETERED")


# --- the test in progress is interrupted ----------------------------------------------


def stop_instant(client, job_arn: str, started: dict) -> float:
    """The stop instant as the job showed it right after the stop: when the test that had
    not started yet ("after") was STOPPED, from the job's start."""
    after = client.get_test(arn=step_arn(job_arn, MARATHON, 2))["test"]
    assert (after["status"], after["result"], "started" in after) == ("COMPLETED", "STOPPED", False), after
    return ts(after["stopped"]) - ts(started["started"])


def check_interrupted(client, job: dict, at: float) -> int:
    """A MARATHON job stopped at `at` during its long test: the test ended STOPPED at
    stop + grace and was billed to then, teardown ran in full after it, the job ended
    COMPLETED / STOPPED right after teardown, not at the test's planned end. Its seconds."""
    test_start = PREP_SECONDS + M_SETUP
    assert test_start < at < test_start + 60, at
    tree = check_final_job(client, job, MARATHON, expected_job(MARATHON, grace=GRACE, stop_at=at))
    assert stop_offset(job, tree, GRACE) == pytest.approx(at, abs=0.002)
    started = ts(job["started"])
    marathon = tree[1][1][0]
    assert (marathon["status"], marathon["result"], "message" in marathon) == ("COMPLETED", "STOPPED", False)
    assert ts(marathon["stopped"]) - started == pytest.approx(at + GRACE, abs=0.002)
    ran = billed(at + GRACE - test_start)
    assert marathon["deviceMinutes"] == minutes(ran)
    teardown = tree[2][1][0]
    assert (teardown["status"], teardown["result"]) == ("COMPLETED", "PASSED")
    assert ts(teardown["started"]) == pytest.approx(ts(marathon["stopped"]), abs=0.002)
    assert ts(teardown["stopped"]) - ts(teardown["started"]) == pytest.approx(M_TEARDOWN, abs=0.002)
    assert (job["status"], job["result"], "message" in job) == ("COMPLETED", "STOPPED", False)
    assert ts(job["stopped"]) - started == pytest.approx(at + GRACE + M_TEARDOWN, abs=0.002)
    assert ts(job["stopped"]) - started < PREP_SECONDS + M_SETUP + LONG_TEST, "ran to the planned end"
    seconds = M_SETUP + ran + M_TEARDOWN
    assert job["deviceMinutes"] == minutes(seconds)
    return seconds


def test_stop_job_interrupts_a_long_simulated_test_at_stop_plus_grace(sim, lab, fleet):
    run, job = start_one(lab, fleet, S4, lab.package(MARATHON))
    wait_step_running(lab.client, job["arn"], MARATHON, 1)
    stopped = lab.client.stop_job(arn=job["arn"])["job"]
    assert (stopped["status"], stopped["result"]) == ("STOPPING", "PENDING"), stopped
    assert stopped["counters"] == stopped_counts(["PASSED"], 1, pending=2)
    at = stop_instant(lab.client, job["arn"], stopped)
    # Uninterrupted, the test alone would take 90 s of wall time.
    final = wait_job_status(lab.client, job["arn"], "COMPLETED", timeout=30)
    seconds = check_interrupted(lab.client, final, at)
    run_final = wait_run_completed(lab.client, run["arn"], timeout=10)
    assert (run_final["result"], run_final["deviceMinutes"]) == ("STOPPED", minutes(seconds))


def test_stop_run_interrupts_the_long_simulated_test_of_every_job(sim, fleet):
    lab = Lab(sim, name="stop-run-long")
    run = lab.web_run(lab.pool([fleet[n]["arn"] for n in (S2, S3)]), lab.package(MARATHON))
    jobs = lab.jobs(run["arn"])
    for job in jobs:
        wait_step_running(lab.client, job["arn"], MARATHON, 1)
    response = lab.client.stop_run(arn=run["arn"])["run"]
    assert (response["status"], response["result"]) == ("STOPPING", "PENDING"), response
    ats = [stop_instant(lab.client, j["arn"], lab.client.get_job(arn=j["arn"])["job"]) for j in jobs]
    final = wait_run_completed(lab.client, run["arn"], timeout=30)
    assert (final["result"], final["completedJobs"]) == ("STOPPED", 2)
    total = 0
    instants = set()
    for job, at in zip(jobs, ats):
        done = lab.client.get_job(arn=job["arn"])["job"]
        total += check_interrupted(lab.client, done, at)
        instants.add(round(ts(done["started"]) + at, 3))
    assert len(instants) == 1, f"StopRun recorded one instant for every job, not {instants}"
    assert final["deviceMinutes"] == minutes(total)
    assert final["stopped"] == max(lab.client.get_job(arn=j["arn"])["job"]["stopped"] for j in jobs)
