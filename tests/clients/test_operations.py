"""Running farmhand as replicas behind a load balancer: the probes (/healthz, /readyz), the
drain after SIGTERM, replicas starting together on an empty PostgreSQL database, and the
scheduler lease handed over when a replica stops.

The PostgreSQL cases run when FARMHAND_TEST_DATABASE_URL names a server; each gets a
database of its own.
"""

from __future__ import annotations

import http.client
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse

import requests

from harness import Farmhand, PostgresDatabase, new_access_key, running, stop_all
from simfarm import Lab, Scenario, SimTest, devices_by_name, wait_for, wait_run_completed
from support import make_apk, wait_upload

CHECKS = {"database", "migrations", "blob_store", "shutting_down"}
WAITING = ("PENDING", "PENDING_CONCURRENCY", "PENDING_DEVICE")


def get(farm: Farmhand, path: str) -> requests.Response:
    # A new connection each time: a keep-alive one would hide that the listener closed.
    return requests.get(farm.endpoint + path, timeout=10, headers={"Connection": "close"})


def ready_body(response: requests.Response) -> dict:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    assert response.headers.get("Cache-Control") == "no-store", response.headers
    body = response.json()
    assert set(body) == {"status", "checks"}, body
    assert set(body["checks"]) == CHECKS, body
    return body


def assert_ready(farm: Farmhand) -> None:
    response = get(farm, "/readyz")
    body = ready_body(response)
    assert response.status_code == 200, body
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "blob_store": "ok",
                                                 "shutting_down": False}}


def psql(url: str, sql: str) -> str:
    result = subprocess.run(["psql", url, "-tAc", sql], check=True, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    return result.stdout.strip()


# --- the probes -------------------------------------------------------------------------


def test_healthz_and_readyz_answer_without_credentials(farm):
    health = get(farm, "/healthz")
    assert health.status_code == 200
    assert health.headers["Content-Type"].startswith("application/json")
    assert health.json() == {"status": "ok"}
    assert_ready(farm)
    # Credentials are neither needed nor looked at: a balancer sends none, or junk.
    junk = requests.get(farm.endpoint + "/readyz", headers={"Authorization": "AWS4-HMAC-SHA256 junk"}, timeout=10)
    assert junk.status_code == 200
    # The JSON API beside them is untouched: POST / still needs a signature and works with one.
    assert farm.call("ListProjects", {}, sign=False).status_code in (400, 403)
    assert farm.call("ListProjects", {}).status_code == 200


def test_readyz_names_migrations_the_database_lacks(tmp_path):
    with running(Farmhand(tmp_path / "data", root_key=new_access_key(), extra_args=["--drain-seconds", "0"])) as farm:
        assert_ready(farm)
        with sqlite3.connect(farm.data_dir / "farmhand.db", timeout=10) as db:
            latest = db.execute("SELECT max(version) FROM _sqlx_migrations").fetchone()[0]
            db.execute("DELETE FROM _sqlx_migrations WHERE version = ?", (latest,))
        response = get(farm, "/readyz")
        body = ready_body(response)
        assert response.status_code == 503, body
        assert body["status"] == "unavailable"
        assert body["checks"]["migrations"] == f"not applied: {latest}", body
        assert body["checks"]["database"] == "ok" and body["checks"]["blob_store"] == "ok", body
        assert get(farm, "/healthz").status_code == 200


def test_readyz_names_the_database_when_it_is_gone(tmp_path, pg_database):
    farm = Farmhand(tmp_path / "data", database_url=pg_database.url, root_key=new_access_key(),
                    extra_args=["--drain-seconds", "0"])
    with running(farm):
        assert_ready(farm)
        pg_database.drop()  # WITH (FORCE): the server's connections are cut too
        response = get(farm, "/readyz")
        body = ready_body(response)
        assert response.status_code == 503, body
        assert body["status"] == "unavailable"
        assert body["checks"]["database"] != "ok", body
        assert body["checks"]["migrations"] != "ok", body
        assert body["checks"]["blob_store"] == "ok" and body["checks"]["shutting_down"] is False, body
        # Nothing of the connection string reaches an unauthenticated caller.
        parts = urllib.parse.urlsplit(pg_database.url)
        for secret in filter(None, ["://", parts.password, parts.netloc]):
            assert secret not in response.text, response.text
        # Liveness does not depend on the database: restarting this process would not help.
        assert get(farm, "/healthz").status_code == 200


# --- drain ------------------------------------------------------------------------------


def refuses_connections(farm: Farmhand) -> bool:
    host, port = urllib.parse.urlsplit(farm.endpoint).netloc.split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return False
    except OSError:
        return True


def test_sigterm_drains_then_finishes_requests_in_flight(tmp_path):
    drain = 2.0
    key = new_access_key()
    farm = Farmhand(tmp_path / "data", root_key=key, extra_args=["--drain-seconds", str(drain)]).start()
    client = farm.client()
    project = client.create_project(name="drain")["project"]
    upload = client.create_upload(projectArn=project["arn"], name="app.apk", type="ANDROID_APP")["upload"]
    apk = make_apk()
    half = len(apk) // 2

    # An upload in flight across the whole shutdown: half its body before the signal, the
    # rest once the listener has closed.
    url = urllib.parse.urlsplit(upload["url"])
    conn = http.client.HTTPConnection(url.netloc, timeout=30)
    conn.putrequest("PUT", url.path + "?" + url.query, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(len(apk)))
    conn.endheaders()
    conn.send(apk[:half])

    signalled = time.monotonic()
    farm.proc.send_signal(signal.SIGTERM)
    body = wait_for(lambda: ready_body(get(farm, "/readyz")), lambda b: b["checks"]["shutting_down"],
                    timeout=5, what="/readyz reporting the shutdown")
    assert body["status"] == "unavailable", body
    assert get(farm, "/readyz").status_code == 503
    assert get(farm, "/healthz").status_code == 200
    # Requests a balancer sends before it notices are still served during the drain.
    assert client.get_project(arn=project["arn"])["project"]["name"] == "drain"

    wait_for(lambda: {"refused": refuses_connections(farm)}, lambda r: r["refused"], timeout=drain + 10,
             interval=0.05, what="the listener closing")
    assert time.monotonic() - signalled >= drain * 0.9, "the listener closed before the drain ended"
    assert farm.alive(), "the server exited with a request in flight"

    conn.send(apk[half:])
    response = conn.getresponse()
    assert response.status == 200, response.read()
    conn.close()
    farm.proc.wait(timeout=20)
    assert farm.proc.returncode == 0, farm.log_tail()
    farm.stop()

    # The upload that was in flight was stored whole.
    with running(Farmhand(tmp_path / "data", root_key=key, extra_args=["--drain-seconds", "0"])) as again:
        assert wait_upload(again.client(), upload["arn"])["status"] == "SUCCEEDED"


# --- replicas on one PostgreSQL database ----------------------------------------------


def start_together(replicas: list[Farmhand]) -> None:
    """Starts every replica at the same moment; raises the first failure."""
    barrier = threading.Barrier(len(replicas))
    errors: list[BaseException] = []

    def start(farm: Farmhand) -> None:
        try:
            barrier.wait()
            farm.start()
        except BaseException as e:  # noqa: BLE001 - reported below, with the server log
            errors.append(RuntimeError(f"{e}\n{farm.log_tail()}"))

    threads = [threading.Thread(target=start, args=(farm,)) for farm in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def replicas_of(database: PostgresDatabase, tmp_path, n: int, *args: str) -> list[Farmhand]:
    key = new_access_key()
    return [Farmhand(tmp_path / f"replica-{i}", database_url=database.url, root_key=key,
                     extra_args=["--drain-seconds", "0", *args]) for i in range(n)]


def test_replicas_started_together_on_an_empty_database_share_one_schema(tmp_path, pg_database):
    replicas = replicas_of(pg_database, tmp_path, 2)
    try:
        start_together(replicas)
        for farm in replicas:
            assert_ready(farm)
        # The schema was created once: one row per migration, each successful.
        versions = psql(pg_database.url, "SELECT version, success FROM _sqlx_migrations ORDER BY version")
        rows = versions.splitlines()
        assert rows and len(rows) == len({r.split("|")[0] for r in rows}), rows
        assert all(r.endswith("|t") for r in rows), rows
        # One account both replicas agree on, and the same data through either.
        first, second = replicas
        assert first.account_id == second.account_id
        created = first.client().create_project(name="shared")["project"]
        assert second.client().get_project(arn=created["arn"])["project"] == created
        assert first.client().list_projects()["projects"] == second.client().list_projects()["projects"]
    finally:
        stop_all(replicas)


def lease_holder(database: PostgresDatabase) -> str:
    return psql(database.url, "SELECT holder FROM leases WHERE name = 'scheduler'")


def holds_lease(farm: Farmhand, holder: str) -> bool:
    return holder.endswith("/" + urllib.parse.urlsplit(farm.endpoint).netloc)


def test_a_stopping_replica_hands_the_scheduler_lease_over_at_once(tmp_path, pg_database):
    """Without the hand-over the survivor would wait out the lease (3 s after the last
    renewal); with it, a run scheduled on the survivor starts at its next pass."""
    replicas = replicas_of(pg_database, tmp_path, 2, "--time-scale", "20")
    try:
        for farm in replicas:
            farm.start()
        holder = wait_for(lambda: {"holder": lease_holder(pg_database)}, lambda h: h["holder"] != "",
                          timeout=10, what="a scheduler lease holder")["holder"]
        [leaving] = [farm for farm in replicas if holds_lease(farm, holder)]
        [staying] = [farm for farm in replicas if farm is not leaving]

        lab = Lab(staying, name="takeover")
        fleet = devices_by_name(lab.client)
        package = lab.package(Scenario(setup=1, teardown=1, tests=(SimTest("quick", 2),)))
        pool = lab.pool([next(iter(fleet.values()))["arn"]])

        assert leaving.stop() == 0, leaving.log_tail()
        stopped = time.monotonic()
        run = lab.web_run(pool, package)
        [job] = lab.jobs(run["arn"])
        wait_for(lambda: lab.client.get_job(arn=job["arn"])["job"], lambda j: j["status"] not in WAITING,
                 timeout=10, interval=0.02, what="the job getting a device")
        took = time.monotonic() - stopped
        assert took < 1.5, f"the surviving replica started scheduling {took:.2f}s after the holder stopped"
        assert holds_lease(staying, lease_holder(pg_database))
        assert wait_run_completed(lab.client, run["arn"], timeout=60)["result"] == "PASSED"
    finally:
        stop_all(replicas)
