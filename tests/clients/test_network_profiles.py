"""Network profiles: CRUD with every member round-tripped, the model's ranges and names,
AWS's curated set (listed for every project, "Full" unshaped, read-only), type filter and
pages, the GitHub Action's look-up by name, and ScheduleRun's networkProfileArn copied onto
the run (GetRun/ListRuns return it whole, unchanged by a later update or delete)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from invariants import store_rows

from simfarm import Lab
from support import error_code, no_nulls, unique

CURATED_NAMES = {"Full", "Disabled", "GPRS", "EDGE Good", "EDGE Average", "EDGE Lossy", "3G Good", "3G Average",
                 "3G Lossy", "HSDPA", "WiFi Good", "WiFi Average", "WiFi Lossy"}
MEMBERS = ("uplinkBandwidthBits", "downlinkBandwidthBits", "uplinkDelayMs", "downlinkDelayMs",
           "uplinkJitterMs", "downlinkJitterMs", "uplinkLossPercent", "downlinkLossPercent")
SLOW = {"uplinkBandwidthBits": 64_000, "downlinkBandwidthBits": 256_000, "uplinkDelayMs": 150,
        "downlinkDelayMs": 120, "uplinkJitterMs": 30, "downlinkJitterMs": 20, "uplinkLossPercent": 2,
        "downlinkLossPercent": 1}


def expect(code: str, call, **kwargs) -> None:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response


def all_profiles(client, project_arn: str, **kwargs) -> list[dict]:
    pages = client.get_paginator("list_network_profiles").paginate(arn=project_arn, **kwargs)
    return [p for page in pages for p in page["networkProfiles"]]


def by_name(client, project_arn: str, name: str) -> dict:
    """What the GitHub Action does with its networkProfileArn input: list, match the name."""
    matches = [p for p in all_profiles(client, project_arn) if p["name"] == name]
    assert len(matches) == 1, matches
    return matches[0]


def test_crud_round_trips_every_member(farm, farm_project):
    client = farm.client()
    created = client.create_network_profile(projectArn=farm_project["arn"], name="slow 3g",
                                            description="a slow link", type="PRIVATE", **SLOW)["networkProfile"]
    assert created == {"arn": created["arn"], "name": "slow 3g", "description": "a slow link", "type": "PRIVATE", **SLOW}
    project_id = farm_project["arn"].rsplit(":", 1)[1]
    assert created["arn"].startswith(farm_project["arn"].split(":project:")[0] + f":networkprofile:{project_id}/")
    assert client.get_network_profile(arn=created["arn"])["networkProfile"] == created

    # Members left out keep their values; the ones given change.
    updated = client.update_network_profile(arn=created["arn"], name="slower", uplinkDelayMs=900,
                                            downlinkLossPercent=100)["networkProfile"]
    assert updated == {**created, "name": "slower", "uplinkDelayMs": 900, "downlinkLossPercent": 100}
    assert client.get_network_profile(arn=created["arn"])["networkProfile"] == updated
    assert by_name(client, farm_project["arn"], "slower") == updated

    client.delete_network_profile(arn=created["arn"])
    expect("NotFoundException", client.get_network_profile, arn=created["arn"])
    expect("NotFoundException", client.delete_network_profile, arn=created["arn"])
    assert "slower" not in {p["name"] for p in all_profiles(client, farm_project["arn"])}


def test_defaults_are_the_models(server, project):
    created = server.client().create_network_profile(projectArn=project["arn"], name="defaults")["networkProfile"]
    assert created["type"] == "PRIVATE"
    assert {m: created[m] for m in MEMBERS} == {
        "uplinkBandwidthBits": 104857600, "downlinkBandwidthBits": 104857600, "uplinkDelayMs": 0,
        "downlinkDelayMs": 0, "uplinkJitterMs": 0, "downlinkJitterMs": 0, "uplinkLossPercent": 0,
        "downlinkLossPercent": 0}
    assert "description" not in created


@pytest.mark.parametrize("bad", [
    {"uplinkBandwidthBits": 104857601}, {"downlinkBandwidthBits": -1}, {"uplinkDelayMs": 2001},
    {"downlinkDelayMs": -1}, {"uplinkJitterMs": 2001}, {"downlinkJitterMs": 5000}, {"uplinkLossPercent": 101},
    {"downlinkLossPercent": -1}, {"name": ""}, {"name": "x" * 257}, {"type": "CURATED"},
])
def test_out_of_range_members_and_bad_names_are_refused_and_change_nothing(server, project, bad):
    # Raw requests: botocore itself refuses some of these before sending (the model's
    # PercentInteger and Name bounds), and the server must refuse them all the same.
    def refused(operation: str, body: dict) -> None:
        response = server.call(operation, body)
        assert response.status_code == 400, response.text
        assert response.json()["__type"] == "ArgumentException", response.text

    client = server.client()
    refused("CreateNetworkProfile", {"projectArn": project["arn"], "name": "n", **bad})
    assert all_profiles(client, project["arn"], type="PRIVATE") == []
    existing = client.create_network_profile(projectArn=project["arn"], name="keep", **SLOW)["networkProfile"]
    refused("UpdateNetworkProfile", {"arn": existing["arn"], **bad})
    assert client.get_network_profile(arn=existing["arn"])["networkProfile"] == existing


def test_the_ranges_edges_are_accepted(server, project):
    edges = {"uplinkBandwidthBits": 0, "downlinkBandwidthBits": 104857600, "uplinkDelayMs": 2000,
             "downlinkDelayMs": 0, "uplinkJitterMs": 2000, "downlinkJitterMs": 0, "uplinkLossPercent": 100,
             "downlinkLossPercent": 0}
    created = server.client().create_network_profile(projectArn=project["arn"], name="edges", **edges)["networkProfile"]
    assert {m: created[m] for m in MEMBERS} == edges


def test_curated_profiles_are_listed_and_read_only(server):
    client = server.client()
    first = client.create_project(name=unique("np-a"))["project"]["arn"]
    curated = all_profiles(client, first, type="CURATED")
    assert {p["name"] for p in curated} == CURATED_NAMES
    assert all(p["type"] == "CURATED" and "::networkprofile:" in p["arn"] for p in curated), "account-less ARNs"
    full = by_name(client, first, "Full")
    assert {m: full[m] for m in MEMBERS} == {m: (104857600 if "Bandwidth" in m else 0) for m in MEMBERS}
    disabled = by_name(client, first, "Disabled")
    assert disabled["uplinkLossPercent"] == disabled["downlinkLossPercent"] == 100
    for p in curated:
        no_nulls(p)
        assert client.get_network_profile(arn=p["arn"])["networkProfile"] == p
    expect("ArgumentException", client.update_network_profile, arn=full["arn"], name="mine now")
    expect("ArgumentException", client.delete_network_profile, arn=full["arn"])
    assert client.get_network_profile(arn=full["arn"])["networkProfile"] == full


def test_curated_set_is_the_same_in_another_account(server):
    mine = server.client()
    account = server.create_account(unique("np-acct"))
    theirs = server.client(account)
    a = mine.create_project(name=unique("np"))["project"]["arn"]
    b = theirs.create_project(name=unique("np"))["project"]["arn"]
    assert all_profiles(mine, a, type="CURATED") == all_profiles(theirs, b, type="CURATED")


def test_type_filter_and_pages(server, project):
    client = server.client()
    made = [client.create_network_profile(projectArn=project["arn"], name=f"p{i:02}",
                                          uplinkDelayMs=i)["networkProfile"] for i in range(45)]
    private = all_profiles(client, project["arn"], type="PRIVATE")
    assert private == made, "the project's own, oldest first, every member"
    everything = all_profiles(client, project["arn"])
    assert len(everything) == len(CURATED_NAMES) + 45
    assert [p["type"] for p in everything[:len(CURATED_NAMES)]] == ["CURATED"] * len(CURATED_NAMES)
    first = client.list_network_profiles(arn=project["arn"])
    assert len(first["networkProfiles"]) == 50 and "nextToken" in first
    # A token is bound to its list: another filter does not accept it.
    expect("ArgumentException", client.list_network_profiles, arn=project["arn"], type="PRIVATE",
           nextToken=first["nextToken"])


def test_unknown_foreign_and_malformed_arns(server, project):
    client = server.client()
    other = server.client(server.create_account(unique("np-out")))
    mine = client.create_network_profile(projectArn=project["arn"], name="private")["networkProfile"]
    for call in (other.get_network_profile, other.delete_network_profile):
        expect("NotFoundException", call, arn=mine["arn"])
    expect("NotFoundException", other.update_network_profile, arn=mine["arn"], name="stolen")
    expect("NotFoundException", other.list_network_profiles, arn=project["arn"])
    expect("NotFoundException", other.create_network_profile, projectArn=project["arn"], name="x")
    missing = mine["arn"][:-12] + "000000000000"
    expect("NotFoundException", client.get_network_profile, arn=missing)
    expect("ArgumentException", client.get_network_profile, arn="not-an-arn-at-all-not-an-arn-at-all")
    expect("ArgumentException", client.get_network_profile, arn=project["arn"])
    assert client.get_network_profile(arn=mine["arn"])["networkProfile"] == mine


def android_pool(lab: Lab) -> str:
    devices = [d for page in lab.client.get_paginator("list_devices").paginate() for d in page["devices"]
               if d["platform"] == "ANDROID"]
    return lab.pool([devices[0]["arn"]])


def test_schedule_run_keeps_its_profile(server):
    lab = Lab(server, name="np-run")
    client = lab.client
    pool, package = android_pool(lab), lab.package()
    profile = client.create_network_profile(projectArn=lab.arn, name="run profile", description="d",
                                            **SLOW)["networkProfile"]
    run = lab.web_run(pool, package, configuration={"networkProfileArn": profile["arn"]})
    assert run["networkProfile"] == profile
    assert client.get_run(arn=run["arn"])["run"]["networkProfile"] == profile
    listed = [r for r in client.list_runs(arn=lab.arn)["runs"] if r["arn"] == run["arn"]]
    assert listed[0]["networkProfile"] == profile
    # What a device host applies: the shaping per direction, on the stored run.
    [[body]] = store_rows(server, f"SELECT body FROM resources WHERE arn = '{run['arn']}'")
    stored = json.loads(body)["network"]["profile"]
    assert stored["uplink"] == {"bandwidth_bits": 64_000, "delay_ms": 150, "jitter_ms": 30, "loss_percent": 2}
    assert stored["downlink"] == {"bandwidth_bits": 256_000, "delay_ms": 120, "jitter_ms": 20, "loss_percent": 1}

    # The run keeps its copy: a later update or delete of the profile does not reach it.
    client.update_network_profile(arn=profile["arn"], uplinkDelayMs=1999)
    client.delete_network_profile(arn=profile["arn"])
    assert client.get_run(arn=run["arn"])["run"]["networkProfile"] == profile

    full = by_name(client, lab.arn, "Full")
    curated_run = lab.web_run(pool, package, configuration={"networkProfileArn": full["arn"]})
    assert client.get_run(arn=curated_run["arn"])["run"]["networkProfile"] == full

    plain = lab.web_run(pool, package)
    assert "networkProfile" not in client.get_run(arn=plain["arn"])["run"]
    for r in (run, curated_run, plain):
        client.stop_run(arn=r["arn"])


def test_schedule_run_with_a_bad_profile_is_refused_and_stores_nothing(server):
    lab = Lab(server, name="np-bad")
    pool, package = android_pool(lab), lab.package()
    other = Lab(server, server.create_account(unique("np-foreign")), name="np-foreign")
    foreign = other.client.create_network_profile(projectArn=other.arn, name="theirs")["networkProfile"]["arn"]
    gone = lab.client.create_network_profile(projectArn=lab.arn, name="gone")["networkProfile"]["arn"]
    lab.client.delete_network_profile(arn=gone)
    for arn, code in [(foreign, "NotFoundException"), (gone, "NotFoundException"),
                      (lab.arn, "ArgumentException")]:
        expect(code, lab.web_run, pool_arn=pool, package_arn=package, configuration={"networkProfileArn": arn})
    assert lab.client.list_runs(arn=lab.arn)["runs"] == []


def test_aws_cli_lists_and_creates(server, project):
    created = server.aws("create-network-profile", "--project-arn", project["arn"], "--name", "cli",
                         "--uplink-delay-ms", "250")["networkProfile"]
    assert created["uplinkDelayMs"] == 250 and created["type"] == "PRIVATE"
    listed = server.aws("list-network-profiles", "--arn", project["arn"])["networkProfiles"]
    names = {p["name"] for p in listed}
    assert names == CURATED_NAMES | {"cli"}
