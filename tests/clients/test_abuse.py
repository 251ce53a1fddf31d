"""Abuse protection: one key's flood, a forger's flood and a slow client each leave the
other clients served."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
import urllib.parse

import boto3
import pytest
import axml
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import new_server
from harness import REGION, TARGET_PREFIX, new_access_key, running
from support import error_code, make_zip, unique, wait_upload

READ_TIMEOUT = 2.0


@pytest.fixture
def tight_farm(tmp_path_factory):
    """A server with a low per-key rate and a short read timeout."""
    with running(new_server(tmp_path_factory, "abuse", extra_args=[
        "--rate-limit-per-second", "1", "--rate-burst", "5",
        "--request-read-timeout-seconds", str(READ_TIMEOUT),
    ])) as farmhand:
        yield farmhand


@pytest.fixture
def own_farm(tmp_path_factory):
    """A default server of its own: a flood's failures must not spill into other tests."""
    with running(new_server(tmp_path_factory, "flood")) as farmhand:
        yield farmhand


def no_retry_client(farmhand, keys):
    return boto3.client("devicefarm", endpoint_url=farmhand.endpoint, region_name=REGION,
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                        config=Config(retries={"max_attempts": 1}))


def test_a_key_over_its_rate_is_throttled_while_another_key_is_served(tight_farm):
    busy = no_retry_client(tight_farm, tight_farm.create_key(tight_farm.account_id))
    other_account = tight_farm.create_account(unique("calm"))
    calm = no_retry_client(tight_farm, (other_account.access_key_id, other_account.secret_access_key))

    refusals = []
    for _ in range(20):
        try:
            busy.list_projects()
        except ClientError as e:
            refusals.append(e)
    assert refusals, "20 calls at once with a burst of 5 were all served"
    first = refusals[0]
    assert error_code(first) == "ThrottlingException"
    assert first.response["Error"]["Message"] == "Rate exceeded"
    assert first.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert first.response["ResponseMetadata"]["RequestId"]

    # The busy key stays limited (at 1 call a second, ten quick calls cannot all be
    # served, however slow this machine is), and the other account's key is not.
    again = []
    for _ in range(10):
        try:
            busy.list_projects()
        except ClientError as e:
            again.append(error_code(e))
    assert again and set(again) == {"ThrottlingException"}, again
    for _ in range(4):
        calm.list_projects()
    # The bucket refills: the busy key is served again after a pause.
    time.sleep(1.5)
    busy.list_projects()


def test_default_limits_never_throttle_normal_use(server):
    client = no_retry_client(server, server.create_key(server.account_id))
    project = client.create_project(name=unique("steady"))["project"]
    for _ in range(150):
        client.get_project(arn=project["arn"])
        client.list_projects()


def forged_request(endpoint: str, mode: str) -> requests.Response:
    """`garbage`: an Authorization header that does not parse; `unknown`: a well-formed
    signature by a key the server has never issued."""
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGET_PREFIX}.ListProjects"}
    if mode == "garbage":
        headers["Authorization"] = "AWS4-HMAC-SHA256 nonsense"
        return requests.post(endpoint + "/", data=b"{}", headers=headers, timeout=30)
    request = AWSRequest(method="POST", url=endpoint + "/", data=b"{}", headers=headers)
    SigV4Auth(Credentials(*new_access_key()), "devicefarm", REGION).add_auth(request)
    return requests.post(endpoint + "/", data=b"{}", headers=dict(request.headers.items()), timeout=30)


def test_a_flood_of_bad_signatures_does_not_stop_a_good_client(own_farm):
    good = no_retry_client(own_farm, own_farm.creds())
    stop = threading.Event()
    codes: list[str] = []
    lock = threading.Lock()

    def flood(mode: str) -> None:
        with requests.Session():
            while not stop.is_set():
                response = forged_request(own_farm.endpoint, mode)
                with lock:
                    codes.append(response.json().get("__type", ""))

    threads = [threading.Thread(target=flood, args=(mode,)) for mode in ["garbage", "unknown"] * 3]
    for t in threads:
        t.start()
    try:
        # Let the flood get going before and while the good client works.
        while len(codes) < 300:
            time.sleep(0.05)
        for _ in range(30):
            good.list_projects()
            good.get_account_settings()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert "IncompleteSignatureException" in codes or "InvalidSignatureException" in codes, set(codes)
    # The address kept failing: its requests for unknown keys were refused unchecked.
    assert "ThrottlingException" in codes, set(codes)


def closed_within(sock: socket.socket, limit: float, *, trickle: bytes) -> float | None:
    """Sends `trickle` a byte every half second until the server closes the connection;
    the seconds that took, or None if it was still open after `limit`."""
    start = time.monotonic()
    sock.settimeout(0.5)
    i = 0
    while time.monotonic() - start < limit:
        try:
            if i < len(trickle):
                sock.sendall(trickle[i:i + 1])
                i += 1
            data = sock.recv(4096)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        if data == b"" or data.startswith(b"HTTP/1.1"):
            return time.monotonic() - start
    return None


def test_slow_clients_are_cut_off_but_long_uploads_are_not(tight_farm):
    address = urllib.parse.urlsplit(tight_farm.endpoint)
    headers = (b"POST / HTTP/1.1\r\nHost: farmhand\r\nContent-Type: application/x-amz-json-1.1\r\n"
               b"X-Amz-Target: DeviceFarm_20150623.ListProjects\r\nContent-Length: 64\r\n\r\n")

    with socket.create_connection((address.hostname, address.port)) as slowloris:
        took = closed_within(slowloris, 15.0, trickle=headers)
    assert took is not None, "a client sending its headers a byte at a time kept its connection"
    assert took < READ_TIMEOUT + 5

    with socket.create_connection((address.hostname, address.port)) as slow_body:
        slow_body.sendall(headers)
        took = closed_within(slow_body, 15.0, trickle=b"{" + b" " * 62 + b"}")
    assert took is not None, "a JSON API body sent a byte at a time kept its connection"
    assert took < READ_TIMEOUT + 5

    # An upload that takes longer than the read timeout is still taken whole.
    client = tight_farm.client()
    project = client.create_project(name=unique("slow-upload"))["project"]
    created = client.create_upload(projectArn=project["arn"], name="app.apk", type="ANDROID_APP")["upload"]
    body = make_zip({
        "AndroidManifest.xml": axml.manifest("com.example.slow", version_code=1, version_name="1", min_sdk=26,
                                             target_sdk=34),
        "classes.dex": b"dex\n035\x00" + b"\x00" * 100,
        "assets/blob.bin": os.urandom(3 * 1024 * 1024),
    })
    url = urllib.parse.urlsplit(created["url"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("PUT", f"{url.path}?{url.query}", skip_accept_encoding=True)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    pieces = 6
    step = len(body) // pieces + 1
    for offset in range(0, len(body), step):
        conn.send(body[offset:offset + step])
        time.sleep((READ_TIMEOUT + 1) / pieces)
    response = conn.getresponse()
    assert response.status == 200, (response.status, response.read())
    conn.close()
    upload = wait_upload(client, created["arn"])
    assert upload["status"] == "SUCCEEDED", upload

    # And the ordinary API still answers.
    assert client.get_project(arn=project["arn"])["project"]["name"] == project["name"]
