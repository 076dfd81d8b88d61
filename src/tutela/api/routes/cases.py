"""Queues, cases, claims and moderator decisions: what the moderators' console is built on."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.exc import IntegrityError

from tutela import audit
from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.metrics import CASE_DECISIONS
from tutela.api.problems import ProblemError
from tutela.api.routes.reports import problem
from tutela.api.schemas import ID_PATTERN, CaseDecisionIn, CaseDetail, CaseOut, DecidedOut, ModeratorIn, QueueOut
from tutela.cases import workflow
from tutela.model import Action

router = APIRouter(tags=["cases"])
Svc = Annotated[Services, Depends(services)]
Moderator = Annotated[Principal, Depends(require(Scope.MODERATOR))]
CaseId = Annotated[str, Path(pattern=ID_PATTERN)]


def case_out(case: dict[str, Any], now: dt.datetime) -> CaseOut:
    return CaseOut(
        id=case["id"],
        subject={"kind": case["subject_kind"], "id": case["subject_id"]},
        status=case["status"],
        queue=case["queue"],
        category=case["category"],
        priority=case["priority"],
        child_involved=case["child_involved"],
        backed=case["backed"],
        trusted=case["trusted"],
        reporters=case["reporters"],
        opened_at=case["opened_at"],
        deadline=case["deadline"],
        overdue=case["status"] == "open" and case["deadline"] < now,
        escalated_at=case["escalated_at"],
        interim_action=case["interim_action"],
        locked_by=case["locked_by"] if case["lock_expires_at"] and case["lock_expires_at"] > now else None,
        lock_expires_at=case["lock_expires_at"] if case["lock_expires_at"] and case["lock_expires_at"] > now else None,
        decided_at=case["decided_at"],
        decision=case["decision"],
        appeals=case["appeals"],
    )


@router.get("/queues", response_model=list[QueueOut], summary="The queues, with how many cases wait and how many are overdue")
@blocking
def get_queues(svc: Svc, _: Moderator) -> list[QueueOut]:
    with svc.db.read() as conn:
        return [QueueOut(**q) for q in workflow.queue_summary(conn, utcnow())]


@router.get("/queues/{queue}/cases", response_model=list[CaseOut], summary="A queue's open cases, most urgent first")
@blocking
def get_queue(
    queue: Annotated[str, Path(pattern=r"^[a-z_]{1,32}$")],
    svc: Svc,
    _: Moderator,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CaseOut]:
    if queue not in workflow.QUEUES:
        raise ProblemError(
            404, "unknown-queue", "Unknown queue", f"queue {queue!r} does not exist; queues: {', '.join(workflow.QUEUES)}"
        )
    now = utcnow()
    with svc.db.read() as conn:
        return [case_out(c, now) for c in workflow.queue_cases(conn, queue, limit, now)]


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="A case with its evidence (the access is audited)")
@blocking
def get_case(
    case_id: CaseId,
    svc: Svc,
    who: Moderator,
    moderator: Annotated[str | None, Query(pattern=ID_PATTERN, description="Who is reading (recorded in the audit log)")] = None,
) -> CaseDetail:
    now = utcnow()
    with svc.db.write() as conn:
        try:
            case = workflow.case_detail(conn, case_id)
        except workflow.WorkflowError as e:
            raise problem(e) from None
        reader = moderator or f"key:{who.key_prefix}:{who.name}"
        audit.record(conn, reader, "evidence.viewed", f"case:{case_id}", {"key": f"{who.key_prefix}:{who.name}"}, now)
    base = case_out(case, now).model_dump()
    return CaseDetail(
        **base, reports=case["reports"], decisions=case["decisions"], events=case["events"], appeal_list=case["appeal_list"]
    )


@router.post("/cases/{case_id}/claim", response_model=CaseOut, summary="Claim a case: an exclusive lock that expires")
@blocking
def claim_case(case_id: CaseId, body: ModeratorIn, svc: Svc, _: Moderator) -> CaseOut:
    now = utcnow()
    try:
        with svc.db.write() as conn:
            case = workflow.claim(conn, case_id, body.moderator, dt.timedelta(seconds=svc.case_lock_seconds), now)
    except workflow.WorkflowError as e:
        raise problem(e) from None
    return case_out(case, now)


@router.delete("/cases/{case_id}/claim", status_code=204, summary="Release a claim")
@blocking
def release_case(case_id: CaseId, moderator: Annotated[str, Query(pattern=ID_PATTERN)], svc: Svc, _: Moderator) -> None:
    try:
        with svc.db.write() as conn:
            workflow.release(conn, case_id, moderator, utcnow())
    except workflow.WorkflowError as e:
        raise problem(e) from None


@router.post(
    "/cases/{case_id}/decision",
    response_model=DecidedOut,
    summary="Decide a claimed case: the action is carried out by webhook, the reporters are told",
)
@blocking
def decide_case(case_id: CaseId, body: CaseDecisionIn, svc: Svc, who: Moderator) -> DecidedOut:
    now = utcnow()
    md = workflow.ModeratorDecision(
        moderator=body.moderator,
        action=Action(body.action),
        reason=body.reason,
        ground=body.ground,
        duration=dt.timedelta(hours=body.duration_hours) if body.duration_hours else None,
        principal=f"key:{who.key_prefix}:{who.name}",
        changes=dict(body.changes),
    )
    try:
        with svc.db.write() as conn:
            decided = workflow.decide(conn, case_id, md, svc.policy.casework, now)
    except workflow.WorkflowError as e:
        raise problem(e) from None
    except IntegrityError:
        raise ProblemError(
            409, "case-conflict", "The case changed meanwhile", f"case {case_id} was changed by another request; read it again"
        ) from None
    svc.wake()
    CASE_DECISIONS.labels(md.action.value).inc()
    return DecidedOut(
        case=case_out(decided.case, now),
        strikes=decided.carried.strikes,
        followed_by=[a.value for a in decided.carried.followed_by],
        banked=decided.carried.banked,
        reporters_notified=decided.notified_reporters,
        webhooks=decided.deliveries,
    )
