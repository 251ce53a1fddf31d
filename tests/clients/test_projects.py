"""Projects and account settings through boto3, on every store backend."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from support import PROJECT_ARN, assert_recent, error_code, no_nulls, unique


def test_create_project_returns_every_field(farm):
    client = farm.client()
    name = unique("create")
    response = client.create_project(name=name)
    project = response["project"]
    assert set(project) - {"environmentVariables"} == {"arn", "name", "defaultJobTimeoutMinutes", "created"}, project
    assert project.get("environmentVariables", []) == []
    m = PROJECT_ARN.match(project["arn"])
    assert m, project["arn"]
    assert m.group(1) == farm.account_id
    assert project["name"] == name
    assert project["defaultJobTimeoutMinutes"] == 150
    assert isinstance(project["defaultJobTimeoutMinutes"], int)
    assert_recent(project["created"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ResponseMetadata"]["RequestId"]


def test_create_project_with_timeout_and_raw_wire_shape(farm):
    response = farm.call("CreateProject", {"name": unique("wire"), "defaultJobTimeoutMinutes": 60})
    assert response.status_code == 200, response.text
    body = response.json()
    no_nulls(body)
    project = body["project"]
    assert project["defaultJobTimeoutMinutes"] == 60
    # Timestamps are epoch seconds as JSON numbers.
    assert isinstance(project["created"], (int, float)) and not isinstance(project["created"], bool)
    now = dt.datetime.now(dt.timezone.utc).timestamp()
    assert abs(project["created"] - now) < 300
    assert response.headers["x-amzn-RequestId"]


def test_get_project_matches_create(farm, farm_project):
    got = farm.client().get_project(arn=farm_project["arn"])["project"]
    assert got == farm_project


def test_list_projects_contains_created_and_filters_by_arn(farm):
    client = farm.client()
    created = [client.create_project(name=unique("list"))["project"] for _ in range(3)]
    listed = [p for page in client.get_paginator("list_projects").paginate() for p in page["projects"]]
    by_arn = {p["arn"]: p for p in listed}
    for p in created:
        assert by_arn[p["arn"]] == p
    assert len(by_arn) == len(listed), "a project listed twice"
    # ListProjects' `arn` narrows the list to that one project.
    only = client.list_projects(arn=created[1]["arn"])
    assert only["projects"] == [created[1]]
    assert "nextToken" not in only


def test_update_project_changes_only_given_fields(farm, farm_project):
    client = farm.client()
    arn = farm_project["arn"]
    renamed = client.update_project(arn=arn, name="renamed")["project"]
    assert renamed["arn"] == arn
    assert renamed["name"] == "renamed"
    assert renamed["defaultJobTimeoutMinutes"] == farm_project["defaultJobTimeoutMinutes"]
    assert renamed["created"] == farm_project["created"]

    retimed = client.update_project(arn=arn, defaultJobTimeoutMinutes=30)["project"]
    assert retimed["name"] == "renamed"
    assert retimed["defaultJobTimeoutMinutes"] == 30
    assert client.get_project(arn=arn)["project"] == retimed


def test_delete_project_then_get_and_list_forget_it(farm, farm_project):
    client = farm.client()
    arn = farm_project["arn"]
    response = client.delete_project(arn=arn)
    assert set(response) == {"ResponseMetadata"}
    with pytest.raises(ClientError) as e:
        client.get_project(arn=arn)
    assert error_code(e.value) == "NotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Message"]
    listed = [p["arn"] for page in client.get_paginator("list_projects").paginate() for p in page["projects"]]
    assert arn not in listed
    with pytest.raises(ClientError) as e:
        client.delete_project(arn=arn)
    assert error_code(e.value) == "NotFoundException"
    with pytest.raises(ClientError) as e:
        client.update_project(arn=arn, name="ghost")
    assert error_code(e.value) == "NotFoundException"


def test_well_formed_arn_of_missing_project_is_not_found(farm):
    missing = f"arn:aws:devicefarm:us-west-2:{farm.account_id}:project:00000000-0000-4000-8000-000000000000"
    with pytest.raises(ClientError) as e:
        farm.client().get_project(arn=missing)
    assert error_code(e.value) == "NotFoundException"


def test_project_timeout_above_account_maximum_is_rejected(farm):
    client = farm.client()
    maximum = client.get_account_settings()["accountSettings"]["maxJobTimeoutMinutes"]
    with pytest.raises(ClientError) as e:
        client.create_project(name=unique("too-long"), defaultJobTimeoutMinutes=maximum + 1)
    assert error_code(e.value) == "ArgumentException"
    ok = client.create_project(name=unique("at-max"), defaultJobTimeoutMinutes=maximum)["project"]
    assert ok["defaultJobTimeoutMinutes"] == maximum


def test_get_account_settings(farm):
    response = farm.client().get_account_settings()
    settings = response["accountSettings"]
    assert settings["awsAccountNumber"] == farm.account_id
    assert len(settings["awsAccountNumber"]) == 12 and settings["awsAccountNumber"].isdigit()
    assert settings["defaultJobTimeoutMinutes"] == 150
    assert isinstance(settings["maxJobTimeoutMinutes"], int)
    assert settings["maxJobTimeoutMinutes"] >= 150
    assert isinstance(settings["unmeteredDevices"], dict)
    assert isinstance(settings["unmeteredRemoteAccessDevices"], dict)
    for counts in (settings["unmeteredDevices"], settings["unmeteredRemoteAccessDevices"]):
        for platform, n in counts.items():
            assert platform in ("ANDROID", "IOS"), platform
            assert isinstance(n, int) and n >= 0
    if "trialMinutes" in settings:
        trial = settings["trialMinutes"]
        assert isinstance(trial["total"], (int, float)) and isinstance(trial["remaining"], (int, float))
        assert 0 <= trial["remaining"] <= trial["total"]
    assert isinstance(settings.get("skipAppResign", False), bool)
    no_nulls(farm.call("GetAccountSettings", {}).json())
