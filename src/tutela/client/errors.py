"""What the client raises: a hierarchy an integrator can catch at the level they care about.

TutelaError
├── TransportError        Tutela could not be reached (after the retries)
└── APIError              Tutela answered with a problem (RFC 9457); .problem holds it all
    ├── BadRequest        400  malformed JSON or multipart
    ├── Unauthorized      401  key missing, unknown or revoked
    ├── Forbidden         403  the key lacks the scope; not a party to an appeal
    ├── NotFound          404  unknown account, object, case, ...
    ├── Conflict          409  an id reused for other content, a case locked or closed, ...
    ├── PayloadTooLarge   413  body or image over the limit
    ├── UnsupportedMedia  415  the image is not JPEG, PNG, WebP or GIF
    ├── InvalidRequest    422  a field is invalid; .errors names each
    └── ServerError       5xx  (after the retries)
"""

from __future__ import annotations

from typing import Any

import httpx


class TutelaError(Exception):
    """Anything the client raises."""


class TransportError(TutelaError):
    """Tutela could not be reached, or did not answer, after every retry."""


class APIError(TutelaError):
    """Tutela answered with an error. `type` is the stable problem URN to switch on
    (urn:tutela:problem:case-locked, ...); `detail` says what was wrong and what to do."""

    status: int = 0

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type: str = str(problem.get("type", "about:blank"))
        self.title: str = str(problem.get("title", ""))
        self.detail: str = str(problem.get("detail", ""))
        self.errors: list[dict[str, Any]] = list(problem.get("errors", []))
        super().__init__(f"{status} {self.type.rsplit(':', 1)[-1]}: {self.detail or self.title}")

    @property
    def slug(self) -> str:
        """The problem type's last part: 'case-locked' for urn:tutela:problem:case-locked."""
        return self.type.rsplit(":", 1)[-1]


class BadRequest(APIError):
    pass


class Unauthorized(APIError):
    pass


class Forbidden(APIError):
    pass


class NotFound(APIError):
    pass


class Conflict(APIError):
    pass


class PayloadTooLarge(APIError):
    pass


class UnsupportedMedia(APIError):
    pass


class InvalidRequest(APIError):
    pass


class ServerError(APIError):
    pass


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMedia,
    422: InvalidRequest,
}


def error_for(response: httpx.Response) -> APIError:
    try:
        problem = response.json()
        if not isinstance(problem, dict):
            raise ValueError
    except ValueError:
        problem = {"type": "about:blank", "title": response.reason_phrase, "detail": response.text[:500]}
    cls = _BY_STATUS.get(response.status_code, ServerError if response.status_code >= 500 else APIError)
    return cls(response.status_code, problem)
