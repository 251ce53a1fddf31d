"""Artifacts and the video endpoint of simulated jobs, downloaded with a plain HTTP client:
ListArtifacts at run, job, suite and test level for each category, real content behind each
presigned URL, and refusal of a URL that was tampered with."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import requests

from simfarm import Scenario, SimTest, device, one_finished_run, suite_arn
from simfarm import test_arn as arn_of_test  # imported under another name: pytest would collect test_*

FLEET = [device("art-one", "Art One")]
SCENARIO = Scenario(setup=1, teardown=1, tests=(SimTest("opens", 2), SimTest("pays", 2, "FAILED", "card declined")))
ARTIFACT_ARN = re.compile(r"^arn:aws:devicefarm:us-west-2:\d{12}:artifact:[0-9a-f-]{36}/[0-9a-f-]{36}/\d{5}/\d{5}/\d{5}/\d{5}$")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    with one_finished_run(tmp_path_factory.mktemp("artifacts"), FLEET, "Art One", SCENARIO) as (lab, run, job):
        yield lab, run, job


def listed(lab, arn, category):
    return lab.client.list_artifacts(arn=arn, type=category)["artifacts"]


def test_each_category_lists_real_downloads(finished):
    lab, run, job = finished
    (log,) = listed(lab, run["arn"], "LOG")
    assert (log["name"], log["type"], log["extension"]) == ("Device Log", "DEVICE_LOG", "txt")
    assert ARTIFACT_ARN.match(log["arn"]) and log["arn"].startswith(job["arn"].replace(":job:", ":artifact:"))
    text = requests.get(log["url"], timeout=10).text
    assert "started: opens" in text and "finished: pays FAILED: card declined" in text

    files = {a["name"]: a for a in listed(lab, job["arn"], "FILE")}
    # AWS's files of a job without customer artifacts (test_sim_artifacts covers them).
    assert files.keys() == {"Test Results", "Test spec output", "Video"}
    results = files["Test Results"]
    assert (results["type"], results["extension"]) == ("RESULT_LOG", "xml")
    suite = ET.fromstring(requests.get(results["url"], timeout=10).content)
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    assert [c.get("name") for c in suite.findall("testcase")] == ["opens", "pays"]

    shots = listed(lab, job["arn"], "SCREENSHOT")
    assert [s["name"] for s in shots] == ["opens", "pays"]
    for shot in shots:
        response = requests.get(shot["url"], timeout=10)
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_suite_and_test_level_listing(finished):
    lab, _, job = finished
    tests_suite = suite_arn(job["arn"], 1)
    assert [a["name"] for a in listed(lab, tests_suite, "SCREENSHOT")] == ["opens", "pays"]
    assert listed(lab, tests_suite, "LOG") == []
    assert [a["name"] for a in listed(lab, arn_of_test(job["arn"], 1, 1), "SCREENSHOT")] == ["pays"]
    assert [a["name"] for a in listed(lab, arn_of_test(job["arn"], 0, 0), "LOG")] == ["Device Log"]


def test_tampered_urls_are_refused(finished):
    lab, _, job = finished
    (log,) = listed(lab, job["arn"], "LOG")
    other = log["url"].replace("/00000/00000/00000/00000?", "/00000/00000/00000/00001?")
    assert requests.get(other, timeout=10).status_code == 403
    assert requests.get(log["url"].split("?")[0], timeout=10).status_code in (400, 403)
    forged = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "0" * 64, log["url"])
    assert requests.get(forged, timeout=10).status_code == 403


def test_video_endpoint_streams_frames(finished):
    lab, _, job = finished
    endpoint = lab.client.get_job(arn=job["arn"])["job"]["videoEndpoint"]
    with requests.get(endpoint, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace")
        body = b"".join(response.iter_content(4096))
    assert body.startswith(b"--frame\r\nContent-Type: image/png")
    assert b"\x89PNG" in body
