"""Every operation of the model answers, except the family that has an issue of its own
(remote access): a pipeline written for AWS never meets
UnsupportedOperationException on farmhand. Each operation is called raw with an empty body so
that a missing handler shows as UnsupportedOperation rather than as a client-side check."""

from __future__ import annotations

import botocore.session

MODEL = botocore.session.get_session().get_service_model("devicefarm")
# The family whose issue is still open: remote access.
OWN_ISSUES = ("RemoteAccess",)


def awaited(name: str) -> bool:
    return not any(family in name for family in OWN_ISSUES)


def test_the_model_still_has_its_77_operations_and_the_families_left_out_are_only_those():
    names = MODEL.operation_names
    assert len(names) == 77, len(names)
    left_out = sorted(n for n in names if not awaited(n))
    assert len(left_out) == 6, left_out  # remote access


def test_every_operation_outside_remote_access_is_answered(server):
    unsupported = []
    for name in MODEL.operation_names:
        if not awaited(name):
            continue
        response = server.call(name, {})
        assert response.status_code in (200, 400), (name, response.status_code, response.text)
        if response.status_code == 400 and response.json()["__type"] == "UnsupportedOperationException":
            unsupported.append(name)
    assert not unsupported, f"{len(unsupported)} operations answer UnsupportedOperationException: {unsupported}"
