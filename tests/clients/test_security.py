"""SigV4 and account isolation, with raw requests signed by botocore's own signer: every
forged, stale or unsigned request is refused with AWS's code, and nothing is created."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import botocore.auth
import pytest
from botocore.exceptions import ClientError

import requests

from harness import new_access_key
from support import GOOD_TEST_SPEC, error_code, put_file, unique

SIGNATURE_MISMATCH = "The request signature we calculated does not match the signature you provided"


def project_names(server) -> set[str]:
    pages = server.client().get_paginator("list_projects").paginate()
    return {p["name"] for page in pages for p in page["projects"]}


def assert_refused(server, response, status: int, code: str, *names: str, message: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("x-amzn-RequestId"), response.headers
    body = response.json()
    assert body["__type"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    if message:
        assert message in body["message"], body["message"]
    existing = project_names(server)
    for name in names:
        assert name not in existing, f"a refused request created {name}"
    return body


def create_body(name: str) -> dict:
    return {"name": name}


def test_correctly_signed_raw_request_is_accepted(server):
    name = unique("raw")
    response = server.call("CreateProject", create_body(name))
    assert response.status_code == 200, response.text
    assert response.headers["x-amzn-RequestId"]
    assert name in project_names(server)


def test_wrong_secret(server):
    name = unique("wrong-secret")
    akid, _ = server.creds()
    response = server.call("CreateProject", create_body(name), keys=(akid, new_access_key()[1]))
    assert_refused(server, response, 403, "InvalidSignatureException", name, message=SIGNATURE_MISMATCH)


def test_wrong_secret_through_boto3(server):
    name = unique("boto-wrong")
    client = server.client(keys=(server.access_key_id, "x" * 40))
    with pytest.raises(ClientError) as e:
        client.create_project(name=name)
    assert error_code(e.value) == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert name not in project_names(server)


def test_body_tampered_after_signing(server):
    signed, sent = unique("signed"), unique("sent")

    def swap(headers, body):
        return headers, body.replace(signed.encode(), sent.encode())

    response = server.call("CreateProject", create_body(signed), tamper=swap)
    assert_refused(server, response, 403, "InvalidSignatureException", signed, sent)


def test_signed_header_tampered_after_signing(server):
    name = unique("header")

    def change(headers, body):
        headers = dict(headers)
        headers["X-Amz-Meta-Purpose"] = "changed"
        return headers, body

    response = server.call("CreateProject", create_body(name), headers={"X-Amz-Meta-Purpose": "original"}, tamper=change)
    assert_refused(server, response, 403, "InvalidSignatureException", name)


def test_signed_target_tampered_after_signing(server, project):
    def retarget(headers, body):
        return {**headers, "X-Amz-Target": "DeviceFarm_20150623.DeleteProject"}, body

    response = server.call("GetProject", {"arn": project["arn"]}, tamper=retarget)
    assert_refused(server, response, 403, "InvalidSignatureException")
    assert server.client().get_project(arn=project["arn"])["project"] == project


def signed_at(server, when: dt.datetime, name: str):
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when.replace(tzinfo=None)):
        return server.call("CreateProject", create_body(name))


def test_request_sixteen_minutes_old_is_expired(server):
    name = unique("stale")
    response = signed_at(server, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=16), name)
    assert_refused(server, response, 403, "InvalidSignatureException", name, message="Signature expired")


def test_request_sixteen_minutes_ahead_is_refused(server):
    name = unique("future")
    response = signed_at(server, dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=16), name)
    assert_refused(server, response, 403, "InvalidSignatureException", name)


def test_request_fourteen_minutes_old_is_within_skew(server):
    name = unique("skewed")
    response = signed_at(server, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=14), name)
    assert response.status_code == 200, response.text
    assert name in project_names(server)


def test_unknown_access_key(server):
    name = unique("unknown")
    response = server.call("CreateProject", create_body(name), keys=new_access_key())
    assert_refused(server, response, 403, "UnrecognizedClientException", name,
                   message="The security token included in the request is invalid")


def test_no_authorization(server):
    name = unique("anonymous")
    response = server.call("CreateProject", create_body(name), sign=False)
    assert_refused(server, response, 403, "MissingAuthenticationTokenException", name)


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 garbage",
    "Bearer abc.def.ghi",
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-west-2/devicefarm/aws4_request, Signature=abc",
    "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE, SignedHeaders=host, Signature=" + "0" * 64,
])
def test_malformed_authorization(server, authorization):
    name = unique("malformed")

    def replace(headers, body):
        return {**headers, "Authorization": authorization}, body

    response = server.call("CreateProject", create_body(name), tamper=replace)
    assert_refused(server, response, 400, "IncompleteSignatureException", name)


@pytest.mark.parametrize("region,service", [("eu-west-1", "devicefarm"), ("us-west-2", "s3"), ("us-west-2", "execute-api")])
def test_wrong_scope(server, region, service):
    name = unique("scope")
    response = server.call("CreateProject", create_body(name), region=region, service=service)
    assert_refused(server, response, 403, "InvalidSignatureException", name)


def test_revoked_key(server):
    akid, secret = server.create_key(server.account_id)
    client = server.client(keys=(akid, secret))
    assert client.get_account_settings()["accountSettings"]["awsAccountNumber"] == server.account_id
    server.revoke_key(akid)
    name = unique("revoked")
    with pytest.raises(ClientError) as e:
        client.create_project(name=name)
    assert error_code(e.value) in ("UnrecognizedClientException", "InvalidSignatureException")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert name not in project_names(server)
    # The other keys of the account keep working.
    assert server.client().get_account_settings()


def test_other_accounts_project_is_not_found(server, project):
    other_account = server.create_account(unique("intruder"))
    other = server.client(other_account)
    assert other.get_account_settings()["accountSettings"]["awsAccountNumber"] == other_account.id
    assert other_account.id != server.account_id
    for call in (
        lambda: other.get_project(arn=project["arn"]),
        lambda: other.update_project(arn=project["arn"], name="stolen"),
        lambda: other.delete_project(arn=project["arn"]),
        lambda: other.list_projects(arn=project["arn"]),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "NotFoundException", e.value.response
    assert server.client().get_project(arn=project["arn"])["project"] == project
    assert project["arn"] not in {p["arn"] for p in other.list_projects()["projects"]}
    # Each account only ever lists its own.
    theirs = other.create_project(name=unique("theirs"))["project"]
    assert theirs["arn"].split(":")[4] == other_account.id
    assert theirs["arn"] not in {p["arn"] for page in server.client().get_paginator("list_projects").paginate()
                                 for p in page["projects"]}


def test_every_response_has_a_unique_request_id(server):
    responses = [
        server.call("ListProjects", {}),
        server.call("ListProjects", {}),
        server.call("GetProject", {"arn": "bad"}),
        server.call("ListProjects", {}, sign=False),
        server.call("NoSuchOperation", {}),
        server.call("ListProjects", b"{not json"),
    ]
    ids = [r.headers.get("x-amzn-RequestId") for r in responses]
    assert all(ids), [r.headers for r in responses]
    assert len(set(ids)) == len(ids)


def test_request_id_on_responses_outside_the_json_api(server, project):
    """device-farm-notes.md: *every* response has an x-amzn-RequestId, so that a user
    reporting any failure (or success) can quote one: the upload PUT and stray paths too."""
    client = server.client()
    upload = client.create_upload(projectArn=project["arn"], name="s.yml", type="APPIUM_PYTHON_TEST_SPEC")["upload"]
    responses = {
        "PUT upload (200)": put_file(upload["url"], GOOD_TEST_SPEC.encode()),
        "PUT upload again (refused)": put_file(upload["url"], GOOD_TEST_SPEC.encode()),
        "GET /": requests.get(server.endpoint + "/", timeout=10),
        "GET /nope": requests.get(server.endpoint + "/nope", timeout=10),
    }
    missing = {what: r.status_code for what, r in responses.items() if not r.headers.get("x-amzn-RequestId")}
    assert not missing, f"no x-amzn-RequestId on: {missing}"
