"""The audit log: who did what, to what, when; append-only and chained by hash.

Every entry's `hash` is SHA-256 over the previous entry's hash and the entry's own canonical
JSON, so changing, removing or reordering any entry breaks every hash after it. The database
refuses UPDATE and DELETE on the table (triggers from migration 0003); `verify` finds an
entry altered behind the triggers' back (a restored backup, a superuser). Entries are written
in the transaction of what they record: an audited action and its entry commit together.

Recorded: decisions of moderators, interim measures, appeals, escalations, evidence access
(reading a case), and configuration changes (API keys, hash banks, the policy a server runs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, text

from tutela.store import tables as t

GENESIS = "0" * 64
_INSERT = insert(t.audit_log)
SYSTEM = "system"
_PG_LOCK = 7_302_817  # pg_advisory_xact_lock key: one appender at a time keeps the chain linear


def _canonical(seq: int, at: dt.datetime, actor: str, action: str, subject: str, data: Any) -> bytes:
    body = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_hash(prev_hash: str, seq: int, at: dt.datetime, actor: str, action: str, subject: str, data: Any) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(seq, at, actor, action, subject, data)).hexdigest()


def record(conn: Connection, actor: str, action: str, subject: str, data: dict[str, Any], now: dt.datetime) -> str:
    """Append one entry inside the caller's write transaction; returns its hash."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    last = conn.execute(select(t.audit_log.c.seq, t.audit_log.c.hash).order_by(t.audit_log.c.seq.desc()).limit(1)).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    data = json.loads(json.dumps(data, default=str))  # what the JSON column will give back
    digest = entry_hash(prev, seq, now, actor, action, subject, data)
    conn.execute(
        _INSERT,
        {
            "seq": seq,
            "at": now,
            "actor": actor[:200],
            "action": action,
            "subject": subject[:200],
            "data": data,
            "prev_hash": prev,
            "hash": digest,
        },
    )
    return digest


@dataclass(frozen=True)
class Verification:
    entries: int
    head: str  # the last entry's hash (GENESIS when empty): write it down to detect truncation
    broken_at: int | None  # the first entry whose hash or link does not hold
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def entries(conn: Connection, after: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
    q = select(t.audit_log).where(t.audit_log.c.seq > after).order_by(t.audit_log.c.seq)
    if limit is not None:
        q = q.limit(limit)
    for row in conn.execute(q):
        yield t.row_dict(row)


def verify(conn: Connection) -> Verification:
    """Walk the chain from the first entry; report the first one that does not hold."""
    prev, expected_seq, count = GENESIS, 1, 0
    for e in entries(conn):
        count += 1
        if e["seq"] != expected_seq:
            return Verification(count, prev, e["seq"], f"entry {expected_seq} is missing (next is {e['seq']})")
        if e["prev_hash"] != prev:
            return Verification(count, prev, e["seq"], "its prev_hash is not the hash of the entry before it")
        digest = entry_hash(prev, e["seq"], e["at"], e["actor"], e["action"], e["subject"], e["data"])
        if digest != e["hash"]:
            return Verification(count, prev, e["seq"], "its content does not match its hash (it was altered)")
        prev, expected_seq = e["hash"], expected_seq + 1
    return Verification(count, prev, None)
