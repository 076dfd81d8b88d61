"""The matcher follows the store: additions, removals, disabling, each seen by the next refresh,
and a bank that did not change is not read again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from tutela.hashbank.banks import add_entries, create_bank, remove_entries, set_enabled
from tutela.hashbank.formats import BankEntry
from tutela.hashbank.matcher import BankMatcher
from tutela.model import ImageFacts
from tutela.store import Database
from tutela.store.migrate import upgrade

T0 = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


def facts(pdq: str, md5: str = "0" * 32) -> ImageFacts:
    return ImageFacts("jpeg", 10, 10, 1, 100, md5, "0" * 64, pdq, 100)


def test_bank_changes_reach_the_matcher_and_unchanged_banks_are_not_reread(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(db)
    rng = np.random.default_rng(3)
    a, b = (bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(2))
    near_a = a[:-1] + ("0" if a[-1] != "0" else "1")  # a few bits away
    with db.write() as conn:
        one = create_bank(conn, "one", "blocklist", ["csam"], "", T0)
        two = create_bank(conn, "two", "blocklist", ["ncii"], "", T0)
        add_entries(conn, one, [BankEntry("pdq", a)], T0)
        add_entries(conn, two, [BankEntry("md5", "f" * 32)], T0)
    m = BankMatcher()
    with db.read() as conn:
        assert m.refresh(conn) == 2
        assert m.refresh(conn) == 0  # nothing changed: no bank read again
    assert [x.entry.bank for x in m.match(facts(near_a))] == ["one"]
    assert [x.entry.bank for x in m.match(facts(b, md5="f" * 32))] == ["two"]

    with db.write() as conn:
        add_entries(conn, one, [BankEntry("pdq", b)], T0 + dt.timedelta(seconds=1))
    with db.read() as conn:
        assert m.refresh(conn) == 1
    assert {x.entry.bank for x in m.match(facts(b))} == {"one"}

    with db.write() as conn:
        remove_entries(conn, one, "pdq", [a], T0 + dt.timedelta(seconds=2))
        set_enabled(conn, "two", False, T0 + dt.timedelta(seconds=2))
    with db.read() as conn:
        assert m.refresh(conn) == 2
    assert m.match(facts(near_a)) == []
    assert m.match(facts("0" * 64, md5="f" * 32)) == []
    assert len(m) == 1

    with db.write() as conn:
        set_enabled(conn, "two", True, T0 + dt.timedelta(seconds=3))
    with db.read() as conn:
        m.refresh(conn)
    assert [x.entry.bank for x in m.match(facts("0" * 64, md5="f" * 32))] == ["two"]
