"""Hash banks in the store: create, fill, empty, enable, list and count them.

A bank is a named list of hashes with a kind (block-list or allow-list) and labels (csam, ncii,
terror, own-takedowns, ...). Entries carry their own labels, source and metadata, and are
never deleted: removal is a tombstone (`removed_at`), so a decision that matched an entry can
always show it. Every change sets the bank's `updated_at` in its own transaction, which is how
every process's matcher knows to reload the bank (`tutela.hashbank.matcher`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from tutela.hashbank.formats import BankEntry, normalise_value
from tutela.store.tables import bank_entries, banks

KINDS = ("blocklist", "allowlist")
SIGNAL_TYPES = ("pdq", "md5", "sha256")  # PDQ of the picture; MD5 and SHA-256 of the file
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
LABEL = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")


class BankError(ValueError):
    """A bank operation that cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Bank:
    id: int
    name: str
    kind: str
    labels: tuple[str, ...]
    description: str
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    bank_id: int
    signal_type: str
    value: str
    labels: tuple[str, ...]
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    removed: bool = False


def _bank(row: Any) -> Bank:
    m = row._mapping
    return Bank(
        m["id"], m["name"], m["kind"], tuple(m["labels"]), m["description"], bool(m["enabled"]), m["created_at"], m["updated_at"]
    )


def _labels(values: Iterable[str], what: str) -> list[str]:
    out = sorted({v.strip().lower() for v in values if v.strip()})
    for v in out:
        if not LABEL.match(v):
            raise BankError(f"{what} label {v!r} is not valid: use lower-case letters, digits and . _ : - (up to 64)")
    return out


def create_bank(conn: Connection, name: str, kind: str, labels: Sequence[str], description: str, now: dt.datetime) -> Bank:
    if not NAME.match(name):
        raise BankError(f"bank name {name!r} is not valid: use lower-case letters, digits and . _ - (up to 64), e.g. ncmec-csam")
    if kind not in KINDS:
        raise BankError(f"bank kind {kind!r} is not one of {', '.join(KINDS)}")
    if find_bank(conn, name) is not None:
        raise BankError(f"a bank named {name!r} already exists; import into it, or choose another name")
    conn.execute(
        insert(banks).values(
            name=name,
            kind=kind,
            labels=_labels(labels, "bank"),
            description=description[:500],
            enabled=True,
            created_at=now,
            updated_at=now,
        )
    )
    bank = find_bank(conn, name)
    assert bank is not None
    return bank


def find_bank(conn: Connection, name: str) -> Bank | None:
    row = conn.execute(select(banks).where(banks.c.name == name)).first()
    return _bank(row) if row is not None else None


def require_bank(conn: Connection, name: str) -> Bank:
    bank = find_bank(conn, name)
    if bank is None:
        known = ", ".join(b.name for b in list_banks(conn)) or "none yet"
        raise BankError(f"no bank named {name!r} (banks: {known}); create it with `tutela banks create`")
    return bank


def list_banks(conn: Connection) -> list[Bank]:
    return [_bank(r) for r in conn.execute(select(banks).order_by(banks.c.name))]


def set_enabled(conn: Connection, name: str, enabled: bool, now: dt.datetime) -> Bank:
    bank = require_bank(conn, name)
    conn.execute(update(banks).where(banks.c.id == bank.id).values(enabled=enabled, updated_at=now))
    return require_bank(conn, name)


def _touch(conn: Connection, bank: Bank, now: dt.datetime) -> None:
    """Mark the bank changed, in the transaction that changes it: matchers reload a bank whose
    updated_at moved (tutela.hashbank.matcher)."""
    conn.execute(update(banks).where(banks.c.id == bank.id).values(updated_at=now))


def validate(entry: BankEntry) -> BankEntry:
    if entry.signal_type not in SIGNAL_TYPES:
        raise BankError(f"signal type {entry.signal_type!r} is not supported here; use one of {', '.join(SIGNAL_TYPES)}")
    try:
        value = normalise_value(entry.signal_type, entry.value)
    except ValueError as e:
        raise BankError(str(e)) from None
    return BankEntry(
        entry.signal_type, value, frozenset(_labels(entry.labels, "entry")), entry.source[:200], dict(entry.metadata)
    )


def add_entries(conn: Connection, bank: Bank, entries: Iterable[BankEntry], now: dt.datetime) -> tuple[int, int]:
    """Add entries to a bank; an entry whose signal type and value the bank already holds
    (live) is skipped. Returns (added, skipped)."""
    live = {
        (r.signal_type, r.value)
        for r in conn.execute(
            select(bank_entries.c.signal_type, bank_entries.c.value).where(
                bank_entries.c.bank_id == bank.id, bank_entries.c.removed_at.is_(None)
            )
        )
    }
    rows = []
    skipped = 0
    for raw in entries:
        e = validate(raw)
        if (e.signal_type, e.value) in live:
            skipped += 1
            continue
        live.add((e.signal_type, e.value))
        rows.append(
            {
                "bank_id": bank.id,
                "signal_type": e.signal_type,
                "value": e.value,
                "labels": sorted(e.labels),
                "source": e.source,
                "metadata": e.metadata,
                "added_at": now,
                "removed_at": None,
            }
        )
    for at in range(0, len(rows), 5000):
        conn.execute(insert(bank_entries), rows[at : at + 5000])
    if rows:
        _touch(conn, bank, now)
    return len(rows), skipped


def remove_entries(conn: Connection, bank: Bank, signal_type: str, values: Iterable[str], now: dt.datetime) -> int:
    """Tombstone the live entries of a bank with these values. Returns how many."""
    wanted = sorted({v.strip().lower() for v in values})
    removed = 0
    for at in range(0, len(wanted), 500):
        result = conn.execute(
            update(bank_entries)
            .where(
                bank_entries.c.bank_id == bank.id,
                bank_entries.c.signal_type == signal_type,
                bank_entries.c.value.in_(wanted[at : at + 500]),
                bank_entries.c.removed_at.is_(None),
            )
            .values(removed_at=now)
        )
        removed += result.rowcount
    if removed:
        _touch(conn, bank, now)
    return removed


def entries(conn: Connection, bank: Bank, include_removed: bool = False) -> list[StoredEntry]:
    q = select(bank_entries).where(bank_entries.c.bank_id == bank.id).order_by(bank_entries.c.id)
    if not include_removed:
        q = q.where(bank_entries.c.removed_at.is_(None))
    return [
        StoredEntry(
            r.id, r.bank_id, r.signal_type, r.value, tuple(r.labels), r.source, dict(r.metadata), r.removed_at is not None
        )
        for r in conn.execute(q)
    ]


def stats(conn: Connection) -> list[dict[str, Any]]:
    """Per bank: kind, labels, enabled, and live and removed entries by signal type."""
    counts: dict[int, dict[str, int]] = {}
    q = select(
        bank_entries.c.bank_id,
        bank_entries.c.signal_type,
        (bank_entries.c.removed_at.is_(None)).label("live"),
        func.count(),
    ).group_by(bank_entries.c.bank_id, bank_entries.c.signal_type, "live")
    for bank_id, signal_type, live, n in conn.execute(q):
        key = signal_type if live else f"{signal_type} removed"
        counts.setdefault(bank_id, {})[key] = int(n)
    return [
        {
            "name": b.name,
            "kind": b.kind,
            "labels": list(b.labels),
            "enabled": b.enabled,
            "entries": counts.get(b.id, {}),
            "updated_at": b.updated_at.isoformat(),
        }
        for b in list_banks(conn)
    ]
