"""Real processes the webhook tests drive: a long-running process that can be killed and
started again, the webhook receiver (tests/webhook_receiver.py), and reading what it got."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from support import free_port

RECEIVER = Path(__file__).parent / "webhook_receiver.py"


def wait_until(probe: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `probe` until it returns something truthy (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(every)


class Process:
    """A long-running process a test starts, waits for, and may kill without warning."""

    def __init__(self, cmd: list[str], log: Path, ready_url: str, env: dict[str, str] | None = None) -> None:
        self.cmd, self.env, self.log, self.ready_url = cmd, env, log, ready_url
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.cmd[1]} exited {self.process.returncode}:\n{self.log.read_text()}")
            try:
                return httpx.get(self.ready_url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, f"{' '.join(self.cmd[:2])} to be ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, requests in flight are cut."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Receiver(Process):
    """The platform's webhook endpoint: tests/webhook_receiver.py on a fixed port, so that it can
    be killed and started again at the same address."""

    def __init__(self, folder: Path, fail_rate: float = 0.0, secret: str = "test-webhook-secret", seed: int = 1) -> None:
        self.port, self.secret = free_port(), secret
        self.url = f"http://127.0.0.1:{self.port}/tutela"
        self.received_log = folder / "received.jsonl"
        cmd = [sys.executable, str(RECEIVER), "--port", str(self.port), "--secret", secret, "--log", str(self.received_log)]
        cmd += ["--fail-rate", str(fail_rate), "--seed", str(seed)]
        super().__init__(cmd, folder / "receiver.log", self.url)

    def start(self, seed: int | None = None) -> None:
        """Start (again, on the same port); a new `seed` changes which requests fail."""
        if seed is not None:
            self.cmd[self.cmd.index("--seed") + 1] = str(seed)
        super().start()

    def received(self) -> list[dict[str, Any]]:
        """Every request accepted, in the order accepted."""
        if not self.received_log.exists():
            return []
        return [json.loads(line) for line in self.received_log.read_text().splitlines() if line.strip()]

    def events(self, event: str | None = None, **data: Any) -> list[dict[str, Any]]:
        """Payloads received (first receipt of each delivery id), filtered by type and data fields."""
        seen: set[str] = set()
        found = []
        for r in self.received():
            if r["delivery_id"] in seen:
                continue
            seen.add(r["delivery_id"])
            p = r["payload"]
            if event is not None and p["type"] != event:
                continue
            if all(p["data"].get(k) == v for k, v in data.items()):
                found.append(p)
        return found

    def wait_for(self, event: str, count: int = 1, timeout: float = 10.0, **data: Any) -> list[dict[str, Any]]:
        def enough() -> list[dict[str, Any]] | None:
            found = self.events(event, **data)
            return found if len(found) >= count else None

        result: list[dict[str, Any]] = wait_until(enough, timeout, f"{count} {event} webhook(s) with {data}")
        return result


@contextlib.contextmanager
def running_receiver(fail_rate: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(Path(tempfile.mkdtemp(prefix="tutela-hooks-")), fail_rate)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.kill()
