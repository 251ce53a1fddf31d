"""The invariants a farm keeps whatever it goes through (replicas racing, stops at random
moments, kill -9 and restarts), checked once every run has completed, through the API and
the billing ledger:

1. a device instance never runs two jobs at once, and no account exceeds its limits;
2. every job settles exactly once: one ledger line per job, written from its final state;
3. the ledger total per account (and billing method) equals the jobs' deviceMinutes, in
   whole seconds;
4. a run's counters and minutes are the sums of its jobs'; a job stopped before its setup
   began bills 0;
5. every job and run is COMPLETED with one of the model's results; stops land where they
   were sent and nowhere else; a run stopped by StopRun ends STOPPED.

Each check appends what it finds to a `Findings` list, so one failure reports every
violation at once.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from contextlib import closing

from harness import Farmhand
from simfarm import COUNTER_KEYS, JOB_SEVERITY, Scenario, billed, devices_by_name, worst


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


def all_suites(client, job_arn: str) -> list[dict]:
    return [s for page in client.get_paginator("list_suites").paginate(arn=job_arn) for s in page["suites"]]


def wait_runs_completed(projects: list[tuple], timeout: float, expected: int | None = None) -> dict[str, dict]:
    """Every run of these (client, project ARN) pairs, once all are COMPLETED (and there are
    `expected` of them, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = {r["arn"]: r for client, project_arn in projects for r in all_runs(client, project_arn)}
        pending = [r for r in runs.values() if r["status"] != "COMPLETED"]
        if (expected is None or len(runs) == expected) and not pending:
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} of {len(runs)} runs not COMPLETED after {timeout}s: "
                                 f"{Counter(r['status'] for r in pending)}; e.g. {pending[:2]}")
        time.sleep(0.2)


# --- the store, for what the API does not show -------------------------------------------


def psql(url: str, sql: str) -> list[list[str]]:
    out = subprocess.run(["psql", url, "-tA", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def store_rows(farm: Farmhand, sql: str) -> list[list[str]]:
    """A query on the server's own database, PostgreSQL or SQLite, with every value as text
    (NULL as ""), as psql prints it."""
    if farm.database_url:
        return psql(farm.database_url, sql)
    # Read-only, beside the running server: WAL lets a reader in while it writes.
    with closing(sqlite3.connect(f"file:{farm.data_dir / 'farmhand.db'}?mode=ro", uri=True, timeout=10)) as db:
        return [["" if v is None else str(v) for v in row] for row in db.execute(sql)]


def wait_for_ledger(farm: Farmhand, lines: int, timeout: float = 10.0) -> None:
    """Settling trails COMPLETED by up to a scheduler pass: wait for the last ledger line."""
    deadline = time.monotonic() + timeout
    while int(store_rows(farm, "SELECT count(*) FROM billing_ledger")[0][0]) < lines and time.monotonic() < deadline:
        time.sleep(0.1)


def ledger_rows(farm: Farmhand) -> dict[str, dict]:
    """The ledger's own instants per job ARN, which the report does not print."""
    return {r[0]: {"seconds": r[1], "started_ms": r[2], "settled_ms": r[3]} for r in
            store_rows(farm, "SELECT job_arn, seconds, started_ms, settled_ms FROM billing_ledger")}


def ledger_report(farm: Farmhand) -> list[dict]:
    """`farmhand billing report --csv`, line by line: what an operator bills from."""
    return list(csv.DictReader(io.StringIO("\n".join(farm.manage("billing", "report", "--csv")))))


def unsettled_jobs(farm: Farmhand) -> list[list[str]]:
    """Jobs whose scheduling phase is not SETTLED: a COMPLETED one still holds its device
    and was never billed."""
    return store_rows(farm, "SELECT arn, status FROM resources WHERE kind = 'job' AND status <> 'SETTLED'")


def execution_results(client) -> set[str]:
    """Every final ExecutionResult the service model allows."""
    return set(client.meta.service_model.shape_for("ExecutionResult").enum) - {"PENDING"}


def instances_in_use(farms: list[Farmhand], timeout: float = 5.0) -> list[str]:
    """Instances any of the servers still shows IN_USE, once its view had time to catch up
    with the others' settles (a pass)."""
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


def check_limits(findings: Findings, jobs: list[dict], account_of: dict[str, str], method_of: dict[str, str],
                 limits: dict[str, tuple[int, int]]) -> None:
    """Invariant 1b. An account runs at most its max concurrent metered jobs and its
    unmetered ANDROID devices at once (`limits`: account → (metered, unmetered)). Violated
    when the scheduler counts slots from a stale or partial view (a job missed among the
    active ones, a second assigner)."""
    spans: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for job in jobs:
        if "started" in job:
            spans[(account_of[job["arn"]], method_of[job["arn"]])].append((ms(job["started"]), ms(job["stopped"])))
    for (account, method), these in spans.items():
        metered, unmetered = limits[account]
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


def check_job(findings: Findings, job: dict, suites: list[dict], scenario: Scenario, method: str, targeted: bool,
              stop_responses: list[dict], results: set[str]) -> None:
    """Invariants 4 (job part) and 5. Violated when a stop reaches a job it was not sent to
    (a job not targeted ends STOPPED or bills less than its plan), when a stop is lost (a
    StopJob answered STOPPING and the job ended otherwise), when a stop on a completed job
    rewrites it, when a job stopped before setup bills anything, or when suites and job
    disagree (counters or minutes counted twice or not at all). `scenario` is the job's
    device's; `targeted` whether any stop (answered or not) was sent to the job or its run."""
    arn = job["arn"]
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


def check_run(findings: Findings, run: dict, jobs: list[dict], billing: str, stop_responses: list[dict],
              results: set[str]) -> None:
    """Invariants 4 (run part) and 5. Violated when a run's roll-up misses or repeats a job
    (counters, minutes or job counts off), when a StopRun that took effect is forgotten (the
    run ends with its jobs' result instead of STOPPED) or when one sent after completion
    rewrites the run."""
    arn = run["arn"]
    findings.check(bool(jobs), f"run {arn} has no jobs (its roll-up cannot be checked)")
    if not jobs:
        return
    findings.check(run["status"] == "COMPLETED" and run["result"] in results, f"run {arn} is {run['status']} "
                                                                              f"{run['result']}")
    findings.check(run["totalJobs"] == run["completedJobs"] == len(jobs),
                   f"run {arn}: {run['totalJobs']} jobs, {run['completedJobs']} completed, {len(jobs)} listed")
    findings.check(run["billingMethod"] == billing, f"run {arn} bills {run['billingMethod']}, not {billing}")
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
