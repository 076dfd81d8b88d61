"""The transactional outbox: webhooks written with what they announce, delivered after.

`enqueue` writes a row in the caller's transaction, so an action and its webhook commit
together or not at all. `Deliverer` (a thread in `tutela serve`, or `tutela worker`) sends
the rows:

- **at least once**: a row is marked delivered only after a 2xx answer; a worker that dies
  mid-send leaves a lease that expires, and the row is sent again with the same delivery id
  (`Tutela-Delivery`), which is how a receiver drops a duplicate;
- **in order per key** (the object or account an event concerns): only the oldest undelivered
  row of a key is eligible, so a later event never overtakes an earlier one;
- **with retries**: a failure (non-2xx, timeout, refused connection) is retried after an
  exponential backoff with jitter; after `max_attempts` the row is dead-lettered (status
  `dead`), which unblocks the key's later rows; `tutela webhooks redeliver` puts it back.

Several workers may run against one PostgreSQL database: a row is claimed by a conditional
UPDATE of its lease, so only one of them sends it at a time.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter, Histogram
from sqlalchemy import Connection, and_, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from tutela import __version__
from tutela.actions.signing import HEADER, sign
from tutela.ids import new_id
from tutela.store import Database
from tutela.store import tables as t

log = logging.getLogger("tutela.webhooks")
o = t.webhook_outbox
_INSERT = insert(o)
ATTEMPTS = Counter("tutela_webhook_attempts_total", "Webhook delivery attempts, by event and result", ["event", "result"])
LAG = Histogram(
    "tutela_webhook_delivery_seconds",
    "From the commit that queued a webhook to the receiver's 2xx",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 300.0, 3600.0),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enqueue(conn: Connection, event: str, key: str, data: dict[str, Any], now: dt.datetime) -> str:
    """Queue one webhook in the caller's transaction; returns its delivery id."""
    delivery_id = new_id("whd")
    payload = {"id": delivery_id, "type": event, "created_at": now.isoformat(), "data": data}
    conn.execute(
        _INSERT,
        {
            "delivery_id": delivery_id,
            "event": event,
            "key": key[:200],
            "payload": json.loads(json.dumps(payload, default=str)),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    return delivery_id


@dataclass(frozen=True)
class WebhookSettings:
    url: str | None
    secrets: tuple[str, ...]  # the first signs; more than one during a rotation
    timeout: float = 5.0
    max_attempts: int = 30
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    backoff_max: float = 3600.0
    lease: float = 60.0  # a claimed row is sent again if its worker has not finished by then

    def delay(self, attempts: int) -> float:
        base: float = min(self.backoff_max, self.backoff * 2.0 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class Claimed:
    id: int
    delivery_id: str
    event: str
    key: str
    payload: dict[str, Any]
    attempts: int


def _eligible(now: dt.datetime, limit: int) -> Any:
    earlier = aliased(o)
    blocked = exists().where(and_(earlier.c.key == o.c.key, earlier.c.status == "pending", earlier.c.id < o.c.id))
    return (
        select(o.c.id, o.c.delivery_id, o.c.event, o.c.key, o.c.payload, o.c.attempts)
        .where(o.c.status == "pending", o.c.next_attempt_at <= now, (o.c.lease_until.is_(None)) | (o.c.lease_until < now))
        .where(~blocked)
        .order_by(o.c.id)
        .limit(limit)
    )


def claim(db: Database, settings: WebhookSettings, now: dt.datetime, limit: int = 64) -> list[Claimed]:
    """The rows due now, at most one per key (its oldest), leased to this worker."""
    with db.read() as conn:
        rows = conn.execute(_eligible(now, limit)).all()
    if not rows:
        return []
    claimed: list[Claimed] = []
    until = now + dt.timedelta(seconds=settings.lease)
    with db.write() as conn:
        for r in rows:
            won = conn.execute(
                update(o)
                .where(o.c.id == r.id, o.c.status == "pending", (o.c.lease_until.is_(None)) | (o.c.lease_until < now))
                .values(lease_until=until)
            ).rowcount
            if won:
                claimed.append(Claimed(r.id, r.delivery_id, r.event, r.key, r.payload, r.attempts))
    return claimed


class Deliverer:
    """Sends the outbox's rows to the platform's webhook endpoint from a background thread."""

    def __init__(self, db: Database, settings: WebhookSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.db = db
        self.settings = settings
        self._wake = threading.Event()
        self._client = httpx.Client(
            timeout=settings.timeout, transport=transport, headers={"User-Agent": f"Tutela/{__version__}"}
        )
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook")

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def run(self, stop: threading.Event, poll: float = 0.5, also: Callable[[], None] | None = None) -> None:
        """Deliver until `stop` is set; `also` runs between rounds (the case sweeper)."""
        if not self.settings.url:
            log.warning("TUTELA_WEBHOOK_URL is not set: webhooks are queued in the outbox and will be delivered once it is set")
        while not stop.is_set():
            busy = False
            try:
                if self.settings.url:
                    busy = self.deliver_due() > 0
                if also is not None:
                    also()
            except Exception:
                log.exception("webhook delivery round failed; retrying in %.1f s", poll)
            if not busy:
                self._wake.wait(poll)
                self._wake.clear()
        self._pool.shutdown(wait=True)
        self._client.close()

    def deliver_due(self) -> int:
        """One round: claim what is due, send it concurrently (one row per key), then record
        every result in one transaction (one write per round, not per webhook: with SQLite,
        writes queue behind the requests' own)."""
        batch = claim(self.db, self.settings, utcnow())
        if batch:
            self._record(list(self._pool.map(self._send, batch)))
        return len(batch)

    def _send(self, row: Claimed) -> tuple[Claimed, str | None]:
        body = json.dumps(row.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "Tutela-Delivery": row.delivery_id,
            "Tutela-Event": row.event,
            "Tutela-Attempt": str(row.attempts + 1),
            HEADER: sign(self.settings.secrets, body),
        }
        try:
            assert self.settings.url is not None
            response = self._client.post(self.settings.url, content=body, headers=headers)
            if not 200 <= response.status_code < 300:
                return row, f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as e:
            return row, f"{type(e).__name__}: {e}"[:400]
        return row, None

    def _record(self, results: list[tuple[Claimed, str | None]]) -> None:
        now = utcnow()
        retries: list[tuple[Claimed, str, float]] = []
        with self.db.write() as conn:
            for row, error in results:
                attempts = row.attempts + 1
                if error is None:
                    conn.execute(
                        update(o)
                        .where(o.c.id == row.id)
                        .values(status="delivered", attempts=attempts, delivered_at=now, lease_until=None)
                    )
                elif attempts >= self.settings.max_attempts:
                    conn.execute(
                        update(o)
                        .where(o.c.id == row.id)
                        .values(status="dead", attempts=attempts, last_error=error, lease_until=None)
                    )
                else:
                    delay = self.settings.delay(attempts)
                    conn.execute(
                        update(o)
                        .where(o.c.id == row.id)
                        .values(
                            attempts=attempts,
                            last_error=error,
                            lease_until=None,
                            next_attempt_at=now + dt.timedelta(seconds=delay),
                        )
                    )
                    retries.append((row, error, delay))
        for row, error in results:  # once committed: metrics and logs
            attempts = row.attempts + 1
            if error is None:
                ATTEMPTS.labels(row.event, "delivered").inc()
                LAG.observe(max(0.0, (now - dt.datetime.fromisoformat(row.payload["created_at"])).total_seconds()))
            elif attempts >= self.settings.max_attempts:
                ATTEMPTS.labels(row.event, "dead").inc()
                log.error(
                    "webhook %s (%s for %s) is dead after %d attempts, last error: %s; fix the receiver, then run "
                    "`tutela webhooks redeliver %s`",
                    row.delivery_id,
                    row.event,
                    row.key,
                    attempts,
                    error,
                    row.delivery_id,
                )
        for row, error, delay in retries:
            ATTEMPTS.labels(row.event, "failed").inc()
            log.warning(
                "webhook %s (%s) attempt %d failed: %s; next try in %.1f s",
                row.delivery_id,
                row.event,
                row.attempts + 1,
                error,
                delay,
            )


# ---- operators' view -------------------------------------------------------------------------


def counts(conn: Connection) -> dict[str, int]:
    return {status: n for status, n in conn.execute(select(o.c.status, func.count()).group_by(o.c.status))}


def listing(conn: Connection, status: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(o).where(o.c.status == status).order_by(o.c.id).limit(limit))
    return [t.row_dict(r) for r in rows]


def redeliver(conn: Connection, delivery_ids: Sequence[str] | None, now: dt.datetime) -> int:
    """Put dead rows back in the queue (all dead rows when `delivery_ids` is None)."""
    q = update(o).where(o.c.status == "dead")
    if delivery_ids is not None:
        q = q.where(o.c.delivery_id.in_(list(delivery_ids)))
    return int(conn.execute(q.values(status="pending", attempts=0, next_attempt_at=now, lease_until=None)).rowcount)
