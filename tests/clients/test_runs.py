"""Runs end to end on a simulated fleet, through boto3 and the AWS CLI: ScheduleRun with its
members echoed, the status machine (PENDING_CONCURRENCY, PENDING_DEVICE included), counters
over every test of every suite, results, exact device minutes, DeleteRun, and the errors
ScheduleRun and the run/job reads give for bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from simfarm import (
    JOB_ARN, JOB_SEVERITY, RUN_ARN, STATUS_ORDER, Lab, Scenario, SimTest, check_final_job, counters, device,
    expected_job, minutes, sim_fixture, ts, wait_for, wait_job_status, wait_run_completed, worst,
)
from support import (
    DEVICE_INSTANCE_ARN, GOOD_TEST_SPEC, PROJECT_ARN, error_code, make_ipa, make_zip, unique, unsigned,
    upload_file,
)

ALPHA, BETA, GAMMA, DUO, IPHONE = "Lab Alpha", "Lab Beta", "Lab Gamma", "Lab Duo", "Lab iPhone"
BULK = [f"Bulk {i:02d}" for i in range(17)]
FLEET = [
    device("lab-alpha", ALPHA), device("lab-beta", BETA), device("lab-gamma", GAMMA),
    device("lab-duo", DUO, instances=2), device("lab-iphone", IPHONE, "IOS"),
    *[device(f"bulk-{i:02d}", name, os="13") for i, name in enumerate(BULK)],
]
DEFAULT_MAX_CONCURRENT_JOBS = 16

SHORT = Scenario(setup=1, teardown=1, tests=(SimTest("quick", 2),))


sim = sim_fixture("runs", fleet=FLEET)


@pytest.fixture
def lab(sim):
    return Lab(sim)


def fresh_lab(sim, name: str) -> Lab:
    """A project in an account of its own, so that concurrency slots are not shared."""
    return Lab(sim, sim.create_account(unique(name)))


def assert_run_shape(run: dict, lab: Lab, *, name: str, test_type: str = "APPIUM_WEB_PYTHON",
                     platform: str = "ANDROID", total_jobs: int, billing_method: str = "METERED") -> None:
    m = RUN_ARN.match(run["arn"])
    assert m, run["arn"]
    assert m.group(1) == lab.farm.account_id if lab.account is None else lab.account.id
    assert m.group(2) == PROJECT_ARN.match(lab.arn).group(2)
    assert run["name"] == name
    assert run["type"] == test_type
    assert run["platform"] == platform
    assert isinstance(run["created"], dt.datetime) and run["created"].tzinfo is not None
    assert run["totalJobs"] == total_jobs
    assert run["billingMethod"] == billing_method
    assert set(run["counters"]) == set(counters([]))


# --- a run from schedule to completion --------------------------------------------------


def test_run_completes_with_exact_counters_results_and_minutes(sim, lab, fleet):
    base = Scenario(setup=3.2, teardown=2.5, tests=(
        SimTest("test_login", 4.5), SimTest("test_search", 6, "WARNED", "slow search"), SimTest("test_share", 1.25, "SKIPPED"),
    ))
    beta = Scenario(setup=2, teardown=1.5, tests=(
        SimTest("test_login", 5), SimTest("test_checkout", 7.3, "FAILED", "expected 200, got 500"),
    ))
    scenarios = {ALPHA: base, BETA: beta, GAMMA: base}
    package = lab.package(base, per_device={BETA: beta})
    pool = lab.pool([fleet[n]["arn"] for n in (ALPHA, BETA, GAMMA)])
    name = unique("complete")

    run = lab.web_run(pool, package, name=name)
    assert_run_shape(run, lab, name=name, total_jobs=3)
    assert run["status"] in STATUS_ORDER[:STATUS_ORDER.index("RUNNING")], run["status"]
    assert run["result"] == "PENDING"
    assert run["counters"] == counters(["PENDING"] * (5 + 4 + 5))
    assert run["completedJobs"] == 0
    assert run["deviceMinutes"] == minutes(0)
    assert run["devicePoolArn"] == pool
    assert run["jobTimeoutMinutes"] == 150
    assert "stopped" not in run
    for absent in ("appUpload", "testSpecArn", "deviceSelectionResult", "locale", "radios", "location",
                   "customerArtifactPaths", "message"):
        assert absent not in run, absent

    jobs = lab.jobs(run["arn"])
    assert [j["name"] for j in jobs] == [ALPHA, BETA, GAMMA]
    run_id = RUN_ARN.match(run["arn"]).group(3)
    for index, job in enumerate(jobs):
        m = JOB_ARN.match(job["arn"])
        assert m and m.group(3) == run_id and int(m.group(4)) == index, job["arn"]
        assert job["device"]["arn"] == fleet[job["name"]]["arn"]
        assert job["type"] == "APPIUM_WEB_PYTHON"
        assert job["created"] >= run["created"]

    # Watch every job move through the status machine, never backwards.
    seen = {j["arn"]: [] for j in jobs}
    saw_running_run = False

    def poll():
        nonlocal saw_running_run
        current = sim.client().get_run(arn=run["arn"])["run"]
        saw_running_run |= current["status"] == "RUNNING"
        for j in lab.jobs(run["arn"]):
            if not seen[j["arn"]] or seen[j["arn"]][-1] != j["status"]:
                seen[j["arn"]].append(j["status"])
        return current

    final_run = wait_for(poll, lambda r: r["status"] == "COMPLETED", timeout=90, what="run COMPLETED")
    for arn, statuses in seen.items():
        ranks = [STATUS_ORDER.index(s) for s in statuses]
        assert ranks == sorted(ranks), (arn, statuses)
        assert "STOPPING" not in statuses
        assert statuses[-1] == "COMPLETED"
    assert saw_running_run, "the run is RUNNING while its jobs run"
    assert any("RUNNING" in s for s in seen.values())

    jobs = lab.jobs(run["arn"])
    total_seconds = 0
    for job in jobs:
        scenario = scenarios[job["name"]]
        expected = expected_job(scenario)
        check_final_job(lab.client, job, scenario, expected)
        assert unsigned(job) == unsigned(lab.client.get_job(arn=job["arn"])["job"])
        assert ts(job["stopped"]) - ts(job["started"]) == pytest.approx(scenario.duration, abs=0.002)
        assert job["started"] >= job["created"]
        assert DEVICE_INSTANCE_ARN.match(job["instanceArn"])
        assert job["instanceArn"] in {i["arn"] for i in fleet[job["name"]]["instances"]}
        assert job["videoCapture"] is True and job["videoEndpoint"].startswith("http")
        total_seconds += expected.billed_seconds
    by_name = {j["name"]: j for j in jobs}
    assert by_name[BETA]["result"] == "FAILED" and by_name[BETA]["message"] == "expected 200, got 500"
    assert by_name[ALPHA]["result"] == "WARNED" and by_name[ALPHA]["message"] == "slow search"
    # Base: 4 (3.2 rounds up) + 5 (4.5) + 6 + 2 (1.25) + 3 (2.5) = 20 s; Beta: 2 + 5 + 8 (7.3) + 2 (1.5) = 17 s.
    assert total_seconds == 20 + 17 + 20

    assert_run_shape(final_run, lab, name=name, total_jobs=3)
    assert final_run["result"] == worst([j["result"] for j in jobs], JOB_SEVERITY) == "FAILED"
    assert final_run["completedJobs"] == 3
    assert final_run["deviceMinutes"] == minutes(total_seconds)
    summed = counters([])
    for job in jobs:
        for key in summed:
            summed[key] += job["counters"][key]
    assert final_run["counters"] == summed == {"total": 14, "passed": 9, "failed": 1, "warned": 2, "errored": 0,
                                               "stopped": 0, "skipped": 2}
    assert final_run["started"] == min(j["started"] for j in jobs)
    assert final_run["stopped"] == max(j["stopped"] for j in jobs)
    assert final_run["created"] == run["created"] and final_run["arn"] == run["arn"]
    listed = [r for page in lab.client.get_paginator("list_runs").paginate(arn=lab.arn) for r in page["runs"]]
    assert listed == [final_run]

    # Failure messages grouped by result, each problem naming where it happened.
    problems = lab.client.list_unique_problems(arn=run["arn"])["uniqueProblems"]
    [failed] = problems["FAILED"]
    assert failed["message"] == "expected 200, got 500"
    [problem] = failed["problems"]
    assert problem["run"] == {"arn": run["arn"], "name": name}
    assert problem["job"] == {"arn": by_name[BETA]["arn"], "name": BETA}
    assert problem["suite"] == {"arn": by_name[BETA]["arn"].replace(":job:", ":suite:") + "/00001",
                                "name": "Tests Suite"}
    assert problem["test"] == {"arn": by_name[BETA]["arn"].replace(":job:", ":test:") + "/00001/00001",
                               "name": "test_checkout"}
    assert problem["device"]["arn"] == fleet[BETA]["arn"]
    assert problem["result"] == "FAILED" and problem["message"] == "expected 200, got 500"
    [warned] = problems["WARNED"]
    assert warned["message"] == "slow search"
    assert sorted(p["job"]["name"] for p in warned["problems"]) == [ALPHA, GAMMA]


def test_run_with_app_spec_and_configuration_echoes_every_member(sim, lab, fleet):
    scenario = Scenario(setup=2.5, teardown=1, tests=(SimTest("test_app", 3.1), SimTest("test_more", 2, "FAILED", "nope")))
    app = lab.app()
    package = lab.package(scenario, upload_type="APPIUM_PYTHON_TEST_PACKAGE")
    spec = lab.upload("spec.yml", "APPIUM_PYTHON_TEST_SPEC", GOOD_TEST_SPEC.encode())["arn"]
    pool = lab.pool([fleet[DUO]["arn"]])
    configuration = {
        "billingMethod": "UNMETERED",
        "locale": "fr_FR",
        "location": {"latitude": 47.6204, "longitude": -122.3491},
        "radios": {"wifi": True, "bluetooth": False, "nfc": True, "gps": False},
        "customerArtifactPaths": {"androidPaths": ["/sdcard/screens"], "deviceHostPaths": ["$WORKING_DIRECTORY/out"]},
    }
    run = lab.client.schedule_run(
        projectArn=lab.arn, appArn=app, devicePoolArn=pool, name="with app",
        test={"type": "APPIUM_PYTHON", "testPackageArn": package, "testSpecArn": spec},
        configuration=configuration, executionConfiguration={"jobTimeoutMinutes": 30, "videoCapture": False},
    )["run"]

    def check(r):
        assert_run_shape(r, lab, name="with app", test_type="APPIUM_PYTHON", total_jobs=1, billing_method="UNMETERED")
        assert r["appUpload"] == app
        assert r["testSpecArn"] == spec
        assert r["devicePoolArn"] == pool
        assert r["jobTimeoutMinutes"] == 30
        for key in ("locale", "location", "radios", "customerArtifactPaths"):
            assert r[key] == configuration[key], key

    check(run)
    final = wait_run_completed(lab.client, run["arn"])
    check(final)
    expected = expected_job(scenario)
    assert expected.billed_seconds == 3 + 4 + 2 + 1
    assert final["deviceMinutes"] == minutes(10, "UNMETERED")
    assert final["result"] == "FAILED"
    [job] = lab.jobs(run["arn"])
    check_final_job(lab.client, job, scenario, expected, "UNMETERED")
    assert job["videoCapture"] is False
    assert "videoEndpoint" not in job


def test_device_selection_configuration(sim, lab, fleet):
    package = lab.package(SHORT)
    filters = [{"attribute": "PLATFORM", "operator": "EQUALS", "values": ["ANDROID"]},
               {"attribute": "OS_VERSION", "operator": "GREATER_THAN_OR_EQUALS", "values": ["14"]}]
    run = lab.client.schedule_run(
        projectArn=lab.arn, name="selected", test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package},
        deviceSelectionConfiguration={"filters": filters, "maxDevices": 2},
    )["run"]
    matching = [d for d in fleet.values() if d["platform"] == "ANDROID" and d["os"] == "14"]
    assert len(matching) == 4
    assert run["deviceSelectionResult"] == {"filters": filters, "matchedDevicesCount": 4, "maxDevices": 2}
    assert "devicePoolArn" not in run
    assert run["totalJobs"] == 2
    jobs = lab.jobs(run["arn"])
    assert len(jobs) == 2 and {j["device"]["arn"] for j in jobs} <= {d["arn"] for d in matching}
    final = wait_run_completed(lab.client, run["arn"])
    assert final["deviceSelectionResult"] == run["deviceSelectionResult"]
    assert final["deviceMinutes"] == minutes(2 * SHORT.full_seconds)
    assert final["result"] == "PASSED"


def test_default_scenario_without_a_scenario_file(sim, lab, fleet):
    """No farmhand-sim.yaml: setup 5 s, three passing tests of 10 s, teardown 5 s."""
    package = lab.package(None)
    run = lab.web_run(lab.pool([fleet[GAMMA]["arn"]]), package)
    final = wait_run_completed(lab.client, run["arn"])
    default = Scenario(setup=5, teardown=5, tests=tuple(SimTest(f"t{i}", 10) for i in range(3)))
    assert final["deviceMinutes"] == minutes(40)
    assert final["counters"] == counters(["PASSED"] * 5)
    [job] = lab.jobs(run["arn"])
    assert ts(job["stopped"]) - ts(job["started"]) == pytest.approx(default.duration, abs=0.002)


def test_device_and_instance_are_busy_while_a_job_runs(sim, lab, fleet):
    scenario = Scenario(setup=20, teardown=1, tests=(SimTest("long", 20),))
    run = lab.web_run(lab.pool([fleet[GAMMA]["arn"]]), lab.package(scenario))
    [job] = lab.jobs(run["arn"])
    job = wait_job_status(lab.client, job["arn"], "PREPARING", "RUNNING")
    instance = lab.client.get_device_instance(arn=job["instanceArn"])["deviceInstance"]
    assert instance["status"] == "IN_USE", instance
    assert lab.client.get_device(arn=fleet[GAMMA]["arn"])["device"]["availability"] == "BUSY"
    lab.client.stop_run(arn=run["arn"])
    wait_run_completed(lab.client, run["arn"])
    # Released with the job's end (test_stop_job checks "at once" where the spec demands it).
    wait_for(lambda: lab.client.get_device_instance(arn=job["instanceArn"])["deviceInstance"],
             lambda i: i["status"] == "AVAILABLE", timeout=2, what="instance AVAILABLE again")
    assert lab.client.get_device(arn=fleet[GAMMA]["arn"])["device"]["availability"] != "BUSY"


# --- waiting for a slot or a device -----------------------------------------------------


def test_pending_device_until_the_single_instance_is_free(sim, fleet):
    lab = fresh_lab(sim, "pending-device")
    scenario = Scenario(setup=10, teardown=2, tests=(SimTest("hold", 12),))
    package = lab.package(scenario)
    pool = lab.pool([fleet[ALPHA]["arn"]])
    first = lab.web_run(pool, package)
    [first_job] = lab.jobs(first["arn"])
    wait_job_status(lab.client, first_job["arn"], "PROCESSING", "SCHEDULING", "PREPARING", "RUNNING")
    second = lab.web_run(pool, package)
    [second_job] = lab.jobs(second["arn"])
    waiting = wait_job_status(lab.client, second_job["arn"], "PENDING_DEVICE", timeout=10)
    assert "started" not in waiting and "instanceArn" not in waiting
    assert lab.client.get_run(arn=second["arn"])["run"]["status"] == "PENDING_DEVICE"

    first_final = wait_run_completed(lab.client, first["arn"])
    second_final = wait_run_completed(lab.client, second["arn"])
    a = lab.client.get_job(arn=first_job["arn"])["job"]
    b = lab.client.get_job(arn=second_job["arn"])["job"]
    assert b["started"] >= a["stopped"], "one device instance runs one job at a time"
    for run, job in ((first_final, a), (second_final, b)):
        assert run["deviceMinutes"] == minutes(scenario.full_seconds)
        check_final_job(lab.client, job, scenario, expected_job(scenario))


def test_two_instances_run_two_jobs_at_once(sim, fleet):
    lab = fresh_lab(sim, "two-instances")
    scenario = Scenario(setup=10, teardown=2, tests=(SimTest("hold", 12),))
    package = lab.package(scenario)
    pool = lab.pool([fleet[DUO]["arn"]])
    runs = [lab.web_run(pool, package) for _ in range(2)]
    jobs = [lab.jobs(r["arn"])[0] for r in runs]
    running = [wait_job_status(lab.client, j["arn"], "PREPARING", "RUNNING") for j in jobs]
    assert running[0]["instanceArn"] != running[1]["instanceArn"]
    for r in runs:
        assert wait_run_completed(lab.client, r["arn"])["deviceMinutes"] == minutes(scenario.full_seconds)


def test_unmetered_runs_wait_for_the_platforms_unmetered_slot(sim, fleet):
    """The default account has one unmetered device slot per platform."""
    lab = fresh_lab(sim, "unmetered")
    settings = lab.client.get_account_settings()["accountSettings"]
    assert settings["unmeteredDevices"] == {"ANDROID": 1, "IOS": 1}
    scenario = Scenario(setup=10, teardown=2, tests=(SimTest("hold", 12),))
    pool = lab.pool([fleet[n]["arn"] for n in (BETA, GAMMA, IPHONE)])
    run = lab.web_run(pool, lab.package(scenario), configuration={"billingMethod": "UNMETERED"})
    jobs = {j["name"]: j for j in lab.jobs(run["arn"])}
    # One Android job and the iOS job run at once; the other Android job waits for the slot.
    wait_job_status(lab.client, jobs[IPHONE]["arn"], "PROCESSING", "SCHEDULING", "PREPARING", "RUNNING")

    def android_split(_=None):
        current = [lab.client.get_job(arn=jobs[n]["arn"])["job"]["status"] for n in (BETA, GAMMA)]
        return {"status": ",".join(sorted(current))}

    active = ("PROCESSING", "SCHEDULING", "PREPARING", "RUNNING")
    wait_for(android_split, lambda v: any(f"{s},PENDING_CONCURRENCY" == v["status"] or f"PENDING_CONCURRENCY,{s}" == v["status"]
                                          for s in active),
             timeout=10, what="one Android job active, the other PENDING_CONCURRENCY")
    final = wait_run_completed(lab.client, run["arn"])
    assert final["deviceMinutes"] == minutes(3 * scenario.full_seconds, "UNMETERED")
    done = {j["name"]: j for j in lab.jobs(run["arn"])}
    first, second = sorted((done[BETA], done[GAMMA]), key=lambda j: j["started"])
    assert second["started"] >= first["stopped"]
    assert done[IPHONE]["started"] < first["stopped"]


def test_metered_runs_wait_for_the_accounts_concurrency(sim, fleet):
    """Default max concurrent jobs (16): a 17-device run keeps one job PENDING_CONCURRENCY.
    (No way yet to lower an account's max_concurrent_jobs from outside, so the pool is big.)"""
    lab = fresh_lab(sim, "metered-concurrency")
    scenario = Scenario(setup=10, teardown=2, tests=(SimTest("hold", 12),))
    pool = lab.pool([fleet[n]["arn"] for n in BULK])
    run = lab.web_run(pool, lab.package(scenario))
    assert run["totalJobs"] == len(BULK) == DEFAULT_MAX_CONCURRENT_JOBS + 1

    def statuses(_=None):
        return {"status": [j["status"] for j in lab.jobs(run["arn"])]}

    seen = wait_for(statuses, lambda v: v["status"].count("PENDING_CONCURRENCY") == 1
                    and sum(s in ("PROCESSING", "SCHEDULING", "PREPARING", "RUNNING") for s in v["status"]) == 16,
                    timeout=15, what="16 active jobs and one PENDING_CONCURRENCY")
    assert len(seen["status"]) == 17
    final = wait_run_completed(lab.client, run["arn"], timeout=120)
    assert final["deviceMinutes"] == minutes(17 * scenario.full_seconds)
    jobs = lab.jobs(run["arn"])
    last = max(jobs, key=lambda j: j["started"])
    assert last["started"] >= min(j["stopped"] for j in jobs if j is not last)


# --- DeleteRun ------------------------------------------------------------------------


def test_delete_run_refused_while_active_then_works(sim, lab, fleet):
    scenario = Scenario(setup=4, teardown=1, tests=(SimTest("t", 4),))
    run = lab.web_run(lab.pool([fleet[BETA]["arn"]]), lab.package(scenario))
    [job] = lab.jobs(run["arn"])
    with pytest.raises(ClientError) as e:
        lab.client.delete_run(arn=run["arn"])
    assert error_code(e.value) in ("ArgumentException", "CannotDeleteException"), e.value.response
    assert lab.client.get_run(arn=run["arn"])["run"]["arn"] == run["arn"]
    wait_run_completed(lab.client, run["arn"])
    lab.client.delete_run(arn=run["arn"])
    for call in (lambda: lab.client.get_run(arn=run["arn"]), lambda: lab.client.get_job(arn=job["arn"]),
                 lambda: lab.client.list_jobs(arn=run["arn"]), lambda: lab.client.delete_run(arn=run["arn"])):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "NotFoundException"
    runs = lab.client.list_runs(arn=lab.arn)["runs"]
    assert run["arn"] not in {r["arn"] for r in runs}


# --- errors ---------------------------------------------------------------------------


def expect_error(code: str, call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    assert error_code(e.value) == code, e.value.response
    return e.value.response["Error"].get("Message", "")


@pytest.fixture(scope="module")
def finished_run(sim, fleet):
    """A completed run of the root account, for the read and error tests."""
    lab = Lab(sim, name="finished")
    run = lab.web_run(lab.pool([fleet[GAMMA]["arn"]]), lab.package(SHORT))
    wait_run_completed(lab.client, run["arn"])
    return lab, run, lab.jobs(run["arn"])[0]


@pytest.mark.parametrize("arn", [
    "not-an-arn-at-all-but-long-enough-to-pass-min",
    "arn:aws:s3:::a-bucket-name-that-is-long-enough",
    "arn:aws:devicefarm:x",
    "a" * 1012,
])
def test_malformed_arns_are_argument_exception(sim, arn):
    """botocore checks lengths itself, so these go out as raw signed requests."""
    for operation in ("GetJob", "StopJob", "GetRun", "StopRun", "DeleteRun", "ListJobs", "ListSuites", "GetSuite",
                      "ListTests", "GetTest", "ListUniqueProblems"):
        response = sim.call(operation, {"arn": arn})
        assert response.status_code == 400, (operation, response.text)
        assert response.json()["__type"] == "ArgumentException", (operation, response.text)
    response = sim.call("ScheduleRun", {"projectArn": arn, "devicePoolArn": arn, "test": {"type": "APPIUM_WEB_PYTHON"}})
    assert response.status_code == 400 and response.json()["__type"] == "ArgumentException", response.text


def test_arn_of_another_kind_is_refused(sim, finished_run):
    lab, run, job = finished_run
    for operation, arn in (("GetJob", run["arn"]), ("StopJob", run["arn"]), ("GetRun", job["arn"]),
                           ("StopRun", job["arn"]), ("ListJobs", job["arn"]), ("DeleteRun", lab.arn)):
        response = sim.call(operation, {"arn": arn})
        assert response.status_code == 400, (operation, response.text)
        assert response.json()["__type"] in ("ArgumentException", "NotFoundException"), (operation, response.text)
    assert lab.client.get_run(arn=run["arn"])["run"]["status"] == "COMPLETED"


def test_unknown_and_other_accounts_arns_are_not_found(sim, finished_run):
    lab, run, job = finished_run
    other = sim.client(sim.create_account(unique("intruder")))
    suite = job["arn"].replace(":job:", ":suite:") + "/00001"
    test = suite.replace(":suite:", ":test:") + "/00000"
    targets = {
        "get_run": run["arn"], "stop_run": run["arn"], "delete_run": run["arn"], "list_jobs": run["arn"],
        "get_job": job["arn"], "stop_job": job["arn"], "list_suites": job["arn"],
        "get_suite": suite, "list_tests": suite, "get_test": test,
    }
    for operation, arn in targets.items():
        expect_error("NotFoundException", getattr(other, operation), arn=arn)
    missing_run = run["arn"][:-12] + "000000000000"
    for operation, arn in {
        "get_run": missing_run, "stop_run": missing_run, "list_jobs": missing_run,
        "get_job": job["arn"][:-5] + "00099", "stop_job": job["arn"][:-5] + "00099",
        "get_suite": suite[:-5] + "00007", "get_test": test[:-5] + "00042",
    }.items():
        expect_error("NotFoundException", getattr(lab.client, operation), arn=arn)
    # The owner still sees everything unchanged.
    assert lab.client.get_run(arn=run["arn"])["run"]["status"] == "COMPLETED"
    assert lab.client.get_job(arn=job["arn"])["job"]["result"] == "PASSED"


@pytest.fixture(scope="module")
def uploads(sim):
    lab = Lab(sim, name="uploads")
    other_project = Lab(sim, name="other-project")
    created = lab.client.create_upload(projectArn=lab.arn, name="never-sent.apk", type="ANDROID_APP")["upload"]
    broken = upload_file(lab.client, lab.arn, "broken.apk", "ANDROID_APP", make_zip({"classes.dex": b"dex"}))
    assert broken["status"] == "FAILED"
    return {
        "lab": lab,
        "app": lab.app(),
        "ipa": lab.upload("app.ipa", "IOS_APP", make_ipa())["arn"],
        "package": lab.package(SHORT, upload_type="APPIUM_PYTHON_TEST_PACKAGE"),
        "web_package": lab.package(SHORT),
        "junit_package": lab.package(SHORT, upload_type="APPIUM_JAVA_JUNIT_TEST_PACKAGE"),
        "xctest_package": lab.package(SHORT, upload_type="XCTEST_TEST_PACKAGE"),
        "initialized": created["arn"],
        "failed": broken["arn"],
        "foreign_app": other_project.app(),
        "foreign_package": other_project.package(SHORT, upload_type="APPIUM_PYTHON_TEST_PACKAGE"),
    }


def test_schedule_run_argument_errors(sim, fleet, uploads):
    lab: Lab = uploads["lab"]
    client = lab.client
    android_pool = lab.pool([fleet[ALPHA]["arn"], fleet[BETA]["arn"]])
    python = lambda package=uploads["package"]: {"type": "APPIUM_PYTHON", "testPackageArn": package}  # noqa: E731
    base = {"projectArn": lab.arn, "devicePoolArn": android_pool}
    settings = client.get_account_settings()["accountSettings"]

    cases = {
        "app not uploaded yet (INITIALIZED)": dict(base, appArn=uploads["initialized"], test=python()),
        "app whose processing FAILED": dict(base, appArn=uploads["failed"], test=python()),
        "test package given as the app": dict(base, appArn=uploads["package"], test=python()),
        "app given as the test package": dict(base, appArn=uploads["app"], test=python(uploads["app"])),
        "package of another framework": dict(base, appArn=uploads["app"], test=python(uploads["junit_package"])),
        "app of another project": dict(base, appArn=uploads["foreign_app"], test=python()),
        "package of another project": dict(base, appArn=uploads["app"], test=python(uploads["foreign_package"])),
        "no appArn for a native test type": dict(base, test=python()),
        "no test package": dict(base, appArn=uploads["app"], test={"type": "APPIUM_PYTHON"}),
        "both pool and selection": dict(base, appArn=uploads["app"], test=python(), deviceSelectionConfiguration={
            "filters": [{"attribute": "PLATFORM", "operator": "EQUALS", "values": ["ANDROID"]}], "maxDevices": 1}),
        "neither pool nor selection": {"projectArn": lab.arn, "appArn": uploads["app"], "test": python()},
        "XCTEST on an Android-only pool": dict(base, appArn=uploads["ipa"],
                                               test={"type": "XCTEST", "testPackageArn": uploads["xctest_package"]}),
        "selection that matches nothing": {"projectArn": lab.arn, "test": {"type": "APPIUM_WEB_PYTHON", "testPackageArn": uploads["web_package"]},
                                           "deviceSelectionConfiguration": {"filters": [{"attribute": "MANUFACTURER", "operator": "EQUALS", "values": ["Nokia"]}], "maxDevices": 3}},
        "jobTimeoutMinutes above the account max": dict(base, appArn=uploads["app"], test=python(),
                                                        executionConfiguration={"jobTimeoutMinutes": settings["maxJobTimeoutMinutes"] + 1}),
    }
    failures = []
    for what, request in cases.items():
        try:
            client.schedule_run(**request)
            failures.append(f"{what}: accepted")
        except ClientError as e:
            if error_code(e) != "ArgumentException":
                failures.append(f"{what}: {error_code(e)} {e.response['Error'].get('Message')}")
    assert not failures, failures
    assert client.list_runs(arn=lab.arn)["runs"] == [], "no refused request left a run behind"

    # The same uploads in a correct request are accepted (so each case failed for its own reason).
    ok = client.schedule_run(**dict(base, appArn=uploads["app"], test=python(),
                                    executionConfiguration={"jobTimeoutMinutes": settings["maxJobTimeoutMinutes"]}))["run"]
    assert ok["jobTimeoutMinutes"] == settings["maxJobTimeoutMinutes"]
    client.stop_run(arn=ok["arn"])
    wait_run_completed(client, ok["arn"])


def test_schedule_run_in_unknown_or_foreign_project_is_not_found(sim, fleet, uploads):
    lab: Lab = uploads["lab"]
    other = sim.client(sim.create_account(unique("outsider")))
    test = {"type": "APPIUM_WEB_PYTHON", "testPackageArn": uploads["web_package"]}
    expect_error("NotFoundException", other.schedule_run, projectArn=lab.arn, devicePoolArn=lab.pool([fleet[ALPHA]["arn"]]),
                 test=test)
    missing = lab.arn[:-12] + "000000000000"
    expect_error("NotFoundException", lab.client.schedule_run, projectArn=missing,
                 devicePoolArn=lab.pool([fleet[ALPHA]["arn"]]), test=test)


# --- the AWS CLI ----------------------------------------------------------------------


def test_aws_cli_schedule_get_stop_list(sim, fleet):
    lab = Lab(sim, name="cli")
    # Long tests: three AWS CLI calls (a second or more each on a busy machine) come between
    # scheduling and the stop, which must find the job still going.
    scenario = Scenario(setup=30, teardown=2, tests=(SimTest("one", 300), SimTest("two", 300)))
    package = lab.package(scenario)
    pool = lab.pool([fleet[BETA]["arn"]])
    run = sim.aws("schedule-run", "--project-arn", lab.arn, "--device-pool-arn", pool, "--name", "from the cli",
                  "--test", json.dumps({"type": "APPIUM_WEB_PYTHON", "testPackageArn": package}))["run"]
    assert RUN_ARN.match(run["arn"]) and run["name"] == "from the cli" and run["totalJobs"] == 1
    got = sim.aws("get-run", "--arn", run["arn"])["run"]
    assert got["arn"] == run["arn"] and got["devicePoolArn"] == pool
    [job] = sim.aws("list-jobs", "--arn", run["arn"])["jobs"]
    assert job["name"] == BETA and JOB_ARN.match(job["arn"])
    wait_job_status(lab.client, job["arn"], "PREPARING", "RUNNING")
    stopped = sim.aws("stop-job", "--arn", job["arn"])["job"]
    assert stopped["arn"] == job["arn"] and stopped["status"] in ("STOPPING", "COMPLETED")
    final = wait_run_completed(lab.client, run["arn"])
    assert final["result"] == "STOPPED"
    [job] = sim.aws("list-jobs", "--arn", run["arn"])["jobs"]
    assert (job["status"], job["result"]) == ("COMPLETED", "STOPPED")
    assert sim.aws("get-run", "--arn", run["arn"])["run"]["deviceMinutes"] == final["deviceMinutes"]
