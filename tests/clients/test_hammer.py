"""Two replicas on one PostgreSQL database, hammered from many threads at once: runs
scheduled through either replica for two accounts with limits of their own, StopJob and
StopRun sent through either replica at random moments (before a device, while running,
twice, after completion). Once every run has completed, the invariants the architecture
promises are checked through the API and the billing ledger:

1. a device instance never runs two jobs at once, and no account exceeds its limits;
2. every job settles exactly once: one ledger line per job, written from its final state;
3. the ledger total per account (and billing method) equals the jobs' deviceMinutes, in
   whole seconds;
4. a run's counters and minutes are the sums of its jobs'; a job stopped before its setup
   began bills 0;
5. every job and run is COMPLETED with one of the model's results; stops land where they
   were sent and nowhere else; a run stopped by StopRun ends STOPPED.

The seed is printed; FARMHAND_HAMMER_SEED replays a plan (thread timing still varies).
Runs when FARMHAND_TEST_DATABASE_URL names a PostgreSQL server.
"""

from __future__ import annotations

import csv
import io
import os
import queue
import random
import re
import subprocess
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

from harness import Account, Farmhand, PostgresDatabase, new_access_key
from simfarm import (COUNTER_KEYS, JOB_SEVERITY, Lab, Scenario, SimTest, billed, device, devices_by_name,
                     fleet_toml, worst)

PG_ENV = "FARMHAND_TEST_DATABASE_URL"
SEED = int(os.environ.get("FARMHAND_HAMMER_SEED", "0")) or random.randrange(1, 2**31)
# Simulated jobs of about 50 s take under a second of real time.
TIME_SCALE = 60
RUNS = 60
WORKERS = 8
RUN_WAIT_SECONDS = 45.0

FLEET = [device("hammer-a", "Hammer A", instances=2), device("hammer-b", "Hammer B"),
         device("hammer-c", "Hammer C", instances=2), device("hammer-d", "Hammer D")]
# Fractional seconds, so the ledger's whole-second rounding is exercised on every step.
BASE = Scenario(setup=5.3, teardown=4.2,
                tests=(SimTest("t_login", 12.4), SimTest("t_search", 9.1), SimTest("t_checkout", 14.7)))
PER_DEVICE = {
    "Hammer C": Scenario(setup=3.7, teardown=2.05,
                         tests=(SimTest("t_login", 8.01), SimTest("t_pay", 11.5, "FAILED", "declined"))),
    "Hammer D": Scenario(setup=6.6, teardown=3.3, tests=(SimTest("t_only", 20.25, "WARNED", "slow"),)),
}
SCENARIOS = {d["name"]: PER_DEVICE.get(d["name"], BASE) for d in FLEET}
# (metered jobs at once, unmetered ANDROID devices) per account: 6 slots for 6 instances,
# so jobs wait for a slot as well as for a device.
LIMITS = {"root": (3, 1), "two": (2, 1)}

STOP_KINDS = ["none", "none", "none", "run_now", "job_now", "run_later", "job_later", "job_on_device",
              "job_on_device", "twice", "twice_run", "stray"]
# How long a worker watches a job for it to reach its device before stopping it anyway.
WATCH_SECONDS = 8.0


# --- the servers ------------------------------------------------------------------------


@pytest.fixture
def database():
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    db = PostgresDatabase(url).create()
    yield db
    db.drop()


@pytest.fixture
def replicas(tmp_path, database):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(fleet_toml(FLEET))
    key = new_access_key()
    # Replicas share one blob store, as they must: an upload through one is run by the other.
    blobs = tmp_path / "blobs"
    farms = [Farmhand(tmp_path / f"replica-{name}", database_url=database.url, root_key=key,
                      extra_args=["--time-scale", str(TIME_SCALE), "--fleet", str(fleet), "--drain-seconds", "0",
                                  "--blob-store", str(blobs)])
             for name in ("a", "b")]
    try:
        for farm in farms:
            farm.start()
        yield farms
    finally:
        codes = [(farm.stop(), farm) for farm in farms if farm.proc]
        for code, farm in codes:
            assert code == 0, farm.log_tail()


def psql(url: str, sql: str) -> list[list[str]]:
    out = subprocess.run(["psql", url, "-tA", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL).stdout
    return [line.split("\t") for line in out.splitlines() if line]


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    index: int
    account: str          # "root" or "two"
    replica: int          # which replica schedules it
    pool: int             # index into the account's pools
    billing: str          # METERED or UNMETERED
    stop: str             # one of STOP_KINDS
    delay: float          # real seconds before a later stop
    stop_replica: int
    picks: int            # how many jobs a StopJob plan stops


def make_plan(rng: random.Random, pools_per_account: int) -> list[RunPlan]:
    plans = []
    for i in range(RUNS):
        plans.append(RunPlan(
            index=i,
            account=rng.choice(["root", "root", "two"]),
            replica=rng.randrange(2),
            pool=rng.randrange(pools_per_account),
            billing="UNMETERED" if rng.random() < 0.2 else "METERED",
            stop=rng.choice(STOP_KINDS),
            delay=rng.uniform(0.05, 4.0),
            stop_replica=rng.randrange(2),
            picks=rng.randint(1, 3),
        ))
    return plans


def make_pools(rng: random.Random, device_arns: list[str]) -> list[list[str]]:
    """Every device alone, all four, and a few random pairs and triples."""
    pools = [[arn] for arn in device_arns] + [list(device_arns)]
    for size in (2, 2, 3, 3):
        pools.append(rng.sample(device_arns, size))
    return pools


# --- what the hammer saw ------------------------------------------------------------------


@dataclass
class Seen:
    lock: threading.Lock = field(default_factory=threading.Lock)
    runs: dict[str, RunPlan] = field(default_factory=dict)
    run_account: dict[str, str] = field(default_factory=dict)
    job_runs: dict[str, str] = field(default_factory=dict)
    job_stops: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    run_stops: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    def add_run(self, run_arn: str, plan: RunPlan, job_arns: list[str]) -> None:
        with self.lock:
            self.runs[run_arn] = plan
            self.run_account[run_arn] = plan.account
            for arn in job_arns:
                self.job_runs[arn] = run_arn

    def job_stopped(self, job: dict) -> None:
        with self.lock:
            self.job_stops[job["arn"]].append(job)

    def run_stopped(self, run: dict) -> None:
        with self.lock:
            self.run_stops[run["arn"]].append(run)

    def some_job(self, rng: random.Random) -> tuple[str, str] | None:
        with self.lock:
            if not self.job_runs:
                return None
            job_arn = rng.choice(sorted(self.job_runs))
            return job_arn, self.run_account[self.job_runs[job_arn]]


class Hammer:
    def __init__(self, farms: list[Farmhand], accounts: dict[str, Account | None], labs: dict[str, Lab],
                 pools: dict[str, list[str]], packages: dict[str, str]):
        # boto3 clients are thread-safe; sessions are not, so every client is made here.
        self.clients = {(name, i): farm.client(account) for name, account in accounts.items()
                        for i, farm in enumerate(farms)}
        self.labs, self.pools, self.packages = labs, pools, packages
        self.seen = Seen()

    def client(self, account: str, replica: int):
        return self.clients[(account, replica)]

    def stop_job(self, account: str, replica: int, job_arn: str) -> None:
        self.seen.job_stopped(self.client(account, replica).stop_job(arn=job_arn)["job"])

    def stop_run(self, account: str, replica: int, run_arn: str) -> None:
        self.seen.run_stopped(self.client(account, replica).stop_run(arn=run_arn)["run"])

    def one(self, plan: RunPlan, rng: random.Random) -> None:
        client = self.client(plan.account, plan.replica)
        lab = self.labs[plan.account]
        run = client.schedule_run(
            projectArn=lab.arn, devicePoolArn=self.pools[plan.account][plan.pool], name=f"hammer-{plan.index}",
            test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": self.packages[plan.account]},
            configuration={"billingMethod": plan.billing})["run"]
        other = self.client(plan.account, 1 - plan.replica)
        jobs = [j["arn"] for page in other.get_paginator("list_jobs").paginate(arn=run["arn"]) for j in page["jobs"]]
        self.seen.add_run(run["arn"], plan, jobs)
        account, by = plan.account, plan.stop_replica
        picked = rng.sample(jobs, min(plan.picks, len(jobs)))
        if plan.stop == "run_now":
            self.stop_run(account, by, run["arn"])
        elif plan.stop == "job_now":
            self.stop_job(account, by, picked[0])
        elif plan.stop == "run_later":
            time.sleep(plan.delay)
            self.stop_run(account, by, run["arn"])
        elif plan.stop == "job_later":
            time.sleep(plan.delay)
            for arn in picked:
                self.stop_job(account, rng.randrange(2), arn)
        elif plan.stop == "job_on_device":
            # Queued jobs make a timed stop land mostly before a device; this one waits for
            # setup (PREPARING) or the tests and teardown (RUNNING), then stops a moment on.
            wanted = rng.choice(["PREPARING", "RUNNING"])
            deadline = time.monotonic() + WATCH_SECONDS
            while other.get_job(arn=picked[0])["job"]["status"] not in (wanted, "COMPLETED") \
                    and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.4))
            self.stop_job(account, by, picked[0])
        elif plan.stop == "twice":
            time.sleep(plan.delay)
            self.stop_job(account, by, picked[0])
            self.stop_job(account, 1 - by, picked[0])
        elif plan.stop == "twice_run":
            time.sleep(plan.delay)
            self.stop_run(account, by, run["arn"])
            self.stop_run(account, 1 - by, run["arn"])
        elif plan.stop == "stray":
            # A job of any run scheduled so far: waiting, running or long completed.
            time.sleep(plan.delay / 2)
            if (target := self.seen.some_job(rng)) is not None:
                self.stop_job(target[1], by, target[0])

    def stop_completed(self, rng: random.Random) -> None:
        """Stops after completion, through both replicas: each must return the entity
        unchanged (checked with the others' responses)."""
        for arn in rng.sample(sorted(self.seen.job_runs), 6):
            for replica in (0, 1):
                self.stop_job(self.seen.run_account[self.seen.job_runs[arn]], replica, arn)
        for arn in rng.sample(sorted(self.seen.runs), 3):
            for replica in (0, 1):
                self.stop_run(self.seen.run_account[arn], replica, arn)

    def run(self, plans: list[RunPlan], seed: int) -> None:
        work: queue.Queue[RunPlan] = queue.Queue()
        for plan in plans:
            work.put(plan)

        def worker(n: int) -> None:
            rng = random.Random(seed * 1000 + n)
            while True:
                try:
                    plan = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    self.one(plan, rng)
                except Exception as e:  # noqa: BLE001 - every API failure is a finding, reported below
                    with self.seen.lock:
                        self.seen.errors.append(f"run plan {plan}: {type(e).__name__}: {e}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a hammer worker hung"


# --- reading back -------------------------------------------------------------------------


def ms(value) -> int:
    return round(value.timestamp() * 1000)


def seconds_of(minutes: float) -> int:
    """deviceMinutes are whole seconds / 60; the seconds back, and whether they were whole."""
    return round(minutes * 60)


def is_whole_seconds(minutes: float) -> bool:
    return abs(minutes * 60 - round(minutes * 60)) < 1e-6


def without_live_fields(entity: dict) -> dict:
    """What does not change once an entity completed: the device's live state and the
    presigned video URL are rendered per request."""
    return {k: v for k, v in entity.items() if k not in ("device", "videoEndpoint", "ResponseMetadata")}


def all_runs(client, project_arn: str) -> list[dict]:
    return [r for page in client.get_paginator("list_runs").paginate(arn=project_arn) for r in page["runs"]]


def all_jobs(client, run_arn: str) -> list[dict]:
    return [j for page in client.get_paginator("list_jobs").paginate(arn=run_arn) for j in page["jobs"]]


def wait_all_completed(clients: dict, labs: dict[str, Lab], expected: int) -> dict[str, dict]:
    deadline = time.monotonic() + RUN_WAIT_SECONDS
    while True:
        runs = {r["arn"]: r for name, lab in labs.items() for r in all_runs(clients[(name, 0)], lab.arn)}
        pending = [r for r in runs.values() if r["status"] != "COMPLETED"]
        if len(runs) == expected and not pending:
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} of {len(runs)} runs not COMPLETED after {RUN_WAIT_SECONDS}s: "
                                 f"{Counter(r['status'] for r in pending)}; e.g. {pending[:2]}")
        time.sleep(0.2)


def wait_for_ledger(database: PostgresDatabase, lines: int, timeout: float = 10.0) -> None:
    """Settling trails COMPLETED by up to a scheduler pass: wait for the last ledger line."""
    deadline = time.monotonic() + timeout
    while int(psql(database.url, "SELECT count(*) FROM billing_ledger")[0][0]) < lines and time.monotonic() < deadline:
        time.sleep(0.1)


def instances_in_use(farms: list[Farmhand], timeout: float = 5.0) -> list[str]:
    """Instances either replica still shows IN_USE, once its view had time to catch up
    with the other's settles (a pass)."""
    deadline = time.monotonic() + timeout
    while True:
        held = [f"{farm.endpoint} {i['arn']}" for farm in farms
                for d in devices_by_name(farm.client()).values() for i in d["instances"] if i["status"] == "IN_USE"]
        if not held or time.monotonic() > deadline:
            return held
        time.sleep(0.1)


# --- the invariants -----------------------------------------------------------------------


class Findings(list):
    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.append(message)


def check_instances(findings: Findings, jobs: list[dict], device_instances: dict[str, set[str]]) -> None:
    """Invariant 1a. A device instance holds a job from its device assignment (`started`) to
    its end (`stopped`); a job stopped before it got a device has no instance. Violated when
    two replicas both assign one instance (a lease or fencing bug), when the scheduler
    releases an instance before its job ended (a stop that moved the end later, a settle
    counted too early), or when an instance of another device is handed out: two intervals
    on one instanceArn then overlap by more than a touching end."""
    by_instance: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for job in jobs:
        instance = job.get("instanceArn")
        findings.check(instance is None or instance in device_instances[job["device"]["arn"]],
                       f"job {job['arn']} ran on {instance}, not an instance of {job['device']['name']}")
        if "started" not in job:
            # No setup on any device: nothing was held (a stop before or at assignment).
            continue
        findings.check(instance is not None, f"job {job['arn']} started without an instance")
        if instance:
            by_instance[instance].append((ms(job["started"]), ms(job["stopped"]), job["arn"]))
    for instance, spans in by_instance.items():
        spans.sort()
        for (s1, e1, a1), (s2, e2, a2) in zip(spans, spans[1:]):
            findings.check(s2 >= e1, f"instance {instance} ran two jobs at once: {a1} [{s1}, {e1}] and "
                                     f"{a2} [{s2}, {e2}] overlap by {e1 - s2} ms")


def max_overlap(spans: list[tuple[int, int]]) -> int:
    """The most spans open at one instant, touching ends not counting as overlap."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])  # -1 sorts first
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


def check_limits(findings: Findings, jobs: list[dict], account_of: dict[str, str], method_of: dict[str, str]) -> None:
    """Invariant 1b. An account runs at most its max concurrent metered jobs and its
    unmetered ANDROID devices at once. Violated when the scheduler counts slots from a stale
    or partial view (a job missed among the active ones, a second assigner)."""
    spans: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for job in jobs:
        if "started" in job:
            spans[(account_of[job["arn"]], method_of[job["arn"]])].append((ms(job["started"]), ms(job["stopped"])))
    for (account, method), these in spans.items():
        metered, unmetered = LIMITS[account]
        limit = metered if method == "METERED" else unmetered
        peak = max_overlap(these)
        findings.check(peak <= limit, f"account {account} ran {peak} {method} jobs at once (limit {limit})")


def check_ledger(findings: Findings, jobs: list[dict], ledger_csv: list[dict], ledger_rows: dict[str, dict],
                 account_ids: dict[str, str], account_of: dict[str, str], method_of: dict[str, str],
                 run_of: dict[str, str]) -> None:
    """Invariants 2 and 3. Every settle writes one ledger line (0 seconds for a job that never
    ran) in the transaction that makes the job final, so the lines are exactly the jobs, once
    each. Violated by a double settle that inserts twice or under another key (a duplicate
    or stray line), by a job made final without its line (missing), or by a line computed
    from a view other than the final one — a replica settling on a stale record, or a stop
    landing after the settle — whose seconds or end then differ from the job's."""
    counts = Counter(line["job_arn"] for line in ledger_csv)
    duplicates = [arn for arn, n in counts.items() if n > 1]
    findings.check(not duplicates, f"jobs billed more than once in the report: {duplicates[:5]}")
    job_arns = {j["arn"] for j in jobs}
    findings.check(set(counts) == job_arns,
                   f"ledger lines without a job {sorted(set(counts) - job_arns)[:5]}; "
                   f"jobs without a ledger line {sorted(job_arns - set(counts))[:5]}")
    findings.check(set(ledger_rows) == set(counts), "the report and the ledger table disagree on the jobs billed")
    by_arn = {line["job_arn"]: line for line in ledger_csv}
    for job in jobs:
        line, row = by_arn.get(job["arn"]), ledger_rows.get(job["arn"])
        if not line or not row:
            continue
        minutes = job["deviceMinutes"]
        findings.check(is_whole_seconds(minutes["total"]), f"job {job['arn']} billed {minutes} — not whole seconds")
        findings.check(int(line["seconds"]) == seconds_of(minutes["total"]),
                       f"job {job['arn']}: ledger {line['seconds']} s, job {minutes['total']} min")
        findings.check(line["account_id"] == account_ids[account_of[job["arn"]]] and line["run_arn"] == run_of[job["arn"]]
                       and line["billing_method"] == method_of[job["arn"]],
                       f"ledger line of {job['arn']} names another account, run or method: {line}")
        findings.check(int(row["settled_ms"]) == ms(job["stopped"]),
                       f"job {job['arn']} settled as of {row['settled_ms']} but ended {ms(job['stopped'])}")
        if "started" in job:
            findings.check(int(row["started_ms"]) == ms(job["started"]),
                           f"job {job['arn']} billed from {row['started_ms']} but started {ms(job['started'])}")
    # Invariant 3: per account and method, the ledger's seconds are the jobs' minutes.
    ledger_totals: Counter = Counter()
    for line in ledger_csv:
        ledger_totals[(line["account_id"], line["billing_method"])] += int(line["seconds"])
    job_totals: Counter = Counter()
    for job in jobs:
        account = account_ids[account_of[job["arn"]]]
        job_totals[(account, "METERED")] += seconds_of(job["deviceMinutes"]["metered"])
        job_totals[(account, "UNMETERED")] += seconds_of(job["deviceMinutes"]["unmetered"])
    for key in set(ledger_totals) | set(job_totals):
        findings.check(ledger_totals[key] == job_totals[key],
                       f"account {key[0]} {key[1]}: ledger {ledger_totals[key]} s, jobs {job_totals[key]} s")


def check_job(findings: Findings, job: dict, suites: list[dict], method: str, targeted: bool,
              stop_responses: list[dict], results: set[str]) -> None:
    """Invariants 4 (job part) and 5. Violated when a stop reaches a job it was not sent to
    (a job not targeted ends STOPPED or bills less than its plan), when a stop is lost (a
    StopJob answered STOPPING and the job ended otherwise), when a stop on a completed job
    rewrites it, when a job stopped before setup bills anything, or when suites and job
    disagree (counters or minutes counted twice or not at all)."""
    arn = job["arn"]
    scenario = SCENARIOS[job["device"]["name"]]
    seconds = seconds_of(job["deviceMinutes"]["total"])
    findings.check(job["status"] == "COMPLETED", f"job {arn} is {job['status']}")
    findings.check(job["result"] in results and job["result"] in (scenario.result, "STOPPED"),
                   f"job {arn} ended {job['result']}; its plan ends {scenario.result}")
    other = "unmetered" if method == "METERED" else "metered"
    findings.check(job["deviceMinutes"][other] == 0 and job["deviceMinutes"][method.lower()] == job["deviceMinutes"]["total"],
                   f"job {arn} of a {method} run billed {job['deviceMinutes']}")
    all_stopped = job["counters"]["stopped"] == job["counters"]["total"]
    findings.check((seconds == 0) == all_stopped,
                   f"job {arn}: {seconds} s billed with counters {job['counters']} (nothing ran ⇔ 0 s)")
    if "started" not in job:
        findings.check(seconds == 0 and job["result"] == "STOPPED", f"job {arn} never started yet {job}")
    if not targeted:
        findings.check(job["result"] == scenario.result and seconds == scenario.full_seconds,
                       f"job {arn} was never stopped yet ended {job['result']} with {seconds} s "
                       f"(its plan: {scenario.result}, {scenario.full_seconds} s)")
    elif job["result"] != "STOPPED":
        findings.check(seconds == scenario.full_seconds, f"job {arn} ran to its end yet billed {seconds} s")
    else:
        ran_floor = billed(scenario.setup) + billed(scenario.teardown)
        findings.check(seconds == 0 or ran_floor <= seconds <= scenario.full_seconds,
                       f"stopped job {arn} billed {seconds} s: neither 0 nor setup+teardown..full")
    for response in stop_responses:
        findings.check(response["status"] in ("STOPPING", "COMPLETED"),
                       f"StopJob answered {response['status']} for {arn}")
        if response["status"] == "COMPLETED" and response["result"] != "STOPPED":
            findings.check(without_live_fields(response) == without_live_fields(job),
                           f"a stop of completed job {arn} changed it: {response} → {job}")
        else:
            findings.check(job["result"] == "STOPPED", f"job {arn} answered {response['status']} to a stop, "
                                                       f"ended {job['result']}")
    findings.check([s["name"] for s in suites] == ["Setup Suite", "Tests Suite", "Teardown Suite"],
                   f"job {arn} suites {[s['name'] for s in suites]}")
    summed = {k: sum(s["counters"][k] for s in suites) for k in COUNTER_KEYS}
    findings.check(summed == job["counters"], f"job {arn} counters {job['counters']}, its suites {summed}")
    suite_seconds = sum(seconds_of(s["deviceMinutes"]["total"]) for s in suites)
    findings.check(suite_seconds == seconds, f"job {arn} billed {seconds} s, its suites {suite_seconds} s")
    suite_starts = [ms(s["started"]) for s in suites if "started" in s]
    if "started" in job:
        findings.check(all(ms(job["started"]) <= s for s in suite_starts) and
                       max(ms(s["stopped"]) for s in suites) == ms(job["stopped"]),
                       f"job {arn} [{job['started']}, {job['stopped']}] does not enclose its suites")
    else:
        findings.check(not suite_starts, f"job {arn} never started, yet a suite did")


def check_run(findings: Findings, run: dict, jobs: list[dict], plan: RunPlan, stop_responses: list[dict],
              results: set[str]) -> None:
    """Invariants 4 (run part) and 5. Violated when a run's roll-up misses or repeats a job
    (counters, minutes or job counts off), when a StopRun that took effect is forgotten (the
    run ends with its jobs' result instead of STOPPED) or when one sent after completion
    rewrites the run."""
    arn = run["arn"]
    findings.check(run["status"] == "COMPLETED" and run["result"] in results, f"run {arn} is {run['status']} "
                                                                              f"{run['result']}")
    findings.check(run["totalJobs"] == run["completedJobs"] == len(jobs),
                   f"run {arn}: {run['totalJobs']} jobs, {run['completedJobs']} completed, {len(jobs)} listed")
    findings.check(run["billingMethod"] == plan.billing, f"run {arn} bills {run['billingMethod']}, not {plan.billing}")
    summed = {k: sum(j["counters"][k] for j in jobs) for k in COUNTER_KEYS}
    findings.check(summed == run["counters"], f"run {arn} counters {run['counters']}, its jobs {summed}")
    for part in ("total", "metered", "unmetered"):
        jobs_seconds = sum(seconds_of(j["deviceMinutes"][part]) for j in jobs)
        findings.check(seconds_of(run["deviceMinutes"][part]) == jobs_seconds,
                       f"run {arn} {part} {run['deviceMinutes'][part]} min, its jobs {jobs_seconds} s")
    effective = [r for r in stop_responses if r["status"] != "COMPLETED" or r["result"] == "STOPPED"]
    for response in stop_responses:
        findings.check(response["status"] in ("STOPPING", "COMPLETED"), f"StopRun answered {response['status']} for {arn}")
    if effective:
        findings.check(run["result"] == "STOPPED", f"run {arn} was stopped by StopRun yet ended {run['result']}")
    elif stop_responses:
        before = without_live_fields(stop_responses[0])
        findings.check(before == without_live_fields(run), f"a stop of completed run {arn} changed it: {before} → {run}")
    else:
        expected = worst([j["result"] for j in jobs], JOB_SEVERITY)
        findings.check(run["result"] == expected, f"run {arn} ended {run['result']}; its jobs roll up to {expected}")


def stored_jobs(database: PostgresDatabase, findings: list[str]) -> str:
    """The stored instants of the jobs a failure names, to tell which write broke it."""
    arns = sorted({m for f in findings for m in re.findall(r"arn:aws:devicefarm:[^ ,:]*:\d{12}:job:[0-9a-f/-]+", f)})[:12]
    if not arns:
        return "(none)"
    quoted = ", ".join(f"'{arn}'" for arn in arns)
    rows = psql(database.url, "SELECT r.arn, r.status, r.version, b->>'instance_arn', b->>'assigned_ms', "
                              "b->>'stop_requested_ms', b->>'settled_ms', l.started_ms, l.settled_ms, l.seconds "
                              "FROM resources r CROSS JOIN LATERAL CAST(r.body AS jsonb) b "
                              f"LEFT JOIN billing_ledger l ON l.job_arn = r.arn WHERE r.arn IN ({quoted}) ORDER BY r.arn")
    header = "arn phase version instance assigned_ms stop_requested_ms settled_ms | ledger started_ms settled_ms seconds"
    return "\n".join([header] + [" ".join(row) for row in rows])


# --- the test -----------------------------------------------------------------------------


def test_two_replicas_hammered_keep_every_invariant(replicas, database):
    began = time.monotonic()
    print(f"\nhammer seed {SEED} (FARMHAND_HAMMER_SEED={SEED} replays the plan)")
    rng = random.Random(SEED)
    a, b = replicas
    two = a.create_account("hammer-two")
    account_ids = {"root": a.account_id, "two": two.id}
    for name, account_id in account_ids.items():
        metered, unmetered = LIMITS[name]
        a.manage("account", "update", account_id, "--max-concurrent-jobs", str(metered),
                 "--unmetered-devices", f"ANDROID={unmetered}")
    accounts: dict[str, Account | None] = {"root": None, "two": two}
    labs = {"root": Lab(a, name="hammer"), "two": Lab(b, two, name="hammer")}
    fleet = devices_by_name(labs["root"].client)
    assert set(fleet) == set(SCENARIOS), fleet.keys()
    device_arns = sorted(d["arn"] for d in fleet.values())
    device_instances = {d["arn"]: {i["arn"] for i in d["instances"]} for d in fleet.values()}
    pool_devices = make_pools(rng, device_arns)
    pools = {name: [lab.pool(devices) for devices in pool_devices] for name, lab in labs.items()}
    packages = {name: lab.package(BASE, per_device=PER_DEVICE) for name, lab in labs.items()}
    plans = make_plan(rng, len(pool_devices))
    print(f"plan: {Counter(p.stop for p in plans)}; {Counter(p.account for p in plans)}; "
          f"{Counter(p.billing for p in plans)}")

    hammer = Hammer([a, b], accounts, labs, pools, packages)
    hammering = time.monotonic()
    hammer.run(plans, SEED)
    seen = hammer.seen
    assert not seen.errors, "API calls failed while hammering:\n" + "\n".join(seen.errors[:10])
    print(f"hammered {len(seen.runs)} runs, {len(seen.job_runs)} jobs in {time.monotonic() - hammering:.1f}s; "
          f"{sum(map(len, seen.job_stops.values()))} StopJob, {sum(map(len, seen.run_stops.values()))} StopRun")

    runs = wait_all_completed(hammer.clients, labs, RUNS)
    print(f"all runs completed {time.monotonic() - hammering:.1f}s after the hammer began")

    hammer.stop_completed(rng)

    jobs: list[dict] = []
    findings = Findings()
    for run_arn, plan in seen.runs.items():
        listed = all_jobs(hammer.client(plan.account, 0), run_arn)
        through_b = all_jobs(hammer.client(plan.account, 1), run_arn)
        findings.check([without_live_fields(j) for j in listed] == [without_live_fields(j) for j in through_b],
                       f"the replicas disagree on the jobs of run {run_arn}")
        jobs.extend(listed)
    account_of = {j["arn"]: seen.run_account[seen.job_runs[j["arn"]]] for j in jobs}
    method_of = {j["arn"]: seen.runs[seen.job_runs[j["arn"]]].billing for j in jobs}
    run_of = dict(seen.job_runs)
    assert {j["arn"] for j in jobs} == set(seen.job_runs), "ListJobs lost or invented jobs"

    wait_for_ledger(database, len(jobs))
    unsettled = psql(database.url, "SELECT arn, status FROM resources WHERE kind = 'job' AND status <> 'SETTLED'")
    findings.check(not unsettled, f"COMPLETED jobs never settled (device held, nothing billed): {unsettled[:5]}")
    ledger_csv = list(csv.DictReader(io.StringIO("\n".join(a.manage("billing", "report", "--csv")))))
    ledger_rows = {r[0]: {"seconds": r[1], "started_ms": r[2], "settled_ms": r[3]} for r in
                   psql(database.url, "SELECT job_arn, seconds, started_ms, settled_ms FROM billing_ledger")}

    results = set(labs["root"].client.meta.service_model.shape_for("ExecutionResult").enum) - {"PENDING"}
    check_instances(findings, jobs, device_instances)
    check_limits(findings, jobs, account_of, method_of)
    check_ledger(findings, jobs, ledger_csv, ledger_rows, account_ids, account_of, method_of, run_of)
    stopped_runs = set(seen.run_stops)
    for n, job in enumerate(jobs):
        client = hammer.client(account_of[job["arn"]], n % 2)
        suites = [s for page in client.get_paginator("list_suites").paginate(arn=job["arn"]) for s in page["suites"]]
        targeted = job["arn"] in seen.job_stops or run_of[job["arn"]] in stopped_runs
        check_job(findings, job, suites, method_of[job["arn"]], targeted, seen.job_stops.get(job["arn"], []), results)
    jobs_of_run: dict[str, list[dict]] = defaultdict(list)
    for job in jobs:
        jobs_of_run[run_of[job["arn"]]].append(job)
    for run_arn, plan in seen.runs.items():
        check_run(findings, runs[run_arn], jobs_of_run[run_arn], plan, seen.run_stops.get(run_arn, []), results)

    held = instances_in_use(replicas)
    findings.check(not held, f"instances still IN_USE after every job settled: {held}")

    # The hammer covered what it was meant to: otherwise a green run proves little.
    no_device = [j for j in jobs if "instanceArn" not in j]
    before_setup = [j for j in jobs if "started" in j and j["result"] == "STOPPED" and j["deviceMinutes"]["total"] == 0]
    mid_run = [j for j in jobs if j["result"] == "STOPPED" and j["deviceMinutes"]["total"] > 0]
    waited = [j for j in jobs if "started" in j and ms(j["started"]) - ms(j["created"]) > 10_000]
    print(f"{len(jobs)} jobs: {len(no_device)} stopped before a device, {len(before_setup)} on a device before "
          f"setup, {len(mid_run)} stopped mid-run, "
          f"{Counter(j['result'] for j in jobs)}; {len(waited)} waited over 10 simulated s for a device or slot; "
          f"{len(ledger_csv)} ledger lines; checked in {time.monotonic() - began:.1f}s")
    assert not findings, (f"{len(findings)} invariant violations (seed {SEED}):\n" + "\n".join(findings[:30])
                          + "\nstored jobs named above:\n" + stored_jobs(database, findings))
    assert no_device and mid_run and waited, "the hammer did not reach every case; change the plan"
