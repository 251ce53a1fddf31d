"""Every operation of the model answers: a pipeline written for AWS never meets
UnsupportedOperationException on farmhand. Each operation is called raw with an empty body so
that a missing handler shows as UnsupportedOperation rather than as a client-side check."""

from __future__ import annotations

import botocore.session

MODEL = botocore.session.get_session().get_service_model("devicefarm")


def test_the_model_still_has_its_77_operations():
    assert len(MODEL.operation_names) == 77, len(MODEL.operation_names)


def test_every_operation_is_answered(server):
    unsupported = []
    for name in MODEL.operation_names:
        response = server.call(name, {})
        assert response.status_code in (200, 400), (name, response.status_code, response.text)
        if response.status_code == 400 and response.json()["__type"] == "UnsupportedOperationException":
            unsupported.append(name)
    assert not unsupported, f"{len(unsupported)} operations answer UnsupportedOperationException: {unsupported}"
