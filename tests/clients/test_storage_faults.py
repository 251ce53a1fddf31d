"""Storage faults on real filesystems: a data directory that fills up, one that is read-only
at start, and one that turns read-only under a running server (ext4 remounting itself
read-only after an error, as it does in production).

Each write the storage refuses is answered 503 ServiceUnavailableException saying so, reads
keep working, the server keeps running, nothing acknowledged is lost and nothing half-written
is left: once the storage is back, writes work again and a restart finds every earlier write,
with SQLite's integrity check clean.

The filesystems are mounted for the test (tmpfs, a loop-mounted ext4 image), which needs
root; without it these tests are skipped.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from harness import Farmhand, binary, clean_env, new_access_key, running
from simfarm import (Lab, Scenario, SimTest, check_final_job, device, devices_by_name, expected_job, sim_server,
                     wait_run_completed)
from support import make_apk, put_file, unique, wait_upload

STORAGE_REFUSED = re.compile(r"^The server's storage (is full|is read-only|failed to write \(I/O error; it may have "
                             r"become read-only\)), so the request could not be completed\.")
FLEET = [device("fault-a", "Fault A")]
# About 20 simulated seconds: a second or so of real time at the simulation's scale.
SCENARIO = Scenario(setup=3, teardown=2, tests=(SimTest("t_one", 6), SimTest("t_two", 5)))


# --- filesystems --------------------------------------------------------------------------


class Mounts:
    """Filesystems mounted for one test, unmounted after it whatever happened."""

    def __init__(self):
        self.points: list[Path] = []

    def mount(self, *args: str, at: Path) -> Path:
        at.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", *args, str(at)], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            pytest.skip(f"cannot mount here: {result.stderr.strip()}")
        self.points.append(at)
        return at

    def tmpfs(self, at: Path, size: str, *options: str) -> Path:
        return self.mount("-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", at=at)

    def ext4(self, at: Path, image: Path, size: str) -> Path:
        """A loop-mounted ext4 image that remounts itself read-only on an error."""
        subprocess.run(["truncate", "-s", size, str(image)], check=True)
        made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            pytest.skip(f"cannot make an ext4 filesystem here: {made.stderr.strip()}")
        return self.mount("-o", "loop,errors=remount-ro", str(image), at=at)

    def unmount(self, at: Path) -> None:
        subprocess.run(["umount", str(at)], check=True, timeout=30)
        self.points.remove(at)

    def release(self) -> None:
        for at in reversed(self.points):
            # Lazily, so a test that failed with files still open cannot leave a mount behind.
            subprocess.run(["umount", "-l", str(at)], capture_output=True, timeout=30)


@pytest.fixture
def mounts():
    if os.geteuid() != 0:
        pytest.skip("mounting test filesystems needs root")
    m = Mounts()
    yield m
    m.release()


def fill(directory: Path) -> Path:
    """Writes a file until the filesystem has no byte left; returns it, to delete later."""
    filler = directory / "filler"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        # Whatever is left is smaller than a chunk: take it byte by byte.
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return filler


def integrity(db: Path) -> str:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def storage_refused(response) -> str:
    """Asserts the answer of a write the storage refused; returns its message."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers.get("x-amzn-RequestId"), response.headers
    body = json.loads(response.content)
    assert body["__type"] == "ServiceUnavailableException", body
    assert STORAGE_REFUSED.match(body["message"]), body
    return body["message"]


def stray_files(blobs: Path) -> list[str]:
    """Files under the blob store other than stored blobs: staging files left by a failed
    write would keep using the space the operator freed."""
    return sorted(str(p.relative_to(blobs)) for p in blobs.rglob("*") if p.is_file() and "#" in p.name)


def sim_on(data: Path, key: tuple[str, str], log: Path, address: str = "127.0.0.1:0") -> Farmhand:
    """A simulated farm on `data` (not started yet); a restart passes the first one's
    address, which the upload URLs it handed out name."""
    farm = sim_server(data, fleet=FLEET, root_key=key)
    farm.listen = address
    # The server's log must not be what fills up, nor what a read-only mount refuses.
    farm.log_path = log
    return farm


def address_of(farm: Farmhand) -> str:
    return farm.endpoint.removeprefix("http://")


# --- a full disk ----------------------------------------------------------------------------


def test_a_full_disk_fails_writes_clearly_and_loses_nothing(tmp_path, mounts):
    data = mounts.tmpfs(tmp_path / "data", "32m")
    key = new_access_key()
    with running(sim_on(data, key, tmp_path / "server.log")) as farm:
        lab = Lab(farm, name="full")
        client = lab.client
        package = lab.package(SCENARIO)
        pool = lab.pool([devices_by_name(client)["Fault A"]["arn"]])
        # A run whose job runs, ends and must settle while nothing can be written.
        run = lab.web_run(pool, package)
        small = client.create_upload(projectArn=lab.arn, name="small.apk", type="ANDROID_APP")["upload"]
        large = client.create_upload(projectArn=lab.arn, name="large.apk", type="ANDROID_APP")["upload"]
        client.tag_resource(ResourceARN=lab.arn, Tags=[{"Key": "kept", "Value": "yes"}])

        filler = fill(data)
        # SQLite reuses the space its log already has, so the first few writes may still
        # land; every one that does is acknowledged and must survive.
        acknowledged, refusals = [], []
        for i in range(200):
            response = farm.call("CreateProject", {"name": f"while-full-{i}"})
            if response.status_code == 200:
                acknowledged.append(response.json()["project"]["arn"])
            else:
                refusals.append(storage_refused(response))
                if len(refusals) == 3:
                    break
        assert refusals, "200 projects were created on a full disk"
        print(f"\n{len(acknowledged)} projects created on the full disk before the first refusal")
        assert "is full" in refusals[0], refusals
        response = farm.call("ScheduleRun", {"projectArn": lab.arn, "devicePoolArn": pool, "name": "refused",
                                             "test": {"type": "APPIUM_WEB_PYTHON", "testPackageArn": package}})
        storage_refused(response)
        # Uploads below and above the size streamed in parts.
        for upload, size in ((small, 1 << 20), (large, 8 << 20)):
            refused = put_file(upload["url"], os.urandom(size))
            assert "is full" in storage_refused(refused)
            assert client.get_upload(arn=upload["arn"])["upload"]["status"] == "INITIALIZED"

        # Reads are served meanwhile.
        projects = {p["arn"] for p in client.list_projects()["projects"]}
        assert {lab.arn, *acknowledged} <= projects
        assert client.get_project(arn=lab.arn)["project"]["name"] == lab.project["name"]
        assert [r["name"] for r in client.list_runs(arn=lab.arn)["runs"]] == [run["name"]], "no half-stored run"
        assert farm.alive()

        filler.unlink()
        assert not stray_files(data / "blobs"), stray_files(data / "blobs")
        acknowledged.append(client.create_project(name=unique("after-full"))["project"]["arn"])
        for upload in (small, large):
            assert put_file(upload["url"], make_apk()).status_code == 200
            assert wait_upload(client, upload["arn"])["status"] == "SUCCEEDED"
        final = wait_run_completed(client, run["arn"], timeout=60)
        [job] = client.list_jobs(arn=run["arn"])["jobs"]
        check_final_job(client, job, SCENARIO, expected_job(SCENARIO))
        assert final["deviceMinutes"] == job["deviceMinutes"]

    assert integrity(data / "farmhand.db") == "ok"
    with running(sim_on(data, key, tmp_path / "server.log", address_of(farm))) as farm:
        client = farm.client()
        assert {lab.arn, *acknowledged} <= {p["arn"] for p in client.list_projects()["projects"]}
        assert client.list_tags_for_resource(ResourceARN=lab.arn)["Tags"] == [{"Key": "kept", "Value": "yes"}]
        assert client.get_upload(arn=large["arn"])["upload"]["status"] == "SUCCEEDED"
        assert client.get_run(arn=run["arn"])["run"] == final
        ledger = farm.manage("billing", "report", "--csv")
        assert sum(job["arn"] in line for line in ledger) == 1, ledger


# --- a read-only data directory -------------------------------------------------------------


def refused_start(data: Path) -> subprocess.CompletedProcess:
    env = clean_env()
    # A backtrace would be printed here if the error escaped as one.
    env["RUST_BACKTRACE"] = "1"
    return subprocess.run([str(binary()), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data)],
                          capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)


def assert_refused_naming(result: subprocess.CompletedProcess, data: Path) -> None:
    assert result.returncode != 0, result
    assert result.stdout == "", "nothing is announced by a server that does not start"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(data) in lines[0] and "not writable" in lines[0] and "Read-only file system" in lines[0], lines
    assert "panicked" not in result.stderr and "backtrace" not in result.stderr.lower()


def test_a_read_only_data_dir_is_refused_at_start_naming_it(tmp_path, mounts):
    empty = mounts.tmpfs(tmp_path / "empty", "1m", "ro")
    assert_refused_naming(refused_start(empty), empty)
    assert_refused_naming(refused_start(empty / "sub"), empty / "sub")

    # A data directory with data in it, made read-only (a bind mount of it, remounted ro).
    data = tmp_path / "data"
    key = new_access_key()
    farm = Farmhand(data, root_key=key).start()
    arn = farm.client().create_project(name="kept")["project"]["arn"]
    assert farm.stop() == 0
    frozen = mounts.mount("--bind", str(data), at=tmp_path / "frozen")
    subprocess.run(["mount", "-o", "remount,bind,ro", str(frozen)], check=True, timeout=30)
    assert_refused_naming(refused_start(frozen), frozen)
    mounts.unmount(frozen)

    assert integrity(data / "farmhand.db") == "ok"
    with running(Farmhand(data, root_key=key)) as farm:
        assert farm.client().get_project(arn=arn)["project"]["name"] == "kept"


def test_a_data_dir_turning_read_only_fails_writes_clearly(tmp_path, mounts):
    image = tmp_path / "data.ext4"
    data = mounts.ext4(tmp_path / "data", image, "64M")
    device_name = os.path.basename(os.path.realpath(
        subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(data)], capture_output=True, text=True,
                       check=True).stdout.strip()))
    trigger = Path(f"/sys/fs/ext4/{device_name}/trigger_fs_error")
    if not trigger.exists():
        pytest.skip(f"{trigger} is missing: this kernel cannot be told to fail the filesystem")
    key = new_access_key()
    with running(sim_on(data, key, tmp_path / "server.log")) as farm:
        lab = Lab(farm, name="readonly")
        client = lab.client
        package = lab.package(SCENARIO)
        run = lab.web_run(lab.pool([devices_by_name(client)["Fault A"]["arn"]]), package)
        upload = client.create_upload(projectArn=lab.arn, name="late.apk", type="ANDROID_APP")["upload"]

        # What ext4 does on finding an inconsistency: every write from now on is refused.
        trigger.write_text("farmhand test: storage turned read-only\n")
        storage_refused(farm.call("CreateProject", {"name": "refused"}))
        storage_refused(farm.call("TagResource", {"ResourceARN": lab.arn, "Tags": [{"Key": "k", "Value": "v"}]}))
        assert "is read-only" in storage_refused(put_file(upload["url"], make_apk()))
        assert [p["arn"] for p in client.list_projects()["projects"]] == [lab.arn]
        assert client.get_upload(arn=upload["arn"])["upload"]["status"] == "INITIALIZED"
        # The run's job ends meanwhile (in simulated time) but cannot be settled; the server
        # keeps trying and keeps serving.
        time.sleep(2)
        assert client.get_run(arn=run["arn"])["run"]["arn"] == run["arn"]
        assert farm.alive()

    # The operator's part: unmount, repair, mount again.
    mounts.unmount(data)
    subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, timeout=120)
    data = mounts.mount("-o", "loop", str(image), at=data)
    assert integrity(data / "farmhand.db") == "ok"
    with running(sim_on(data, key, tmp_path / "server.log", address_of(farm))) as farm:
        client = farm.client()
        assert [p["arn"] for p in client.list_projects()["projects"]] == [lab.arn]
        final = wait_run_completed(client, run["arn"], timeout=60)
        [job] = client.list_jobs(arn=run["arn"])["jobs"]
        check_final_job(client, job, SCENARIO, expected_job(SCENARIO))
        assert final["result"] == "PASSED"
        assert put_file(upload["url"], make_apk()).status_code == 200
        assert wait_upload(client, upload["arn"])["status"] == "SUCCEEDED"
