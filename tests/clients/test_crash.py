"""Crash safety: twenty runs kept in flight (ScheduleRun, and StopJob / StopRun at random
moments) while the server is killed with SIGKILL at random moments and started again on the
same data directory, ten times over. Once everything has finished:

- the invariants of invariants.py hold for every run and job (settled exactly once, ledger
  equal to the jobs' minutes, roll-ups, stops, one job per instance, the account's limits);
- nothing the server acknowledged is lost: every run whose ScheduleRun was answered exists
  with all its jobs, and a stop answered STOPPING took effect. A ScheduleRun whose answer the
  kill swallowed may or may not have happened, but a run it left is whole;
- a request to a server that is up is answered (no dropped connection, no 5xx).

The seed is printed; FARMHAND_CRASH_SEED replays the kills and each worker's choices
(thread timing still varies). Runs on SQLite, and on PostgreSQL too when
FARMHAND_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import boto3
import botocore.exceptions
from botocore.config import Config

from harness import REGION, Farmhand, new_access_key
from invariants import (Findings, all_jobs, all_suites, check_instances, check_job, check_ledger, check_limits,
                        check_run, execution_results, instances_in_use, ledger_report, ledger_rows, ms,
                        unsettled_jobs, wait_for_ledger, wait_runs_completed, without_live_fields)
from simfarm import Lab, Scenario, SimTest, device, devices_by_name, fleet_toml

SEED = int(os.environ.get("FARMHAND_CRASH_SEED", "0")) or random.randrange(1, 2**31)
# A job of about 50 simulated seconds takes under two real ones, so runs end between kills
# and many are in flight at each.
TIME_SCALE = 30
CRASHES = 10
IN_FLIGHT = 20
UP_SECONDS = (0.5, 3.0)
DOWN_SECONDS = (0.0, 1.0)
# Half the kills wait for a ScheduleRun in flight, then land within this many seconds: the
# moment a run exists without all its jobs, if the server ever lets it.
MID_SCHEDULE_SECONDS = 0.03
# How long a run may take once scheduled, queueing for devices and outages included.
RUN_WAIT_SECONDS = 60.0

FLEET = [device("crash-a", "Crash A", instances=3), device("crash-b", "Crash B", instances=2),
         device("crash-c", "Crash C", instances=2), device("crash-d", "Crash D")]
BASE = Scenario(setup=5.3, teardown=4.2,
                tests=(SimTest("t_login", 12.4), SimTest("t_search", 9.1), SimTest("t_checkout", 14.7)))
PER_DEVICE = {"Crash C": Scenario(setup=3.7, teardown=2.05,
                                  tests=(SimTest("t_login", 8.01), SimTest("t_pay", 11.5, "FAILED", "declined")))}
SCENARIOS = {d["name"]: PER_DEVICE.get(d["name"], BASE) for d in FLEET}
# (metered jobs at once, unmetered ANDROID devices): fewer slots than instances, so jobs
# wait for a slot as well as for a device across the crashes.
LIMITS = {"root": (5, 2)}
STOP_KINDS = ["none", "none", "none", "none", "run_now", "job_now", "run_later", "job_later", "job_later"]

# What a request that never got an answer raises: refused while the server is down, reset
# or cut short when it is killed mid-request.
CONNECTION_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


def free_port() -> int:
    """A port for every incarnation of the server, so clients keep one endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Outage(Exception):
    """A request the server never answered, not to be retried (ScheduleRun)."""


@dataclass
class Chaos:
    """What the workers saw, and whether the server is up (guarded by `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    server_up: threading.Event = field(default_factory=threading.Event)
    over: threading.Event = field(default_factory=threading.Event)
    # Bumped at each kill: a request that failed with no kill since it began hit a live server.
    incarnation: int = 0
    scheduling: int = 0                                              # ScheduleRun calls in flight
    runs: dict[str, str] = field(default_factory=dict)               # acknowledged run → billing method
    lost_schedules: int = 0
    job_stops: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    run_stops: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    targeted: set[str] = field(default_factory=set)                  # jobs and runs a stop was sent to
    spanned_a_crash: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def call(self, what: str, fn, *, retry: bool = True):
        """`fn()`, again after each outage when `retry` (the call is idempotent); an outage
        raises `Outage` otherwise. Any error answered by the server is a finding."""
        while True:
            self.server_up.wait(timeout=30)
            with self.lock:
                began, was_up = self.incarnation, self.server_up.is_set()
            try:
                return fn()
            except botocore.exceptions.ClientError as e:
                with self.lock:
                    self.errors.append(f"{what}: {e.response['ResponseMetadata']['HTTPStatusCode']} {e}")
                raise
            except CONNECTION_ERRORS as e:
                with self.lock:
                    if was_up and began == self.incarnation:
                        self.errors.append(f"{what}: no answer from a live server: {e}")
                if not retry:
                    raise Outage() from e
                time.sleep(0.05)

    def killed(self) -> None:
        with self.lock:
            self.server_up.clear()
            self.incarnation += 1


def client_for(farm: Farmhand):
    return boto3.client("devicefarm", endpoint_url=farm.endpoint, region_name=REGION,
                        aws_access_key_id=farm.access_key_id, aws_secret_access_key=farm.secret_access_key,
                        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30))


class Worker:
    """Keeps one run in flight at a time until the chaos is over."""

    def __init__(self, n: int, farm: Farmhand, lab: Lab, pools: list[str], package: str, chaos: Chaos):
        self.rng = random.Random(SEED * 1000 + n)
        self.client = client_for(farm)
        self.lab, self.pools, self.package, self.chaos = lab, pools, package, chaos

    def loop(self) -> None:
        try:
            while not self.chaos.over.is_set():
                self.one_run()
        except Exception as e:  # noqa: BLE001 - reported with the other findings
            with self.chaos.lock:
                self.chaos.errors.append(f"worker stopped: {type(e).__name__}: {e}")

    def one_run(self) -> None:
        chaos, rng = self.chaos, self.rng
        billing = "UNMETERED" if rng.random() < 0.2 else "METERED"
        stop, delay = rng.choice(STOP_KINDS), rng.uniform(0.1, 3.0)
        pool = rng.choice(self.pools)
        try:
            run = chaos.call("ScheduleRun", lambda: self.schedule(pool, billing, stop), retry=False)
        except Outage:
            with chaos.lock:
                chaos.lost_schedules += 1
            return
        arn = run["arn"]
        with chaos.lock:
            chaos.runs[arn] = billing
            incarnation = chaos.incarnation
        if stop != "none":
            if stop.endswith("_later"):
                time.sleep(delay)
            if stop.startswith("run"):
                self.stop("StopRun", arn, chaos.run_stops, lambda: self.client.stop_run(arn=arn)["run"])
            else:
                job = rng.choice(chaos.call("ListJobs", lambda: all_jobs(self.client, arn)))["arn"]
                self.stop("StopJob", job, chaos.job_stops, lambda: self.client.stop_job(arn=job)["job"])
        deadline = time.monotonic() + RUN_WAIT_SECONDS
        while chaos.call("GetRun", lambda: self.client.get_run(arn=arn)["run"])["status"] != "COMPLETED":
            if time.monotonic() > deadline:
                raise AssertionError(f"run {arn} not COMPLETED {RUN_WAIT_SECONDS}s after it was scheduled")
            time.sleep(0.25)
        with chaos.lock:
            if chaos.incarnation != incarnation:
                chaos.spanned_a_crash.add(arn)

    def schedule(self, pool: str, billing: str, stop: str) -> dict:
        with self.chaos.lock:
            self.chaos.scheduling += 1
        try:
            return self.client.schedule_run(
                projectArn=self.lab.arn, devicePoolArn=pool, name=f"crash-{stop}",
                test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": self.package},
                configuration={"billingMethod": billing})["run"]
        finally:
            with self.chaos.lock:
                self.chaos.scheduling -= 1

    def stop(self, what: str, arn: str, responses: dict[str, list[dict]], fn) -> None:
        with self.chaos.lock:
            # Sent is enough to count: an unanswered stop may have been recorded.
            self.chaos.targeted.add(arn)
        response = self.chaos.call(what, fn)
        with self.chaos.lock:
            responses[arn].append(response)


def wait_for_a_schedule(chaos: Chaos, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with chaos.lock:
            if chaos.scheduling:
                return
        time.sleep(0.001)


def start(data_dir, database_url, port, key, fleet_path) -> Farmhand:
    return Farmhand(data_dir, database_url=database_url, root_key=key, listen=f"127.0.0.1:{port}", extra_args=[
        "--time-scale", str(TIME_SCALE), "--fleet", str(fleet_path),
        # Throttling is not what this test is about.
        "--rate-limit-per-second", "10000", "--rate-burst", "10000",
    ]).start()


def test_kill_9_at_random_moments_loses_nothing_and_settles_every_job_once(tmp_path, database_url):
    began = time.monotonic()
    print(f"\ncrash seed {SEED} (FARMHAND_CRASH_SEED={SEED} replays the kills and choices)")
    rng = random.Random(SEED)
    data, key, port = tmp_path / "data", new_access_key(), free_port()
    fleet_path = tmp_path / "fleet.toml"
    fleet_path.write_text(fleet_toml(FLEET))
    farm = start(data, database_url, port, key, fleet_path)
    try:
        metered, unmetered = LIMITS["root"]
        farm.manage("account", "update", farm.account_id, "--max-concurrent-jobs", str(metered),
                    "--unmetered-devices", f"ANDROID={unmetered}")
        lab = Lab(farm, name="crash")
        fleet = devices_by_name(lab.client)
        assert set(fleet) == set(SCENARIOS), fleet.keys()
        arns = sorted(d["arn"] for d in fleet.values())
        pool_devices = [[arn] for arn in arns] + [arns, arns[:2], arns[1:3]]
        pools = [lab.pool(devices) for devices in pool_devices]
        pool_size = {pool: len(devices) for pool, devices in zip(pools, pool_devices)}
        package = lab.package(BASE, per_device=PER_DEVICE)

        chaos = Chaos()
        chaos.server_up.set()
        workers = [Worker(n, farm, lab, pools, package, chaos) for n in range(IN_FLIGHT)]
        threads = [threading.Thread(target=w.loop) for w in workers]
        for t in threads:
            t.start()
        for crash in range(CRASHES):
            if rng.random() < 0.5:
                time.sleep(rng.uniform(*UP_SECONDS))
            else:
                time.sleep(rng.uniform(0, UP_SECONDS[0]))
                wait_for_a_schedule(chaos)
                time.sleep(rng.uniform(0, MID_SCHEDULE_SECONDS))
            chaos.killed()
            farm.kill()
            time.sleep(rng.uniform(*DOWN_SECONDS))
            farm = start(data, database_url, port, key, fleet_path)
            chaos.server_up.set()
        chaos.over.set()
        print(f"{CRASHES} kills in {time.monotonic() - began:.1f}s; {len(chaos.runs)} runs acknowledged, "
              f"{chaos.lost_schedules} ScheduleRun answers lost")
        for t in threads:
            t.join(timeout=RUN_WAIT_SECONDS + 30)
        assert not any(t.is_alive() for t in threads), "a worker hung"
        assert not chaos.errors, "requests failed:\n" + "\n".join(chaos.errors[:10]) + "\n" + farm.log_tail()

        client = client_for(farm)
        runs = wait_runs_completed([(client, lab.arn)], RUN_WAIT_SECONDS)
        findings = Findings()
        lost = sorted(set(chaos.runs) - set(runs))
        findings.check(not lost, f"acknowledged runs lost: {lost[:5]}")
        unacknowledged = set(runs) - set(chaos.runs)
        findings.check(len(unacknowledged) <= chaos.lost_schedules,
                       f"{len(unacknowledged)} runs nobody was told of, but only {chaos.lost_schedules} "
                       f"ScheduleRun answers were lost")

        jobs_of_run = {arn: all_jobs(client, arn) for arn in runs}
        for arn, run in runs.items():
            findings.check(len(jobs_of_run[arn]) == pool_size[run["devicePoolArn"]],
                           f"run {arn} has {len(jobs_of_run[arn])} jobs for a pool of "
                           f"{pool_size[run['devicePoolArn']]} devices ({'un' if arn not in chaos.runs else ''}"
                           f"acknowledged)")
        jobs = [job for these in jobs_of_run.values() for job in these]
        run_of = {job["arn"]: arn for arn, these in jobs_of_run.items() for job in these}
        # An unanswered ScheduleRun's run bills as it was asked to; its own record says how.
        billing = {arn: chaos.runs.get(arn, run["billingMethod"]) for arn, run in runs.items()}
        method_of = {job["arn"]: billing[run_of[job["arn"]]] for job in jobs}
        account_of = {job["arn"]: "root" for job in jobs}

        wait_for_ledger(farm, len(jobs))
        unsettled = unsettled_jobs(farm)
        findings.check(not unsettled, f"COMPLETED jobs never settled (device held, nothing billed): {unsettled[:5]}")
        results = execution_results(client)
        check_instances(findings, jobs, {d["arn"]: {i["arn"] for i in d["instances"]} for d in fleet.values()})
        check_limits(findings, jobs, account_of, method_of, LIMITS)
        check_ledger(findings, jobs, ledger_report(farm), ledger_rows(farm), {"root": farm.account_id}, account_of,
                     method_of, run_of)
        for job in jobs:
            targeted = job["arn"] in chaos.targeted or run_of[job["arn"]] in chaos.targeted
            check_job(findings, job, all_suites(client, job["arn"]), SCENARIOS[job["device"]["name"]],
                      method_of[job["arn"]], targeted, chaos.job_stops.get(job["arn"], []), results)
        for arn, run in runs.items():
            check_run(findings, run, jobs_of_run[arn], billing[arn], chaos.run_stops.get(arn, []), results)
        held = instances_in_use([farm])
        findings.check(not held, f"instances still IN_USE after every job settled: {held}")

        stopped_mid_run = [j for j in jobs if j["result"] == "STOPPED" and j["deviceMinutes"]["total"] > 0]
        print(f"{len(runs)} runs ({len(unacknowledged)} unanswered, {len(chaos.spanned_a_crash)} in flight across "
              f"a kill), {len(jobs)} jobs: {Counter(j['result'] for j in jobs)}, {len(stopped_mid_run)} stopped "
              f"mid-run; checked {time.monotonic() - began:.1f}s after the start")
        assert not findings, f"{len(findings)} invariant violations (seed {SEED}):\n" + "\n".join(findings[:30])
        # Otherwise a green run proves little.
        assert chaos.spanned_a_crash, "no run was in flight across a kill; change the timing"
        assert any(ms(j["stopped"]) > ms(j["started"]) for j in jobs if "started" in j), "no job ran"

        # Settled for good: a clean restart changes nothing and bills nothing more.
        assert farm.stop() == 0, farm.log_tail()
        farm = start(data, database_url, port, key, fleet_path)
        again = {arn: without_live_fields(r) for arn, r in wait_runs_completed([(client, lab.arn)], 10).items()}
        assert again == {arn: without_live_fields(r) for arn, r in runs.items()}
        assert len(ledger_report(farm)) == len(jobs)
    finally:
        if farm.alive():
            assert farm.stop() == 0, farm.log_tail()
