"""Limits around a real job's commands: `--run-as` runs them as a user of their own that
cannot touch farmhand's files, and `--teardown-timeout-seconds` ends a post_test that
would otherwise hold its device forever (stops and the job timeout let teardown finish)."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
import requests

from harness import binary, clean_env, running
from simfarm import Lab, sim_server, spec_yaml
from support import unique
from test_host_runner import HOST, processes_with, results_of, run_spec, wait_status

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@pytest.fixture
def open_work_dir():
    # pytest's temporary directories sit under a private (0700) one: the user must be able
    # to get to its jobs, as it would on a real host.
    path = Path(tempfile.mkdtemp(prefix="farmhand-jobs-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_root
def test_run_as_runs_the_commands_as_that_user_away_from_farmhands_files(tmp_path, open_work_dir):
    work_dir = open_work_dir
    with running(sim_server(tmp_path / "data", scale=1, fleet=[HOST],
                            extra_args=["--run-as", "nobody", "--work-dir", str(work_dir)])) as server:
        lab = Lab(server)
        database = tmp_path / "data" / "farmhand.db"
        spec = spec_yaml(
            install=["id -un > $DEVICEFARM_LOG_DIR/user.txt", "touch $HOME/home-is-writable $TMPDIR/tmp-is-writable"],
            test=[f"if cat {database} > /dev/null 2>&1; then echo read > $DEVICEFARM_LOG_DIR/db.txt; fi",
                  f"if ls {tmp_path / 'data'} > /dev/null 2>&1; then echo listed > $DEVICEFARM_LOG_DIR/data.txt; fi"],
        )
        _, job = run_spec(lab, spec)
        final = wait_status(lab, job["arn"], "COMPLETED")
        assert final["result"] == "PASSED", results_of(lab, job["arn"])
        saved = {a["type"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
        archive = zipfile.ZipFile(io.BytesIO(requests.get(saved["CUSTOMER_ARTIFACT_LOG"]["url"], timeout=10).content))
        files = {name.rsplit("/", 1)[-1]: name for name in archive.namelist()}
        assert archive.read(files["user.txt"]).decode().strip() == "nobody"
        assert "db.txt" not in files, "the job cannot read farmhand's database"
        assert "data.txt" not in files, "the job cannot look into farmhand's data directory"
        assert stat.S_IMODE(database.stat().st_mode) == 0o600


@needs_root
def test_run_as_refuses_to_start_when_the_user_cannot_reach_the_work_directory(tmp_path, open_work_dir):
    private = open_work_dir / "private"
    private.mkdir(mode=0o700)
    result = subprocess.run(
        [str(binary()), "serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0",
         "--run-as", "nobody", "--work-dir", str(private / "jobs")],
        env=clean_env(), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert f"cannot reach the work directory {private / 'jobs'}" in result.stderr, result.stderr


def test_run_as_an_unknown_user_is_refused_at_start(tmp_path):
    result = subprocess.run(
        [str(binary()), "serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0",
         "--run-as", "no-such-user-farmhand"],
        env=clean_env(), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert 'no user named "no-such-user-farmhand"' in result.stderr, result.stderr


def test_a_hung_teardown_is_ended_at_its_limit_and_errors_the_job(tmp_path):
    with running(sim_server(tmp_path / "teardown", scale=1, fleet=[HOST],
                            extra_args=["--teardown-timeout-seconds", "1", "--stop-grace-seconds", "0.2"])) as server:
        lab = Lab(server)
        token = unique("hung-teardown")
        spec = spec_yaml(test=["true"], post_test=[f"python3 -c 'import time; time.sleep(60)' {token}"])
        _, job = run_spec(lab, spec)
        final = wait_status(lab, job["arn"], "COMPLETED", timeout=30)
        assert final["result"] == "ERRORED"
        assert final["message"] == "Teardown did not finish within 1 second; its processes were ended"
        assert [t[2] for t in results_of(lab, job["arn"])] == ["PASSED", "PASSED", "ERRORED"]
        assert processes_with(token) == []
        # Billed up to the end of teardown, which is about the limit: not the 60 s of sleep.
        assert 0 < final["deviceMinutes"]["total"] < 0.5
