"""The repositories, against SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from support import uid
from tutela.check import evaluate_change
from tutela.detection import default_detectors
from tutela.model import (
    Account,
    AgeBand,
    AgeBasis,
    AgeState,
    Change,
    Connection,
    ConnectionKind,
    ContentObject,
    ObjectKind,
    Verdict,
    Visibility,
)
from tutela.policy import default_policy_path, load_policy, parse_policy
from tutela.store import Database, repo
from tutela.store import tables as t

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
POLICY = load_policy(default_policy_path())


def make_world(db: Database) -> dict[str, str]:
    ids = {"kid": uid("kid"), "friend": uid("friend"), "stranger": uid("stranger")}
    ids["list"] = uid("list")
    with db.write() as conn:
        repo.upsert_account(conn, Account(ids["kid"], AgeState(AgeBand.CHILD, AgeBasis.DECLARED, 0.8, "signup")), NOW)
        for who in ("friend", "stranger"):
            repo.upsert_account(conn, Account(ids[who], AgeState(AgeBand.ADULT, AgeBasis.VERIFIED)), NOW)
        repo.put_connection(conn, Connection(ids["kid"], ids["friend"], ConnectionKind.FRIEND), NOW)
        repo.upsert_object(conn, ContentObject(ids["list"], ObjectKind.PLAYLIST, ids["kid"]), {"title": "mine"}, NOW)
    return ids


def test_accounts_round_trip_with_timezone_aware_times(db: Database) -> None:
    aid = uid("acct")
    age = AgeState(AgeBand.TEEN, AgeBasis.ESTIMATED, 0.7, "estimator:v2", NOW, dt.date(2011, 5, 4))
    with db.write() as conn:
        assert repo.upsert_account(conn, Account(aid, age), NOW) is True
        assert repo.upsert_account(conn, Account(aid, age), NOW + dt.timedelta(1)) is False
    with db.read() as conn:
        got = repo.get_account(conn, aid)
        stamps = repo.account_timestamps(conn, aid)
    assert got == Account(aid, age)
    assert stamps == (NOW, NOW + dt.timedelta(1))
    assert got.age.set_at is not None and got.age.set_at.tzinfo is not None


def test_mutual_connections_are_stored_once_whichever_way_round(db: Database) -> None:
    a, b = uid("a"), uid("b")
    with db.write() as conn:
        for x in (a, b):
            repo.upsert_account(conn, Account(x), NOW)
        assert repo.put_connection(conn, Connection(b, a, ConnectionKind.FRIEND), NOW) is True
        assert repo.put_connection(conn, Connection(a, b, ConnectionKind.FRIEND), NOW) is False
        assert repo.put_connection(conn, Connection(a, b, ConnectionKind.FOLLOW), NOW) is True
        assert repo.put_connection(conn, Connection(b, a, ConnectionKind.FOLLOW), NOW) is True
    with db.read() as conn:
        links = repo.connections_of(conn, a)
        assert len(links) == 3
        assert repo.connections_of(conn, a, {b}) == links
        assert repo.connections_of(conn, a, {uid("nobody")}) == []
    with db.write() as conn:
        assert repo.delete_connection(conn, Connection(a, b, ConnectionKind.FRIEND)) is True
        assert repo.delete_connection(conn, Connection(a, b, ConnectionKind.FRIEND)) is False


def test_objects_keep_their_collaborators_and_fields(db: Database) -> None:
    ids = make_world(db)
    obj = ContentObject(ids["list"], ObjectKind.PLAYLIST, ids["kid"], Visibility.PRIVATE, frozenset({ids["friend"]}))
    with db.write() as conn:
        assert repo.upsert_object(conn, obj, {"title": "new", "description": "d"}, NOW) is False
    with db.read() as conn:
        stored = repo.get_object(conn, ids["list"])
    assert stored is not None and stored.obj == obj and stored.fields == {"title": "new", "description": "d"}


def decide(db: Database, ids: dict[str, str], actor: str, change_id: str | None = None) -> repo.StoredDecision:
    change = Change(change_id or uid("chg"), ids[actor], ids["list"], "title", "hello")
    with db.read() as conn:
        outcome = evaluate_change(repo.StoreWorld(conn), change, POLICY, default_detectors(), NOW)
    with db.write() as conn:
        return repo.record_decision(conn, outcome, "sha", NOW)


def test_a_decision_is_stored_with_its_contact_and_read_back(db: Database) -> None:
    ids = make_world(db)
    stored = decide(db, ids, "stranger")
    assert stored.verdict == "block"
    with db.read() as conn:
        again = repo.find_decision(conn, decision_id=stored.id)
        by_change = repo.find_decision(conn, change_id=stored.change.id)
        events = repo.contact_events_of(conn, ids["stranger"])
    assert again == stored == by_change
    assert again is not None and again.signals[0]["label"] == "contact.stranger"
    assert [(e["target"], e["role"], e["connected"], e["verdict"]) for e in events] == [(ids["kid"], "owner", False, "block")]
    assert events[0]["decision_id"] == stored.id


def test_the_same_change_id_cannot_be_recorded_twice(db: Database) -> None:
    ids = make_world(db)
    change_id = uid("chg")
    decide(db, ids, "friend", change_id)
    with pytest.raises(IntegrityError):
        decide(db, ids, "friend", change_id)


def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    ids = make_world(db)
    change = Change(uid("chg"), ids["stranger"], ids["list"], "title", "x")
    with db.read() as conn:
        outcome = evaluate_change(repo.StoreWorld(conn), change, POLICY, default_detectors(), NOW)

    def count(table: t.Table) -> int:
        with db.read() as conn:
            return int(conn.scalar(select(func.count()).select_from(table)) or 0)

    before = {tbl.name: count(tbl) for tbl in (t.decisions, t.contact_events, t.followups)}
    with pytest.raises(RuntimeError), db.write() as conn:
        repo.record_decision(conn, outcome, "sha", NOW)
        raise RuntimeError("crash after the decision was written, before commit")
    assert {tbl.name: count(tbl) for tbl in (t.decisions, t.contact_events, t.followups)} == before


def test_queued_followups_are_written_with_the_decision(db: Database) -> None:
    ids = make_world(db)
    policy = parse_policy(
        POLICY.source
        and default_policy_path()
        .read_text()
        .replace(
            "message: Only people this account's owner is connected with can change it.\n    followups: [record_contact]",
            "message: Only people this account's owner is connected with can change it.\n    followups: [record_contact, preserve_evidence]",
            1,
        )
    )
    change = Change(uid("chg"), ids["stranger"], ids["list"], "title", "x")
    with db.read() as conn:
        outcome = evaluate_change(repo.StoreWorld(conn), change, policy, default_detectors(), NOW)
    assert outcome.evaluation.verdict is Verdict.BLOCK
    with db.write() as conn:
        stored = repo.record_decision(conn, outcome, "sha", NOW)
    with db.read() as conn:
        pending = [f for f in repo.pending_followups(conn) if f["decision_id"] == stored.id]
    assert [(f["kind"], f["payload"]["rules"]) for f in pending] == [("preserve_evidence", ["stranger-edits-protected-object"])]


def test_replay_reads_the_newest_decisions_first(db: Database) -> None:
    ids = make_world(db)
    first, second = decide(db, ids, "friend"), decide(db, ids, "stranger")
    with db.read() as conn:
        rows = repo.iter_decision_inputs(conn, 1_000_000)
    order = [r.id for r in rows]
    assert order.index(second.id) < order.index(first.id)
    assert POLICY.evaluate(rows[order.index(second.id)].inputs).verdict is Verdict.BLOCK


def test_contact_is_recorded_only_with_protected_accounts(db: Database) -> None:
    ids = make_world(db)
    change = Change(uid("chg"), ids["friend"], ids["list"], "title", "x", (ids["stranger"],))
    with db.read() as conn:
        outcome = evaluate_change(repo.StoreWorld(conn), change, POLICY, default_detectors(), NOW)
    with db.write() as conn:
        repo.record_decision(conn, outcome, "sha", NOW)
    with db.read() as conn:
        events = repo.contact_events_of(conn, ids["friend"])
    assert [(e["target"], e["role"], e["connected"]) for e in events] == [(ids["kid"], "owner", True)]
