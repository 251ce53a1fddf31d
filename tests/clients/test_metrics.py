"""GET /metrics scraped and parsed as Prometheus does (prometheus_client's parsers), against
what the run that was measured really did: requests counted per operation and error code
(counted client-side by a botocore hook), jobs by status and the queue while jobs wait,
device instances while one runs, billed minutes against the jobs' deviceMinutes, stop
latency; `--metrics-token`, which makes a scrape need its bearer token; and `serve --log-format json`: one JSON object per line, each line logged while
handling a request, or while streaming its body (a dashboard event stream), carrying the id
its response header has."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections import Counter

import pytest
import requests
from botocore.exceptions import ClientError
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from harness import Farmhand, binary, clean_env, new_access_key, running
from simfarm import (Lab, Scenario, SimTest, device, devices_by_name, sim_fixture, sim_server, wait_for,
                     wait_run_completed)
from support import error_code, unique

FLEET = [device("metric-one", "Metric One"), device("metric-two", "Metric Two"), device("metric-three", "Metric Three")]
# 4 s prep + 1 s setup + 2 × 30 s tests + 1 s teardown: over 3 s of wall time per job at
# the simulated servers' scale, long enough to catch a job RUNNING and the others waiting.
LONG = Scenario(setup=1, teardown=1, tests=(SimTest("first", 30), SimTest("second", 30, result="FAILED")))
SHORT = Scenario(setup=1, teardown=1, tests=(SimTest("quick", 2),))
STATUSES = ("PENDING", "PENDING_CONCURRENCY", "PENDING_DEVICE", "PROCESSING", "SCHEDULING", "PREPARING", "RUNNING",
            "STOPPING", "COMPLETED")


sim = sim_fixture("metrics", fleet=FLEET)


def scrape(farm: Farmhand, accept: str | None = None) -> requests.Response:
    response = requests.get(farm.endpoint + "/metrics", headers={"Accept": accept} if accept else {}, timeout=10)
    assert response.status_code == 200, response.text
    return response


def samples(farm: Farmhand) -> dict[tuple, float]:
    """Every sample of a scrape in the Prometheus text format, by (name, sorted labels)."""
    response = scrape(farm)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(response.text):
        assert family.type != "unknown", f"{family.name}: a sample its TYPE line does not name"
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def request_counts(scraped: dict) -> Counter:
    return Counter({(dict(labels)["operation"], dict(labels)["code"]): v for (name, labels), v in scraped.items()
                    if name == "farmhand_api_requests_total"})


def count_calls(client, counts: Counter) -> None:
    """Counts every call the client makes, by operation and result code, as the server should."""
    def after_call(http_response, parsed, model, **_):
        code = "OK" if http_response.status_code < 300 else parsed["Error"]["Code"]
        counts[(model.name, code)] += 1
    client.meta.events.register("after-call.devicefarm", after_call)


def check_histograms(scraped: dict) -> None:
    """Every histogram's buckets are cumulative and its +Inf bucket is its count."""
    buckets: dict[tuple, list[tuple[float, float]]] = {}
    for (name, labels), v in scraped.items():
        if name.endswith("_bucket"):
            rest = tuple(kv for kv in labels if kv[0] != "le")
            buckets.setdefault((name[:-len("_bucket")], rest), []).append((float(dict(labels)["le"]), v))
    assert buckets
    for (base, rest), points in buckets.items():
        points.sort()
        counts = [v for _, v in points]
        assert counts == sorted(counts), (base, rest, points)
        assert points[-1][0] == float("inf")
        assert points[-1][1] == scraped[(base + "_count", rest)], (base, rest)


def stable_statuses(lab: Lab, run_arn: str, want) -> dict:
    """A scrape taken while the run's jobs stood still: statuses read before and after it agree."""
    def attempt():
        before = sorted(j["status"] for j in lab.jobs(run_arn))
        scraped = samples(lab.farm)
        after = sorted(j["status"] for j in lab.jobs(run_arn))
        return {"statuses": before, "scraped": scraped, "stable": before == after}
    return wait_for(attempt, lambda v: v["stable"] and want(v["statuses"]), timeout=30, interval=0.05,
                    what="a scrape while the jobs stand still")


def test_metrics_match_the_run(sim):
    fleet = devices_by_name(sim.client())
    account = sim.create_account(unique("metrics"))
    sim.manage("account", "update", account.id, "--max-concurrent-jobs", "1")
    lab = Lab(sim, account)
    pool = lab.pool([fleet[d["name"]]["arn"] for d in FLEET])
    one_device = lab.pool([fleet["Metric One"]["arn"]])

    calls: Counter = Counter()
    count_calls(lab.client, calls)
    before = samples(sim)
    assert value(before, "farmhand_stop_latency_seconds_count") == 0

    long_package = lab.package(LONG)
    run = lab.web_run(pool, long_package)
    # Concurrency 1: one job runs, the others wait in PENDING_CONCURRENCY.
    seen = stable_statuses(lab, run["arn"], lambda s: s == ["PENDING_CONCURRENCY", "PENDING_CONCURRENCY", "RUNNING"])
    now = seen["scraped"]
    assert {s: value(now, "farmhand_jobs", status=s) for s in STATUSES} == {
        **{s: 0 for s in STATUSES}, "RUNNING": 1, "PENDING_CONCURRENCY": 2}
    assert value(now, "farmhand_scheduler_queue_length", reason="PENDING_CONCURRENCY") == 2
    assert value(now, "farmhand_scheduler_queue_length", reason="PENDING") == 0
    assert value(now, "farmhand_scheduler_queue_length", reason="PENDING_DEVICE") == 0
    assert value(now, "farmhand_device_instances", platform="ANDROID", state="in_use") == 1
    assert value(now, "farmhand_device_instances", platform="ANDROID", state="free") == 2
    assert value(now, "farmhand_device_instances", platform="ANDROID", state="unavailable") == 0
    assert value(now, "farmhand_device_utilisation_ratio", platform="ANDROID") == pytest.approx(1 / 3)

    # Stop a waiting job: it ends at once, unbilled, and its stop latency is real time.
    waiting = next(j for j in lab.jobs(run["arn"]) if j["status"] == "PENDING_CONCURRENCY")
    stop_sent = time.monotonic()
    lab.client.stop_job(arn=waiting["arn"])
    settled = wait_for(lambda: {"s": samples(sim)}, lambda v: value(v["s"], "farmhand_stop_latency_seconds_count") == 1,
                       timeout=10, what="the stopped job settled")["s"]
    waited = time.monotonic() - stop_sent
    assert 0 <= value(settled, "farmhand_stop_latency_seconds_sum") <= waited, (
        "stop latency is in real seconds, not the 20-times-faster service clock")

    # Failures are counted under their error codes.
    missing = waiting["arn"][:-5] + "99999"
    with pytest.raises(ClientError) as not_found:
        lab.client.get_job(arn=missing)
    assert error_code(not_found.value) == "NotFoundException"
    raw = Counter()
    assert sim.call("Nonsense", {}).status_code == 400
    raw[("unknown", "UnknownOperationException")] += 1
    assert sim.call("ListProjects", {}, sign=False).status_code == 403
    raw[("ListProjects", "MissingAuthenticationTokenException")] += 1

    final = wait_run_completed(lab.client, run["arn"])
    assert final["result"] == "FAILED", "FAILED outranks the stopped job's STOPPED"
    unmetered = lab.web_run(one_device, lab.package(SHORT), configuration={"billingMethod": "UNMETERED"})
    wait_run_completed(lab.client, unmetered["arn"])
    jobs = lab.jobs(run["arn"]) + lab.jobs(unmetered["arn"])
    assert sorted(j["result"] for j in jobs) == ["FAILED", "FAILED", "PASSED", "STOPPED"]

    # Settling follows completion by a scheduler pass; then nothing is left unsettled.
    after = wait_for(lambda: {"s": samples(sim)},
                     lambda v: sum(value(v["s"], "farmhand_jobs", status=s) for s in STATUSES) == 0,
                     timeout=10, what="every job settled")["s"]
    calls_total = calls + raw
    for method in ("METERED", "UNMETERED"):
        billed = sum(j["deviceMinutes"][method.lower()] for j in jobs)
        delta = (value(after, "farmhand_billed_minutes_total", billing_method=method)
                 - value(before, "farmhand_billed_minutes_total", billing_method=method))
        assert delta == pytest.approx(billed), method
        settled_jobs = 3 if method == "METERED" else 1
        assert (value(after, "farmhand_settled_jobs_total", billing_method=method)
                - value(before, "farmhand_settled_jobs_total", billing_method=method)) == settled_jobs
    assert value(after, "farmhand_device_instances", platform="ANDROID", state="in_use") == 0
    assert value(after, "farmhand_scheduler_queue_length", reason="PENDING_CONCURRENCY") == 0

    # Exactly the requests made since the first scrape, each under its operation and code;
    # nothing else moved.
    moved = request_counts(after)
    moved.subtract(request_counts(before))
    assert +moved == calls_total, (+moved, calls_total)
    assert calls_total[("GetJob", "NotFoundException")] == 1
    assert calls_total[("StopJob", "OK")] == 1
    for (name, labels), v in after.items():
        if name == "farmhand_api_request_duration_seconds_count":
            labels = dict(labels)
            assert v == after[("farmhand_api_requests_total", tuple(sorted(labels.items())))]
    check_histograms(after)
    text = scrape(sim).text
    assert account.id not in text and "arn:" not in text, "no account ids or ARNs on an unauthenticated page"


def test_openmetrics_on_request(sim):
    response = scrape(sim, accept="application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
    assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.text.endswith("# EOF\n")
    families = {f.name: f for f in openmetrics_families(response.text)}
    assert families["farmhand_api_requests"].type == "counter"
    assert families["farmhand_api_request_duration_seconds"].type == "histogram"
    assert families["farmhand_jobs"].type == "gauge"
    assert families["farmhand_billed_minutes"].type == "counter"


def test_throttled_requests_are_counted_as_throttling(tmp_path):
    with running(Farmhand(tmp_path / "throttled", root_key=new_access_key(),
                          extra_args=["--rate-limit-per-second", "0.01", "--rate-burst", "1"])) as farm:
        before = samples(farm)
        sent: Counter = Counter()
        for _ in range(5):
            response = farm.call("ListProjects", {})
            code = "OK" if response.status_code == 200 else response.json()["__type"]
            sent[("ListProjects", code)] += 1
        assert sent[("ListProjects", "ThrottlingException")] >= 4, sent
        moved = request_counts(samples(farm))
        moved.subtract(request_counts(before))
        assert +moved == sent


def test_a_metrics_token_guards_the_scrape(tmp_path):
    token = "scrape-" + secrets.token_urlsafe(24)
    with running(Farmhand(tmp_path / "guarded", root_key=new_access_key(), extra_args=["--log-format", "json"],
                          env={"FARMHAND_METRICS_TOKEN": token, "FARMHAND_LOG": "debug"})) as farm:
        url = farm.endpoint + "/metrics"
        missing = requests.get(url, timeout=10)
        wrong = requests.get(url, headers={"Authorization": f"Bearer {token}x"}, timeout=10)
        basic = requests.get(url, auth=("prometheus", token), timeout=10)
        for refused in (missing, wrong, basic):
            assert refused.status_code == 401, refused.text
            assert refused.headers["WWW-Authenticate"].startswith("Bearer"), refused.headers
            assert "farmhand_" not in refused.text
        # As Prometheus sends it for `authorization: {credentials_file: …}`.
        admitted = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert admitted.status_code == 200, admitted.text
        names = {f.name for f in text_string_to_metric_families(admitted.text)}
        assert {"farmhand_api_requests", "farmhand_jobs", "farmhand_billed_minutes"} <= names, names
        # The probes and the API need no metrics token.
        assert requests.get(farm.endpoint + "/healthz", timeout=10).status_code == 200
        assert farm.call("ListProjects", {}).status_code == 200
    # A refused scrape is answered before the store is read.
    refused_ids = {r.headers["x-amzn-RequestId"] for r in (missing, wrong, basic)}
    admitted_id = admitted.headers["x-amzn-RequestId"]
    queries: Counter = Counter()
    for line in farm.log_path.read_text().splitlines():
        record = json.loads(line)
        rid = next((s["request_id"] for s in record.get("spans", []) if s.get("name") == "request"), None)
        if record.get("target") == "sqlx::query":
            queries[rid] += 1
    assert queries[admitted_id] > 0, "the admitted scrape reads the store"
    assert all(queries[rid] == 0 for rid in refused_ids), queries
    assert token not in farm.log_path.read_text(), "the token is never logged"


@pytest.mark.parametrize("bad", ["", "two words"])
def test_a_metrics_token_that_is_not_header_text_is_refused_at_start(tmp_path, bad):
    done = subprocess.run([str(binary()), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path),
                           "--metrics-token", bad], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "metrics_token" in done.stderr, done.stderr
    assert not (tmp_path / "farmhand.db").exists(), "nothing was set up"


def unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key twice in {keys}"
    return dict(pairs)


def test_json_logs_carry_the_request_id_of_each_request(tmp_path):
    with running(sim_server(tmp_path / "logs", fleet=FLEET, extra_args=["--log-format", "json"],
                            env={"FARMHAND_LOG": "debug"})) as farm:
        lab = Lab(farm, name="logs")
        run = lab.web_run(lab.pool([devices_by_name(lab.client)["Metric One"]["arn"]]), lab.package(SHORT))
        events_path = "/ui/runs/" + run["arn"].split(":", 6)[6] + "/events"
        with farm.ui_session().get(farm.endpoint + events_path, stream=True, timeout=60) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            # The stream ends by itself once the run has completed.
            sse = stream.text
        assert '"completed":true' in sse, sse
        failed = farm.call("GetJob", {"arn": f"arn:aws:devicefarm:us-west-2:{farm.account_id}:job:"
                                              "00000000-0000-4000-8000-000000000000/"
                                              "00000000-0000-4000-8000-000000000001/00000"})
        assert failed.status_code == 400 and failed.json()["__type"] == "NotFoundException"
        listed = farm.call("ListProjects", {})
        assert listed.status_code == 200
        nowhere = requests.get(farm.endpoint + "/nowhere", timeout=10)
        assert nowhere.status_code == 400  # UnknownOperationException, in the service's error shape

    lines = farm.log_path.read_text().splitlines()
    assert lines
    records = []
    for line in lines:
        # One JSON object per line, every line, and no key twice (a field named like the
        # event's own `message` would be).
        record = json.loads(line, object_pairs_hook=unique_keys)
        assert isinstance(record, dict) and "level" in record and "timestamp" in record, line
        records.append(record)

    def request_id(record) -> str | None:
        return next((s["request_id"] for s in record.get("spans", []) if s.get("name") == "request"), None)

    by_id: dict[str, list[dict]] = {}
    for record in records:
        if (rid := request_id(record)) is not None:
            by_id.setdefault(rid, []).append(record)
    for response, status in ((failed, 400), (listed, 200), (nowhere, 400)):
        rid = response.headers["x-amzn-RequestId"]
        mine = by_id.get(rid)
        assert mine, f"no log line carries request id {rid}"
        handled = [r for r in mine if r.get("message") == "request handled"]
        assert [r["status"] for r in handled] == [status], mine
    failed_lines = by_id[failed.headers["x-amzn-RequestId"]]
    assert any(r.get("message") == "request failed" and r.get("code") == "NotFoundException" for r in failed_lines)
    # What the libraries log while handling the request (its store reads) carries it too.
    assert any(r.get("target") == "sqlx::query" for r in failed_lines), failed_lines
    # The event stream's store reads happen after its handler has returned, while its body
    # is being sent, and carry its id all the same.
    stream_id = stream.headers["x-amzn-RequestId"]
    handled_at = next(i for i, r in enumerate(records)
                      if r.get("message") == "request handled" and request_id(r) == stream_id)
    streamed = [r for r in records[handled_at + 1:] if request_id(r) == stream_id]
    assert any(r.get("target") == "sqlx::query" for r in streamed), by_id[stream_id]
    # Every request's lines name exactly one request id: the header's.
    assert all(len([s for s in r.get("spans", []) if s.get("name") == "request"]) == 1 for rs in by_id.values()
               for r in rs)


def test_text_logs_are_coloured_only_on_a_terminal(tmp_path):
    """`serve > file` (here: stderr into the harness's log file) writes plain text; the same
    server writing to a terminal colours its levels, so the plain file is a choice, not a loss."""
    import os
    import pty

    plain = sim_server(tmp_path / "plain", fleet=FLEET).start()
    assert plain.stop() == 0, plain.log_tail()
    text = plain.log_path.read_text()
    assert "INFO" in text and "\x1b[" not in text, text[:400]

    leader, follower = pty.openpty()
    farm = sim_server(tmp_path / "tty", fleet=FLEET)
    args = [str(binary()), "serve", "--listen", "127.0.0.1:0", *farm.store_args()]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL,
                            env=clean_env())
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"INFO" not in seen and time.monotonic() < deadline:
            seen += os.read(leader, 65536)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.close(leader)
    assert b"\x1b[" in seen, seen[:400]
