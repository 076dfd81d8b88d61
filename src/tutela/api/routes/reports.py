"""Reports: one is enough. Each attaches to the one open case about its subject."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.exc import IntegrityError

from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.metrics import REPORTS
from tutela.api.problems import ProblemError
from tutela.api.schemas import ID_PATTERN, ReportIn, ReportOut
from tutela.cases import workflow
from tutela.model import ReportCategory, SubjectKind

router = APIRouter(tags=["reports"])
Svc = Annotated[Services, Depends(services)]
Platform = Annotated[Principal, Depends(require(Scope.PLATFORM))]
Reader = Annotated[Principal, Depends(require(Scope.PLATFORM, Scope.MODERATOR))]


def problem(e: workflow.WorkflowError) -> ProblemError:
    return ProblemError(e.status, e.slug, e.title, e.detail, **e.extra)


def _out(r: workflow.Receipt) -> ReportOut:
    return ReportOut(
        id=r.id,
        report_id=r.report_key,
        case_id=r.case_id,
        category=r.category,
        status="decided" if r.outcome else "received",
        timeframe=r.timeframe,
        deadline=r.deadline,
        interim_action=r.interim_action,
        outcome=r.outcome,
        created_at=r.created_at,
    )


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    summary="Report content or an account",
    responses={
        200: {"description": "The same report was sent before: its receipt, unchanged"},
        404: {"description": "The reported object or account, or the reporter, is not known"},
        409: {"description": "report_id was already used for a different report"},
    },
)
@blocking
def post_report(body: ReportIn, response: Response, svc: Svc, _: Platform) -> ReportOut:
    digest = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    kind, subject = (SubjectKind.OBJECT, body.object) if body.object is not None else (SubjectKind.ACCOUNT, body.account)
    assert subject is not None
    report = workflow.ReportIn(
        report_key=body.report_id,
        request_sha256=digest,
        reporter=body.reporter,
        trusted_flagger=body.trusted_flagger,
        subject_kind=kind,
        subject_id=subject,
        category=ReportCategory(body.category),
        text=body.text,
        context=body.context,
    )
    for attempt in (1, 2):
        now = utcnow()
        try:
            with svc.db.write() as conn:
                receipt = workflow.submit_report(conn, report, svc.policy.casework, now)
            break
        except workflow.WorkflowError as e:
            raise problem(e) from None
        except IntegrityError:
            # A concurrent report on the same subject opened its case first (PostgreSQL), or the
            # same report id committed first: once more, and it attaches or replays.
            if attempt == 2:
                raise
    if not receipt.replayed:
        REPORTS.labels(report.category.value, receipt.interim_action if receipt.interim_taken else "none").inc()
    if receipt.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    else:
        svc.wake()
    return _out(receipt)


@router.get("/reports/{report_id}", response_model=ReportOut, summary="A report's status and outcome")
@blocking
def get_report(report_id: Annotated[str, Path(pattern=ID_PATTERN)], svc: Svc, _: Reader) -> ReportOut:
    with svc.db.read() as conn:
        report = workflow.report_view(conn, report_id)
        if report is None:
            raise ProblemError(404, "unknown-report", "Unknown report", f"no report with id {report_id!r} (Tutela's or yours)")
        receipt = workflow.receipt_of(conn, report, svc.policy.casework)
    return _out(receipt)
