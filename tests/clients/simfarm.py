"""Helpers for the run, job and stop tests: small fleets, simulated scenarios, fast servers,
polling, and what a job *should* look like once the stop and billing rules are applied.

Every expectation is computed from the scenario the test wrote (device-farm-notes.md:
whole seconds per step rounded up, deviceMinutes = seconds / 60; stop_job.txt for stops),
never from wall-clock time: a `--time-scale` server runs the service clock N times faster,
so wall time only decides how long to keep polling.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import Account, Farmhand, new_access_key, running
from support import make_apk, make_zip, unique, upload_file

REGION = "us-west-2"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
RUN_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:(\d{{12}}):run:({UUID})/({UUID})$")
JOB_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:(\d{{12}}):job:({UUID})/({UUID})/(\d{{5}})$")
SUITE_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:(\d{{12}}):suite:({UUID})/({UUID})/(\d{{5}})/(\d{{5}})$")
TEST_ARN = re.compile(rf"^arn:aws:devicefarm:{REGION}:(\d{{12}}):test:({UUID})/({UUID})/(\d{{5}})/(\d{{5}})/(\d{{5}})$")

# Fast enough that a job of a few simulated minutes takes seconds, slow enough that each
# phase of the stop scenarios lasts well over a second of wall time on a loaded machine.
TIME_SCALE = 20.0
# Device assigned → PROCESSING 1 s → SCHEDULING 1 s → PREPARING 2 s, then setup begins.
PREP_SECONDS = 4.0
# The server's default `--stop-grace-seconds`: how long a simulated test in progress runs on
# after a stop (simulated seconds, on the service clock).
STOP_GRACE = 10.0
# Timestamps are epoch seconds with millisecond fractions.
TS_TOLERANCE = 0.0015

COUNTER_KEYS = ("total", "passed", "failed", "warned", "errored", "stopped", "skipped")
TEST_SEVERITY = {"ERRORED": 6, "FAILED": 5, "WARNED": 4, "PASSED": 3, "SKIPPED": 2, "STOPPED": 1}
JOB_SEVERITY = {"ERRORED": 6, "FAILED": 5, "STOPPED": 4, "WARNED": 3, "PASSED": 2, "SKIPPED": 1}
STATUS_ORDER = ["PENDING", "PENDING_CONCURRENCY", "PENDING_DEVICE", "PROCESSING", "SCHEDULING", "PREPARING",
                "RUNNING", "STOPPING", "COMPLETED"]


# --- fleets ---------------------------------------------------------------------------


def device(id: str, name: str, platform: str = "ANDROID", *, os: str | None = None, instances: int = 1,
           form_factor: str = "PHONE") -> dict:
    """One fleet-file device, complete enough to pass the fleet checks."""
    android = platform == "ANDROID"
    return {
        "id": id,
        "name": name,
        "manufacturer": "Google" if android else "Apple",
        "model": name,
        "model_id": id.upper()[:12],
        "form_factor": form_factor,
        "platform": platform,
        "os": os or ("14" if android else "17.4"),
        "cpu": {"frequency": "MHz" if android else "Hz", "architecture": "arm64-v8a" if android else "arm64e",
                "clock": 2850.0 if android else 3460000000.0},
        "resolution": {"width": 1080, "height": 2400},
        "heap_size": 536870912,
        "memory": 128000000000,
        "image": f"{id}-image",
        "radio": "WiFi",
        "remote_access_enabled": False,
        "availability": "AVAILABLE",
        "udids": [f"{id.upper().replace('-', '')}{i:03d}" for i in range(instances)],
    }


def host_device(id: str, name: str, **kwargs) -> dict:
    """A device whose jobs run their test spec as real processes on the machine serving it."""
    return {**device(id, name, **kwargs), "driver": "host"}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def fleet_toml(devices: list[dict], *, fleet_type: str = "PRIVATE", name: str = "Test lab") -> str:
    lines = ["[fleet]", f"type = {json.dumps(fleet_type)}", f"name = {json.dumps(name)}", ""]
    for d in devices:
        lines.append("[[device]]")
        for key, value in d.items():
            if key != "udids":
                lines.append(f"{key} = {_toml_value(value)}")
        for udid in d["udids"]:
            lines += ["", "[[device.instance]]", f"udid = {json.dumps(udid)}"]
        lines.append("")
    return "\n".join(lines)


def sim_server(data_dir: Path, *, scale: float = TIME_SCALE, fleet: list[dict] | None = None,
               root_key: tuple[str, str] | None = None, stop_grace: float | None = None,
               extra_args: Sequence[str] = (), database_url: str | None = None,
               env: dict[str, str] | None = None) -> Farmhand:
    """A server whose service clock runs `scale` times faster, on `fleet` (default: demo),
    with a stop grace of `stop_grace` seconds (default: the server's, STOP_GRACE)."""
    args = ["--time-scale", str(scale)]
    if stop_grace is not None:
        args += ["--stop-grace-seconds", str(stop_grace)]
    if fleet is not None:
        fleet_path = Path(str(data_dir) + "-fleet.toml")
        fleet_path.write_text(fleet_toml(fleet))
        args += ["--fleet", str(fleet_path)]
    return Farmhand(data_dir, root_key=root_key or new_access_key(), extra_args=[*args, *extra_args],
                    database_url=database_url, env=env)


def sim_fixture(name: str, **kwargs):
    """A module-scoped fixture: `sim_server(**kwargs)` in a new directory called `name`,
    shared by the module's tests, which pay for one start; it must stop cleanly after them."""

    @pytest.fixture(scope="module")
    def farm(tmp_path_factory) -> Iterator[Farmhand]:
        with running(sim_server(tmp_path_factory.mktemp(name), **kwargs)) as started:
            yield started

    return farm


# --- scenarios ------------------------------------------------------------------------


@dataclass(frozen=True)
class SimTest:
    name: str
    seconds: float
    result: str = "PASSED"
    message: str | None = None

    def yaml(self) -> str:
        parts = [f"name: {json.dumps(self.name)}", f"seconds: {self.seconds}", f"result: {self.result}"]
        if self.message is not None:
            parts.append(f"message: {json.dumps(self.message)}")
        return "{" + ", ".join(parts) + "}"


def billed(seconds: float) -> int:
    """Whole seconds, rounded up (device-farm-notes, "Billing unit")."""
    return math.ceil(round(seconds * 1000) / 1000)


@dataclass(frozen=True)
class Scenario:
    setup: float
    teardown: float
    tests: tuple[SimTest, ...]

    def body_yaml(self, indent: str = "") -> str:
        lines = [f"{indent}setup_seconds: {self.setup}", f"{indent}teardown_seconds: {self.teardown}",
                 f"{indent}tests:"]
        lines += [f"{indent}  - {t.yaml()}" for t in self.tests]
        return "\n".join(lines) + "\n"

    def steps(self) -> list[tuple[str, float, str, str | None]]:
        """(name, seconds, result, message) in the order they run, setup and teardown included."""
        return ([("Setup Test", self.setup, "PASSED", None)]
                + [(t.name, t.seconds, t.result, t.message) for t in self.tests]
                + [("Teardown Test", self.teardown, "PASSED", None)])

    @property
    def full_seconds(self) -> int:
        return sum(billed(s) for _, s, _, _ in self.steps())

    @property
    def duration(self) -> float:
        """Assignment → end of teardown, in simulated seconds."""
        return PREP_SECONDS + sum(s for _, s, _, _ in self.steps())

    @property
    def result(self) -> str:
        return worst([t.result for t in self.tests] + ["PASSED"], TEST_SEVERITY)


def scenario_yaml(base: Scenario, per_device: dict[str, Scenario] | None = None) -> str:
    text = base.body_yaml()
    if per_device:
        text += "devices:\n"
        for name, scenario in per_device.items():
            text += f"  - match: {{name: {json.dumps(name)}}}\n" + scenario.body_yaml("    ")
    return text


def worst(results, severity: dict[str, int]) -> str:
    return max(results, key=lambda r: severity[r])


# --- a project to schedule runs in -----------------------------------------------------


class Lab:
    """A project in one account, with helpers for the uploads and pools a run needs."""

    def __init__(self, farm: Farmhand, account: Account | None = None, *, name: str = "lab"):
        self.farm = farm
        self.account = account
        self.client = farm.client(account)
        self.project = self.client.create_project(name=unique(name))["project"]
        self.arn = self.project["arn"]

    def upload(self, name: str, upload_type: str, data: bytes) -> dict:
        upload = upload_file(self.client, self.arn, name, upload_type, data)
        assert upload["status"] == "SUCCEEDED", upload
        return upload

    def package(self, scenario: Scenario | str | None = None, upload_type: str = "APPIUM_WEB_PYTHON_TEST_PACKAGE",
                per_device: dict[str, Scenario] | None = None) -> str:
        entries: dict[str, str] = {"tests/test_sim.py": "def test_sim():\n    pass\n"}
        if scenario is not None:
            entries["farmhand-sim.yaml"] = (scenario if isinstance(scenario, str)
                                            else scenario_yaml(scenario, per_device))
        return self.upload("tests.zip", upload_type, make_zip(entries))["arn"]

    def app(self) -> str:
        return self.upload("app.apk", "ANDROID_APP", make_apk())["arn"]

    def pool(self, device_arns: list[str], name: str = "pool") -> str:
        rules = [{"attribute": "ARN", "operator": "IN", "value": json.dumps(list(device_arns))}]
        return self.client.create_device_pool(projectArn=self.arn, name=unique(name), rules=rules)["devicePool"]["arn"]

    def web_run(self, pool_arn: str, package_arn: str, *, name: str | None = None, **kwargs) -> dict:
        return self.client.schedule_run(projectArn=self.arn, devicePoolArn=pool_arn, name=name or unique("run"),
                                        test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package_arn},
                                        **kwargs)["run"]

    def spec_run(self, device_arn: str, spec: str, *, name: str = "spec-run", **kwargs) -> dict:
        """A run of the test spec `spec` on that one device (a host's: the spec's commands run
        for real), with a package of one data file."""
        package = self.upload("tests.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE",
                              make_zip({"tests/data.txt": "package file\n"}))
        spec_upload = self.upload("spec.yml", "APPIUM_WEB_PYTHON_TEST_SPEC", spec.encode())
        return self.client.schedule_run(
            projectArn=self.arn,
            name=unique(name),
            test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package["arn"], "testSpecArn": spec_upload["arn"]},
            deviceSelectionConfiguration={
                "filters": [{"attribute": "ARN", "operator": "EQUALS", "values": [device_arn]}],
                "maxDevices": 1,
            },
            **kwargs,
        )["run"]

    def device_arn(self, model: str) -> str:
        """The fleet's device of that model, found as a client would: ListDevices on a MODEL filter."""
        found = self.client.list_devices(filters=[{"attribute": "MODEL", "operator": "EQUALS", "values": [model]}])
        return found["devices"][0]["arn"]

    def jobs(self, run_arn: str) -> list[dict]:
        return [j for page in self.client.get_paginator("list_jobs").paginate(arn=run_arn) for j in page["jobs"]]


@contextmanager
def one_finished_run(data_dir: Path, fleet: list[dict], device_name: str, scenario: Scenario
                     ) -> Iterator[tuple[Lab, dict, dict]]:
    """A server on `fleet` that has run `scenario` on `device_name` to the end, for tests that
    only read what a finished job left: (lab, run, job)."""
    with running(sim_server(data_dir, fleet=fleet)) as farm:
        lab = Lab(farm)
        pool = lab.pool([devices_by_name(lab.client)[device_name]["arn"]])
        run = lab.web_run(pool, lab.package(scenario))
        wait_run_completed(lab.client, run["arn"])
        yield lab, run, lab.jobs(run["arn"])[0]


def devices_by_name(client) -> dict[str, dict]:
    return {d["name"]: d for page in client.get_paginator("list_devices").paginate() for d in page["devices"]}


def wait_availability(client, name: str, availability: str, timeout: float = 15.0) -> dict:
    return wait_for(lambda: devices_by_name(client).get(name, {}), lambda d: d.get("availability") == availability,
                    timeout=timeout, interval=0.1, what=f"{name} {availability}")


# --- ARNs below a job -------------------------------------------------------------------


def suite_arn(job_arn: str, suite: int) -> str:
    return job_arn.replace(":job:", ":suite:", 1) + f"/{suite:05d}"


def test_arn(job_arn: str, suite: int, test: int) -> str:
    return job_arn.replace(":job:", ":test:", 1) + f"/{suite:05d}/{test:05d}"


def step_arn(job_arn: str, scenario: Scenario, step: int) -> str:
    """The ARN of the `step`-th step of `Scenario.steps()` (0 = Setup Test)."""
    if step == 0:
        return test_arn(job_arn, 0, 0)
    if step <= len(scenario.tests):
        return test_arn(job_arn, 1, step - 1)
    return test_arn(job_arn, 2, 0)


def job_tree(client, job_arn: str) -> list[tuple[dict, list[dict]]]:
    suites = [s for page in client.get_paginator("list_suites").paginate(arn=job_arn) for s in page["suites"]]
    return [(s, [t for page in client.get_paginator("list_tests").paginate(arn=s["arn"]) for t in page["tests"]])
            for s in suites]


# --- polling --------------------------------------------------------------------------


def wait_for(fetch: Callable[[], dict], done: Callable[[dict], bool], *, timeout: float = 60.0,
             interval: float = 0.02, what: str = "condition") -> dict:
    """Calls `fetch` until `done` holds on its value; returns that value."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        value = fetch()
        if done(value):
            return value
        status = value.get("status") if isinstance(value, dict) else None
        if status and (not seen or seen[-1] != status):
            seen.append(status)
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached after {timeout}s; statuses seen {seen}; last {value}")
        time.sleep(interval)


def wait_job(client, arn: str, done: Callable[[dict], bool], **kwargs) -> dict:
    return wait_for(lambda: client.get_job(arn=arn)["job"], done, **kwargs)


def wait_job_status(client, arn: str, *statuses: str, **kwargs) -> dict:
    return wait_job(client, arn, lambda j: j["status"] in statuses, what=f"job status in {statuses}", **kwargs)


def wait_run_completed(client, arn: str, timeout: float = 90.0) -> dict:
    return wait_for(lambda: client.get_run(arn=arn)["run"], lambda r: r["status"] == "COMPLETED",
                    timeout=timeout, what="run COMPLETED")


def wait_step_running(client, job_arn: str, scenario: Scenario, step: int, **kwargs) -> dict:
    arn = step_arn(job_arn, scenario, step)
    return wait_for(lambda: client.get_test(arn=arn)["test"], lambda t: t["status"] == "RUNNING",
                    what=f"step {step} RUNNING", **kwargs)


# --- expectations ---------------------------------------------------------------------


def ts(value: dt.datetime) -> float:
    return value.timestamp()


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TS_TOLERANCE


def counters(results: list[str]) -> dict:
    """Counters of some tests: total counts all of them, PENDING ones included."""
    c = {k: 0 for k in COUNTER_KEYS}
    c["total"] = len(results)
    for r in results:
        if r != "PENDING":
            c[r.lower()] += 1
    return c


def minutes(seconds: int, billing_method: str = "METERED") -> dict:
    total = seconds / 60
    return {"total": total, "metered": total if billing_method == "METERED" else 0.0,
            "unmetered": total if billing_method == "UNMETERED" else 0.0}


@dataclass
class ExpectedStep:
    name: str
    status: str
    result: str
    started: float | None  # offsets from the job's start (device assignment), simulated seconds
    stopped: float | None
    billed_seconds: int
    message: str | None = None


@dataclass
class ExpectedJob:
    result: str
    steps: list[ExpectedStep] = field(default_factory=list)

    @property
    def billed_seconds(self) -> int:
        return sum(s.billed_seconds for s in self.steps)

    @property
    def results(self) -> list[str]:
        return [s.result for s in self.steps]


def expected_job(scenario: Scenario, *, stop_at: float | None = None, grace: float = STOP_GRACE) -> ExpectedJob:
    """The final job of `scenario` with a stop at `stop_at` seconds after assignment (None:
    no stop; a negative value: a stop before the job had a device) recorded with `grace`. The
    rules: a stop before setup begins ends the job at once; otherwise setup in progress runs
    to its end, a test in progress ends STOPPED at stop + grace unless it ends by itself
    first, no later test starts (each STOPPED at the stop instant), teardown runs in full.
    """
    steps: list[ExpectedStep] = []
    if stop_at is not None and stop_at <= PREP_SECONDS:
        for name, _, _, _ in scenario.steps():
            steps.append(ExpectedStep(name, "COMPLETED", "STOPPED", None, max(stop_at, 0.0), 0))
        return ExpectedJob("STOPPED", steps)
    clock = PREP_SECONDS
    all_steps = scenario.steps()
    for i, (name, seconds, result, message) in enumerate(all_steps):
        is_test = 0 < i < len(all_steps) - 1
        if is_test and stop_at is not None and clock >= stop_at:
            steps.append(ExpectedStep(name, "COMPLETED", "STOPPED", None, stop_at, 0))
            continue
        end = clock + seconds
        if is_test and stop_at is not None and end > stop_at + grace:
            # In progress at the stop and still running at stop + grace: interrupted.
            cut = stop_at + grace
            steps.append(ExpectedStep(name, "COMPLETED", "STOPPED", clock, cut, billed(cut - clock)))
            clock = cut
            continue
        steps.append(ExpectedStep(name, "COMPLETED", result, clock, end, billed(seconds), message))
        clock = end
    job_result = "STOPPED" if stop_at is not None else scenario.result
    return ExpectedJob(job_result, steps)


def stop_offset(job: dict, tree: list[tuple[dict, list[dict]]], grace: float = STOP_GRACE) -> float | None:
    """When a stop took effect, read back from a final job: the instant its unstarted tests
    were STOPPED, or `grace` before the test it interrupted ended (None if every test ran to
    its end). Where both show, they must agree."""
    started = ts(job["started"]) if "started" in job else 0.0
    stopped = [ts(t["stopped"]) - started - (grace if "started" in t else 0.0) for _, tests in tree for t in tests
               if t["result"] == "STOPPED"]
    if not stopped:
        return None
    assert max(stopped) - min(stopped) <= TS_TOLERANCE, f"stopped tests disagree on the stop instant {stopped}"
    return stopped[0]


def check_final_job(client, job: dict, scenario: Scenario, expected: ExpectedJob, billing_method: str = "METERED"
                    ) -> list[tuple[dict, list[dict]]]:
    """Asserts a COMPLETED job, its three suites and every test against `expected`."""
    assert job["status"] == "COMPLETED", job
    assert job["result"] == expected.result, (job["result"], expected.result)
    assert job["counters"] == counters(expected.results), (job["counters"], expected.results)
    assert job["deviceMinutes"] == minutes(expected.billed_seconds, billing_method), (
        job["deviceMinutes"], expected.billed_seconds)
    tree = job_tree(client, job["arn"])
    assert [s["name"] for s, _ in tree] == ["Setup Suite", "Tests Suite", "Teardown Suite"]
    n = len(scenario.tests)
    groups = [expected.steps[:1], expected.steps[1:1 + n], expected.steps[1 + n:]]
    started = ts(job["started"]) if "started" in job else None
    for suite_index, ((suite, tests), wanted) in enumerate(zip(tree, groups)):
        assert suite["arn"] == suite_arn(job["arn"], suite_index)
        assert SUITE_ARN.match(suite["arn"]), suite["arn"]
        assert suite["type"] == job["type"]
        assert suite["status"] == "COMPLETED", suite
        assert suite["counters"] == counters([w.result for w in wanted]), (suite["name"], suite["counters"])
        assert suite["deviceMinutes"] == minutes(sum(w.billed_seconds for w in wanted), billing_method)
        assert suite["result"] == worst([w.result for w in wanted], TEST_SEVERITY), suite
        assert [t["name"] for t in tests] == [w.name for w in wanted]
        for test_index, (test, want) in enumerate(zip(tests, wanted)):
            where = f"{suite['name']}/{test['name']}"
            assert test["arn"] == test_arn(job["arn"], suite_index, test_index)
            assert TEST_ARN.match(test["arn"]), test["arn"]
            assert client.get_test(arn=test["arn"])["test"] == test
            assert test["type"] == job["type"]
            assert (test["status"], test["result"]) == (want.status, want.result), (where, test)
            assert test["counters"] == counters([want.result]), where
            assert test["deviceMinutes"] == minutes(want.billed_seconds, billing_method), (where, test)
            assert test.get("message") == want.message, (where, test)
            if want.started is None:
                assert "started" not in test, (where, test)
            else:
                assert started is not None and close(ts(test["started"]) - started, want.started), (
                    where, ts(test["started"]) - started, want.started)
            if started is not None:
                assert close(ts(test["stopped"]) - started, want.stopped), (
                    where, ts(test["stopped"]) - started, want.stopped)
        ran = [t for t in tests if "started" in t]
        if ran:
            assert suite["started"] == ran[0]["started"], suite
        assert suite["stopped"] == max(t["stopped"] for t in tests), suite
    if started is not None:
        assert job["stopped"] == max(t["stopped"] for _, tests in tree for t in tests)
    return tree


# --- test specs ----------------------------------------------------------------------


def spec_yaml(install=(), pre_test=(), test=(), post_test=(), artifacts=()) -> str:
    """A test spec (version 0.1) with these phase commands and artifact paths."""
    def block(name, commands):
        if not commands:
            return ""
        lines = "".join(f"      - {json_quote(c)}\n" for c in commands)
        return f"  {name}:\n    commands:\n{lines}"
    body = "".join(block(n, c) for n, c in
                   [("install", install), ("pre_test", pre_test), ("test", test), ("post_test", post_test)])
    text = f"version: 0.1\nphases:\n{body}"
    if artifacts:
        text += "artifacts:\n" + "".join(f"  - {json_quote(a)}\n" for a in artifacts)
    return text


def json_quote(text: str) -> str:
    return json.dumps(text)
