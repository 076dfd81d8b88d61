"""Webhook signatures: HMAC-SHA256 over the timestamp and the body.

    Tutela-Signature: t=1764460800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

`v1` is hex HMAC-SHA256(secret, f"{t}.{body}"), with `body` the exact bytes received. A
receiver recomputes it, compares in constant time, and refuses a timestamp older (or newer)
than its tolerance, so a captured request cannot be replayed later. During a secret rotation
the header carries one `v1=` per secret; any one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

HEADER = "Tutela-Signature"
DEFAULT_TOLERANCE = 300  # seconds


class SignatureError(ValueError):
    """The webhook cannot be trusted: the reason says which check failed."""


def sign(secrets: Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The Tutela-Signature header value for `body`, signed with every secret given."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    parts = [f"t={t}"] + [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join(parts)


def verify(secret: str, header: str | None, body: bytes, tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> int:
    """Check a received webhook; return its timestamp, or raise SignatureError."""
    if not header:
        raise SignatureError(f"no {HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"the timestamp {value!r} is not a number") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"{HEADER} must read t=<unix time>,v1=<hex hmac>")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(f"the timestamp is {int(current - timestamp)} s from now, outside the {tolerance} s window")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("no signature matches: wrong secret, or the body was changed")
    return timestamp
