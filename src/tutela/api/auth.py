"""API keys with scopes.

A key reads `tut_<prefix>_<secret>`. The prefix finds the key; only the SHA-256 of the secret
is stored. The secret is 256 random bits, so a fast hash is as strong as a slow one here and
keeps authentication off the latency budget (the same choice GitHub makes for its tokens).
Verified keys are cached for TUTELA_KEY_CACHE_SECONDS; a revoked key stops working within it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request

from tutela import audit
from tutela.api.problems import ProblemError
from tutela.store import Database, repo


class Scope(StrEnum):
    PLATFORM = "platform"  # mirror accounts, objects and connections; check changes; send reports and appeals
    MODERATOR = "moderator"  # read decisions; work the queues: claim and decide cases
    ADMIN = "admin"  # everything


@dataclass(frozen=True)
class Principal:
    key_prefix: str
    name: str
    scopes: frozenset[Scope]


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(db: Database, name: str, scopes: list[Scope], actor: str = "system") -> str:
    """Mint a key, store its hash, return the key: the only time it is ever seen."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        repo.add_key(conn, prefix, _sha256(secret), name, [s.value for s in scopes], now)
        audit.record(conn, actor, "key.created", f"key:{prefix}", {"name": name, "scopes": [s.value for s in scopes]}, now)
    return f"tut_{prefix}_{secret}"


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", "Missing or invalid API key", detail, headers={"WWW-Authenticate": "Bearer"})


class Authenticator:
    def __init__(self, db: Database, cache_seconds: int) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def authenticate(self, header: str | None) -> Principal:
        if not header:
            raise _unauthorized("send an API key as 'Authorization: Bearer tut_...'; create one with `tutela keys create`")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.startswith("tut_"):
            raise _unauthorized("the Authorization header must be 'Bearer tut_...'")
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached and cached[0] > now:
            return cached[1]
        parts = token.split("_", 2)
        if len(parts) != 3:
            raise _unauthorized("the API key is malformed: it should read tut_<prefix>_<secret>")
        _, prefix, secret = parts
        with self.db.read() as conn:
            stored = repo.find_key(conn, prefix)
        if stored is None or not hmac.compare_digest(stored.secret_sha256, _sha256(secret)):
            raise _unauthorized("this API key is not known")
        if stored.revoked_at is not None:
            raise _unauthorized(f"API key {prefix} was revoked at {stored.revoked_at.isoformat()}")
        principal = Principal(stored.prefix, stored.name, frozenset(Scope(s) for s in stored.scopes))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now + self.cache_seconds, principal)
        return principal


def require(*scopes: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the request must carry a key with one of `scopes` (admin always passes)."""
    allowed = frozenset(scopes) | {Scope.ADMIN}

    async def dependency(request: Request) -> Principal:
        auth: Authenticator = request.app.state.services.auth
        principal = auth.authenticate(request.headers.get("authorization"))
        if not principal.scopes & allowed:
            have = ", ".join(sorted(principal.scopes)) or "none"
            need = " or ".join(sorted(allowed))
            raise ProblemError(
                403,
                "forbidden",
                "This key may not do that",
                f"this endpoint needs a key with scope {need}; key {principal.key_prefix} has {have}",
            )
        return principal

    return dependency
