"""Start a real Tutela server for a benchmark: its own SQLite database in a temporary folder,
migrated, with an API key. Shared by the bench/ scripts."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    key: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@contextlib.contextmanager
def running_server(database_url: str | None = None, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="tutela-bench-") as tmp:
        port = free_port()
        env = {
            **os.environ,
            "TUTELA_DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.db",
            "TUTELA_PORT": str(port),
            "TUTELA_LOG_LEVEL": "warning",
            **(extra_env or {}),
        }
        subprocess.run([BIN / "tutela", "db", "upgrade"], env=env, check=True, capture_output=True)
        key = subprocess.run(
            [BIN / "tutela", "keys", "create", "--name", "bench", "--scope", "admin"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([BIN / "tutela", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"server did not start: {log_path.read_text()}")
                    time.sleep(0.1)
                yield Server(url, key, env, proc)
            finally:
                proc.terminate()
                proc.wait(10)
