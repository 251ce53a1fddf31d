"""Regenerates botocore.json: requests signed by the real botocore, which the Rust test
sigv4_botocore.rs must verify. Run by hand (python3 make_fixture.py > botocore.json); the
output is committed so the test needs no Python."""

import datetime
import json
from unittest import mock

import botocore.session
from botocore.auth import SigV4QueryAuth, UNSIGNED_PAYLOAD
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

ACCESS_KEY = "AKIAFARMHANDEXAMPLE"
SECRET = "farmhand/secret+key/EXAMPLE0123456789abcd"
NOW = datetime.datetime(2024, 5, 17, 9, 30, 15)
BASE = "http://127.0.0.1:8080"


def header_list(headers):
    return [[k.lower(), v.decode() if isinstance(v, bytes) else v] for k, v in headers.items()]


def devicefarm_call():
    """A real client call: botocore's full pipeline adds User-Agent etc. before signing."""
    captured = {}

    def capture(request, **_):
        captured["request"] = request
        return AWSResponse(request.url, 200, {}, None)

    session = botocore.session.get_session()
    client = session.create_client(
        "devicefarm",
        region_name="us-west-2",
        endpoint_url=BASE,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
    )
    client.meta.events.register("before-send", capture)
    try:
        client.list_projects(nextToken="abcdefghijklmnop")
    except Exception:  # the fake response has no JSON body; only the request matters
        pass
    req = captured["request"]
    return {
        "name": "devicefarm-list-projects",
        "method": req.method,
        "url": req.url,
        "headers": header_list(req.headers) + [["host", "127.0.0.1:8080"]],
        "body": req.body.decode() if isinstance(req.body, bytes) else req.body,
        "region": "us-west-2",
        "service": "devicefarm",
    }


class UploadQueryAuth(SigV4QueryAuth):
    """Non-S3 path rules with an unsigned payload: the scheme of farmhand's upload URLs."""

    def payload(self, request):
        return UNSIGNED_PAYLOAD


def presigned_upload():
    creds = Credentials(ACCESS_KEY, SECRET)
    url = BASE + "/uploads/arn%3Aaws%3Adevicefarm%3Aus-west-2%3A123456789012%3Aupload%3Aabc%2Fdef?partNumber=1"
    req = AWSRequest(method="PUT", url=url)
    UploadQueryAuth(creds, "devicefarm", "us-west-2", expires=900).add_auth(req)
    return {
        "name": "presigned-upload",
        "method": "PUT",
        "url": req.url,
        "headers": [["host", "127.0.0.1:8080"], ["content-type", "application/octet-stream"]],
        "body": "zip bytes would go here",
        "region": "us-west-2",
        "service": "devicefarm",
        "expires": 900,
    }


with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
    cases = [devicefarm_call(), presigned_upload()]

print(json.dumps({
    "botocore_version": botocore.__version__,
    "access_key_id": ACCESS_KEY,
    "secret": SECRET,
    "now": NOW.strftime("%Y%m%dT%H%M%SZ"),
    "cases": cases,
}, indent=2))
