"""The synchronous check, and reading decisions back with their explanation."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import logging
import time
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.metrics import CHECK_SECONDS, CHECKS, RULE_ERRORS
from tutela.api.problems import ProblemError
from tutela.api.routes.accounts import unknown_account
from tutela.api.routes.objects import unknown_object
from tutela.api.schemas import ID_PATTERN, ChangeOut, CheckIn, DecisionExplained, DecisionOut, ReasonOut, RuleErrorOut
from tutela.cases import workflow
from tutela.check import InvalidChange, Outcome, UnknownObject, evaluate_change
from tutela.contact import UnknownAccount
from tutela.image import AnalysedImage, ImageRejected, Limits, analyse
from tutela.model import Change, Followup, ReportCategory, Verdict
from tutela.store import repo

router = APIRouter(tags=["checks"])
log = logging.getLogger("tutela.check")
Svc = Annotated[Services, Depends(services)]


def _request_digest(body: CheckIn, image: bytes | None) -> str:
    """What makes two sends of a change id the same change: its fields, and its image's bytes
    (however they were sent, base64 or multipart)."""
    fields = body.model_dump(exclude={"image"})
    fields["image_sha256"] = hashlib.sha256(image).hexdigest() if image is not None else None
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _invalid(errors: list[Any], prefix: tuple[str, ...] = ("body",)) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": (*prefix, *e.get("loc", ()))} for e in errors])


def _parse(raw: str | bytes, prefix: tuple[str, ...]) -> CheckIn:
    """Parse as FastAPI does (Python's JSON, then the model), so that errors read the same."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        error = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        raise _invalid(
            [{"type": "json_invalid", "loc": (), "msg": "JSON decode error", "ctx": {"error": error}}], prefix
        ) from None
    try:
        return CheckIn.model_validate(data)
    except ValidationError as e:
        raise _invalid(list(e.errors()), prefix) from None


def _image_problem(field: str, message: str) -> ProblemError:
    return ProblemError(
        422,
        "invalid-request",
        "The request is not valid",
        f"{field}: {message}",
        errors=[{"field": field, "message": message, "type": "invalid_image"}],
    )


async def _read_check(request: Request, max_image_bytes: int) -> tuple[CheckIn, bytes | None]:
    """The check and its image, from a JSON body (image in base64) or a multipart form."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=1, max_part_size=max_image_bytes + 1)
        except Exception as e:  # starlette raises its own MultiPartException for malformed forms
            raise ProblemError(
                400, "malformed-multipart", "The multipart body cannot be read", f"{e}; send parts 'change' and 'image'"
            ) from None
        change = form.get("change")
        if not isinstance(change, str):
            raise _image_problem("change", "a multipart check needs a 'change' part holding the check as JSON")
        body = _parse(change, ("body", "change"))
        upload = form.get("image")
        if body.image is not None:
            raise _image_problem("image", "send the image either in the 'image' part or as base64 in the JSON, not both")
        if upload is None:
            return body, None
        if not isinstance(upload, UploadFile):
            raise _image_problem("image", "the 'image' part must be a file")
        data = await upload.read(max_image_bytes + 1)
        return body, data
    body = _parse(await request.body(), ("body",))
    if body.image is None:
        return body, None
    try:
        return body, base64.b64decode(body.image.base64, validate=True)
    except (binascii.Error, ValueError):
        raise _image_problem("image.base64", "is not valid base64 (standard alphabet, with padding)") from None


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


_CHECK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CheckIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["change"],
                    "properties": {
                        "change": {"type": "string", "description": "The check as JSON (CheckIn), without 'image'."},
                        "image": {"type": "string", "format": "binary", "description": "The proposed image file."},
                    },
                }
            },
        },
    }
}


@router.post(
    "/checks",
    response_model=DecisionOut,
    summary="Check a proposed change before publishing it",
    openapi_extra=_CHECK_BODY,
    responses={
        413: {"description": "The body or the image is too large (TUTELA_MAX_IMAGE_BYTES), or the image is a decompression bomb"},
        415: {"description": "The image is not JPEG, PNG, WebP or GIF"},
        422: {"description": "The request is not valid, or the image is corrupt"},
    },
)
async def check(
    request: Request, response: Response, svc: Svc, _: Annotated[Principal, Depends(require(Scope.PLATFORM))]
) -> DecisionOut:
    body, image = await _read_check(request, svc.limits.max_bytes)
    work = functools.partial(_check, body, image, response, svc)
    if image is None and svc.db.is_sqlite:
        return work()  # SQLite answers in microseconds: inline (see tutela.api.deps.blocking)
    return await anyio.to_thread.run_sync(work)  # decoding, hashing and classifying an image take milliseconds


def _analysed(image: bytes, limits: Limits) -> AnalysedImage:
    try:
        return analyse(image, limits)
    except ImageRejected as e:
        detail = e.detail.replace("Limits.max_bytes", "TUTELA_MAX_IMAGE_BYTES on the server")
        raise ProblemError(e.status, f"image-{e.code.replace('_', '-')}", "The image was refused", detail) from None


def _check(body: CheckIn, image: bytes | None, response: Response, svc: Services) -> DecisionOut:
    started = time.perf_counter()
    digest = _request_digest(body, image)
    now = utcnow()
    with svc.db.read() as conn:
        existing = repo.find_decision(conn, change_id=body.change_id)
        if existing is not None:
            return _replay(existing, digest, response)  # a retry: the image is not analysed again
        analysed = _analysed(image, svc.limits) if image is not None else None
        change = Change(
            body.change_id,
            body.actor,
            body.object,
            body.field,
            body.text,
            tuple(body.tags),
            analysed.facts() if analysed else None,
        )
        try:
            outcome = evaluate_change(repo.StoreWorld(conn, now), change, svc.policy, svc.detectors, now, analysed)
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
    ev = outcome.evaluation
    for attempt in (1, 2):
        try:
            with svc.db.write() as conn:
                stored = repo.record_decision(conn, outcome, digest, now)
                if Followup.OPEN_CASE in ev.followups:
                    _open_case(conn, stored.id, outcome, svc, now)
            break
        except IntegrityError:
            # A concurrent request with the same change id committed first: answer as it did.
            with svc.db.read() as conn:
                existing = repo.find_decision(conn, change_id=change.id)
            if existing is not None:
                return _replay(existing, digest, response)
            if attempt == 2:
                raise
            # Otherwise a concurrent case was opened for the same actor (PostgreSQL): once more.
    if Followup.OPEN_CASE in ev.followups:
        svc.wake()
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


def _open_case(conn: Connection, decision_id: str, outcome: Outcome, svc: Services, now: dt.datetime) -> None:
    """The decision's rules asked for human review: attach it to the actor's open case, in the
    decision's own transaction."""
    hits = [h for h in outcome.evaluation.hits if Followup.OPEN_CASE in h.followups]
    category = max((ReportCategory.of(h.category) for h in hits), key=lambda c: c.rank)
    child = any(party.protected for _, party in outcome.parties.reached())
    workflow.open_for_decision(
        conn, decision_id, outcome.change.actor, category, child, [h.rule for h in hits], svc.policy.casework, now
    )


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
            image=d.inputs["change"].get("image") if d.inputs["change"].get("image", {}).get("present") else None,
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
