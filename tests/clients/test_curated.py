"""AWS's well-known curated identifiers, as public scripts hard-code them: the "Top Devices"
pool under AWS's own ARN, and the curated test specs ("Default TestSpec for …", category
CURATED) that every project lists, that download as YAML and that runs take as
`testSpecArn` (docs/curated-identifiers.md holds the evidence for each id)."""

from __future__ import annotations

import pytest
import requests
import yaml
from botocore.exceptions import ClientError

from simfarm import Lab, device, host_device, sim_fixture, wait_for
from support import CURATED_UPLOAD_ARN, TOP_DEVICES_ARN, error_code, make_ipa, make_zip, unique

# Older than the simulated phones, so "Top Devices" (the newest of each platform) leaves it out.
HOST = host_device("curated-host", "Curated Host", os="10")
PHONES = [device(f"curated-phone-{i}", f"Curated Phone {i}", os="14") for i in range(5)]

# The ids AWS's own examples pass as the testSpecArn of an APPIUM_PYTHON run.
AWS_PYTHON_SPECS = {
    "arn:aws:devicefarm:us-west-2::upload:101e31e8-12ac-11e9-ab14-d663bd873e83",  # developer guide
    "arn:aws:devicefarm:us-west-2::upload:20fcf771-eae3-4137-aa76-92e17fb3131b",  # SDK code library
}


farm = sim_fixture("curated", scale=1, fleet=[HOST, *PHONES])


def spec_types(client) -> list[str]:
    """Every `*_TEST_SPEC` upload type of the model the client speaks."""
    return [t for t in client.meta.service_model.shape_for("UploadType").enum if t.endswith("_TEST_SPEC")]


def without_url(upload: dict) -> dict:
    # The URL is presigned when it is handed out, so two answers differ in its signature.
    return {k: v for k, v in upload.items() if k != "url"}


def test_top_devices_is_served_under_awss_arn_and_cannot_be_changed(lab):
    client = lab.client
    pool = client.get_device_pool(arn=TOP_DEVICES_ARN)["devicePool"]
    assert (pool["name"], pool["type"], pool["description"]) == ("Top Devices", "CURATED", "Top devices")
    assert pool in client.list_device_pools(arn=lab.arn, type="CURATED")["devicePools"]
    other = Lab(lab.farm, lab.farm.create_account(unique("curated")))
    assert other.client.get_device_pool(arn=TOP_DEVICES_ARN)["devicePool"] == pool
    for call in (lambda: client.delete_device_pool(arn=TOP_DEVICES_ARN),
                 lambda: client.update_device_pool(arn=TOP_DEVICES_ARN, name="mine")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "ArgumentException", e.value.response
    assert client.get_device_pool(arn=TOP_DEVICES_ARN)["devicePool"] == pool


def test_schedule_run_takes_top_devices_by_awss_arn_and_still_checks_compatibility(lab):
    client = lab.client
    package = lab.upload("tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", make_zip({"tests/test_a.py": "def test_a():\n    pass\n"}))
    run = client.schedule_run(projectArn=lab.arn, appArn=lab.app(), devicePoolArn=TOP_DEVICES_ARN,
                              name=unique("top"), test={"type": "APPIUM_PYTHON", "testPackageArn": package["arn"]})["run"]
    assert run["devicePoolArn"] == TOP_DEVICES_ARN
    phones = {d["name"] for d in PHONES}
    assert {j["device"]["name"] for j in lab.jobs(run["arn"])} == phones, "the newest devices, not the old host"
    client.stop_run(arn=run["arn"])

    ios_app = lab.upload("app.ipa", "IOS_APP", make_ipa())["arn"]
    with pytest.raises(ClientError) as e:
        client.schedule_run(projectArn=lab.arn, appArn=ios_app, devicePoolArn=TOP_DEVICES_ARN, name=unique("ios"),
                            test={"type": "APPIUM_PYTHON", "testPackageArn": package["arn"]})
    assert error_code(e.value) == "ArgumentException", e.value.response
    assert "compatible" in e.value.response["Error"]["Message"]


def test_every_project_lists_a_curated_spec_per_test_spec_type_that_downloads_as_yaml(lab):
    client = lab.client
    everything = client.list_uploads(arn=lab.arn)["uploads"]
    curated = [u for u in everything if u["category"] == "CURATED"]
    assert curated and everything[:len(curated)] == curated, "AWS's curated specs come first"
    assert {u["type"] for u in curated} == set(spec_types(client))
    assert AWS_PYTHON_SPECS <= {u["arn"] for u in curated if u["type"] == "APPIUM_PYTHON_TEST_SPEC"}
    for spec_type in spec_types(client):
        listed = client.list_uploads(arn=lab.arn, type=spec_type)["uploads"]
        assert listed and all(u["type"] == spec_type for u in listed), spec_type
        for upload in listed:
            assert CURATED_UPLOAD_ARN.match(upload["arn"]), upload
            assert (upload["category"], upload["status"]) == ("CURATED", "SUCCEEDED"), upload
            assert upload["name"].startswith("Default TestSpec for "), upload
            assert without_url(client.get_upload(arn=upload["arn"])["upload"]) == without_url(upload)
            response = requests.get(upload["url"], timeout=10)
            assert response.status_code == 200, response.text
            spec = yaml.safe_load(response.text)
            assert str(spec["version"]) == "0.1", response.text
            assert any(phase.get("commands") for phase in spec["phases"].values()), response.text
            assert response.text.startswith(f"# {upload['name']}: "), response.text
    # The same specs in another account's project.
    other = Lab(lab.farm, lab.farm.create_account(unique("curated")))
    assert [u["arn"] for u in other.client.list_uploads(arn=other.arn)["uploads"]] == [u["arn"] for u in curated]


def test_curated_specs_cannot_be_changed_or_deleted_nor_taken_by_the_wrong_test_type(lab):
    client = lab.client
    (junit,) = client.list_uploads(arn=lab.arn, type="APPIUM_JAVA_JUNIT_TEST_SPEC")["uploads"]
    for call in (lambda: client.delete_upload(arn=junit["arn"]),
                 lambda: client.update_upload(arn=junit["arn"], name="mine"),
                 lambda: client.update_upload(arn=junit["arn"], editContent=True)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "ArgumentException", e.value.response
    assert without_url(client.get_upload(arn=junit["arn"])["upload"]) == without_url(junit)
    package = lab.upload("tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", make_zip({"tests/test_a.py": "def test_a():\n    pass\n"}))
    with pytest.raises(ClientError) as e:
        client.schedule_run(projectArn=lab.arn, appArn=lab.app(), devicePoolArn=TOP_DEVICES_ARN, name=unique("wrong"),
                            test={"type": "APPIUM_PYTHON", "testPackageArn": package["arn"], "testSpecArn": junit["arn"]})
    assert error_code(e.value) == "ArgumentException", e.value.response


def test_a_curated_spec_as_test_spec_arn_runs_the_default_on_a_host_device(lab):
    client = lab.client
    (spec,) = client.list_uploads(arn=lab.arn, type="APPIUM_WEB_PYTHON_TEST_SPEC")["uploads"]
    package = lab.upload("tests.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE", make_zip({
        "requirements.txt": "pytest\n",
        "tests/test_shop.py": "def test_login():\n    pass\n",
    }))
    host = next(d["arn"] for d in client.list_devices()["devices"] if d["name"] == HOST["name"])
    run = client.schedule_run(projectArn=lab.arn, devicePoolArn=lab.pool([host]), name=unique("curated-spec"),
                              test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package["arn"],
                                    "testSpecArn": spec["arn"]})["run"]
    assert run["testSpecArn"] == spec["arn"]
    (job,) = lab.jobs(run["arn"])
    final = wait_for(lambda: client.get_job(arn=job["arn"])["job"], lambda j: j["status"] == "COMPLETED",
                     timeout=300, what="the job to complete")
    assert final["result"] == "PASSED", final
    tests = [t["name"] for s in client.list_suites(arn=job["arn"])["suites"]
             for t in client.list_tests(arn=s["arn"])["tests"]]
    assert "tests.test_shop.test_login" in tests, tests
    files = {a["type"]: a for a in client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
    output = requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10).text
    downloaded = yaml.safe_load(requests.get(spec["url"], timeout=10).text)
    (pytest_command,) = [c for c in downloaded["phases"]["test"]["commands"] if "-m pytest" in c]
    assert pytest_command in output, "the commands the curated spec holds ran"
