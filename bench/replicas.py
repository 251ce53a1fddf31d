"""How a scaled-out farm performs: `farmhand serve` replicas on one PostgreSQL database,
with the devices on `farmhand agent` hosts. Every figure is printed next to a baseline
measured in the same run, and compared only as a ratio to it: the machine may be busy.

1. Scheduling throughput. 2,000 simulated devices; one ScheduleRun puts a job on every
   one; the clock runs from the call until ListJobs shows all 2,000 jobs RUNNING.
   - baseline: the devices are the server's own fleet (`serve --fleet`), whose jobs the
     scheduler plays itself;
   - 1 replica, 2 agents: the same devices, 1,000 in each agent's fleet file, played by
     the agents (driver `scripted`), every step reported over their WebSockets;
   - 2 replicas, 2 agents: one agent connected to each replica; ScheduleRun goes to the
     first replica, which holds the scheduler lease, and the other replica hears of its
     agent's jobs over LISTEN/NOTIFY.
   Each configuration starts on a fresh database, in rounds that interleave the three, so
   a burst of load elsewhere on the machine hits one round rather than one configuration.
   The scenario's tests last simulated days, so no job ends while it is measured. With the
   2,000 jobs RUNNING, the CPU the replicas and agents use while nothing happens is
   sampled too: it is what every scheduler pass and every played job costs at rest.

2. StopJob -> SIGTERM across replicas. An agent with `host` devices is connected to
   replica B only; each job's test phase is a Python probe that writes the wall-clock
   instant SIGTERM reaches it, and the client notes the same clock (`time.time_ns()`)
   just before StopJob. Baseline: StopJob sent to B, which holds the host's connection;
   measured: StopJob sent to A, whose news reaches B over LISTEN/NOTIFY. The two alternate
   job by job, so both see the same load.

Run from the repository root, after `cargo build --release -p farmhand`:

    .venv/bin/python bench/replicas.py --database-url postgres://postgres@127.0.0.1:5432/postgres

(or set FARMHAND_TEST_DATABASE_URL). The URL is an administrator's connection: the
benchmark creates a database of its own per farm and drops it afterwards, and ends every
process it started, whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests/clients"))
# The harness runs target/debug/farmhand unless told otherwise; a benchmark wants release.
os.environ.setdefault("FARMHAND_BIN", str(REPO / "target/release/farmhand"))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from harness import REGION, Farmhand, PostgresDatabase, binary, new_access_key  # noqa: E402
from simfarm import Lab, Scenario, SimTest, device, fleet_toml, scenario_yaml, spec_yaml  # noqa: E402
from support import make_zip, unique  # noqa: E402
from test_replicas import Agent, agent_token  # noqa: E402

PG_ENV = "FARMHAND_TEST_DATABASE_URL"

# The bench's devices are told apart from the demo fleet (which replicas without --fleet
# also have) by their manufacturer, so one filter selects exactly them.
PLACEMENT_MAKER = "Benchco"
STOP_MAKER = "Stopco"

# A short setup, then tests of a simulated day each (the scenario format's longest): at
# 1000x a job stays RUNNING for over ten minutes of real time.
SOAK = Scenario(setup=1, teardown=1, tests=tuple(SimTest(f"soak-{i}", 86_400) for i in range(10)))
# Longer than the soak: the deadline runs on the service clock too.
JOB_TIMEOUT_MINUTES = 20_000
WAITING_STATUSES = {"PENDING", "PENDING_CONCURRENCY", "PENDING_DEVICE"}
# How long the farm is watched at rest with every job RUNNING.
REST_SECONDS = 4.0

# The job's test phase: announces itself once its handler is in place (so a stop lands in
# the test phase, not in Python's start-up), and on SIGTERM writes the wall-clock instant
# in nanoseconds. Files appear by rename, never half written.
PROBE = r"""import os, signal, sys, time

out_dir, name = sys.argv[1], sys.argv[2]

def publish(suffix, text):
    partial = os.path.join(out_dir, "." + name + "." + suffix)
    with open(partial, "w") as f:
        f.write(text)
    os.rename(partial, os.path.join(out_dir, name + "." + suffix))

def on_term(signum, frame):
    publish("term", str(time.time_ns()))
    os._exit(0)

signal.signal(signal.SIGTERM, on_term)
publish("ready", str(os.getpid()))
while True:
    signal.pause()
"""


from cleanup import CLEANUP, exit_on_signal, log, stop_server  # noqa: E402


def show_logs(work: Path, lines: int = 15) -> None:
    """The end of every server and agent log, for a run that failed (they are deleted next)."""
    for path in sorted(work.rglob("*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {path.relative_to(work)} ---", *tail, sep="\n", file=sys.stderr)


# --- the machine ------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{len(os.sched_getaffinity(0))} cores (nproc), {model}; load average at start {load}"


def revision() -> str:
    result = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- farms ------------------------------------------------------------------------------


@dataclass
class Farm:
    """Running replicas (the first answers the benchmark's calls) and agents."""

    servers: list[Farmhand]
    agents: list[Agent] = field(default_factory=list)

    @property
    def api(self) -> Farmhand:
        return self.servers[0]


def new_database(admin_url: str) -> PostgresDatabase:
    db = PostgresDatabase(admin_url)
    CLEANUP.push(f"database {db.name}", db.drop)
    return db.create()


def start_replica(data_dir: Path, db: PostgresDatabase, key: tuple[str, str], extra: list[str]) -> Farmhand:
    farm = Farmhand(data_dir, database_url=db.url, root_key=key, extra_args=extra)
    CLEANUP.push(f"server {data_dir.name}", lambda: stop_server(farm))
    return farm.start()


def start_replicas(work: Path, db: PostgresDatabase, count: int, extra: list[str]) -> list[Farmhand]:
    key = new_access_key()
    # One blob store for every replica (a directory here; S3 in production).
    extra = [*extra, "--blob-store", str(work / "blobs")]
    return [start_replica(work / f"replica-{chr(ord('a') + i)}", db, key, extra) for i in range(count)]


def start_agent(work: Path, servers: list[Farmhand], host: str, devices: list[dict]) -> Agent:
    work.mkdir(parents=True)
    fleet = work / "fleet.toml"
    fleet.write_text(fleet_toml(devices, name=host))
    agent = Agent(work, [s.endpoint for s in servers], agent_token(servers[0], host), fleet)
    CLEANUP.push(f"agent {host}", agent.stop)
    return agent.start()


def make_devices(prefix: str, count: int, maker: str, **extra) -> list[dict]:
    return [{**device(f"{prefix}-{i:04d}", f"{maker} {prefix} {i:04d}"), "manufacturer": maker, **extra}
            for i in range(count)]


def by_maker(maker: str) -> list[dict]:
    return [{"attribute": "MANUFACTURER", "operator": "EQUALS", "values": [maker]}]


def wait_for_devices(client, maker: str, count: int, timeout: float = 120.0) -> None:
    """Until `count` devices of `maker` are listed and none is TEMPORARY_NOT_AVAILABLE."""
    deadline = time.monotonic() + timeout
    while True:
        pages = client.get_paginator("list_devices").paginate(filters=by_maker(maker))
        ready = sum(d["availability"] != "TEMPORARY_NOT_AVAILABLE" for page in pages for d in page["devices"])
        if ready == count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {ready} of {count} {maker} devices available after {timeout:.0f}s")
        time.sleep(0.5)


def own_fleet_farm(work: Path, admin_url: str, per_agent: int, scale: float) -> Farm:
    """The baseline: every device in the server's fleet file, no agent."""
    fleet = work / "server-fleet.toml"
    fleet.write_text(fleet_toml(make_devices("bench-a", per_agent, PLACEMENT_MAKER)
                                + make_devices("bench-b", per_agent, PLACEMENT_MAKER), name="Bench"))
    db = new_database(admin_url)
    return Farm(start_replicas(work, db, 1, ["--time-scale", str(scale), "--fleet", str(fleet)]))


def agent_farm(work: Path, admin_url: str, per_agent: int, scale: float, replicas: int) -> Farm:
    """Two agents of `per_agent` simulated devices, spread over `replicas` replicas."""
    db = new_database(admin_url)
    farm = Farm(start_replicas(work, db, replicas, ["--time-scale", str(scale)]))
    for i, name in enumerate(("a", "b")):
        home = farm.servers[i % replicas]
        devices = make_devices(f"bench-{name}", per_agent, PLACEMENT_MAKER)
        farm.agents.append(start_agent(work / f"agent-{name}", [home], f"rack-{name}", devices))
    return farm


# --- part 1: scheduling throughput ------------------------------------------------------


@dataclass
class Reached:
    """When the last job reached a milestone, in seconds after ScheduleRun was called: no
    earlier than `after` (a job was still short of it then), by `by` at the latest."""

    after: float
    by: float


class RunWatch:
    """Follows a run's jobs with ListJobs until all are RUNNING. Page tokens are stateless
    cursors, so after one full sweep only the pages still holding a job short of RUNNING
    are read again."""

    MILESTONES: dict[str, Callable[[str], bool]] = {
        "assigned": lambda status: status not in WAITING_STATUSES,
        "running": lambda status: status == "RUNNING",
    }
    # Between sweeps: the polling competes with the farm for the same two cores.
    PAUSE = 0.1

    def __init__(self, client, run_arn: str, started: float):
        self.client = client
        self.run_arn = run_arn
        self.started = started
        self.pages: list[tuple[str | None, list[str]]] = []
        self.short: dict[str, set[str]] = {m: set() for m in self.MILESTONES}
        self.last_short = dict.fromkeys(self.MILESTONES, started)

    def read(self, token: str | None) -> tuple[list[str], str | None, float]:
        """One page: updates who is short of what; returns its jobs, the next token and
        when the answer came."""
        sent = time.monotonic()
        page = self.client.list_jobs(arn=self.run_arn, **({"nextToken": token} if token else {}))
        received = time.monotonic()
        for job in page["jobs"]:
            if job["status"] == "COMPLETED":
                raise RuntimeError(f"job {job['arn']} ended while measured: {job.get('result')} {job.get('message')}")
            for milestone, reached in self.MILESTONES.items():
                if reached(job["status"]):
                    self.short[milestone].discard(job["arn"])
                else:
                    self.short[milestone].add(job["arn"])
                    self.last_short[milestone] = max(self.last_short[milestone], sent)
        return [job["arn"] for job in page["jobs"]], page.get("nextToken"), received

    def until_running(self, timeout: float) -> dict[str, Reached]:
        token: str | None = None
        while True:
            arns, token, received = self.read(token)
            self.pages.append((token, arns))
            if not token:
                break
        # Each page is stored with the token that reads it: the previous page's.
        self.pages = [(self.pages[i - 1][0] if i else None, arns) for i, (_, arns) in enumerate(self.pages)]
        reached: dict[str, Reached] = {}
        deadline = time.monotonic() + timeout
        while True:
            for milestone in self.MILESTONES:
                if milestone not in reached and not self.short[milestone]:
                    reached[milestone] = Reached(self.last_short[milestone] - self.started, received - self.started)
            if len(reached) == len(self.MILESTONES):
                return reached
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.short['running'])} jobs not RUNNING after {timeout:.0f}s")
            time.sleep(self.PAUSE)
            for token, arns in self.pages:
                if self.short["running"].intersection(arns):
                    _, _, received = self.read(token)


@dataclass
class Placement:
    jobs: int
    schedule_call: float
    assigned: Reached
    running: Reached
    replicas_cpu: float
    agents_cpu: float


def patient_client(farm: Farmhand):
    """A client that waits as long as a 2,000-job ScheduleRun may take and never retries
    (a retried call would be timed twice)."""
    return boto3.client("devicefarm", endpoint_url=farm.endpoint, region_name=REGION,
                        aws_access_key_id=farm.access_key_id, aws_secret_access_key=farm.secret_access_key,
                        config=Config(read_timeout=600, retries={"total_max_attempts": 1}))


def place_jobs(farm: Farm, jobs: int) -> Placement:
    """One ScheduleRun over every bench device, followed until all its jobs are RUNNING;
    then the farm's CPU at rest."""
    api = farm.api
    api.manage("account", "update", api.account_id, "--max-concurrent-jobs", str(jobs),
               "--max-job-timeout-minutes", str(JOB_TIMEOUT_MINUTES))
    wait_for_devices(api.client(), PLACEMENT_MAKER, jobs)
    client = patient_client(api)
    lab = Lab(api, name="placement")
    package = lab.package(scenario_yaml(SOAK))
    started = time.monotonic()
    run = client.schedule_run(
        projectArn=lab.arn, name=unique("placement"),
        test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package},
        deviceSelectionConfiguration={"filters": by_maker(PLACEMENT_MAKER), "maxDevices": jobs},
        executionConfiguration={"jobTimeoutMinutes": JOB_TIMEOUT_MINUTES})["run"]
    schedule_call = time.monotonic() - started
    if run["totalJobs"] != jobs:
        raise RuntimeError(f"the run has {run['totalJobs']} jobs, not {jobs}")
    watch = RunWatch(client, run["arn"], started)
    reached = watch.until_running(timeout=300)
    if sum(len(arns) for _, arns in watch.pages) != jobs:
        raise RuntimeError(f"ListJobs shows {sum(len(a) for _, a in watch.pages)} jobs, not {jobs}")
    time.sleep(0.5)  # the last reports' acknowledgements, the pass after them
    server_pids = [s.proc.pid for s in farm.servers if s.proc]
    agent_pids = [a.proc.pid for a in farm.agents if a.proc]
    before = {pid: cpu_seconds(pid) for pid in server_pids + agent_pids}
    time.sleep(REST_SECONDS)
    used = {pid: cpu_seconds(pid) - t for pid, t in before.items()}
    return Placement(jobs, schedule_call, reached["assigned"], reached["running"],
                     sum(used[p] for p in server_pids) / REST_SECONDS, sum(used[p] for p in agent_pids) / REST_SECONDS)


CONFIGURATIONS: list[tuple[str, Callable[[Path, str, int, float], Farm]]] = [
    ("server's own fleet, 1 replica (baseline)", own_fleet_farm),
    ("1 replica, 2 agents", lambda w, url, n, s: agent_farm(w, url, n, s, replicas=1)),
    ("2 replicas, 1 agent on each", lambda w, url, n, s: agent_farm(w, url, n, s, replicas=2)),
]


def measure_placement(work: Path, admin_url: str, per_agent: int, scale: float,
                      rounds: int) -> dict[str, list[Placement]]:
    results: dict[str, list[Placement]] = {label: [] for label, _ in CONFIGURATIONS}
    for round_number in range(rounds):
        for index, (label, build) in enumerate(CONFIGURATIONS):
            home = work / f"round-{round_number}" / f"farm-{index}"
            home.mkdir(parents=True)
            mark = CLEANUP.mark()
            try:
                placement = place_jobs(build(home, admin_url, per_agent, scale), 2 * per_agent)
            finally:
                # This farm's processes and database go before the next one starts.
                CLEANUP.run(down_to=mark)
            results[label].append(placement)
            log(f"round {round_number + 1}/{rounds}, {label}: ScheduleRun {placement.schedule_call:.2f}s, "
                f"all assigned {placement.assigned.by:.2f}s, all RUNNING {placement.running.by:.2f}s")
    return results


# --- part 2: StopJob -> SIGTERM across replicas -------------------------------------------


@dataclass
class StopSample:
    via: str  # "same": the replica holding the host's connection; "cross": the other one
    sigterm_ms: float
    call_ms: float


def stop_spec(signals: Path) -> str:
    probe = (f'python3 "$DEVICEFARM_TEST_PACKAGE_PATH/stop_probe.py" "{signals}" '
             '"${DEVICEFARM_RUN_ARN##*/}-$DEVICEFARM_JOB_NUMBER"')
    return spec_yaml(test=[probe])


def wait_for_file(path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} never appeared")
        time.sleep(0.001)
    return path.read_text()


def measure_stops(work: Path, admin_url: str, per_path: int, host_devices: int) -> list[StopSample]:
    work.mkdir(parents=True)
    a, b = start_replicas(work, new_database(admin_url), 2, [])
    # The host knows only B, so every stop sent to A has to cross replicas.
    start_agent(work / "agent", [b], "rack-stop", make_devices("stop", host_devices, STOP_MAKER, driver="host"))
    clients = {"cross": a.client(), "same": b.client()}
    wait_for_devices(clients["cross"], STOP_MAKER, host_devices)

    signals = work / "signals"
    signals.mkdir()
    lab = Lab(a, name="stops")
    package = lab.upload("probe.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE", make_zip({"stop_probe.py": PROBE}))["arn"]
    spec = lab.upload("probe.yml", "APPIUM_WEB_PYTHON_TEST_SPEC", stop_spec(signals).encode())["arn"]

    samples: list[StopSample] = []
    wave = 0
    while len(samples) < 2 * per_path:
        # A wave is one job per device; its jobs wait for the last wave's to free them.
        run = lab.client.schedule_run(
            projectArn=lab.arn, name=unique("stops"),
            test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package, "testSpecArn": spec},
            deviceSelectionConfiguration={"filters": by_maker(STOP_MAKER), "maxDevices": host_devices})["run"]
        run_id = run["arn"].rsplit("/", 1)[1]
        for i, job in enumerate(lab.jobs(run["arn"])):
            if len(samples) == 2 * per_path:
                break
            probe = f"{run_id}-{int(job['arn'].rsplit('/', 1)[1])}"
            wait_for_file(signals / f"{probe}.ready", timeout=60)
            via = "cross" if (wave + i) % 2 == 0 else "same"
            sent = time.time_ns()
            clients[via].stop_job(arn=job["arn"])
            answered = time.time_ns()
            received = int(wait_for_file(signals / f"{probe}.term", timeout=30))
            samples.append(StopSample(via, (received - sent) / 1e6, (answered - sent) / 1e6))
        wave += 1
    log(f"stops: {len(samples)} jobs stopped in {wave} waves")
    return samples


# --- report -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[min(int(rank), len(ordered)) - 1]


def placement_table(results: dict[str, list[Placement]], scale: float) -> list[str]:
    def median(label: str, of: Callable[[Placement], float]) -> float:
        return statistics.median(of(p) for p in results[label])

    baseline = next(iter(results))
    jobs = results[baseline][0].jobs
    rounds = len(results[baseline])
    base_running = median(baseline, lambda p: p.running.by)
    base_assigned = median(baseline, lambda p: p.assigned.by)
    lines = [
        f"Scheduling throughput: {jobs:,} simulated devices, one ScheduleRun of {jobs:,} jobs, --time-scale {scale:g}, "
        f"PostgreSQL; median of {rounds} rounds",
        f"{'(seconds from the ScheduleRun call)':<42} {'answered':>8} {'assigned':>9} {'RUNNING':>8} {'jobs/s':>7} "
        f"{'RUNNING vs base':>16} {'assigned vs base':>17}   all RUNNING, each round",
    ]
    for label, placements in results.items():
        running = median(label, lambda p: p.running.by)
        assigned = median(label, lambda p: p.assigned.by)
        each = " ".join(f"{p.running.by:.2f}" for p in placements)
        lines.append(f"{label:<42} {median(label, lambda p: p.schedule_call):>8.2f} {assigned:>9.2f} {running:>8.2f} "
                     f"{jobs / running:>7.0f} {running / base_running:>15.2f}x "
                     f"{assigned / base_assigned:>16.2f}x   {each}")
    resolution = max(p.running.by - p.running.after for ps in results.values() for p in ps)
    lines += [
        "(answered: ScheduleRun stores every job before it answers; assigned: every job has a device; RUNNING: every "
        f"job's tests have begun, as ListJobs shows it, at most {resolution:.2f}s late)",
        "",
        f"At rest with the {jobs:,} jobs RUNNING, CPU over {REST_SECONDS:g}s (share of one core), "
        f"median of {rounds} rounds",
        f"{'':<42} {'replicas':>8} {'agents':>9} {'vs base':>8}",
    ]
    base_cpu = median(baseline, lambda p: p.replicas_cpu + p.agents_cpu)
    for label in results:
        replicas, agents = median(label, lambda p: p.replicas_cpu), median(label, lambda p: p.agents_cpu)
        total = median(label, lambda p: p.replicas_cpu + p.agents_cpu)
        ratio = f"{total / base_cpu:>7.1f}x" if base_cpu > 0 else f"{'-':>8}"
        lines.append(f"{label:<42} {replicas:>7.0%} {agents:>8.0%} {ratio}")
    return lines


def stop_table(samples: list[StopSample], host_devices: int) -> list[str]:
    same = [s.sigterm_ms for s in samples if s.via == "same"]
    cross = [s.sigterm_ms for s in samples if s.via == "cross"]
    lines = [
        f"StopJob -> SIGTERM in the job's test process: an agent with {host_devices} host devices connected to "
        f"replica B; {len(same)} + {len(cross)} jobs, alternating",
        f"{'(ms from just before StopJob to the handler)':<44} {'min':>6} {'p50':>6} {'p90':>6} {'p99':>6} {'max':>6} "
        f"{'p50 vs base':>12} {'p90 vs base':>12}",
    ]
    for label, values in (("StopJob to B, the host's replica (baseline)", same),
                          ("StopJob to A (LISTEN/NOTIFY to B)", cross)):
        p50, p90 = percentile(values, 50), percentile(values, 90)
        lines.append(f"{label:<44} {min(values):>6.1f} {p50:>6.1f} {p90:>6.1f} {percentile(values, 99):>6.1f} "
                     f"{max(values):>6.1f} {p50 / percentile(same, 50):>11.2f}x {p90 / percentile(same, 90):>11.2f}x")
    for via, replica in (("same", "B"), ("cross", "A")):
        calls = [s.call_ms for s in samples if s.via == via]
        lines.append(f"  StopJob's own round trip to {replica}: p50 {percentile(calls, 50):.1f} ms, "
                     f"p90 {percentile(calls, 90):.1f} ms")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(PG_ENV),
                        help=f"PostgreSQL administrator URL (default: ${PG_ENV})")
    parser.add_argument("--devices-per-agent", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=1000.0)
    parser.add_argument("--rounds", type=int, default=3, help="placement rounds over the three farms")
    parser.add_argument("--stops-per-path", type=int, default=40)
    parser.add_argument("--host-devices", type=int, default=4)
    parser.add_argument("--only", choices=["placement", "stops"])
    args = parser.parse_args()
    if not args.database_url:
        parser.error(f"give --database-url or set {PG_ENV}")
    if not binary().exists():
        parser.error(f"{binary()} is missing: run `cargo build --release -p farmhand`")
    signal.signal(signal.SIGTERM, exit_on_signal)
    signal.signal(signal.SIGHUP, exit_on_signal)

    header = [f"machine: {machine()}",
              f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; farmhand {revision()}, release build"]
    work = Path(tempfile.mkdtemp(prefix="farmhand-bench-"))
    CLEANUP.push(f"work directory {work}", lambda: shutil.rmtree(work, ignore_errors=True))
    started = time.monotonic()
    placements: dict[str, list[Placement]] = {}
    stops: list[StopSample] = []
    try:
        if args.only != "stops":
            placements = measure_placement(work / "placement", args.database_url, args.devices_per_agent,
                                           args.time_scale, args.rounds)
        if args.only != "placement":
            stops = measure_stops(work / "stops", args.database_url, args.stops_per_path, args.host_devices)
    except BaseException:
        show_logs(work)
        raise
    finally:
        CLEANUP.run()
    print("\n== Scaled-out farm (bench/replicas.py) ==")
    print("\n".join(header))
    if placements:
        print("", *placement_table(placements, args.time_scale), sep="\n")
    if stops:
        print("", *stop_table(stops, args.host_devices), sep="\n")
    print(f"\n(took {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
