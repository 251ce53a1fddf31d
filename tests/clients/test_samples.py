"""ListSamples for simulated, host and adb jobs: a job's performance series, each downloadable as `timestamp,value` CSV through
its presigned URL, covering the job's device time."""

from __future__ import annotations

import csv
import io
import os
import re
import stat

import pytest
import requests
from botocore.exceptions import ClientError

from harness import Farmhand, new_access_key, running
from simfarm import (Lab, Scenario, SimTest, device, devices_by_name, host_device, one_finished_run, sim_server,
                     spec_yaml, wait_run_completed)
from support import make_zip, unique
from test_adb_driver import FAKE_ADB, FLEET as ADB_FLEET  # the adb driver's fake device, extended below

FLEET = [device("sample-one", "Sample One")]
SCENARIO = Scenario(setup=1, teardown=1, tests=(SimTest("scrolls", 4), SimTest("pays", 4)))
SAMPLE_ARN = re.compile(r"^arn:aws:devicefarm:us-west-2:\d{12}:sample:[0-9a-f-]{36}/[0-9a-f-]{36}/\d{5}/\d{5}$")
KINDS = ["CPU", "MEMORY", "THREADS", "RX_RATE", "TX_RATE", "RX", "TX"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    with one_finished_run(tmp_path_factory.mktemp("samples"), FLEET, "Sample One", SCENARIO) as (lab, _, job):
        yield lab, job


def series(url):
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["timestamp", "value"]
    return [(float(t), float(v)) for t, v in rows[1:]]


def test_simulated_job_has_each_series_over_its_device_time(finished):
    lab, job = finished
    samples = lab.client.list_samples(arn=job["arn"])["samples"]
    assert [s["type"] for s in samples] == KINDS
    assert all(SAMPLE_ARN.match(s["arn"]) and s["arn"].startswith(job["arn"].replace(":job:", ":sample:")) for s in samples)
    by_type = {s["type"]: series(s["url"]) for s in samples}
    started, stopped = job["started"].timestamp(), job["stopped"].timestamp()
    for kind, points in by_type.items():
        assert len(points) >= 10, kind  # setup + two 4 s tests + teardown, a point a second
        assert all(started - 1 <= t <= stopped + 1 for t, _ in points), kind
        assert [t for t, _ in points] == sorted(t for t, _ in points)
    assert all(0 < v <= 100 for _, v in by_type["CPU"])
    assert all(v > 1000 for _, v in by_type["MEMORY"])
    assert all(v >= 1 for _, v in by_type["THREADS"])
    rx = [v for _, v in by_type["RX"]]
    assert rx == sorted(rx) and rx[-1] > 0
    # The cumulative total is the rates integrated over the series' steps.
    rates = by_type["RX_RATE"]
    integral = sum(rate * (t - prev) for (prev, _), (t, rate) in zip(rates, rates[1:]))
    assert abs(rx[-1] - integral) <= 0.01 * rx[-1] + 1


def test_same_download_twice_and_tampered_url_refused(finished):
    lab, job = finished
    (cpu,) = [s for s in lab.client.list_samples(arn=job["arn"])["samples"] if s["type"] == "CPU"]
    assert series(cpu["url"]) == series(cpu["url"])
    assert requests.get(cpu["url"].replace("/00000?", "/00001?"), timeout=10).status_code == 403


def test_bad_arns_and_tokens_are_refused(finished):
    lab, job = finished
    run_arn = job["arn"].replace(":job:", ":run:").rsplit("/", 1)[0]
    with pytest.raises(ClientError) as err:
        lab.client.list_samples(arn=run_arn)
    assert err.value.response["Error"]["Code"] == "ArgumentException"
    with pytest.raises(ClientError) as err:
        lab.client.list_samples(arn=job["arn"][:-5] + "00009")
    assert err.value.response["Error"]["Code"] == "NotFoundException"
    with pytest.raises(ClientError) as err:
        lab.client.list_samples(arn=job["arn"], nextToken="not-a-token")
    assert err.value.response["Error"]["Code"] == "ArgumentException"


HOST = host_device("sample-host", "Sample Host")
# Holds 64 MB (written, so resident) and spins for 3 s: the series must show both.
BURN = "python3 -c \"import time; b = b'x' * (64 << 20); end = time.time() + 3\nwhile time.time() < end: pass\""


@pytest.fixture(scope="module")
def host_job(tmp_path_factory):
    with running(sim_server(tmp_path_factory.mktemp("host-samples"), scale=1, fleet=[HOST],
                            extra_args=["--sample-interval-seconds", "0.25"])) as farm:
        lab = Lab(farm)
        run = lab.spec_run(devices_by_name(lab.client)["Sample Host"]["arn"], spec_yaml(test=[BURN]), name="samples")
        wait_run_completed(lab.client, run["arn"])
        yield lab, lab.jobs(run["arn"])[0]


def test_host_job_samples_its_own_processes(host_job):
    lab, job = host_job
    samples = lab.client.list_samples(arn=job["arn"])["samples"]
    assert [s["type"] for s in samples] == KINDS
    by_type = {s["type"]: series(s["url"]) for s in samples}
    started, stopped = job["started"].timestamp(), job["stopped"].timestamp()
    for kind, points in by_type.items():
        assert len(points) >= 8, kind  # a point every 0.25 s (--sample-interval-seconds) of a 3 s test
        assert all(started - 1 <= t <= stopped + 1 for t, _ in points), kind
    assert max(v for _, v in by_type["CPU"]) > 30, by_type["CPU"]
    assert max(v for _, v in by_type["MEMORY"]) > 64 * 1024, by_type["MEMORY"]
    assert min(v for _, v in by_type["THREADS"]) >= 1
    # The series are not artifacts.
    for category in ("FILE", "LOG", "SCREENSHOT"):
        listed = lab.client.list_artifacts(arn=job["arn"], type=category)["artifacts"]
        assert not any(a["extension"] == "csv" for a in listed)


# The adb driver's fake, taught what a device answers about a running app: its pid, its
# /proc files (CPU ticks growing 25 a reading) and `dumpsys meminfo`'s proportional set size.
APP_ANSWERS = r"""  "shell pidof com.example.farmhand") echo 4321 ;;
  "shell cat /proc/4321/stat")
    n=$(( $(cat "$d/ticks" 2>/dev/null || echo 0) + 25 )); echo $n > "$d/ticks"
    echo "4321 (com.example.farmhand) S 612 612 0 0 -1 1077952832 9000 0 12 0 $n 0 0 0 10 -10 27 0 3500 1500000000 12000 0" ;;
  "shell cat /proc/4321/status") printf 'Name:\tcom.example.farmhand\nThreads:\t27\n' ;;
  "shell cat /proc/4321/net/dev")
    n=$(( $(cat "$d/rx" 2>/dev/null || echo 0) + 20000 )); echo $n > "$d/rx"
    printf 'Inter-| Receive | Transmit\n face |bytes|bytes\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n wlan0: %s 40 0 0 0 0 0 0 %s 20 0 0 0 0 0 0\n' $n $((n / 4)) ;;
  "shell dumpsys meminfo com.example.farmhand") printf '** MEMINFO in pid 4321 [com.example.farmhand] **\n App Summary\n           TOTAL PSS:    48211            TOTAL RSS:   120000\n' ;;
"""


def test_adb_job_samples_the_app_on_the_device(tmp_path):
    fake = tmp_path / "fake-adb"
    fake.mkdir()
    script = FAKE_ADB.replace('  *) echo "fake adb: unexpected', APP_ANSWERS + '  *) echo "fake adb: unexpected')
    (fake / "adb").write_text(script.replace("@DIR@", str(fake)))
    (fake / "adb").chmod((fake / "adb").stat().st_mode | stat.S_IEXEC)
    (fake / "packages").write_text("com.android.settings\n")
    (tmp_path / "fleet.toml").write_text(ADB_FLEET)
    with running(Farmhand(tmp_path / "data", root_key=new_access_key(),
                          extra_args=["--fleet", str(tmp_path / "fleet.toml")],
                          env={"PATH": f"{fake}:{os.environ['PATH']}"})) as server:
        lab = Lab(server)
        app = lab.app()
        package = lab.upload("tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", make_zip({"tests/t.py": "x = 1\n"}))
        spec = lab.upload("spec.yml", "APPIUM_PYTHON_TEST_SPEC", spec_yaml(test=["sleep 2.5"]).encode())
        pool = lab.pool([lab.client.list_devices()["devices"][0]["arn"]])
        run = lab.client.schedule_run(projectArn=lab.arn, appArn=app, devicePoolArn=pool, name=unique("adb"),
                                      test={"type": "APPIUM_PYTHON", "testPackageArn": package["arn"],
                                            "testSpecArn": spec["arn"]})["run"]
        wait_run_completed(lab.client, run["arn"])
        job = lab.jobs(run["arn"])[0]
        by_type = {s["type"]: series(s["url"]) for s in lab.client.list_samples(arn=job["arn"])["samples"]}
        assert list(by_type) == KINDS
        assert len(by_type["CPU"]) >= 2
        assert {v for _, v in by_type["MEMORY"]} == {48211}, "the app's PSS from dumpsys meminfo"
        assert {v for _, v in by_type["THREADS"]} == {27}
        assert all(v > 0 for _, v in by_type["CPU"][1:]), by_type["CPU"]
        rx = [v for _, v in by_type["RX"]]
        assert rx[0] == 0 and rx[-1] == 20000 * (len(rx) - 1), "wlan0 from the first reading on, lo left out"
        assert "shell dumpsys meminfo com.example.farmhand" in (fake / "log").read_text()


def test_dashboard_job_page_charts_the_samples_and_shows_screenshots(finished):
    lab, job = finished
    page = lab.farm.ui_session().get(lab.farm.endpoint + "/ui/jobs/" + job["arn"].split(":", 6)[6], timeout=30)
    assert page.status_code == 200
    charts = re.findall(r'<figure class="sample" data-type="([A-Z_]+)"><svg[^>]*>.*?<polyline[^>]* points="([^"]+)"',
                        page.text, re.S)
    assert [kind for kind, _ in charts] == KINDS
    cpu = series(next(s["url"] for s in lab.client.list_samples(arn=job["arn"])["samples"] if s["type"] == "CPU"))
    (_, cpu_points), = [c for c in charts if c[0] == "CPU"]
    assert len(cpu_points.split()) == len(cpu), "one vertex per point of the downloadable series"
    assert f"max {max(v for _, v in cpu):.1f}" in page.text
    shots = re.findall(r'<a class="thumbnail" href="([^"]+)"><img src="([^"]+)" alt="([^"]+)"', page.text)
    assert sorted(alt for _, _, alt in shots) == ["pays", "scrolls"]
    for href, src, _ in shots:
        image = requests.get(src.replace("&amp;", "&"), timeout=10)
        assert href == src and image.content.startswith(b"\x89PNG")
