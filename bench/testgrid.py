"""What desktop browser testing (TestGrid) costs through farmhand's hub, each figure beside a
baseline measured in the same run on the same machine (only the ratios mean much):

1. Session creation: `POST /session` through the hub (Xvfb, driver, Chromium, recording,
   the record stored) against chromedriver started directly and asked for a session with
   the same capabilities (its process start included). Each session is quit before the
   next; the rows take turns. Goal: at most 1.2x (AWS documents 60 to 120 s).
2. Per-command latency: `GET /session/{id}/title` through the hub against the same command
   sent straight to a chromedriver of a session started directly, both on one keep-alive
   connection, taking turns. Goal: p50 overhead under 1 ms.
3. Capacity: k concurrent Chromium sessions through the hub, each with a client sending
   commands in a loop (title, then a small script); command p99 at each k against k = 1.
   The first k whose p99 is at least twice k = 1's is where this machine stops keeping up.

Run from the repository root after `cargo build --release -p farmhand`
(./scripts/bench --only testgrid does both):

    .venv/bin/python bench/testgrid.py
    .venv/bin/python bench/testgrid.py --sessions 3 --commands 200 --max-k 4   # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests/clients"))
os.environ.setdefault("FARMHAND_BIN", str(REPO / "target/release/farmhand"))

import requests  # noqa: E402

from harness import Farmhand, new_access_key  # noqa: E402

CAPS = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
    "args": ["--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,768"]}}, "firstMatch": [{}]}}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DirectChrome:
    """chromedriver started here, on a display of its own, with a session: the baseline."""

    def __init__(self, display: str):
        self.port = free_port()
        self.proc = subprocess.Popen(["chromedriver", f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env={**os.environ, "DISPLAY": display},
                                     start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.http.get(f"{self.base}/status", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.01)
        answer = self.http.post(f"{self.base}/session", json=CAPS, timeout=120)
        answer.raise_for_status()
        self.session = answer.json()["value"]["sessionId"]

    def quit(self) -> None:
        try:
            self.http.delete(f"{self.base}/session/{self.session}", timeout=60)
        finally:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()


class Hub:
    def __init__(self, farm: Farmhand):
        client = farm.client()
        project = client.create_test_grid_project(name="bench")["testGridProject"]["arn"]
        self.url = client.create_test_grid_url(projectArn=project, expiresInSeconds=86400)["url"]

    def start(self) -> tuple[requests.Session, str]:
        http = requests.Session()
        answer = http.post(f"{self.url}/session", json={"capabilities": {"alwaysMatch": {"browserName": "chrome"}}},
                           timeout=120)
        answer.raise_for_status()
        return http, answer.json()["value"]["sessionId"]

    def quit(self, http: requests.Session, session: str) -> None:
        http.delete(f"{self.url}/session/{session}", timeout=60).raise_for_status()


def creation(hub: Hub, display: str, rounds: int) -> list[str]:
    through, direct = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        http, session = hub.start()
        through.append(time.perf_counter() - t)
        hub.quit(http, session)
        t = time.perf_counter()
        chrome = DirectChrome(display)
        direct.append(time.perf_counter() - t)
        chrome.quit()
    hub_p50, direct_p50 = percentile(through, 50), percentile(direct, 50)
    verdict = "PASS" if hub_p50 <= 1.2 * direct_p50 else "MISS"
    return [
        f"1. session creation, {rounds} each (p50 / max):",
        f"   through farmhand's hub      {ms(hub_p50)} / {ms(max(through))}",
        f"   chromedriver started here   {ms(direct_p50)} / {ms(max(direct))}",
        f"   ratio {hub_p50 / direct_p50:.2f}x (goal <= 1.2x): {verdict}",
    ]


def command_latency(hub: Hub, display: str, commands: int) -> list[str]:
    http, session = hub.start()
    chrome = DirectChrome(display)
    through, direct = [], []
    try:
        for url in (f"{hub.url}/session/{session}/url", f"{chrome.base}/session/{chrome.session}/url"):
            requests.post(url, json={"url": "data:text/html,<title>bench</title>"}, timeout=60).raise_for_status()
        for _ in range(commands):
            t = time.perf_counter()
            http.get(f"{hub.url}/session/{session}/title", timeout=60).raise_for_status()
            through.append(time.perf_counter() - t)
            t = time.perf_counter()
            chrome.http.get(f"{chrome.base}/session/{chrome.session}/title", timeout=60).raise_for_status()
            direct.append(time.perf_counter() - t)
    finally:
        hub.quit(http, session)
        chrome.quit()
    overhead = percentile(through, 50) - percentile(direct, 50)
    verdict = "PASS" if overhead < 0.001 else "MISS"
    return [
        f"2. GET title, {commands} each, alternating (p50 / p99):",
        f"   through farmhand's hub      {ms(percentile(through, 50))} / {ms(percentile(through, 99))}",
        f"   straight to chromedriver    {ms(percentile(direct, 50))} / {ms(percentile(direct, 99))}",
        f"   p50 overhead {ms(overhead)} (goal < 1 ms): {verdict}",
    ]


def load_at(hub: Hub, k: int, seconds: float) -> list[float]:
    sessions = [hub.start() for _ in range(k)]
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(http: requests.Session, session: str) -> None:
        base = f"{hub.url}/session/{session}"
        http.post(f"{base}/url", json={"url": "data:text/html,<title>load</title><p>x</p>"}, timeout=60)
        mine = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            http.get(f"{base}/title", timeout=60).raise_for_status()
            http.post(f"{base}/execute/sync", json={"script": "return document.title.length", "args": []},
                      timeout=60).raise_for_status()
            mine.append((time.perf_counter() - t) / 2)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=s) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for http, session in sessions:
        hub.quit(http, session)
    return latencies


def capacity(hub: Hub, max_k: int, seconds: float) -> list[str]:
    lines = [f"3. concurrent Chromium sessions through the hub, {seconds:.0f} s of commands at each k:",
             "   k  commands  p50        p99        p99 / p99(k=1)"]
    base = None
    limit = None
    k = 1
    while k <= max_k:
        latencies = load_at(hub, k, seconds)
        p99 = percentile(latencies, 99)
        base = base or p99
        lines.append(f"   {k:<2} {len(latencies):<9} {ms(percentile(latencies, 50)):<10} {ms(p99):<10} {p99 / base:.2f}x")
        if limit is None and p99 >= 2 * base:
            limit = k
        k = k * 2 if k < 4 else k + 2
    lines.append(f"   p99 doubles at k = {limit}" if limit else f"   p99 did not double up to k = {max_k}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=5, help="sessions created each way (1.)")
    parser.add_argument("--commands", type=int, default=500, help="commands each way (2.)")
    parser.add_argument("--max-k", type=int, default=8, help="most concurrent sessions tried (3.)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load at each k (3.)")
    args = parser.parse_args()
    for tool in ("chromedriver", "Xvfb", "chromium"):
        if not shutil.which(tool):
            print(f"testgrid bench: {tool} is not on PATH (apt-get install chromium chromium-driver xvfb)")
            return 1
    work = Path(tempfile.mkdtemp(prefix="farmhand-bench-testgrid-"))
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    farm = Farmhand(work / "farm", root_key=new_access_key(),
                    extra_args=["--config", str(config(work))]).start()
    try:
        display = ":" + (xvfb.stdout.readline().strip() if xvfb.stdout else "")
        hub = Hub(farm)
        print(f"==> TestGrid: {farm.endpoint}, chromium {subprocess.run(['chromium', '--version'], capture_output=True, text=True).stdout.split()[1]}, {os.cpu_count()} cores")
        for section in (creation(hub, display, args.sessions), command_latency(hub, display, args.commands),
                        capacity(hub, args.max_k, args.seconds)):
            print("\n".join(section), flush=True)
    finally:
        farm.stop()
        xvfb.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def config(work: Path) -> Path:
    """Room for the capacity section's sessions (a fleet of Chromium only), and no
    creation-rate limit in its way."""
    fleet = work / "fleet.toml"
    fleet.write_text('[[browser]]\nname = "chrome"\nmax_sessions = 32\n')
    path = work / "farmhand.toml"
    path.write_text(f'fleet = "{fleet}"\n\n[testgrid]\nmax_active_sessions = 100\nsessions_per_second = 100\n')
    return path


if __name__ == "__main__":
    sys.exit(main())
