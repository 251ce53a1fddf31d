"""The process contract a user and CI rely on: what `serve` prints, first-start credentials,
a fixed root key, persistence across restarts, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

from harness import Farmhand, clean_env, new_access_key, parse_exports, running


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


def test_prints_endpoint_and_region_exports(server):
    assert wait_for(lambda: {"AWS_ENDPOINT_URL_DEVICE_FARM", "AWS_REGION"} <= set(parse_exports(server.stdout_lines)))
    exports = parse_exports(server.stdout_lines)
    assert exports["AWS_ENDPOINT_URL_DEVICE_FARM"] == server.endpoint
    assert exports["AWS_REGION"] == "us-west-2"
    assert exports["AWS_DEFAULT_REGION"] == "us-west-2", "the AWS CLI v1 reads AWS_DEFAULT_REGION"
    # With a fixed root key the secret is the caller's own: it is never echoed.
    assert "AWS_SECRET_ACCESS_KEY" not in exports
    assert server.secret_access_key not in "\n".join(server.stdout_lines)
    assert server.secret_access_key not in server.log_path.read_text(errors="replace")


def test_fixed_root_key_authenticates(server):
    settings = server.client().get_account_settings()["accountSettings"]
    assert len(settings["awsAccountNumber"]) == 12 and settings["awsAccountNumber"].isdigit()


def test_first_start_prints_working_credentials_and_restart_keeps_state(tmp_path):
    with running(Farmhand(tmp_path / "data")) as first:
        exports = parse_exports(first.stdout_lines)
        assert exports["AWS_ACCESS_KEY_ID"].startswith("AKIA") and len(exports["AWS_ACCESS_KEY_ID"]) == 20
        assert len(exports["AWS_SECRET_ACCESS_KEY"]) >= 40
        arn = first.client().create_project(name="survives-restart")["project"]["arn"]
        # The README's newcomer flow: paste the printed exports, run the AWS CLI as is.
        env = {**clean_env(), **exports}
        listed = subprocess.run(["aws", "devicefarm", "list-projects", "--output", "json"], env=env,
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert listed.returncode == 0, listed.stderr
        assert [p["arn"] for p in json.loads(listed.stdout)["projects"]] == [arn]

    db = tmp_path / "data" / "farmhand.db"
    if db.exists():
        # The store holds secrets (SigV4 needs them in the clear), so only the owner may read it.
        assert stat.S_IMODE(os.stat(db).st_mode) & 0o077 == 0, oct(os.stat(db).st_mode)

    login = (exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"])
    with running(Farmhand(tmp_path / "data", login=login)) as again:
        project = again.client().get_project(arn=arn)["project"]
        assert project["name"] == "survives-restart"
        assert again.account_id == first.account_id


def test_sigterm_exits_zero(tmp_path):
    farmhand = Farmhand(tmp_path / "d", root_key=new_access_key()).start()
    farmhand.client().list_projects()
    assert farmhand.stop() == 0
