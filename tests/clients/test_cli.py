"""The AWS CLI, unchanged, pointed at farmhand: the README's walkthrough command by command."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import time

from support import PROJECT_ARN, UPLOAD_ARN, make_apk, put_file, unique


def as_datetime(value) -> dt.datetime:
    """CLI v1 prints timestamps as received (epoch seconds); a configured format gives ISO 8601."""
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return dt.datetime.fromisoformat(value)


def poll_upload(server, arn: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        upload = server.aws("get-upload", "--arn", arn)["upload"]
        if upload["status"] in ("SUCCEEDED", "FAILED") or time.monotonic() > deadline:
            return upload
        time.sleep(0.2)


def test_create_project(server):
    name = unique("cli")
    project = server.aws("create-project", "--name", name)["project"]
    assert PROJECT_ARN.match(project["arn"]).group(1) == server.account_id
    assert project["name"] == name
    assert project["defaultJobTimeoutMinutes"] == 150
    assert abs((dt.datetime.now(dt.timezone.utc) - as_datetime(project["created"])).total_seconds()) < 300
    got = server.aws("get-project", "--arn", project["arn"])["project"]
    assert got == project


def test_endpoint_from_the_exported_variable(server):
    name = unique("env-endpoint")
    project = server.aws("create-project", "--name", name, endpoint_from_env=True)["project"]
    assert project["name"] == name


def test_list_devices_with_filters(server):
    everything = server.aws("list-devices")["devices"]
    android = server.aws("list-devices", "--filters", "attribute=PLATFORM,operator=EQUALS,values=ANDROID")["devices"]
    assert android, "the demo fleet has Android devices"
    assert all(d["platform"] == "ANDROID" for d in android)
    assert {d["arn"] for d in android} == {d["arn"] for d in everything if d["platform"] == "ANDROID"}
    tablets = server.aws(
        "list-devices", "--filters", "attribute=PLATFORM,operator=EQUALS,values=IOS",
        "attribute=FORM_FACTOR,operator=EQUALS,values=TABLET",
    )["devices"]
    assert tablets and all(d["platform"] == "IOS" and d["formFactor"] == "TABLET" for d in tablets)
    boto = [d for page in server.client().get_paginator("list_devices").paginate() for d in page["devices"]]
    assert boto == everything, "the CLI and boto3 see the same fleet"


def test_create_upload_put_with_curl_and_poll(server, tmp_path):
    project = server.aws("create-project", "--name", unique("cli-upload"))["project"]["arn"]
    upload = server.aws("create-upload", "--project-arn", project, "--name", "app.apk", "--type", "ANDROID_APP")["upload"]
    assert UPLOAD_ARN.match(upload["arn"])
    assert upload["status"] == "INITIALIZED"
    apk = tmp_path / "app.apk"
    apk.write_bytes(make_apk("com.example.cli"))
    curl = shutil.which("curl")
    if curl:
        result = subprocess.run([curl, "-sS", "-f", "-T", str(apk), upload["url"]], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
    else:
        assert put_file(upload["url"], apk.read_bytes()).status_code == 200
    done = poll_upload(server, upload["arn"])
    assert done["status"] == "SUCCEEDED", done
    assert '"package_name":"com.example.cli"' in done["metadata"].replace(" ", "")


def test_create_upload_put_with_requests(server):
    project = server.aws("create-project", "--name", unique("cli-upload"))["project"]["arn"]
    upload = server.aws("create-upload", "--project-arn", project, "--name", "broken.apk", "--type", "ANDROID_APP")["upload"]
    assert put_file(upload["url"], b"this is not a zip").status_code == 200
    done = poll_upload(server, upload["arn"])
    assert done["status"] == "FAILED" and done["message"]


def test_cli_paginates_list_projects(server):
    account = server.create_account(unique("cli-pages"))
    client = server.client(account)
    created = {client.create_project(name=f"c{i}")["project"]["arn"] for i in range(55)}
    listed = server.aws("list-projects", account=account)["projects"]
    assert {p["arn"] for p in listed} == created and len(listed) == 55


def test_cli_reports_service_errors(server):
    missing = f"arn:aws:devicefarm:us-west-2:{server.account_id}:project:00000000-0000-4000-8000-000000000000"
    result = server.aws("get-project", "--arn", missing, check=False)
    assert result.returncode != 0
    assert "NotFoundException" in result.stderr, result.stderr


def test_cli_with_a_wrong_secret_is_refused(server):
    result = server.aws("list-projects", keys=(server.access_key_id, "wrong-secret-" * 3), check=False)
    assert result.returncode != 0
    assert "InvalidSignatureException" in result.stderr, result.stderr
