"""Billing end to end: the ledger behind `farmhand billing report`, the account's metered
quota (GetAccountSettings trialMinutes, ServiceAccountException at ScheduleRun once it is
used up), and account settings changed with `farmhand account update` (PENDING_CONCURRENCY
from a small metered concurrency)."""

from __future__ import annotations

import csv
import io

import pytest
from botocore.exceptions import ClientError

from simfarm import Lab, Scenario, SimTest, device, sim_fixture, wait_for, wait_run_completed
from support import error_code, unique

FLEET = [device("bill-one", "Bill One"), device("bill-two", "Bill Two"), device("bill-three", "Bill Three")]
# 1 s setup + 2 s test + 1 s teardown = 4 billed seconds per job.
SHORT = Scenario(setup=1, teardown=1, tests=(SimTest("quick", 2),))


sim = sim_fixture("billing", fleet=FLEET)


def remaining_minutes(lab, expected: float) -> float:
    """The account's remaining trial minutes once the scheduler has billed what completed
    (settling follows completion by one scheduler pass)."""
    return wait_for(lambda: lab.client.get_account_settings()["accountSettings"]["trialMinutes"],
                    lambda t: t["remaining"] == pytest.approx(expected), timeout=10,
                    what=f"{expected} remaining minutes")["remaining"]


def report_rows(sim, *args: str) -> list[dict]:
    lines = sim.manage("billing", "report", "--csv", *args)
    return list(csv.DictReader(io.StringIO("\n".join(lines) + "\n")))


def test_quota_ledger_and_report(sim, fleet):
    account = sim.create_account(unique("billing"))
    sim.manage("account", "update", account.id, "--trial-minutes", "0.1")
    lab = Lab(sim, account)
    settings = lab.client.get_account_settings()["accountSettings"]
    assert settings["awsAccountNumber"] == account.id
    assert settings["trialMinutes"] == {"total": 0.1, "remaining": 0.1}

    package = lab.package(SHORT)
    pool = lab.pool([fleet["Bill One"]["arn"]])
    first = lab.web_run(pool, package)
    wait_run_completed(lab.client, first["arn"])
    assert remaining_minutes(lab, 0.1 - 4 / 60) == pytest.approx(0.1 - 4 / 60)
    assert lab.client.get_account_settings()["accountSettings"]["trialMinutes"]["total"] == 0.1

    # 4 of 6 metered seconds used: one more metered run may start, and overruns the quota.
    second = lab.web_run(pool, package)
    wait_run_completed(lab.client, second["arn"])
    assert remaining_minutes(lab, 0.0) == 0.0

    with pytest.raises(ClientError) as refused:
        lab.web_run(pool, package)
    assert error_code(refused.value) == "ServiceAccountException"
    assert "metered" in refused.value.response["Error"]["Message"]
    # Unmetered runs do not draw on the metered quota.
    unmetered = lab.web_run(pool, package, configuration={"billingMethod": "UNMETERED"})
    wait_run_completed(lab.client, unmetered["arn"])

    # The ledger line follows the job's completion by one scheduler pass.
    rows = wait_for(lambda: {"rows": report_rows(sim, "--account", account.id)}, lambda v: len(v["rows"]) == 3,
                    timeout=10, what="three ledger lines")["rows"]
    assert [r["run_arn"] for r in rows] == [first["arn"], second["arn"], unmetered["arn"]]
    assert [r["billing_method"] for r in rows] == ["METERED", "METERED", "UNMETERED"]
    assert all(r["seconds"] == "4" and r["minutes"] == "0.07" for r in rows), rows
    assert all(r["account_id"] == account.id and r["device_name"] == "Bill One" for r in rows)
    assert all(r["platform"] == "ANDROID" and r["project_arn"] == lab.arn for r in rows)
    jobs = [lab.jobs(run["arn"])[0]["arn"] for run in (first, second, unmetered)]
    assert [r["job_arn"] for r in rows] == jobs

    table = sim.manage("billing", "report", "--account", account.id)
    assert table[0].split() == ["SETTLED", "ACCOUNT", "DEVICE", "PLATFORM", "METHOD", "MINUTES"]
    assert table[-1] == "3 jobs; metered 0.13 min, unmetered 0.07 min, total 0.20 min"

    # Periods: nothing settled before the epoch's next day, everything since then.
    assert report_rows(sim, "--account", account.id, "--until", "1970-01-02") == []
    assert len(report_rows(sim, "--account", account.id, "--since", "1970-01-02")) == 3

    # Deleting a run does not un-bill it.
    lab.client.delete_run(arn=first["arn"])
    assert len(report_rows(sim, "--account", account.id)) == 3


def test_small_metered_concurrency_keeps_jobs_pending(sim, fleet):
    account = sim.create_account(unique("concurrency"))
    sim.manage("account", "update", account.id, "--max-concurrent-jobs", "1")
    lab = Lab(sim, account)
    long = Scenario(setup=1, teardown=1, tests=(SimTest("long", 60),))
    pool = lab.pool([fleet["Bill Two"]["arn"], fleet["Bill Three"]["arn"]])
    run = lab.web_run(pool, lab.package(long))
    statuses = wait_for(
        lambda: {j["name"]: j["status"] for j in lab.jobs(run["arn"])},
        lambda s: "RUNNING" in s.values() and "PENDING_CONCURRENCY" in s.values(),
    )
    assert sorted(statuses.values()) == ["PENDING_CONCURRENCY", "RUNNING"], statuses
    stopped = lab.client.stop_run(arn=run["arn"])["run"]
    assert stopped["status"] in ("STOPPING", "COMPLETED")
    final = wait_run_completed(lab.client, run["arn"])
    assert final["result"] == "STOPPED"


def test_account_update_rejects_impossible_settings(sim):
    account = sim.create_account(unique("settings"))
    with pytest.raises(RuntimeError, match="max_concurrent_jobs"):
        sim.manage("account", "update", account.id, "--max-concurrent-jobs", "0")
    with pytest.raises(RuntimeError, match="no account"):
        sim.manage("account", "update", "000000000000", "--trial-minutes", "5")
