"""Which objects a viewer may see: for search results and listings (docs/api.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.schemas import HiddenOut, VisibilityIn, VisibilityOut
from tutela.cases.visibility import visibility

router = APIRouter(tags=["visibility"])
Svc = Annotated[Services, Depends(services)]
Platform = Annotated[Principal, Depends(require(Scope.PLATFORM))]


@router.post("/visibility", response_model=VisibilityOut, summary="Which of these objects a viewer may see")
@blocking
def post_visibility(body: VisibilityIn, svc: Svc, _: Platform) -> VisibilityOut:
    with svc.db.read() as conn:
        v = visibility(conn, body.viewer, body.objects, utcnow())
    return VisibilityOut(visible=v.visible, hidden=[HiddenOut(**h) for h in v.hidden], unknown=v.unknown)
