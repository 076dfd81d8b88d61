"""Liveness, readiness and metrics: unauthenticated, for orchestrators and Prometheus."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from tutela.api.deps import Services, blocking, services
from tutela.api.problems import ProblemError
from tutela.api.schemas import Health
from tutela.store.migrate import current_revision, head_revision, schema_is_behind

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, summary="Ready to take checks: database reachable and current, policy loaded")
@blocking
def readyz(svc: Annotated[Services, Depends(services)]) -> Health:
    try:
        with svc.db.read() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(svc.db.engine)
    except Exception as e:
        raise ProblemError(503, "not-ready", "Not ready", f"the database is unreachable: {type(e).__name__}: {e}") from None
    if schema_is_behind(revision):
        raise ProblemError(
            503, "not-ready", "Not ready", f"database schema is {revision}, needs {head_revision()}: run `tutela db upgrade`"
        )
    return Health(status="ready", policy_version=svc.policy.version, schema_revision=revision)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
