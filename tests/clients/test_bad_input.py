"""Bad input gets AWS's error, never a 500, and the server stays healthy. Raw requests are
used because boto3 validates some of these on the client side before sending."""

from __future__ import annotations

import json

import botocore.session
import pytest

from support import unique

MODEL = botocore.session.get_session().get_service_model("devicefarm")
KNOWN_ERRORS = {
    "ArgumentException", "NotFoundException", "LimitExceededException", "ServiceAccountException",
    "IdempotencyException", "NotEligibleException", "CannotDeleteException", "InvalidOperationException",
    "TagOperationException", "TooManyTagsException", "TagPolicyException", "SerializationException",
    "UnsupportedOperationException", "UnknownOperationException", "InternalServiceException",
}


def error(response, status: int, code: str, *mentions: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("x-amzn-RequestId")
    body = response.json()
    assert body["__type"] == code, body
    for word in mentions:
        assert word in body["message"], (word, body["message"])
    return body["message"]


@pytest.fixture
def arn(project):
    return project["arn"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b'"a string"', b"{\"name\": \"x\"", b"\xff\xfe", b"null"])
def test_body_that_is_not_a_json_object(server, raw):
    response = server.call("CreateProject", raw)
    if raw == b"":
        # An empty body reads as an empty request: then the missing required name is the error.
        assert response.status_code == 400 and response.json()["__type"] in ("SerializationException", "ArgumentException")
    else:
        error(response, 400, "SerializationException")


@pytest.mark.parametrize("operation,body", [
    ("CreateProject", {"name": 123}),
    ("CreateProject", {"name": "ok", "defaultJobTimeoutMinutes": "60"}),
    ("CreateProject", {"name": "ok", "defaultJobTimeoutMinutes": 1.5}),
    ("CreateProject", {"name": ["a"]}),
    ("ListDevices", {"filters": "PLATFORM=ANDROID"}),
    ("ListDevices", {"filters": [{"attribute": "PLATFORM", "operator": "EQUALS", "values": "ANDROID"}]}),
    ("ListDevices", {"filters": [["PLATFORM"]]}),
    ("CreateDevicePool", {"projectArn": "arn:aws:devicefarm:us-west-2:123456789012:project:x", "name": "p",
                          "rules": {"attribute": "PLATFORM"}}),
    ("TagResource", {"ResourceARN": "arn:aws:devicefarm:us-west-2:123456789012:project:x", "Tags": {"k": "v"}}),
    ("UpdateDevicePool", {"arn": "arn:aws:devicefarm:us-west-2:123456789012:devicepool:x/y", "clearMaxDevices": "yes"}),
])
def test_member_of_wrong_json_type(server, operation, body):
    error(server.call(operation, body), 400, "SerializationException")


@pytest.mark.parametrize("minutes", [3, 4, 0, -1, 10000])
def test_project_timeout_out_of_range(server, minutes):
    name = unique("range")
    error(server.call("CreateProject", {"name": name, "defaultJobTimeoutMinutes": minutes}), 400, "ArgumentException")
    assert name not in {p["name"] for p in server.client().list_projects()["projects"]}


def test_project_timeout_bounds_are_accepted(server):
    maximum = server.client().get_account_settings()["accountSettings"]["maxJobTimeoutMinutes"]
    for minutes in (5, maximum):
        response = server.call("CreateProject", {"name": unique("bound"), "defaultJobTimeoutMinutes": minutes})
        assert response.status_code == 200, (minutes, response.text)


def test_update_project_timeout_out_of_range(server, arn):
    error(server.call("UpdateProject", {"arn": arn, "defaultJobTimeoutMinutes": 3}), 400, "ArgumentException")


def test_huge_integer(server):
    response = server.call("CreateProject", b'{"name": "big", "defaultJobTimeoutMinutes": 99999999999999999999999}')
    assert response.status_code == 400
    assert response.json()["__type"] in ("SerializationException", "ArgumentException")


def test_over_long_name(server):
    message = error(server.call("CreateProject", {"name": "n" * 257}), 400, "ArgumentException")
    assert "name" in message
    ok = server.call("CreateProject", {"name": "n" * 256})
    assert ok.status_code == 200, ok.text


def test_missing_required_member_is_named(server):
    error(server.call("GetProject", {}), 400, "ArgumentException", "arn")
    error(server.call("CreateProject", {}), 400, "ArgumentException", "name")


@pytest.mark.parametrize("operation,body,field", [
    ("CreateUpload", {"name": "a.apk", "type": "NOT_A_TYPE"}, "type"),
    ("ListDevicePools", {"type": "BOTH"}, "type"),
    ("ListUploads", {"type": "ANDROID"}, "type"),
    ("GetDevicePoolCompatibility", {"testType": "MONKEY"}, "testType"),
])
def test_unknown_enum_value(server, project, operation, body, field):
    key = {"CreateUpload": "projectArn", "GetDevicePoolCompatibility": "devicePoolArn"}.get(operation, "arn")
    target = project["arn"]
    if operation == "GetDevicePoolCompatibility":
        target = server.client().list_device_pools(arn=project["arn"], type="CURATED")["devicePools"][0]["arn"]
    error(server.call(operation, {key: target, **body}), 400, "ArgumentException", field)


def test_unknown_filter_attribute_enum(server):
    body = {"filters": [{"attribute": "COLOUR", "operator": "EQUALS", "values": ["red"]}]}
    error(server.call("ListDevices", body), 400, "ArgumentException")


@pytest.mark.parametrize("bad_arn", [
    "arn:aws:s3:::a-bucket-name-that-is-long-enough",  # wrong service: breaks the pattern
    "not-an-arn-at-all-but-long-enough-to-pass-min",
    "arn:aws:devicefarm:x",  # shorter than 32
    "a" * 1012,  # longer than 1011
])
def test_bad_arn_is_argument_exception(server, bad_arn):
    for operation, key in (("GetProject", "arn"), ("DeleteProject", "arn"), ("GetUpload", "arn"), ("GetDevice", "arn"),
                           ("ListTagsForResource", "ResourceARN"), ("CreateUpload", "projectArn")):
        body = {key: bad_arn}
        if operation == "CreateUpload":
            body.update(name="a.apk", type="ANDROID_APP")
        error(server.call(operation, body), 400, "ArgumentException")


def test_arn_of_another_kind_is_refused(server, project):
    # A well-formed Device Farm ARN naming a device, where a project is expected.
    device = server.client().list_devices()["devices"][0]["arn"]
    response = server.call("GetProject", {"arn": device})
    assert response.status_code == 400
    assert response.json()["__type"] in ("ArgumentException", "NotFoundException")


@pytest.mark.parametrize("target", [
    "DeviceFarm_20150623.NoSuchOperation",
    "DeviceFarm_20150623.",
    "DynamoDB_20120810.ListTables",
    "ListProjects",
    "",
])
def test_unknown_target(server, target):
    error(server.call("ListProjects", {}, target=target), 400, "UnknownOperationException")


def test_every_model_operation_answers_without_a_server_fault(server):
    """Each of the model's operations, with an empty and a nonsense body: a modelled answer,
    UnsupportedOperationException naming it if not built yet, and never a 500."""
    assert len(MODEL.operation_names) >= 77
    for name in MODEL.operation_names:
        for body in ({}, {"arn": "arn:aws:devicefarm:us-west-2:123456789012:project:nope-nope-nope"}):
            response = server.call(name, body)
            assert response.status_code in (200, 400), (name, response.status_code, response.text)
            assert response.headers.get("x-amzn-RequestId")
            if response.status_code == 400:
                payload = response.json()
                assert payload["__type"] in KNOWN_ERRORS, (name, payload)
                if payload["__type"] == "UnsupportedOperationException":
                    assert name in payload["message"], payload
    assert server.alive()


def test_hostile_bodies_never_cause_a_server_fault(server, project):
    bodies = [
        b"[" * 100_000,
        b'{"name": "' + b"\\u0000" * 1000 + b'"}',
        json.dumps({"name": "\U0001F600" * 300}).encode(),
        json.dumps({"arn": project["arn"] + "/" + "x" * 5000}).encode(),
        json.dumps({"filters": [{"attribute": "OS_VERSION", "operator": "GREATER_THAN", "values": ["9" * 400]}]}).encode(),
        json.dumps({"filters": [{"attribute": "PLATFORM", "operator": "EQUALS", "values": []}] * 1000}).encode(),
        json.dumps({"nextToken": "x" * 2000}).encode(),
        json.dumps({"nextToken": "\u00e9\u00e9\u00e9\u00e9"}).encode(),
        b'{"name": 1e400}',
        b'{"name": "a", "name": "b"}',
        b'{"name": "ok", "unknownMember": {"deep": [1, 2, 3]}}',
    ]
    for operation in ("CreateProject", "GetProject", "ListDevices", "ListProjects", "CreateDevicePool", "UpdateProject"):
        for body in bodies:
            response = server.call(operation, body)
            assert response.status_code < 500, (operation, body[:60], response.status_code, response.text)
            assert response.headers.get("x-amzn-RequestId")
    assert server.alive()
    assert server.client().get_project(arn=project["arn"])["project"] == project
