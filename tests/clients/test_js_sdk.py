"""The AWS SDK for JavaScript v3 (@aws-sdk/client-device-farm, pinned in tests/js) against a
real server: tests/js/main_flow.test.mjs runs the main flow under `node --test`, configured
only through the environment a user would set, then this side reads back what that SDK saw
and compares it, field by field, with what boto3 gets for the same run, job and artifacts.

`scripts/test` installs tests/js (npm ci from its lock) before the client suite; a missing
node or install fails here with what to do, never skips in CI.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import urllib.parse

import pytest

from harness import REPO
from simfarm import Scenario, SimTest, device, devices_by_name, sim_fixture
from support import make_zip

JS_DIR = REPO / "tests/js"
SDK = JS_DIR / "node_modules/@aws-sdk/client-device-farm/package.json"
# A test long enough (10 simulated minutes) that only the stop ends it within the poll's patience.
SCENARIO = Scenario(setup=2, teardown=3, tests=(SimTest("long", 600), SimTest("after", 5)))
NAME = "JS phone"


sim = sim_fixture("js-sdk", fleet=[{**device("js-phone", NAME), "remote_access_enabled": True}], stop_grace=2)


def comparable(value):
    """boto3's view with datetimes as the epoch seconds the JS side wrote."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


# Presigned URLs: each answer signs its own, so two reads a second apart differ in the
# signature's time (and so its credential scope and signature); the rest must be the same.
PRESIGNED = {"url", "videoEndpoint"}
SIGNING_PARAMS = {"X-Amz-Date", "X-Amz-Credential", "X-Amz-Signature"}


def unsigned(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k not in SIGNING_PARAMS]
    return parts._replace(query="").geturl(), query


def assert_same(js: dict, py: dict, what: str) -> None:
    py = comparable(py)
    assert set(js) == set(py), f"{what}: fields differ: only JS {set(js) - set(py)}, only boto3 {set(py) - set(js)}"
    for key in py:
        if key in PRESIGNED and isinstance(py[key], str):
            assert unsigned(js[key]) == unsigned(py[key]), f"{what}.{key}: JS {js[key]} boto3 {py[key]}"
        elif isinstance(py[key], float) and isinstance(js[key], (int, float)):
            assert abs(js[key] - py[key]) < 0.0015, f"{what}.{key}: JS {js[key]} boto3 {py[key]}"
        else:
            assert js[key] == py[key], f"{what}.{key}: JS {js[key]!r} boto3 {py[key]!r}"


def test_javascript_sdk_main_flow_matches_boto3(sim, tmp_path):
    node = shutil.which("node")
    if not node or not SDK.exists():
        if os.environ.get("CI") != "true" and os.environ.get("FARMHAND_SKIP_JS") == "1":
            pytest.skip("FARMHAND_SKIP_JS=1")
        pytest.fail(f"needs node and `npm ci` in {JS_DIR} (scripts/test does both)")
    package = tmp_path / "tests.zip"
    package.write_bytes(make_zip({"tests/test_sim.py": "def test_sim():\n    pass\n",
                                  "farmhand-sim.yaml": SCENARIO.body_yaml()}))
    out = tmp_path / "seen.json"
    device_arn = devices_by_name(sim.client())[NAME]["arn"]
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL_DEVICE_FARM": sim.endpoint, "AWS_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": sim.access_key_id, "AWS_SECRET_ACCESS_KEY": sim.secret_access_key,
        "FARMHAND_DEVICE_ARN": device_arn, "FARMHAND_TEST_PACKAGE": str(package), "FARMHAND_JS_OUT": str(out),
    }
    done = subprocess.run([node, "--test", "--test-reporter=spec", str(JS_DIR / "main_flow.test.mjs")],
                          cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"node --test failed\n{done.stdout}\n{done.stderr}\n{sim.log_tail()}"
    seen = json.loads(out.read_text())

    client = sim.client()
    assert_same(seen["run"], client.get_run(arn=seen["run"]["arn"])["run"], "run")
    assert_same(seen["job"], client.get_job(arn=seen["job"]["arn"])["job"], "job")
    assert_same(seen["upload"], client.get_upload(arn=seen["upload"]["arn"])["upload"], "upload")
    # StopJob's answer is the whole job, as boto3 parses the same shape.
    assert set(seen["stopResponse"]) <= set(comparable(client.get_job(arn=seen["job"]["arn"])["job"]))
    assert_same(seen["remote"], client.get_remote_access_session(arn=seen["remote"]["arn"])["remoteAccessSession"],
                "remote access session")
    for kind, artifacts in seen["artifacts"].items():
        listed = client.list_artifacts(arn=seen["job"]["arn"], type=kind)["artifacts"]
        by_arn = {a["arn"]: a for a in listed}
        assert set(by_arn) == {a["arn"] for a in artifacts}, kind
        for artifact in artifacts:
            assert_same(artifact, by_arn[artifact["arn"]], f"artifact {artifact['name']}")
