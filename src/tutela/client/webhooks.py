"""Receiving Tutela's webhooks: check the signature, read the event (docs/webhooks.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tutela.actions.signing import DEFAULT_TOLERANCE, HEADER, SignatureError, verify


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # the delivery id: the same on every retry; drop an id you have already handled
    type: str  # action.taken, statement_of_reasons, report.outcome, ...
    created_at: dt.datetime
    data: dict[str, Any]
    attempt: int


def verify_webhook(
    secret: str | Sequence[str], headers: Mapping[str, str], body: bytes, tolerance: int = DEFAULT_TOLERANCE
) -> WebhookEvent:
    """Check a received webhook's signature (any of `secret`, during a rotation) and freshness,
    and read it. Raises SignatureError when it cannot be trusted: answer 401 and drop it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = lowered.get(HEADER.lower())
    secrets = [secret] if isinstance(secret, str) else list(secret)
    problems = []
    for s in secrets:
        try:
            verify(s, signature, body, tolerance)
            break
        except SignatureError as e:
            problems.append(str(e))
    else:
        raise SignatureError(problems[0] if problems else "no secret to verify with")
    try:
        payload = json.loads(body)
        return WebhookEvent(
            id=str(payload["id"]),
            type=str(payload["type"]),
            created_at=dt.datetime.fromisoformat(payload["created_at"]),
            data=dict(payload["data"]),
            attempt=int(lowered.get("tutela-attempt", "1")),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise SignatureError(f"signed, but not a Tutela event: {e}") from None


__all__ = ["SignatureError", "WebhookEvent", "verify_webhook"]
