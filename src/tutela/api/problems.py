"""Errors as RFC 9457 problem details (application/problem+json).

Every error the API returns has a `type` (a stable URN an integrator can switch on, listed in
docs/api.md), a `title`, the HTTP `status`, a `detail` that says what was wrong with this
request and what to do, and for invalid input an `errors` list naming each field.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tutela.api.metrics import PROBLEMS

log = logging.getLogger("tutela.api")
MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = extra.pop("headers", {})


def problem_body(status: int, slug: str, title: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"urn:tutela:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


def problem_response(
    status: int, slug: str, title: str, detail: str, instance: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    PROBLEMS.labels(str(status), slug).inc()
    return JSONResponse(
        problem_body(status, slug, title, detail, instance, **extra), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "path", "query", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, request.url.path, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            ctx = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {})
            return problem_response(
                400,
                "malformed-json",
                "The request body is not valid JSON",
                f"could not parse the body as JSON ({ctx.get('error', 'syntax error')}); send UTF-8 JSON "
                "with Content-Type: application/json",
                request.url.path,
            )
        fields = [{"field": _field(tuple(e["loc"])), "message": e["msg"], "type": e["type"]} for e in errors]
        first = fields[0]
        more = f" (and {len(fields) - 1} more problem(s), see errors)" if len(fields) > 1 else ""
        return problem_response(
            422,
            "invalid-request",
            "The request is not valid",
            f"{first['field']}: {first['message']}{more}",
            request.url.path,
            errors=fields,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return problem_response(
                404,
                "no-such-route",
                "No such endpoint",
                f"{request.method} {request.url.path} does not exist; see /v1/openapi.json",
                request.url.path,
            )
        if exc.status_code == 405:
            return problem_response(
                405,
                "method-not-allowed",
                "Method not allowed",
                f"{request.url.path} does not accept {request.method}",
                request.url.path,
            )
        return problem_response(exc.status_code, "http-error", str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "internal-error",
            "Internal error",
            "Tutela failed while handling this request; nothing was half-written. Retry with the same "
            "ids; if it persists, the server log has the traceback.",
            request.url.path,
        )
