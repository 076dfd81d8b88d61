"""The audit log: entries chain by hash, the database refuses edits, and verify finds tampering."""

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from support import uid
from tutela import audit
from tutela.store import Database, tables

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_entries_chain_and_verify(db: Database) -> None:
    subject = uid("case")
    with db.write() as conn:
        first = audit.record(conn, "mod-a", "case.decided", subject, {"action": "remove", "note": "é ✓"}, NOW)
        second = audit.record(conn, "system", "action.taken", subject, {"n": 1.5, "list": [1, None]}, NOW)
    assert first != second
    with db.read() as conn:
        result = audit.verify(conn)
        last = list(audit.entries(conn))[-1]
    assert result.ok, result.problem
    assert result.head == second == last["hash"]
    assert last["prev_hash"] == first


def test_the_database_refuses_to_change_or_delete_entries(db: Database) -> None:
    with db.write() as conn:
        audit.record(conn, "mod-a", "case.decided", uid("case"), {}, NOW)
    for statement in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.write() as conn:
            conn.execute(text(statement))
    with db.read() as conn:
        assert audit.verify(conn).ok


def test_verify_finds_an_entry_altered_behind_the_triggers_back(tmp_path) -> None:
    from tutela.store.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path}/t.db")
    upgrade(db)
    with db.write() as conn:
        for i in range(5):
            audit.record(conn, "mod-a", "case.decided", f"case:{i}", {"action": "remove"}, NOW)
    with db.write() as conn:  # what a superuser or a doctored backup could do
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(tables.audit_log.update().where(tables.audit_log.c.seq == 3).values(data={"action": "allow"}))
    with db.read() as conn:
        result = audit.verify(conn)
    assert not result.ok and result.broken_at == 3 and "altered" in result.problem
    db.dispose()
