"""ScheduleRun with `--blob-store s3://…`: the simulated devices' scenario comes from what
upload processing kept beside the package, not from a fresh copy of the package each run.
No copy of a package is left in the server's temporary directory (TMPDIR, pointed at a
directory of the test) or its data directory, and runs scheduled at the same moment on the
same package each get the plans their scenario gives, also for a package uploaded before
the scenario was kept (simulated by removing the kept blob from the bucket).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

import harness
from simfarm import Lab, Scenario, SimTest, device, devices_by_name, job_tree, scenario_yaml, sim_server, \
    wait_run_completed
from support import make_zip, unique

S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "farmhandscratch", "AWS_SECRET_ACCESS_KEY": "farmhand-scratch-secret"}
PREFIX = "farmhand/blobs"
# Where upload processing keeps a package's scenario: beside the package, under its key.
KEPT_SUFFIX = ".sim-scenario"
FLEET = [device("scratch-one", "Scratch One", instances=4), device("scratch-two", "Scratch Two", instances=4)]
BASE = Scenario(setup=1, teardown=1, tests=(SimTest("everyone_runs_this", 1),))
SECOND_ONLY = Scenario(setup=1, teardown=1, tests=(SimTest("only_two", 1), SimTest("also_two", 0.5)))
EXPECTED_TESTS = {"Scratch One": ["everyone_runs_this"], "Scratch Two": ["only_two", "also_two"]}
# Incompressible, so the package is a few MiB even zipped: a copy of it is worth finding,
# and copying it takes long enough for overlapping runs to overlap.
PAYLOAD = os.urandom(3 * 1024 * 1024)


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def bucket(s3) -> str:
    name = unique("farmhand-scratch")
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def scratch(tmp_path) -> Path:
    directory = tmp_path / "server-tmp"
    directory.mkdir()
    return directory


@pytest.fixture
def farm(tmp_path, s3_endpoint, bucket, scratch):
    server = sim_server(tmp_path / "farm", fleet=FLEET)
    server.extra_args += ["--blob-store", f"s3://{bucket}/{PREFIX}?endpoint={s3_endpoint}&region=us-east-1"]
    plain = harness.clean_env
    with pytest.MonkeyPatch.context() as patch:
        # The bucket's credentials, and a temporary directory this test can look into.
        patch.setattr(harness, "clean_env", lambda: {**plain(), **S3_CREDENTIALS, "TMPDIR": str(scratch)})
        server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def package_bytes() -> bytes:
    return make_zip({"tests/test_sim.py": "def test_sim():\n    pass\n", "tests/payload.bin": PAYLOAD,
                     "farmhand-sim.yaml": scenario_yaml(BASE, {"Scratch Two": SECOND_ONLY})})


@pytest.fixture
def package(lab, package_bytes) -> str:
    return lab.upload("tests.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE", package_bytes)["arn"]


@pytest.fixture
def pool(lab) -> str:
    by_name = devices_by_name(lab.client)
    return lab.pool([by_name[d["name"]]["arn"] for d in FLEET])


def files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def assert_no_package_copies(farm, scratch: Path, package_bytes: bytes) -> None:
    assert files_in(scratch) == [], "left in the server's temporary directory"
    copies = [p for p in files_in(farm.data_dir) + files_in(scratch)
              if p.stat().st_size == len(package_bytes) and p.read_bytes() == package_bytes]
    assert copies == [], "copies of the package"


def kept_keys(s3, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX + "/")
    return [o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(KEPT_SUFFIX)]


def forget_kept_scenario(s3, bucket: str) -> None:
    """Makes the package look like one uploaded before scenarios were kept."""
    (key,) = kept_keys(s3, bucket)
    s3.delete_object(Bucket=bucket, Key=key)
    assert kept_keys(s3, bucket) == []


def assert_planned_by_the_scenario(client, run_arn: str) -> None:
    wait_run_completed(client, run_arn, timeout=120)
    jobs = [j for page in client.get_paginator("list_jobs").paginate(arn=run_arn) for j in page["jobs"]]
    tests_by_device = {}
    for job in jobs:
        suites = {suite["name"]: tests for suite, tests in job_tree(client, job["arn"])}
        tests_by_device[job["device"]["name"]] = [t["name"] for t in suites["Tests Suite"]]
        assert job["result"] == "PASSED", job
    assert tests_by_device == EXPECTED_TESTS


def schedule_together(farm, lab: Lab, pool: str, package: str, count: int) -> list[str]:
    """`count` ScheduleRuns sent at the same moment, each from a client of its own."""
    clients = [farm.client() for _ in range(count)]
    start = threading.Barrier(count)

    def schedule(client) -> str:
        start.wait(timeout=30)
        return client.schedule_run(projectArn=lab.arn, devicePoolArn=pool, name=unique("together"),
                                   test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package})["run"]["arn"]

    with ThreadPoolExecutor(max_workers=count) as pool_of_threads:
        return list(pool_of_threads.map(schedule, clients))


def test_schedule_runs_leave_no_copy_of_the_package(farm, lab, s3, bucket, scratch, package_bytes, package, pool):
    # Upload processing read the package through a copy of its own; that copy is gone too.
    assert_no_package_copies(farm, scratch, package_bytes)

    for _ in range(3):
        run = lab.web_run(pool, package)
        assert_planned_by_the_scenario(lab.client, run["arn"])
    assert_no_package_copies(farm, scratch, package_bytes)
    assert len(kept_keys(s3, bucket)) == 1

    # A package uploaded before scenarios were kept is read from the bucket once more,
    # through a copy that does not stay, and its scenario is kept for the next runs.
    forget_kept_scenario(s3, bucket)
    run = lab.web_run(pool, package)
    assert_planned_by_the_scenario(lab.client, run["arn"])
    assert_no_package_copies(farm, scratch, package_bytes)
    assert len(kept_keys(s3, bucket)) == 1


@pytest.mark.parametrize("kept", [True, False], ids=["kept-scenario", "package-read-again"])
def test_concurrent_schedule_runs_of_one_package_each_get_their_plans(farm, lab, s3, bucket, scratch, package_bytes,
                                                                      package, pool, kept):
    for _ in range(2):
        if not kept:
            forget_kept_scenario(s3, bucket)
        runs = schedule_together(farm, lab, pool, package, count=4)
        for run_arn in runs:
            assert_planned_by_the_scenario(lab.client, run_arn)
    assert_no_package_copies(farm, scratch, package_bytes)


def test_deleting_a_package_or_its_project_removes_what_was_kept(farm, lab, s3, bucket, package_bytes, package):
    assert len(kept_keys(s3, bucket)) == 1
    lab.client.delete_upload(arn=package)
    assert kept_keys(s3, bucket) == []

    other = Lab(farm)
    other.upload("tests.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE", package_bytes)
    assert len(kept_keys(s3, bucket)) == 1
    other.client.delete_project(arn=other.arn)
    assert kept_keys(s3, bucket) == []
