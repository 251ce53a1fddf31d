"""TagResource / UntagResource / ListTagsForResource on the taggable resources."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import error_code, unique

ANDROID_ONLY = [{"attribute": "PLATFORM", "operator": "EQUALS", "value": '"ANDROID"'}]


def tags_of(client, arn) -> dict[str, str]:
    response = client.list_tags_for_resource(ResourceARN=arn)
    assert isinstance(response["Tags"], list)
    for tag in response["Tags"]:
        assert set(tag) == {"Key", "Value"}
    keys = [t["Key"] for t in response["Tags"]]
    assert len(keys) == len(set(keys)), "a key listed twice"
    return {t["Key"]: t["Value"] for t in response["Tags"]}


@pytest.fixture
def taggable(server, project):
    client = server.client()
    pool = client.create_device_pool(projectArn=project["arn"], name="tagged", rules=ANDROID_ONLY)["devicePool"]
    device = client.list_devices()["devices"][0]
    return {"project": project["arn"], "devicepool": pool["arn"], "device": device["arn"]}


@pytest.mark.parametrize("kind", ["project", "devicepool", "device"])
def test_tag_list_untag(server, taggable, kind):
    client = server.client()
    arn = taggable[kind]
    assert tags_of(client, arn) == {}
    response = client.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "mobile"}, {"Key": "env", "Value": "ci"}])
    assert set(response) == {"ResponseMetadata"}
    assert tags_of(client, arn) == {"team": "mobile", "env": "ci"}
    # Tagging an existing key replaces its value.
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "empty", "Value": ""}])
    assert tags_of(client, arn) == {"team": "mobile", "env": "prod", "empty": ""}
    client.untag_resource(ResourceARN=arn, TagKeys=["team", "not-there"])
    assert tags_of(client, arn) == {"env": "prod", "empty": ""}


def test_device_tags_are_per_account(server, taggable):
    device = taggable["device"]
    server.client().tag_resource(ResourceARN=device, Tags=[{"Key": "mine", "Value": "yes"}])
    other = server.client(server.create_account(unique("tags")))
    assert tags_of(other, device) == {}


def test_tags_survive_until_the_project_is_deleted(server, project):
    client = server.client()
    client.tag_resource(ResourceARN=project["arn"], Tags=[{"Key": "k", "Value": "v"}])
    client.delete_project(arn=project["arn"])
    with pytest.raises(ClientError) as e:
        client.list_tags_for_resource(ResourceARN=project["arn"])
    assert error_code(e.value) == "NotFoundException"


def test_uploads_are_not_taggable(server, project):
    client = server.client()
    upload = client.create_upload(projectArn=project["arn"], name="a.apk", type="ANDROID_APP")["upload"]
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceARN=upload["arn"], Tags=[{"Key": "k", "Value": "v"}])
    assert error_code(e.value) in ("ArgumentException", "InvalidOperationException", "TagOperationException")


def test_tag_limits(server, project):
    client = server.client()
    arn = project["arn"]
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": "k" * 129, "Value": "v"}])
    assert error_code(e.value) == "ArgumentException"
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v" * 257}])
    assert error_code(e.value) == "ArgumentException"
    # AWS allows 50 tags per resource.
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": "one-too-many", "Value": "v"}])
    assert error_code(e.value) == "TooManyTagsException"
    assert len(tags_of(client, arn)) == 50


def test_tagging_another_accounts_project_is_not_found(server, project):
    other = server.client(server.create_account(unique("tags")))
    for call in (
        lambda: other.tag_resource(ResourceARN=project["arn"], Tags=[{"Key": "k", "Value": "v"}]),
        lambda: other.list_tags_for_resource(ResourceARN=project["arn"]),
        lambda: other.untag_resource(ResourceARN=project["arn"], TagKeys=["k"]),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "NotFoundException"
    assert tags_of(server.client(), project["arn"]) == {}
