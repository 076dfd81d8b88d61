"""Start Tutela (embedded: SQLite, one process) and Mixtape side by side, wired together, in a
folder of their own: what `make demo`, the browser test and the screenshot script run on.

    with running_stack(Path("/tmp/mixtape")) as stack:
        stack.app_url      # Mixtape, for a browser or httpx
        stack.moderator    # a tutela.client.Client with a moderator key

Each is a real process on a free port: `tutela serve` posting its webhooks to Mixtape, and
`python -m playlists` asking Tutela through the SDK.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from tutela.client import Client

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    folder: Path
    tutela_url: str
    app_url: str
    platform_key: str
    moderator_key: str
    moderator: Client
    tutela_log: Path
    app_log: Path


def _tutela(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(BIN / "tutela"), *args], env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"tutela {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def _start(cmd: list[str], env: dict[str, str], log: Path, ready: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(ready, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{' '.join(cmd[:3])} did not start; its log:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def running_stack(folder: Path) -> Iterator[Stack]:
    folder.mkdir(parents=True, exist_ok=True)
    tutela_port, app_port = free_port(), free_port()
    webhook_secret = secrets.token_urlsafe(32)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TUTELA_", "PLAYLISTS_"))}
    tutela_env = {
        **base,
        "TUTELA_DATABASE_URL": f"sqlite:///{folder / 'tutela.db'}",
        "TUTELA_PORT": str(tutela_port),
        "TUTELA_WEBHOOK_URL": f"http://127.0.0.1:{app_port}/tutela/webhooks",
        "TUTELA_WEBHOOK_SECRET": webhook_secret,
        "TUTELA_LOG_LEVEL": "warning",
    }
    _tutela(tutela_env, "db", "upgrade")
    platform_key = _tutela(tutela_env, "keys", "create", "--name", "mixtape", "--scope", "platform")
    moderator_key = _tutela(tutela_env, "keys", "create", "--name", "moderators", "--scope", "moderator")
    tutela_url = f"http://127.0.0.1:{tutela_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    app_env = {
        **base,
        "PLAYLISTS_DB": str(folder / "playlists.db"),
        "PLAYLISTS_PORT": str(app_port),
        "TUTELA_URL": tutela_url,
        "TUTELA_API_KEY": platform_key,
        "TUTELA_WEBHOOK_SECRET": webhook_secret,
        "PLAYLISTS_SECRET": secrets.token_urlsafe(32),
        "PYTHONPATH": str(HERE),
    }
    tutela_log, app_log = folder / "tutela.log", folder / "playlists.log"
    tutela = _start([str(BIN / "tutela"), "serve"], tutela_env, tutela_log, f"{tutela_url}/readyz")
    try:
        app = _start([sys.executable, "-m", "playlists"], app_env, app_log, f"{app_url}/healthz", cwd=HERE)
        try:
            with Client(tutela_url, moderator_key) as moderator:
                yield Stack(folder, tutela_url, app_url, platform_key, moderator_key, moderator, tutela_log, app_log)
        finally:
            _stop(app)
    finally:
        _stop(tutela)
