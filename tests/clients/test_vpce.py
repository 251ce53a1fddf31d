"""VPC endpoint configurations: CRUD with every member, the model's limits, accounts kept
apart, pages; ScheduleRun's vpceConfigurationArns checked (exist, same account) and copied
onto the stored run as the names a host job resolves (serviceDnsName → vpceServiceName)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from invariants import store_rows
from simfarm import Lab
from support import error_code, no_nulls, unique

DB = {"vpceConfigurationName": "orders db", "vpceServiceName": "10.0.0.5:5432",
      "serviceDnsName": "db.orders.internal", "vpceConfigurationDescription": "the orders database"}


def expect(code: str, call, **kwargs) -> None:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response


def all_configs(client, **kwargs) -> list[dict]:
    pages = client.get_paginator("list_vpce_configurations").paginate(**kwargs)
    return [c for page in pages for c in page["vpceConfigurations"]]


def test_crud_round_trips_every_member(farm):
    client = farm.client(farm.create_account(unique("vpce")))
    created = client.create_vpce_configuration(**DB)["vpceConfiguration"]
    no_nulls(created)
    assert created == {"arn": created["arn"], **DB}
    account = created["arn"].split(":")[4]
    assert created["arn"].startswith(f"arn:aws:devicefarm:us-west-2:{account}:vpceconfiguration:")
    assert client.get_vpce_configuration(arn=created["arn"])["vpceConfiguration"] == created
    assert all_configs(client) == [created]

    updated = client.update_vpce_configuration(arn=created["arn"], vpceServiceName="db.example:6432",
                                               vpceConfigurationName="renamed")["vpceConfiguration"]
    assert updated == {**created, "vpceServiceName": "db.example:6432", "vpceConfigurationName": "renamed"}
    assert client.get_vpce_configuration(arn=created["arn"])["vpceConfiguration"] == updated

    client.delete_vpce_configuration(arn=created["arn"])
    expect("NotFoundException", client.get_vpce_configuration, arn=created["arn"])
    expect("NotFoundException", client.delete_vpce_configuration, arn=created["arn"])
    assert all_configs(client) == []


@pytest.mark.parametrize("bad", [
    {"vpceConfigurationName": ""}, {"vpceConfigurationName": "x" * 1025}, {"vpceServiceName": ""},
    {"vpceServiceName": "s" * 2049}, {"serviceDnsName": "not a dns name"}, {"serviceDnsName": "a..b"},
    {"serviceDnsName": "x" * 2049}, {"vpceConfigurationDescription": "d" * 2049},
])
def test_limits_and_bad_names_are_refused_and_change_nothing(server, bad):
    account = server.create_account(unique("vpce-bad"))
    client = server.client(account)
    keys = server.creds(account)
    response = server.call("CreateVPCEConfiguration", {**DB, **bad}, keys=keys)
    assert response.status_code == 400 and response.json()["__type"] == "ArgumentException", response.text
    assert all_configs(client) == []
    existing = client.create_vpce_configuration(**DB)["vpceConfiguration"]
    response = server.call("UpdateVPCEConfiguration", {"arn": existing["arn"], **bad}, keys=keys)
    assert response.status_code == 400 and response.json()["__type"] == "ArgumentException", response.text
    assert client.get_vpce_configuration(arn=existing["arn"])["vpceConfiguration"] == existing


def test_accounts_are_kept_apart_and_arns_checked(server):
    mine = server.client(server.create_account(unique("vpce-a")))
    theirs = server.client(server.create_account(unique("vpce-b")))
    config = mine.create_vpce_configuration(**DB)["vpceConfiguration"]
    expect("NotFoundException", theirs.get_vpce_configuration, arn=config["arn"])
    expect("NotFoundException", theirs.update_vpce_configuration, arn=config["arn"], vpceConfigurationName="x")
    expect("NotFoundException", theirs.delete_vpce_configuration, arn=config["arn"])
    assert all_configs(theirs) == []
    expect("NotFoundException", mine.get_vpce_configuration, arn=config["arn"][:-12] + "000000000000")
    project = mine.create_project(name=unique("p"))["project"]["arn"]
    expect("ArgumentException", mine.get_vpce_configuration, arn=project)
    assert mine.get_vpce_configuration(arn=config["arn"])["vpceConfiguration"] == config


def test_pages_honour_max_results(server):
    client = server.client(server.create_account(unique("vpce-pages")))
    made = [client.create_vpce_configuration(**{**DB, "vpceConfigurationName": f"c{i}"})["vpceConfiguration"]
            for i in range(7)]
    first = client.list_vpce_configurations(maxResults=3)
    assert first["vpceConfigurations"] == made[:3] and "nextToken" in first
    assert all_configs(client, PaginationConfig={"PageSize": 3}) == made
    assert all_configs(client) == made


def stored_network(farm, run_arn: str) -> dict:
    [[body]] = store_rows(farm, f"SELECT body FROM resources WHERE arn = '{run_arn}'")
    return json.loads(body)["network"]


def test_schedule_run_copies_the_names_onto_the_run(server):
    lab = Lab(server, server.create_account(unique("vpce-run")), name="vpce-run")
    client = lab.client
    devices = [d for page in client.get_paginator("list_devices").paginate() for d in page["devices"]
               if d["platform"] == "ANDROID"]
    pool, package = lab.pool([devices[0]["arn"]]), lab.package()
    db = client.create_vpce_configuration(**DB)["vpceConfiguration"]
    api = client.create_vpce_configuration(vpceConfigurationName="api", vpceServiceName="192.168.1.20",
                                           serviceDnsName="api.internal")["vpceConfiguration"]
    run = lab.web_run(pool, package, configuration={"vpceConfigurationArns": [db["arn"], api["arn"], db["arn"]]})
    assert stored_network(server, run["arn"])["aliases"] == [
        {"dns_name": "db.orders.internal", "target": "10.0.0.5:5432"},
        {"dns_name": "api.internal", "target": "192.168.1.20"},
    ]
    # The run keeps its copy.
    client.update_vpce_configuration(arn=db["arn"], vpceServiceName="10.9.9.9")
    client.delete_vpce_configuration(arn=api["arn"])
    assert [a["target"] for a in stored_network(server, run["arn"])["aliases"]] == ["10.0.0.5:5432", "192.168.1.20"]
    client.stop_run(arn=run["arn"])

    # Missing, another account's, or two services under one name: refused, no run stored.
    foreign = server.client(server.create_account(unique("vpce-x"))).create_vpce_configuration(**DB)
    clash = client.create_vpce_configuration(**{**DB, "vpceServiceName": "10.1.1.1"})["vpceConfiguration"]
    before = len(client.list_runs(arn=lab.arn)["runs"])
    for arns, code in [([api["arn"]], "NotFoundException"),
                       ([foreign["vpceConfiguration"]["arn"]], "NotFoundException"),
                       ([db["arn"], clash["arn"]], "ArgumentException"),
                       ([lab.arn], "ArgumentException")]:
        expect(code, lab.web_run, pool_arn=pool, package_arn=package, configuration={"vpceConfigurationArns": arns})
    assert len(client.list_runs(arn=lab.arn)["runs"]) == before


def test_aws_cli_create_and_list(server):
    account = server.create_account(unique("vpce-cli"))
    created = server.aws("create-vpce-configuration", "--vpce-configuration-name", "cli",
                         "--vpce-service-name", "10.0.0.9", "--service-dns-name", "cli.internal",
                         account=account)["vpceConfiguration"]
    assert created["serviceDnsName"] == "cli.internal"
    assert server.aws("list-vpce-configurations", account=account)["vpceConfigurations"] == [created]
