"""A real webhook receiver process for the tests (tests/webhook_receiver.py), and reading
what it received."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support import free_port

RECEIVER = Path(__file__).parent / "webhook_receiver.py"


@dataclass
class Receiver:
    url: str
    secret: str
    log: Path
    process: subprocess.Popen[bytes]

    def received(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

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
        return wait_until(
            lambda: self.events(event, **data) if len(self.events(event, **data)) >= count else None,
            timeout,
            f"{count} {event} webhook(s) with {data}",
        )


def wait_until(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def running_receiver(fail_rate: float = 0.0, secret: str = "test-webhook-secret") -> Iterator[Receiver]:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="tutela-hooks-")) / "received.jsonl"
    cmd = [
        sys.executable,
        str(RECEIVER),
        "--port",
        str(port),
        "--secret",
        secret,
        "--log",
        str(log),
        "--fail-rate",
        str(fail_rate),
    ]
    proc = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{port}/tutela"
    try:
        wait_until(lambda: _up(url), 10, "the webhook receiver to listen")
        yield Receiver(url, secret, log, proc)
    finally:
        proc.kill()
        proc.wait()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
