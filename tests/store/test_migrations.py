"""Migrations build exactly the schema the code declares, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tutela.store import Database
from tutela.store.migrate import current_revision, head_revision, upgrade
from tutela.store.tables import metadata


def test_migrated_schema_matches_the_tables(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], f"tables.py and the migrations differ: {diff}"


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    assert current_revision(db.engine) == head_revision()
