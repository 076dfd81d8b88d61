"""Database fixtures. The store and API tests run against SQLite and PostgreSQL alike.

PostgreSQL: the machines this project runs on have a server on 127.0.0.1:5432 (trust auth for
root). The tests create their own database there and drop it afterwards. Where none listens,
they start a throwaway server from the installed binaries; where neither works they fail and
say what to install. They never skip. TUTELA_TEST_POSTGRES_URL (e.g. postgresql://me@host:5433)
points them at another server.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from support import free_port, fresh_database
from tutela.store import Database
from tutela.store.migrate import upgrade

DEFAULT_SERVER = "postgresql://root@127.0.0.1:5432"


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(f"{url}/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _binary(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else shutil.which(name)


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    configured = os.environ.get("TUTELA_TEST_POSTGRES_URL")
    if configured:
        if not _reachable(configured):
            pytest.fail(f"TUTELA_TEST_POSTGRES_URL={configured} does not accept connections")
        yield configured
        return
    if _reachable(DEFAULT_SERVER):
        yield DEFAULT_SERVER
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.fail(
            "the store tests need PostgreSQL: nothing accepts connections at 127.0.0.1:5432 and no initdb/pg_ctl "
            "binaries are installed to start a throwaway server. Install it (Debian: apt-get install postgresql) "
            "or set TUTELA_TEST_POSTGRES_URL."
        )
    tmp = Path(tempfile.mkdtemp(prefix="tutela-pg-"))
    data = tmp / "data"
    port = free_port()
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    subprocess.run(_as_postgres_user([initdb, "-D", str(data), "-A", "trust", "-U", user]), check=True, capture_output=True)
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-o", opts, "-w", "-l", str(tmp / "log"), "start"]), check=True)
    try:
        yield f"postgresql://{user}@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A database of the tests' own on the PostgreSQL server, dropped at the end."""
    with fresh_database(f"{postgres_server}/postgres") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/tutela.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    """A migrated database of each kind, shared by the tests of a session (ids are unique)."""
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()
