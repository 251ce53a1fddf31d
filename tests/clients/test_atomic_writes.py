"""Requests that change several records change all of them or none, whatever happens:

- StopRun of a run whose 18 jobs are running, with the server killed (SIGKILL) a random few
  milliseconds after the request left, again and again: after a restart the stop either never
  happened (run and every job as before) or every job of the run is stopping or done.
- DeleteRun and DeleteProject killed the same way leave no job, suite, test, run or upload
  whose parent is gone.
- Concurrent creates against each account limit (projects, uploads, device pools) never
  pass it, and concurrent ScheduleRuns never run more metered jobs at once than the account's
  concurrency.

On SQLite, and on PostgreSQL when FARMHAND_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import botocore.exceptions

from harness import Farmhand, new_access_key
from simfarm import Lab, Scenario, SimTest, device, devices_by_name, fleet_toml, wait_for
from support import unique

SEED = int(os.environ.get("FARMHAND_CRASH_SEED", "0")) or random.randrange(1, 2**31)
FLEET = [device(f"atomic-{i:02}", f"Atomic {i:02}") for i in range(18)]
# Long enough that every job is still running when the stop comes, whatever the kills cost.
LONG = Scenario(setup=2, teardown=2, tests=(SimTest("long", 3000),))
KILLS = 6
# The window in which the old StopRun had written the run but not all its jobs.
KILL_AFTER_MS = (0.0, 25.0)
CONNECTION_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


class Restartable:
    """One server's data directory (and database), started again after each kill on the same
    port and key, so a client keeps working across incarnations."""

    def __init__(self, tmp_path, database_url):
        self.tmp_path, self.database_url = tmp_path, database_url
        self.key = new_access_key()
        self.fleet = tmp_path / "fleet.toml"
        self.fleet.write_text(fleet_toml(FLEET))
        self.farm: Farmhand | None = None
        self.listen = "127.0.0.1:0"

    def start(self) -> Farmhand:
        self.farm = Farmhand(self.tmp_path / "data", database_url=self.database_url, root_key=self.key,
                             listen=self.listen, extra_args=[
                                 "--time-scale", "10", "--fleet", str(self.fleet),
                                 "--rate-limit-per-second", "10000", "--rate-burst", "10000"]).start()
        self.listen = self.farm.endpoint.removeprefix("http://")
        return self.farm

    def kill_during(self, request, delay_s: float) -> None:
        """Sends `request` on a thread and kills the server `delay_s` after it left."""
        def send():
            try:
                request()
            except CONNECTION_ERRORS:
                pass
        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(delay_s)
        assert self.farm
        self.farm.kill()
        sender.join(timeout=30)

    def stop(self) -> None:
        if self.farm and self.farm.alive():
            assert self.farm.stop() == 0, self.farm.log_tail()


def stopping_or_done(job: dict) -> bool:
    return job["status"] in ("STOPPING", "COMPLETED")


def test_a_killed_stop_run_stops_every_job_or_none(tmp_path, database_url):
    print(f"FARMHAND_CRASH_SEED={SEED}")
    rng = random.Random(SEED)
    server = Restartable(tmp_path, database_url)
    farm = server.start()
    # Every job of the run at once (the default concurrency is 16).
    farm.manage("account", "update", farm.account_id, "--max-concurrent-jobs", "32")
    lab = Lab(farm)
    try:
        pool = lab.pool([d["arn"] for name, d in devices_by_name(lab.client).items() if name.startswith("Atomic")])
        package = lab.package(LONG)
        outcomes = []
        for _ in range(KILLS):
            client = lab.client
            run = lab.web_run(pool, package)
            wait_for(lambda: {"statuses": [j["status"] for j in lab.jobs(run["arn"])]},
                     lambda s: s["statuses"] == ["RUNNING"] * 18, timeout=60, what="18 jobs RUNNING")
            delay = rng.uniform(*KILL_AFTER_MS) / 1000
            server.kill_during(lambda: client.stop_run(arn=run["arn"]), delay)
            server.start()  # same port and key: the lab's client carries on
            after = lab.client.get_run(arn=run["arn"])["run"]
            jobs = lab.jobs(run["arn"])
            stopped = [j for j in jobs if stopping_or_done(j)]
            if after["status"] in ("STOPPING", "COMPLETED") or stopped:
                assert len(stopped) == 18, (f"kill {delay * 1000:.1f} ms into StopRun left the run {after['status']} "
                                            f"with {len(stopped)} of 18 jobs stopped (seed {SEED})")
                outcomes.append("stopped")
            else:
                assert all(j["status"] == "RUNNING" for j in jobs), jobs
                outcomes.append("untouched")
                lab.client.stop_run(arn=run["arn"])
            wait_for(lambda: lab.client.get_run(arn=run["arn"])["run"], lambda r: r["status"] == "COMPLETED",
                     timeout=60)
        print("outcomes:", outcomes)
    finally:
        server.stop()


def orphans(server: Restartable) -> list[tuple[str, str]]:
    """Records whose parent record is gone: (kind, arn)."""
    query = ("SELECT c.kind, c.arn FROM resources c WHERE c.parent_arn IS NOT NULL "
             "AND c.kind IN ('run', 'job', 'suite', 'test', 'upload', 'devicepool') "
             "AND NOT EXISTS (SELECT 1 FROM resources p WHERE p.arn = c.parent_arn)")
    if server.database_url:
        out = subprocess.run(["psql", server.database_url, "-tAF", "|", "-c", query], check=True, capture_output=True,
                             text=True, timeout=60).stdout
        return [tuple(line.split("|", 1)) for line in out.splitlines() if line]
    with sqlite3.connect(server.tmp_path / "data" / "farmhand.db") as db:
        return db.execute(query).fetchall()


def test_killed_deletes_leave_no_orphans(tmp_path, database_url):
    print(f"FARMHAND_CRASH_SEED={SEED}")
    rng = random.Random(SEED)
    server = Restartable(tmp_path, database_url)
    farm = server.start()
    try:
        deleted = {"run": 0, "project": 0}
        for round in range(KILLS):
            lab = Lab(farm, name=f"doomed-{round}")
            pool = lab.pool([d["arn"] for name, d in devices_by_name(lab.client).items() if name.startswith("Atomic")])
            quick = lab.package(Scenario(setup=1, teardown=1, tests=(SimTest("a", 1), SimTest("b", 1))))
            run = lab.web_run(pool, quick)
            wait_for(lambda: lab.client.get_run(arn=run["arn"])["run"], lambda r: r["status"] == "COMPLETED",
                     timeout=60)
            if round % 2 == 0:
                request, kind, arn = (lambda: lab.client.delete_run(arn=run["arn"])), "run", run["arn"]
            else:
                request, kind, arn = (lambda: lab.client.delete_project(arn=lab.arn)), "project", lab.arn
            server.kill_during(request, rng.uniform(0.0, 0.02))
            farm = server.start()
            assert orphans(server) == [], f"a kill during Delete{kind.title()} left orphans (seed {SEED})"
            getter = farm.client().get_run if kind == "run" else farm.client().get_project
            try:
                getter(arn=arn)
            except farm.client().exceptions.NotFoundException:
                deleted[kind] += 1
        print("deleted before the kill:", deleted)
    finally:
        server.stop()


def create_concurrently(count: int, create) -> tuple[int, list[str]]:
    """`count` calls of `create` at once; how many succeeded and the error codes of the rest."""
    def attempt(i):
        try:
            create(i)
            return None
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(attempt, range(count)))
    return results.count(None), [r for r in results if r is not None]


def test_concurrent_creates_never_pass_the_account_limits(tmp_path, database_url):
    server = Restartable(tmp_path, database_url)
    farm = server.start()
    try:
        account = farm.account_id
        farm.manage("account", "update", account, "--max-projects", "6", "--max-uploads-per-project", "5",
                    "--max-device-pools-per-project", "4")
        clients = [farm.client() for _ in range(16)]
        made, refused = create_concurrently(16, lambda i: clients[i].create_project(name=f"p{i}"))
        assert made == 6 and set(refused) == {"LimitExceededException"}, (made, refused)
        project = clients[0].list_projects()["projects"][0]["arn"]
        made, refused = create_concurrently(
            16, lambda i: clients[i].create_upload(projectArn=project, name=f"u{i}.zip",
                                                   type="APPIUM_WEB_PYTHON_TEST_PACKAGE"))
        assert made == 5 and set(refused) == {"LimitExceededException"}, (made, refused)
        rule = [{"attribute": "PLATFORM", "operator": "EQUALS", "value": json.dumps("ANDROID")}]
        made, refused = create_concurrently(
            16, lambda i: clients[i].create_device_pool(projectArn=project, name=f"pool{i}", rules=rule))
        assert made == 4 and set(refused) == {"LimitExceededException"}, (made, refused)
        assert len(clients[0].list_projects()["projects"]) == 6
    finally:
        server.stop()


def test_concurrent_runs_never_run_more_jobs_than_the_account_may(tmp_path, database_url):
    server = Restartable(tmp_path, database_url)
    farm = server.start()
    try:
        farm.manage("account", "update", farm.account_id, "--max-concurrent-jobs", "3")
        lab = Lab(farm, name="concurrency")
        devices = [d["arn"] for name, d in devices_by_name(lab.client).items() if name.startswith("Atomic")]
        package = lab.package(Scenario(setup=1, teardown=1, tests=(SimTest("t", 20),)))
        pools = [lab.pool(devices[i::6]) for i in range(6)]
        clients = [farm.client() for _ in pools]
        made, refused = create_concurrently(len(pools), lambda i: clients[i].schedule_run(
            projectArn=lab.arn, devicePoolArn=pools[i], name=unique("race"),
            test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package}))
        assert made == len(pools), refused
        runs = [r["arn"] for r in lab.client.list_runs(arn=lab.arn)["runs"]]
        most = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs = [j for run in runs for j in lab.jobs(run)]
            active = [j for j in jobs if j["status"] in ("PREPARING", "RUNNING", "STOPPING")]
            most = max(most, len(active))
            assert len(active) <= 3, [(j["name"], j["status"]) for j in active]
            if all(j["status"] == "COMPLETED" for j in jobs):
                break
        assert most == 3, f"the limit was never reached ({most}): the test shows nothing"
    finally:
        server.stop()
