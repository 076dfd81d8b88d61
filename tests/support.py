"""Helpers shared by the tests: unique ids, a running server, and a small API client."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent


def uid(prefix: str = "t") -> str:
    """A fresh id, so tests sharing one database never see each other's rows."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tutela(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real `tutela` command."""
    result = subprocess.run([str(BIN / "tutela"), *args], env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"tutela {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@contextlib.contextmanager
def fresh_database(database_url: str) -> Iterator[str]:
    """A new, empty database of the kind `database_url` is (a SQLite file, or a database on the
    same PostgreSQL server), dropped afterwards: for tests that assert over every row of a table."""
    if database_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="tutela-db-") as folder:
            yield f"sqlite:///{folder}/tutela.db"
        return
    import psycopg

    server = database_url.rpartition("/")[0]
    name = f"tutela_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTELA_")}
    env.update({"TUTELA_DATABASE_URL": database_url, "TUTELA_LOG_LEVEL": "warning", **extra})
    return env


@dataclass
class Server:
    url: str
    env: dict[str, str]
    keys: dict[str, str]  # scope -> key
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, scope: str = "platform") -> Api:
        return Api(httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[scope]}"}, timeout=30))


@contextlib.contextmanager
def running_server(database_url: str, **extra_env: str) -> Iterator[Server]:
    """`tutela db upgrade`, keys for every scope, then `tutela serve` on a free port."""
    port = free_port()
    env = env_for(database_url, TUTELA_PORT=str(port), **extra_env)
    tutela(env, "db", "upgrade")
    keys = {
        s: tutela(env, "keys", "create", "--name", f"test-{s}", "--scope", s).stdout.strip()
        for s in ("platform", "moderator", "admin")
    }
    with tempfile.NamedTemporaryFile(prefix="tutela-server-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen([str(BIN / "tutela"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tutela serve did not become ready:\n{Path(log.name).read_text()}")
            time.sleep(0.1)
        yield Server(url, env, keys, proc, Path(log.name))
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        Path(log.name).unlink(missing_ok=True)


@dataclass
class Api:
    """The calls a platform makes, over real HTTP."""

    http: httpx.Client

    def account(self, account_id: str, band: str | None = "adult", basis: str = "declared", **age: Any) -> httpx.Response:
        body: dict[str, Any] = {"basis": basis, **age}
        if band is not None:
            body["band"] = band
        r = self.http.put(f"/v1/accounts/{account_id}", json={"age": body})
        assert r.status_code in (200, 201), r.text
        return r

    def connect(self, a: str, b: str, kind: str = "friend") -> httpx.Response:
        r = self.http.put(f"/v1/accounts/{a}/connections/{b}/{kind}")
        assert r.status_code in (200, 201), r.text
        return r

    def playlist(self, object_id: str, owner: str, **extra: Any) -> httpx.Response:
        r = self.http.put(f"/v1/objects/{object_id}", json={"kind": "playlist", "owner": owner, **extra})
        assert r.status_code in (200, 201), r.text
        return r

    def check(self, actor: str, obj: str, field: str = "title", text: str | None = "hello", **extra: Any) -> httpx.Response:
        body = {"change_id": extra.pop("change_id", uid("chg")), "actor": actor, "object": obj, "field": field, **extra}
        if text is not None:
            body["text"] = text
        return self.http.post("/v1/checks", json=body)

    def decide(self, actor: str, obj: str, **kw: Any) -> dict[str, Any]:
        r = self.check(actor, obj, **kw)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data
