"""The Python client for Tutela's API (docs/sdk.md).

    from tutela.client import Client

    with Client("http://127.0.0.1:8000", "tut_...") as tutela:
        tutela.put_account("mia", birth_date=dt.date(2015, 3, 1), basis="declared")
        decision = tutela.check(change_id="chg-1", actor="stranger", object="pl-1", field="title", text="send me a pic")
        if decision.verdict != "allow":
            ...  # do not publish; show decision.reasons[0].message

Every /v1 endpoint is a method of `Client` and of `AsyncClient` (the same names, awaited).
Errors are exceptions carrying the problem details (`tutela.client.errors`). Calls that carry
their own idempotency key (checks, reports, appeals) and reads are retried on connection
errors and 5xx, so a retry never duplicates anything. `verify_webhook` checks a webhook's
signature and reads its event.
"""

from tutela.client.aio import AsyncClient
from tutela.client.calls import Retries
from tutela.client.errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ServerError,
    TransportError,
    TutelaError,
    Unauthorized,
    UnsupportedMedia,
)
from tutela.client.sync import Client
from tutela.client.webhooks import SignatureError, WebhookEvent, verify_webhook

__all__ = [
    "APIError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "Retries",
    "ServerError",
    "SignatureError",
    "TransportError",
    "TutelaError",
    "Unauthorized",
    "UnsupportedMedia",
    "WebhookEvent",
    "verify_webhook",
]
