"""Appeals (internal complaints, DSA Art. 20; Ofcom ICU D8-D10): a decided case reopens for a
different moderator."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.exc import IntegrityError

from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.problems import ProblemError
from tutela.api.routes.reports import problem
from tutela.api.schemas import ID_PATTERN, AppealIn, AppealOut
from tutela.cases import workflow

router = APIRouter(tags=["appeals"])
Svc = Annotated[Services, Depends(services)]
Platform = Annotated[Principal, Depends(require(Scope.PLATFORM))]
Reader = Annotated[Principal, Depends(require(Scope.PLATFORM, Scope.MODERATOR))]


def _out(a: dict[str, Any]) -> AppealOut:
    return AppealOut(
        id=a["id"],
        appeal_id=a["appeal_key"],
        case_id=a["case_id"],
        appellant=a["appellant"],
        status="decided" if a["outcome"] else "under_review",
        outcome=a["outcome"],
        created_at=a["created_at"],
    )


@router.post(
    "/appeals",
    response_model=AppealOut,
    status_code=201,
    summary="Appeal a case's decision (case_id), or an automated refusal (decision_id)",
    responses={
        403: {
            "description": "Not a party: neither affected by the case's decision nor its reporter; not the refused change's author"
        },
        404: {"description": "Unknown case, decision or appellant"},
        409: {"description": "No decision yet, already under appeal, the decision refused nothing, or the appeal id was used"},
    },
)
@blocking
def post_appeal(body: AppealIn, response: Response, svc: Svc, _: Platform) -> AppealOut:
    digest = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    request = workflow.AppealIn(body.appeal_id, digest, body.case_id, body.decision_id, body.appellant, body.text)
    try:
        with svc.db.write() as conn:
            appeal, replayed = workflow.appeal(conn, request, svc.policy.casework, utcnow())
    except workflow.WorkflowError as e:
        raise problem(e) from None
    except IntegrityError:
        what = f"case {body.case_id}" if body.case_id else f"the case of decision {body.decision_id}"
        raise ProblemError(409, "appeal-pending", "The case changed meanwhile", f"{what} changed; read it again") from None
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return _out(appeal)


@router.get("/appeals/{appeal_id}", response_model=AppealOut, summary="An appeal's status and outcome")
@blocking
def get_appeal(appeal_id: Annotated[str, Path(pattern=ID_PATTERN)], svc: Svc, _: Reader) -> AppealOut:
    with svc.db.read() as conn:
        appeal = workflow.find_appeal(conn, appeal_id)
    if appeal is None:
        raise ProblemError(404, "unknown-appeal", "Unknown appeal", f"no appeal with id {appeal_id!r}")
    return _out(appeal)
