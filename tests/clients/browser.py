"""A real headless Chromium for the dashboard tests, driven through tests/browser/driver.mjs.

The driver is a long-lived Node process speaking JSON lines; this side sends one command at a
time and waits for its answer, so a test can interleave browser steps with boto3 checks at
exactly the moments that matter (a stop pressed while a test is running, say).

Nothing here is optional in CI: a missing node, Chromium or `npm ci` fails the tests with a
message naming what to install. Only a local run may opt out with FARMHAND_SKIP_BROWSER=1.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from harness import REPO

BROWSER_DIR = REPO / "tests/browser"
DRIVER = BROWSER_DIR / "driver.mjs"
SCREENSHOTS = REPO / "tests/artifacts/screenshots"
CHROMIUM = Path(os.environ.get("FARMHAND_CHROMIUM", "/usr/bin/chromium"))
START_TIMEOUT = 60.0
# One command's ceiling; the commands that wait carry their own, shorter, timeout.
COMMAND_TIMEOUT = 120.0


class BrowserError(AssertionError):
    """A browser step failed (a selector not found, a wait that timed out, …)."""


def missing_tools() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to get it."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs npm)")
    else:
        version = subprocess.run(["node", "-p", "process.versions.node"], capture_output=True, text=True,
                                 timeout=30).stdout.strip()
        least = node_major_required()
        if int(version.split(".")[0] or 0) < least:
            missing.append(f"Node.js {least} or later for playwright-core (this is {version or 'unknown'})")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not (BROWSER_DIR / "node_modules/playwright-core/package.json").exists():
        missing.append(f"playwright-core (npm ci --ignore-scripts in {BROWSER_DIR}; ./scripts/test does it)")
    return missing


def node_major_required() -> int:
    """The oldest Node.js major the pinned playwright-core runs on: package.json's `engines`."""
    engines = json.loads((BROWSER_DIR / "package.json").read_text())["engines"]["node"]
    least = re.fullmatch(r">=\s*(\d+)", engines.strip())
    assert least, f"tests/browser/package.json: engines.node is {engines!r}, not >=N"
    return int(least.group(1))


def require_tools() -> None:
    missing = missing_tools()
    if not missing:
        return
    message = "browser tests need: " + "; ".join(missing)
    if os.environ.get("FARMHAND_SKIP_BROWSER") == "1" and os.environ.get("CI") != "true":
        pytest.skip(f"FARMHAND_SKIP_BROWSER=1: {message}")
    pytest.fail(message, pytrace=False)


class Browser:
    """One Chromium. `page(name)` opens a tab; tabs in different `context`s share no cookies."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.version = ""
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._next_id = 0
        self.screenshots: list[Path] = []

    def start(self) -> "Browser":
        require_tools()
        self._log = open(self.log_path, "ab")
        env = {**os.environ, "FARMHAND_CHROMIUM": str(CHROMIUM)}
        self.proc = subprocess.Popen(["node", str(DRIVER)], cwd=BROWSER_DIR, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1, env=env)

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self._answers.put(line)
            self._answers.put(None)

        threading.Thread(target=pump, daemon=True).start()
        ready = self._read(START_TIMEOUT)
        if not ready.get("ready"):
            raise RuntimeError(f"browser driver did not start: {ready}\n{self.log_tail()}")
        self.version = ready["version"]
        return self

    def _read(self, timeout: float) -> dict:
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"browser driver silent for {timeout}s\n{self.log_tail()}") from None
        if line is None:
            code = self.proc.wait(timeout=10) if self.proc else None
            raise BrowserError(f"browser driver exited ({code})\n{self.log_tail()}")
        return json.loads(line)

    def command(self, op: str, **args):
        assert self.proc and self.proc.stdin
        self._next_id += 1
        self.proc.stdin.write(json.dumps({"id": self._next_id, "op": op, **args}) + "\n")
        self.proc.stdin.flush()
        answer = self._read(COMMAND_TIMEOUT)
        assert answer.get("id") == self._next_id, answer
        if not answer["ok"]:
            raise BrowserError(f"{op} {args}: {answer['error']}")
        return answer["value"]

    def page(self, name: str, *, context: str = "default", width: int = 1280, height: int = 900,
             javascript: bool = True) -> "Page":
        """A new tab. `javascript` is the context's, fixed by the first tab opened in it."""
        self.command("newPage", page=name, context=context, width=width, height=height, javascript=javascript)
        return Page(self, name, context)

    def cookies(self, context: str = "default") -> list[dict]:
        return self.command("cookies", context=context)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"id": 0, "op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode if self.proc else 0

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Page:
    def __init__(self, browser: Browser, name: str, context: str):
        self.browser = browser
        self.name = name
        self.context = context

    def _do(self, op: str, **args):
        return self.browser.command(op, page=self.name, **args)

    def goto(self, url: str) -> dict:
        """Loads `url`; answers {status, url} of the document it ended on (after redirects)."""
        return self._do("goto", url=url)

    def fill(self, selector: str, value: str) -> None:
        self._do("fill", selector=selector, value=value)

    def click(self, selector: str, *, navigate: bool = False) -> dict | None:
        return self._do("click", selector=selector, navigate=navigate)

    def click_at(self, selector: str, x: float, y: float, *, hold_ms: int = 0) -> None:
        """Clicks `selector` at (x, y) CSS pixels from its top left corner."""
        self._do("clickAt", selector=selector, x=x, y=y, holdMs=hold_ms)

    def drag(self, selector: str, x1: float, y1: float, x2: float, y2: float) -> None:
        self._do("drag", selector=selector, x1=x1, y1=y1, x2=x2, y2=y2)

    def type(self, text: str) -> None:
        """Types `text` on the keyboard into the focused element."""
        self._do("type", text=text)

    def press(self, key: str, *, navigate: bool = False) -> dict | None:
        return self._do("press", key=key, navigate=navigate)

    def eval(self, fn: str, arg=None):
        """Calls the JavaScript function source `fn` with `arg` in the page; its JSON result."""
        return self._do("eval", fn=fn, arg=arg)

    def wait(self, fn: str, arg=None, *, timeout: float = 15.0):
        """Waits until `fn(arg)` is truthy in the page; that value."""
        return self._do("waitFor", fn=fn, arg=arg, timeout=int(timeout * 1000))

    def text(self, selector: str) -> str | None:
        return self.eval("(s) => { const e = document.querySelector(s); return e && e.textContent.trim(); }",
                         selector)

    def attr(self, selector: str, name: str) -> str | None:
        return self.eval("([s, n]) => { const e = document.querySelector(s); return e && e.getAttribute(n); }",
                         [selector, name])

    def count(self, selector: str) -> int:
        return self.eval("(s) => document.querySelectorAll(s).length", selector)

    def exists(self, selector: str) -> bool:
        return self.count(selector) > 0

    def url(self) -> str:
        return self.eval("() => location.href")

    def navigations(self) -> int:
        """Main-frame document loads since the tab opened."""
        return self._do("navigations")

    def console(self) -> list[str]:
        return self._do("console")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self._do("screenshot", path=str(path))
        self.browser.screenshots.append(path)
        return path

    def download(self, selector: str, into: Path) -> dict:
        """Clicks a download link; {name, path, url, failure} of the file it delivered."""
        into.mkdir(parents=True, exist_ok=True)
        return self._do("download", selector=selector, dir=str(into))

    def close(self) -> None:
        self._do("closePage")
