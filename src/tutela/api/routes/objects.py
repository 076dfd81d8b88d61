"""Content objects the platform owns (playlists, profiles), mirrored to Tutela."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.problems import ProblemError
from tutela.api.routes.accounts import unknown_account
from tutela.api.schemas import ID_PATTERN, ObjectIn, ObjectOut
from tutela.model import FIELDS, ContentObject
from tutela.store import repo

router = APIRouter(tags=["objects"])
ObjectId = Annotated[str, Path(pattern=ID_PATTERN, description="The platform's object id")]


def unknown_object(object_id: str) -> ProblemError:
    return ProblemError(
        404,
        "unknown-object",
        "Unknown content object",
        f"object {object_id!r} is not known; create it with PUT /v1/objects/{object_id}",
    )


def _out(stored: repo.StoredObject) -> ObjectOut:
    o = stored.obj
    return ObjectOut(
        id=o.id,
        kind=o.kind,
        owner=o.owner,
        visibility=o.visibility,
        collaborators=sorted(o.collaborators),
        fields=stored.fields,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


@router.put("/objects/{object_id}", response_model=ObjectOut, summary="Create or update a content object")
@blocking
def put_object(
    object_id: ObjectId,
    body: ObjectIn,
    response: Response,
    svc: Annotated[Services, Depends(services)],
    _: Annotated[Principal, Depends(require(Scope.PLATFORM))],
) -> ObjectOut:
    allowed = FIELDS[body.kind]
    for name in body.fields:
        if name not in allowed:
            raise ProblemError(
                422,
                "invalid-request",
                "The request is not valid",
                f"fields.{name}: a {body.kind.value} has no field {name!r}; its fields are {', '.join(allowed)}",
                errors=[{"field": f"fields.{name}", "message": f"not a field of a {body.kind.value}", "type": "unknown_field"}],
            )
    obj = ContentObject(object_id, body.kind, body.owner, body.visibility, frozenset(body.collaborators))
    with svc.db.write() as conn:
        missing = repo.missing_accounts(conn, [body.owner, *body.collaborators])
        if missing:
            raise unknown_account(missing[0])
        existing = repo.get_object(conn, object_id)
        if existing is not None and existing.obj.kind is not body.kind:
            raise ProblemError(
                409,
                "kind-mismatch",
                "Object kind cannot change",
                f"object {object_id!r} is a {existing.obj.kind.value}, not a {body.kind.value}; use a new id for a new object",
            )
        created = repo.upsert_object(conn, obj, dict(body.fields), utcnow())
        stored = repo.get_object(conn, object_id)
    assert stored is not None
    response.status_code = 201 if created else 200
    return _out(stored)


@router.get("/objects/{object_id}", response_model=ObjectOut, summary="Read a content object")
@blocking
def get_object(
    object_id: ObjectId,
    svc: Annotated[Services, Depends(services)],
    _: Annotated[Principal, Depends(require(Scope.PLATFORM, Scope.MODERATOR))],
) -> ObjectOut:
    with svc.db.read() as conn:
        stored = repo.get_object(conn, object_id)
    if stored is None:
        raise unknown_object(object_id)
    return _out(stored)
