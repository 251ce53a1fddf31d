"""Shared helpers for the client tests: ARN shapes, field checks, package builders, polling.

Expectations come from device-farm-notes.md and botocore's service model, never from
farmhand's source, so these tests say what a real client may rely on.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import plistlib
import re
import time
import uuid
import zipfile

import requests

import axml

REGION = "us-west-2"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ACCOUNT = r"\d{12}"

PROJECT_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:({ACCOUNT}):project:({UUID})$")
UPLOAD_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:({ACCOUNT}):upload:({UUID})/({UUID})$")
POOL_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:({ACCOUNT}):devicepool:({UUID})/({UUID})$")
CURATED_POOL_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}::devicepool:({UUID})$")
CURATED_UPLOAD_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}::upload:({UUID})$")
# AWS's "Top Devices" pool, which public scripts hard-code (docs/curated-identifiers.md).
TOP_DEVICES_ARN = f"arn:aws:devicefarm:{REGION}::devicepool:082d10e5-d7d7-48a5-ba5c-b33d66efa1f5"
DEVICE_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}::device:[0-9A-F]{{32}}$")
DEVICE_INSTANCE_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}::deviceinstance:({UUID})$")
INSTANCE_PROFILE_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:({ACCOUNT}):instanceprofile:({UUID})$")

PLATFORMS = {"ANDROID", "IOS"}
FORM_FACTORS = {"PHONE", "TABLET"}
AVAILABILITIES = {"TEMPORARY_NOT_AVAILABLE", "BUSY", "AVAILABLE", "HIGHLY_AVAILABLE"}
INSTANCE_STATUSES = {"IN_USE", "PREPARING", "AVAILABLE", "NOT_AVAILABLE"}
DEVICE_ATTRIBUTES = {
    "ARN", "PLATFORM", "FORM_FACTOR", "MANUFACTURER", "REMOTE_ACCESS_ENABLED", "REMOTE_DEBUG_ENABLED",
    "APPIUM_VERSION", "INSTANCE_ARN", "INSTANCE_LABELS", "FLEET_TYPE", "OS_VERSION", "MODEL", "AVAILABILITY",
}

# Android API level → the OS version a device reports (for min-SDK compatibility checks).
ANDROID_API_VERSION = {29: "10", 30: "11", 31: "12", 32: "12", 33: "13", 34: "14", 35: "15"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_code(exc) -> str:
    return exc.response["Error"]["Code"]


def assert_recent(value, *, within: float = 300.0) -> None:
    """A boto3 timestamp (parsed from epoch seconds) close to now."""
    assert isinstance(value, dt.datetime), f"not a datetime: {value!r}"
    assert value.tzinfo is not None, "timestamps are absolute (epoch seconds), so boto3 gives aware datetimes"
    delta = abs((dt.datetime.now(dt.timezone.utc) - value).total_seconds())
    assert delta < within, f"{value} is {delta:.0f}s away from now"


def version_key(v: str) -> tuple:
    """OS versions compare numerically part by part ("10" > "9", "17.4.1" > "17.4")."""
    return tuple(int(p) if p.isdigit() else 0 for p in v.split("."))


# --- packages -------------------------------------------------------------------------


def make_zip(entries: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def make_apk(package: str = "com.example.farmhand", *, min_sdk: int = 26, target_sdk: int = 34,
             version_code: int = 42, version_name: str = "1.2.3", abis=("arm64-v8a",)) -> bytes:
    entries: dict[str, bytes | str] = {
        "AndroidManifest.xml": axml.manifest(
            package, version_code=version_code, version_name=version_name, min_sdk=min_sdk, target_sdk=target_sdk
        ),
        "classes.dex": b"dex\n035\x00" + b"\x00" * 100,
    }
    for abi in abis:
        entries[f"lib/{abi}/libnative.so"] = b"\x7fELF" + b"\x00" * 60
    return make_zip(entries)


def make_ipa(bundle_id: str = "com.example.FarmhandApp", *, min_os: str = "15.0", executable: str = "FarmhandApp") -> bytes:
    info = plistlib.dumps({
        "CFBundleIdentifier": bundle_id,
        "CFBundleExecutable": executable,
        "CFBundleName": executable,
        "CFBundleShortVersionString": "2.0",
        "CFBundleVersion": "7",
        "MinimumOSVersion": min_os,
        "UIDeviceFamily": [1, 2],
    }, fmt=plistlib.FMT_BINARY)
    return make_zip({
        f"Payload/{executable}.app/Info.plist": info,
        f"Payload/{executable}.app/{executable}": b"\xcf\xfa\xed\xfe" + b"\x00" * 60,
    })


GOOD_TEST_SPEC = """\
version: 0.1
phases:
  install:
    commands:
      - echo installing
  pre_test:
    commands:
      - echo preparing
  test:
    commands:
      - echo testing
  post_test:
    commands:
      - echo done
artifacts:
  - $DEVICEFARM_LOG_DIR
"""


# --- uploads --------------------------------------------------------------------------


def put_file(url: str, data: bytes, **kwargs) -> requests.Response:
    """What `curl -T file "$url"` does: a plain PUT of the bytes to the presigned URL."""
    return requests.put(url, data=data, timeout=30, **kwargs)


def wait_upload(client, arn: str, *, timeout: float = 30.0) -> dict:
    """Polls GetUpload until processing settles; returns the final upload."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        upload = client.get_upload(arn=arn)["upload"]
        seen.append(upload["status"])
        if upload["status"] in ("SUCCEEDED", "FAILED"):
            return upload
        assert upload["status"] in ("INITIALIZED", "PROCESSING"), upload
        if time.monotonic() > deadline:
            raise AssertionError(f"upload {arn} still {upload['status']} after {timeout}s (saw {seen})")
        time.sleep(0.1)


def upload_file(client, project_arn: str, name: str, upload_type: str, data: bytes) -> dict:
    """CreateUpload, PUT, wait: the whole dance a client script does."""
    created = client.create_upload(projectArn=project_arn, name=name, type=upload_type)["upload"]
    response = put_file(created["url"], data)
    assert response.status_code == 200, (response.status_code, response.text)
    return wait_upload(client, created["arn"])


def own_uploads(uploads: list[dict]) -> list[dict]:
    """A ListUploads answer without the curated specs every project lists."""
    return [u for u in uploads if u["category"] != "CURATED"]


def no_nulls(value, path="$") -> None:
    """Absent members are omitted on the wire, never null."""
    if value is None:
        raise AssertionError(f"null at {path}")
    if isinstance(value, dict):
        for k, v in value.items():
            no_nulls(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_nulls(v, f"{path}[{i}]")


def json_body(response: requests.Response) -> dict:
    assert response.headers.get("Content-Type", "").startswith("application/x-amz-json-1.1"), response.headers
    return json.loads(response.content)


def unsigned(entity: dict) -> dict:
    """`entity` with its video URL cut before the query: the URL's signature (and its time) is
    made afresh for each response, so two reads a second apart differ there and nowhere else."""
    if "videoEndpoint" not in entity:
        return entity
    return dict(entity, videoEndpoint=entity["videoEndpoint"].split("?")[0])
