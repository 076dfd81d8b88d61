"""A server killed with SIGKILL in the middle of a burst of 1,000 reports: once it is started
again on the same database, every report it acknowledged is in a case, every interim measure
came with its webhooks, every webhook queued is delivered, and the reports it never answered
can be sent again safely.

The server is a real `tutela serve` process; the webhooks go to `tests/webhook_receiver.py`, a
real receiver process (failing 10% of requests, so retries happen). The receiver stalls (SIGSTOP)
shortly before the crash, so that webhooks are being sent when the server dies: they stay leased
for a minute, then the restarted server sends them again under the same delivery id.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hooks import Process, Receiver, wait_until
from support import BIN, env_for, free_port, fresh_database, tutela, uid
from tutela.store import Database
from tutela.store import tables as t

SECRET = "whsec-crash-test"
REPORTS = 1000
STALL_AT = 300  # acknowledgements: the receiver stops answering, so webhooks are in flight at the crash
KILL_AFTER = 400  # acknowledgements: the server is killed
THREADS = 8
# A webhook being sent when the server died stays leased for a minute (WebhookSettings.lease):
# then it is sent again. The wait allows for that, and for the receiver's failures.
DRAIN_WITHIN = 150.0


@pytest.fixture
def own_database_url(database_url: str) -> Iterator[str]:
    """A database of this test's own: the assertions cover every report and webhook in it."""
    with fresh_database(database_url) as url:
        yield url


def outbox_rows(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [t.row_dict(r) for r in conn.execute(select(t.webhook_outbox).order_by(t.webhook_outbox.c.id))]


def the_reports(children: list[str], adults: list[str], reporters: list[str], flagger: str) -> list[dict[str, Any]]:
    """1,000 reports, shuffled: trusted flaggers' notices on children's playlists (hidden at
    once), pairs of independent grooming reports (hidden at the second), and plain reports
    that only open or join a case; several land on the same object."""
    rng = random.Random(7)
    reports: list[dict[str, Any]] = []

    def add(obj: str, category: str, reporter: str | None, trusted: bool = False) -> None:
        body: dict[str, Any] = {"report_id": uid("rep"), "object": obj, "category": category, "text": f"report {len(reports)}"}
        if reporter is not None:
            body["reporter"] = reporter
        if trusted:
            body["trusted_flagger"] = True
        reports.append(body)

    for obj in children[:150]:
        add(obj, "child_sexual_exploitation", flagger, trusted=True)
    for obj in children[150:250]:
        first, second = rng.sample(reporters, 2)
        add(obj, "grooming", first)
        add(obj, "grooming", second)
    categories = ["spam", "harassment", "other", "sexual_content", "grooming"]
    while len(reports) < REPORTS:
        obj = rng.choice(adults + children[250:])
        add(obj, rng.choice(categories), rng.choice([*reporters, None]))
    rng.shuffle(reports)
    return reports


def test_a_server_killed_mid_burst_keeps_every_acknowledged_report_and_delivers_every_webhook(
    own_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    receiver = Receiver(tmp_path, fail_rate=0.1, secret=SECRET)
    env = env_for(
        own_database_url,
        TUTELA_PORT=str(port),
        TUTELA_WEBHOOK_URL=receiver.url,
        TUTELA_WEBHOOK_SECRET=SECRET,
        TUTELA_WEBHOOK_BACKOFF="0.2",
        TUTELA_WEBHOOK_BACKOFF_MAX="3",
    )
    tutela(env, "db", "upgrade")
    keys = {
        s: tutela(env, "keys", "create", "--name", f"test-{s}", "--scope", s).stdout.strip() for s in ("platform", "moderator")
    }
    url = f"http://127.0.0.1:{port}"
    server = Process([str(BIN / "tutela"), "serve"], tmp_path / "server.log", f"{url}/readyz", env)
    platform = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['platform']}"}, timeout=30)
    moderation = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['moderator']}"}, timeout=30)
    db = Database(own_database_url)
    receiver.start()
    try:
        server.start()

        # The platform mirrors its accounts and objects: 300 children's playlists, 50 adults'.
        def put(path: str, body: dict[str, Any]) -> None:
            r = platform.put(path, json=body)
            assert r.status_code in (200, 201), r.text

        flagger = uid("flagger")
        reporters = [uid("reporter") for _ in range(30)]
        for who in [flagger, *reporters]:
            put(f"/v1/accounts/{who}", {"age": {"band": "adult", "basis": "declared"}})
        children, adults = [uid("kidlist") for _ in range(300)], [uid("list") for _ in range(50)]
        for objects, band in ((children, "child"), (adults, "adult")):
            for obj in objects:
                owner = uid(band)
                put(f"/v1/accounts/{owner}", {"age": {"band": band, "basis": "declared"}})
                put(f"/v1/objects/{obj}", {"kind": "playlist", "owner": owner})
        bodies = the_reports(children, adults, reporters, flagger)
        assert len({b["report_id"] for b in bodies}) == REPORTS

        # The burst: 8 threads send the 1,000 reports; the 300th acknowledgement stalls the
        # receiver, the 400th kills the server.
        todo: queue.Queue[dict[str, Any]] = queue.Queue()
        for body in bodies:
            todo.put(body)
        acknowledged: dict[str, dict[str, Any]] = {}  # report_id -> receipt
        unanswered: list[dict[str, Any]] = []
        refused: list[tuple[str, int, str]] = []
        lock = threading.Lock()

        def send() -> None:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['platform']}"}, timeout=30) as http:
                while True:
                    try:
                        body = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        r = http.post("/v1/reports", json=body)
                    except httpx.TransportError:
                        with lock:
                            unanswered.append(body)
                        continue
                    with lock:
                        if r.status_code in (200, 201):
                            acknowledged[body["report_id"]] = r.json()
                            if len(acknowledged) == STALL_AT:
                                os.kill(receiver.pid, signal.SIGSTOP)
                            elif len(acknowledged) == KILL_AFTER:
                                server.kill()
                                # The receiver wakes and reads what the dead server had sent: it
                                # accepts some of it, which the restarted server will send again.
                                os.kill(receiver.pid, signal.SIGCONT)
                        else:
                            refused.append((body["report_id"], r.status_code, r.text))

        threads = [threading.Thread(target=send, name=f"burst-{i}") for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not refused, refused[:5]
        assert len(acknowledged) >= KILL_AFTER and len(acknowledged) + len(unanswered) == REPORTS
        assert len(unanswered) >= REPORTS - KILL_AFTER - THREADS, "the server was killed mid-burst"
        with db.read() as conn:
            stored = conn.execute(select(func.count()).select_from(t.reports)).scalar_one()
        # Committed but never answered: at most the requests in flight when it died.
        assert len(acknowledged) <= stored <= len(acknowledged) + THREADS

        at_crash = outbox_rows(db)
        assert any(r["status"] == "pending" and r["lease_until"] is not None for r in at_crash), "a webhook was being sent"
        assert any(r["status"] == "pending" and r["lease_until"] is None for r in at_crash), "webhooks were waiting"

        # Started again on the same database.
        server.start()

        # Every acknowledged report is there, in the case its receipt named, and that case exists.
        cases: dict[str, set[str]] = defaultdict(set)  # case -> Tutela's report ids
        for report_id, receipt in acknowledged.items():
            r = platform.get(f"/v1/reports/{report_id}")
            assert r.status_code == 200, r.text
            assert r.json()["id"] == receipt["id"] and r.json()["case_id"] == receipt["case_id"]
            cases[receipt["case_id"]].add(receipt["id"])
        for case_id, report_ids in cases.items():
            r = moderation.get(f"/v1/cases/{case_id}")
            assert r.status_code == 200, r.text
            assert report_ids <= {rep["id"] for rep in r.json()["reports"]}

        # The unanswered reports are sent again: each is received once, whether or not it had
        # been committed before the crash; an acknowledged one sent again is a replay.
        replayed, answered = 0, len(acknowledged)
        for body in unanswered:
            r = platform.post("/v1/reports", json=body)
            assert r.status_code in (200, 201), r.text
            replayed += r.status_code == 200
            acknowledged[body["report_id"]] = r.json()
        assert replayed == stored - answered  # committed before the crash, its answer lost: now a replay
        for body in random.Random(1).sample(bodies, 50):
            r = platform.post("/v1/reports", json=body)
            assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true", r.text
            assert r.json()["id"] == acknowledged[body["report_id"]]["id"]
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(t.reports)).scalar_one() == REPORTS
            hidden = {case_id for (case_id,) in conn.execute(select(t.cases.c.id).where(t.cases.c.interim_action.is_not(None)))}
            trusted_cases = {
                case_id for (case_id,) in conn.execute(select(t.reports.c.case_id).where(t.reports.c.trusted_flagger.is_(True)))
            }
        assert trusted_cases <= hidden and len(trusted_cases) == 150  # every trusted notice on a child's playlist hid it

        # Every webhook queued is delivered and received: those queued before the crash, those
        # being sent when it happened (sent again once their lease ran out), and those queued since.
        wait_until(
            lambda: all(r["status"] == "delivered" for r in outbox_rows(db)), DRAIN_WITHIN, "every webhook to be delivered", 0.5
        )
        rows = outbox_rows(db)
        status = tutela(env, "webhooks", "status").stdout
        assert f"delivered: {len(rows):,}" in status and "pending: 0" in status and "dead: 0" in status, status
    finally:
        platform.close()
        moderation.close()
        server.stop()
        receiver.kill()
        db.dispose()

    # The receiver got every one of them, a repeat always under the same id with the same payload,
    # and the events about one subject in the order they were queued.
    log = receiver.received()
    by_delivery: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in log:
        by_delivery[entry["delivery_id"]].append(entry)
    assert set(by_delivery) == {r["delivery_id"] for r in rows}, "received exactly the webhooks queued"
    for row in rows:
        assert all(e["payload"] == row["payload"] for e in by_delivery[row["delivery_id"]]), row["delivery_id"]
    first_seen: dict[str, int] = {}
    for position, entry in enumerate(log):
        first_seen.setdefault(entry["delivery_id"], position)
    per_key: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        per_key[row["key"]].append(first_seen[row["delivery_id"]])
    assert all(positions == sorted(positions) for positions in per_key.values())

    # An interim measure and its webhooks committed together: every hidden case announced its
    # hide and its statement of reasons, and no case that was not hidden did.
    interim: Counter[str] = Counter()
    statements: Counter[str] = Counter()
    for row in rows:
        data = row["payload"]["data"]
        if row["event"] == "action.taken":
            assert data["interim"] and data["action"] == "hide", row
            interim[data["case_id"]] += 1
        elif row["event"] == "statement_of_reasons":
            statements[data["case_id"]] += 1
    assert set(interim) == hidden and statements == interim
    # ... exactly once, even when reports on one case commit at the same time (PostgreSQL: the
    # case row is locked while a report changes it).
    twice = sorted(case_id for case_id, n in interim.items() if n > 1)
    assert not twice, twice
