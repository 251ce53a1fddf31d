"""Fixtures: real farmhand servers on random ports, one per store backend.

`server` is a SQLite-backed server shared by the session. `farm` is parametrised over the
backends: SQLite always, PostgreSQL when FARMHAND_TEST_DATABASE_URL names a server (each run
gets a database of its own, dropped afterwards). Each server is stopped with SIGTERM and must
exit 0.

Also the fixtures many modules share: a throw-away PostgreSQL database (`pg_database`), and
`fleet`, `lab` and `markers`, built on the `sim` or `farm` server the module defines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Farmhand, PostgresDatabase, new_access_key, running  # noqa: E402
from simfarm import Lab, devices_by_name  # noqa: E402

PG_ENV = "FARMHAND_TEST_DATABASE_URL"


def new_server(tmp_path_factory, name: str, **kwargs) -> Farmhand:
    """A server (not started yet) in a new directory called `name`, with a root key of its own."""
    data_dir = tmp_path_factory.mktemp(name)
    return Farmhand(data_dir, root_key=kwargs.pop("root_key", new_access_key()), **kwargs)


def pg_admin_url() -> str:
    """The PostgreSQL server FARMHAND_TEST_DATABASE_URL names; without one, the test is skipped."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return url


@contextmanager
def throwaway_database() -> Iterator[PostgresDatabase]:
    """A database of its own on that server, dropped afterwards however the test ended."""
    database = PostgresDatabase(pg_admin_url()).create()
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture
def pg_database() -> Iterator[PostgresDatabase]:
    with throwaway_database() as database:
        yield database


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str | None:
    """For tests that run their own servers on each store: None for SQLite (the data
    directory's own database), else a throw-away PostgreSQL one."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_database").url


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    with running(new_server(tmp_path_factory, "sqlite")) as farmhand:
        yield farmhand


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    with throwaway_database() as database:
        with running(new_server(tmp_path_factory, "postgres", database_url=database.url)) as farmhand:
            # The server really keeps its state there (migrations ran), not in a SQLite file.
            assert database.table_count() > 0
            assert not (farmhand.data_dir / "farmhand.db").exists()
            yield farmhand


@pytest.fixture(params=["sqlite", "postgres"])
def farm(request) -> Farmhand:
    """The server of each store backend, for tests whose behaviour must not depend on it."""
    return request.getfixturevalue("server" if request.param == "sqlite" else "pg_server")


@pytest.fixture
def client(server):
    return server.client()


@pytest.fixture
def project(server):
    """A fresh project in the root account of the SQLite server."""
    from support import unique

    return server.client().create_project(name=unique("fixture"))["project"]


@pytest.fixture
def farm_project(farm):
    from support import unique

    return farm.client().create_project(name=unique("fixture"))["project"]


@pytest.fixture(scope="module")
def fleet(sim) -> dict[str, dict]:
    """The devices of the module's `sim` server, by name."""
    return devices_by_name(sim.client())


@pytest.fixture
def lab(farm):
    """A project of its own on the module's `farm`."""
    return Lab(farm)


@pytest.fixture
def markers(tmp_path) -> Path:
    """Where a test spec's commands leave marker files, to show which of them ran."""
    return tmp_path


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """An S3-compatible server (moto, installed in the venv by scripts/test) on a free port,
    for the tests that keep blobs in a bucket; its URL, e.g. http://127.0.0.1:40123."""
    import socket
    import subprocess
    import time

    import requests

    moto = Path(sys.executable).parent / "moto_server"
    if not moto.exists():
        raise RuntimeError(f"{moto} is missing: pip install -r tests/clients/requirements.txt")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(endpoint, timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start (exit {proc.poll()}); see {log.name}")
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def pytest_sessionstart(session):
    import time

    session.config._farmhand_started = time.time()


def pytest_terminal_summary(terminalreporter, config):
    """Names the screenshots the browser tests saved in this run (tests/artifacts/screenshots)."""
    from browser import SCREENSHOTS

    started = getattr(config, "_farmhand_started", 0)
    shots = sorted(p for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= started) if SCREENSHOTS.is_dir() else []
    if shots:
        terminalreporter.section("dashboard screenshots")
        for path in shots:
            terminalreporter.write_line(str(path))
