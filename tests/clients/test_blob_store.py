"""`serve --blob-store s3://…`: uploaded files and stored artifacts go to an S3-compatible
bucket (moto here) instead of DATA_DIR/blobs, so several replicas on one PostgreSQL database
can serve them. Clients see no difference: presigned PUT, SUCCEEDED uploads, downloadable
artifacts. The bucket is checked from outside with boto3, by content, not by key layout.
"""

from __future__ import annotations

import io
import urllib.parse
import zipfile
from pathlib import Path

import boto3
import pytest
import requests

from harness import new_access_key, running
from simfarm import (Lab, Scenario, SimTest, device, devices_by_name, host_device, scenario_yaml, sim_server,
                     spec_yaml, wait_run_completed)
from support import make_zip, put_file, unique, wait_upload

# What the operator would export for the server; moto takes any key.
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "farmhandblobs", "AWS_SECRET_ACCESS_KEY": "farmhand-blobs-secret"}
PREFIX = "farmhand/blobs"
HOST = host_device("blob-host", "Blob Host")
SIMULATED = device("blob-sim", "Blob Sim")
FLEET = [HOST, SIMULATED]
SCENARIO = Scenario(setup=1, teardown=1, tests=(SimTest("opens", 2),))


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def bucket(s3) -> str:
    name = unique("farmhand-blobs")
    s3.create_bucket(Bucket=name)
    return name


def blob_store_url(endpoint: str, bucket: str) -> str:
    return f"s3://{bucket}/{PREFIX}?endpoint={endpoint}&region=us-east-1"


def blob_server(data_dir: Path, endpoint: str, bucket: str, *, root_key=None, database_url=None):
    # The bucket's credentials reach the server through its environment, the way an operator
    # gives them (the harness hands servers no AWS_* variable of the caller's).
    return sim_server(data_dir, fleet=FLEET, root_key=root_key, database_url=database_url,
                      extra_args=["--blob-store", blob_store_url(endpoint, bucket)], env=S3_CREDENTIALS)


def bucket_contents(s3, bucket: str) -> dict[str, bytes]:
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def host_spec() -> bytes:
    return spec_yaml(test=["echo host-output-line", "echo kept-by-the-host > $DEVICEFARM_LOG_DIR/host.log"],
                     artifacts=["$DEVICEFARM_LOG_DIR"]).encode()


def schedule(lab: Lab, package_arn: str, spec_arn: str, device_names: list[str]) -> dict:
    by_name = devices_by_name(lab.client)
    pool = lab.pool([by_name[name]["arn"] for name in device_names])
    return lab.client.schedule_run(
        projectArn=lab.arn, devicePoolArn=pool, name=unique("blob-run"),
        test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package_arn, "testSpecArn": spec_arn},
    )["run"]


def artifacts_by_type(client, job_arn: str) -> dict[str, dict]:
    return {a["type"]: a for kind in ("FILE", "LOG", "SCREENSHOT")
            for a in client.list_artifacts(arn=job_arn, type=kind)["artifacts"]}


def zip_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_uploads_and_stored_artifacts_live_in_the_bucket(tmp_path, s3_endpoint, s3, bucket):
    with running(blob_server(tmp_path / "farm", s3_endpoint, bucket)) as server:
        lab = Lab(server)
        package_bytes = make_zip({"tests/test_sim.py": "def test_sim():\n    pass\n",
                                  "farmhand-sim.yaml": scenario_yaml(SCENARIO)})
        package = lab.upload("tests.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE", package_bytes)
        spec = lab.upload("spec.yml", "APPIUM_WEB_PYTHON_TEST_SPEC", host_spec())
        stored = bucket_contents(s3, bucket)
        assert package_bytes in stored.values() and host_spec() in stored.values(), sorted(stored)

        run = schedule(lab, package["arn"], spec["arn"], ["Blob Sim", "Blob Host"])
        wait_run_completed(lab.client, run["arn"], timeout=120)
        jobs = {j["device"]["name"]: j for j in lab.jobs(run["arn"])}
        assert {name: j["result"] for name, j in jobs.items()} == {"Blob Sim": "PASSED", "Blob Host": "PASSED"}

        # The simulated job's artifacts are rendered; its scenario came out of the bucket.
        sim = artifacts_by_type(lab.client, jobs["Blob Sim"]["arn"])
        assert "started: opens" in requests.get(sim["DEVICE_LOG"]["url"], timeout=10).text

        host = artifacts_by_type(lab.client, jobs["Blob Host"]["arn"])
        output = requests.get(host["TESTSPEC_OUTPUT"]["url"], timeout=10)
        assert output.status_code == 200 and "host-output-line" in output.text
        customer = requests.get(host["CUSTOMER_ARTIFACT"]["url"], timeout=10)
        assert customer.status_code == 200
        assert any(name.endswith("host.log") for name in zip_names(customer.content))

        stored = bucket_contents(s3, bucket)
        assert customer.content in stored.values() and output.content in stored.values(), sorted(stored)
        assert all(key.startswith(PREFIX + "/") for key in stored), sorted(stored)
        assert files_under(server.data_dir / "blobs") == []


def via(replica, url: str, original) -> tuple[str, dict]:
    """`url`, handed out by `original`, sent to `replica` instead, as a load balancer in front
    of both would forward it: same path, query and Host header (a presigned URL signs its host)."""
    assert url.startswith(original.endpoint + "/"), url
    return replica.endpoint + url[len(original.endpoint):], {"Host": urllib.parse.urlsplit(original.endpoint).netloc}


@pytest.fixture
def replicas(tmp_path, s3_endpoint, bucket, pg_database):
    """Two servers on one PostgreSQL database, as replicas must be, and one bucket."""
    root_key = new_access_key()
    started = []
    try:
        for name in ("a", "b"):
            server = blob_server(tmp_path / name, s3_endpoint, bucket, root_key=root_key,
                                 database_url=pg_database.url)
            started.append(server.start())
        yield started
        for server in started:
            assert server.stop() == 0, server.log_tail()
    finally:
        for server in started:
            server.kill()


def test_replicas_share_uploads_and_artifacts_through_the_bucket(replicas, s3, bucket):
    a, b = replicas
    lab = Lab(a)
    client_b = b.client()

    # CreateUpload on A, PUT to the URL A returned: B sees the upload SUCCEEDED.
    package_bytes = make_zip({"tests/test_host.py": "def test_host():\n    pass\n"})
    package = lab.client.create_upload(projectArn=lab.arn, name="tests.zip", type="APPIUM_WEB_PYTHON_TEST_PACKAGE")
    assert put_file(package["upload"]["url"], package_bytes).status_code == 200
    assert wait_upload(client_b, package["upload"]["arn"])["status"] == "SUCCEEDED"

    # CreateUpload on A, the PUT answered by B: the URL signing key is the database's, not A's.
    spec = lab.client.create_upload(projectArn=lab.arn, name="spec.yml", type="APPIUM_WEB_PYTHON_TEST_SPEC")
    url, headers = via(b, spec["upload"]["url"], a)
    response = requests.put(url, data=host_spec(), headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert wait_upload(client_b, spec["upload"]["arn"])["status"] == "SUCCEEDED"
    assert wait_upload(lab.client, spec["upload"]["arn"])["status"] == "SUCCEEDED"
    stored = bucket_contents(s3, bucket)
    assert package_bytes in stored.values() and host_spec() in stored.values(), sorted(stored)

    # The job runs on whichever replica holds the scheduler lease and needs both files, one
    # stored through each replica; its artifacts then download through either.
    run = schedule(lab, package["upload"]["arn"], spec["upload"]["arn"], ["Blob Host"])
    wait_run_completed(client_b, run["arn"], timeout=120)
    (job,) = lab.jobs(run["arn"])
    assert job["result"] == "PASSED", job
    artifacts = artifacts_by_type(lab.client, job["arn"])
    through_b = {}
    for kind in ("TESTSPEC_OUTPUT", "CUSTOMER_ARTIFACT"):
        from_a = requests.get(artifacts[kind]["url"], timeout=10)
        url, headers = via(b, artifacts[kind]["url"], a)
        from_b = requests.get(url, headers=headers, timeout=10)
        assert (from_a.status_code, from_b.status_code) == (200, 200), (kind, from_b.text)
        assert from_b.content == from_a.content, kind
        through_b[kind] = from_b.content
    assert b"host-output-line" in through_b["TESTSPEC_OUTPUT"]
    assert any(name.endswith("host.log") for name in zip_names(through_b["CUSTOMER_ARTIFACT"]))
    stored = bucket_contents(s3, bucket)
    assert all(content in stored.values() for content in through_b.values()), sorted(stored)
    for replica in (a, b):
        assert files_under(replica.data_dir / "blobs") == [], replica.data_dir
