"""Webhook delivery against a real receiver process that fails 30% of requests and is down for
a minute: every action is delivered, none is lost, a repeat carries the same delivery id and
the same payload, and the events about one subject arrive in the order they were queued.

The receiver is `tests/webhook_receiver.py`, a separate process: it checks each signature,
answers 500 to a seeded 30% of requests, and logs every request it accepted, in the order it
accepted them. The server is a real `tutela serve` with the backoff shortened (0.2 s, at most
3 s) so that the scenario takes minutes, not hours.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hooks import Receiver, wait_until
from support import Api, Server, fresh_database, running_server, tutela, uid
from tutela.store import Database
from tutela.store import tables as t

SECRET = "whsec-delivery-test"
DOWNTIME = 60.0  # seconds the receiver is away
DRAIN_WITHIN = 120.0  # seconds the outbox has to empty once the receiver is back


@pytest.fixture
def own_database_url(database_url: str) -> Iterator[str]:
    """A database of this test's own: the assertions below cover every row of its outbox, so no
    other test's webhooks may be in it."""
    with fresh_database(database_url) as url:
        yield url


def outbox_rows(url: str) -> list[dict[str, Any]]:
    db = Database(url)
    try:
        with db.read() as conn:
            return [t.row_dict(r) for r in conn.execute(select(t.webhook_outbox).order_by(t.webhook_outbox.c.id))]
    finally:
        db.dispose()


class Platform:
    """The reports and moderator decisions the scenario makes, and what it was told back."""

    def __init__(self, server: Server) -> None:
        self.api: Api = server.client("platform")
        self.moderation: Api = server.client("moderator")
        self.flagger = uid("flagger")
        self.api.account(self.flagger, band="adult")
        self.hidden_cases: set[str] = set()  # cases whose receipt said: hidden pending review
        self.case_of: dict[str, str] = {}  # object -> its open case

    def child_playlist(self) -> str:
        child, obj = uid("child"), uid("list")
        self.api.account(child, band="child")
        self.api.playlist(obj, owner=child)
        return obj

    def report(self, obj: str, *, expect: int = 201) -> dict[str, Any]:
        body = {
            "report_id": uid("rep"),
            "reporter": self.flagger,
            "trusted_flagger": True,
            "object": obj,
            "category": "child_sexual_exploitation",
            "text": "sexualised pictures of a child",
        }
        r = self.api.http.post("/v1/reports", json=body)
        assert r.status_code == expect, r.text
        receipt: dict[str, Any] = r.json()
        assert receipt["interim_action"] == "hide", receipt  # a trusted flagger, a child's content
        self.hidden_cases.add(receipt["case_id"])
        self.case_of[obj] = receipt["case_id"]
        return receipt

    def remove(self, obj: str) -> None:
        """A moderator confirms: three more webhooks about the same object (action, statement,
        the reporter's outcome), queued behind the interim hide's two."""
        case_id = self.case_of.pop(obj)
        http = self.moderation.http
        r = http.post(f"/v1/cases/{case_id}/claim", json={"moderator": "mod-ada"})
        assert r.status_code == 200, r.text
        r = http.post(
            f"/v1/cases/{case_id}/decision",
            json={"moderator": "mod-ada", "action": "remove", "reason": "Sexualised images of a child."},
        )
        assert r.status_code == 200, r.text
        assert len(r.json()["webhooks"]) >= 2

    def close(self) -> None:
        self.api.http.close()
        self.moderation.http.close()


def test_every_action_is_delivered_through_failures_and_a_minute_of_downtime(own_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, fail_rate=0.3, secret=SECRET)
    receiver.start()
    env = {
        "TUTELA_WEBHOOK_URL": receiver.url,
        "TUTELA_WEBHOOK_SECRET": SECRET,
        "TUTELA_WEBHOOK_BACKOFF": "0.2",
        "TUTELA_WEBHOOK_BACKOFF_MAX": "3",
        # With the backoff capped at 3 s, a minute away costs a webhook about 25 attempts (at the
        # default cap of an hour, about 7): the dead-letter limit is raised in proportion, since
        # dead letters are not what this test is about.
        "TUTELA_WEBHOOK_MAX_ATTEMPTS": "100",
    }
    try:
        with running_server(own_database_url, **env) as server:
            platform = Platform(server)
            try:
                # 1. The receiver is up (failing 30% of the time): 25 children's playlists reported
                #    by a trusted flagger, each hidden at once; 5 of them confirmed by a moderator.
                before = [platform.child_playlist() for _ in range(25)]
                for obj in before:
                    platform.report(obj)
                for obj in before[:5]:
                    platform.remove(obj)
                # A second report on an object already hidden attaches to the same case: nothing new to announce.
                again = platform.report(before[10])
                assert again["case_id"] == platform.case_of[before[10]]
                wait_until(lambda: len(receiver.received()) >= 20, 30, "the receiver to accept webhooks")

                # 2. The receiver is killed mid-stream, and stays away for a minute while reports go on.
                receiver.kill()
                killed_at = time.monotonic()
                during = [platform.child_playlist() for _ in range(35)]
                for i, obj in enumerate(during):
                    platform.report(obj)
                    if i % 7 == 6:
                        platform.remove(obj)
                        time.sleep(DOWNTIME * 0.6 / 5)  # spread the reports over the downtime
                for obj in before[:3]:  # decided earlier: a new report opens a new case, hidden again
                    platform.report(obj)
                rows = outbox_rows(own_database_url)
                pending = [r for r in rows if r["status"] == "pending"]
                assert pending, "webhooks queued while the receiver is away wait in the outbox"
                wait_until(
                    lambda: any(r["status"] == "pending" and r["attempts"] >= 3 for r in outbox_rows(own_database_url)),
                    DOWNTIME,
                    "the deliverer to keep trying while the receiver is away",
                    every=1.0,
                )
                assert time.monotonic() - killed_at < DOWNTIME, "the scenario's reports took longer than the downtime"
                time.sleep(DOWNTIME - (time.monotonic() - killed_at))

                # 3. The receiver comes back on the same port (a different failure sequence); a few more reports.
                receiver.start(seed=2)
                after = [platform.child_playlist() for _ in range(10)]
                for obj in after:
                    platform.report(obj)

                # 4. The outbox drains.
                wait_until(
                    lambda: all(r["status"] != "pending" for r in outbox_rows(own_database_url)),
                    DRAIN_WITHIN,
                    "every webhook to be delivered",
                    every=0.5,
                )
                status = tutela(server.env, "webhooks", "status").stdout
                assert "pending: 0" in status and "dead: 0" in status, status
            finally:
                platform.close()
    finally:
        receiver.kill()

    rows = outbox_rows(own_database_url)
    received = receiver.received()
    hidden = platform.hidden_cases
    assert len(hidden) == 25 + 35 + 3 + 10

    # Nothing dead, nothing pending.
    assert {r["status"] for r in rows} == {"delivered"}, [(r["delivery_id"], r["status"], r["last_error"]) for r in rows]

    # Every interim hide and its statement of reasons was queued with its case (none lost on Tutela's side).
    interim_actions = [r for r in rows if r["event"] == "action.taken" and r["payload"]["data"]["interim"]]
    assert sorted(r["payload"]["data"]["case_id"] for r in interim_actions) == sorted(hidden)
    statements = Counter(r["key"] for r in rows if r["event"] == "statement_of_reasons")
    actions = Counter(r["key"] for r in rows if r["event"] == "action.taken")
    assert statements == actions  # every hide and removal of a child's playlist told its author why

    # Every row was received at least once, under its own delivery id, as queued.
    by_delivery: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in received:
        by_delivery[entry["delivery_id"]].append(entry)
    queued = {r["delivery_id"]: r for r in rows}
    assert set(by_delivery) == set(queued), "received exactly the webhooks queued: none lost, none invented"
    for delivery_id, entries in by_delivery.items():
        row = queued[delivery_id]
        assert all(e["payload"] == entries[0]["payload"] for e in entries), f"{delivery_id} was repeated with another payload"
        assert entries[0]["payload"]["id"] == delivery_id and entries[0]["payload"]["type"] == row["event"] == entries[0]["event"]
        assert entries[0]["payload"] == row["payload"]
        # The attempt that succeeded last is the one the outbox counted.
        assert max(e["attempt"] for e in entries) == row["attempts"], (delivery_id, [e["attempt"] for e in entries], row)

    # The receiver saw retries: failures answered with 500, and the minute it was away.
    retried = [r for r in rows if r["attempts"] > 1]
    assert retried and any(e["attempt"] > 1 for e in received)
    assert max(r["attempts"] for r in rows) >= 5, "some webhook was retried through the downtime"

    # In order per key: the first receipt of each event comes after the first receipt of every
    # earlier event about the same subject.
    first_seen: dict[str, int] = {}
    for position, entry in enumerate(received):
        first_seen.setdefault(entry["delivery_id"], position)
    per_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:  # in outbox id order
        per_key[r["key"]].append(r)
    several = {k: v for k, v in per_key.items() if len(v) >= 5}
    assert len(several) >= 5, "the scenario queues several events about one object"
    for key, key_rows in per_key.items():
        positions = [first_seen[r["delivery_id"]] for r in key_rows]
        assert positions == sorted(positions), f"{key}: received out of order: {[(r['id'], r['event']) for r in key_rows]}"
