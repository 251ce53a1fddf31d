"""What every bench script needs to leave the machine as it found it: a log line, undo
actions that run however the script ends, and stopping a server that may be wedged."""

from __future__ import annotations

import atexit
import sys
import time
from collections.abc import Callable


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Cleanup:
    """Undo actions, run last-in first-out, each exactly once: when a part is done, on an
    error, on SIGTERM/SIGINT/SIGHUP, or at interpreter exit, whichever comes first."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, action: Callable[[], None]) -> None:
        self.actions.append((what, action))

    def mark(self) -> int:
        return len(self.actions)

    def run(self, down_to: int = 0) -> None:
        while len(self.actions) > down_to:
            what, action = self.actions.pop()
            try:
                action()
            except Exception as e:  # one failed undo must not keep the others from running
                log(f"cleaning up {what} failed: {e}")


CLEANUP = Cleanup()
atexit.register(CLEANUP.run)


def exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def stop_server(farm) -> None:
    """SIGTERM, and SIGKILL if the server does not go (a bench must not leave it behind)."""
    if farm.proc is None:
        return
    try:
        farm.stop()
    except Exception:
        farm.kill()
