"""Runs a real `farmhand serve` process and talks to it the way users do.

The server is started exactly as the README tells users to (a binary, a data dir, a fixed
root key through the environment), and read back through its printed contract: the first
stdout line names the address, the export lines name endpoint, region and credentials.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[2]
REGION = "us-west-2"
TARGET_PREFIX = "DeviceFarm_20150623"
# The hidden CSRF field every dashboard form carries.
CSRF_FIELD = re.compile(r'<input[^>]*name="csrf"[^>]*value="([^"]+)"')
LISTENING = re.compile(r"^farmhand listening on (http://127\.0\.0\.1:\d+)\s*$")
EXPORT = re.compile(r"^export (\w+)=(.*)$")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def binary() -> Path:
    path = Path(os.environ.get("FARMHAND_BIN", REPO / "target/debug/farmhand"))
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: run `cargo build -p farmhand` (or set FARMHAND_BIN)")
    return path


def new_access_key() -> tuple[str, str]:
    """An AWS-shaped key pair: AKIA + 16 upper-case letters/digits, 40-char secret."""
    alphabet = string.ascii_uppercase + string.digits
    akid = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    return akid, secret


def clean_env() -> dict[str, str]:
    """The caller's environment without anything that would steer farmhand or an AWS client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FARMHAND_", "AWS_"))}
    env.setdefault("RUST_LOG", "info")
    # A test server has no load balancer to tell: it stops at once (the drain's own test
    # sets a drain period explicitly).
    env["FARMHAND_DRAIN_SECONDS"] = "0"
    return env


@dataclass
class Account:
    id: str
    access_key_id: str
    secret_access_key: str


def parse_exports(lines: list[str]) -> dict[str, str]:
    return {m.group(1): m.group(2) for line in lines if (m := EXPORT.match(line.strip()))}


class Farmhand:
    """One running server. Stop it with `stop()`, which returns the exit code."""

    def __init__(self, data_dir: Path, *, database_url: str | None = None, extra_args: Sequence[str] = (),
                 root_key: tuple[str, str] | None = None, login: tuple[str, str] | None = None,
                 listen: str = "127.0.0.1:0", env: dict[str, str] | None = None):
        """`root_key` fixes the default account's key; `login` is a key the data dir already
        has (a restart); with neither, the credentials printed by a first start are used."""
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.extra_args = list(extra_args)
        self.listen = listen
        self.root_key = root_key
        # Added to the server's clean environment (e.g. FARMHAND_LOG).
        self.extra_env = dict(env or {})
        self.stdout_lines: list[str] = []
        self.log_path = self.data_dir / "server.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.endpoint = ""
        self.access_key_id, self.secret_access_key = root_key or login or ("", "")
        self.account_id = ""

    # --- process ------------------------------------------------------------------------

    def store_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def start(self) -> "Farmhand":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = clean_env()
        if self.root_key:
            env["FARMHAND_ROOT_ACCESS_KEY_ID"], env["FARMHAND_ROOT_SECRET_ACCESS_KEY"] = self.root_key
        env.update(self.extra_env)
        args = [str(binary()), "serve", "--listen", self.listen, *self.store_args(), *self.extra_args]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
                                     env=env, text=True, bufsize=1)
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                self.stdout_lines.append(line.rstrip("\n"))
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.kill()
            raise RuntimeError(f"farmhand printed nothing in {START_TIMEOUT}s\n{self.log_tail()}")
        if first is None or not (m := LISTENING.match(first)):
            self.kill()
            raise RuntimeError(f"unexpected first line {first!r}\n{self.log_tail()}")
        self.endpoint = m.group(1)
        if not self.access_key_id:
            # The credentials of a first start come in the export lines right after.
            self.wait_for_exports({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, lines)
            exports = parse_exports(self.stdout_lines)
            self.access_key_id = exports["AWS_ACCESS_KEY_ID"]
            self.secret_access_key = exports["AWS_SECRET_ACCESS_KEY"]
        self.account_id = self.client().get_account_settings()["accountSettings"]["awsAccountNumber"]
        return self

    def wait_for_exports(self, names: set[str], lines: queue.Queue, timeout: float = 10.0) -> None:
        while not names <= set(parse_exports(self.stdout_lines)):
            try:
                if lines.get(timeout=timeout) is None:
                    break
            except queue.Empty:
                break

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        assert self.proc
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"farmhand ignored SIGTERM for {STOP_TIMEOUT}s\n{self.log_tail()}")
        if self._log:
            self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def alive(self) -> bool:
        return bool(self.proc) and self.proc.poll() is None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # --- management commands (same store as the server) --------------------------------

    def manage(self, *args: str) -> list[str]:
        result = subprocess.run([str(binary()), *args, *self.store_args()], capture_output=True, text=True,
                                env=clean_env(), timeout=60, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"farmhand {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result.stdout.splitlines()

    def create_account(self, name: str) -> Account:
        lines = self.manage("account", "create", "--name", name)
        m = re.match(r"^account (\d{12}) \((.*)\)$", lines[0])
        assert m and m.group(2) == name, lines
        exports = parse_exports(lines)
        return Account(m.group(1), exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"])

    def create_key(self, account_id: str) -> tuple[str, str]:
        exports = parse_exports(self.manage("key", "create", "--account", account_id))
        return exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"]

    def ui_session(self, keys: tuple[str, str] | None = None, *, token: str | None = None) -> requests.Session:
        """A session signed in to the dashboard the way a browser signs in: the login form's
        csrf field and login cookie, then its POST, with an access key (this server's by
        default) or a `farmhand ui-token` token."""
        session = requests.Session()
        form = session.get(self.endpoint + "/ui/login", timeout=30)
        assert form.status_code == 200, form.text
        match = CSRF_FIELD.search(form.text)
        assert match and "farmhand_login" in session.cookies, "the login page has no csrf field or login cookie"
        akid, secret = keys or (self.access_key_id, self.secret_access_key)
        fields = {"token": token} if token else {"access_key_id": akid, "secret_access_key": secret}
        answer = session.post(self.endpoint + "/ui/login", allow_redirects=False, timeout=30,
                              headers={"Origin": self.endpoint}, data={"csrf": match.group(1), **fields})
        assert answer.status_code == 303, f"sign-in answered {answer.status_code}: {answer.text[:300]}"
        assert answer.headers["location"] == "/ui/projects"
        assert "farmhand_session" in session.cookies
        return session

    def revoke_key(self, access_key_id: str) -> None:
        self.manage("key", "revoke", access_key_id)

    # --- clients ------------------------------------------------------------------------

    def creds(self, account: Account | None = None) -> tuple[str, str]:
        if account:
            return account.access_key_id, account.secret_access_key
        return self.access_key_id, self.secret_access_key

    def client(self, account: Account | None = None, *, keys: tuple[str, str] | None = None):
        akid, secret = keys or self.creds(account)
        return boto3.client(
            "devicefarm",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=akid,
            aws_secret_access_key=secret,
            # A retried 500 would hide a server fault; every test wants the first answer.
            config=Config(retries={"total_max_attempts": 1}),
        )

    def aws(self, *args: str, account: Account | None = None, keys: tuple[str, str] | None = None,
            check: bool = True, endpoint_from_env: bool = False) -> dict | subprocess.CompletedProcess:
        """Runs `aws devicefarm ARGS --endpoint-url … --output json` with env credentials.

        With `endpoint_from_env` the endpoint comes from AWS_ENDPOINT_URL_DEVICE_FARM, the
        export line `serve` prints, instead of the flag."""
        akid, secret = keys or self.creds(account)
        home = self.data_dir / "aws-home"
        home.mkdir(exist_ok=True)
        env = clean_env()
        env.update({
            "AWS_ACCESS_KEY_ID": akid,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_MAX_ATTEMPTS": "1",
            "HOME": str(home),
        })
        aws = Path(sys.executable).parent / "aws"
        cmd = [str(aws) if aws.exists() else shutil.which("aws") or "aws", "devicefarm", *args, "--output", "json"]
        if endpoint_from_env:
            env["AWS_ENDPOINT_URL_DEVICE_FARM"] = self.endpoint
        else:
            cmd += ["--endpoint-url", self.endpoint]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
        if not check:
            return result
        assert result.returncode == 0, f"{' '.join(args)} → {result.returncode}\n{result.stderr}"
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def call(self, operation: str, body, *, keys: tuple[str, str] | None = None, region: str = REGION,
             service: str = "devicefarm", target: str | None = None, headers: dict | None = None,
             tamper=None, sign: bool = True) -> requests.Response:
        """A raw JSON 1.1 request, signed by botocore's SigV4 signer unless `sign` is False.

        `tamper(headers, body) -> (headers, body)` runs after signing, to send something other
        than what was signed.
        """
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        data = data.encode() if isinstance(data, str) else data
        all_headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": target if target is not None else f"{TARGET_PREFIX}.{operation}",
            **(headers or {}),
        }
        request = AWSRequest(method="POST", url=self.endpoint + "/", data=data, headers=all_headers)
        if sign:
            akid, secret = keys or self.creds()
            SigV4Auth(Credentials(akid, secret), service, region).add_auth(request)
        sent_headers = dict(request.headers.items())
        if tamper:
            sent_headers, data = tamper(sent_headers, data)
        return requests.post(self.endpoint + "/", data=data, headers=sent_headers, timeout=30)


@contextmanager
def running(farm: Farmhand, *, only_if_alive: bool = False) -> Iterator[Farmhand]:
    """`farm` started for the block, then stopped with SIGTERM, which it must answer by
    exiting 0: a server that cannot shut down cleanly fails the test that ran it.

    With `only_if_alive`, a server that is no longer running when the block ends (the block
    stopped it, or failed to start it again) is left as it is: the block judged that end."""
    farm.start()
    try:
        yield farm
    finally:
        if not only_if_alive or farm.alive():
            code = farm.stop()
            assert code == 0, f"farmhand exited {code} after SIGTERM\n{farm.log_tail()}"


def stop_all(farms: Sequence[Farmhand]) -> None:
    """Stops every replica that was started, then asserts each exited 0: one that fails to
    stop cleanly does not leave the others running."""
    codes = [(farm.stop(), farm) for farm in farms if farm.proc]
    for code, farm in codes:
        assert code == 0, farm.log_tail()


class PostgresDatabase:
    """A throw-away database on the server that FARMHAND_TEST_DATABASE_URL names."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.name = f"farmhand_test_{secrets.token_hex(6)}"
        parts = urllib.parse.urlsplit(admin_url)
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))

    def _psql(self, sql: str) -> None:
        subprocess.run(["psql", self.admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    def create(self) -> "PostgresDatabase":
        self._psql(f"CREATE DATABASE {self.name}")
        return self

    def table_count(self) -> int:
        result = subprocess.run(["psql", self.url, "-tAc",
                                 "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"],
                                check=True, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        return int(result.stdout.strip())

    def drop(self) -> None:
        self._psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
