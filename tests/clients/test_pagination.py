"""Pagination: pages of at most 50, boto3 paginators see every item exactly once, and a
nextToken that farmhand did not issue for that same list is an ArgumentException."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import error_code, own_uploads, unique

PAGE = 50


def pages_of(client, operation: str, key: str, **kwargs) -> list[list[dict]]:
    return [page[key] for page in client.get_paginator(operation).paginate(**kwargs)]


def assert_paged(pages: list[list[dict]], expected_total: int | None = None) -> list[str]:
    arns = [item["arn"] for page in pages for item in page]
    assert all(len(p) <= PAGE for p in pages), [len(p) for p in pages]
    # Every page but the last is full: a short page would mean the server ended early.
    assert all(len(p) == PAGE for p in pages[:-1]), [len(p) for p in pages]
    assert len(arns) == len(set(arns)), "an item appeared on two pages"
    if expected_total is not None:
        assert len(arns) == expected_total
    return arns


def tampered(token: str) -> str:
    i = len(token) // 2
    replacement = "A" if token[i] != "A" else "B"
    return token[:i] + replacement + token[i + 1:]


@pytest.fixture
def fresh_account(farm):
    """An account of its own, so that counts are exact whatever other tests created."""
    account = farm.create_account(unique("pages"))
    return account, farm.client(account)


def test_list_projects_paginator_returns_each_of_120_exactly_once(fresh_account):
    _, client = fresh_account
    created = {client.create_project(name=f"p{i:03}")["project"]["arn"] for i in range(120)}
    pages = pages_of(client, "list_projects", "projects")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert set(assert_paged(pages, 120)) == created

    first = client.list_projects()
    assert len(first["projects"]) == 50
    token = first["nextToken"]
    assert isinstance(token, str) and 4 <= len(token) <= 1024
    second = client.list_projects(nextToken=token)
    assert {p["arn"] for p in first["projects"]}.isdisjoint(p["arn"] for p in second["projects"])
    # A token can be used again: it names a position, not a one-shot cursor.
    assert client.list_projects(nextToken=token)["projects"] == second["projects"]


def test_tampered_next_token_is_argument_exception(fresh_account):
    _, client = fresh_account
    for i in range(51):
        client.create_project(name=f"t{i}")
    token = client.list_projects()["nextToken"]
    for bad in (tampered(token), token[:-4], "AAAAAAAAAAAAAAAAAAAA", token + "AAAA"):
        with pytest.raises(ClientError) as e:
            client.list_projects(nextToken=bad)
        assert error_code(e.value) == "ArgumentException", bad


def test_next_token_of_another_account_is_refused(farm, fresh_account):
    _, client = fresh_account
    for i in range(51):
        client.create_project(name=f"o{i}")
    token = client.list_projects()["nextToken"]
    with pytest.raises(ClientError) as e:
        farm.client().list_projects(nextToken=token)
    assert error_code(e.value) == "ArgumentException"


def test_uploads_paginator_and_tokens_bound_to_their_list(farm, fresh_account):
    _, client = fresh_account
    project = client.create_project(name="uploads")["project"]["arn"]
    other = client.create_project(name="other")["project"]["arn"]
    created = {
        client.create_upload(projectArn=project, name=f"spec{i:02}.yml", type="APPIUM_PYTHON_TEST_SPEC")["upload"]["arn"]
        for i in range(55)
    }
    pages = pages_of(client, "list_uploads", "uploads", arn=project)
    # Every project also lists the curated specs, which open the first page.
    only_curated = pages_of(client, "list_uploads", "uploads", arn=other)
    assert len(only_curated) == 1 and only_curated[0]
    assert all(u["category"] == "CURATED" for u in only_curated[0])
    curated = [u["arn"] for u in only_curated[0]]
    assert [len(p) for p in pages] == [50, 5 + len(curated)]
    assert [u["arn"] for u in pages[0][:len(curated)]] == curated
    assert set(assert_paged(pages, 55 + len(curated))) == created | set(curated)

    token = client.list_uploads(arn=project)["nextToken"]
    # The same token on another project's list, or on another operation, was not issued for it.
    for call in (
        lambda: client.list_uploads(arn=other, nextToken=token),
        lambda: client.list_projects(nextToken=token),
        lambda: client.list_uploads(arn=project, type="ANDROID_APP", nextToken=token),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "ArgumentException"


def test_device_pools_paginator(fresh_account):
    _, client = fresh_account
    project = client.create_project(name="pools")["project"]["arn"]
    rules = [{"attribute": "PLATFORM", "operator": "EQUALS", "value": '"ANDROID"'}]
    created = {client.create_device_pool(projectArn=project, name=f"pool{i:02}", rules=rules)["devicePool"]["arn"]
               for i in range(55)}
    curated = {p["arn"] for p in client.list_device_pools(arn=project, type="CURATED")["devicePools"]}
    pages = pages_of(client, "list_device_pools", "devicePools", arn=project)
    arns = set(assert_paged(pages, 55 + len(curated)))
    assert arns == created | curated

    private_pages = pages_of(client, "list_device_pools", "devicePools", arn=project, type="PRIVATE")
    assert [len(p) for p in private_pages] == [50, 5]
    assert set(assert_paged(private_pages, 55)) == created


def test_devices_paginator(server):
    client = server.client()
    pages = pages_of(client, "list_devices", "devices")
    arns = assert_paged(pages)
    assert len(arns) >= 14
    whole = client.list_devices()
    if len(arns) <= PAGE:
        assert "nextToken" not in whole
    assert [d["arn"] for d in whole["devices"]] == arns[:PAGE]


def test_uploads_list_type_filter(server, project):
    client = server.client()
    arn = project["arn"]
    apk = client.create_upload(projectArn=arn, name="a.apk", type="ANDROID_APP")["upload"]
    spec = client.create_upload(projectArn=arn, name="s.yml", type="APPIUM_PYTHON_TEST_SPEC")["upload"]
    client.create_upload(projectArn=arn, name="p.zip", type="APPIUM_PYTHON_TEST_PACKAGE")
    only_apps = client.list_uploads(arn=arn, type="ANDROID_APP")["uploads"]
    assert [u["arn"] for u in only_apps] == [apk["arn"]]
    only_specs = client.list_uploads(arn=arn, type="APPIUM_PYTHON_TEST_SPEC")["uploads"]
    assert [u["arn"] for u in own_uploads(only_specs)] == [spec["arn"]]
    assert {u["type"] for u in only_specs} == {"APPIUM_PYTHON_TEST_SPEC"}, "curated specs of that type, too"
    assert len(own_uploads(client.list_uploads(arn=arn)["uploads"])) == 3
