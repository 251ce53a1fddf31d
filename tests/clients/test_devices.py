"""Devices and device instances: the demo fleet field by field, ListDevices filters for
every attribute and operator the model allows (checked against the same rule applied here
to the unfiltered list), invalid filters, the legacy `arn` parameter."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from support import (
    AVAILABILITIES, DEVICE_ARN, DEVICE_INSTANCE_ARN, FORM_FACTORS, INSTANCE_PROFILE_ARN, INSTANCE_STATUSES,
    PLATFORMS, error_code, no_nulls, unique, version_key,
)


@pytest.fixture(scope="module")
def fleet(server):
    return [d for page in server.client().get_paginator("list_devices").paginate() for d in page["devices"]]


def check_instance(instance: dict, device_arn: str) -> None:
    assert DEVICE_INSTANCE_ARN.match(instance["arn"]), instance["arn"]
    assert instance["deviceArn"] == device_arn
    assert isinstance(instance["labels"], list) and all(isinstance(l, str) and l for l in instance["labels"])
    assert instance["status"] in INSTANCE_STATUSES
    assert isinstance(instance["udid"], str) and instance["udid"]
    if "instanceProfile" in instance:
        profile = instance["instanceProfile"]
        assert INSTANCE_PROFILE_ARN.match(profile["arn"]), profile
        assert isinstance(profile["name"], str)
        assert isinstance(profile.get("packageCleanup", False), bool)
        assert isinstance(profile.get("rebootAfterUse", True), bool)


def check_device(d: dict) -> None:
    assert DEVICE_ARN.match(d["arn"]), d["arn"]
    for key in ("name", "manufacturer", "model", "modelId", "os", "image", "radio", "fleetName"):
        assert isinstance(d[key], str) and d[key], (key, d)
    # Wi-Fi-only devices have no carrier: the member is then omitted.
    assert isinstance(d.get("carrier", "-"), str) and d.get("carrier", "-")
    assert d["platform"] in PLATFORMS
    assert d["formFactor"] in FORM_FACTORS
    assert re.fullmatch(r"\d+(\.\d+)*", d["os"]), d["os"]
    cpu = d["cpu"]
    assert isinstance(cpu["frequency"], str) and cpu["frequency"]
    assert isinstance(cpu["architecture"], str) and cpu["architecture"]
    # Real Device Farm reports e.g. {"frequency": "MHz", "clock": 2150.0}: the unit is in `frequency`.
    assert cpu["frequency"] in ("Hz", "MHz", "GHz"), cpu
    assert isinstance(cpu["clock"], (int, float)) and cpu["clock"] > 0
    assert isinstance(d["resolution"]["width"], int) and d["resolution"]["width"] > 0
    assert isinstance(d["resolution"]["height"], int) and d["resolution"]["height"] > 0
    # Java heap is an Android notion; real Device Farm reports 0 for iOS devices.
    assert isinstance(d["heapSize"], int) and (d["heapSize"] > 0 or d["platform"] == "IOS")
    assert isinstance(d["memory"], int) and d["memory"] > d["heapSize"]
    assert isinstance(d["remoteAccessEnabled"], bool)
    assert isinstance(d["remoteDebugEnabled"], bool)
    assert d["fleetType"] in ("PUBLIC", "PRIVATE")
    assert d["availability"] in AVAILABILITIES
    assert isinstance(d["instances"], list)
    for instance in d["instances"]:
        check_instance(instance, d["arn"])
    if d["platform"] == "IOS":
        assert d["manufacturer"] == "Apple"


def test_demo_fleet_is_varied_and_complete(fleet):
    assert len(fleet) >= 14
    for d in fleet:
        check_device(d)
    assert len({d["arn"] for d in fleet}) == len(fleet)
    combos = {(d["platform"], d["formFactor"]) for d in fleet}
    assert combos == {(p, f) for p in PLATFORMS for f in FORM_FACTORS}, combos
    assert len({d["manufacturer"] for d in fleet if d["platform"] == "ANDROID"}) >= 3
    for platform in PLATFORMS:
        assert len({d["os"] for d in fleet if d["platform"] == platform}) >= 2
    assert any(d["instances"] for d in fleet)


def test_list_devices_raw_wire_has_no_nulls(server):
    response = server.call("ListDevices", {})
    assert response.status_code == 200
    no_nulls(response.json())


def test_get_device_equals_listed(server, fleet):
    client = server.client()
    for d in fleet:
        assert client.get_device(arn=d["arn"])["device"] == d


def test_get_unknown_device_is_not_found(server):
    with pytest.raises(ClientError) as e:
        server.client().get_device(arn="arn:aws:devicefarm:us-west-2::device:0123456789ABCDEF0123456789ABCDEF")
    assert error_code(e.value) == "NotFoundException"


def test_device_instances(server, fleet):
    client = server.client()
    from_devices = {i["arn"]: i for d in fleet for i in d["instances"]}
    assert from_devices
    for arn, instance in from_devices.items():
        assert client.get_device_instance(arn=arn)["deviceInstance"] == instance
    listed = [i for page in client.get_paginator("list_device_instances").paginate() for i in page["deviceInstances"]]
    for instance in listed:
        assert from_devices[instance["arn"]] == instance
    assert len({i["arn"] for i in listed}) == len(listed)
    if len(listed) > 2:
        first = client.list_device_instances(maxResults=2)
        assert len(first["deviceInstances"]) == 2
        assert first["nextToken"]
    with pytest.raises(ClientError) as e:
        client.get_device_instance(arn="arn:aws:devicefarm:us-west-2::deviceinstance:00000000-0000-4000-8000-000000000000")
    assert error_code(e.value) == "NotFoundException"


# --- filters --------------------------------------------------------------------------


def listed(server, filters) -> set[str]:
    pages = server.client().get_paginator("list_devices").paginate(filters=filters)
    return {d["arn"] for page in pages for d in page["devices"]}


def where(fleet, predicate) -> set[str]:
    return {d["arn"] for d in fleet if predicate(d)}


def f(attribute, operator, *values):
    return {"attribute": attribute, "operator": operator, "values": list(values)}


def test_filter_platform_form_factor_availability_fleet_type(server, fleet):
    for platform in PLATFORMS:
        expected = where(fleet, lambda d: d["platform"] == platform)
        assert expected and listed(server, [f("PLATFORM", "EQUALS", platform)]) == expected
    for form in FORM_FACTORS:
        assert listed(server, [f("FORM_FACTOR", "EQUALS", form)]) == where(fleet, lambda d: d["formFactor"] == form)
    for availability in AVAILABILITIES:
        expected = where(fleet, lambda d: d["availability"] == availability)
        assert listed(server, [f("AVAILABILITY", "EQUALS", availability)]) == expected
    assert listed(server, [f("FLEET_TYPE", "EQUALS", "PUBLIC")]) == where(fleet, lambda d: d["fleetType"] == "PUBLIC")
    assert listed(server, [f("FLEET_TYPE", "EQUALS", "PRIVATE")]) == where(fleet, lambda d: d["fleetType"] == "PRIVATE")


def test_filter_booleans(server, fleet):
    for value, flag in (("TRUE", True), ("FALSE", False)):
        expected = where(fleet, lambda d: d["remoteAccessEnabled"] is flag)
        assert listed(server, [f("REMOTE_ACCESS_ENABLED", "EQUALS", value)]) == expected
    # The model documents that REMOTE_DEBUG_ENABLED is ignored (the feature is gone).
    everything = {d["arn"] for d in fleet}
    assert listed(server, [f("REMOTE_DEBUG_ENABLED", "EQUALS", "TRUE")]) == everything
    assert listed(server, [f("REMOTE_DEBUG_ENABLED", "EQUALS", "FALSE")]) == everything


def test_filter_arn(server, fleet):
    a, b, c = fleet[0]["arn"], fleet[1]["arn"], fleet[2]["arn"]
    assert listed(server, [f("ARN", "EQUALS", a)]) == {a}
    assert listed(server, [f("ARN", "IN", a, b)]) == {a, b}
    assert listed(server, [f("ARN", "NOT_IN", a, c)]) == {d["arn"] for d in fleet} - {a, c}


def test_filter_os_version_every_operator(server, fleet):
    android = [d for d in fleet if d["platform"] == "ANDROID"]
    versions = sorted({d["os"] for d in android}, key=version_key)
    pivot = versions[len(versions) // 2]
    p = [f("PLATFORM", "EQUALS", "ANDROID")]
    key = lambda d: version_key(d["os"])  # noqa: E731
    pk = version_key(pivot)
    cases = {
        "EQUALS": lambda d: key(d) == pk,
        "GREATER_THAN": lambda d: key(d) > pk,
        "GREATER_THAN_OR_EQUALS": lambda d: key(d) >= pk,
        "LESS_THAN": lambda d: key(d) < pk,
        "LESS_THAN_OR_EQUALS": lambda d: key(d) <= pk,
    }
    for operator, predicate in cases.items():
        assert listed(server, p + [f("OS_VERSION", operator, pivot)]) == where(android, predicate), operator
    two = versions[:2]
    assert listed(server, p + [f("OS_VERSION", "IN", *two)]) == where(android, lambda d: d["os"] in two)
    assert listed(server, p + [f("OS_VERSION", "NOT_IN", *two)]) == where(android, lambda d: d["os"] not in two)
    # Versions compare as numbers: "9" is lower than "10".
    assert listed(server, p + [f("OS_VERSION", "GREATER_THAN", "9")]) == where(android, lambda d: key(d) > (9,))


def test_filter_model_and_manufacturer(server, fleet):
    model = fleet[0]["model"]
    assert listed(server, [f("MODEL", "EQUALS", model)]) == where(fleet, lambda d: d["model"] == model)
    part = max(model.split(), key=len)
    assert listed(server, [f("MODEL", "CONTAINS", part)]) == where(fleet, lambda d: part in d["model"])
    two = [fleet[0]["model"], fleet[-1]["model"]]
    assert listed(server, [f("MODEL", "IN", *two)]) == where(fleet, lambda d: d["model"] in two)
    assert listed(server, [f("MODEL", "NOT_IN", *two)]) == where(fleet, lambda d: d["model"] not in two)

    makers = sorted({d["manufacturer"] for d in fleet})
    assert listed(server, [f("MANUFACTURER", "EQUALS", "Apple")]) == where(fleet, lambda d: d["manufacturer"] == "Apple")
    assert listed(server, [f("MANUFACTURER", "IN", *makers[:2])]) == where(fleet, lambda d: d["manufacturer"] in makers[:2])
    assert listed(server, [f("MANUFACTURER", "NOT_IN", "Apple")]) == where(fleet, lambda d: d["manufacturer"] != "Apple")


def test_filter_instances(server, fleet):
    with_instances = [d for d in fleet if d["instances"]]
    target = with_instances[0]
    instance = target["instances"][0]["arn"]
    assert listed(server, [f("INSTANCE_ARN", "EQUALS", instance)]) == {target["arn"]}
    other = with_instances[-1]["instances"][0]["arn"]
    assert listed(server, [f("INSTANCE_ARN", "IN", instance, other)]) == {target["arn"], with_instances[-1]["arn"]}
    excluded = listed(server, [f("INSTANCE_ARN", "NOT_IN", instance)])
    assert target["arn"] not in excluded or len(target["instances"]) > 1
    assert with_instances[-1]["arn"] in excluded or with_instances[-1] is target

    label = next(l for d in with_instances for i in d["instances"] for l in i["labels"])
    exact = where(fleet, lambda d: any(label in i["labels"] for i in d["instances"]))
    substring = where(fleet, lambda d: any(label in l for i in d["instances"] for l in i["labels"]))
    got = listed(server, [f("INSTANCE_LABELS", "CONTAINS", label)])
    assert exact <= got <= substring, (label, got)


def test_filters_combine_with_and(server, fleet):
    got = listed(server, [f("PLATFORM", "EQUALS", "ANDROID"), f("FORM_FACTOR", "EQUALS", "TABLET")])
    expected = where(fleet, lambda d: d["platform"] == "ANDROID" and d["formFactor"] == "TABLET")
    assert expected and got == expected


@pytest.mark.parametrize("bad", [
    f("PLATFORM", "CONTAINS", "ANDROID"),
    f("PLATFORM", "EQUALS", "ANDROID", "IOS"),
    f("PLATFORM", "EQUALS", "WINDOWS"),
    f("OS_VERSION", "CONTAINS", "14"),
    f("OS_VERSION", "GREATER_THAN", "14", "15"),
    f("AVAILABILITY", "EQUALS", "SOMETIMES"),
    f("FORM_FACTOR", "EQUALS", "WATCH"),
    f("REMOTE_ACCESS_ENABLED", "EQUALS", "MAYBE"),
    f("INSTANCE_LABELS", "EQUALS", "flagship"),
    f("ARN", "GREATER_THAN", "arn:aws:devicefarm:us-west-2::device:0123456789ABCDEF0123456789ABCDEF"),
    f("MANUFACTURER", "CONTAINS", "App"),
    f("FLEET_TYPE", "EQUALS", "SHARED"),
    f("MODEL", "EQUALS"),
    f("APPIUM_VERSION", "CONTAINS", "1.9"),
    f("PLATFORM", "SOUNDS_LIKE", "ANDROID"),
], ids=lambda bad: f"{bad['attribute']}-{bad['operator']}-{len(bad['values'])}")
def test_invalid_filter_is_argument_exception(server, bad):
    with pytest.raises(ClientError) as e:
        server.client().list_devices(filters=[bad])
    assert error_code(e.value) == "ArgumentException", e.value.response
    assert e.value.response["Error"]["Message"]


def test_legacy_arn_parameter_names_a_project(server, fleet, project):
    client = server.client()
    devices = [d["arn"] for d in client.list_devices(arn=project["arn"])["devices"]]
    # A project sees the whole public fleet.
    assert set(devices) == {d["arn"] for d in fleet}
    account = server.create_account(unique("legacy"))
    with pytest.raises(ClientError) as e:
        server.client(account).list_devices(arn=project["arn"])
    assert error_code(e.value) == "NotFoundException"
