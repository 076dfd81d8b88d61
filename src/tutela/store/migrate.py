"""Schema migrations (Alembic), run with `tutela db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tutela.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(db), revision)


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_is_behind(current: str | None) -> bool:
    """True when the database lacks migrations this code needs. A revision this code does not
    know is newer (applied by a later release during a rolling deploy): migrations only add
    what older code can ignore, so that counts as current."""
    head = head_revision()
    if current == head:
        return False
    if current is None:
        return True
    script = ScriptDirectory(str(MIGRATIONS))
    try:
        script.get_revision(current)
    except Exception:
        return False  # unknown here: newer than this code
    return True


class SchemaOutOfDate(RuntimeError):
    pass


def require_current(db: Database) -> None:
    """Refuse to serve from a database the code does not match."""
    current, head = current_revision(db.engine), head_revision()
    if schema_is_behind(current):
        raise SchemaOutOfDate(
            f"the database at {db.engine.url.render_as_string(hide_password=True)} is at schema revision "
            f"{current or '(empty)'} but this version of Tutela needs {head}: run `tutela db upgrade` first"
        )
