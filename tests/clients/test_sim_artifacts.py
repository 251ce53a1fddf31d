"""A simulated job's whole artifact set, as AWS gives it and as public pipelines archive it from
ListArtifacts(type=FILE): "Test spec output" (txt), "Customer Artifacts" (zip of the files the
scenario declares) and, with videoCapture on (the model's default), "Video": a real H.264 MP4
as long as the job's time on its device, checked with ffprobe. The device log and the
screenshots stay under LOG and SCREENSHOT."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile

import pytest
import requests

from harness import running
from simfarm import Lab, PREP_SECONDS, device, devices_by_name, sim_server, wait_run_completed

FLEET = [device("sa-one", "Sim Artifacts One")]
# A 10-minute test: at this scale it takes a few real seconds, and the video must still
# last the whole device time.
SCALE = 300.0
LONG_TEST_SECONDS = 600
SCENARIO = f"""\
setup_seconds: 2
teardown_seconds: 3
tests:
  - {{name: test_login, seconds: {LONG_TEST_SECONDS}}}
  - {{name: test_checkout, seconds: 5, result: FAILED, message: "expected 200, got 500"}}
customer_artifacts:
  - {{path: reports/summary.txt, text: "2 tests, 1 failure\\n"}}
  - {{path: app.log, text: "checkout failed\\n"}}
"""
AWS_FILES = {"Test spec output": ("TESTSPEC_OUTPUT", "txt"), "Customer Artifacts": ("CUSTOMER_ARTIFACT", "zip"),
             "Video": ("VIDEO", "mp4")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with running(sim_server(tmp_path_factory.mktemp("sim-artifacts"), scale=SCALE, fleet=FLEET)) as farm:
        lab = Lab(farm)
        pool = lab.pool([devices_by_name(lab.client)["Sim Artifacts One"]["arn"]])
        package = lab.package(SCENARIO)
        with_video = lab.web_run(pool, package)
        without_video = lab.web_run(pool, package, executionConfiguration={"videoCapture": False})
        jobs = {}
        for key, run in (("video", with_video), ("no_video", without_video)):
            wait_run_completed(lab.client, run["arn"])
            jobs[key] = lab.client.get_job(arn=lab.jobs(run["arn"])[0]["arn"])["job"]
        yield lab, jobs


def files(lab, job) -> dict[str, dict]:
    return {a["name"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}


def download(artifact) -> bytes:
    response = requests.get(artifact["url"], timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def test_file_listing_has_awss_files_and_logs_and_screenshots_stay_in_their_categories(runs):
    lab, jobs = runs
    listed = files(lab, jobs["video"])
    for name, (kind, extension) in AWS_FILES.items():
        assert (listed[name]["type"], listed[name]["extension"]) == (kind, extension), listed
    assert listed["Test Results"]["type"] == "RESULT_LOG"

    (log,) = lab.client.list_artifacts(arn=jobs["video"]["arn"], type="LOG")["artifacts"]
    assert log["type"] == "DEVICE_LOG" and "finished: test_checkout FAILED" in download(log).decode()
    shots = lab.client.list_artifacts(arn=jobs["video"]["arn"], type="SCREENSHOT")["artifacts"]
    assert [s["name"] for s in shots] == ["test_login", "test_checkout"]
    assert all(download(s).startswith(b"\x89PNG\r\n\x1a\n") for s in shots)


def test_spec_output_transcribes_the_scenarios_phases_tests_and_results(runs):
    lab, jobs = runs
    text = download(files(lab, jobs["video"])["Test spec output"]).decode()
    phases = [line.split("Entering the ")[1] for line in text.splitlines() if "Entering the " in line]
    assert phases == ["install phase", "pre_test phase", "test phase", "post_test phase"], text
    # The default APPIUM_WEB_PYTHON spec's test command, as a real job would run it.
    assert "-m pytest --junitxml=" in text, text
    assert "finished: test_login PASSED" in text, text
    assert "finished: test_checkout FAILED: expected 200, got 500" in text, text
    assert "Job COMPLETED FAILED" in text, text


def test_customer_artifacts_zip_holds_the_declared_files(runs):
    lab, jobs = runs
    archive = zipfile.ZipFile(io.BytesIO(download(files(lab, jobs["video"])["Customer Artifacts"])))
    assert sorted(archive.namelist()) == ["app.log", "reports/summary.txt"]
    assert archive.read("reports/summary.txt") == b"2 tests, 1 failure\n"
    assert archive.read("app.log") == b"checkout failed\n"


def test_video_is_h264_and_lasts_the_jobs_device_time(runs, tmp_path):
    lab, jobs = runs
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe is needed (Debian's ffmpeg package; .ci/run installs it)"
    job = jobs["video"]
    video = download(files(lab, job)["Video"])
    path = tmp_path / "Video.mp4"
    path.write_bytes(video)
    probe = json.loads(subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "json", str(path)],
        check=True, capture_output=True, text=True).stdout)
    assert [s["codec_name"] for s in probe["streams"]] == ["h264"]
    device_seconds = (job["stopped"] - job["started"]).total_seconds()
    expected = PREP_SECONDS + 2 + LONG_TEST_SECONDS + 5 + 3
    assert abs(device_seconds - expected) < 1, (device_seconds, expected)
    assert abs(float(probe["format"]["duration"]) - device_seconds) <= 0.1 * device_seconds, probe
    # Billed device minutes cover the same time (setup to teardown, without the preparation).
    assert job["deviceMinutes"]["total"] * 60 == pytest.approx(device_seconds - PREP_SECONDS, abs=1)
    # Kept once made: a second download is the same file.
    assert download(files(lab, job)["Video"]) == video


def test_no_video_without_video_capture(runs):
    lab, jobs = runs
    listed = files(lab, jobs["no_video"])
    assert "Video" not in listed
    assert {"Test spec output", "Customer Artifacts"} <= listed.keys()
    assert all(a["type"] != "VIDEO" for page in lab.client.get_paginator("list_artifacts").paginate(
        arn=jobs["no_video"]["arn"], type="FILE") for a in page["artifacts"])


def test_without_ffmpeg_farmhand_says_so_at_start_and_in_the_jobs_message(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    # The server's PATH: no ffmpeg on it.
    with running(sim_server(tmp_path / "data", scale=SCALE, fleet=FLEET, env={"PATH": str(empty)})) as farm:
        lab = Lab(farm)
        pool = lab.pool([devices_by_name(lab.client)["Sim Artifacts One"]["arn"]])
        run = lab.web_run(pool, lab.package("tests:\n  - {name: t, seconds: 1}\n"))
        wait_run_completed(lab.client, run["arn"])
        job = lab.client.get_job(arn=lab.jobs(run["arn"])[0]["arn"])["job"]
        assert "The video could not be made: ffmpeg is not installed" in job.get("message", ""), job
        assert "Video" not in files(lab, job)
        assert "Test spec output" in files(lab, job)
        assert "ffmpeg is not on PATH" in farm.log_tail(400)
