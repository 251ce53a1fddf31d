"""farmhand's own user and operator commands against a real server: `runs watch` (exit
status per result, StopRun while watching, refused ARNs, `--output json`, the line-per-change
log, the live table on an 80x24 terminal, a server restart and throttling survived), `devices`, `billing report --output json`, the
`--output json` of the list commands, and `--help` on every command of the binary."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import socket
import struct
import subprocess
import termios
import time

import pyte
import pytest

from harness import binary, clean_env, new_access_key
from simfarm import Lab, Scenario, SimTest, device, devices_by_name, sim_fixture, sim_server, wait_for, wait_job_status
from support import unique

FLEET = [device(f"cli-{i}", f"Cli Phone {i}") for i in range(4)] + [device("cli-ios", "Cli Tablet", "IOS",
                                                                           form_factor="TABLET")]
QUICK = 0.1  # --interval-seconds for every watch: many polls during a run of a few seconds
# Exit statuses documented in `farmhand runs watch --help`.
EXIT = {"PASSED": 0, "FAILED": 3, "ERRORED": 4, "STOPPED": 5, "WARNED": 6, "SKIPPED": 7}
ERROR_EXIT = 1


sim = sim_fixture("cli-commands", fleet=FLEET)


@pytest.fixture(scope="module")
def lab(sim):
    return Lab(sim, name="cli")


def user_env(sim, **overrides) -> dict:
    env = {**clean_env(), "AWS_ACCESS_KEY_ID": sim.access_key_id, "AWS_SECRET_ACCESS_KEY": sim.secret_access_key,
           "AWS_ENDPOINT_URL_DEVICE_FARM": sim.endpoint}
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def farmhand(sim, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary()), *args], capture_output=True, text=True, env=env or user_env(sim),
                          timeout=timeout, stdin=subprocess.DEVNULL)


def watch(sim, arn: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return farmhand(sim, "runs", "watch", arn, "--interval-seconds", str(QUICK), *args, env=env)


def api(sim, operation: str, body: dict) -> dict:
    response = sim.call(operation, body)
    assert response.status_code == 200, response.text
    return response.json()


def api_list(sim, operation: str, body: dict, key: str) -> list:
    items, body = [], dict(body)
    while True:
        page = api(sim, operation, body)
        items += page.get(key, [])
        if "nextToken" not in page:
            return items
        body["nextToken"] = page["nextToken"]


def scenario(*results: str, seconds: float = 2) -> Scenario:
    return Scenario(setup=0.5, teardown=0.5, tests=tuple(SimTest(f"t{i}", seconds, r) for i, r in enumerate(results)))


def start(lab: Lab, fleet, names: list[str], scenario_: Scenario) -> dict:
    pool = lab.pool([fleet[n]["arn"] for n in names])
    return lab.web_run(pool, lab.package(scenario_))


@pytest.mark.parametrize("results, expected", [
    (("PASSED", "PASSED"), "PASSED"),
    (("PASSED", "FAILED"), "FAILED"),
    (("FAILED", "ERRORED"), "ERRORED"),
    (("WARNED", "PASSED"), "WARNED"),
])
def test_watch_exits_with_the_runs_result(sim, lab, fleet, results, expected):
    run = start(lab, fleet, ["Cli Phone 0", "Cli Phone 1"], scenario(*results))
    done = watch(sim, run["arn"])
    final = lab.client.get_run(arn=run["arn"])["run"]
    assert (final["status"], final["result"]) == ("COMPLETED", expected)
    assert done.returncode == EXIT[expected], (done.returncode, done.stdout, done.stderr)
    assert done.stderr == "", done.stderr


def test_watch_of_a_run_stopped_meanwhile_exits_stopped(sim, lab, fleet):
    run = start(lab, fleet, ["Cli Phone 2"], scenario("PASSED", "PASSED", seconds=60))
    watcher = subprocess.Popen([str(binary()), "runs", "watch", run["arn"], "--interval-seconds", str(QUICK),
                                "--output", "json"], env=user_env(sim), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        job = lab.jobs(run["arn"])[0]
        wait_job_status(lab.client, job["arn"], "RUNNING")
        assert watcher.poll() is None, "still watching a running run"
        lab.client.stop_run(arn=run["arn"])
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == EXIT["STOPPED"], (watcher.returncode, err)
    last = json.loads(out.splitlines()[-1])
    assert last["run"] == api(sim, "GetRun", {"arn": run["arn"]})["run"]
    assert last["run"]["result"] == "STOPPED"


def test_watch_refuses_what_it_cannot_watch(sim, lab, fleet):
    run = start(lab, fleet, ["Cli Phone 3"], scenario("PASSED", seconds=0.5))
    job_arn = lab.jobs(run["arn"])[0]["arn"]

    wrong_type = watch(sim, job_arn)
    assert wrong_type.returncode == ERROR_EXIT
    assert f"{job_arn} is a job ARN; expected a run ARN" in wrong_type.stderr

    missing = run["arn"][:-12] + "000000000000"
    not_found = watch(sim, missing)
    assert not_found.returncode == ERROR_EXIT
    assert re.search(r"^farmhand: NotFoundException: .+", not_found.stderr, re.M), not_found.stderr

    garbage = watch(sim, "not-an-arn")
    assert garbage.returncode == ERROR_EXIT and "RUN_ARN is not a Device Farm ARN" in garbage.stderr

    no_key = watch(sim, run["arn"], env=user_env(sim, AWS_ACCESS_KEY_ID=None))
    assert no_key.returncode == ERROR_EXIT and "AWS_ACCESS_KEY_ID is not set" in no_key.stderr
    no_endpoint = watch(sim, run["arn"], env=user_env(sim, AWS_ENDPOINT_URL_DEVICE_FARM=None))
    assert no_endpoint.returncode == ERROR_EXIT and "no endpoint" in no_endpoint.stderr
    bad_secret = watch(sim, run["arn"], env=user_env(sim, AWS_SECRET_ACCESS_KEY="x" * 40))
    assert bad_secret.returncode == ERROR_EXIT and "InvalidSignatureException" in bad_secret.stderr

    bad_interval = farmhand(sim, "runs", "watch", run["arn"], "--interval-seconds", "0")
    assert bad_interval.returncode == 2 and "outside 0.1 to 3600" in bad_interval.stderr
    for refused in (wrong_type, not_found, garbage, no_key, bad_interval):
        assert refused.stdout == "", refused.stdout


def test_watch_json_lines_end_with_the_completed_run(sim, lab, fleet):
    # Some 6 s of wall time: a watcher slow to start on a loaded machine still polls it running.
    run = start(lab, fleet, ["Cli Phone 0", "Cli Phone 1"], scenario("PASSED", "FAILED", "PASSED", seconds=40))
    done = watch(sim, run["arn"], "--output", "json")
    assert done.returncode == EXIT["FAILED"], done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(objects) > 3, "an object per change, not one at the end"
    assert all(set(o) == {"run", "jobs"} and len(o["jobs"]) == 2 for o in objects)
    assert objects[0]["run"]["status"] != "COMPLETED"
    progress = [(o["run"]["status"], o["run"]["result"], o["run"]["counters"],
                 [(j["status"], j["result"], j["counters"]) for j in o["jobs"]]) for o in objects]
    assert all(a != b for a, b in zip(progress, progress[1:])), "each object is a change"
    last = objects[-1]
    assert last["run"] == api(sim, "GetRun", {"arn": run["arn"]})["run"]
    assert last["jobs"] == api_list(sim, "ListJobs", {"arn": run["arn"]}, "jobs")
    assert last["run"]["status"] == "COMPLETED" and last["run"]["result"] == "FAILED"


def test_watch_outside_a_terminal_logs_each_change(sim, lab, fleet):
    run = start(lab, fleet, ["Cli Phone 2"], scenario("PASSED", "PASSED", "PASSED", "PASSED", seconds=10))
    done = watch(sim, run["arn"])
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout, "no ANSI in a log"
    lines = done.stdout.splitlines()
    job_lines = [line for line in lines if line.startswith("job Cli Phone 2: ")]
    done_counts = [int(m.group(1)) for line in job_lines if (m := re.search(r", (\d+)/6 tests, ", line))]
    assert done_counts == sorted(done_counts) and len(set(done_counts)) >= 4, job_lines
    assert done_counts[-1] == 6
    assert any(" RUNNING PENDING, " in line for line in job_lines), job_lines
    assert re.fullmatch(r"job Cli Phone 2: COMPLETED PASSED, 6/6 tests, \d+\.\d\d min", job_lines[-1])
    assert re.fullmatch(r"run .+: COMPLETED PASSED, 1/1 jobs completed, 6/6 tests: 6 passed", lines[-1]), lines[-1]
    assert len(lines) == len(set(lines)), "a line only when something changed"


def test_watch_on_a_terminal_redraws_a_table(sim, lab, fleet):
    run = start(lab, fleet, ["Cli Phone 3"], scenario("PASSED", "PASSED", seconds=5))
    leader, follower = pty.openpty()
    # 80x24, narrower than the table's widest layout: a row that wrapped would take two
    # lines, and each redraw would leave one behind.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([str(binary()), "runs", "watch", run["arn"], "--interval-seconds", str(QUICK)],
                            env=user_env(sim), stdout=follower, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the watcher ended
                break
            if not chunk:
                break
            screen += chunk
    os.close(leader)
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    assert screen.count(b"\x1b[3F\x1b[J") > 3, "the table (header, columns, one job) is drawn over itself"
    terminal = pyte.Screen(80, 24)
    pyte.ByteStream(terminal).feed(screen)
    shown = [line.rstrip() for line in terminal.display]
    assert shown[3:] == [""] * 21, f"lines left over from earlier draws: {shown}"
    assert shown[0].startswith("run ") and "COMPLETED PASSED" in shown[0], shown
    assert shown[1].split() == ["DEVICE", "STATUS", "RESULT", "PROGRESS", "TESTS", "MINUTES"]
    # At 80 columns the bar is the narrow one, and every column is still there.
    assert re.fullmatch(r"Cli Phone 3 +COMPLETED +PASSED +█{10} +4/4 +\d+\.\d\d", shown[2]), shown[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_watch_survives_a_server_restart_and_throttling(tmp_path):
    """A CI gate outlives a blip: the server goes away mid-run and comes back throttling (one
    call a second per key, while a poll makes two); the watch retries, then exits with the
    run's result."""
    farm = sim_server(tmp_path / "data", fleet=FLEET[:1], root_key=new_access_key())
    farm.listen = f"127.0.0.1:{free_port()}"  # the same address after the restart
    farm.start()
    try:
        lab = Lab(farm, name="blip")
        run = start(lab, devices_by_name(farm.client()), ["Cli Phone 0"], scenario("PASSED", "PASSED", seconds=60))
        # The watcher's own key: its bucket is not spent by this test's calls.
        key_id, secret = farm.create_key(farm.account_id)
        env = user_env(farm, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, FARMHAND_LOG="farmhand=debug")
        watcher = subprocess.Popen([str(binary()), "runs", "watch", run["arn"], "--interval-seconds", str(QUICK),
                                    "--output", "json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, stdin=subprocess.DEVNULL)
        try:
            first = json.loads(watcher.stdout.readline())
            assert first["run"]["status"] != "COMPLETED", first["run"]
            assert farm.stop() == 0, farm.log_tail()
            time.sleep(1.0)  # a poll every 0.1 s: several find nothing listening
            farm.extra_args += ["--rate-limit-per-second", "1", "--rate-burst", "1"]
            farm.start()
            out, err = watcher.communicate(timeout=120)
        finally:
            if watcher.poll() is None:
                watcher.kill()
        assert watcher.returncode == EXIT["PASSED"], (watcher.returncode, err[-3000:])
        final = api(farm, "GetRun", {"arn": run["arn"]})["run"]
    finally:
        farm.stop()
    assert final["status"] == "COMPLETED" and final["result"] == "PASSED", final
    assert json.loads(out.splitlines()[-1])["run"] == final
    retried = [line for line in err.splitlines() if "retrying in" in line]
    assert any("connecting to" in line for line in retried), err[-3000:]
    assert any("ThrottlingException" in line for line in retried), err[-3000:]


def test_devices_json_is_list_devices(sim):
    shown = farmhand(sim, "devices", "--output", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == api_list(sim, "ListDevices", {}, "devices")
    ios = farmhand(sim, "devices", "--platform", "ios", "--output", "json")
    assert ios.returncode == 0, ios.stderr
    filtered = api_list(sim, "ListDevices", {"filters": [{"attribute": "PLATFORM", "operator": "EQUALS",
                                                          "values": ["IOS"]}]}, "devices")
    assert json.loads(ios.stdout) == filtered and [d["name"] for d in filtered] == ["Cli Tablet"]

    # The endpoint from the flag, and a session token sent along (signed, so it must arrive intact).
    flagged = farmhand(sim, "devices", "--output", "json", "--endpoint-url", sim.endpoint,
                       env=user_env(sim, AWS_ENDPOINT_URL_DEVICE_FARM=None, AWS_SESSION_TOKEN="session-1"))
    assert flagged.returncode == 0 and json.loads(flagged.stdout) == json.loads(shown.stdout), flagged.stderr

    table = farmhand(sim, "devices").stdout.splitlines()
    assert table[0].split()[:3] == ["NAME", "PLATFORM", "OS"]
    rows = {line[:32].strip(): line[32:].split() for line in table[1:]}
    assert set(rows) == {d["name"] for d in FLEET}
    assert rows["Cli Tablet"] == ["IOS", "17.4", "TABLET", "AVAILABLE", "Test", "lab", "1"]

    refused = farmhand(sim, "devices", "--platform", "WINDOWS")
    assert refused.returncode == 2 and "WINDOWS" in refused.stderr


def test_billing_report_json_totals_are_the_jobs_device_minutes(sim, fleet):
    account = sim.create_account(unique("cli-billing"))
    lab = Lab(sim, account)
    package = lab.package(scenario("PASSED", "FAILED", seconds=1.5))
    pool = lab.pool([fleet["Cli Phone 0"]["arn"], fleet["Cli Phone 1"]["arn"]])
    runs = [lab.web_run(pool, package), lab.web_run(pool, package, configuration={"billingMethod": "UNMETERED"})]
    for run in runs:
        wait_for(lambda: lab.client.get_run(arn=run["arn"])["run"], lambda r: r["status"] == "COMPLETED",
                 what="run COMPLETED")
    jobs = [j for run in runs for j in lab.jobs(run["arn"])]

    def report():
        return json.loads("\n".join(sim.manage("billing", "report", "--output", "json", "--account", account.id)))

    # A ledger line follows its job's completion by one scheduler pass.
    shown = wait_for(report, lambda r: len(r["entries"]) == 4, timeout=15, what="four ledger lines")
    assert sorted(e["jobArn"] for e in shown["entries"]) == sorted(j["arn"] for j in jobs)
    totals = shown["totals"]
    for method in ("metered", "unmetered", "total"):
        assert totals[method]["minutes"] == pytest.approx(sum(j["deviceMinutes"][method] for j in jobs)), method
        assert totals[method]["seconds"] == round(sum(j["deviceMinutes"][method] for j in jobs) * 60)
    assert (totals["metered"]["jobs"], totals["unmetered"]["jobs"], totals["total"]["jobs"]) == (2, 2, 4)
    by_job = {j["arn"]: j for j in jobs}
    for e in shown["entries"]:
        assert e["minutes"] == pytest.approx(by_job[e["jobArn"]]["deviceMinutes"]["total"])
        assert e["accountId"] == account.id

    csv_lines = sim.manage("billing", "report", "--csv", "--account", account.id)
    assert csv_lines == sim.manage("billing", "report", "--output", "csv", "--account", account.id)
    assert len(csv_lines) == 5


def test_list_commands_print_json(sim):
    account = sim.create_account(unique("cli-lists"))
    akid, _ = sim.create_key(account.id)
    sim.revoke_key(akid)
    token_line = sim.manage("agent-token", "create", "--host", unique("cli-host"))[0]
    token_id = token_line.split()[1]

    accounts = json.loads("\n".join(sim.manage("account", "list", "--output", "json")))
    mine = [a for a in accounts if a["id"] == account.id]
    assert len(mine) == 1 and set(mine[0]) == {"id", "name", "created"} and mine[0]["name"].startswith("cli-lists")
    assert len(accounts) == len(sim.manage("account", "list")) - 1, "the same accounts as the table"

    keys = json.loads("\n".join(sim.manage("key", "list", "--account", account.id, "--output", "json")))
    assert {k["accessKeyId"]: k["status"] for k in keys} == {account.access_key_id: "active", akid: "revoked"}

    tokens = json.loads("\n".join(sim.manage("agent-token", "list", "--output", "json")))
    assert [t["status"] for t in tokens if t["tokenId"] == token_id] == ["active"]


def commands_of(help_text: str) -> list[str]:
    """The subcommand names of a `--help` page (its "Commands:" section)."""
    names, inside = [], False
    for line in help_text.splitlines():
        if line.startswith("Commands:"):
            inside = True
        elif inside and line.startswith("  ") and line.strip():
            name = line.split()[0]
            if name != "help":
                names.append(name)
        elif inside and line and not line.startswith(" "):
            inside = False
    return names


def test_help_on_every_command(sim):
    seen, pending = [], [[]]
    while pending:
        words = pending.pop()
        shown = farmhand(sim, *words, "--help", env=clean_env())
        assert shown.returncode == 0, (words, shown.stderr)
        assert "Usage: farmhand" in shown.stdout, words
        lines = [line for line in shown.stdout.splitlines() if line.strip()]
        assert not lines[0].startswith("Usage"), f"farmhand {' '.join(words)} has no description"
        seen.append(" ".join(words))
        pending += [words + [name] for name in commands_of(shown.stdout)]
    for expected in ("runs watch", "devices", "logs", "billing report", "account list", "key list",
                     "agent-token list", "serve", "agent"):
        assert expected in seen, (expected, seen)
