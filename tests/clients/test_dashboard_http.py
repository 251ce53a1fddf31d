"""The dashboard over plain HTTP, as a browser without JavaScript (or an attacker) sees it:
sign-in and its cookie, sessions that die with their key, `farmhand ui-token`, CSRF, one
account's pages invisible to another, the stop forms doing exactly what StopJob / StopRun do,
the live event stream, the devices and billing pages. Chromium drives the same pages in
test_dashboard.py."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from harness import CSRF_FIELD, running
from simfarm import (
    Lab, Scenario, SimTest, check_final_job, device, devices_by_name, expected_job, job_tree, sim_fixture, sim_server,
    stop_offset, wait_for, wait_job_status, wait_run_completed, wait_step_running,
)

FLEET = [device(f"ui-{n}", f"UI {n}") for n in ("one", "two", "three", "four", "five")]
LONG = Scenario(setup=21, teardown=19, tests=(SimTest("test_a", 37), SimTest("test_b", 43, "FAILED", "boom"),
                                               SimTest("test_c", 53)))
SHORT = Scenario(setup=1, teardown=1, tests=(SimTest("quick", 2),))
# Runs far longer than any test waits for it.
HOURS = Scenario(setup=5, teardown=5, tests=(SimTest("forever", 3600),))
# Its test phase lasts over a second of wall time, many ticks of the live stream.
MEDIUM = Scenario(setup=5, teardown=5, tests=(SimTest("first", 12), SimTest("second", 12)))


sim = sim_fixture("ui-http", fleet=FLEET)


@pytest.fixture(scope="module")
def lab(sim):
    return Lab(sim, name="ui")


def ui_path(arn: str, kind: str) -> str:
    return f"/ui/{kind}/" + arn.split(":", 6)[6]


def csrf_of(session: requests.Session, farm, path: str) -> str:
    return CSRF_FIELD.search(session.get(farm.endpoint + path).text).group(1)


def test_sign_in_sets_a_strict_http_only_cookie_and_shows_the_account(sim):
    s = requests.Session()
    assert s.get(sim.endpoint + "/ui", allow_redirects=False).headers["location"] == "/ui/login"
    assert s.get(sim.endpoint + "/ui/projects", allow_redirects=False).headers["location"] == "/ui/login"
    page = s.get(sim.endpoint + "/ui/login")
    csrf = CSRF_FIELD.search(page.text).group(1)
    answer = s.post(sim.endpoint + "/ui/login", allow_redirects=False, data={
        "csrf": csrf, "access_key_id": sim.access_key_id, "secret_access_key": sim.secret_access_key})
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get("set-cookie").split(", farmhand") if "farmhand_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie, cookie
    projects = s.get(sim.endpoint + "/ui/projects")
    assert projects.status_code == 200
    assert f'<span id="account">{sim.account_id}</span>' in projects.text
    assert "default-src 'self'" in projects.headers["content-security-policy"]
    assert projects.headers["x-frame-options"] == "DENY"
    assert projects.headers["cache-control"] == "no-store"
    assert s.get(sim.endpoint + "/ui", allow_redirects=False).headers["location"] == "/ui/projects"


def test_wrong_credentials_are_refused_without_a_cookie(sim):
    s = requests.Session()
    csrf = CSRF_FIELD.search(s.get(sim.endpoint + "/ui/login").text).group(1)
    for form in ({"access_key_id": sim.access_key_id, "secret_access_key": "x" * 40},
                 {"access_key_id": "AKIANOSUCHKEY0000000", "secret_access_key": sim.secret_access_key},
                 {"token": "forged.token"}):
        answer = s.post(sim.endpoint + "/ui/login", data={"csrf": csrf, **form}, allow_redirects=False)
        assert answer.status_code == 401
        assert 'id="error"' in answer.text
        assert "farmhand_session=" not in answer.headers.get("set-cookie", "")
    # The login form has its own CSRF token: a post without it is refused before any check.
    assert s.post(sim.endpoint + "/ui/login", data={"access_key_id": sim.access_key_id,
                                                    "secret_access_key": sim.secret_access_key},
                  allow_redirects=False).status_code == 403


def test_a_session_ends_with_its_key_and_with_sign_out(sim):
    account = sim.create_account("revoked-ui")
    s = sim.ui_session((account.access_key_id, account.secret_access_key))
    assert s.get(sim.endpoint + "/ui/projects").status_code == 200
    sim.revoke_key(account.access_key_id)
    assert s.get(sim.endpoint + "/ui/projects", allow_redirects=False).headers["location"] == "/ui/login"

    s = sim.ui_session()
    csrf = csrf_of(s, sim, "/ui/projects")
    assert s.post(sim.endpoint + "/ui/logout", data={"csrf": "wrong"}, allow_redirects=False).status_code == 403
    out = s.post(sim.endpoint + "/ui/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert s.get(sim.endpoint + "/ui/projects", allow_redirects=False).status_code == 303


def test_ui_token_signs_in_as_the_account_until_it_expires(sim):
    account = sim.create_account("token-ui")
    token = sim.manage("ui-token", "--account", account.id)[0]
    s = sim.ui_session(token=token)
    assert f'<span id="account">{account.id}</span>' in s.get(sim.endpoint + "/ui/projects").text
    short = sim.manage("ui-token", "--account", account.id, "--hours", "0.0003")[0]  # about a second
    time.sleep(1.5)
    s = requests.Session()
    csrf = CSRF_FIELD.search(s.get(sim.endpoint + "/ui/login").text).group(1)
    assert s.post(sim.endpoint + "/ui/login", data={"csrf": csrf, "token": short},
                  allow_redirects=False).status_code == 401
    with pytest.raises(RuntimeError):
        sim.manage("ui-token", "--account", "000000000000")


def test_the_stop_form_is_stop_job_and_refuses_forged_posts(sim, lab, fleet):
    run = lab.web_run(lab.pool([fleet["UI one"]["arn"]]), lab.package(LONG))
    job = lab.jobs(run["arn"])[0]
    s = sim.ui_session()
    job_page = ui_path(job["arn"], "jobs")
    assert s.get(sim.endpoint + job_page).status_code == 200
    wait_step_running(lab.client, job["arn"], LONG, 2)  # test_a in progress

    csrf = csrf_of(s, sim, job_page)
    stop = sim.endpoint + job_page + "/stop"
    refused = [
        s.post(stop, data={"csrf": "forged", "back": job_page}, allow_redirects=False),
        s.post(stop, data={"back": job_page}, allow_redirects=False),
        s.post(stop, data={"csrf": csrf, "back": job_page}, headers={"Origin": "http://evil.example"},
               allow_redirects=False),
        s.post(stop, data={"csrf": csrf, "back": job_page}, headers={"Sec-Fetch-Site": "cross-site"},
               allow_redirects=False),
        requests.post(stop, data={"csrf": csrf, "back": job_page}, allow_redirects=False),  # no cookie
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403, 401]
    assert "CSRF check failed" in refused[0].text
    assert lab.client.get_job(arn=job["arn"])["job"]["status"] == "RUNNING", "a refused post changed nothing"

    # A crafted `back` cannot send the browser elsewhere, nor break the answer.
    answer = s.post(stop, data={"csrf": csrf, "back": "//evil.example/x"}, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == job_page
    again = s.post(stop, data={"csrf": csrf, "back": "/ui/projects\r\nSet-Cookie: x=1"}, allow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == job_page
    stopping = lab.client.get_job(arn=job["arn"])["job"]
    assert stopping["status"] == "STOPPING"
    final = wait_job_status(lab.client, job["arn"], "COMPLETED")
    tree = job_tree(lab.client, job["arn"])
    check_final_job(lab.client, final, LONG, expected_job(LONG, stop_at=stop_offset(final, tree)))


def test_the_stop_run_form_with_json_answers_like_stop_run(sim, lab, fleet):
    run = lab.web_run(lab.pool([fleet["UI two"]["arn"], fleet["UI three"]["arn"]]), lab.package(LONG))
    s = sim.ui_session()
    run_page = ui_path(run["arn"], "runs")
    csrf = csrf_of(s, sim, run_page)
    answer = s.post(sim.endpoint + run_page + "/stop", data={"csrf": csrf, "back": run_page},
                    headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json()["status"] in ("STOPPING", "COMPLETED")
    final = wait_run_completed(lab.client, run["arn"])
    assert final["result"] == "STOPPED"
    page = s.get(sim.endpoint + run_page).text
    assert 'id="stop-run"' not in page and 'class="stop-job"' not in page, "nothing left to stop"


def read_events(response, until, timeout=60.0) -> list[dict]:
    """`event:`/`data:` pairs of a server-sent event stream until `until(events)` holds."""
    events, name, deadline = [], None, time.monotonic() + timeout
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            events.append({"event": name, **json.loads(line[5:])})
            if until(events):
                return events
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"stream ended or timed out; events: {[(e.get('status')) for e in events]}")


def test_the_run_stream_sends_each_change_until_the_run_completes(sim, lab, fleet):
    run = lab.web_run(lab.pool([fleet["UI four"]["arn"]]), lab.package(MEDIUM))
    s = sim.ui_session()
    with s.get(sim.endpoint + ui_path(run["arn"], "runs") + "/events", stream=True, timeout=90) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = read_events(stream, lambda ev: ev[-1]["completed"])
    statuses = [e["jobs"][0]["status"] for e in events]
    assert statuses[-1] == "COMPLETED" and "RUNNING" in statuses, statuses
    assert all(a != b for a, b in zip(events, events[1:])), "an event is sent only when something changed"
    final = lab.client.list_jobs(arn=run["arn"])["jobs"][0]
    assert events[-1]["jobs"][0]["result"] == final["result"] == "PASSED"
    assert events[-1]["jobs"][0]["minutes"] == f"{final['deviceMinutes']['total']:.2f} min"


def test_another_account_sees_none_of_it(sim, lab, fleet):
    run = lab.web_run(lab.pool([fleet["UI five"]["arn"]]), lab.package(LONG))
    job = lab.jobs(run["arn"])[0]
    other = sim.create_account("nosy")
    s = sim.ui_session((other.access_key_id, other.secret_access_key))
    assert lab.project["name"] not in s.get(sim.endpoint + "/ui/projects").text
    for path in (ui_path(lab.arn, "projects"), ui_path(run["arn"], "runs"), ui_path(job["arn"], "jobs"),
                 ui_path(run["arn"], "runs") + "/events", ui_path(job["arn"], "jobs") + "/events",
                 ui_path(job["arn"], "jobs") + "/output"):
        assert s.get(sim.endpoint + path).status_code == 404, path
    csrf = csrf_of(s, sim, "/ui/projects")
    assert s.post(sim.endpoint + ui_path(job["arn"], "jobs") + "/stop", data={"csrf": csrf}).status_code == 404
    assert s.post(sim.endpoint + ui_path(run["arn"], "runs") + "/stop", data={"csrf": csrf}).status_code == 404
    wait_job_status(lab.client, job["arn"], "RUNNING")
    devices = s.get(sim.endpoint + "/ui/devices").text
    row = re.search(r'<tr class="device" data-device-arn="' + re.escape(fleet["UI five"]["arn"]) + r'".*?</tr>',
                    devices, re.S).group(0)
    assert "another account" in row and job["arn"].split(":job:")[1] not in row
    mine = sim.ui_session().get(sim.endpoint + "/ui/devices").text
    row = re.search(r'<tr class="device" data-device-arn="' + re.escape(fleet["UI five"]["arn"]) + r'".*?</tr>',
                    mine, re.S).group(0)
    assert ui_path(job["arn"], "jobs") in row, "the owner sees which of its jobs holds the device"
    lab.client.stop_run(arn=run["arn"])


def test_billing_page_totals_are_the_ledger(sim, lab, fleet):
    account = sim.create_account("billing-ui")
    mine = Lab(sim, account, name="billing")
    run = mine.web_run(mine.pool([fleet["UI four"]["arn"]]), mine.package(SHORT))
    wait_run_completed(mine.client, run["arn"])
    job = mine.jobs(run["arn"])[0]
    seconds = round(job["deviceMinutes"]["total"] * 60)
    page = wait_for(lambda: {"text": sim.ui_session((account.access_key_id, account.secret_access_key))
                             .get(sim.endpoint + "/ui/billing").text},
                    lambda p: 'data-jobs="1"' in p["text"], what="the job settled into the ledger")["text"]
    assert f'data-metered-seconds="{seconds}"' in page and 'data-unmetered-seconds="0"' in page
    assert page.count('<tr class="day"') == 1
    assert f"<strong>{seconds / 60:.2f}</strong> metered minutes" in page


def test_a_live_stream_ends_when_its_key_is_revoked(sim, fleet):
    account = sim.create_account("stream-revoked")
    mine = Lab(sim, account, name="stream")
    run = mine.web_run(mine.pool([fleet["UI three"]["arn"]]), mine.package(LONG))
    s = sim.ui_session((account.access_key_id, account.secret_access_key))
    with s.get(sim.endpoint + ui_path(run["arn"], "runs") + "/events", stream=True, timeout=30) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("data:"))
        sim.revoke_key(account.access_key_id)
        revoked_at = time.monotonic()
        rest = list(lines)  # ends when the server closes the stream
        assert time.monotonic() - revoked_at < 10, "the stream closed soon after the revocation"
    assert not [line for line in rest if line.startswith("data:") and '"completed":true' in line]
    # Frees the device for the other tests, with a key of the account that is still good.
    sim.client(keys=sim.create_key(account.id)).stop_run(arn=run["arn"])


def test_assets_are_versioned_by_their_content_and_cached(sim):
    page = sim.ui_session().get(sim.endpoint + "/ui/projects").text
    script = re.search(r'<script src="(/ui/static/[0-9a-f]{12}/app\.js)"', page).group(1)
    style = re.search(r'href="(/ui/static/[0-9a-f]{12}/app\.css)"', page).group(1)
    for path, kind in ((script, "javascript"), (style, "css")):
        answer = requests.get(sim.endpoint + path)
        assert answer.status_code == 200 and kind in answer.headers["content-type"]
        assert "immutable" in answer.headers["cache-control"]


def test_revoking_signs_the_account_out_everywhere(sim):
    account = sim.create_account("revoke-all")
    by_key = sim.ui_session((account.access_key_id, account.secret_access_key))
    by_token = sim.ui_session(token=sim.manage("ui-token", "--account", account.id)[0])
    for s in (by_key, by_token):
        assert s.get(sim.endpoint + "/ui/projects").status_code == 200
    assert sim.manage("ui-token", "--account", account.id, "--revoke") == [
        f"every dashboard session of account {account.id} is signed out"]
    for s in (by_key, by_token):
        assert s.get(sim.endpoint + "/ui/projects", allow_redirects=False).headers["location"] == "/ui/login"
    # The key itself still works, and so does signing in again.
    assert sim.client(account).list_projects()["projects"] == []
    assert sim.ui_session((account.access_key_id, account.secret_access_key)).get(
        sim.endpoint + "/ui/projects").status_code == 200
    with pytest.raises(RuntimeError):
        sim.manage("ui-token", "--account", account.id, "--hours", "200")


def test_the_followed_output_ends_with_its_session_and_answers_401_after(sim, fleet):
    account = sim.create_account("output-revoked")
    mine = Lab(sim, account, name="output")
    run = mine.web_run(mine.pool([fleet["UI two"]["arn"]]), mine.package(HOURS))
    job = mine.jobs(run["arn"])[0]
    s = sim.ui_session((account.access_key_id, account.secret_access_key))
    output = sim.endpoint + ui_path(job["arn"], "jobs") + "/output"
    with s.get(output, stream=True, timeout=30) as stream:
        assert stream.status_code == 200
        sim.revoke_key(account.access_key_id)
        revoked_at = time.monotonic()
        assert stream.raw.read() == b"", "a simulated job prints nothing; the stream just ends"
        assert time.monotonic() - revoked_at < 10
    assert s.get(output, allow_redirects=False).status_code == 401, "a script reading it sees why"
    sim.client(keys=sim.create_key(account.id)).stop_run(arn=run["arn"])


def test_sign_in_guesses_are_throttled_per_address(tmp_path_factory):
    with running(sim_server(tmp_path_factory.mktemp("ui-throttle"), fleet=FLEET[:1])) as farm:
        farm.client().list_projects()  # the good key has been seen verified from here
        s = requests.Session()
        csrf = CSRF_FIELD.search(s.get(farm.endpoint + "/ui/login").text).group(1)
        codes = [s.post(farm.endpoint + "/ui/login", allow_redirects=False, data={
            "csrf": csrf, "access_key_id": "AKIAGUESS00000000000", "secret_access_key": f"guess-{i}"}).status_code
            for i in range(400)]
        assert set(codes) == {401, 429} and codes[0] == 401, "guesses are refused, then not even checked"
        assert "Too many failed sign-ins" in s.post(farm.endpoint + "/ui/login", data={
            "csrf": csrf, "access_key_id": "AKIAGUESS00000000000", "secret_access_key": "x"}).text
        farm.ui_session()  # the account's own key still signs in from the same address


def test_a_stopping_server_ends_its_live_streams_at_once(tmp_path_factory):
    farm = sim_server(tmp_path_factory.mktemp("ui-drain"), fleet=FLEET[:1]).start()
    lab = Lab(farm, name="drain")
    run = lab.web_run(lab.pool([devices_by_name(farm.client())["UI one"]["arn"]]), lab.package(HOURS))
    s = farm.ui_session()
    with s.get(farm.endpoint + ui_path(run["arn"], "runs") + "/events", stream=True, timeout=30) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(line for line in lines if line.startswith("data:"))
        started = time.monotonic()
        assert farm.stop() == 0, farm.log_tail()
        # Without ending its streams a replica waits out its in-flight limit (20 s) for them.
        assert time.monotonic() - started < 10
        list(lines)
