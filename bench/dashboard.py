"""What the web dashboard (/ui) costs: page loads of a project with 1,000 runs, and how soon
its live stream shows a change. Every figure is printed next to a baseline measured in the
same run, and only the ratio means much: the machine may be busy.

1. Page loads. One project holds 1,000 runs (one to three simulated devices each, nearly
   all completed, a few still running), a second holds 50 (one full page), a third one.
   A signed-in session (signed in through the form, as a browser does) loads the runs
   page of each, the last page of the big one, a run page and a job page; the same
   keep-alive client sends the baselines: GET /healthz (bare HTTP) and the signed API
   calls that read the same data (ListRuns for a runs page, GetRun + ListJobs for a run
   page, GetJob + ListSuites + ListTests for a job page). The rows take turns, one request
   each per round, so a burst of load elsewhere hits every row alike. Time runs from
   sending the request to the last byte of the answer; signing happens before.
2. In a real browser, if playwright-core and Chromium are there: navigation timing of the
   big project's runs page (domContentLoaded and load), against the small project's runs
   page and /healthz loaded the same way.
3. SSE latency. Runs of one long simulated job each; for each, the run page's event
   stream is open (a streaming HTTP client parsing `event:` and `data:` lines), StopJob
   goes through boto3, and the time runs from StopJob's answer to the first event showing
   the job STOPPING. Baseline: StopJob's own round trip. Then a change nobody asked for:
   a job of many short simulated tests, whose stream shows each test's end within the
   stream's tick; the lag is measured from the instant the job's timeline ended the test
   (its `stopped`, on the service clock, mapped back to real time).

Run from the repository root, after `cargo build --release -p farmhand`
(./scripts/bench --only dashboard does both):

    .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --runs 200 --loads 50 --stops 10   # a quick look

The browser part looks for playwright-core in tests/browser/node_modules (or the directory
--playwright or $FARMHAND_BENCH_PLAYWRIGHT gives) and for Chromium at /usr/bin/chromium; without them it says so and
skips. Every process the benchmark starts is ended, whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests/clients"))
# The harness runs target/debug/farmhand unless told otherwise; a benchmark wants release.
os.environ.setdefault("FARMHAND_BIN", str(REPO / "target/release/farmhand"))

import requests  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

from harness import REGION, TARGET_PREFIX, Farmhand, binary, new_access_key  # noqa: E402
from simfarm import Lab, Scenario, SimTest, device, fleet_toml, wait_for  # noqa: E402

# Runs on these complete in milliseconds at the bench's time scale.
FAST_DEVICES = 8
FAST_INSTANCES = 4
FAST = Scenario(setup=1, teardown=1, tests=(SimTest("login", 5), SimTest("search", 7), SimTest("checkout", 4)))
# Tests of a simulated day: at 1000x a job stays RUNNING (or STOPPING) for minutes.
LONG = Scenario(setup=1, teardown=1, tests=tuple(SimTest(f"soak-{i}", 86_400) for i in range(10)))
RUNNING_IN_BIG_PROJECT = 5
# Long enough to be stopped while RUNNING, short enough that a stopped job (whose test in
# progress runs to its end) completes within 20 s and its stream ends.
STOPPABLE = Scenario(setup=1, teardown=1, tests=tuple(SimTest(f"long-{i}", 20_000) for i in range(10)))
# A job whose tests end on their own, one every 0.7 s of real time at 1000x: the phase
# drifts against the stream's 250 ms tick, so the lags cover the whole tick.
TICKING_TESTS = 40
TICKING = Scenario(setup=1, teardown=1, tests=tuple(SimTest(f"step-{i:02d}", 700) for i in range(TICKING_TESTS)))
JOB_TIMEOUT_MINUTES = 20_000


from cleanup import CLEANUP, exit_on_signal, log, stop_server  # noqa: E402


# --- the machine and figures ------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{len(os.sched_getaffinity(0))} cores (nproc), {model}; load average at start {load}"


def revision() -> str:
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet"], capture_output=True).returncode != 0
    return (result.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned first column, the rest right-aligned, as the other benches print."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)).rstrip()

    return [line(header), *[line(r) for r in rows]]


def ms(value: float) -> str:
    return f"{value:.2f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "-"


# --- a server and its clients -----------------------------------------------------------


class Api:
    """Signed JSON 1.1 calls over one keep-alive connection, as an SDK sends them. The
    signature is made before the clock starts: what is timed is the exchange."""

    def __init__(self, farm: Farmhand):
        self.farm = farm
        self.http = requests.Session()
        self.credentials = Credentials(farm.access_key_id, farm.secret_access_key)

    def signed(self, operation: str, body: dict) -> requests.PreparedRequest:
        request = AWSRequest(method="POST", url=self.farm.endpoint + "/", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/x-amz-json-1.1",
                                      "X-Amz-Target": f"{TARGET_PREFIX}.{operation}"})
        SigV4Auth(self.credentials, "devicefarm", REGION).add_auth(request)
        return requests.Request("POST", request.url, data=request.body, headers=dict(request.headers.items())).prepare()

    def send(self, prepared: requests.PreparedRequest) -> requests.Response:
        response = self.http.send(prepared, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"{prepared.headers['X-Amz-Target']} answered {response.status_code}: {response.text[:300]}")
        return response

    def call(self, operation: str, body: dict) -> dict:
        return self.send(self.signed(operation, body)).json()


def start_farm(work: Path, scale: float) -> Farmhand:
    fleet = [device(f"fast-{i}", f"Fast {i}", instances=FAST_INSTANCES) for i in range(FAST_DEVICES)]
    # One instance per long job: the big project's running runs, every stop, the ticking job.
    fleet.append(device("long", "Long", instances=128))
    fleet_path = work / "fleet.toml"
    fleet_path.write_text(fleet_toml(fleet, name="Dashboard bench"))
    farm = Farmhand(work / "data", root_key=new_access_key(),
                    extra_args=["--time-scale", str(scale), "--fleet", str(fleet_path),
                                # The seeding sends a thousand ScheduleRuns as fast as it can.
                                "--rate-limit-per-second", "0"])
    CLEANUP.push("farmhand serve", lambda: stop_server(farm))
    farm.start()
    # Long jobs, many at once, and more device minutes than a trial has.
    farm.manage("account", "update", farm.account_id, "--max-concurrent-jobs", "1000", "--no-trial-minutes",
                "--max-job-timeout-minutes", str(JOB_TIMEOUT_MINUTES))
    return farm


# --- seeding ----------------------------------------------------------------------------


@dataclass
class Project:
    lab: Lab
    packages: dict[str, str]
    pools: list[str]
    long_pool: str
    runs: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.lab.arn.rsplit(":", 1)[1]


class Seeder:
    def __init__(self, farm: Farmhand):
        self.farm = farm
        self.client = farm.client()
        names = {d["name"]: d["arn"] for page in self.client.get_paginator("list_devices").paginate()
                 for d in page["devices"]}
        self.fast = [names[f"Fast {i}"] for i in range(FAST_DEVICES)]
        self.long = names["Long"]

    def project(self, name: str) -> Project:
        lab = Lab(self.farm, name=name)
        packages = {"fast": lab.package(FAST), "long": lab.package(LONG), "stoppable": lab.package(STOPPABLE),
                    "ticking": lab.package(TICKING)}
        # Pools of one, two and three fast devices, spread over the fleet.
        pools = [lab.pool([self.fast[(i + k) % FAST_DEVICES] for k in range(i % 3 + 1)], name=f"fast-{i}")
                 for i in range(FAST_DEVICES)]
        return Project(lab, packages, pools, lab.pool([self.long], name="long"))

    def schedule(self, project: Project, package: str, pool: str, name: str) -> str:
        run = self.client.schedule_run(projectArn=project.lab.arn, devicePoolArn=pool, name=name,
                                       test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": project.packages[package]},
                                       executionConfiguration={"jobTimeoutMinutes": JOB_TIMEOUT_MINUTES})["run"]
        project.runs.append(run["arn"])
        return run["arn"]

    def fill(self, project: Project, runs: int, running: int) -> None:
        """`runs` runs, of which `running` are long ones (RUNNING for the whole bench)."""
        long_at = {i * 7 for i in range(running)}
        for i in range(runs):
            if i in long_at:
                self.schedule(project, "long", project.long_pool, f"soak-{i:04d}")
            else:
                self.schedule(project, "fast", project.pools[i % len(project.pools)], f"nightly-{i:04d}")
            if (i + 1) % 250 == 0:
                log(f"  {i + 1} runs scheduled")

    def wait_settled(self, project: Project, running: int, timeout: float = 600.0) -> None:
        """Until every run is COMPLETED except the `running` long ones, which are RUNNING."""
        deadline = time.monotonic() + timeout
        while True:
            statuses: dict[str, int] = {}
            for page in self.client.get_paginator("list_runs").paginate(arn=project.lab.arn):
                for run in page["runs"]:
                    statuses[run["status"]] = statuses.get(run["status"], 0) + 1
            if statuses.get("COMPLETED", 0) == len(project.runs) - running and statuses.get("RUNNING", 0) == running:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"runs not settled after {timeout:.0f}s: {statuses}")
            time.sleep(1.0)


# --- part 1: page loads ----------------------------------------------------------------


@dataclass
class Row:
    name: str
    # Makes one load ready (signatures included) and returns it; the load returns the
    # bytes received. Only the load is timed.
    prepare: Callable[[], Callable[[], int]]
    baseline: str | None = None  # the row whose p50 this one is compared to ("vs API")
    key: str = ""  # how growth_table finds the row
    samples: list[float] = field(default_factory=list)
    size: int = 0


def page_loader(browser: requests.Session, url: str, marker: str, count: int) -> Callable[[], Callable[[], int]]:
    """A signed-in GET of `url`, checked: 200, and `marker` there `count` times."""
    def load() -> int:
        response = browser.get(url, timeout=30, allow_redirects=False)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        found = response.text.count(marker)
        if found != count:
            raise RuntimeError(f"GET {url}: {found} of {marker!r}, expected {count}")
        return len(response.content)
    return lambda: load


def api_loader(api: Api, calls: list[tuple[str, dict]]) -> Callable[[], Callable[[], int]]:
    """The signed calls that read what a page shows, one after another."""
    def prepare() -> Callable[[], int]:
        prepared = [api.signed(op, body) for op, body in calls]
        return lambda: sum(len(api.send(request).content) for request in prepared)
    return prepare


def timed_rounds(rows: list[Row], loads: int) -> None:
    """`loads` rounds of one load per row, after one round to warm up."""
    for row in rows:
        row.size = row.prepare()()
    for _ in range(loads):
        for row in rows:
            load = row.prepare()
            started = time.perf_counter()
            load()
            row.samples.append((time.perf_counter() - started) * 1000)


def measure_pages(farm: Farmhand, seeder: Seeder, big: Project, page: Project, one: Project, loads: int) -> list[Row]:
    api = Api(farm)
    browser = farm.ui_session()
    base = farm.endpoint
    # The big project's last page of runs, reached by the tokens ListRuns hands out.
    token, pages, running = None, 0, []
    while True:
        answer = api.call("ListRuns", {"arn": big.lab.arn, **({"nextToken": token} if token else {})})
        pages += 1
        running.append(sum(r["status"] != "COMPLETED" for r in answer["runs"]))
        if not answer.get("nextToken"):
            break
        last_token, token = answer["nextToken"], answer["nextToken"]
    last_rows = len(answer["runs"])
    # A completed run of three devices, and one of its jobs.
    run_arn = next(arn for i, arn in enumerate(big.runs) if i % 7 and (i % len(big.pools)) % 3 == 2)
    jobs = api.call("ListJobs", {"arn": run_arn})["jobs"]
    job_arn = jobs[0]["arn"]
    suites = api.call("ListSuites", {"arn": job_arn})["suites"]
    tests = sum(len(api.call("ListTests", {"arn": s["arn"]})["tests"]) for s in suites)
    run_path = run_arn.split(":run:", 1)[1]
    job_path = job_arn.split(":job:", 1)[1]
    quoted = requests.utils.quote(last_token, safe="")

    healthz = Row("GET /healthz (bare HTTP, baseline)",
                  lambda: lambda: len(api.http.get(base + "/healthz", timeout=30).content))
    rows = [healthz]

    def pair(label: str, url: str, marker: str, count: int, calls: list[tuple[str, dict]], api_label: str,
             key: str = "") -> None:
        rows.append(Row(api_label, api_loader(api, calls)))
        rows.append(Row(label, page_loader(browser, url, marker, count), baseline=api_label, key=key))

    def active(n: int) -> str:
        return f", {n} not COMPLETED" if n else ""

    pair("runs page, 1-run project", f"{base}/ui/projects/{one.id}", 'class="run"', 1,
         [("ListRuns", {"arn": one.lab.arn})], "ListRuns, 1-run project (signed)", key="one")
    pair("runs page, 50-run project", f"{base}/ui/projects/{page.id}", 'class="run"', 50,
         [("ListRuns", {"arn": page.lab.arn})], "ListRuns, 50-run project (signed)", key="fifty")
    pair(f"runs page, {len(big.runs):,}-run project{active(running[0])}", f"{base}/ui/projects/{big.id}",
         'class="run"', 50, [("ListRuns", {"arn": big.lab.arn})], f"ListRuns, {len(big.runs):,}-run project (signed)",
         key="first")
    pair(f"  its last page ({pages} of {pages}){active(running[-1])}", f"{base}/ui/projects/{big.id}?next={quoted}",
         'class="run"', last_rows, [("ListRuns", {"arn": big.lab.arn, "nextToken": last_token})],
         "  ListRuns, the same page (signed)", key="last")
    pair(f"run page ({len(jobs)} jobs)", f"{base}/ui/runs/{run_path}", 'class="job"', len(jobs),
         [("GetRun", {"arn": run_arn}), ("ListJobs", {"arn": run_arn})], "GetRun + ListJobs (signed)")
    job_calls = [("GetJob", {"arn": job_arn}), ("ListSuites", {"arn": job_arn})]
    job_calls += [("ListTests", {"arn": s["arn"]}) for s in suites]
    pair(f"job page ({len(suites)} suites, {tests} tests)", f"{base}/ui/jobs/{job_path}", 'class="test"', tests,
         job_calls, f"GetJob + ListSuites + {len(suites)} ListTests (signed)")
    timed_rounds(rows, loads)
    return rows


def page_table(rows: list[Row], loads: int) -> list[str]:
    by_name = {r.name: r for r in rows}
    health = percentile(rows[0].samples, 50)
    out = []
    body = []
    for r in rows:
        p50, p90, p99 = (percentile(r.samples, p) for p in (50, 90, 99))
        vs_api = ratio(p50, percentile(by_name[r.baseline].samples, 50)) if r.baseline else ""
        body.append([r.name, str(r.size), ms(p50), ms(p90), ms(p99), ratio(p50, health), vs_api])
    out.append(f"Page loads, signed in: {loads} loads per row, rows taking turns; ms from request to last byte, keep-alive")
    out += table(["request", "bytes", "p50 ms", "p90 ms", "p99 ms", "p50 vs healthz", "p50 vs API"], body)
    return out


def growth_table(rows: list[Row], big_runs: int) -> list[str]:
    by_key = {r.key: r for r in rows if r.key}

    def p(key: str, q: float) -> float:
        return percentile(by_key[key].samples, q)

    lines = [(f"{big_runs:,}-run project's last page vs 50-run project's page", "last", "fifty"),
             (f"{big_runs:,}-run project's first page vs 50-run project's page", "first", "fifty"),
             ("50-run project's page vs 1-run project's page", "fifty", "one")]
    body = [[label, ratio(p(a, 50), p(b, 50)), ratio(p(a, 99), p(b, 99))] for label, a, b in lines]
    return ["Does the runs page grow with the project? (a page holds 50 runs)",
            *table(["runs page", "p50", "p99"], body)]


# --- part 2: a real browser ---------------------------------------------------------------


def playwright_dir(given: str | None) -> Path | None:
    for candidate in [given, REPO / "tests/browser"]:
        if candidate and (Path(candidate) / "node_modules/playwright-core").is_dir():
            return Path(candidate)
    return None


def measure_browser(farm: Farmhand, big: Project, one: Project, loads: int, pw: Path, chromium: str) -> list[str]:
    pages = [(f"runs page, {len(big.runs):,}-run project", f"/ui/projects/{big.id}"),
             ("runs page, 1-run project", f"/ui/projects/{one.id}"),
             ("GET /healthz (baseline)", "/healthz")]
    config = {"playwright": str(pw / "node_modules/playwright-core"), "chromium": chromium, "endpoint": farm.endpoint,
              "accessKeyId": farm.access_key_id, "secretAccessKey": farm.secret_access_key, "loads": loads,
              "pages": [path for _, path in pages]}
    result = subprocess.run(["node", str(REPO / "bench/dashboard_browser.cjs")], input=json.dumps(config),
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"the browser run failed:\n{result.stderr[-2000:]}")
    timings = json.loads(result.stdout)
    health = timings[-1]
    body = []
    for (label, _), samples in zip(pages, timings):
        dcl = percentile([s["domContentLoaded"] for s in samples], 50)
        load = percentile([s["load"] for s in samples], 50)
        first = percentile([s["responseEnd"] for s in samples], 50)
        base_load = percentile([s["load"] for s in health], 50)
        body.append([label, ms(first), ms(dcl), ms(load), ratio(load, base_load)])
    return [f"Chromium (headless, playwright-core), {loads} navigations per page, taking turns; "
            "ms from navigation start, p50",
            *table(["page", "last byte", "domContentLoaded", "load", "load vs healthz"], body)]


# --- part 3: live streams -----------------------------------------------------------------


class Stream:
    """An open SSE stream, read on a thread; each event is queued with the instants its
    closing blank line arrived (perf_counter and wall clock)."""

    def __init__(self, browser: requests.Session, url: str):
        self.response = browser.get(url, stream=True, timeout=(10, 60), headers={"Accept": "text/event-stream"})
        if self.response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {self.response.status_code}")
        # Kept to shut the connection: closing it from this thread would not wake the reader.
        self.sock = self.response.raw.connection.sock
        self.closed = False
        self.events: queue.Queue[tuple[float, float, str, dict] | None] = queue.Queue()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self) -> None:
        name, data = "message", []
        try:
            # chunk_size None: each chunk as it arrives, not once 512 bytes have.
            for raw in self.response.iter_lines(chunk_size=None):
                line = raw.decode()
                if line == "":
                    if data:
                        self.events.put((time.perf_counter(), time.time(), name, json.loads("\n".join(data))))
                    name, data = "message", []
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
        except Exception as e:
            if not self.closed:
                log(f"event stream failed: {e}")
        finally:
            self.events.put(None)

    def next(self, timeout: float) -> tuple[float, float, str, dict]:
        item = self.events.get(timeout=timeout)
        if item is None:
            raise RuntimeError("the event stream ended")
        return item

    def close(self) -> None:
        """As a browser leaving the page: the connection goes, and the server sees it."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.response.close()
        self.thread.join(timeout=5)


@dataclass
class StopSample:
    stop_ms: float  # StopJob's round trip
    after_answer_ms: float  # StopJob's answer → the event showing STOPPING
    after_call_ms: float  # just before StopJob → that event


def wait_running(client, run_arns: list[str], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    pending = set(run_arns)
    while pending:
        for arn in list(pending):
            if all(j["status"] == "RUNNING" for j in client.list_jobs(arn=arn)["jobs"]):
                pending.discard(arn)
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} runs not RUNNING after {timeout:.0f}s")
        time.sleep(0.2)


def measure_stops(farm: Farmhand, seeder: Seeder, project: Project, count: int) -> list[StopSample]:
    client = farm.client()
    browser = farm.ui_session()
    runs = [seeder.schedule(project, "stoppable", project.long_pool, f"stop-{i:03d}") for i in range(count)]
    wait_running(client, runs)
    samples = []
    for run_arn in runs:
        job = client.list_jobs(arn=run_arn)["jobs"][0]
        stream = Stream(browser, f"{farm.endpoint}/ui/runs/{run_arn.split(':run:', 1)[1]}/events")
        try:
            _, _, name, first = stream.next(timeout=10)
            card = next(c for c in first["jobs"] if c["arn"] == job["arn"])
            if name != "run" or card["status"] != "RUNNING":
                raise RuntimeError(f"first event {name} shows the job {card['status']}")
            called = time.perf_counter()
            answer = client.stop_job(arn=job["arn"])["job"]
            answered = time.perf_counter()
            if answer["status"] != "STOPPING":
                raise RuntimeError(f"StopJob answered {answer['status']}")
            while True:
                at, _, _, event = stream.next(timeout=10)
                if next(c for c in event["jobs"] if c["arn"] == job["arn"])["status"] in ("STOPPING", "COMPLETED"):
                    break
            samples.append(StopSample((answered - called) * 1000, (at - answered) * 1000, (at - called) * 1000))
        finally:
            stream.close()
    # The stopped jobs finish their tests in progress; the next part wants a quiet farm.
    for run_arn in runs:
        wait_for(lambda arn=run_arn: client.get_run(arn=arn)["run"], lambda r: r["status"] == "COMPLETED", timeout=120,
                 interval=0.5, what="a stopped run COMPLETED")
    return samples


def service_origin(client, project: Project, scale: float, probes: int = 20) -> float:
    """The service clock's origin in real epoch ms (`service = origin + (real − origin) ×
    scale`), from the `created` of new uploads and the real time of the call, taking the
    call with the shortest round trip: the error is at most half of it."""
    best: tuple[float, float] | None = None
    for i in range(probes):
        before = time.time()
        upload = client.create_upload(projectArn=project.lab.arn, name=f"clock-{i}.apk", type="ANDROID_APP")["upload"]
        after = time.time()
        service_ms = upload["created"].timestamp() * 1000
        real_ms = (before + after) / 2 * 1000
        origin = (service_ms - real_ms * scale) / (1 - scale)
        if best is None or after - before < best[0]:
            best = (after - before, origin)
    assert best is not None
    return best[1]


def measure_ticking(farm: Farmhand, seeder: Seeder, project: Project, scale: float) -> tuple[list[float], float]:
    """Lags (ms) from each test's end on the job's timeline to the event that shows it, and
    the clock mapping's uncertainty (ms)."""
    client = farm.client()
    browser = farm.ui_session()
    origin = service_origin(client, project, scale)
    run_arn = seeder.schedule(project, "ticking", project.long_pool, "ticking")
    stream = Stream(browser, f"{farm.endpoint}/ui/runs/{run_arn.split(':run:', 1)[1]}/events")
    shown: list[tuple[float, int]] = []  # (real epoch s the event arrived, tests ended in it)
    try:
        while True:
            _, wall, _, event = stream.next(timeout=60)
            card = event["jobs"][0] if event["jobs"] else None
            if card:
                shown.append((wall, card["done"]))
            if event["completed"]:
                break
    finally:
        stream.close()
    job_arn = client.list_jobs(arn=run_arn)["jobs"][0]["arn"]
    ends = sorted(t["stopped"].timestamp() * 1000 for s in client.list_suites(arn=job_arn)["suites"]
                  for t in client.list_tests(arn=s["arn"])["tests"])
    # An instant on the service clock, in real epoch ms.
    real = [origin + (e - origin) / scale for e in ends]
    lags = []
    for k, ended in enumerate(real):
        arrived = next((wall for wall, done in shown if done >= k + 1), None)
        if arrived is not None:
            lags.append(arrived * 1000 - ended)
    return lags, 1000 / scale


def stop_table(samples: list[StopSample]) -> list[str]:
    def stats(values: list[float]) -> list[str]:
        return [ms(min(values)), *(ms(percentile(values, p)) for p in (50, 90, 99)), ms(max(values))]

    base = [s.stop_ms for s in samples]
    shown = [s.after_call_ms for s in samples]
    rows = [["StopJob's round trip (boto3, baseline)", *stats(base), "1.00x"],
            ["StopJob called -> STOPPING event", *stats(shown), ratio(percentile(shown, 50), percentile(base, 50))],
            ["  event minus StopJob's answer", *stats([s.after_answer_ms for s in samples]), ""]]
    return [f"SSE: a run page's event stream open, StopJob on its running job; {len(samples)} runs, one at a time",
            *table(["ms", "min", "p50", "p90", "p99", "max", "p50 vs StopJob"], rows),
            "  (negative: the event arrived before boto3 had StopJob's answer)"]


def ticking_table(lags: list[float], resolution_ms: float, tick_ms: float) -> list[str]:
    rows = [["test ended (job's timeline) -> event", ms(min(lags)),
             *(ms(percentile(lags, p)) for p in (50, 90, 99)), ms(max(lags)), ratio(percentile(lags, 50), tick_ms)]]
    return [f"SSE: a change nobody asked for, one job's {len(lags)} steps (setup, tests, teardown) ending on their own "
            f"(the stream looks every {tick_ms:.0f} ms)",
            *table(["ms", "min", "p50", "p90", "p99", "max", "p50 vs tick"], rows),
            f"  (the timeline's instants are mapped to real time within {resolution_ms:.0f} ms plus half "
            "a CreateUpload round trip)"]


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs in the big project")
    parser.add_argument("--loads", type=int, default=200, help="loads per page row")
    parser.add_argument("--browser-loads", type=int, default=30)
    parser.add_argument("--stops", type=int, default=50)
    parser.add_argument("--time-scale", type=float, default=1000.0)
    parser.add_argument("--playwright", default=os.environ.get("FARMHAND_BENCH_PLAYWRIGHT"),
                        help="a directory with node_modules/playwright-core (default: $FARMHAND_BENCH_PLAYWRIGHT, "
                             "else tests/browser)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--only", help="comma-separated parts: pages,browser,sse (default: all)")
    args = parser.parse_args()
    parts = set((args.only or "pages,browser,sse").split(","))
    if not parts <= {"pages", "browser", "sse"}:
        parser.error("--only takes pages, browser and sse")
    if args.runs <= 50:
        parser.error("--runs must be over 50: the big project has a page of runs after the first")
    if not binary().exists():
        parser.error(f"{binary()} is missing: run `cargo build --release -p farmhand`")
    signal.signal(signal.SIGTERM, exit_on_signal)
    signal.signal(signal.SIGHUP, exit_on_signal)

    header = [f"machine: {machine()}",
              f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; farmhand {revision()}, {binary().parent.name} build, "
              f"--time-scale {args.time_scale:g}"]
    work = Path(tempfile.mkdtemp(prefix="farmhand-dashboard-bench-"))
    CLEANUP.push(f"work directory {work}", lambda: shutil.rmtree(work, ignore_errors=True))
    started = time.monotonic()
    out: list[list[str]] = []
    try:
        farm = start_farm(work, args.time_scale)
        seeder = Seeder(farm)
        if parts & {"pages", "browser"}:
            log(f"seeding: {args.runs} runs, 50 runs and 1 run in three projects")
            one, page, big = seeder.project("one run"), seeder.project("fifty runs"), seeder.project("thousand runs")
            seeder.fill(one, 1, 0)
            seeder.fill(page, 50, 0)
            seeder.fill(big, args.runs, RUNNING_IN_BIG_PROJECT)
            for project, running in ((one, 0), (page, 0), (big, RUNNING_IN_BIG_PROJECT)):
                seeder.wait_settled(project, running)
            log(f"seeded in {time.monotonic() - started:.0f}s")
            if "pages" in parts:
                rows = measure_pages(farm, seeder, big, page, one, args.loads)
                out.append(page_table(rows, args.loads))
                out.append(growth_table(rows, len(big.runs)))
            if "browser" in parts:
                pw = playwright_dir(args.playwright)
                if pw is None or not Path(args.chromium).exists() or not shutil.which("node"):
                    out.append(["Chromium: skipped (needs node, playwright-core in tests/browser/node_modules "
                                "or --playwright DIR, and --chromium)"])
                else:
                    log("browser navigations")
                    out.append(measure_browser(farm, big, one, args.browser_loads, pw, args.chromium))
        if "sse" in parts:
            stops = seeder.project("stops")
            log(f"SSE: {args.stops} stops")
            out.append(stop_table(measure_stops(farm, seeder, stops, args.stops)))
            log("SSE: a job ending its tests on its own")
            lags, resolution = measure_ticking(farm, seeder, stops, args.time_scale)
            out.append(ticking_table(lags, resolution, 250.0))
    except BaseException:
        if "farm" in locals():
            print(farm.log_tail(), file=sys.stderr)
        raise
    finally:
        CLEANUP.run()
    print("\n== Dashboard (bench/dashboard.py) ==")
    print("\n".join(header))
    for block in out:
        print("", *block, sep="\n")
    print(f"\n(took {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
