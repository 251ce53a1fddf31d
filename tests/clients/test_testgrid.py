"""Desktop browser testing (TestGrid) with the real Selenium client for Python: projects and
URLs through boto3, sessions on real Chromium and Firefox through farmhand's hub, then the
sessions, their actions, their video (probed with ffprobe) and Selenium log, and their
billing read back through boto3. Also every refusal: an expired or tampered URL, another
account's session, the active-session and creation-rate quotas, an oversized body, a
command after quit, the idle timeout on the service clock and a killed browser."""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError
from selenium import webdriver
from selenium.common.exceptions import SessionNotCreatedException, WebDriverException
from selenium.webdriver.common.by import By

from conftest import new_server
from agents import start_agent
from harness import REPO, Farmhand, new_access_key, running
from invariants import store_rows
from simfarm import host_device, wait_for
from support import error_code, no_nulls, unique

PAGE = b"""<!doctype html><html><head><title>farmhand testgrid</title></head><body>
<h1 id="greeting">Hello</h1>
<input id="name" name="name">
<button id="go" onclick="document.getElementById('greeting').textContent = 'Hello, ' +
  document.getElementById('name').value">Go</button>
</body></html>"""


class Page(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the http.server API)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page_url():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/form.html"
    httpd.shutdown()


def config_file(tmp_path_factory, name: str, text: str) -> str:
    path = tmp_path_factory.mktemp(name) / "farmhand.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    with running(new_server(tmp_path_factory, "testgrid")) as farmhand:
        yield farmhand


@pytest.fixture(scope="module")
def strict_grid(tmp_path_factory):
    """Small quotas, so the limits can be met with two browsers on a 2-core machine."""
    config = config_file(tmp_path_factory, "strict-config", "[testgrid]\nmax_active_sessions = 1\n"
                         "sessions_per_second = 2\nmax_body_bytes = 65536\n")
    with running(new_server(tmp_path_factory, "testgrid-strict", extra_args=["--config", config])) as farmhand:
        yield farmhand


@pytest.fixture(scope="module")
def fast_grid(tmp_path_factory):
    """The service clock 60 times real time: a minute-long URL and a 5-minute idle timeout
    pass in seconds."""
    with running(new_server(tmp_path_factory, "testgrid-fast", extra_args=["--time-scale", "60"])) as farmhand:
        yield farmhand


def new_project(client, name: str = "browsers") -> str:
    return client.create_test_grid_project(name=unique(name))["testGridProject"]["arn"]


def hub_url(client, project: str, seconds: int = 300) -> str:
    return client.create_test_grid_url(projectArn=project, expiresInSeconds=seconds)["url"]


def options(browser: str):
    return webdriver.ChromeOptions() if browser == "chrome" else webdriver.FirefoxOptions()


@contextmanager
def remote(url: str, browser: str = "chrome"):
    driver = webdriver.Remote(command_executor=url, options=options(browser))
    try:
        yield driver
    finally:
        try:
            driver.quit()
        except WebDriverException as e:
            print("quit:", e)
            raise


def session_of(client, project: str, session_id: str) -> dict:
    return client.get_test_grid_session(projectArn=project, sessionId=session_id)["testGridSession"]


def wait_for_status(client, project: str, session_id: str, status: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        session = session_of(client, project, session_id)
        if session["status"] == status or time.monotonic() > deadline:
            assert session["status"] == status, session
            return session
        time.sleep(0.2)


def pages_of(call, key: str, **kwargs) -> list[list[dict]]:
    """Every page of a TestGrid list (botocore has no paginators for them): maxResult and
    nextToken as a client loops over them."""
    pages, token = [], None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        pages.append(page[key])
        token = page.get("nextToken")
        if not token:
            return pages


def all_actions(client, session_arn: str) -> list[dict]:
    pages = pages_of(client.list_test_grid_session_actions, "actions", sessionArn=session_arn, maxResult=3)
    assert all(len(p) == 3 for p in pages[:-1]), pages
    return [a for page in pages for a in page]


def probe(path: str) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                          "stream=codec_name,width,height,nb_read_frames:format=duration", "-of", "json", path],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("browser", ["chrome", "firefox"])
def test_a_selenium_suite_runs_unchanged_and_boto3_reads_its_session(grid, page_url, browser, tmp_path):
    account = grid.create_account(unique(f"tg-{browser}"))
    client = grid.client(account)
    project = new_project(client)
    url = hub_url(client, project)
    assert url.startswith(f"{grid.endpoint}/testgrid/") and url.endswith("/wd/hub")
    started = time.time()
    with remote(url, browser) as driver:
        session_id = driver.session_id
        assert driver.capabilities["browserName"] == browser
        live = session_of(client, project, session_id)
        assert live["status"] == "ACTIVE" and "ended" not in live
        driver.get(page_url)
        assert driver.title == "farmhand testgrid"
        driver.find_element(By.ID, "name").send_keys("Ada")
        driver.find_element(By.ID, "go").click()
        assert driver.find_element(By.ID, "greeting").text == "Hello, Ada"
        assert driver.execute_script("return 6 * 7") == 42
        png = driver.get_screenshot_as_png()
        assert png.startswith(b"\x89PNG") and len(png) > 1000
        time.sleep(1.5)  # a video of more than a frame or two
    ended = session_of(client, project, session_id)
    no_nulls(ended)
    account_id = project.split(":")[4]
    project_id = project.split(":")[6]
    assert ended["arn"] == f"arn:aws:devicefarm:us-west-2:{account_id}:testgrid-session:{project_id}/{session_id}"
    assert ended["status"] == "CLOSED"
    assert started - 1 <= ended["created"].timestamp() <= ended["ended"].timestamp() <= time.time() + 1
    seconds = ended["ended"].timestamp() - ended["created"].timestamp()
    assert ended["billingMinutes"] == pytest.approx(-(-seconds // 1) / 60, abs=1 / 60)
    properties = json.loads(ended["seleniumProperties"])
    assert properties["browser"] == browser and properties["platform"] == "linux"
    assert properties["browserVersion"] == driver.capabilities["browserVersion"]
    assert properties["capabilities"]["alwaysMatch"]["browserName"] == browser
    assert client.get_test_grid_session(sessionArn=ended["arn"])["testGridSession"] == ended

    actions = all_actions(client, ended["arn"])
    names = [a["action"] for a in actions]
    assert names == ["newSession", "navigateTo", "getTitle", "findElement", "elementSendKeys", "findElement",
                     "elementClick", "findElement", "getElementText", "executeScript", "takeScreenshot",
                     "deleteSession"], names
    assert [a["requestMethod"] for a in actions][:3] == ["POST", "POST", "GET"]
    assert all(a["statusCode"] == "200" and a["duration"] >= 0 for a in actions), actions
    assert [a["started"] for a in actions] == sorted(a["started"] for a in actions)

    artifacts = client.list_test_grid_session_artifacts(sessionArn=ended["arn"])["artifacts"]
    assert sorted((a["type"], a["filename"]) for a in artifacts) == [("SELENIUM_LOG", "selenium.log"),
                                                                    ("VIDEO", "video.mp4")]
    videos = client.list_test_grid_session_artifacts(sessionArn=ended["arn"], type="VIDEO")["artifacts"]
    logs = client.list_test_grid_session_artifacts(sessionArn=ended["arn"], type="LOG")["artifacts"]
    assert [a["type"] for a in videos] == ["VIDEO"] and [a["type"] for a in logs] == ["SELENIUM_LOG"]
    video = requests.get(videos[0]["url"], timeout=30)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    (tmp_path / "video.mp4").write_bytes(video.content)
    info = probe(str(tmp_path / "video.mp4"))
    stream = info["streams"][0]
    assert stream["codec_name"] == "h264" and (stream["width"], stream["height"]) == (1366, 768)
    assert int(stream["nb_read_frames"]) >= 8, info
    assert 1.0 <= float(info["format"]["duration"]) <= seconds + 2, info
    log = requests.get(logs[0]["url"], timeout=30)
    assert log.status_code == 200 and len(log.text) > 100, log.text[:200]
    tampered = logs[0]["url"].replace("selenium.log", "video.mp4").replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert requests.get(tampered, timeout=30).status_code in (400, 403)

    # /metrics: the start, the commands through the hub, and no session left running.
    metrics = requests.get(f"{grid.endpoint}/metrics", timeout=30).text

    def sample(key: str) -> float:
        return next(float(line.split(" ")[1]) for line in metrics.splitlines() if line.startswith(key + " "))

    labels = f'{{browser="{browser}"}}'
    assert sample(f'farmhand_testgrid_session_starts_total{{browser="{browser}",outcome="started"}}') >= 1
    assert sample(f"farmhand_testgrid_command_duration_seconds_count{labels}") >= len(actions) - 1
    assert sample(f"farmhand_testgrid_active_sessions{labels}") == 0

    # The ledger bills the session's browser time apart from device minutes.
    report = json.loads("\n".join(grid.manage("billing", "report", "--account", account_id, "--output", "json")))
    assert [(e["jobArn"], e["billingMethod"], e["seconds"]) for e in report["entries"]] == [
        (ended["arn"], "BROWSER", round(ended["billingMinutes"] * 60))], report
    assert report["totals"]["browser"]["jobs"] == 1 and report["totals"]["total"]["jobs"] == 0, report


def test_projects_round_trip_every_member_and_refuse_bad_input(grid):
    account = grid.create_account(unique("tg-projects"))
    client = grid.client(account)
    vpc = {"securityGroupIds": ["sg-0123abcd"], "subnetIds": ["subnet-89abcdef"], "vpcId": "vpc-0a1b2c3d"}
    created = client.create_test_grid_project(name="web", description="the shop", vpcConfig=vpc)["testGridProject"]
    no_nulls(created)
    account_id = created["arn"].split(":")[4]
    assert created["arn"].startswith(f"arn:aws:devicefarm:us-west-2:{account_id}:testgrid-project:")
    assert {k: created[k] for k in ("name", "description", "vpcConfig")} == {"name": "web", "description": "the shop",
                                                                            "vpcConfig": vpc}
    assert client.get_test_grid_project(projectArn=created["arn"])["testGridProject"] == created
    updated = client.update_test_grid_project(projectArn=created["arn"], name="web2")["testGridProject"]
    assert updated == {**created, "name": "web2"}
    others = [client.create_test_grid_project(name=f"p{i}")["testGridProject"]["arn"] for i in range(3)]
    pages = pages_of(client.list_test_grid_projects, "testGridProjects", maxResult=2)
    assert [len(p) for p in pages] == [2, 2]
    assert [p["arn"] for page in pages for p in page] == [created["arn"], *others]

    for bad in ({"securityGroupIds": ["sg-12"]}, {"subnetIds": ["net-89abcdef"]}, {"vpcId": "vpc_0a1b2c3d"}):
        with pytest.raises(ClientError) as e:
            client.create_test_grid_project(name="bad", vpcConfig={**vpc, **bad})
        assert error_code(e.value) == "ArgumentException", bad
    for seconds in (59, 86401):  # botocore checks the range itself: sent raw, the server must too
        raw = grid.call("CreateTestGridUrl", {"projectArn": created["arn"], "expiresInSeconds": seconds},
                        keys=grid.creds(account))
        assert raw.status_code == 400 and raw.json()["__type"] == "ArgumentException", raw.text

    client.delete_test_grid_project(projectArn=created["arn"])
    for call in (lambda: client.get_test_grid_project(projectArn=created["arn"]),
                 lambda: client.create_test_grid_url(projectArn=created["arn"], expiresInSeconds=60),
                 lambda: client.list_test_grid_sessions(projectArn=created["arn"])):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e.value) == "NotFoundException"


def test_an_active_session_blocks_deleting_its_project_and_lists_filter_by_status_and_time(grid):
    client = grid.client(grid.create_account(unique("tg-lists")))
    project = new_project(client)
    url = hub_url(client, project)
    with remote(url) as first:
        closed_id = first.session_id
    # boto3 sends timestamps in whole seconds: the boundary is one, passed before the second starts.
    before_second = math.ceil(time.time())
    time.sleep(before_second - time.time() + 0.05)
    with remote(url) as second:
        with pytest.raises(ClientError) as e:
            client.delete_test_grid_project(projectArn=project)
        assert error_code(e.value) == "CannotDeleteException"
        by_status = {s: [x["arn"].rsplit("/", 1)[1] for x in
                         client.list_test_grid_sessions(projectArn=project, status=s)["testGridSessions"]]
                     for s in ("ACTIVE", "CLOSED", "ERRORED")}
        assert by_status == {"ACTIVE": [second.session_id], "CLOSED": [closed_id], "ERRORED": []}
        later = client.list_test_grid_sessions(projectArn=project, creationTimeAfter=before_second)
        assert [s["arn"].rsplit("/", 1)[1] for s in later["testGridSessions"]] == [second.session_id]
        ended_early = client.list_test_grid_sessions(projectArn=project, endTimeBefore=before_second)
        assert [s["arn"].rsplit("/", 1)[1] for s in ended_early["testGridSessions"]] == [closed_id]
        page = client.list_test_grid_sessions(projectArn=project, maxResult=1)
        assert len(page["testGridSessions"]) == 1 and page["nextToken"]
    client.delete_test_grid_project(projectArn=project)


def webdriver_error(response: requests.Response, status: int, error: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()["value"]
    assert body["error"] == error, body
    return body["message"]


def test_a_tampered_url_and_another_accounts_session_are_refused(grid):
    owner = grid.client(grid.create_account(unique("tg-owner")))
    intruder = grid.client(grid.create_account(unique("tg-intruder")))
    project = new_project(owner)
    url = hub_url(owner, project)
    token = url.split("/testgrid/")[1].split("/")[0]
    tampered = url.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    message = webdriver_error(requests.post(f"{tampered}/session", json={"capabilities": {}}, timeout=30),
                              403, "unknown error")
    assert "not one this farm issued" in message
    # AWS's 30 MB limit on a request body, before anything else is looked at.
    oversized = requests.post(f"{url}/session", data=b"x" * (30 * 1024 * 1024 + 1), timeout=60)
    assert "larger than 30 MB" in webdriver_error(oversized, 413, "invalid argument")
    intruder_project = new_project(intruder)
    intruder_url = hub_url(intruder, intruder_project)
    with remote(url) as driver:
        # The intruder's own, valid URL does not reach the owner's session.
        response = requests.get(f"{intruder_url}/session/{driver.session_id}/title", timeout=30)
        webdriver_error(response, 404, "invalid session id")
        for call in (lambda: intruder.get_test_grid_session(projectArn=project, sessionId=driver.session_id),
                     lambda: intruder.list_test_grid_sessions(projectArn=project)):
            with pytest.raises(ClientError) as e:
                call()
            assert error_code(e.value) == "NotFoundException"
        assert driver.title == ""


def test_a_command_after_quit_is_an_invalid_session(grid):
    client = grid.client(grid.create_account(unique("tg-quit")))
    project = new_project(client)
    url = hub_url(client, project)
    driver = webdriver.Remote(command_executor=url, options=options("chrome"))
    session_id = driver.session_id
    driver.quit()
    message = webdriver_error(requests.get(f"{url}/session/{session_id}/title", timeout=30), 404,
                              "invalid session id")
    assert "CLOSED" in message and "closed by the client" in message
    webdriver_error(requests.get(f"{url}/session/no-such-session/title", timeout=30), 404, "invalid session id")


def test_an_unoffered_browser_is_refused_naming_what_the_farm_offers(grid):
    client = grid.client(grid.create_account(unique("tg-edge")))
    url = hub_url(client, new_project(client))
    edge = webdriver.EdgeOptions()
    with pytest.raises(SessionNotCreatedException) as e:
        webdriver.Remote(command_executor=url, options=edge)
    assert "chrome" in str(e.value) and "firefox" in str(e.value)
    message = webdriver_error(requests.post(f"{url}/session", data=b"not json", timeout=30), 400, "invalid argument")
    assert "not JSON" in message


def test_a_killed_browser_errors_its_session(grid):
    client = grid.client(grid.create_account(unique("tg-killed")))
    project = new_project(client)
    url = hub_url(client, project)
    driver = webdriver.Remote(command_executor=url, options=options("chrome"))
    pid = driver.capabilities["goog:processID"]
    os.kill(pid, signal.SIGKILL)
    errored = wait_for_status(client, project, driver.session_id, "ERRORED")
    assert "ended" in errored
    with pytest.raises(WebDriverException):
        driver.title  # noqa: B018 (the command is the test)


def test_quotas_active_sessions_creation_rate_and_body_size(strict_grid):
    client = strict_grid.client(strict_grid.create_account(unique("tg-quota")))
    project = new_project(client)
    url = hub_url(client, project)
    with remote(url) as driver:
        with pytest.raises(SessionNotCreatedException) as e:
            webdriver.Remote(command_executor=url, options=options("chrome"))
        assert "active sessions" in str(e.value)
        big = "x" * 70_000
        message = webdriver_error(
            requests.post(f"{url}/session/{driver.session_id}/execute/sync",
                          json={"script": f"return '{big}'.length", "args": []}, timeout=30),
            413, "invalid argument")
        assert "larger than" in message
        assert driver.execute_script("return 'small'.length") == 5
    time.sleep(1.1)
    refused = [requests.post(f"{url}/session", json={"capabilities": {"alwaysMatch": {"browserName": "opera"}}},
                             timeout=30) for _ in range(3)]
    assert [r.status_code for r in refused] == [500, 500, 429], [r.text for r in refused]
    assert "sessions a second" in refused[2].json()["value"]["message"]
    # CreateTestGridUrl: 10 a second per account, then AWS's throttling error.
    codes = []
    for _ in range(15):
        try:
            client.create_test_grid_url(projectArn=project, expiresInSeconds=60)
            codes.append("ok")
        except ClientError as e:
            codes.append(error_code(e))
    assert "ThrottlingException" in codes and codes[:10] == ["ok"] * 10, codes


def test_an_expired_url_works_for_nothing_and_an_idle_session_closes(fast_grid):
    client = fast_grid.client(fast_grid.create_account(unique("tg-clock")))
    project = new_project(client)
    # 60 s of the service clock is one real second at --time-scale 60.
    short = client.create_test_grid_url(projectArn=project, expiresInSeconds=60)
    long_url = hub_url(client, project, seconds=3600)
    driver = webdriver.Remote(command_executor=short["url"], options=options("chrome"))
    time.sleep(1.5)
    message = webdriver_error(requests.get(f"{short['url']}/session/{driver.session_id}/title", timeout=30),
                              403, "unknown error")
    assert "expired" in message
    webdriver_error(requests.post(f"{short['url']}/session", json={"capabilities": {}}, timeout=30),
                    403, "unknown error")
    # The session itself lives on (a URL that has not expired reaches it) until 5 idle
    # minutes of the service clock, five real seconds, close it.
    assert requests.get(f"{long_url}/session/{driver.session_id}/title", timeout=30).status_code == 200
    closed = wait_for_status(client, project, driver.session_id, "CLOSED", timeout=30)
    idle = closed["ended"].timestamp() - closed["created"].timestamp()
    assert idle >= 5 * 60, closed
    message = webdriver_error(requests.get(f"{long_url}/session/{driver.session_id}/title", timeout=30),
                              404, "invalid session id")
    assert "idle" in message


def test_selenium_webdriver_and_the_javascript_sdk_see_what_boto3_sees(grid, page_url, tmp_path):
    """The second client family: selenium-webdriver from npm through the hub, the AWS SDK for
    JavaScript v3 for the operations (tests/js/testgrid.test.mjs), compared with boto3."""
    node = shutil.which("node")
    js_dir = REPO / "tests/js"
    if not node or not (js_dir / "node_modules/selenium-webdriver").exists():
        pytest.fail(f"needs node and `npm ci` in {js_dir} (scripts/test does both)")
    account = grid.create_account(unique("tg-js"))
    keys = grid.creds(account)
    out = tmp_path / "seen.json"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_ENDPOINT_URL_DEVICE_FARM": grid.endpoint,
           "AWS_REGION": "us-west-2", "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1],
           "FARMHAND_PAGE_URL": page_url, "FARMHAND_JS_OUT": str(out)}
    done = subprocess.run([node, "--test", "--test-reporter=spec", str(js_dir / "testgrid.test.mjs")],
                          cwd=js_dir, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"node --test failed\n{done.stdout}\n{done.stderr}\n{grid.log_tail()}"
    seen = json.loads(out.read_text())
    client = grid.client(keys=keys)
    project = client.get_test_grid_project(projectArn=seen["project"]["arn"])["testGridProject"]
    assert seen["project"] == {**project, "created": project["created"].timestamp()}
    for browser in ("chrome", "firefox"):
        js_session = seen["sessions"][browser]
        session = client.get_test_grid_session(sessionArn=js_session["arn"])["testGridSession"]
        assert js_session == {**session, "created": session["created"].timestamp(),
                              "ended": session["ended"].timestamp()}, browser
        actions = all_actions(client, session["arn"])
        assert seen["actions"][browser] == [{**a, "started": a["started"].timestamp()} for a in actions], browser
        assert [a["action"] for a in actions] == ["newSession", "navigateTo", "getTitle", "findElement",
                                                  "elementSendKeys", "findElement", "elementClick", "findElement",
                                                  "getElementText", "executeScript", "takeScreenshot",
                                                  "deleteSession"], browser
        assert sorted(seen["artifacts"][browser], key=lambda a: a["type"]) == [
            {"type": "SELENIUM_LOG", "filename": "selenium.log"}, {"type": "VIDEO", "filename": "video.mp4"}]


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_any_replica_answers_for_any_session(tmp_path, pg_database):
    """Two replicas on one PostgreSQL database behind one URL: the session runs on the
    replica that created it, and commands (the quit included) sent to the other reach it."""
    key = new_access_key()
    replicas = [Farmhand(tmp_path / f"replica-{name}", database_url=pg_database.url, root_key=key,
                         extra_args=["--blob-store", str(tmp_path / "blobs")]) for name in ("a", "b")]
    for replica in replicas:
        replica.start()
    a, b = replicas
    try:
        client = a.client()
        project = new_project(client)
        url_a = hub_url(client, project)
        url_b = url_a.replace(a.endpoint, b.endpoint)
        driver = webdriver.Remote(command_executor=url_a, options=options("chrome"))
        session_id = driver.session_id
        driver.get("data:text/html,<title>replicated</title>")
        through_b = requests.get(f"{url_b}/session/{session_id}/title", timeout=30)
        assert through_b.status_code == 200 and through_b.json()["value"] == "replicated", through_b.text
        assert requests.delete(f"{url_b}/session/{session_id}", timeout=60).status_code == 200
        ended = wait_for_status(b.client(), project, session_id, "CLOSED")
        assert json.loads(ended["seleniumProperties"])["browser"] == "chrome"
        actions = [x["action"] for x in all_actions(b.client(), ended["arn"])]
        assert actions == ["newSession", "navigateTo", "getTitle", "deleteSession"], actions
        webdriver_error(requests.get(f"{url_b}/session/{session_id}/title", timeout=30), 404, "invalid session id")

        # A replica that dies takes its sessions with it: the other one says so, and they
        # end ERRORED rather than billing on.
        orphan = webdriver.Remote(command_executor=url_a, options=options("chrome")).session_id
        browsers = descendants(a.proc.pid)
        a.kill()
        for pid in browsers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        message = webdriver_error(requests.get(f"{url_b}/session/{orphan}/title", timeout=30), 404,
                                  "invalid session id")
        assert "unreachable" in message, message
        lost = session_of(b.client(), project, orphan)
        assert lost["status"] == "ERRORED" and "ended" in lost, lost
    finally:
        for replica in replicas:
            if replica.alive():
                assert replica.stop() == 0, replica.log_tail()


def test_the_dashboard_shows_projects_sessions_commands_and_the_video(grid, page_url):
    account = grid.create_account(unique("tg-ui"))
    keys = grid.creds(account)
    client = grid.client(keys=keys)
    name = unique("dashboard grid")
    project = client.create_test_grid_project(name=name, description="seen in the dashboard")["testGridProject"]["arn"]
    with remote(hub_url(client, project)) as driver:
        session_id = driver.session_id
        driver.get(page_url)
        driver.find_element(By.ID, "go").click()
    ui = grid.ui_session(keys)
    listing = ui.get(f"{grid.endpoint}/ui/testgrid", timeout=30)
    assert listing.status_code == 200 and name in listing.text and 'id="nav-testgrid"' in listing.text
    project_id = project.split(":")[6]
    sessions = ui.get(f"{grid.endpoint}/ui/testgrid/{project_id}", timeout=30)
    assert sessions.status_code == 200 and session_id in sessions.text, sessions.text
    assert 'data-status="CLOSED"' in sessions.text and "chrome " in sessions.text
    page = ui.get(f"{grid.endpoint}/ui/testgrid/{project_id}/{session_id}", timeout=30)
    assert page.status_code == 200, page.text
    assert page.text.count('class="testgrid-action"') == 5, page.text  # new, navigate, find, click, quit
    video = re.search(r'<video[^>]*id="session-video"[^>]*src="([^"]+)"', page.text)
    assert video, page.text
    got = ui.get(html.unescape(video.group(1)), timeout=30)
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4" and len(got.content) > 1000
    assert "selenium.log" in page.text
    # Another account's dashboard does not see it.
    other = grid.ui_session(grid.creds(grid.create_account(unique("tg-ui-other"))))
    assert other.get(f"{grid.endpoint}/ui/testgrid/{project_id}/{session_id}", timeout=30).status_code == 404
    assert name not in other.get(f"{grid.endpoint}/ui/testgrid", timeout=30).text


def test_sessions_run_on_a_device_hosts_browsers_and_end_with_it(tmp_path_factory, tmp_path):
    """A server that runs no browser itself, and an agent whose machine has Chromium: the
    session runs there, its commands and its end travel over the agent's connection, its
    video and log are uploaded by the agent; the agent going away errors its session."""
    config = config_file(tmp_path_factory, "hosted-config", "[testgrid]\nlocal_browsers = false\n")
    with running(new_server(tmp_path_factory, "testgrid-hosted", extra_args=["--config", config])) as farm:
        client = farm.client()
        project = new_project(client)
        url = hub_url(client, project)
        status = requests.get(f"{url}/status", timeout=30).json()["value"]
        assert status["ready"] is False and status["browsers"] == [], status
        agent = start_agent(farm, "browser-host", [host_device("tg-bench", "TestGrid Bench")], tmp_path)
        try:
            agent.wait_log("connected to the server")
            offered = wait_for(lambda: requests.get(f"{url}/status", timeout=30).json()["value"],
                               lambda v: v["ready"], timeout=15, what="the host's browsers")
            assert {b["host"] for b in offered["browsers"]} == {"browser-host"}, offered
            with remote(url) as driver:
                assert list((agent.work_dir / "testgrid").glob("testgrid-*")), "the session runs on the host"
                driver.get("data:text/html,<title>hosted</title>")
                assert driver.title == "hosted"
                session_id = driver.session_id
            closed = session_of(client, project, session_id)
            assert closed["status"] == "CLOSED", closed
            artifacts = client.list_test_grid_session_artifacts(sessionArn=closed["arn"])["artifacts"]
            assert sorted(a["filename"] for a in artifacts) == ["selenium.log", "video.mp4"], artifacts
            video = requests.get(next(a["url"] for a in artifacts if a["type"] == "VIDEO"), timeout=30)
            assert video.status_code == 200 and len(video.content) > 1000
            names = [a["action"] for a in all_actions(client, closed["arn"])]
            assert names == ["newSession", "navigateTo", "getTitle", "deleteSession"], names

            driver = webdriver.Remote(command_executor=url, options=options("chrome"))
            agent.stop()
            lost = wait_for_status(client, project, driver.session_id, "ERRORED")
            assert "ended" in lost
        finally:
            agent.stop()


def test_the_51st_active_session_of_an_account_is_refused(grid):
    """AWS's default quota of 50 active sessions, counted from the store: 50 active session
    records (written beside the server, as other replicas' sessions would be) and the next
    new session is refused; 49 and it starts."""
    client = grid.client(grid.create_account(unique("tg-fifty")))
    project = new_project(client)
    url = hub_url(client, project)
    with remote(url) as driver:
        model = client.get_test_grid_session(projectArn=project, sessionId=driver.session_id)["testGridSession"]["arn"]
    database = grid.data_dir / "farmhand.db"
    with closing(sqlite3.connect(database, timeout=30)) as db:
        account, kind, parent, created, body = db.execute(
            "SELECT account_id, kind, parent_arn, created_ms, body FROM resources WHERE arn = ?", (model,)).fetchone()
        db.executemany("INSERT INTO resources VALUES (?, ?, ?, ?, ?, 'ACTIVE', ?, 0, ?)",
                       [(f"{model}{i:02}", account, kind, parent, f"elsewhere-{i}", created, body) for i in range(50)])
        db.commit()
    try:
        with pytest.raises(SessionNotCreatedException) as e:
            webdriver.Remote(command_executor=url, options=options("chrome"))
        assert "already has 50 active sessions" in str(e.value)
        with closing(sqlite3.connect(database, timeout=30)) as db:
            db.execute("DELETE FROM resources WHERE arn = ?", (f"{model}00",))
            db.commit()
        with remote(url) as driver:
            assert driver.session_id
    finally:
        with closing(sqlite3.connect(database, timeout=30)) as db:
            db.execute("DELETE FROM resources WHERE arn LIKE ?", (f"{model}__",))
            db.commit()


def test_hundreds_of_commands_cost_a_write_a_second_not_one_each(grid):
    client = grid.client(grid.create_account(unique("tg-batches")))
    project = new_project(client)
    url = hub_url(client, project)
    http = requests.Session()
    with remote(url) as driver:
        driver.get("data:text/html,<title>batched</title>")
        started = time.monotonic()
        for _ in range(300):
            assert http.get(f"{url}/session/{driver.session_id}/title", timeout=30).json()["value"] == "batched"
        took = time.monotonic() - started
        session_id = driver.session_id
    arn = session_of(client, project, session_id)["arn"]
    assert len(all_actions(client, arn)) == 303  # newSession, navigateTo, 300 titles, deleteSession
    batches = int(store_rows(grid, "SELECT count(*) FROM resources WHERE kind = 'testgrid-actions' "
                                   f"AND parent_arn = '{arn}'")[0][0])
    assert 1 <= batches <= math.ceil(took) + 3, (batches, took)
