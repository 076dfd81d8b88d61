"""What a viewer may see, from what cases decided: for a platform's search and listings.

An object is hidden from everyone while an interim `hide` is in place or after a `hide` or
`remove` that was not later restored, and when its owner is suspended or terminated. After an
`age_restrict`, it is hidden from viewers who are not known adults (children, teens, unknown
age, and logged-out viewers). Objects Tutela has never been told about are listed apart: it
has nothing against them, and the platform decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from tutela.model import Action, AgeBand
from tutela.store import repo
from tutela.store import tables as t

CONTENT_ACTIONS = {Action.HIDE.value, Action.REMOVE.value, Action.AGE_RESTRICT.value, Action.RESTORE.value, Action.ALLOW.value}


@dataclass
class Visibility:
    visible: list[str] = field(default_factory=list)
    hidden: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}
    unknown: list[str] = field(default_factory=list)


def visibility(conn: Connection, viewer: str | None, object_ids: Sequence[str], now: dt.datetime) -> Visibility:
    wanted = list(dict.fromkeys(object_ids))
    out = Visibility()
    o = t.objects.c
    owners = dict(conn.execute(select(o.id, o.owner).where(o.id.in_(wanted))).all()) if wanted else {}
    adult = False
    if viewer is not None:
        account = repo.get_account(conn, viewer)
        adult = account is not None and account.age.current(now.date()).band is AgeBand.ADULT
    state = _content_states(conn, [i for i in wanted if i in owners])
    restricted = repo.get_accounts(conn, set(owners.values()), now) if owners else {}
    for object_id in wanted:
        if object_id not in owners:
            out.unknown.append(object_id)
            continue
        owner = restricted.get(owners[object_id])
        reason = state.get(object_id)
        if reason is None and owner is not None and owner.restrictions & {"suspend", "terminate"}:
            reason = "owner_suspended"
        if reason == "age_restricted" and adult:
            reason = None
        if reason is None:
            out.visible.append(object_id)
        else:
            out.hidden.append({"id": object_id, "reason": reason})
    return out


def _content_states(conn: Connection, object_ids: list[str]) -> dict[str, str]:
    """object id -> hidden_pending_review, hidden, removed or age_restricted, by the latest
    measure of each object's cases."""
    if not object_ids:
        return {}
    c = t.cases.c
    rows = conn.execute(
        select(c.subject_id, c.status, c.interim_action, c.decision, c.updated_at)
        .where(c.subject_kind == "object", c.subject_id.in_(object_ids))
        .order_by(c.updated_at)
    ).all()
    states: dict[str, str] = {}
    for subject_id, status, interim, decision, _ in rows:
        carried = (decision or {}).get("carried_out")
        if status == "open" and interim == Action.HIDE.value:
            states[subject_id] = "hidden_pending_review"
        elif carried in CONTENT_ACTIONS:
            if carried in (Action.RESTORE.value, Action.ALLOW.value):
                states.pop(subject_id, None)
            else:
                states[subject_id] = {"hide": "hidden", "remove": "removed", "age_restrict": "age_restricted"}[carried]
    return states
