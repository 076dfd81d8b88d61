"""The app factory: `create_app(settings)` wires the database, the Tutela client, sessions,
static files and the routes."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from tutela.client import Client

from playlists.db import Database
from playlists.routes import auth, browse, moderation, playlists, social
from playlists.settings import Settings
from playlists.tutela_bridge import TutelaBridge
from playlists.web import LoginRequired, render

log = logging.getLogger("playlists")
STATIC = Path(__file__).parent / "static"
MESSAGES = {403: "You can't do that here.", 404: "There is nothing here, or it is no longer available."}


def create_app(settings: Settings, client: Client | None = None) -> FastAPI:
    """The app. Pass `client` to use a Tutela client made elsewhere (tests); otherwise one is
    made from the settings and closed with the app."""
    database = Database(settings.db_path)
    database.create()
    tutela = client or Client(settings.tutela_url, settings.tutela_api_key, timeout=settings.tutela_timeout)
    if not settings.tutela_api_key and client is None:
        log.warning("TUTELA_API_KEY is not set: every check will fail, so nothing can be published")
    if not settings.tutela_webhook_secret:
        log.warning("TUTELA_WEBHOOK_SECRET is not set: Tutela's webhooks will be refused")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if client is None:
            tutela.close()

    app = FastAPI(title="Mixtape", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.db = database
    app.state.bridge = TutelaBridge(tutela, database, settings.tutela_webhook_secret)
    secret = settings.session_secret or secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware, secret_key=secret, session_cookie="mixtape_session", same_site="lax", max_age=14 * 86400
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (browse, auth, social, playlists, moderation):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> RedirectResponse:
        target = request.url.path if request.method == "GET" else urlsplit(request.headers.get("referer", "/")).path
        return RedirectResponse(f"/login?next={quote(target or '/')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/tutela/", "/static/", "/covers/")):
            return Response(status_code=exc.status_code)
        message = MESSAGES.get(exc.status_code, "Something went wrong.")
        return _error_page(request, exc.status_code, message)

    return app


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, status=status, message=message)
