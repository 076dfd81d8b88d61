"""Reading and writing the domain through SQLAlchemy Core.

Every function takes an open `Connection`; the caller owns the transaction (`Database.write`),
so a change, its decision, its signals and its follow-up work commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from tutela.check import Outcome
from tutela.ids import new_id
from tutela.model import (
    Account,
    AgeBand,
    AgeBasis,
    AgeState,
    Change,
    ConnectionKind,
    ContentObject,
    Followup,
    ObjectKind,
    Visibility,
)
from tutela.model import (
    Connection as Link,
)
from tutela.store import tables as t

# Follow-ups that become queued work. record_contact is carried out here, in the decision's
# transaction; open_case too, by the check route (tutela.cases.workflow.open_for_decision).
QUEUED_FOLLOWUPS = frozenset({Followup.NOTIFY, Followup.PRESERVE_EVIDENCE, Followup.REPORT_AUTHORITY, Followup.SAFEGUARD})


# ---- accounts -------------------------------------------------------------------------------


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        age=AgeState(
            band=AgeBand(row.age_band),
            basis=AgeBasis(row.age_basis),
            confidence=row.age_confidence,
            source=row.age_source,
            set_at=row.age_set_at,
            birth_date=row.birth_date,
        ),
    )


# The check path's statements are built once: building one costs more than running it.
_ACCOUNT = select(t.accounts).where(t.accounts.c.id == bindparam("id"))
_ACCOUNTS = select(t.accounts).where(t.accounts.c.id.in_(bindparam("ids", expanding=True)))
_OBJECT = select(t.objects).where(t.objects.c.id == bindparam("id"))
_COLLABORATORS = select(t.collaborators.c.account_id).where(t.collaborators.c.object_id == bindparam("id"))
_LINKS = (
    select(t.connections.c.source, t.connections.c.target, t.connections.c.kind)
    .where(
        or_(
            and_(t.connections.c.source == bindparam("account"), t.connections.c.target.in_(bindparam("others", expanding=True))),
            and_(t.connections.c.target == bindparam("account"), t.connections.c.source.in_(bindparam("others", expanding=True))),
        )
    )
    .order_by(t.connections.c.id)
)
_ALL_LINKS = (
    select(t.connections.c.source, t.connections.c.target, t.connections.c.kind)
    .where(or_(t.connections.c.source == bindparam("account"), t.connections.c.target == bindparam("account")))
    .order_by(t.connections.c.id)
)


def get_account(conn: Connection, account_id: str) -> Account | None:
    row = conn.execute(_ACCOUNT, {"id": account_id}).first()
    return _account(row) if row else None


_RESTRICTIONS = select(t.restrictions.c.account_id, t.restrictions.c.kind).where(
    t.restrictions.c.account_id.in_(bindparam("ids", expanding=True)),
    t.restrictions.c.lifted_at.is_(None),
    or_(t.restrictions.c.ends_at.is_(None), t.restrictions.c.ends_at > bindparam("now")),
)


def get_accounts(conn: Connection, ids: Iterable[str], now: dt.datetime | None = None) -> dict[str, Account]:
    """The accounts among `ids`, with the measures in force on them at `now`."""
    wanted = list(ids)
    found = {r.id: _account(r) for r in conn.execute(_ACCOUNTS, {"ids": wanted})}
    if found:
        measures: dict[str, set[str]] = {}
        for account_id, kind in conn.execute(_RESTRICTIONS, {"ids": list(found), "now": now or dt.datetime.now(dt.UTC)}):
            measures.setdefault(account_id, set()).add(kind)
        for account_id, kinds in measures.items():
            found[account_id] = Account(account_id, found[account_id].age, frozenset(kinds))
    return found


def account_timestamps(conn: Connection, account_id: str) -> tuple[dt.datetime, dt.datetime] | None:
    row = conn.execute(select(t.accounts.c.created_at, t.accounts.c.updated_at).where(t.accounts.c.id == account_id)).first()
    return (row.created_at, row.updated_at) if row else None


def upsert_account(conn: Connection, account: Account, now: dt.datetime) -> bool:
    """Insert or replace the account's age state. Returns True when the account is new."""
    age = account.age
    values = {
        "age_band": age.band.value,
        "age_basis": age.basis.value,
        "age_confidence": age.confidence,
        "age_source": age.source,
        "age_set_at": age.set_at or now,
        "birth_date": age.birth_date,
        "updated_at": now,
    }
    updated = conn.execute(update(t.accounts).where(t.accounts.c.id == account.id).values(**values))
    if updated.rowcount:
        return False
    conn.execute(insert(t.accounts).values(id=account.id, created_at=now, **values))
    return True


def missing_accounts(conn: Connection, ids: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = set(conn.scalars(select(t.accounts.c.id).where(t.accounts.c.id.in_(wanted))))
    return [i for i in wanted if i not in found]


# ---- connections ----------------------------------------------------------------------------


def _ends(link: Link) -> tuple[str, str]:
    if link.kind.mutual and link.target < link.source:
        return link.target, link.source
    return link.source, link.target


def put_connection(conn: Connection, link: Link, now: dt.datetime) -> bool:
    """Record a connection. Returns True when it did not exist before."""
    source, target = _ends(link)
    exists = conn.execute(
        select(t.connections.c.id).where(
            t.connections.c.source == source, t.connections.c.target == target, t.connections.c.kind == link.kind.value
        )
    ).first()
    if exists:
        return False
    conn.execute(insert(t.connections).values(source=source, target=target, kind=link.kind.value, created_at=now))
    return True


def delete_connection(conn: Connection, link: Link) -> bool:
    source, target = _ends(link)
    result = conn.execute(
        delete(t.connections).where(
            t.connections.c.source == source, t.connections.c.target == target, t.connections.c.kind == link.kind.value
        )
    )
    return bool(result.rowcount)


def connections_of(conn: Connection, account_id: str, others: set[str] | None = None) -> list[Link]:
    """Connections of `account_id`, in either direction; only those with `others` if given."""
    if others is None:
        rows = conn.execute(_ALL_LINKS, {"account": account_id})
    else:
        rows = conn.execute(_LINKS, {"account": account_id, "others": sorted(others)})
    return [Link(r.source, r.target, ConnectionKind(r.kind)) for r in rows]


# ---- content objects ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredObject:
    obj: ContentObject
    fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


def get_object(conn: Connection, object_id: str) -> StoredObject | None:
    row = conn.execute(_OBJECT, {"id": object_id}).first()
    if row is None:
        return None
    collab = conn.scalars(_COLLABORATORS, {"id": object_id}).all()
    obj = ContentObject(
        id=row.id,
        kind=ObjectKind(row.kind),
        owner=row.owner,
        visibility=Visibility(row.visibility),
        collaborators=frozenset(collab),
    )
    return StoredObject(obj, dict(row.fields), row.created_at, row.updated_at)


def upsert_object(conn: Connection, obj: ContentObject, fields: dict[str, Any], now: dt.datetime) -> bool:
    """Insert or replace the object and its collaborators. Returns True when it is new."""
    values = {"owner": obj.owner, "visibility": obj.visibility.value, "fields": fields, "updated_at": now}
    updated = conn.execute(update(t.objects).where(t.objects.c.id == obj.id).values(**values))
    created = not updated.rowcount
    if created:
        conn.execute(insert(t.objects).values(id=obj.id, kind=obj.kind.value, created_at=now, **values))
    conn.execute(delete(t.collaborators).where(t.collaborators.c.object_id == obj.id))
    if obj.collaborators:
        conn.execute(insert(t.collaborators), [{"object_id": obj.id, "account_id": a} for a in sorted(obj.collaborators)])
    return created


class StoreWorld:
    """The `World` the decision path reads, backed by the store."""

    def __init__(self, conn: Connection, now: dt.datetime | None = None) -> None:
        self.conn = conn
        self.now = now

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        return get_accounts(self.conn, account_ids, self.now)

    def content_object(self, object_id: str) -> ContentObject | None:
        stored = get_object(self.conn, object_id)
        return stored.obj if stored else None

    def connections(self, account_id: str, others: set[str]) -> list[Link]:
        return connections_of(self.conn, account_id, others)


# ---- changes and decisions ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDecision:
    id: str
    change: Change
    verdict: str
    policy_version: str
    reasons: list[dict[str, Any]]
    shadow: list[dict[str, Any]]
    rule_errors: list[dict[str, str]]
    followups: list[str]
    inputs: dict[str, Any]
    created_at: dt.datetime
    request_sha256: str

    @property
    def signals(self) -> list[dict[str, Any]]:
        signals: list[dict[str, Any]] = self.inputs.get("signals", [])
        return signals


_DECISION_BY_ID = select(t.decisions).where(t.decisions.c.id == bindparam("key"))
_DECISION_BY_CHANGE = select(t.decisions).where(t.decisions.c.change_id == bindparam("key"))
_INSERT_DECISION = insert(t.decisions)
_INSERT_CONTACT = insert(t.contact_events)
_INSERT_FOLLOWUP = insert(t.followups)


def find_decision(conn: Connection, *, decision_id: str | None = None, change_id: str | None = None) -> StoredDecision | None:
    if decision_id is not None:
        row = conn.execute(_DECISION_BY_ID, {"key": decision_id}).first()
    else:
        row = conn.execute(_DECISION_BY_CHANGE, {"key": change_id}).first()
    if row is None:
        return None
    return StoredDecision(
        id=row.id,
        change=Change(row.change_id, row.actor, row.object_id, row.field, row.text, tuple(row.tags)),
        verdict=row.verdict,
        policy_version=row.policy_version,
        reasons=row.reasons,
        shadow=row.shadow,
        rule_errors=row.rule_errors,
        followups=row.followups,
        inputs=row.inputs,
        created_at=row.created_at,
        request_sha256=row.request_sha256,
    )


def record_decision(conn: Connection, outcome: Outcome, request_sha256: str, now: dt.datetime) -> StoredDecision:
    """Write the change with its decision, any contact it made, and its queued follow-up
    work. Call inside one transaction; an IntegrityError on change_id means a concurrent
    request with the same change id committed first."""
    change, ev = outcome.change, outcome.evaluation
    stored = StoredDecision(
        id=new_id("dec"),
        change=change,
        verdict=ev.verdict.value,
        policy_version=outcome.policy_version,
        reasons=[h.as_dict() for h in ev.hits],
        shadow=[h.as_dict() for h in ev.shadow_hits],
        rule_errors=[e.as_dict() for e in ev.errors],
        followups=[f.value for f in ev.followups],
        inputs=outcome.inputs,
        created_at=now,
        request_sha256=request_sha256,
    )
    conn.execute(
        _INSERT_DECISION,
        {
            "id": stored.id,
            "change_id": change.id,
            "actor": change.actor,
            "object_id": change.object_id,
            "field": change.field,
            "text": change.text,
            "tags": list(change.tags),
            "request_sha256": request_sha256,
            "verdict": stored.verdict,
            "policy_version": stored.policy_version,
            "reasons": stored.reasons,
            "shadow": stored.shadow,
            "rule_errors": stored.rule_errors,
            "followups": stored.followups,
            "inputs": stored.inputs,
            "created_at": now,
        },
    )
    if Followup.RECORD_CONTACT in ev.followups:
        reached = [(role, party) for role, party in outcome.parties.reached() if party.protected]
        if reached:
            conn.execute(
                _INSERT_CONTACT,
                [
                    {
                        "actor": change.actor,
                        "target": party.id,
                        "role": role,
                        "connected": party.connected_to_actor,
                        "verdict": stored.verdict,
                        "decision_id": stored.id,
                        "at": now,
                    }
                    for role, party in reached
                ],
            )
    queued = [f for f in ev.followups if f in QUEUED_FOLLOWUPS]
    if queued:
        conn.execute(
            _INSERT_FOLLOWUP,
            [
                {
                    "decision_id": stored.id,
                    "kind": f.value,
                    "status": "pending",
                    "payload": {"change_id": change.id, "rules": [h.rule for h in ev.hits if f in h.followups]},
                    "created_at": now,
                }
                for f in queued
            ],
        )
    return stored


def iter_decision_inputs(conn: Connection, limit: int) -> Sequence[Any]:
    """The newest decisions' verdicts and inputs, for replay against another policy."""
    d = t.decisions.c
    return conn.execute(select(d.id, d.verdict, d.inputs).order_by(d.id.desc()).limit(limit)).all()


def contact_events_of(conn: Connection, actor: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(t.contact_events).where(t.contact_events.c.actor == actor).order_by(t.contact_events.c.id))
    return [t.row_dict(r) for r in rows]


def pending_followups(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(t.followups).where(t.followups.c.status == "pending").order_by(t.followups.c.id))
    return [t.row_dict(r) for r in rows]


# ---- API keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredKey:
    id: int
    prefix: str
    secret_sha256: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _key(row: Any) -> StoredKey:
    return StoredKey(row.id, row.prefix, row.secret_sha256, row.name, tuple(row.scopes), row.created_at, row.revoked_at)


def add_key(conn: Connection, prefix: str, secret_sha256: str, name: str, scopes: Sequence[str], now: dt.datetime) -> None:
    conn.execute(
        insert(t.api_keys).values(prefix=prefix, secret_sha256=secret_sha256, name=name, scopes=list(scopes), created_at=now)
    )


def find_key(conn: Connection, prefix: str) -> StoredKey | None:
    row = conn.execute(select(t.api_keys).where(t.api_keys.c.prefix == prefix)).first()
    return _key(row) if row else None


def list_keys(conn: Connection) -> list[StoredKey]:
    return [_key(r) for r in conn.execute(select(t.api_keys).order_by(t.api_keys.c.id))]


def revoke_key(conn: Connection, prefix: str, now: dt.datetime) -> bool:
    result = conn.execute(
        update(t.api_keys).where(t.api_keys.c.prefix == prefix, t.api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)
