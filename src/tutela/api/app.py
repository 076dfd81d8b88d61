"""The FastAPI application."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import threading
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from sqlalchemy import select

from tutela import __version__, audit
from tutela.actions.worker import Worker
from tutela.api import problems
from tutela.api.auth import Authenticator
from tutela.api.deps import Services
from tutela.api.limits import BodyLimit
from tutela.api.routes import accounts, appeals, cases, checks, health, objects, reports, visibility
from tutela.config import Settings
from tutela.detection import Detector, default_detectors
from tutela.hashbank.matcher import BankMatcher
from tutela.image import Limits
from tutela.policy import Policy, default_policy_path, load_policy
from tutela.store import Database
from tutela.store import tables as t
from tutela.store.migrate import require_current

DESCRIPTION = """\
Tutela answers one question before a platform publishes anything a user wrote or uploaded:
**may this change be published?** Mirror accounts (with their age state), connections and
content objects, then `POST /v1/checks` each proposed change. Every endpoint under /v1 (but this OpenAPI
document) needs an API key: `Authorization: Bearer tut_...` (create one with `tutela keys create`). Errors are
RFC 9457 problem details.
"""


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    policy: Policy | None = None,
    detectors: list[Detector] | None = None,
) -> FastAPI:
    settings = settings or Settings.from_env()
    db = db or Database(settings.database_url)
    require_current(db)
    policy = policy or load_policy(settings.policy_path or default_policy_path())
    database = db

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything alive now (modules, the app, compiled statements and rules) lives as long
        # as the process: move it out of the collector's sight so that collections stay short.
        gc.collect()
        gc.freeze()
        stop = threading.Event()
        follower = matcher.follow(database, stop)  # bank changes, off the check path
        if worker is not None:
            worker.start()
        try:
            with database.maintenance():
                yield
        finally:
            stop.set()
            if worker is not None:
                worker.stop()
            follower.join(timeout=5)

    app = FastAPI(
        lifespan=lifespan,
        title="Tutela",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    worker = Worker(db, settings) if settings.workers else None
    _record_policy(db, policy)
    matcher = BankMatcher()
    with db.read() as conn:
        matcher.refresh(conn)  # every bank entry, before the first check
    app.state.services = Services(
        db=db,
        policy=policy,
        detectors=detectors if detectors is not None else default_detectors(matcher),
        auth=Authenticator(db, settings.key_cache_seconds),
        matcher=matcher,
        limits=Limits(max_bytes=settings.max_image_bytes),
        worker=worker,
        case_lock_seconds=settings.case_lock_seconds,
    )
    problems.install(app)
    image_body = max(settings.max_body_bytes, settings.max_image_bytes * 4 // 3 + 64 * 1024)  # base64, and the JSON
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, paths={"/v1/checks": image_body})
    v1 = APIRouter(prefix="/v1")
    for module in (accounts, objects, checks, reports, cases, appeals, visibility):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(health.router)
    return app


def _record_policy(db: Database, policy: Policy) -> None:
    """A configuration change worth auditing: the policy this server enforces, when it differs
    from the one recorded last."""
    with db.write() as conn:
        last = conn.execute(
            select(t.audit_log.c.data).where(t.audit_log.c.action == "policy.loaded").order_by(t.audit_log.c.seq.desc()).limit(1)
        ).scalar()
        if last and last.get("version") == policy.version:
            return
        audit.record(
            conn,
            audit.SYSTEM,
            "policy.loaded",
            f"policy:{policy.name}",
            {"version": policy.version, "source": policy.source, "previous": last.get("version") if last else None},
            dt.datetime.now(dt.UTC),
        )
