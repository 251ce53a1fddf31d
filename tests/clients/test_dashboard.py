"""The dashboard (/ui) in a real headless Chromium, against a real server on a simulated fleet
(and one real `host` device, for a test spec's live output).

Runs are prepared and checked with boto3; the browser signs in through the form, watches pages
update live, presses the stop buttons (sent by the page's script, and as plain form posts by a
browser without script) and downloads artifacts. Every result the page shows is
checked against what the API says, and every action against its effect through the API: a stop
pressed in the browser must end the job by the seed's stop rules (stop_job.txt), exactly as
test_stop_job.py checks for StopJob itself.

Screenshots of each page land in tests/artifacts/screenshots/ (listed at the end of the run).
"""

from __future__ import annotations

import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from browser import BROWSER_DIR, Browser, Page, node_major_required
from simfarm import (
    PREP_SECONDS, STATUS_ORDER, Lab, Scenario, SimTest, billed, check_final_job, device, devices_by_name, expected_job,
    host_device, job_tree, minutes, sim_fixture, spec_yaml, step_arn, stop_offset, unique, wait_job_status,
    wait_run_completed, wait_step_running,
)
from support import make_zip

# Ten times faster than real time. The stop is pressed while test_two runs, and the page and
# the API are then checked to show it still running: its 15 s of wall time leave room for slow
# browser steps and starved ticks on a loaded machine; the whole job still ends in under 30 s.
SCALE = 10.0
LIVE_ONE, CSRF_DEV, PHONE_DEV, SHARED_DEV, ART_DEV = "Dash Live", "Dash Csrf", "Dash Phone", "Dash Shared", "Dash Art"
FLEET = [device(f"dash-{n.split()[1].lower()}", n) for n in (LIVE_ONE, CSRF_DEV, PHONE_DEV, SHARED_DEV, ART_DEV)]

# Distinct step lengths, so that a bill names exactly which steps ran.
SETUP, T1, T2, T3, TEARDOWN = 21, 33, 150, 43, 19
# The stop grace (simulated seconds; 4 s of wall time): long enough for the page to show the
# test in progress still RUNNING after a stop, short enough that it interrupts test_two.
GRACE = 40.0
LIVE = Scenario(setup=SETUP, teardown=TEARDOWN, tests=(
    SimTest("test_one", T1), SimTest("test_two", T2, "FAILED", "boom"), SimTest("test_three", T3),
))
# Holds a device for minutes of wall time, and ends quickly when stopped: each step is short.
BLOCKER = Scenario(setup=1, teardown=1, tests=tuple(SimTest(f"hold_{i}", 5) for i in range(400)))
SHORT = Scenario(setup=2, teardown=1, tests=(SimTest("opens", 3), SimTest("pays", 2, "FAILED", "card declined")))

COOKIE = "farmhand_session"
# The page's state as the tests read it: status and result of one element, and its texts
# (`.status`/`.result` inside it; the page's own #run-status, #job-status… for #run and #job).
STATE_JS = """(sel) => {
  const e = document.querySelector(sel);
  if (!e) return null;
  const own = sel.startsWith('#') && !sel.includes(' ');
  const text = (part) => {
    const c = own ? document.querySelector(sel + '-' + part) : e.querySelector('.' + part);
    return c ? c.textContent.trim() : null;
  };
  return {status: e.dataset.status, result: e.dataset.result, statusText: text('status'), resultText: text('result')};
}"""
# Records every (status, result) an element goes through from now on, whether the page
# changes its attributes or swaps the element for a new one.
RECORD_JS = """([sel, key]) => {
  window.__seen = window.__seen || {};
  const seen = window.__seen[key] = [];
  const note = () => {
    const e = document.querySelector(sel);
    const now = e ? [e.dataset.status, e.dataset.result] : [null, null];
    const last = seen[seen.length - 1];
    if (!last || last[0] !== now[0] || last[1] !== now[1]) seen.push(now);
  };
  note();
  new MutationObserver(note).observe(document.documentElement, {subtree: true, attributes: true, childList: true});
  return seen.length;
}"""


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("browser") / "driver.log").start()
    yield chromium
    assert chromium.stop() == 0, chromium.log_tail()


farm = sim_fixture("dashboard", scale=SCALE, fleet=FLEET, stop_grace=GRACE)


@pytest.fixture(scope="module")
def lab(farm):
    return Lab(farm, name="dash")


@pytest.fixture(scope="module")
def fleet(farm):
    return devices_by_name(farm.client())


@pytest.fixture(scope="module")
def live_package(lab):
    return lab.package(LIVE)


@pytest.fixture(scope="module")
def blocker_package(lab):
    return lab.package(BLOCKER)


# --- helpers ----------------------------------------------------------------------------


def arn_id(arn: str) -> str:
    """The id part of an ARN: `PROJECT`, `PROJECT/RUN` or `PROJECT/RUN/JOB`."""
    return arn.split(":", 6)[6]


def run_path(arn: str) -> str:
    return f"/ui/runs/{arn_id(arn)}"


def job_path(arn: str) -> str:
    return f"/ui/jobs/{arn_id(arn)}"


def sign_in(page: Page, farm, keys: tuple[str, str] | None = None, *, token: str | None = None) -> dict:
    assert page.goto(farm.endpoint + "/ui/login")["status"] == 200
    if token is not None:
        page.fill("#token", token)
    else:
        akid, secret = keys or farm.creds()
        page.fill("#access_key_id", akid)
        page.fill("#secret_access_key", secret)
    return page.click("#sign-in", navigate=True)


def signed_in(browser: Browser, farm, name: str, *, context: str, keys=None, width: int = 1280,
              javascript: bool = True) -> Page:
    page = browser.page(name, context=context, width=width, javascript=javascript)
    landed = sign_in(page, farm, keys)
    assert (landed["status"], landed["url"]) == (200, farm.endpoint + "/ui/projects"), landed
    return page


def session_cookies(browser: Browser, context: str) -> list[dict]:
    return [c for c in browser.cookies(context) if c["name"] == COOKIE]


def state(page: Page, selector: str) -> dict | None:
    return page.eval(STATE_JS, selector)


def wait_state(page: Page, selector: str, status: str, result: str | None = None, *, timeout: float = 30.0) -> dict:
    """Waits, without touching the page, until `selector` shows `status` (and `result`)."""
    want = {"status": status, **({"result": result} if result else {})}
    page.wait("""([sel, want]) => {
      const e = document.querySelector(sel);
      return !!e && Object.entries(want).every(([k, v]) => e.dataset[k] === v);
    }""", [selector, want], timeout=timeout)
    return state(page, selector)


def shows(shown: dict, status: str, result: str) -> None:
    """The element's attributes and its visible texts agree with the API's status and result."""
    assert (shown["status"], shown["result"]) == (status, result), shown
    for text, value in ((shown["statusText"], status), (shown["resultText"], result)):
        assert text is not None and normal(value) in normal(text), shown


def normal(text: str) -> str:
    return text.upper().replace("_", " ")


def mark(page: Page) -> int:
    """Marks the loaded document and starts counting: a reload would lose the marker."""
    page.eval("() => { window.marker = 1; }")
    return page.navigations()


def assert_not_reloaded(page: Page, navigations: int) -> None:
    assert page.eval("() => window.marker") == 1, "the page was reloaded"
    assert page.navigations() == navigations, "the page navigated"


def record(page: Page, selector: str, key: str) -> None:
    page.eval(RECORD_JS, [selector, key])


def recorded(page: Page, key: str) -> list[tuple[str, str]]:
    return [tuple(x) for x in page.eval("(k) => window.__seen[k]", key)]


def assert_forward(seen: list[tuple[str, str]]) -> None:
    """Statuses only move forward (a live page never shows an older state after a newer one)."""
    order = [STATUS_ORDER.index(status) for status, _ in seen]
    assert order == sorted(order), seen


def counted(text: str) -> dict:
    """Counters as a page writes them ("5 total · 3 passed · …"), read back into the API's shape."""
    return {name: int(n) for n, name in re.findall(r"(\d+)\s+(total|passed|failed|warned|errored|stopped|skipped)",
                                                   text or "")}


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text or "")]


def shows_minutes(text: str, total: float) -> bool:
    return any(abs(n - total) < 0.006 for n in numbers(text))


def occupy(lab: Lab, fleet, name: str, package: str) -> dict:
    """A long run holding device `name`, once its job has the device."""
    run = lab.web_run(lab.pool([fleet[name]["arn"]]), package)
    [job] = lab.jobs(run["arn"])
    wait_job_status(lab.client, job["arn"], "RUNNING", timeout=30)
    return run


def release(lab: Lab, run: dict) -> dict:
    lab.client.stop_run(arn=run["arn"])
    return wait_run_completed(lab.client, run["arn"])


def one_job_run(lab: Lab, fleet, name: str, package: str) -> tuple[dict, dict]:
    run = lab.web_run(lab.pool([fleet[name]["arn"]]), package)
    [job] = lab.jobs(run["arn"])
    return run, job


def post_form(page: Page, path: str, csrf: str | None) -> dict:
    """Submits, from the page in the browser, a form POST to `path` carrying `csrf`."""
    page.eval("""([path, csrf]) => {
      const f = document.createElement('form');
      f.method = 'post'; f.action = path; f.id = 'forged';
      if (csrf !== null) {
        const i = document.createElement('input');
        i.type = 'hidden'; i.name = 'csrf'; i.value = csrf; f.appendChild(i);
      }
      const b = document.createElement('button'); b.type = 'submit'; b.textContent = 'go'; f.appendChild(b);
      document.body.appendChild(f);
    }""", [path, csrf])
    return page.click("form#forged button", navigate=True)


class OtherOrigin:
    """A page on another origin of the same site (127.0.0.1, another port): the browser sends
    the session cookie along (SameSite=Strict allows it) and only Origin tells it apart.
    Also a static page for checking the checks."""

    def __init__(self):
        self.body = b""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def serve(self, page: str) -> None:
        self.body = page.encode()

    def serve_form(self, action: str, csrf: str) -> None:
        self.serve(f'<!doctype html><form id="evil" method="post" action="{html.escape(action)}">'
                   f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
                   f'<button type="submit">win a prize</button></form>')

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def assert_refused(page: Page, answer: dict) -> None:
    assert answer["status"] == 403, answer
    assert "CSRF check failed" in page.eval("() => document.body.innerText"), page.eval("() => document.body.innerText")


# --- the checks themselves ------------------------------------------------------------------


def test_the_live_checks_see_a_reload_and_every_change(browser):
    """On a static page: the recorder sees each change, and a reload fails the no-reload check."""
    site = OtherOrigin()
    try:
        site.serve('<!doctype html><article class="job" data-status="PENDING" data-result="PENDING">'
                   '<span class="status">PENDING</span><span class="result">PENDING</span></article>')
        page = browser.page("static", context="static")
        page.goto(site.url)
        navigations = mark(page)
        record(page, "article.job", "job")
        for status in ("RUNNING", "STOPPING", "COMPLETED"):
            page.eval("(s) => { document.querySelector('article.job').dataset.status = s; }", status)
        # Swapping the element for a new one is seen too.
        page.eval("() => { const a = document.querySelector('article.job'); const b = a.cloneNode(true);"
                  " b.dataset.result = 'STOPPED'; a.replaceWith(b); }")
        assert recorded(page, "job") == [("PENDING", "PENDING"), ("RUNNING", "PENDING"), ("STOPPING", "PENDING"),
                                         ("COMPLETED", "PENDING"), ("COMPLETED", "STOPPED")]
        assert_forward(recorded(page, "job"))
        with pytest.raises(AssertionError):
            assert_forward([("RUNNING", "PENDING"), ("PENDING", "PENDING")])
        assert_not_reloaded(page, navigations)
        page.goto(site.url)
        with pytest.raises(AssertionError, match="reloaded"):
            assert_not_reloaded(page, navigations)
        page.eval("() => { window.marker = 1; }")
        with pytest.raises(AssertionError, match="navigated"):
            assert_not_reloaded(page, navigations)
        page.close()
    finally:
        site.close()


def test_the_node_floor_is_the_pinned_playwright_cores():
    """The Node.js version the tool checks ask for (package.json's engines) is the one the
    locked playwright-core declares: a bump of one without the other fails here."""
    lock = json.loads((BROWSER_DIR / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/playwright-core"]
    assert lock["packages"][""]["dependencies"]["playwright-core"] == pinned["version"], "pin an exact version"
    assert pinned["engines"]["node"] == f">={node_major_required()}", (pinned, node_major_required())
    installed = json.loads((BROWSER_DIR / "node_modules/playwright-core/package.json").read_text())
    assert (installed["version"], installed["engines"]) == (pinned["version"], pinned["engines"]), installed


# --- signing in -------------------------------------------------------------------------


def test_sign_in_with_an_access_key_and_a_wrong_secret(browser, farm):
    page = browser.page("login", context="login")
    landed = page.goto(farm.endpoint + "/ui")
    assert (landed["status"], landed["url"]) == (200, farm.endpoint + "/ui/login"), landed
    assert page.goto(farm.endpoint + "/ui/projects")["url"] == farm.endpoint + "/ui/login"
    assert page.attr("form#login", "method") == "post" and page.attr("form#login", "action") == "/ui/login"
    assert page.attr("#secret_access_key", "type") == "password"
    assert page.attr("form#login input[name=csrf]", "type") == "hidden"
    page.screenshot("01-login")

    akid, secret = farm.creds()
    refused = sign_in(page, farm, (akid, secret[:-1] + ("A" if secret[-1] != "A" else "B")))
    assert refused["status"] == 401, refused
    assert page.text("#error"), "a refused sign-in says why"
    assert session_cookies(browser, "login") == []
    assert page.goto(farm.endpoint + "/ui/projects")["url"] == farm.endpoint + "/ui/login"
    page.screenshot("02-login-refused")

    landed = sign_in(page, farm, (akid, secret))
    assert (landed["status"], landed["url"]) == (200, farm.endpoint + "/ui/projects"), landed
    [cookie] = session_cookies(browser, "login")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/ui"), cookie
    assert page.text("header #account") and farm.account_id in page.text("header #account")
    for link, path in (("#nav-projects", "/ui/projects"), ("#nav-devices", "/ui/devices"),
                       ("#nav-billing", "/ui/billing")):
        assert page.attr(f"header a{link}", "href") == path
    assert page.text("h1") == "Projects"
    assert page.goto(farm.endpoint + "/ui")["url"] == farm.endpoint + "/ui/projects"
    page.screenshot("03-projects")

    # Signing out ends the session: the pages want a sign-in again.
    assert page.exists("header form#logout input[name=csrf]")
    out = page.click("form#logout button", navigate=True)
    assert out["url"] == farm.endpoint + "/ui/login", out
    assert page.goto(farm.endpoint + "/ui/projects")["url"] == farm.endpoint + "/ui/login"
    page.close()


def test_sign_in_with_a_ui_token(browser, farm):
    account = farm.create_account(unique("token-user"))
    [token] = [line.strip() for line in farm.manage("ui-token", "--account", account.id) if line.strip()]
    page = browser.page("token", context="token")
    refused = sign_in(page, farm, token=token[:-2] + ("xx" if not token.endswith("xx") else "yy"))
    assert refused["status"] == 401 and page.text("#error"), refused
    assert session_cookies(browser, "token") == []

    landed = sign_in(page, farm, token=token)
    assert (landed["status"], landed["url"]) == (200, farm.endpoint + "/ui/projects"), landed
    assert account.id in page.text("header #account")
    assert len(session_cookies(browser, "token")) == 1
    page.screenshot("04-projects-token")
    page.close()


# --- a run, live --------------------------------------------------------------------------


def test_watch_a_run_live_and_stop_a_job_in_its_tests(browser, farm, lab, fleet, live_package, blocker_package):
    # The job waits for its device, so the page is open before anything happens.
    blocker = occupy(lab, fleet, LIVE_ONE, blocker_package)
    run, job = one_job_run(lab, fleet, LIVE_ONE, live_package)
    wait_job_status(lab.client, job["arn"], "PENDING_DEVICE", timeout=10)

    page = signed_in(browser, farm, "live-run", context="root")
    project_id = arn_id(lab.arn)
    page.click(f"table#projects tr.project a.project-link[href='/ui/projects/{project_id}']", navigate=True)
    assert page.url() == farm.endpoint + f"/ui/projects/{project_id}"
    row = f"table#runs tr.run[data-run-arn='{run['arn']}']"
    assert page.exists(row), "the project page lists the run"
    for cell in (".status", ".result", ".counters", ".minutes", ".duration"):
        assert page.exists(f"{row} {cell}"), cell
    page.screenshot("05-project-runs")
    page.click(f"{row} a.run-link", navigate=True)
    assert page.url() == farm.endpoint + run_path(run["arn"])

    article = f"#device-grid article.job[data-job-arn='{job['arn']}']"
    assert page.attr("#run", "data-run-arn") == run["arn"]
    assert page.count("#device-grid article.job") == 1
    waiting = state(page, article)
    assert waiting["status"] == "PENDING_DEVICE" and waiting["result"] == "PENDING", waiting
    assert page.text(f"{article} .device-name") == LIVE_ONE
    assert page.exists(f"{article} progress.progress") and page.exists(f"{article} form.stop-job")
    assert page.attr(f"{article} a.job-link", "href") == job_path(job["arn"])
    assert page.exists("form#stop-run")
    page.screenshot("06-run-waiting")
    run_navigations = mark(page)
    record(page, article, "job")
    record(page, "#run", "run")

    release(lab, blocker)
    running = wait_state(page, article, "RUNNING")
    shows(running, "RUNNING", "PENDING")
    assert_not_reloaded(page, run_navigations)
    page.screenshot("07-run-running")

    # Into the job while it is early in its tests; the page follows them, and the stop is
    # pressed as soon as it shows the second one running. Nothing slow (no screenshot) comes
    # between that and the checks that test_two still runs after the stop.
    wait_step_running(lab.client, job["arn"], LIVE, 1, timeout=30)
    job_page = browser.page("live-job", context="root")
    job_page.goto(farm.endpoint + job_path(job["arn"]))
    assert job_page.attr("#job", "data-job-arn") == job["arn"]
    shows(state(job_page, "#job"), "RUNNING", "PENDING")
    tests_suite = "#suites section.suite[data-name='Tests Suite']"
    test_row = tests_suite + " tr.test[data-name='{}']"
    job_navigations = mark(job_page)
    job_page.screenshot("08-job-running")
    job_page.wait("(sel) => { const e = document.querySelector(sel); return e && e.dataset.status === 'RUNNING'; }",
                  test_row.format("test_two"), timeout=30)
    assert lab.client.get_test(arn=step_arn(job["arn"], LIVE, 2))["test"]["status"] == "RUNNING"
    assert job_page.attr(test_row.format("test_one"), "data-result") == "PASSED"
    assert job_page.attr(test_row.format("test_three"), "data-status") == "PENDING"
    assert_not_reloaded(job_page, job_navigations)

    assert job_page.text("form#stop-job button") == "Stop job"
    record(job_page, "#job", "job")
    record(job_page, test_row.format("test_two"), "test_two")
    job_page.click("form#stop-job button")
    wait_state(job_page, "#job", "STOPPING")
    assert lab.client.get_job(arn=job["arn"])["job"]["status"] == "STOPPING", "the button called StopJob"
    assert (job_page.text("#job-status"), job_page.text("#job-result")) == ("STOPPING", "PENDING")
    # The test not yet started is STOPPED at once; the one in progress runs on for the grace.
    job_page.wait("(sel) => document.querySelector(sel).dataset.result === 'STOPPED'", test_row.format("test_three"))
    assert job_page.attr(test_row.format("test_two"), "data-status") == "RUNNING"
    assert lab.client.get_test(arn=step_arn(job["arn"], LIVE, 2))["test"]["status"] == "RUNNING", (
        "the page showed STOPPING while the test in progress still ran")
    job_page.screenshot("09-job-stopping")

    # test_two runs on until stop + grace (4 s), then teardown.
    wait_state(job_page, "#job", "COMPLETED", "STOPPED", timeout=60)
    assert_not_reloaded(job_page, job_navigations)
    assert recorded(job_page, "job") == [("RUNNING", "PENDING"), ("STOPPING", "PENDING"), ("COMPLETED", "STOPPED")]
    assert (job_page.text("#job-status"), job_page.text("#job-result")) == ("COMPLETED", "STOPPED")
    # The test in progress was interrupted, not run to its FAILED end; teardown ran.
    assert recorded(job_page, "test_two")[-1] == ("COMPLETED", "STOPPED")
    assert job_page.attr("#suites section.suite[data-name='Teardown Suite'] tr.test", "data-result") == "PASSED"
    job_page.screenshot("10-job-stopped")

    # The run page, never reloaded, followed the job through every state.
    finished = wait_state(page, article, "COMPLETED", "STOPPED")
    shows(finished, "COMPLETED", "STOPPED")
    wait_state(page, "#run", "COMPLETED", "STOPPED")
    assert_not_reloaded(page, run_navigations)
    seen = recorded(page, "job")
    assert_forward(seen)
    statuses = [s for s, _ in seen]
    assert statuses[0] == "PENDING_DEVICE" and statuses[-1] == "COMPLETED", seen
    assert "RUNNING" in statuses and "STOPPING" in statuses, seen
    assert recorded(page, "run")[-1] == ("COMPLETED", "STOPPED")
    assert not page.exists(f"{article} form.stop-job") and not page.exists("form#stop-run")
    assert not any("pageerror" in line for line in page.console()), page.console()
    page.screenshot("11-run-stopped")

    # The seed's stop semantics, through the API.
    final = wait_job_status(lab.client, job["arn"], "COMPLETED", timeout=30)
    at = stop_offset(final, job_tree(lab.client, job["arn"]), GRACE)
    two_start = PREP_SECONDS + SETUP + T1
    assert two_start < at < two_start + T2 - GRACE, at
    expected = expected_job(LIVE, stop_at=at, grace=GRACE)
    assert expected.results == ["PASSED", "PASSED", "STOPPED", "STOPPED", "PASSED"]
    seconds = SETUP + T1 + billed(at + GRACE - two_start) + TEARDOWN
    assert expected.billed_seconds == seconds
    check_final_job(lab.client, final, LIVE, expected)
    run_final = wait_run_completed(lab.client, run["arn"])
    assert (run_final["result"], run_final["deviceMinutes"]) == ("STOPPED", minutes(seconds))
    assert shows_minutes(job_page.text("#job-minutes"), final["deviceMinutes"]["total"]), job_page.text("#job-minutes")
    # The counters and progress the live page ended on are the API's.
    assert counted(page.text("#run-counters")) == run_final["counters"], page.text("#run-counters")
    assert counted(job_page.text("#job-counters")) == final["counters"], job_page.text("#job-counters")
    bar = page.eval("(s) => { const p = document.querySelector(s); return [p.value, p.max]; }",
                    f"{article} progress.progress")
    assert bar == [5, 5], bar
    page.close()
    job_page.close()


def test_download_artifacts_from_the_job_page(browser, farm, lab, fleet, tmp_path):
    run, job = one_job_run(lab, fleet, ART_DEV, lab.package(SHORT))
    wait_run_completed(lab.client, run["arn"])
    page = signed_in(browser, farm, "artifacts", context="artifacts")
    assert page.goto(farm.endpoint + job_path(job["arn"]))["status"] == 200
    shows(state(page, "#job"), "COMPLETED", "FAILED")
    suite = "#suites section.suite[data-name='Tests Suite']"
    assert page.attr(f"{suite} tr.test[data-name='pays']", "data-result") == "FAILED"
    assert page.text(f"{suite} tr.test[data-name='pays'] .message") == "card declined"
    assert not page.exists("form#stop-job"), "a completed job has no stop button"
    page.screenshot("12-job-artifacts")

    api = [a for kind in ("FILE", "LOG", "SCREENSHOT")
           for a in lab.client.list_artifacts(arn=job["arn"], type=kind)["artifacts"]]
    contents = {a["arn"]: requests.get(a["url"], timeout=10).content for a in api}
    links = page.count("#artifacts a.artifact[download]")
    assert links == len(api) > 0, (links, [a["name"] for a in api])
    downloaded = []
    for i in range(links):
        got = page.download(f"#artifacts a.artifact[download] >> nth={i}", tmp_path / str(i))
        assert got["failure"] is None, got
        data = Path(got["path"]).read_bytes()
        matching = [a for a in api if contents[a["arn"]] == data and got["name"].endswith("." + a["extension"])]
        assert matching, f"{got['name']} ({len(data)} bytes) is none of the API's artifacts"
        downloaded.append((got["name"], matching[0]["type"], data))
    by_type = {kind: (name, data) for name, kind, data in downloaded}
    log_name, log = by_type["DEVICE_LOG"]
    assert b"started: opens" in log and b"finished: pays FAILED: card declined" in log, log[:400]
    junit_name, junit = by_type["RESULT_LOG"]
    assert junit_name.endswith(".xml") and b"<testcase" in junit
    assert len({name for name, _, _ in downloaded}) == len(downloaded), "each file has a name of its own"
    page.close()


# --- accounts -----------------------------------------------------------------------------


def test_a_second_account_cannot_see_the_first_accounts_runs(browser, farm, lab, fleet, blocker_package):
    held = occupy(lab, fleet, SHARED_DEV, blocker_package)
    [held_job] = lab.jobs(held["arn"])
    other = farm.create_account(unique("other"))
    theirs = farm.client(other).create_project(name=unique("theirs"))["project"]
    page = signed_in(browser, farm, "other", context="other", keys=(other.access_key_id, other.secret_access_key))
    try:
        assert other.id in page.text("header #account")
        project_id = arn_id(lab.arn)
        shown = page.eval("() => [...document.querySelectorAll('table#projects tr.project')]"
                          ".map(r => r.querySelector('a.project-link').getAttribute('href'))")
        assert shown == [f"/ui/projects/{arn_id(theirs['arn'])}"], shown
        assert project_id not in page.eval("() => document.documentElement.outerHTML")
        for path in (f"/ui/projects/{project_id}", run_path(held["arn"]), job_path(held_job["arn"])):
            assert page.goto(farm.endpoint + path)["status"] == 404, path
            assert held["arn"] not in page.eval("() => document.documentElement.outerHTML")
        page.screenshot("13-other-account-404")

        # Its own valid token does not let it stop the first account's job either.
        page.goto(farm.endpoint + "/ui/projects")
        token = page.attr("form#logout input[name=csrf]", "value")
        answer = post_form(page, job_path(held_job["arn"]) + "/stop", token)
        assert answer["status"] == 404, answer
        assert lab.client.get_job(arn=held_job["arn"])["job"]["status"] == "RUNNING"

        # The device list says the instance is taken, not by whom.
        page.goto(farm.endpoint + "/ui/devices")
        row = f"table#devices tr.device[data-device-arn='{fleet[SHARED_DEV]['arn']}']"
        assert "another account" in page.text(f"{row} .in-use").lower()
        assert not page.exists(f"{row} .in-use a")
        page.screenshot("14-devices-other-account")

        own = signed_in(browser, farm, "own-devices", context="own-devices")
        own.goto(farm.endpoint + "/ui/devices")
        assert own.count("table#devices tr.device") >= len(FLEET)
        assert own.attr(f"{row} .in-use a", "href") == job_path(held_job["arn"])
        assert own.text(f"{row} .availability")
        own.screenshot("15-devices")
        own.close()
    finally:
        release(lab, held)
    page.close()


def test_billing_shows_only_the_signed_in_accounts_minutes(browser, farm, fleet):
    account = farm.create_account(unique("billed"))
    own = Lab(farm, account, name="billed")
    run, job = one_job_run(own, fleet, ART_DEV, own.package(SHORT))
    done = wait_run_completed(own.client, run["arn"])
    total = done["deviceMinutes"]["total"]
    assert total == SHORT.full_seconds / 60
    page = signed_in(browser, farm, "billing", context="billing",
                     keys=(account.access_key_id, account.secret_access_key))
    page.goto(farm.endpoint + "/ui/billing")
    days = page.eval("() => [...document.querySelectorAll('table#billing-days tbody tr')].map(r => r.textContent)")
    assert len(days) == 1, days
    assert shows_minutes(days[0], total), days
    assert shows_minutes(page.text("#billing-total"), total), page.text("#billing-total")
    page.screenshot("16-billing")
    page.close()


# --- forged requests ----------------------------------------------------------------------


def test_a_forged_stop_is_refused_and_changes_nothing(browser, farm, lab, fleet, blocker_package):
    run = occupy(lab, fleet, CSRF_DEV, blocker_package)
    [job] = lab.jobs(run["arn"])
    job_url = farm.endpoint + job_path(job["arn"])
    stop_path = job_path(job["arn"]) + "/stop"

    def unchanged() -> None:
        now = lab.client.get_job(arn=job["arn"])["job"]
        assert now["status"] == "RUNNING", now
        assert lab.client.get_run(arn=run["arn"])["run"]["status"] == "RUNNING"

    # A browser without script posts the forms themselves: each refusal is a 403 page.
    plain = signed_in(browser, farm, "csrf-plain", context="plain", javascript=False)
    plain.goto(job_url)
    assert plain.attr("form#stop-job", "method") == "post"
    assert plain.attr("form#stop-job", "action") == stop_path
    genuine = plain.attr("form#stop-job input[name=csrf]", "value")
    assert genuine
    plain.eval("() => { document.querySelector('form#stop-job input[name=csrf]').value = 'forged' + '0'.repeat(40); }")
    assert_refused(plain, plain.click("form#stop-job button", navigate=True))
    plain.screenshot("17-csrf-refused")
    unchanged()
    plain.goto(job_url)
    plain.eval("() => document.querySelector('form#stop-job input[name=csrf]').remove()")
    assert_refused(plain, plain.click("form#stop-job button", navigate=True))
    unchanged()
    # Stop-run and sign-out are guarded the same way.
    assert_refused(plain, post_form(plain, run_path(run["arn"]) + "/stop", "forged"))
    unchanged()
    assert_refused(plain, post_form(plain, "/ui/logout", None))
    assert plain.goto(job_url)["url"] == job_url, "still signed in"

    # Another origin's page, even with this session's very token, is refused by Origin.
    other = OtherOrigin()
    try:
        other.serve_form(farm.endpoint + stop_path, genuine)
        evil = browser.page("evil", context="plain")
        evil.goto(other.url)
        assert_refused(evil, evil.click("form#evil button", navigate=True))
        evil.close()
    finally:
        other.close()
    unchanged()

    # The page's script sends the form itself: a refusal shows on the page, which stays.
    page = signed_in(browser, farm, "csrf-script", context="script")
    page.goto(job_url)
    navigations = mark(page)
    page.eval("() => { document.querySelector('form#stop-job input[name=csrf]').value = 'forged'; }")
    page.click("form#stop-job button")
    page.wait("() => document.body.innerText.includes('CSRF check failed')")
    assert_not_reloaded(page, navigations)
    assert page.attr("#job", "data-status") == "RUNNING"
    page.screenshot("18-csrf-refused-script")
    unchanged()
    page.close()

    # The same form untouched does stop the job, answered with a redirect back to its page:
    # the refusals were the checks, not a broken form.
    plain.goto(job_url)
    back = plain.click("form#stop-job button", navigate=True)
    assert (back["status"], back["url"]) == (200, job_url), back
    assert plain.attr("#job", "data-status") in ("STOPPING", "COMPLETED")
    assert lab.client.get_job(arn=job["arn"])["job"]["status"] in ("STOPPING", "COMPLETED")
    assert wait_run_completed(lab.client, run["arn"])["result"] == "STOPPED"
    plain.close()


# --- stop run, phone width, keyboard --------------------------------------------------------


def test_stop_run_with_the_keyboard_on_a_phone(browser, farm, lab, fleet, live_package):
    run, job = one_job_run(lab, fleet, PHONE_DEV, live_package)
    wait_step_running(lab.client, job["arn"], LIVE, 1, timeout=30)
    page = signed_in(browser, farm, "phone", context="phone", width=390)
    url = farm.endpoint + run_path(run["arn"])
    page.goto(url)
    shows(state(page, f"article.job[data-job-arn='{job['arn']}']"), "RUNNING", "PENDING")
    width = page.eval("() => document.scrollingElement.scrollWidth")
    assert width <= 390, f"the run page is {width}px wide on a 390px screen"
    page.screenshot("19-run-phone")
    assert page.text("form#stop-run button") == "Stop run"

    navigations = mark(page)
    for _ in range(80):
        page.press("Tab")
        if page.eval("() => document.activeElement.matches('form#stop-run button')"):
            break
    else:
        raise AssertionError("Tab never reached the Stop run button")
    page.press("Enter")
    page.wait("() => ['STOPPING', 'COMPLETED'].includes(document.querySelector('#run').dataset.status)")
    assert lab.client.get_run(arn=run["arn"])["run"]["status"] in ("STOPPING", "COMPLETED"), "Enter called StopRun"
    # The test in progress runs on: up to the grace's 4 s.
    wait_state(page, "#run", "COMPLETED", "STOPPED", timeout=60)
    assert_not_reloaded(page, navigations)
    assert (page.text("#run-status"), page.text("#run-result")) == ("COMPLETED", "STOPPED")
    assert not page.exists("form#stop-run")
    page.screenshot("20-run-stopped-phone")

    final = wait_run_completed(lab.client, run["arn"])
    assert final["result"] == "STOPPED"
    done = lab.client.get_job(arn=job["arn"])["job"]
    at = stop_offset(done, job_tree(lab.client, job["arn"]), GRACE)
    check_final_job(lab.client, done, LIVE, expected_job(LIVE, stop_at=at, grace=GRACE))
    assert final["deviceMinutes"] == done["deviceMinutes"]
    page.close()


def test_every_page_wants_a_sign_in(browser, farm, lab):
    page = browser.page("anonymous", context="anonymous")
    for path in ("/ui/projects", "/ui/devices", "/ui/billing", f"/ui/projects/{arn_id(lab.arn)}"):
        landed = page.goto(farm.endpoint + path)
        assert landed["url"] == farm.endpoint + "/ui/login", (path, landed)
    assert session_cookies(browser, "anonymous") == []
    page.close()


# --- a real job's output --------------------------------------------------------------------


# Real time and one `host` device: the test spec's commands run as processes here.
host_farm = sim_fixture("dashboard-host", scale=1, fleet=[host_device("dash-host", "Dash Host")])


def test_a_real_jobs_output_follows_live(browser, host_farm, tmp_path):
    lab = Lab(host_farm, name="dash-host")
    go = tmp_path / "go"
    spec = spec_yaml(test=[
        "echo first-line-of-output",
        # The second line waits for the test to say so: it appears while the page is open.
        f"while [ ! -e {go} ]; do sleep 0.05; done",
        "echo second-line-of-output",
    ])
    package = lab.upload("tests.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE", make_zip({"tests/data.txt": "x\n"}))
    spec_upload = lab.upload("spec.yml", "APPIUM_WEB_PYTHON_TEST_SPEC", spec.encode())
    [host] = devices_by_name(lab.client).values()
    run = lab.client.schedule_run(
        projectArn=lab.arn, name=unique("host-run"), devicePoolArn=lab.pool([host["arn"]]),
        test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package["arn"], "testSpecArn": spec_upload["arn"]},
    )["run"]
    [job] = lab.jobs(run["arn"])
    wait_job_status(lab.client, job["arn"], "RUNNING", timeout=60)

    try:
        follow_output(browser, host_farm, lab, job, go)
    finally:
        go.touch()  # never leave the job's process waiting


def follow_output(browser, host_farm, lab, job, go) -> None:
    page = signed_in(browser, host_farm, "output", context="output")
    page.goto(host_farm.endpoint + job_path(job["arn"]))
    navigations = mark(page)
    # A line of its own: the command echoed before it ("$ echo …") holds the same words.
    output = "(s) => document.querySelector('pre#output').textContent.split('\\n').includes(s)"
    page.wait(output, "first-line-of-output", timeout=30)
    assert not page.eval(output, "second-line-of-output")
    assert lab.client.get_job(arn=job["arn"])["job"]["status"] == "RUNNING"
    page.screenshot("21-job-output-live")
    go.touch()
    page.wait(output, "second-line-of-output", timeout=30)
    wait_state(page, "#job", "COMPLETED", "PASSED", timeout=60)
    assert_not_reloaded(page, navigations)
    # What the page followed is the job's test spec output as the API serves it.
    files = {a["type"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
    saved = requests.get(files["TESTSPEC_OUTPUT"]["url"], timeout=10).text
    shown = page.eval("() => document.querySelector('pre#output').textContent")
    for line in ("first-line-of-output", "second-line-of-output"):
        assert line in saved.splitlines() and line in shown.splitlines()
    page.screenshot("22-job-output-done")
    page.close()
