"""Uploads: CreateUpload's presigned URL, the PUT a client does with requests/curl, and what
processing decides: SUCCEEDED with metadata, or FAILED with a message that says why."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import urllib.parse
import uuid
import zipfile

import pytest
import requests
from botocore.exceptions import ClientError

from harness import Farmhand, new_access_key, running
from support import (
    GOOD_TEST_SPEC, PROJECT_ARN, UPLOAD_ARN, assert_recent, error_code, make_apk, make_ipa, make_zip, no_nulls, own_uploads,
    put_file,
    unique, upload_file, wait_upload,
)


def check_initialized(farm, upload: dict, project_arn: str, name: str, upload_type: str) -> None:
    m = UPLOAD_ARN.match(upload["arn"])
    assert m, upload["arn"]
    assert m.group(1) == farm.account_id
    assert m.group(2) == PROJECT_ARN.match(project_arn).group(2)
    assert upload["name"] == name
    assert upload["type"] == upload_type
    assert upload["status"] == "INITIALIZED"
    assert upload["category"] == "PRIVATE"
    assert_recent(upload["created"])
    assert "metadata" not in upload and "message" not in upload
    url = urllib.parse.urlsplit(upload["url"])
    assert f"{url.scheme}://{url.netloc}" == farm.endpoint
    query = urllib.parse.parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["86400"], "upload URLs are valid 24 hours"
    assert re.fullmatch(r"[0-9a-f]{64}", query["X-Amz-Signature"][0])


# --- the happy paths, on every backend -----------------------------------------------


def test_create_upload_fields_and_url(farm, farm_project):
    client = farm.client()
    response = client.create_upload(projectArn=farm_project["arn"], name="app.apk", type="ANDROID_APP",
                                    contentType="application/octet-stream")
    upload = response["upload"]
    check_initialized(farm, upload, farm_project["arn"], "app.apk", "ANDROID_APP")
    assert upload["contentType"] == "application/octet-stream"
    got = client.get_upload(arn=upload["arn"])["upload"]
    assert got == upload, "GetUpload repeats the URL while the upload is INITIALIZED"
    listed = own_uploads(client.list_uploads(arn=farm_project["arn"])["uploads"])
    assert [u["arn"] for u in listed] == [upload["arn"]]
    no_nulls(farm.call("GetUpload", {"arn": upload["arn"]}).json())


def test_apk_upload_succeeds_with_manifest_metadata(farm, farm_project):
    client = farm.client()
    created = client.create_upload(projectArn=farm_project["arn"], name="app.apk", type="ANDROID_APP")["upload"]
    response = put_file(created["url"], make_apk("com.example.farmhand", min_sdk=26, target_sdk=34,
                                                 version_code=42, version_name="1.2.3"))
    assert response.status_code == 200, response.text
    upload = wait_upload(client, created["arn"])
    assert upload["status"] == "SUCCEEDED", upload
    assert "message" not in upload
    assert "url" not in upload, "the URL is only handed out while the upload waits for its content"
    for key in ("arn", "name", "type", "created", "category"):
        assert upload[key] == created[key]
    metadata = json.loads(upload["metadata"])
    assert metadata["package_name"] == "com.example.farmhand"
    assert metadata["version_code"] == "42"
    assert metadata["version_name"] == "1.2.3"
    assert metadata["sdk_version"] == "26"
    assert metadata["target_sdk_version"] == "34"
    assert metadata["activity_name"] == "com.example.farmhand.MainActivity"
    assert metadata["native_code"] == ["arm64-v8a"]


def test_ipa_upload_succeeds(farm, farm_project):
    upload = upload_file(farm.client(), farm_project["arn"], "App.ipa", "IOS_APP", make_ipa("com.example.Farm"))
    assert upload["status"] == "SUCCEEDED", upload
    if "metadata" in upload:
        assert "com.example.Farm" in upload["metadata"]


def test_test_spec_upload_succeeds(farm, farm_project):
    upload = upload_file(farm.client(), farm_project["arn"], "spec.yml", "APPIUM_PYTHON_TEST_SPEC",
                         GOOD_TEST_SPEC.encode())
    assert upload["status"] == "SUCCEEDED", upload


def test_test_package_and_extra_data_succeed(farm, farm_project):
    client = farm.client()
    package = make_zip({"tests/test_app.py": "def test_ok():\n    assert True\n", "requirements.txt": "pytest\n"})
    assert upload_file(client, farm_project["arn"], "tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", package)["status"] == "SUCCEEDED"
    data = make_zip({"data/fixture.json": "{}"})
    assert upload_file(client, farm_project["arn"], "data.zip", "EXTERNAL_DATA", data)["status"] == "SUCCEEDED"


def test_delete_upload(farm, farm_project):
    client = farm.client()
    upload = client.create_upload(projectArn=farm_project["arn"], name="gone.apk", type="ANDROID_APP")["upload"]
    assert set(client.delete_upload(arn=upload["arn"])) == {"ResponseMetadata"}
    with pytest.raises(ClientError) as e:
        client.get_upload(arn=upload["arn"])
    assert error_code(e.value) == "NotFoundException"
    assert own_uploads(client.list_uploads(arn=farm_project["arn"])["uploads"]) == []
    response = put_file(upload["url"], make_apk())
    assert response.status_code in (403, 404), response.status_code
    with pytest.raises(ClientError) as e:
        client.delete_upload(arn=upload["arn"])
    assert error_code(e.value) == "NotFoundException"


def test_update_test_spec_upload(farm, farm_project):
    client = farm.client()
    spec = upload_file(client, farm_project["arn"], "spec.yml", "APPIUM_PYTHON_TEST_SPEC", GOOD_TEST_SPEC.encode())
    renamed = client.update_upload(arn=spec["arn"], name="renamed.yaml", contentType="application/x-yaml")["upload"]
    assert renamed["name"] == "renamed.yaml"
    assert renamed["contentType"] == "application/x-yaml"
    assert renamed["status"] == "SUCCEEDED"
    assert client.get_upload(arn=spec["arn"])["upload"] == renamed
    # editContent asks for a new file: the upload waits for content again, with a fresh URL.
    reopened = client.update_upload(arn=spec["arn"], editContent=True)["upload"]
    assert reopened["status"] == "INITIALIZED"
    assert reopened["url"]
    response = put_file(reopened["url"], GOOD_TEST_SPEC.replace("echo testing", "echo again").encode())
    assert response.status_code == 200, response.text
    assert wait_upload(client, spec["arn"])["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as e:
        client.update_upload(arn=spec["arn"], name="spec.txt")
    assert error_code(e.value) == "ArgumentException"


# --- processing failures ----------------------------------------------------------------


def failed(client, project_arn, name, upload_type, data) -> str:
    upload = upload_file(client, project_arn, name, upload_type, data)
    assert upload["status"] == "FAILED", upload
    assert isinstance(upload["message"], str) and upload["message"]
    assert "metadata" not in upload or upload["metadata"]
    return upload["message"]


def test_test_spec_with_bad_yaml_names_the_line(server, project):
    spec = GOOD_TEST_SPEC.splitlines()
    spec[4] = "      - echo [unclosed"  # line 5
    spec.insert(5, "    bad: : :")
    message = failed(server.client(), project["arn"], "bad.yml", "APPIUM_PYTHON_TEST_SPEC", "\n".join(spec).encode())
    assert re.search(r"\bline\s*[56]\b", message), message


def test_test_spec_with_wrong_structure_names_the_line(server, project):
    spec = GOOD_TEST_SPEC.replace("  test:\n    commands:\n      - echo testing\n", "  test:\n    commands: echo testing\n")
    line = spec.splitlines().index("    commands: echo testing") + 1
    message = failed(server.client(), project["arn"], "shape.yml", "APPIUM_PYTHON_TEST_SPEC", spec.encode())
    assert re.search(rf"\bline\s*{line}\b", message), message


def test_test_spec_that_is_not_a_spec(server, project):
    message = failed(server.client(), project["arn"], "empty.yml", "APPIUM_PYTHON_TEST_SPEC", b"just: text\n")
    assert "version" in message or "phases" in message, message


def test_not_a_zip(server, project):
    message = failed(server.client(), project["arn"], "app.apk", "ANDROID_APP", os.urandom(2048))
    assert "zip" in message.lower(), message


def test_apk_without_manifest(server, project):
    message = failed(server.client(), project["arn"], "app.apk", "ANDROID_APP", make_zip({"classes.dex": b"dex"}))
    assert "AndroidManifest.xml" in message, message


def test_apk_with_text_manifest_fails(server, project):
    text = b'<?xml version="1.0"?><manifest package="com.example.text"/>'
    message = failed(server.client(), project["arn"], "app.apk", "ANDROID_APP", make_zip({"AndroidManifest.xml": text}))
    assert "AndroidManifest.xml" in message, message


def test_ipa_without_app_bundle(server, project):
    message = failed(server.client(), project["arn"], "app.ipa", "IOS_APP", make_zip({"Info.plist": b"x"}))
    assert "Payload" in message, message


@pytest.mark.parametrize("entry", ["../../escaped-{tag}.txt", "/tmp/escaped-{tag}.txt", "ok/../../escaped-{tag}.txt"])
def test_zip_slip_entries_fail_and_nothing_escapes(server, project, tmp_path, entry):
    tag = uuid.uuid4().hex
    name = entry.format(tag=tag)
    package = make_zip({"tests/test_ok.py": "x = 1\n", name: "pwned"})
    message = failed(server.client(), project["arn"], "tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", package)
    assert name in message or "path" in message.lower(), message
    for root in ("/tmp", str(server.data_dir), str(server.data_dir.parent)):
        for dirpath, _, files in os.walk(root):
            assert f"escaped-{tag}.txt" not in files, f"{dirpath}: an entry was written outside"
            break


def test_zip_bomb_fails_without_unpacking(server, project):
    """64 MiB of zeros deflate to ~64 KiB: far beyond any real package's ratio."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("tests/test_ok.py", "x = 1\n")
        z.writestr("tests/zeros.bin", bytes(64 * 1024 * 1024))
    bomb = buf.getvalue()
    assert len(bomb) < 1024 * 1024
    message = failed(server.client(), project["arn"], "tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", bomb)
    assert "zeros.bin" in message or "bomb" in message, message
    assert server.alive()


def test_wrong_extension_is_refused(server, project):
    client = server.client()
    try:
        upload = client.create_upload(projectArn=project["arn"], name="app.zip", type="ANDROID_APP")["upload"]
    except ClientError as e:
        assert error_code(e) == "ArgumentException"
        return
    put_file(upload["url"], make_apk())
    done = wait_upload(client, upload["arn"])
    assert done["status"] == "FAILED" and ".apk" in done["message"], done


def test_web_app_uploads_are_argument_exception(server, project):
    with pytest.raises(ClientError) as e:
        server.client().create_upload(projectArn=project["arn"], name="site.zip", type="WEB_APP")
    assert error_code(e.value) == "ArgumentException"


# --- the presigned URL ------------------------------------------------------------------


def with_query(url: str, **changes) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def test_tampered_upload_urls_are_forbidden(server, project):
    client = server.client()
    mine = client.create_upload(projectArn=project["arn"], name="a.apk", type="ANDROID_APP")["upload"]
    theirs = client.create_upload(projectArn=project["arn"], name="b.apk", type="ANDROID_APP")["upload"]
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(mine["url"]).query)["X-Amz-Signature"][0]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    mine_path = urllib.parse.urlsplit(mine["url"]).path
    theirs_path = urllib.parse.urlsplit(theirs["url"]).path
    assert mine_path != theirs_path
    parts = urllib.parse.urlsplit(mine["url"])
    no_signature = dict(urllib.parse.parse_qsl(parts.query))
    del no_signature["X-Amz-Signature"]
    bad_urls = {
        "flipped signature": with_query(mine["url"], **{"X-Amz-Signature": flipped}),
        "longer expiry": with_query(mine["url"], **{"X-Amz-Expires": "604800"}),
        "other upload's path": urllib.parse.urlunsplit(parts._replace(path=theirs_path)),
        "no signature": urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(no_signature))),
    }
    for what, url in bad_urls.items():
        response = put_file(url, make_apk())
        # A URL with no signature at all is malformed rather than forged (IncompleteSignature, 400).
        allowed = (400, 403) if what == "no signature" else (403,)
        assert response.status_code in allowed, (what, response.status_code, response.text)
    for upload in (mine, theirs):
        assert client.get_upload(arn=upload["arn"])["upload"]["status"] == "INITIALIZED"


def test_second_put_after_processing_is_refused(server, project):
    client = server.client()
    created = client.create_upload(projectArn=project["arn"], name="a.apk", type="ANDROID_APP")["upload"]
    assert put_file(created["url"], make_apk("com.example.first")).status_code == 200
    first = wait_upload(client, created["arn"])
    assert first["status"] == "SUCCEEDED"
    again = put_file(created["url"], make_apk("com.example.second"))
    assert 400 <= again.status_code < 500, again.status_code
    assert client.get_upload(arn=created["arn"])["upload"] == first


def test_upload_of_another_account_is_not_found(server, project):
    client = server.client()
    upload = client.create_upload(projectArn=project["arn"], name="a.apk", type="ANDROID_APP")["upload"]
    other = server.client(server.create_account(unique("uploads")))
    for call in (
        lambda: other.get_upload(arn=upload["arn"]),
        lambda: other.delete_upload(arn=upload["arn"]),
        lambda: other.list_uploads(arn=project["arn"]),
        lambda: other.create_upload(projectArn=project["arn"], name="x.apk", type="ANDROID_APP"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "NotFoundException"
    assert [u["arn"] for u in own_uploads(client.list_uploads(arn=project["arn"])["uploads"])] == [upload["arn"]]


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    with running(Farmhand(tmp_path_factory.mktemp("small"), root_key=new_access_key(),
                          extra_args=["--max-upload-bytes", "4096"])) as farmhand:
        yield farmhand


def test_upload_over_the_size_limit_fails(small_server):
    client = small_server.client()
    project = client.create_project(name="small")["project"]["arn"]
    small = upload_file(client, project, "spec.yml", "APPIUM_PYTHON_TEST_SPEC", GOOD_TEST_SPEC.encode())
    assert small["status"] == "SUCCEEDED"

    created = client.create_upload(projectArn=project, name="big.zip", type="EXTERNAL_DATA")["upload"]
    response = put_file(created["url"], os.urandom(10_000))
    assert response.status_code == 413, response.status_code
    upload = wait_upload(client, created["arn"])
    assert upload["status"] == "FAILED"
    assert "4096" in upload["message"], upload["message"]

    # Chunked (no Content-Length): the limit holds while streaming, too.
    streamed = client.create_upload(projectArn=project, name="big2.zip", type="EXTERNAL_DATA")["upload"]
    chunks = (os.urandom(1024) for _ in range(10))
    response = requests.put(streamed["url"], data=chunks, timeout=30)
    assert response.status_code == 413, response.status_code
    assert wait_upload(client, streamed["arn"])["status"] == "FAILED"


def test_public_url_is_the_base_of_upload_urls(tmp_path):
    """Behind a proxy or another host name, `--public-url` is what clients are sent to."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    public = f"http://localhost:{port}"
    with running(Farmhand(tmp_path / "public", root_key=new_access_key(), listen=f"127.0.0.1:{port}",
                          extra_args=["--public-url", public])) as farmhand:
        client = farmhand.client()
        project = client.create_project(name="public")["project"]["arn"]
        created = client.create_upload(projectArn=project, name="s.yml", type="APPIUM_PYTHON_TEST_SPEC")["upload"]
        assert created["url"].startswith(public + "/"), created["url"]
        assert put_file(created["url"], GOOD_TEST_SPEC.encode()).status_code == 200
        assert wait_upload(client, created["arn"])["status"] == "SUCCEEDED"
