"""The synchronous check, and reading decisions back with their explanation."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.exc import IntegrityError

from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.metrics import CHECK_SECONDS, CHECKS, RULE_ERRORS
from tutela.api.problems import ProblemError
from tutela.api.routes.accounts import unknown_account
from tutela.api.routes.objects import unknown_object
from tutela.api.schemas import ID_PATTERN, ChangeOut, CheckIn, DecisionExplained, DecisionOut, ReasonOut, RuleErrorOut
from tutela.check import InvalidChange, UnknownObject, evaluate_change
from tutela.contact import UnknownAccount
from tutela.model import Change, Verdict
from tutela.store import repo

router = APIRouter(tags=["checks"])
log = logging.getLogger("tutela.check")
Svc = Annotated[Services, Depends(services)]


def _request_digest(body: CheckIn) -> str:
    return hashlib.sha256(json.dumps(body.model_dump(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _out(d: repo.StoredDecision) -> DecisionOut:
    return DecisionOut(
        id=d.id,
        change_id=d.change.id,
        verdict=Verdict(d.verdict),
        reasons=[ReasonOut.model_validate(r) for r in d.reasons],
        policy_version=d.policy_version,
        created_at=d.created_at,
    )


def _replay(existing: repo.StoredDecision, digest: str, response: Response) -> DecisionOut:
    if existing.request_sha256 != digest:
        raise ProblemError(
            409,
            "change-id-reused",
            "Change id already used for a different change",
            f"change {existing.change.id!r} was already checked with different content (decision {existing.id}); "
            "use a new change_id for a new change",
            decision=existing.id,
        )
    response.headers["Idempotent-Replayed"] = "true"
    return _out(existing)


@router.post("/checks", response_model=DecisionOut, summary="Check a proposed change before publishing it")
@blocking
def check(body: CheckIn, response: Response, svc: Svc, _: Annotated[Principal, Depends(require(Scope.PLATFORM))]) -> DecisionOut:
    started = time.perf_counter()
    digest = _request_digest(body)
    change = Change(body.change_id, body.actor, body.object, body.field, body.text, tuple(body.tags))
    now = utcnow()
    with svc.db.read() as conn:
        existing = repo.find_decision(conn, change_id=change.id)
        if existing is not None:
            return _replay(existing, digest, response)
        try:
            outcome = evaluate_change(repo.StoreWorld(conn), change, svc.policy, svc.detectors, now)
        except UnknownObject as e:
            raise unknown_object(e.object_id) from None
        except UnknownAccount as e:
            raise unknown_account(e.account_id) from None
        except InvalidChange as e:
            raise ProblemError(
                422,
                "invalid-request",
                "The request is not valid",
                f"{e.field}: {e}",
                errors=[{"field": e.field, "message": str(e), "type": "invalid_change"}],
            ) from None
    try:
        with svc.db.write() as conn:
            stored = repo.record_decision(conn, outcome, digest, now)
    except IntegrityError:
        # A concurrent request with the same change id committed first: answer as it did.
        with svc.db.read() as conn:
            existing = repo.find_decision(conn, change_id=change.id)
        if existing is None:
            raise
        return _replay(existing, digest, response)
    ev = outcome.evaluation
    CHECKS.labels(ev.verdict.value).inc()
    for err in ev.errors:
        RULE_ERRORS.labels(err.rule).inc()
    CHECK_SECONDS.observe(time.perf_counter() - started)
    if ev.verdict is not Verdict.ALLOW:
        log.info(
            "change %s by %s on %s.%s: %s (%s)",
            change.id,
            change.actor,
            change.object_id,
            change.field,
            ev.verdict.value,
            ", ".join(h.rule for h in ev.hits),
        )
    return _out(stored)


def _explained(d: repo.StoredDecision) -> DecisionExplained:
    base = _out(d)
    return DecisionExplained(
        **base.model_dump(),
        change=ChangeOut(
            id=d.change.id,
            actor=d.change.actor,
            object=d.change.object_id,
            field=d.change.field,
            text=d.change.text,
            tags=list(d.change.tags),
        ),
        parties={k: d.inputs[k] for k in ("actor", "owner", "tagged")},
        signals=d.signals,
        shadow=[ReasonOut.model_validate(r) for r in d.shadow],
        rule_errors=[RuleErrorOut.model_validate(e) for e in d.rule_errors],
        followups=d.followups,
    )


Reader = Annotated[Principal, Depends(require(Scope.PLATFORM, Scope.MODERATOR))]


@router.get("/decisions/{decision_id}", response_model=DecisionExplained, summary="A decision with its full explanation")
@blocking
def get_decision(decision_id: Annotated[str, Path(pattern=ID_PATTERN)], svc: Svc, _: Reader) -> DecisionExplained:
    with svc.db.read() as conn:
        d = repo.find_decision(conn, decision_id=decision_id)
    if d is None:
        raise ProblemError(404, "unknown-decision", "Unknown decision", f"decision {decision_id!r} does not exist")
    return _explained(d)


@router.get("/checks/{change_id}", response_model=DecisionExplained, summary="The decision for a change id")
@blocking
def get_check(change_id: Annotated[str, Path(pattern=ID_PATTERN)], svc: Svc, _: Reader) -> DecisionExplained:
    with svc.db.read() as conn:
        d = repo.find_decision(conn, change_id=change_id)
    if d is None:
        raise ProblemError(404, "unknown-change", "Unknown change", f"no change with id {change_id!r} has been checked")
    return _explained(d)
