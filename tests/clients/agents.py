"""Runs `farmhand agent`, a remote device host, the way an operator would: an agent token
made on the server's store, a fleet file of the host's devices, a work directory, and the
servers to connect to. Each agent keeps what it prints in ROOT/agent.log, appended to across
restarts, so a test can read what it said and when.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from harness import Farmhand, binary, clean_env
from simfarm import Lab, fleet_toml, wait_for


def create_token(farm: Farmhand, host: str) -> tuple[str, str]:
    """(token id, token text) from `farmhand agent-token create`, on the server's store."""
    lines = farm.manage("agent-token", "create", "--host", host)
    m = re.match(r"^token (\S+) for host (\S+)$", lines[0])
    assert m and m.group(2) == host, lines
    exports = [line.split("=", 1)[1] for line in lines if line.startswith("export FARMHAND_AGENT_TOKEN=")]
    assert len(exports) == 1 and exports[0].startswith("fhagent_"), lines
    return m.group(1), exports[0]


def agent_binary() -> Path:
    """`farmhand-agent`, the agent built alone (crates/host), beside the `farmhand` under test."""
    path = binary().parent / "farmhand-agent"
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: run `cargo build -p host` (scripts/test builds the workspace)")
    return path


class AgentProcess:
    """One `farmhand agent` (or, with `standalone`, `farmhand-agent`) with its files under
    `root`: agent-fleet.toml, work/, agent.log. As a context manager, it is stopped on the way out."""

    def __init__(self, servers: Sequence[str], token: str, fleet: list[dict], root: Path, *,
                 token_in_env: bool = False, extra_args: Sequence[str] = (), standalone: bool = False,
                 env: dict[str, str] | None = None):
        root.mkdir(parents=True, exist_ok=True)
        self.fleet_path = root / "agent-fleet.toml"
        self.fleet_path.write_text(fleet_toml(fleet))
        self.work_dir = root / "work"
        self.log_path = root / "agent.log"
        # `agent-token create` prints an export line: some tests hand the token over that
        # way, the others with --token, so both stay in use.
        token_args = [] if token_in_env else ["--token", token]
        command = [str(agent_binary())] if standalone else [str(binary()), "agent"]
        self.args = [*command, *[a for s in servers for a in ("--server", s)], *token_args,
                     "--fleet", str(self.fleet_path), "--work-dir", str(self.work_dir), "--stop-grace-seconds", "0.5",
                     *extra_args]
        # The tests wait for the agent's info lines (connected, refused, sent away), whatever
        # RUST_LOG the caller has.
        self.env = {**clean_env(), "RUST_LOG": "info", **({"FARMHAND_AGENT_TOKEN": token} if token_in_env else {}),
                    **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "AgentProcess":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env)
        return self

    def __enter__(self) -> "AgentProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def kill9(self) -> None:
        assert self.proc and self.proc.poll() is None, self.log_tail()
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return bool(self.proc) and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, needle: str, *, count: int = 1, timeout: float = 15.0) -> None:
        wait_for(lambda: {"n": self.log().count(needle)}, lambda v: v["n"] >= count, timeout=timeout, interval=0.05,
                 what=f"{count}× {needle!r} in the agent's log\n{self.log_tail()}")


def start_agent(farm: Farmhand, host: str, fleet: list[dict], root: Path, *, token: str | None = None,
                servers: Sequence[str] | None = None, token_in_env: bool = False,
                extra_args: Sequence[str] = (), standalone: bool = False,
                env: dict[str, str] | None = None) -> AgentProcess:
    """An agent for `host` holding the devices of `fleet`, started. Its token is made on
    `farm`'s store unless given; it connects to `servers`, by default to `farm`."""
    if token is None:
        _, token = create_token(farm, host)
    return AgentProcess(servers or [farm.endpoint], token, fleet, root, token_in_env=token_in_env,
                        extra_args=extra_args, standalone=standalone, env=env).start()


def run_on(lab: Lab, device_arn: str, spec: str, *, name: str = "agent-run") -> dict:
    """Schedules `spec` on that one device; returns its job."""
    (job,) = lab.jobs(lab.spec_run(device_arn, spec, name=name)["arn"])
    return job
