"""Carrying out an action: what the platform is told, and what Tutela itself remembers.

`carry_out` runs inside the transaction of the decision that takes the action (a moderator's,
an interim measure, a strike threshold), and writes:

- an `action.taken` webhook for the platform to carry out (hide, remove, suspend, ...);
- a `statement_of_reasons` webhook addressed to the affected user, for every restriction
  (DSA Art. 17);
- account measures (`restrictions`) and strikes, and the measure a strike threshold calls for;
- for confirmed abuse imagery removed, its hashes in the `tutela-takedowns` bank, so that a
  re-upload is refused at the check (the bank matchers pick the change up within a second).

A termination is a `terminate` restriction; the account's identifiers, kept as the platform
sends them (tutela.cases.workflow.record_identifiers), are what a re-registration is matched on.
Children are never given strikes: a minor's account may need safeguarding, never escalating
penalties ("safeguard, never punish"); a moderator may still take a measure explicitly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, update

from tutela import audit
from tutela.actions import outbox
from tutela.actions.statements import statement
from tutela.cases.rules import Casework
from tutela.contact import MINOR_BANDS
from tutela.hashbank import banks
from tutela.hashbank.formats import BankEntry
from tutela.ids import new_id
from tutela.model import Action, ReportCategory
from tutela.store import repo
from tutela.store import tables as t

TAKEDOWN_BANK = "tutela-takedowns"


@dataclass(frozen=True)
class Measure:
    """One action on one case, and everything needed to explain it."""

    case_id: str
    action: Action
    category: ReportCategory
    subject_kind: str  # object or account
    subject_id: str
    account: str | None  # the account responsible (the object's author), who is told
    reason: str
    ground: str | None  # illegal or terms; None for allow and restore
    source: str  # DSA source_type
    moderator: str | None  # None: automated (an interim measure, a strike threshold)
    automated_detection: bool
    interim: bool = False
    duration: dt.timedelta | None = None  # suspensions
    images: bool = False  # the subject's content includes images (the statement's content type)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Carried:
    deliveries: list[str] = field(default_factory=list)
    strikes: int = 0  # the account's strikes in the window, after this action
    banked: int = 0  # hashes added to the takedown bank
    followed_by: list[Action] = field(default_factory=list)  # measures strike thresholds added


def subject_key(kind: str, subject_id: str) -> str:
    return f"{kind}:{subject_id}"


def carry_out(conn: Connection, m: Measure, casework: Casework, now: dt.datetime) -> Carried:
    done = Carried()
    until = now + m.duration if m.duration else None
    target_kind, target_id = (
        ("account", m.account)
        if not m.action.on_content and m.action is not Action.ALLOW and m.account
        else (m.subject_kind, m.subject_id)
    )
    data = {
        "case_id": m.case_id,
        "action": m.action.value,
        "subject": {"kind": target_kind, "id": target_id},
        "case_subject": {"kind": m.subject_kind, "id": m.subject_id},
        "account": m.account,
        "category": m.category.value,
        "reason": m.reason,
        "ground": m.ground,
        "interim": m.interim,
        "automated": m.moderator is None,
        "until": until.isoformat() if until else None,
        **m.extra,
    }
    done.deliveries.append(outbox.enqueue(conn, "action.taken", subject_key(target_kind, target_id), data, now))
    if m.action.restricts and m.account:
        sor = statement(
            statement_id=new_id("sor"),
            action=m.action,
            category=m.category,
            account=m.account,
            subject_kind=target_kind,
            subject_id=target_id,
            facts=m.reason,
            ground=m.ground or "terms",
            source=m.source,
            automated_detection=m.automated_detection,
            automated_decision=m.moderator is None,
            interim=m.interim,
            until=until,
            case_id=m.case_id,
            now=now,
            images=m.images,
        )
        done.deliveries.append(outbox.enqueue(conn, "statement_of_reasons", subject_key(target_kind, target_id), sor, now))
    if m.account and m.action in (Action.RESTRICT_CONTACT, Action.SUSPEND, Action.TERMINATE):
        conn.execute(
            t.restrictions.insert().values(
                account_id=m.account, kind=m.action.value, case_id=m.case_id, starts_at=now, ends_at=until
            )
        )
    if m.action in (Action.ALLOW, Action.RESTORE) and m.account:
        # Lifting: this case's measures on accounts end (interim ones, suspensions a strike
        # threshold added, ...), each announced; an overturned decision's strikes go.
        case_subject = {"kind": m.subject_kind, "id": m.subject_id}
        done.deliveries.extend(lift_measures(conn, m.case_id, case_subject, m.category, m.reason, now))
        conn.execute(
            update(t.strikes).where(t.strikes.c.case_id == m.case_id, t.strikes.c.lifted_at.is_(None)).values(lifted_at=now)
        )
    if (
        m.action in (Action.REMOVE, Action.TERMINATE)
        and m.moderator is not None
        and m.category
        in (
            ReportCategory.CHILD_SEXUAL_EXPLOITATION,
            ReportCategory.SEXUAL_CONTENT,
        )
    ):
        done.banked = _bank_images(conn, m, now)
    if m.moderator is not None and m.account and m.action.upholds and not m.interim and not _minor(conn, m.account, now):
        done.strikes = _strike(conn, m, casework, now, done)
    audit.record(
        conn,
        m.moderator or audit.SYSTEM,
        "action.interim" if m.interim else "action.taken",
        f"case:{m.case_id}",
        {k: data[k] for k in ("action", "subject", "account", "category", "reason", "ground", "until")}
        | {"banked": done.banked, "strikes": done.strikes},
        now,
    )
    return done


def _minor(conn: Connection, account_id: str, now: dt.datetime) -> bool:
    acct = repo.get_account(conn, account_id)
    return acct is not None and acct.age.current(now.date()).band in MINOR_BANDS


def _strike(conn: Connection, m: Measure, casework: Casework, now: dt.datetime, done: Carried) -> int:
    """One strike per case: a decision changed on appeal from one measure to another does not
    strike twice."""
    assert m.account is not None
    since = now - casework.strike_window
    s = t.strikes.c
    before = conn.execute(
        select(func.count()).where(s.account_id == m.account, s.at >= since, s.lifted_at.is_(None))
    ).scalar_one()
    already = conn.execute(select(s.id).where(s.account_id == m.account, s.case_id == m.case_id, s.lifted_at.is_(None))).first()
    if already is not None:
        return int(before)
    conn.execute(t.strikes.insert(), {"account_id": m.account, "case_id": m.case_id, "action": m.action.value, "at": now})
    after = int(before) + 1
    threshold = casework.threshold_reached(int(before), after)
    if threshold is not None and threshold.action is not m.action and m.action is not Action.TERMINATE:
        follow = Measure(
            case_id=m.case_id,
            action=threshold.action,
            category=m.category,
            subject_kind=m.subject_kind,
            subject_id=m.subject_id,
            account=m.account,
            reason=f"{after} strikes within {casework.strike_window.days} days (the policy's threshold is {threshold.count}).",
            ground="terms",
            source="SOURCE_VOLUNTARY",
            moderator=None,
            automated_detection=False,
            duration=threshold.duration,
            extra={"strikes": after},
        )
        more = carry_out(conn, follow, casework, now)
        done.deliveries.extend(more.deliveries)
        done.followed_by.append(threshold.action)
    return after


def _bank_images(conn: Connection, m: Measure, now: dt.datetime) -> int:
    """The hashes of the images this case's subject published, into the takedown bank."""
    d = t.decisions.c
    q = select(d.inputs).where(d.field.in_(("cover", "image")), d.verdict != "block").order_by(d.created_at.desc()).limit(20)
    q = q.where(d.object_id == m.subject_id) if m.subject_kind == "object" else q.where(d.actor == m.subject_id)
    entries: list[BankEntry] = []
    labels = frozenset({"own-takedowns"} | ({"csam"} if m.category is ReportCategory.CHILD_SEXUAL_EXPLOITATION else set()))
    for (inputs,) in conn.execute(q):
        image = (inputs or {}).get("change", {}).get("image") or {}
        if not image.get("present"):
            continue
        meta = {"case_id": m.case_id, "moderator": m.moderator or ""}
        entries.append(BankEntry("sha256", image["sha256"], labels, f"case:{m.case_id}", meta))
        if image.get("pdq") and float(image.get("pdq_quality", 0)) >= 50:
            entries.append(BankEntry("pdq", image["pdq"], labels, f"case:{m.case_id}", meta))
    if not entries:
        return 0
    bank = banks.find_bank(conn, TAKEDOWN_BANK) or banks.create_bank(
        conn, TAKEDOWN_BANK, "blocklist", ["own-takedowns"], "Images moderators confirmed as abuse (added by Tutela)", now
    )
    added, _ = banks.add_entries(conn, bank, entries, now)
    return added


def lift_measures(
    conn: Connection, case_id: str, case_subject: dict[str, str], category: ReportCategory, reason: str, now: dt.datetime
) -> list[str]:
    """End the account measures (restrict_contact, suspend, terminate) taken in this case, and
    tell the platform with one `action.taken` (`restore`, `lifts`: the measure) for each."""
    r = t.restrictions.c
    lifted = conn.execute(select(r.id, r.account_id, r.kind).where(r.case_id == case_id, r.lifted_at.is_(None))).all()
    sent = []
    for rid, account, kind in lifted:
        conn.execute(update(t.restrictions).where(r.id == rid).values(lifted_at=now))
        data = {
            "case_id": case_id,
            "action": Action.RESTORE.value,
            "subject": {"kind": "account", "id": account},
            "case_subject": case_subject,
            "account": account,
            "category": category.value,
            "reason": reason,
            "ground": None,
            "interim": False,
            "automated": False,
            "until": None,
            "lifts": kind,
        }
        sent.append(outbox.enqueue(conn, "action.taken", subject_key("account", account), data, now))
    return sent
