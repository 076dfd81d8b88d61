"""Reports into cases, queues, claims, moderator decisions and appeals: the transactions.

Every function takes an open connection inside the caller's write transaction (or read
connection, for the listings), so a report, its case, its interim measure, the webhooks
announcing it and the audit entry commit together or not at all.

One subject (a content object or an account) has at most one open case. A report, or a
decision whose rule asks to open a case, attaches to it; a second report adds weight and
evidence, never a second queue item. See docs/cases.md for the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy import case as when

from tutela import audit
from tutela.actions import outbox
from tutela.actions.enforce import Carried, Measure, carry_out, lift_measures, subject_key
from tutela.cases.rules import CaseFacts, Casework, counts_as_independent, describe, interim_protection, priority, reporter_weight
from tutela.contact import MINOR_BANDS, PROTECTED_BANDS
from tutela.ids import new_id
from tutela.model import Action, Category, ReportCategory, SubjectKind
from tutela.store import repo
from tutela.store import tables as t

c = t.cases.c
RELEVANT_SIGNAL_CATEGORIES = {"solicitation", "grooming", "csam", "sexual_content", "impersonation"}
SIGNAL_LOOKBACK = dt.timedelta(days=30)
PUBLISHED = ("allow", "allow_with_warning")  # verdicts under which a change went live
# Statements built once: building one (with .values()) costs more than running it.
_INSERT_EVENT = insert(t.case_events)
_INSERT_CASE = insert(t.cases)
_INSERT_REPORT = insert(t.reports)


class WorkflowError(Exception):
    """A request the case workflow refuses: `status` and `slug` become the problem details."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extra = status, slug, title, detail, extra


def _unknown(kind: str, subject_id: str) -> WorkflowError:
    what = "object" if kind == "object" else "account"
    return WorkflowError(
        404,
        f"unknown-{what}",
        f"Unknown {what}",
        f"{what} {subject_id!r} does not exist in Tutela; mirror it first (PUT /v1/{what}s/{subject_id})",
    )


# ---- reading cases --------------------------------------------------------------------------


def get_case(conn: Connection, case_id: str, lock: bool = False) -> dict[str, Any] | None:
    """The case; with `lock`, its row stays locked until the transaction ends (PostgreSQL: so
    that two requests changing one case take turns; SQLite's single writer already does)."""
    q = select(t.cases).where(c.id == case_id)
    row = conn.execute(q.with_for_update() if lock else q).first()
    return t.row_dict(row) if row else None


def _require_case(conn: Connection, case_id: str, lock: bool = False) -> dict[str, Any]:
    case = get_case(conn, case_id, lock)
    if case is None:
        raise WorkflowError(404, "unknown-case", "Unknown case", f"case {case_id!r} does not exist")
    return case


def case_detail(conn: Connection, case_id: str) -> dict[str, Any]:
    """The case with its evidence: reports, the decisions attached, and its timeline."""
    case = _require_case(conn, case_id)
    r = t.reports.c
    case["reports"] = [
        t.row_dict(x) for x in conn.execute(select(t.reports).where(r.case_id == case_id).order_by(r.created_at, r.id))
    ]
    e = t.case_events.c
    case["events"] = [t.row_dict(x) for x in conn.execute(select(t.case_events).where(e.case_id == case_id).order_by(e.id))]
    decision_ids = list(dict.fromkeys(ev["ref"] for ev in case["events"] if ev["kind"] == "decision" and ev["ref"]))
    case["decisions"] = []
    for did in decision_ids:
        d = repo.find_decision(conn, decision_id=did)
        if d is not None:
            case["decisions"].append(
                {
                    "id": d.id,
                    "change_id": d.change.id,
                    "actor": d.change.actor,
                    "object": d.change.object_id,
                    "field": d.change.field,
                    "text": d.change.text,
                    "verdict": d.verdict,
                    "rules": [h["rule"] for h in d.reasons],
                    "signals": d.signals,
                    "created_at": d.created_at,
                }
            )
    case["appeal_list"] = [
        t.row_dict(x)
        for x in conn.execute(select(t.appeals).where(t.appeals.c.case_id == case_id).order_by(t.appeals.c.created_at))
    ]
    return case


def _event(
    conn: Connection, case_id: str, kind: str, actor: str, ref: str | None, data: dict[str, Any], now: dt.datetime
) -> None:
    conn.execute(_INSERT_EVENT, {"case_id": case_id, "kind": kind, "actor": actor, "ref": ref, "data": data, "at": now})


# ---- the facts a case's priority rests on --------------------------------------------------


def _protected(conn: Connection, account_id: str | None, today: dt.date) -> bool:
    if not account_id:
        return False
    acct = repo.get_account(conn, account_id)
    return acct is not None and acct.age.current(today).band in PROTECTED_BANDS


def _minor(conn: Connection, account_id: str | None, today: dt.date) -> bool:
    """A child or a teen, as the platform knows it. Unknown age gets the child defaults for what
    it owns, but not here: otherwise any fresh account could make a report "involve a child"."""
    if not account_id:
        return False
    acct = repo.get_account(conn, account_id)
    return acct is not None and acct.age.current(today).band in MINOR_BANDS


def _author(conn: Connection, kind: str, subject_id: str) -> str | None:
    """Who is responsible for what the subject shows: for an account, itself; for an object,
    whoever wrote its last published change (a collaborator, perhaps a stranger), else its owner."""
    if kind == SubjectKind.ACCOUNT:
        return subject_id
    d = t.decisions.c
    last = conn.execute(
        select(d.actor).where(d.object_id == subject_id, d.verdict.in_(PUBLISHED)).order_by(d.created_at.desc()).limit(1)
    ).scalar()
    if last:
        return str(last)
    obj = repo.get_object(conn, subject_id)
    return obj.obj.owner if obj else None


def _decisions_about(conn: Connection, kind: str, subject_id: str, since: dt.datetime) -> list[Any]:
    """What the detectors saw of the subject. For an account: everything it tried, refused or
    not (its behaviour). For an object: only what was published on it, since a refused change
    never showed there; someone else's refused attempt on a child's playlist says nothing
    against the playlist (it is the attempter's case)."""
    d = t.decisions.c
    q = select(d.id, d.inputs, d.reasons).where(d.created_at >= since).order_by(d.created_at.desc()).limit(50)
    if kind == SubjectKind.OBJECT:
        q = q.where(d.object_id == subject_id, d.verdict.in_(PUBLISHED))
    else:
        q = q.where(d.actor == subject_id)
    return list(conn.execute(q))


def _signal_score(decisions: Sequence[Any]) -> float:
    best = 0.0
    for row in decisions:
        for s in (row.inputs or {}).get("signals", []):
            if s.get("category") in RELEVANT_SIGNAL_CATEGORIES and not str(s.get("label", "")).startswith("contact."):
                best = max(best, float(s.get("score", 0.0)))
    return best


def _directed_at_child(conn: Connection, kind: str, subject_id: str) -> bool:
    ce, d = t.contact_events.c, t.decisions.c
    if kind == SubjectKind.ACCOUNT:
        q = select(ce.id).where(ce.actor == subject_id).limit(1)
    else:
        q = select(ce.id).join(t.decisions, d.id == ce.decision_id).where(d.object_id == subject_id).limit(1)
    return conn.execute(q).first() is not None


def _track_records(conn: Connection, reporters: set[str]) -> dict[str, tuple[int, int]]:
    if not reporters:
        return {}
    r = t.reports.c
    rows = conn.execute(
        select(r.reporter, r.outcome, func.count())
        .where(r.reporter.in_(sorted(reporters)), r.outcome.is_not(None))
        .group_by(r.reporter, r.outcome)
    )
    records = {who: (0, 0) for who in reporters}
    for who, outcome, n in rows:
        up, rej = records[who]
        records[who] = (up + n, rej) if outcome == "upheld" else (up, rej + n)
    return records


def _facts(
    conn: Connection,
    case: dict[str, Any],
    now: dt.datetime,
    child: bool = False,
    score: float = 0.0,
    at_least: ReportCategory | None = None,
) -> CaseFacts:
    """What the case's priority and interim measure rest on, from its reports and the subject's
    decisions; `child`, `score` and `at_least` add what the caller knows besides (the decision
    that opened the case, a re-registration)."""
    today = now.date()
    r = t.reports.c
    reports = conn.execute(select(r.reporter, r.trusted_flagger, r.category).where(r.case_id == case["id"])).all()
    category = ReportCategory(case["category"])
    if at_least is not None and at_least.rank > category.rank:
        category = at_least
    for rep in reports:
        if ReportCategory(rep.category).rank > category.rank:
            category = ReportCategory(rep.category)
    named = {rep.reporter for rep in reports if rep.reporter}
    records = _track_records(conn, named)
    independent = [who for who in named if counts_as_independent(*records[who])]
    weight = sum(reporter_weight(*records[who]) for who in independent)
    anonymous = any(rep.reporter is None for rep in reports)
    if anonymous:
        weight += 0.5
    kind, subject = case["subject_kind"], case["subject_id"]
    owner_protected = False
    if kind == SubjectKind.OBJECT:
        obj = repo.get_object(conn, subject)
        owner_protected = obj is not None and _protected(conn, obj.obj.owner, today)
    child_reporter = any(_minor(conn, who, today) for who in named)
    child_involved = (
        child or case["child_involved"] or owner_protected or child_reporter or _directed_at_child(conn, kind, subject)
    )
    score = max(score, _signal_score(_decisions_about(conn, kind, subject, now - SIGNAL_LOOKBACK)))
    if case["backed"]:
        score = max(score, 0.01)  # once backed (e.g. by the decision that opened it), always backed
    return CaseFacts(
        category=category,
        child_involved=child_involved,
        signal_score=score,
        trusted=any(rep.trusted_flagger for rep in reports),
        independent_reporters=len(independent) + (1 if anonymous else 0),
        reporter_weight=weight,
    )


def _queue(category: ReportCategory, appealed: bool) -> str:
    if appealed:
        return "appeals"
    return "csea" if category.csea else "general"


def _open_case(
    conn: Connection, kind: str, subject_id: str, category: ReportCategory, casework: Casework, now: dt.datetime
) -> tuple[dict[str, Any], bool]:
    """The subject's open case, or a new one. Returns (case, created)."""
    # Locked, so that concurrent reports on one subject count each other (PostgreSQL); a case
    # created concurrently is caught by the unique index, and the route tries once more.
    q = select(t.cases).where(c.subject_kind == kind, c.subject_id == subject_id, c.status == "open").with_for_update()
    row = conn.execute(q).first()
    if row is not None:
        return t.row_dict(row), False
    case: dict[str, Any] = {
        "id": new_id("case"),
        "subject_kind": kind,
        "subject_id": subject_id,
        "status": "open",
        "queue": _queue(category, False),
        "category": category.value,
        "child_involved": False,
        "backed": False,
        "trusted": False,
        "reporters": 0,
        "priority": 0,
        "opened_at": now,
        "deadline": now + casework.service_level(category),
        "escalated_at": None,
        "interim_action": None,
        "locked_by": None,
        "lock_expires_at": None,
        "decided_at": None,
        "decision": None,
        "excluded_moderators": [],
        "appeals": 0,
        "updated_at": now,
    }
    conn.execute(_INSERT_CASE, case)
    return case, True


def _refresh(conn: Connection, case: dict[str, Any], facts: CaseFacts, casework: Casework, now: dt.datetime) -> dict[str, Any]:
    deadline = case["deadline"]
    if facts.category.rank > ReportCategory(case["category"]).rank:
        deadline = min(deadline, now + casework.service_level(facts.category))
    values = {
        "category": facts.category.value,
        "queue": _queue(facts.category, case["queue"] == "appeals"),
        "child_involved": facts.child_involved,
        "backed": facts.backed,
        "trusted": facts.trusted,
        "reporters": facts.independent_reporters,
        "priority": priority(facts),
        "deadline": deadline,
        "updated_at": now,
    }
    conn.execute(update(t.cases).where(c.id == case["id"]).values(**values))
    return {**case, **values}


def _interim(
    conn: Connection, case: dict[str, Any], facts: CaseFacts, casework: Casework, now: dt.datetime, why: str
) -> str | None:
    """Hide (or, for an account, restrict contact with children) pending review, when the
    rules of interim protection say so and nothing is in place yet."""
    if case["interim_action"] or not interim_protection(facts):
        return None
    kind, subject = case["subject_kind"], case["subject_id"]
    action = Action.HIDE if kind == SubjectKind.OBJECT else Action.RESTRICT_CONTACT
    carry_out(
        conn,
        Measure(
            case_id=case["id"],
            action=action,
            category=facts.category,
            subject_kind=kind,
            subject_id=subject,
            account=_author(conn, kind, subject),
            reason=f"Reported as {facts.category.value.replace('_', ' ')} involving a child ({why}); "
            + (
                "hidden while a moderator reviews it."
                if action is Action.HIDE
                else "contact with children is restricted while a moderator reviews it."
            ),
            ground="illegal",
            source="SOURCE_TRUSTED_NOTIFIER" if facts.trusted else "SOURCE_ARTICLE_16",
            moderator=None,
            automated_detection=facts.backed,
            interim=True,
            images=_has_images(conn, kind, subject),
        ),
        casework,
        now,
    )
    conn.execute(update(t.cases).where(c.id == case["id"]).values(interim_action=action.value))
    _event(conn, case["id"], "interim_action", audit.SYSTEM, None, {"action": action.value, "why": why}, now)
    return action.value


def _why(f: CaseFacts) -> str:
    parts = []
    if f.backed:
        parts.append(f"a detector signal of {f.signal_score:.2f}")
    if f.trusted:
        parts.append("a trusted flagger")
    if f.independent_reporters >= 2:
        parts.append(f"{f.independent_reporters} independent reporters")
    return ", ".join(parts)


# ---- reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportIn:
    report_key: str
    request_sha256: str
    reporter: str | None
    trusted_flagger: bool
    subject_kind: SubjectKind
    subject_id: str
    category: ReportCategory
    text: str
    context: dict[str, Any]


@dataclass(frozen=True)
class Receipt:
    id: str
    report_key: str
    case_id: str
    category: ReportCategory
    deadline: dt.datetime
    timeframe: str
    interim_action: str | None
    created_at: dt.datetime
    replayed: bool = False
    outcome: str | None = None  # upheld or rejected, once decided
    interim_taken: bool = False  # this report's arrival is what put the interim measure in place


def find_report(conn: Connection, report_key: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.reports).where(t.reports.c.report_key == report_key)).first()
    return t.row_dict(row) if row else None


def receipt_of(conn: Connection, report: dict[str, Any], casework: Casework, replayed: bool = True) -> Receipt:
    case = _require_case(conn, report["case_id"])
    category = ReportCategory(report["category"])
    return Receipt(
        report["id"],
        report["report_key"],
        case["id"],
        category,
        case["deadline"],
        _timeframe(category, casework),
        case["interim_action"],
        report["created_at"],
        replayed,
        report["outcome"],
    )


def _timeframe(category: ReportCategory, casework: Casework) -> str:
    what = "reports like this" if category is ReportCategory.OTHER else f"reports of {category.value.replace('_', ' ')}"
    return f"We aim to review {what} within {describe(casework.service_level(category))}."


def submit_report(conn: Connection, r: ReportIn, casework: Casework, now: dt.datetime) -> Receipt:
    existing = find_report(conn, r.report_key)
    if existing is not None:
        if existing["request_sha256"] != r.request_sha256:
            raise WorkflowError(
                409,
                "report-id-reused",
                "Report id already used for a different report",
                f"report {r.report_key!r} was already received with different content (as {existing['id']}); "
                "use a new report_id for a new report",
            )
        return receipt_of(conn, existing, casework)
    if r.subject_kind == SubjectKind.OBJECT:
        if repo.get_object(conn, r.subject_id) is None:
            raise _unknown("object", r.subject_id)
    elif repo.get_account(conn, r.subject_id) is None:
        raise _unknown("account", r.subject_id)
    if r.reporter is not None and repo.get_account(conn, r.reporter) is None:
        raise _unknown("account", r.reporter)
    case, _ = _open_case(conn, r.subject_kind, r.subject_id, r.category, casework, now)
    report_id = new_id("rep")
    conn.execute(
        _INSERT_REPORT,
        {
            "id": report_id,
            "report_key": r.report_key,
            "request_sha256": r.request_sha256,
            "reporter": r.reporter,
            "trusted_flagger": r.trusted_flagger,
            "subject_kind": r.subject_kind.value,
            "subject_id": r.subject_id,
            "category": r.category.value,
            "text": r.text,
            "context": r.context,
            "case_id": case["id"],
            "created_at": now,
        },
    )
    _event(
        conn,
        case["id"],
        "report",
        r.reporter or "anonymous",
        report_id,
        {"category": r.category.value, "trusted_flagger": r.trusted_flagger},
        now,
    )
    facts = _facts(conn, case, now)
    case = _refresh(conn, case, facts, casework, now)
    interim = _interim(conn, case, facts, casework, now, _why(facts))
    return Receipt(
        report_id,
        r.report_key,
        case["id"],
        r.category,
        case["deadline"],
        _timeframe(r.category, casework),
        interim or case["interim_action"],
        now,
        interim_taken=interim is not None,
    )


# ---- decisions that open a case ------------------------------------------------------------


def open_for_decision(
    conn: Connection,
    decision_id: str,
    actor: str,
    category: ReportCategory,
    child_involved: bool,
    rules: Sequence[str],
    casework: Casework,
    now: dt.datetime,
) -> str:
    """Attach a decision whose rule opens a case to the acting account's open case. The change
    was already blocked or held, so nothing more is done at once: a moderator decides."""
    case, _ = _open_case(conn, SubjectKind.ACCOUNT, actor, category, casework, now)
    _event(conn, case["id"], "decision", audit.SYSTEM, decision_id, {"rules": list(rules), "category": category.value}, now)
    # The decision is in the same transaction, so its signals are among the actor's decisions
    # _facts reads; the floor keeps the case backed whatever their scores.
    facts = _facts(conn, case, now, child=child_involved, score=0.01, at_least=category)
    _refresh(conn, case, facts, casework, now)
    return str(case["id"])


# ---- queues ---------------------------------------------------------------------------------

QUEUES = ("csea", "general", "appeals")


def queue_summary(conn: Connection, now: dt.datetime) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(c.queue, func.count(), func.min(c.deadline), func.sum(when((c.deadline < now, 1), else_=0)))
        .where(c.status == "open")
        .group_by(c.queue)
    ).all()
    found = {q: (n, oldest, int(overdue or 0)) for q, n, oldest, overdue in rows}
    out = []
    for q in QUEUES:
        n, oldest, overdue = found.get(q, (0, None, 0))
        out.append({"name": q, "open": n, "overdue": overdue, "next_deadline": oldest})
    return out


def queue_cases(conn: Connection, queue: str, limit: int, now: dt.datetime) -> list[dict[str, Any]]:
    """Open cases of a queue, most urgent first: overdue ones, then by priority, then deadline."""
    overdue = when((c.deadline < now, 1), else_=0)
    rows = conn.execute(
        select(t.cases)
        .where(c.status == "open", c.queue == queue)
        .order_by(overdue.desc(), c.priority.desc(), c.deadline, c.id)
        .limit(limit)
    )
    return [t.row_dict(r) for r in rows]


def escalate_overdue(conn: Connection, now: dt.datetime) -> list[str]:
    """Mark open cases past their deadline as escalated (once), and tell the platform."""
    rows = conn.execute(select(t.cases).where(c.status == "open", c.deadline < now, c.escalated_at.is_(None)).limit(500)).all()
    escalated = []
    for row in rows:
        case = t.row_dict(row)
        done = conn.execute(update(t.cases).where(c.id == case["id"], c.escalated_at.is_(None)).values(escalated_at=now)).rowcount
        if not done:
            continue
        late = now - case["deadline"]
        data = {
            "case_id": case["id"],
            "queue": case["queue"],
            "category": case["category"],
            "deadline": case["deadline"].isoformat(),
            "late_seconds": int(late.total_seconds()),
        }
        _event(conn, case["id"], "escalated", audit.SYSTEM, None, data, now)
        outbox.enqueue(conn, "case.escalated", subject_key(case["subject_kind"], case["subject_id"]), data, now)
        audit.record(conn, audit.SYSTEM, "case.escalated", f"case:{case['id']}", data, now)
        escalated.append(case["id"])
    return escalated


# ---- claims ---------------------------------------------------------------------------------


def _open_for_moderation(case: dict[str, Any]) -> None:
    if case["status"] != "open":
        raise WorkflowError(
            409,
            "case-closed",
            "The case is closed",
            f"case {case['id']} was decided at {case['decided_at'].isoformat()}; an appeal (POST /v1/appeals) reopens it",
        )


def _held_by_other(case: dict[str, Any], moderator: str, now: dt.datetime) -> bool:
    return (
        bool(case["locked_by"])
        and case["locked_by"] != moderator
        and case["lock_expires_at"] is not None
        and case["lock_expires_at"] > now
    )


def claim(conn: Connection, case_id: str, moderator: str, ttl: dt.timedelta, now: dt.datetime) -> dict[str, Any]:
    """Lock the case for `moderator` until now + ttl (claiming again extends it)."""
    case = _require_case(conn, case_id, lock=True)
    _open_for_moderation(case)
    if moderator in case["excluded_moderators"]:
        raise WorkflowError(
            409,
            "appeal-needs-another-moderator",
            "Another moderator must review this appeal",
            f"{moderator} decided case {case_id} before; an appeal is heard by another moderator",
        )
    until = now + ttl
    won = conn.execute(
        update(t.cases)
        .where(
            c.id == case_id,
            c.status == "open",
            (c.locked_by.is_(None)) | (c.locked_by == moderator) | (c.lock_expires_at <= now),
        )
        .values(locked_by=moderator, lock_expires_at=until, updated_at=now)
    ).rowcount
    if not won:
        raise WorkflowError(
            409,
            "case-locked",
            "Another moderator holds this case",
            f"case {case_id} is claimed by {case['locked_by']} until {case['lock_expires_at'].isoformat()}",
            locked_by=case["locked_by"],
            lock_expires_at=case["lock_expires_at"].isoformat(),
        )
    _event(conn, case_id, "claimed", moderator, None, {"until": until.isoformat()}, now)
    return {**case, "locked_by": moderator, "lock_expires_at": until}


def release(conn: Connection, case_id: str, moderator: str, now: dt.datetime) -> None:
    case = _require_case(conn, case_id, lock=True)
    if _held_by_other(case, moderator, now):
        raise WorkflowError(
            409, "case-locked", "Another moderator holds this case", f"case {case_id} is claimed by {case['locked_by']}"
        )
    if case["locked_by"] != moderator or case["lock_expires_at"] is None or case["lock_expires_at"] <= now:
        raise WorkflowError(
            409, "case-not-claimed", "Nothing to release", f"{moderator} does not hold case {case_id} (claims expire)"
        )
    conn.execute(
        update(t.cases)
        .where(c.id == case_id, c.locked_by == moderator)
        .values(locked_by=None, lock_expires_at=None, updated_at=now)
    )
    _event(conn, case_id, "released", moderator, None, {}, now)


# ---- moderator decisions --------------------------------------------------------------------

TIMED = (Action.SUSPEND, Action.RESTRICT_CONTACT)  # the actions a duration applies to


@dataclass(frozen=True)
class ModeratorDecision:
    moderator: str
    action: Action
    reason: str
    ground: str | None  # illegal or terms; None: illegal for child exploitation and grooming, else terms
    duration: dt.timedelta | None
    principal: str  # the API key that carried it
    changes: dict[str, str] = field(default_factory=dict)  # decision id -> release or reject


@dataclass(frozen=True)
class Decided:
    case: dict[str, Any]
    carried: Carried
    notified_reporters: int
    deliveries: list[str]  # every webhook queued by the decision


def _appeal_outcome(previous: Action | None, now_action: Action) -> str:
    """upheld: the same measure stands; modified: another measure, still against the subject;
    overturned: the other side of the line."""
    before = previous if previous is not None else Action.REMOVE  # an automated refusal upholds
    if before.upholds != now_action.upholds:
        return "overturned"
    if previous is not None and previous is not now_action and now_action.upholds:
        return "modified"
    return "upheld"


def decide(conn: Connection, case_id: str, md: ModeratorDecision, casework: Casework, now: dt.datetime) -> Decided:
    case = _require_case(conn, case_id, lock=True)
    _open_for_moderation(case)
    if case["locked_by"] != md.moderator or case["lock_expires_at"] is None or case["lock_expires_at"] <= now:
        if _held_by_other(case, md.moderator, now):
            raise WorkflowError(
                409,
                "case-locked",
                "Another moderator holds this case",
                f"case {case_id} is claimed by {case['locked_by']} until {case['lock_expires_at'].isoformat()}",
            )
        raise WorkflowError(
            409,
            "case-not-claimed",
            "Claim the case first",
            f"{md.moderator} does not hold case {case_id} (claims expire); POST /v1/cases/{case_id}/claim, then decide",
        )
    kind, subject = case["subject_kind"], case["subject_id"]
    if md.action in (Action.HIDE, Action.REMOVE, Action.AGE_RESTRICT) and kind != SubjectKind.OBJECT:
        raise WorkflowError(
            422,
            "action-not-applicable",
            "That action applies to content",
            f"case {case_id} is about account {subject}: use warn, restrict_contact, suspend or terminate (or allow)",
        )
    if md.action is Action.SUSPEND and md.duration is None:
        raise WorkflowError(422, "invalid-request", "The request is not valid", "duration_hours: a suspension needs a duration")
    if md.duration is not None and md.action not in TIMED:
        raise WorkflowError(
            422,
            "invalid-request",
            "The request is not valid",
            f"duration_hours: only suspend and restrict_contact last for a time; {md.action.value} does not",
        )
    unknown = sorted(set(md.changes) - set(_waiting_changes(conn, case_id)))
    if unknown:
        raise WorkflowError(
            422,
            "invalid-request",
            "The request is not valid",
            f"changes: decision {unknown[0]} is not a change waiting on case {case_id}; its changes are in GET /v1/cases/{case_id}",
        )
    category = ReportCategory(case["category"])
    ground = (md.ground or ("illegal" if category.csea else "terms")) if md.action.upholds else None
    author = _author(conn, kind, subject)
    appealed = case["queue"] == "appeals"
    earlier = (case["decision"] or {}).get("carried_out") if appealed else None
    previous = Action(earlier) if earlier else None
    action = md.action
    if action is Action.ALLOW and (case["interim_action"] or previous is not None):
        action = Action.RESTORE  # dismissing lifts what was done meanwhile
    if previous is not None and (previous is action or (not previous.upholds and not action.upholds)):
        carried = Carried()  # the appeal confirms the decision: nothing new to carry out
        action = previous
    elif appealed and previous is None and not action.upholds and not case["interim_action"]:
        carried = Carried()  # an automated refusal overturned: the change is released, below
    else:
        if previous is not None and previous.upholds and action.upholds:
            # Modified on appeal: the earlier measure's account restrictions end (announced),
            # then the new one is carried out; the case's strike stays, once.
            lifted = lift_measures(conn, case_id, {"kind": kind, "id": subject}, category, md.reason, now)
        else:
            lifted = []
        carried = carry_out(
            conn,
            Measure(
                case_id=case_id,
                action=action,
                category=category,
                subject_kind=kind,
                subject_id=subject,
                account=author,
                reason=md.reason,
                ground=ground,
                source=_source(conn, case_id),
                moderator=md.moderator,
                automated_detection=bool(case["backed"]),
                duration=md.duration,
                images=_has_images(conn, kind, subject),
            ),
            casework,
            now,
        )
        carried.deliveries[:0] = lifted
    decision = {
        "action": md.action.value,
        "carried_out": action.value,
        "reason": md.reason,
        "ground": ground,
        "moderator": md.moderator,
        "principal": md.principal,
        "duration_hours": md.duration.total_seconds() / 3600 if md.duration else None,
        "decided_at": now.isoformat(),
        "strikes": carried.strikes,
        "followed_by": [a.value for a in carried.followed_by],
        "banked": carried.banked,
        "appeal": _appeal_outcome(previous, action) if appealed else None,
        "changes": md.changes,
    }
    excluded = sorted({*case["excluded_moderators"], md.moderator})
    conn.execute(
        update(t.cases)
        .where(c.id == case_id)
        .values(
            status="closed",
            decided_at=now,
            decision=decision,
            locked_by=None,
            lock_expires_at=None,
            excluded_moderators=excluded,
            updated_at=now,
        )
    )
    _event(conn, case_id, "moderator_decision", md.moderator, None, decision, now)
    audit.record(conn, md.moderator, "case.decided", f"case:{case_id}", decision, now)
    deliveries = list(carried.deliveries)
    deliveries += _resolve_changes(conn, case_id, action.upholds, now, md.changes)
    revised = appealed and decision["appeal"] == "overturned"
    told, sent = _tell_reporters(conn, case, action, now, revised)
    deliveries += sent
    if appealed:
        deliveries += _answer_appeals(conn, case, action, str(decision["appeal"]), now)
    closed = {**case, "status": "closed", "decided_at": now, "decision": decision, "locked_by": None, "lock_expires_at": None}
    return Decided(closed, carried, told, deliveries)


def _has_images(conn: Connection, kind: str, subject_id: str) -> bool:
    """Whether what the subject published includes images (for the statement's content type)."""
    d = t.decisions.c
    q = select(d.id).where(d.field.in_(("cover", "image")), d.verdict.in_(PUBLISHED)).limit(1)
    q = q.where(d.object_id == subject_id) if kind == SubjectKind.OBJECT else q.where(d.actor == subject_id)
    return conn.execute(q).first() is not None


def _source(conn: Connection, case_id: str) -> str:
    r = t.reports.c
    rows = conn.execute(select(r.trusted_flagger).where(r.case_id == case_id)).all()
    if any(x.trusted_flagger for x in rows):
        return "SOURCE_TRUSTED_NOTIFIER"
    return "SOURCE_ARTICLE_16" if rows else "SOURCE_VOLUNTARY"


def _waiting_changes(conn: Connection, case_id: str) -> dict[str, bool]:
    """Decision id -> whether its author appealed it, for every change attached to the case."""
    e = t.case_events.c
    waiting: dict[str, bool] = {}  # a decision may be attached twice (a hold, then an appeal of it)
    for ref, data in conn.execute(select(e.ref, e.data).where(e.case_id == case_id, e.kind == "decision")):
        waiting[ref] = waiting.get(ref, False) or bool((data or {}).get("appealed"))
    return waiting


def _resolve_changes(
    conn: Connection, case_id: str, upheld: bool, now: dt.datetime, overrides: dict[str, str] | None = None
) -> list[str]:
    """Changes waiting on this case (held ones, and refused ones under appeal) are released to
    publication or refused for good, as the action implies or as the moderator said for each
    (`overrides`); each is announced once per change of mind."""
    e = t.case_events.c
    resolved: dict[str, str] = {}
    for ref, data in conn.execute(select(e.ref, e.data).where(e.case_id == case_id, e.kind == "change_resolved").order_by(e.id)):
        resolved[ref] = data["resolution"]
    waiting = _waiting_changes(conn, case_id)
    overrides = overrides or {}
    sent = []
    for ref, appealed in waiting.items():
        d = repo.find_decision(conn, decision_id=ref)
        if d is None or not (d.verdict == "hold" or appealed):
            continue
        said = overrides.get(ref)
        resolution = {"release": "released", "reject": "rejected"}[said] if said else ("rejected" if upheld else "released")
        if resolved.get(ref, "rejected" if d.verdict == "block" else None) == resolution:
            continue
        sent.append(
            outbox.enqueue(
                conn,
                f"change.{resolution}",
                subject_key("object", d.change.object_id),
                {
                    "case_id": case_id,
                    "decision_id": d.id,
                    "change_id": d.change.id,
                    "object": d.change.object_id,
                    "field": d.change.field,
                    "actor": d.change.actor,
                },
                now,
            )
        )
        _event(conn, case_id, "change_resolved", audit.SYSTEM, ref, {"resolution": resolution}, now)
        resolved[ref] = resolution
    return sent


def _tell_reporters(
    conn: Connection, case: dict[str, Any], action: Action, now: dt.datetime, revised: bool
) -> tuple[int, list[str]]:
    """Every report in the case gets its outcome (ICU D5, DSA Art. 16(5)); named reporters are
    told. When an appeal overturns the decision, every report is judged again and its reporter
    told the revised outcome."""
    r = t.reports.c
    outcome = "upheld" if action.upholds else "rejected"
    which = r.case_id == case["id"]
    if not revised:
        which = which & r.outcome.is_(None)
    rows = conn.execute(select(t.reports).where(which)).all()
    conn.execute(update(t.reports).where(which).values(outcome=outcome))
    sent = []
    for row in rows:
        if row.reporter is None:
            continue
        message = (
            "Thank you. We reviewed what you reported and took action against it."
            if action.upholds
            else "Thank you. We reviewed what you reported and found that it does not break the rules."
        )
        if revised and row.outcome is not None:
            message = "On review, we changed our decision. " + message
        sent.append(
            outbox.enqueue(
                conn,
                "report.outcome",
                subject_key(case["subject_kind"], case["subject_id"]),
                {
                    "report_id": row.id,
                    "platform_report_id": row.report_key,
                    "reporter": row.reporter,
                    "case_id": case["id"],
                    "outcome": "action_taken" if action.upholds else "no_violation",
                    "action": action.value,
                    "revised": revised and row.outcome is not None,
                    "message": message,
                    "appeal": "the reporter may ask for a review: POST /v1/appeals with this case_id",
                },
                now,
            )
        )
    return len(sent), sent


# ---- appeals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppealIn:
    appeal_key: str
    request_sha256: str
    case_id: str | None  # a decided case; or
    decision_id: str | None  # an automated refusal (Ofcom ICU D11)
    appellant: str
    text: str


def find_appeal(conn: Connection, appeal_id: str) -> dict[str, Any] | None:
    """By the platform's appeal id or Tutela's."""
    ap = t.appeals.c
    row = conn.execute(select(t.appeals).where((ap.appeal_key == appeal_id) | (ap.id == appeal_id))).first()
    return t.row_dict(row) if row else None


def _not_a_party(who: str, what: str) -> WorkflowError:
    return WorkflowError(403, "not-a-party", "Only a party can appeal", f"account {who} {what}")


def appeal(conn: Connection, a: AppealIn, casework: Casework, now: dt.datetime) -> tuple[dict[str, Any], bool]:
    """Reopen a decided case for a different moderator (ICU D8-D10, DSA Art. 20), or put an
    automated refusal before a moderator (ICU D11). Returns the appeal and whether it is a
    replay of an earlier identical request."""
    existing = conn.execute(select(t.appeals).where(t.appeals.c.appeal_key == a.appeal_key)).first()
    if existing is not None:
        if existing.request_sha256 != a.request_sha256:
            raise WorkflowError(
                409,
                "appeal-id-reused",
                "Appeal id already used for a different appeal",
                f"appeal {a.appeal_key!r} was already received with different content",
            )
        return t.row_dict(existing), True
    if repo.get_account(conn, a.appellant) is None:
        raise _unknown("account", a.appellant)
    if a.decision_id is not None:
        case = _case_for_appealed_decision(conn, a, casework, now)
    else:
        assert a.case_id is not None
        case = _require_case(conn, a.case_id, lock=True)
        _check_case_appeal(conn, case, a.appellant)
    appeal_row: dict[str, Any] = {
        "id": new_id("apl"),
        "appeal_key": a.appeal_key,
        "request_sha256": a.request_sha256,
        "case_id": case["id"],
        "appellant": a.appellant,
        "text": a.text,
        "outcome": None,
        "created_at": now,
        "decided_at": None,
    }
    conn.execute(insert(t.appeals), appeal_row)
    conn.execute(
        update(t.cases)
        .where(c.id == case["id"])
        .values(
            status="open",
            queue="appeals",
            deadline=min(case["deadline"], now + casework.service_level("appeal"))
            if case["status"] == "open"
            else now + casework.service_level("appeal"),
            escalated_at=None if case["status"] != "open" else case["escalated_at"],
            appeals=case["appeals"] + 1,
            updated_at=now,
        )
    )
    _event(conn, case["id"], "appeal", a.appellant, appeal_row["id"], {"text": a.text[:500], "decision_id": a.decision_id}, now)
    audit.record(conn, a.appellant, "case.appealed", f"case:{case['id']}", {"appeal": appeal_row["id"]}, now)
    return appeal_row, False


def _check_case_appeal(conn: Connection, case: dict[str, Any], appellant: str) -> None:
    if case["decided_at"] is None or case["decision"] is None:
        raise WorkflowError(
            409,
            "case-not-decided",
            "There is no decision to appeal",
            f"case {case['id']} has no moderator decision yet; an appeal is possible once it is decided",
        )
    if case["status"] == "open":
        raise WorkflowError(
            409,
            "appeal-pending",
            "The case is already open again",
            f"case {case['id']} is open (an appeal is already under review)",
        )
    r = t.reports.c
    reporters = {x for (x,) in conn.execute(select(r.reporter).where(r.case_id == case["id"], r.reporter.is_not(None)))}
    affected = _author(conn, case["subject_kind"], case["subject_id"])
    if appellant not in reporters | {affected, case["subject_id"]}:
        raise _not_a_party(appellant, f"neither reported case {case['id']} nor is affected by its decision")
    clash = conn.execute(
        select(c.id).where(c.subject_kind == case["subject_kind"], c.subject_id == case["subject_id"], c.status == "open")
    ).first()
    if clash is not None:
        raise WorkflowError(
            409,
            "appeal-pending",
            "Another case on this subject is open",
            f"case {clash.id} about the same subject is open; the appeal will be heard when it is decided",
        )


def _case_for_appealed_decision(conn: Connection, a: AppealIn, casework: Casework, now: dt.datetime) -> dict[str, Any]:
    """The case an automated refusal is reviewed in: the one it is already part of, or the
    actor's open case, or a new one in the appeals queue."""
    assert a.decision_id is not None
    d = repo.find_decision(conn, decision_id=a.decision_id)
    if d is None:
        raise WorkflowError(404, "unknown-decision", "Unknown decision", f"decision {a.decision_id!r} does not exist")
    if d.verdict not in ("block", "hold"):
        raise WorkflowError(
            409, "nothing-to-appeal", "The decision refused nothing", f"decision {d.id} was {d.verdict}: the change was published"
        )
    if a.appellant != d.change.actor:
        raise _not_a_party(a.appellant, f"did not make change {d.change.id}; only its author can appeal its refusal")
    e = t.case_events.c
    found = conn.execute(select(e.case_id).where(e.kind == "decision", e.ref == d.id).limit(1)).scalar()
    if found is not None:
        case = _require_case(conn, str(found), lock=True)
        if case["queue"] == "appeals" and case["status"] == "open":
            raise WorkflowError(409, "appeal-pending", "Already under appeal", f"case {case['id']} is open in the appeals queue")
        if case["status"] == "closed":
            _check_case_appeal(conn, case, a.appellant)
        _event(conn, case["id"], "decision", a.appellant, d.id, {"appealed": True}, now)
        return case
    category = max(
        (ReportCategory.of(Category(h["category"])) for h in d.reasons), key=lambda x: x.rank, default=ReportCategory.OTHER
    )
    case, _ = _open_case(conn, SubjectKind.ACCOUNT, d.change.actor, category, casework, now)
    case = _require_case(conn, case["id"], lock=True)
    _event(conn, case["id"], "decision", a.appellant, d.id, {"appealed": True, "rules": [h["rule"] for h in d.reasons]}, now)
    reached = [d.inputs.get("owner", {}), *d.inputs.get("tagged", [])]
    child = any(p.get("protected") and not p.get("is_actor") for p in reached)
    facts = _facts(conn, case, now, child=child, score=_signal_score([d]), at_least=category)  # d may be older than the lookback
    return _refresh(conn, case, facts, casework, now)


def _answer_appeals(conn: Connection, case: dict[str, Any], action: Action, outcome: str, now: dt.datetime) -> list[str]:
    ap = t.appeals.c
    rows = conn.execute(select(t.appeals).where(ap.case_id == case["id"], ap.outcome.is_(None))).all()
    conn.execute(update(t.appeals).where(ap.case_id == case["id"], ap.outcome.is_(None)).values(outcome=outcome, decided_at=now))
    return [
        outbox.enqueue(
            conn,
            "appeal.outcome",
            subject_key(case["subject_kind"], case["subject_id"]),
            {
                "appeal_id": row.id,
                "platform_appeal_id": row.appeal_key,
                "appellant": row.appellant,
                "case_id": case["id"],
                "outcome": outcome,
                "action": action.value,
            },
            now,
        )
        for row in rows
    ]


# ---- re-registration ------------------------------------------------------------------------


def record_identifiers(
    conn: Connection, account_id: str, identifiers: dict[str, list[str]], casework: Casework, now: dt.datetime
) -> list[dict[str, Any]]:
    """Keep an account's identifiers; when one belongs to a terminated account, flag the new
    account (a case and an `account.flagged` webhook). Returns the flags raised."""
    ai = t.account_identifiers.c
    pairs = {(kind, value) for kind, values in identifiers.items() for value in values}
    for kind, value in sorted(pairs):
        exists = conn.execute(select(ai.at).where(ai.account_id == account_id, ai.kind == kind, ai.value == value)).first()
        if exists is None:
            conn.execute(insert(t.account_identifiers).values(account_id=account_id, kind=kind, value=value, at=now))
    if not pairs:
        return []
    rs = t.restrictions.c
    matches = conn.execute(
        select(ai.account_id, ai.kind, rs.case_id)
        .join(t.restrictions, and_(rs.account_id == ai.account_id, rs.kind == "terminate", rs.lifted_at.is_(None)))
        .where(ai.account_id != account_id)
        .where(or_(*(and_(ai.kind == k, ai.value == v) for k, v in sorted(pairs))))
    ).all()
    flags: list[dict[str, Any]] = []
    seen: set[str] = set()
    for terminated, kind, old_case in matches:
        if terminated in seen:
            continue
        seen.add(terminated)
        e = t.case_events.c
        already = conn.execute(
            select(e.id)
            .join(t.cases, c.id == e.case_id)
            .where(e.kind == "reregistration", e.ref == terminated, c.subject_id == account_id)
        ).first()
        old = get_case(conn, old_case) if old_case else None
        category = ReportCategory(old["category"]) if old else ReportCategory.OTHER
        flag = {"kind": "reregistration", "terminated_account": terminated, "matched_on": kind, "terminated_in_case": old_case}
        if already is None:
            case, _ = _open_case(conn, SubjectKind.ACCOUNT, account_id, category, casework, now)
            _event(conn, case["id"], "reregistration", audit.SYSTEM, terminated, flag, now)
            _refresh(conn, case, _facts(conn, case, now, score=0.9, at_least=category), casework, now)
            outbox.enqueue(
                conn,
                "account.flagged",
                subject_key("account", account_id),
                {"account": account_id, "case_id": case["id"], **flag},
                now,
            )
            audit.record(conn, audit.SYSTEM, "account.flagged", f"account:{account_id}", flag, now)
            flag["case_id"] = case["id"]
        flags.append(flag)
    return flags


def report_view(conn: Connection, report_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(t.reports).where((t.reports.c.id == report_id) | (t.reports.c.report_key == report_id))).first()
    return t.row_dict(row) if row else None
