"""Two replicas on one PostgreSQL database, hammered from many threads at once: runs
scheduled through either replica for two accounts with limits of their own, StopJob and
StopRun sent through either replica at random moments (before a device, while running,
twice, after completion). Once every run has completed, the invariants the architecture
promises (listed in invariants.py) are checked through the API and the billing ledger, and
the two replicas must agree on every job.

The seed is printed; FARMHAND_HAMMER_SEED replays a plan (thread timing still varies).
Runs when FARMHAND_TEST_DATABASE_URL names a PostgreSQL server.
"""

from __future__ import annotations

import os
import queue
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

from harness import Account, Farmhand, PostgresDatabase, new_access_key, stop_all
from invariants import (Findings, all_jobs, all_suites, check_instances, check_job, check_ledger, check_limits,
                        check_run, execution_results, instances_in_use, ledger_report, ledger_rows, ms, psql,
                        unsettled_jobs, wait_for_ledger, wait_runs_completed, without_live_fields)
from simfarm import Lab, Scenario, SimTest, device, devices_by_name, fleet_toml

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
def replicas(tmp_path, pg_database):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(fleet_toml(FLEET))
    key = new_access_key()
    # Replicas share one blob store, as they must: an upload through one is run by the other.
    blobs = tmp_path / "blobs"
    farms = [Farmhand(tmp_path / f"replica-{name}", database_url=pg_database.url, root_key=key,
                      extra_args=["--time-scale", str(TIME_SCALE), "--fleet", str(fleet), "--drain-seconds", "0",
                                  "--blob-store", str(blobs)])
             for name in ("a", "b")]
    try:
        for farm in farms:
            farm.start()
        yield farms
    finally:
        stop_all(farms)


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


# --- when it fails ------------------------------------------------------------------------


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


def test_two_replicas_hammered_keep_every_invariant(replicas, pg_database):
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

    runs = wait_runs_completed([(hammer.client(name, 0), lab.arn) for name, lab in labs.items()],
                               RUN_WAIT_SECONDS, expected=RUNS)
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

    wait_for_ledger(a, len(jobs))
    unsettled = unsettled_jobs(a)
    findings.check(not unsettled, f"COMPLETED jobs never settled (device held, nothing billed): {unsettled[:5]}")
    ledger_csv = ledger_report(a)

    results = execution_results(labs["root"].client)
    check_instances(findings, jobs, device_instances)
    check_limits(findings, jobs, account_of, method_of, LIMITS)
    check_ledger(findings, jobs, ledger_csv, ledger_rows(a), account_ids, account_of, method_of, run_of)
    stopped_runs = set(seen.run_stops)
    for n, job in enumerate(jobs):
        suites = all_suites(hammer.client(account_of[job["arn"]], n % 2), job["arn"])
        targeted = job["arn"] in seen.job_stops or run_of[job["arn"]] in stopped_runs
        check_job(findings, job, suites, SCENARIOS[job["device"]["name"]], method_of[job["arn"]], targeted,
                  seen.job_stops.get(job["arn"], []), results)
    jobs_of_run: dict[str, list[dict]] = defaultdict(list)
    for job in jobs:
        jobs_of_run[run_of[job["arn"]]].append(job)
    for run_arn, plan in seen.runs.items():
        check_run(findings, runs[run_arn], jobs_of_run[run_arn], plan.billing, seen.run_stops.get(run_arn, []),
                  results)

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
                          + "\nstored jobs named above:\n" + stored_jobs(pg_database, findings))
    assert no_device and mid_run and waited, "the hammer did not reach every case; change the plan"
