"""Every /v1 endpoint as a `Call`: the request to send and how to read the answer. The sync and
async clients send the same calls; this is the one place the API's shape lives on the client."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from tutela.api.schemas import (
    AccountOut,
    AppealOut,
    CaseDetail,
    CaseOut,
    ConnectionOut,
    ConnectionsOut,
    DecidedOut,
    DecisionExplained,
    DecisionOut,
    ObjectOut,
    QueueOut,
    ReportOut,
    VisibilityOut,
)
from tutela.client.errors import error_for

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    # Safe to send again when the first try's fate is unknown (a timeout, a dropped connection,
    # a 5xx): true for reads and for writes that carry their own idempotency key.
    idempotent: bool = True


@dataclass(frozen=True)
class Retries:
    """Retry on connection errors and on 500, 502, 503 and 504, with exponential backoff and
    jitter. A call that is not idempotent is retried only when it never reached the server."""

    attempts: int = 4
    backoff: float = 0.25  # seconds before the second attempt; doubles
    backoff_max: float = 5.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({500, 502, 503, 504}))

    def delays(self) -> Iterator[float]:
        for n in range(self.attempts - 1):
            yield min(self.backoff_max, self.backoff * 2**n) * random.uniform(0.5, 1.0)


def retry_after_transport_error(call: Call[Any], error: httpx.TransportError, delays: Iterator[float]) -> float | None:
    """How long to wait before trying again, or None to give up. A call that never connected
    is always safe to send again; one that may have reached Tutela only if it is idempotent."""
    reached = not isinstance(error, httpx.ConnectError)
    if reached and not call.idempotent:
        return None
    return next(delays, None)


def retry_after_status(call: Call[Any], response: httpx.Response, retries: Retries, delays: Iterator[float]) -> float | None:
    if response.status_code in retries.statuses and call.idempotent:
        return next(delays, None)
    return None


def result(call: Call[T], response: httpx.Response) -> T:
    if response.is_error:
        raise error_for(response)
    return call.read(response)


def _id(value: str) -> str:
    return quote(value, safe="")


def _model(cls: type[Any]) -> Callable[[httpx.Response], Any]:
    return lambda r: cls.model_validate(r.json())


def _list(cls: type[Any]) -> Callable[[httpx.Response], Any]:
    adapter = TypeAdapter(list[cls])  # type: ignore[valid-type]
    return lambda r: adapter.validate_python(r.json())


def _nothing(_: httpx.Response) -> None:
    return None


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


# ---- accounts, connections, objects --------------------------------------------------------


def put_account(
    account_id: str,
    *,
    band: str | None = None,
    basis: str = "unknown",
    confidence: float = 0.0,
    source: str = "",
    birth_date: dt.date | None = None,
    email_sha256: Sequence[str] = (),
    device_ids: Sequence[str] = (),
) -> Call[AccountOut]:
    age = _drop_none(
        {
            "band": band,
            "basis": basis,
            "confidence": confidence,
            "source": source,
            "birth_date": birth_date.isoformat() if birth_date else None,
        }
    )
    body: dict[str, Any] = {"age": age}
    if email_sha256 or device_ids:
        body["identifiers"] = {"email_sha256": list(email_sha256), "device_ids": list(device_ids)}
    return Call("PUT", f"/v1/accounts/{_id(account_id)}", _model(AccountOut), json=body)


def get_account(account_id: str) -> Call[AccountOut]:
    return Call("GET", f"/v1/accounts/{_id(account_id)}", _model(AccountOut))


def connect(account_id: str, other_id: str, kind: str) -> Call[ConnectionOut]:
    return Call("PUT", f"/v1/accounts/{_id(account_id)}/connections/{_id(other_id)}/{_id(kind)}", _model(ConnectionOut))


def disconnect(account_id: str, other_id: str, kind: str) -> Call[None]:
    return Call("DELETE", f"/v1/accounts/{_id(account_id)}/connections/{_id(other_id)}/{_id(kind)}", _nothing)


def connections(account_id: str) -> Call[ConnectionsOut]:
    return Call("GET", f"/v1/accounts/{_id(account_id)}/connections", _model(ConnectionsOut))


def put_object(
    object_id: str,
    *,
    kind: str,
    owner: str,
    visibility: str = "public",
    collaborators: Sequence[str] = (),
    fields: dict[str, str] | None = None,
) -> Call[ObjectOut]:
    body = {"kind": kind, "owner": owner, "visibility": visibility, "collaborators": list(collaborators), "fields": fields or {}}
    return Call("PUT", f"/v1/objects/{_id(object_id)}", _model(ObjectOut), json=body)


def get_object(object_id: str) -> Call[ObjectOut]:
    return Call("GET", f"/v1/objects/{_id(object_id)}", _model(ObjectOut))


# ---- checks and decisions ------------------------------------------------------------------


def check(
    *,
    change_id: str,
    actor: str,
    object: str,
    field: str,
    text: str | None = None,
    tags: Sequence[str] = (),
    image: bytes | None = None,
    image_name: str = "image",
) -> Call[DecisionOut]:
    """A proposed change. The change_id makes it idempotent: a retry returns the same decision."""
    body = _drop_none({"change_id": change_id, "actor": actor, "object": object, "field": field, "text": text})
    body["tags"] = list(tags)
    if image is None:
        return Call("POST", "/v1/checks", _model(DecisionOut), json=body)
    files = {"change": (None, json.dumps(body), "application/json"), "image": (image_name, image, "application/octet-stream")}
    return Call("POST", "/v1/checks", _model(DecisionOut), files=files)


def get_decision(decision_id: str) -> Call[DecisionExplained]:
    return Call("GET", f"/v1/decisions/{_id(decision_id)}", _model(DecisionExplained))


def get_check(change_id: str) -> Call[DecisionExplained]:
    return Call("GET", f"/v1/checks/{_id(change_id)}", _model(DecisionExplained))


def visible(viewer: str | None, objects: Sequence[str]) -> Call[VisibilityOut]:
    return Call("POST", "/v1/visibility", _model(VisibilityOut), json={"viewer": viewer, "objects": list(objects)})


# ---- reports, appeals ----------------------------------------------------------------------


def report(
    *,
    report_id: str,
    category: str,
    object: str | None = None,
    account: str | None = None,
    reporter: str | None = None,
    trusted_flagger: bool = False,
    text: str = "",
    context: dict[str, Any] | None = None,
) -> Call[ReportOut]:
    body = _drop_none(
        {
            "report_id": report_id,
            "category": category,
            "object": object,
            "account": account,
            "reporter": reporter,
            "trusted_flagger": trusted_flagger,
            "text": text,
            "context": context,
        }
    )
    return Call("POST", "/v1/reports", _model(ReportOut), json=body)


def get_report(report_id: str) -> Call[ReportOut]:
    return Call("GET", f"/v1/reports/{_id(report_id)}", _model(ReportOut))


def appeal(
    *, appeal_id: str, appellant: str, case_id: str | None = None, decision_id: str | None = None, text: str = ""
) -> Call[AppealOut]:
    body = _drop_none(
        {"appeal_id": appeal_id, "appellant": appellant, "case_id": case_id, "decision_id": decision_id, "text": text}
    )
    return Call("POST", "/v1/appeals", _model(AppealOut), json=body)


def get_appeal(appeal_id: str) -> Call[AppealOut]:
    return Call("GET", f"/v1/appeals/{_id(appeal_id)}", _model(AppealOut))


# ---- queues and cases (moderator keys) ------------------------------------------------------


def queues() -> Call[list[QueueOut]]:
    return Call("GET", "/v1/queues", _list(QueueOut))


def queue_cases(queue: str, limit: int = 50) -> Call[list[CaseOut]]:
    return Call("GET", f"/v1/queues/{_id(queue)}/cases", _list(CaseOut), params={"limit": limit})


def get_case(case_id: str, moderator: str | None = None) -> Call[CaseDetail]:
    params = {"moderator": moderator} if moderator else None
    return Call("GET", f"/v1/cases/{_id(case_id)}", _model(CaseDetail), params=params)


def claim(case_id: str, moderator: str) -> Call[CaseOut]:
    return Call("POST", f"/v1/cases/{_id(case_id)}/claim", _model(CaseOut), json={"moderator": moderator})


def release(case_id: str, moderator: str) -> Call[None]:
    return Call("DELETE", f"/v1/cases/{_id(case_id)}/claim", _nothing, params={"moderator": moderator})


def decide(
    case_id: str,
    *,
    moderator: str,
    action: str,
    reason: str,
    ground: str | None = None,
    duration_hours: float | None = None,
    changes: dict[str, str] | None = None,
) -> Call[DecidedOut]:
    """Not idempotent: a decision whose answer was lost is not sent again (a second one would
    find the case closed); read the case to see whether it was taken."""
    body = _drop_none(
        {
            "moderator": moderator,
            "action": action,
            "reason": reason,
            "ground": ground,
            "duration_hours": duration_hours,
            "changes": changes,
        }
    )
    return Call("POST", f"/v1/cases/{_id(case_id)}/decision", _model(DecidedOut), json=body, idempotent=False)
