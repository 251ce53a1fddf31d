"""Device pools: private pools with AWS's JSON-encoded rule values, curated pools, updates,
and GetDevicePoolCompatibility with real app uploads and test types."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from support import (
    ANDROID_API_VERSION, CURATED_POOL_ARN, DEVICE_ATTRIBUTES, POOL_ARN, PROJECT_ARN, error_code, make_apk, make_ipa,
    no_nulls, unique, upload_file, version_key,
)


def rule(attribute, operator, value):
    """AWS's rule values are JSON text: '"ANDROID"', '["Google","Samsung"]', '"13"'."""
    return {"attribute": attribute, "operator": operator, "value": json.dumps(value)}


@pytest.fixture(scope="module")
def fleet(server):
    return [d for page in server.client().get_paginator("list_devices").paginate() for d in page["devices"]]


def pool_devices(client, pool_arn, test_type="APPIUM_PYTHON", **kwargs) -> tuple[set[str], set[str], dict]:
    response = client.get_device_pool_compatibility(devicePoolArn=pool_arn, testType=test_type, **kwargs)
    compatible, incompatible, reasons = set(), set(), {}
    for key, bucket, flag in (("compatibleDevices", compatible, True), ("incompatibleDevices", incompatible, False)):
        for result in response.get(key, []):
            assert result["compatible"] is flag
            assert result["device"]["arn"] not in compatible | incompatible, "a device listed twice"
            bucket.add(result["device"]["arn"])
            messages = result.get("incompatibilityMessages", [])
            if flag:
                assert messages == []
            else:
                assert messages, result
            for m in messages:
                assert m["type"] in DEVICE_ATTRIBUTES and isinstance(m["message"], str) and m["message"]
            reasons[result["device"]["arn"]] = {m["type"] for m in messages}
    return compatible, incompatible, reasons


def members(client, pool_arn) -> set[str]:
    compatible, incompatible, _ = pool_devices(client, pool_arn)
    return compatible | incompatible


def where(fleet, predicate) -> set[str]:
    return {d["arn"] for d in fleet if predicate(d)}


def test_create_get_pool_every_field(server, project):
    client = server.client()
    rules = [rule("PLATFORM", "EQUALS", "ANDROID"), rule("OS_VERSION", "GREATER_THAN_OR_EQUALS", "13")]
    created = client.create_device_pool(projectArn=project["arn"], name="modern android", description="13 and up",
                                        rules=rules, maxDevices=3)["devicePool"]
    m = POOL_ARN.match(created["arn"])
    assert m, created["arn"]
    assert m.group(1) == server.account_id
    assert m.group(2) == PROJECT_ARN.match(project["arn"]).group(2)
    assert created == {
        "arn": created["arn"], "name": "modern android", "description": "13 and up", "type": "PRIVATE",
        "rules": rules, "maxDevices": 3,
    }
    assert client.get_device_pool(arn=created["arn"])["devicePool"] == created
    no_nulls(server.call("GetDevicePool", {"arn": created["arn"]}).json())


@pytest.mark.parametrize("rules,predicate", [
    ([rule("PLATFORM", "EQUALS", "IOS")], lambda d: d["platform"] == "IOS"),
    ([rule("PLATFORM", "IN", ["ANDROID", "IOS"])], lambda d: True),
    ([rule("PLATFORM", "NOT_IN", ["IOS"])], lambda d: d["platform"] == "ANDROID"),
    ([rule("FORM_FACTOR", "EQUALS", "TABLET")], lambda d: d["formFactor"] == "TABLET"),
    ([rule("FORM_FACTOR", "IN", ["PHONE"])], lambda d: d["formFactor"] == "PHONE"),
    ([rule("MANUFACTURER", "IN", ["Google", "Samsung"])], lambda d: d["manufacturer"] in ("Google", "Samsung")),
    ([rule("MANUFACTURER", "NOT_IN", ["Apple"])], lambda d: d["manufacturer"] != "Apple"),
    ([rule("MANUFACTURER", "EQUALS", "Apple")], lambda d: d["manufacturer"] == "Apple"),
    ([rule("MODEL", "CONTAINS", "Pixel")], lambda d: "Pixel" in d["model"]),
    ([rule("PLATFORM", "EQUALS", "ANDROID"), rule("OS_VERSION", "LESS_THAN", "12")],
     lambda d: d["platform"] == "ANDROID" and version_key(d["os"]) < (12,)),
    ([rule("PLATFORM", "EQUALS", "IOS"), rule("OS_VERSION", "GREATER_THAN", "17.4")],
     lambda d: d["platform"] == "IOS" and version_key(d["os"]) > (17, 4)),
    ([rule("PLATFORM", "EQUALS", "IOS"), rule("OS_VERSION", "LESS_THAN_OR_EQUALS", "16.6")],
     lambda d: d["platform"] == "IOS" and version_key(d["os"]) <= (16, 6)),
    ([rule("AVAILABILITY", "EQUALS", "HIGHLY_AVAILABLE")], lambda d: d["availability"] == "HIGHLY_AVAILABLE"),
    ([rule("FLEET_TYPE", "EQUALS", "PUBLIC")], lambda d: d["fleetType"] == "PUBLIC"),
    ([rule("REMOTE_ACCESS_ENABLED", "EQUALS", "TRUE")], lambda d: d["remoteAccessEnabled"]),
    ([rule("REMOTE_ACCESS_ENABLED", "EQUALS", "FALSE")], lambda d: not d["remoteAccessEnabled"]),
    # Both are documented as no longer constraining devices.
    ([rule("REMOTE_DEBUG_ENABLED", "EQUALS", "TRUE")], lambda d: True),
    ([rule("APPIUM_VERSION", "CONTAINS", "1.22")], lambda d: True),
    ([rule("MODEL", "IN", ["Apple iPhone 15", "Google Pixel 8"])], lambda d: d["model"] in ("Apple iPhone 15", "Google Pixel 8")),
    ([rule("MODEL", "NOT_IN", ["Apple iPhone 15"]), rule("PLATFORM", "EQUALS", "IOS")],
     lambda d: d["platform"] == "IOS" and d["model"] != "Apple iPhone 15"),
    ([rule("INSTANCE_LABELS", "CONTAINS", "tablet")],
     lambda d: any("tablet" in i["labels"] for i in d["instances"])),
], ids=lambda v: "+".join(f"{r['attribute']}-{r['operator']}" for r in v) if isinstance(v, list) else "")
def test_pool_rules_select_devices(server, project, fleet, rules, predicate):
    client = server.client()
    pool = client.create_device_pool(projectArn=project["arn"], name="rules", rules=rules)["devicePool"]
    assert pool["rules"] == rules
    assert "maxDevices" not in pool
    expected = where(fleet, predicate)
    assert expected, "the demo fleet should make every case non-empty"
    assert members(client, pool["arn"]) == expected


def test_pool_rules_on_device_and_instance_arns(server, project, fleet):
    client = server.client()
    a, b = fleet[0], fleet[-1]
    by_arn = client.create_device_pool(projectArn=project["arn"], name="arns",
                                       rules=[rule("ARN", "IN", [a["arn"], b["arn"]])])["devicePool"]
    assert members(client, by_arn["arn"]) == {a["arn"], b["arn"]}
    instance = a["instances"][0]["arn"]
    by_instance = client.create_device_pool(projectArn=project["arn"], name="instance",
                                            rules=[rule("INSTANCE_ARN", "IN", [instance])])["devicePool"]
    assert members(client, by_instance["arn"]) == {a["arn"]}
    by_equals = client.create_device_pool(projectArn=project["arn"], name="equals",
                                          rules=[rule("ARN", "EQUALS", b["arn"])])["devicePool"]
    assert members(client, by_equals["arn"]) == {b["arn"]}
    not_in = client.create_device_pool(projectArn=project["arn"], name="not-in",
                                       rules=[rule("ARN", "NOT_IN", [a["arn"]])])["devicePool"]
    assert members(client, not_in["arn"]) == {d["arn"] for d in fleet} - {a["arn"]}


def test_max_devices_caps_the_pool(server, project, fleet):
    client = server.client()
    rules = [rule("PLATFORM", "EQUALS", "ANDROID")]
    pool = client.create_device_pool(projectArn=project["arn"], name="capped", rules=rules, maxDevices=2)["devicePool"]
    assert pool["maxDevices"] == 2
    chosen = members(client, pool["arn"])
    assert len(chosen) == 2
    assert chosen <= where(fleet, lambda d: d["platform"] == "ANDROID")


def test_update_pool(server, project):
    client = server.client()
    pool = client.create_device_pool(projectArn=project["arn"], name="before", description="d",
                                      rules=[rule("PLATFORM", "EQUALS", "ANDROID")])["devicePool"]
    arn = pool["arn"]
    new_rules = [rule("PLATFORM", "EQUALS", "IOS"), rule("FORM_FACTOR", "EQUALS", "PHONE")]
    updated = client.update_device_pool(arn=arn, name="after", rules=new_rules, maxDevices=4)["devicePool"]
    assert updated == {"arn": arn, "name": "after", "description": "d", "type": "PRIVATE",
                       "rules": new_rules, "maxDevices": 4}
    only_description = client.update_device_pool(arn=arn, description="new")["devicePool"]
    assert only_description == {**updated, "description": "new"}
    cleared = client.update_device_pool(arn=arn, clearMaxDevices=True)["devicePool"]
    assert "maxDevices" not in cleared
    assert client.get_device_pool(arn=arn)["devicePool"] == cleared
    with pytest.raises(ClientError) as e:
        client.update_device_pool(arn=arn, maxDevices=2, clearMaxDevices=True)
    assert error_code(e.value) == "ArgumentException"


def test_delete_pool(server, project):
    client = server.client()
    arn = client.create_device_pool(projectArn=project["arn"], name="doomed",
                                    rules=[rule("PLATFORM", "EQUALS", "IOS")])["devicePool"]["arn"]
    assert set(client.delete_device_pool(arn=arn)) == {"ResponseMetadata"}
    with pytest.raises(ClientError) as e:
        client.get_device_pool(arn=arn)
    assert error_code(e.value) == "NotFoundException"
    assert arn not in {p["arn"] for p in client.list_device_pools(arn=project["arn"])["devicePools"]}


def test_curated_pools_are_listed_for_every_project(server, project, fleet):
    client = server.client()
    curated = client.list_device_pools(arn=project["arn"], type="CURATED")["devicePools"]
    assert curated, "at least one curated pool (a 'Top Devices'-style pool)"
    for pool in curated:
        assert CURATED_POOL_ARN.match(pool["arn"]), pool["arn"]
        assert pool["type"] == "CURATED"
        assert isinstance(pool["name"], str) and pool["name"]
        assert isinstance(pool["description"], str)
        assert isinstance(pool["rules"], list)
        assert client.get_device_pool(arn=pool["arn"])["devicePool"] == pool
        assert members(client, pool["arn"]) <= {d["arn"] for d in fleet}
        assert members(client, pool["arn"])
    # The same curated pools for another account's project.
    other = server.client(server.create_account(unique("curated")))
    other_project = other.create_project(name="p")["project"]["arn"]
    assert other.list_device_pools(arn=other_project, type="CURATED")["devicePools"] == curated
    mine = client.create_device_pool(projectArn=project["arn"], name="private",
                                     rules=[rule("PLATFORM", "EQUALS", "IOS")])["devicePool"]
    private = client.list_device_pools(arn=project["arn"], type="PRIVATE")["devicePools"]
    assert private == [mine]
    everything = client.list_device_pools(arn=project["arn"])["devicePools"]
    assert {p["arn"] for p in everything} == {p["arn"] for p in curated} | {mine["arn"]}


@pytest.mark.parametrize("rules", [
    [rule("PLATFORM", "CONTAINS", "ANDROID")],
    [rule("PLATFORM", "EQUALS", "WINDOWS")],
    [rule("PLATFORM", "IN", ["ANDROID", 3])],  # list items are strings
    [rule("PLATFORM", "EQUALS", "")],
    [rule("OS_VERSION", "CONTAINS", "13")],
    [rule("AVAILABILITY", "IN", ["AVAILABLE"])],
    [rule("FORM_FACTOR", "EQUALS", "WATCH")],
    [{"attribute": "PLATFORM", "operator": "EQUALS"}],
    [{"attribute": "NOT_AN_ATTRIBUTE", "operator": "EQUALS", "value": '"x"'}],
], ids=lambda r: f"{r[0].get('attribute')}-{r[0].get('operator')}-{r[0].get('value')}")
def test_invalid_rules_are_argument_exception(server, project, rules):
    client = server.client()
    with pytest.raises(ClientError) as e:
        client.create_device_pool(projectArn=project["arn"], name="bad", rules=rules)
    assert error_code(e.value) == "ArgumentException", e.value.response
    assert client.list_device_pools(arn=project["arn"], type="PRIVATE")["devicePools"] == []


def test_bare_rule_values_are_taken_as_text(server, project, fleet):
    """AWS's own UpdateDevicePool example sends a bare `True`: a value that is not JSON is the
    text itself, and a single JSON string for IN is a one-item list."""
    client = server.client()
    bare = client.create_device_pool(projectArn=project["arn"], name="bare", rules=[
        {"attribute": "PLATFORM", "operator": "EQUALS", "value": "ANDROID"},
        {"attribute": "REMOTE_ACCESS_ENABLED", "operator": "EQUALS", "value": "True"},
    ])["devicePool"]
    assert bare["rules"][0]["value"] == "ANDROID"
    assert members(client, bare["arn"]) == where(fleet, lambda d: d["platform"] == "ANDROID" and d["remoteAccessEnabled"])
    single = client.create_device_pool(projectArn=project["arn"], name="single",
                                       rules=[rule("MANUFACTURER", "IN", "Google")])["devicePool"]
    assert members(client, single["arn"]) == where(fleet, lambda d: d["manufacturer"] == "Google")


def test_invalid_max_devices(server, project):
    client = server.client()
    with pytest.raises(ClientError) as e:
        client.create_device_pool(projectArn=project["arn"], name="zero", rules=[rule("PLATFORM", "EQUALS", "IOS")],
                                  maxDevices=0)
    assert error_code(e.value) == "ArgumentException"


def test_pool_in_another_accounts_project_is_not_found(server, project):
    client = server.client()
    pool = client.create_device_pool(projectArn=project["arn"], name="mine", rules=[rule("PLATFORM", "EQUALS", "IOS")])
    other = server.client(server.create_account(unique("pools")))
    for call in (
        lambda: other.create_device_pool(projectArn=project["arn"], name="x", rules=[rule("PLATFORM", "EQUALS", "IOS")]),
        lambda: other.get_device_pool(arn=pool["devicePool"]["arn"]),
        lambda: other.list_device_pools(arn=project["arn"]),
        lambda: other.delete_device_pool(arn=pool["devicePool"]["arn"]),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "NotFoundException"
    assert client.get_device_pool(arn=pool["devicePool"]["arn"])["devicePool"] == pool["devicePool"]


# --- compatibility --------------------------------------------------------------------


@pytest.fixture
def everything_pool(server, project):
    return server.client().create_device_pool(
        projectArn=project["arn"], name="all", rules=[rule("PLATFORM", "IN", ["ANDROID", "IOS"])]
    )["devicePool"]


def test_compatibility_of_an_android_app(server, project, fleet, everything_pool):
    client = server.client()
    min_sdk = 33
    apk = upload_file(client, project["arn"], "app.apk", "ANDROID_APP", make_apk(min_sdk=min_sdk))
    assert apk["status"] == "SUCCEEDED", apk
    compatible, incompatible, reasons = pool_devices(client, everything_pool["arn"], "APPIUM_PYTHON", appArn=apk["arn"])
    minimum = version_key(ANDROID_API_VERSION[min_sdk])
    assert compatible == where(fleet, lambda d: d["platform"] == "ANDROID" and version_key(d["os"]) >= minimum)
    assert incompatible == {d["arn"] for d in fleet} - compatible
    for d in fleet:
        if d["platform"] == "IOS":
            assert "PLATFORM" in reasons[d["arn"]], reasons[d["arn"]]
        elif d["arn"] in incompatible:
            assert reasons[d["arn"]] == {"OS_VERSION"}, (d["os"], reasons[d["arn"]])


def test_compatibility_of_test_types(server, project, fleet, everything_pool):
    client = server.client()
    android = where(fleet, lambda d: d["platform"] == "ANDROID")
    ios = where(fleet, lambda d: d["platform"] == "IOS")
    compatible, incompatible, _ = pool_devices(client, everything_pool["arn"], "XCTEST")
    assert compatible == ios and incompatible == android
    compatible, incompatible, _ = pool_devices(client, everything_pool["arn"], "INSTRUMENTATION")
    assert compatible == android and incompatible == ios


def test_compatibility_of_an_ios_app(server, project, fleet, everything_pool):
    client = server.client()
    ipa = upload_file(client, project["arn"], "app.ipa", "IOS_APP", make_ipa(min_os="16.0"))
    assert ipa["status"] == "SUCCEEDED", ipa
    compatible, incompatible, reasons = pool_devices(client, everything_pool["arn"], "XCTEST_UI", appArn=ipa["arn"])
    assert compatible == where(fleet, lambda d: d["platform"] == "IOS" and version_key(d["os"]) >= (16,))
    assert incompatible == {d["arn"] for d in fleet} - compatible
    for arn in where(fleet, lambda d: d["platform"] == "ANDROID"):
        assert "PLATFORM" in reasons[arn]


def test_compatibility_needs_a_pool_of_the_caller(server, everything_pool):
    other = server.client(server.create_account(unique("compat")))
    with pytest.raises(ClientError) as e:
        other.get_device_pool_compatibility(devicePoolArn=everything_pool["arn"], testType="APPIUM_PYTHON")
    assert error_code(e.value) == "NotFoundException"
