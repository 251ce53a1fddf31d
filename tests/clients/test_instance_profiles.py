"""Instance profiles and device instance updates: profile CRUD with every field, pages,
accounts kept apart; UpdateDeviceInstance labels and profiles seen by the account that set
them (devices, instances, filters, pool rules, runs) and by no other account."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from harness import Farmhand, new_access_key, running
from simfarm import Lab, _toml_value, device, wait_for
from support import DEVICE_INSTANCE_ARN, INSTANCE_PROFILE_ARN, error_code, no_nulls, unique

ALPHA, BETA, GAMMA, PUBLIC = "IP Alpha", "IP Beta", "IP Gamma", "IP Public"
FLEET_PROFILE = {"id": "fleet-clean", "name": "Fleet clean", "package_cleanup": True,
                 "exclude_app_packages_from_cleanup": ["com.example.keep"], "reboot_after_use": False}
FLEET = [
    # (device, per-instance extras)
    (device("ip-alpha", ALPHA), [{"labels": ["rack-1"], "instance_profile": "fleet-clean"}]),
    (device("ip-beta", BETA, instances=2), [{}, {}]),
    (device("ip-gamma", GAMMA), [{}]),
    ({**device("ip-public", PUBLIC), "fleet_type": "PUBLIC"}, [{"labels": ["shared"]}]),
]


def fleet_toml() -> str:
    """A private fleet (one public device) whose first instance has labels and a fleet-file profile."""
    lines = ['[fleet]', 'type = "PRIVATE"', 'name = "Profile lab"', "", "[[instance_profile]]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in FLEET_PROFILE.items()]
    for spec, extras in FLEET:
        lines += ["", "[[device]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in spec.items() if k != "udids"]
        for udid, extra in zip(spec["udids"], extras, strict=True):
            lines += ["", "[[device.instance]]", f"udid = {json.dumps(udid)}"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def lab_farm(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("profiles")
    fleet = data_dir.parent / f"{data_dir.name}-fleet.toml"
    fleet.write_text(fleet_toml())
    with running(Farmhand(data_dir, root_key=new_access_key(),
                          extra_args=["--time-scale", "20", "--fleet", str(fleet)])) as farm:
        yield farm


@pytest.fixture
def accounts(lab_farm):
    """Two fresh accounts on the lab farm: what one sets, the other must not see."""
    a = lab_farm.create_account(unique("ip-a"))
    b = lab_farm.create_account(unique("ip-b"))
    return (a, lab_farm.client(a)), (b, lab_farm.client(b))


def devices_by_name(client) -> dict[str, dict]:
    return {d["name"]: d for page in client.get_paginator("list_devices").paginate() for d in page["devices"]}


def instances(client) -> dict[str, dict]:
    pages = client.get_paginator("list_device_instances").paginate()
    return {i["arn"]: i for page in pages for i in page["deviceInstances"]}


def rule(attribute, operator, value):
    return {"attribute": attribute, "operator": operator, "value": json.dumps(value)}


def labelled(client, label: str) -> set[str]:
    filters = [{"attribute": "INSTANCE_LABELS", "operator": "CONTAINS", "values": [label]}]
    return {d["name"] for page in client.get_paginator("list_devices").paginate(filters=filters)
            for d in page["devices"]}


def fleet_profile_arn(client) -> str:
    return devices_by_name(client)[ALPHA]["instances"][0]["instanceProfile"]["arn"]


# --- profiles -------------------------------------------------------------------------


def test_create_get_update_delete_profile_every_field(lab_farm, accounts):
    (account, client), _ = accounts
    full = client.create_instance_profile(
        name="clean lab", description="wipe between runs", packageCleanup=True,
        excludeAppPackagesFromCleanup=["com.example.keep", "com.example.also"], rebootAfterUse=False,
    )["instanceProfile"]
    m = INSTANCE_PROFILE_ARN.match(full["arn"])
    assert m and m.group(1) == account.id, full["arn"]
    assert full == {
        "arn": full["arn"], "name": "clean lab", "description": "wipe between runs", "packageCleanup": True,
        "excludeAppPackagesFromCleanup": ["com.example.keep", "com.example.also"], "rebootAfterUse": False,
    }
    assert client.get_instance_profile(arn=full["arn"])["instanceProfile"] == full
    no_nulls(lab_farm.call("GetInstanceProfile", {"arn": full["arn"]},
                           keys=(account.access_key_id, account.secret_access_key)).json())

    # The model's defaults: packageCleanup false for private devices, rebootAfterUse true.
    bare = client.create_instance_profile(name="bare")["instanceProfile"]
    assert bare == {"arn": bare["arn"], "name": "bare", "packageCleanup": False,
                    "excludeAppPackagesFromCleanup": [], "rebootAfterUse": True}
    assert bare["arn"] != full["arn"]

    # Each member changes alone; the others keep their values.
    steps = [
        ({"name": "renamed"}, {"name": "renamed"}),
        ({"description": "new text"}, {"description": "new text"}),
        ({"packageCleanup": False}, {"packageCleanup": False}),
        ({"excludeAppPackagesFromCleanup": ["com.only"]}, {"excludeAppPackagesFromCleanup": ["com.only"]}),
        ({"rebootAfterUse": True}, {"rebootAfterUse": True}),
        ({}, {}),
    ]
    expected = dict(full)
    for change, effect in steps:
        expected.update(effect)
        updated = client.update_instance_profile(arn=full["arn"], **change)["instanceProfile"]
        assert updated == expected, change
        assert client.get_instance_profile(arn=full["arn"])["instanceProfile"] == expected

    listed = {p["arn"]: p for page in client.get_paginator("list_instance_profiles").paginate()
              for p in page["instanceProfiles"]}
    assert listed == {full["arn"]: expected, bare["arn"]: bare}

    client.delete_instance_profile(arn=full["arn"])
    for call in (client.get_instance_profile, client.delete_instance_profile, client.update_instance_profile):
        with pytest.raises(ClientError) as e:
            call(arn=full["arn"])
        assert error_code(e.value) == "NotFoundException", call
    assert [p["arn"] for p in client.list_instance_profiles()["instanceProfiles"]] == [bare["arn"]]


def test_list_profiles_pages(lab_farm, accounts):
    (_, client), (_, other) = accounts
    created = [client.create_instance_profile(name=f"p{i:02}")["instanceProfile"]["arn"] for i in range(53)]

    first = client.list_instance_profiles()
    assert [p["arn"] for p in first["instanceProfiles"]] == created[:50]
    second = client.list_instance_profiles(nextToken=first["nextToken"])
    assert [p["arn"] for p in second["instanceProfiles"]] == created[50:]
    assert "nextToken" not in second

    pages = [[p["arn"] for p in page["instanceProfiles"]] for page in
             client.get_paginator("list_instance_profiles").paginate(PaginationConfig={"PageSize": 20})]
    assert [len(p) for p in pages] == [20, 20, 13]
    assert [arn for page in pages for arn in page] == created

    # A profile deleted between pages does not end the listing early.
    small = client.list_instance_profiles(maxResults=5)
    client.delete_instance_profile(arn=created[4])
    rest = client.list_instance_profiles(maxResults=50, nextToken=small["nextToken"])
    assert [p["arn"] for p in rest["instanceProfiles"]] == created[5:]
    assert "nextToken" not in rest

    # The token belongs to this account's list.
    with pytest.raises(ClientError) as e:
        other.list_instance_profiles(nextToken=small["nextToken"])
    assert error_code(e.value) == "ArgumentException"
    assert other.list_instance_profiles()["instanceProfiles"] == []


def test_another_accounts_profile_is_not_found(lab_farm, accounts):
    (_, client), (_, other) = accounts
    arn = client.create_instance_profile(name="private")["instanceProfile"]["arn"]
    instance = devices_by_name(other)[BETA]["instances"][0]["arn"]
    calls = [
        lambda: other.get_instance_profile(arn=arn),
        lambda: other.update_instance_profile(arn=arn, name="stolen"),
        lambda: other.delete_instance_profile(arn=arn),
        lambda: other.update_device_instance(arn=instance, profileArn=arn),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "NotFoundException"
    assert client.get_instance_profile(arn=arn)["instanceProfile"]["name"] == "private"
    assert "instanceProfile" not in other.get_device_instance(arn=instance)["deviceInstance"]


# --- device instances -------------------------------------------------------------------


def test_update_device_instance_is_seen_by_its_account_only(lab_farm, accounts):
    (_, client), (_, other) = accounts
    before = devices_by_name(client)[BETA]
    target, sibling = before["instances"]
    assert target["labels"] == [] and "instanceProfile" not in target
    profile = client.create_instance_profile(name="beta clean", packageCleanup=True, rebootAfterUse=False,
                                             excludeAppPackagesFromCleanup=["com.keep"])["instanceProfile"]

    updated = client.update_device_instance(arn=target["arn"], labels=["team-x", "gpu"],
                                            profileArn=profile["arn"])["deviceInstance"]
    assert DEVICE_INSTANCE_ARN.match(updated["arn"])
    assert updated == {**target, "labels": ["team-x", "gpu"], "instanceProfile": profile}

    # Every read of that account shows it.
    assert client.get_device_instance(arn=target["arn"])["deviceInstance"] == updated
    assert instances(client)[target["arn"]] == updated
    beta = client.get_device(arn=before["arn"])["device"]
    assert beta["instances"] == [updated, sibling]
    assert devices_by_name(client)[BETA] == beta

    # Another account sees the fleet's instance.
    assert other.get_device_instance(arn=target["arn"])["deviceInstance"] == target
    assert instances(other)[target["arn"]] == target
    assert other.get_device(arn=before["arn"])["device"]["instances"] == [target, sibling]
    assert devices_by_name(other)[BETA] == before

    # Members left out keep what the account set.
    only_labels = client.update_device_instance(arn=target["arn"], labels=["solo"])["deviceInstance"]
    assert only_labels == {**updated, "labels": ["solo"]}
    second = client.create_instance_profile(name="second")["instanceProfile"]
    only_profile = client.update_device_instance(arn=target["arn"], profileArn=second["arn"])["deviceInstance"]
    assert only_profile == {**only_labels, "instanceProfile": second}
    assert client.update_device_instance(arn=target["arn"])["deviceInstance"] == only_profile

    # The instance shows the profile as it is now, not a copy from when it was chosen.
    changed = client.update_instance_profile(arn=second["arn"], description="now described")["instanceProfile"]
    assert client.get_device_instance(arn=target["arn"])["deviceInstance"]["instanceProfile"] == changed

    # A profile in use cannot be deleted; once the instance has another, it can.
    with pytest.raises(ClientError) as e:
        client.delete_instance_profile(arn=second["arn"])
    assert error_code(e.value) == "ArgumentException"
    assert target["arn"] in e.value.response["Error"]["Message"]
    client.delete_instance_profile(arn=profile["arn"])  # no longer in use
    client.update_device_instance(arn=target["arn"], profileArn=fleet_profile_arn(client))
    client.delete_instance_profile(arn=second["arn"])


def test_fleet_profile_stays_until_the_account_chooses_another(lab_farm, accounts):
    (_, client), (_, other) = accounts
    alpha = devices_by_name(client)[ALPHA]["instances"][0]
    fleet_profile = alpha["instanceProfile"]
    assert fleet_profile["name"] == FLEET_PROFILE["name"]
    assert fleet_profile["packageCleanup"] is True and fleet_profile["rebootAfterUse"] is False
    assert fleet_profile["excludeAppPackagesFromCleanup"] == ["com.example.keep"]

    # The fleet file's profile (it names no owner) can be read by every account, changed by none.
    assert client.get_instance_profile(arn=fleet_profile["arn"])["instanceProfile"] == fleet_profile
    assert other.get_instance_profile(arn=fleet_profile["arn"])["instanceProfile"] == fleet_profile
    for call in (lambda: client.update_instance_profile(arn=fleet_profile["arn"], name="x"),
                 lambda: client.delete_instance_profile(arn=fleet_profile["arn"])):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "ArgumentException"
    assert client.list_instance_profiles()["instanceProfiles"] == []

    relabelled = client.update_device_instance(arn=alpha["arn"], labels=[])["deviceInstance"]
    assert relabelled == {**alpha, "labels": []}
    mine = client.create_instance_profile(name="mine")["instanceProfile"]
    chosen = client.update_device_instance(arn=alpha["arn"], profileArn=mine["arn"])["deviceInstance"]
    assert chosen["instanceProfile"] == mine
    assert other.get_device_instance(arn=alpha["arn"])["deviceInstance"] == alpha
    # Choosing the fleet's profile again goes back to it.
    back = client.update_device_instance(arn=alpha["arn"], profileArn=fleet_profile["arn"])["deviceInstance"]
    assert back == relabelled


@pytest.mark.parametrize("case", ["public", "missing", "project-arn", "missing-profile"])
def test_update_device_instance_errors(lab_farm, accounts, case):
    (account, client), _ = accounts
    devices = devices_by_name(client)
    beta = devices[BETA]["instances"][0]["arn"]
    project = client.create_project(name=unique("ip"))["project"]["arn"]
    args, code = {
        "public": ({"arn": devices[PUBLIC]["instances"][0]["arn"], "labels": ["x"]}, "ArgumentException"),
        "missing": ({"arn": "arn:aws:devicefarm:us-west-2::deviceinstance:00000000-0000-4000-8000-000000000000",
                     "labels": ["x"]}, "NotFoundException"),
        "project-arn": ({"arn": beta, "profileArn": project}, "ArgumentException"),
        "missing-profile": ({"arn": beta, "profileArn":
                             f"arn:aws:devicefarm:us-west-2:{account.id}:instanceprofile:"
                             "00000000-0000-4000-8000-000000000000"}, "NotFoundException"),
    }[case]
    with pytest.raises(ClientError) as e:
        client.update_device_instance(**args)
    assert error_code(e.value) == code
    # Nothing was saved by the refused call.
    assert client.get_device_instance(arn=beta)["deviceInstance"]["labels"] == []


# --- selection by the account's labels ------------------------------------------------------


def test_filters_pools_and_runs_select_by_the_accounts_labels(lab_farm, accounts):
    (account, client), (other_account, other) = accounts
    label = unique("bench")
    gamma = devices_by_name(client)[GAMMA]
    instance = gamma["instances"][0]["arn"]
    assert labelled(client, label) == set()
    client.update_device_instance(arn=instance, labels=[label, "plain"])

    # ListDevices filters: CONTAINS means some instance has the label (any case).
    assert labelled(client, label) == {GAMMA}
    assert labelled(client, label.upper()) == {GAMMA}
    assert labelled(client, label[:-2]) == set()
    assert labelled(other, label) == set()

    # A pool rule on INSTANCE_LABELS, and one on INSTANCE_ARN, in the account's project.
    lab = Lab(lab_farm, account, name="ip")
    pool = client.create_device_pool(projectArn=lab.arn, name="bench",
                                     rules=[rule("INSTANCE_LABELS", "CONTAINS", label)])["devicePool"]["arn"]
    compat = client.get_device_pool_compatibility(devicePoolArn=pool, testType="APPIUM_WEB_PYTHON")
    assert [d["device"]["name"] for d in compat["compatibleDevices"]] == [GAMMA]
    assert compat["compatibleDevices"][0]["device"]["instances"][0]["labels"] == [label, "plain"]

    # A run on that pool gets the labelled device, and its job shows the account's labels.
    package = lab.package()
    run = lab.web_run(pool, package)
    assert run["totalJobs"] == 1
    jobs = wait_for(lambda: {"jobs": lab.jobs(run["arn"])}, lambda v: len(v["jobs"]) == 1)["jobs"]
    assert jobs[0]["device"]["arn"] == gamma["arn"]
    assert jobs[0]["device"]["instances"][0]["labels"] == [label, "plain"]
    assert client.get_job(arn=jobs[0]["arn"])["job"]["device"]["instances"][0]["labels"] == [label, "plain"]

    # deviceSelectionConfiguration's filters see the labels too.
    selected = client.schedule_run(
        projectArn=lab.arn, name=unique("select"), test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package},
        deviceSelectionConfiguration={"maxDevices": 5, "filters": [
            {"attribute": "INSTANCE_LABELS", "operator": "CONTAINS", "values": [label]}]},
    )["run"]
    assert selected["totalJobs"] == 1
    assert selected["deviceSelectionResult"]["matchedDevicesCount"] == 1
    assert [j["device"]["arn"] for j in lab.jobs(selected["arn"])] == [gamma["arn"]]

    # The same rule in the other account's project selects nothing: the label is not theirs.
    other_lab = Lab(lab_farm, other_account, name="ip-other")
    other_pool = other.create_device_pool(projectArn=other_lab.arn, name="bench",
                                          rules=[rule("INSTANCE_LABELS", "CONTAINS", label)])["devicePool"]["arn"]
    other_compat = other.get_device_pool_compatibility(devicePoolArn=other_pool, testType="APPIUM_WEB_PYTHON")
    assert other_compat.get("compatibleDevices", []) == [] and other_compat.get("incompatibleDevices", []) == []
    with pytest.raises(ClientError) as e:
        other_lab.web_run(other_pool, other_lab.package())
    assert error_code(e.value) == "ArgumentException"


def test_pool_rule_on_instance_arn_uses_the_accounts_view(lab_farm, accounts):
    (account, client), _ = accounts
    beta = devices_by_name(client)[BETA]
    first = beta["instances"][0]["arn"]
    client.update_device_instance(arn=first, labels=["only-here"])
    lab = Lab(lab_farm, account, name="ip-arn")
    pool = client.create_device_pool(projectArn=lab.arn, name="by-instance",
                                      rules=[rule("INSTANCE_ARN", "IN", [first])])["devicePool"]["arn"]
    compat = client.get_device_pool_compatibility(devicePoolArn=pool, testType="APPIUM_WEB_PYTHON")
    [chosen] = compat["compatibleDevices"]
    assert chosen["device"]["arn"] == beta["arn"]
    assert chosen["device"]["instances"][0]["labels"] == ["only-here"]
