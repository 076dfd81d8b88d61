"""Arbitrary bodies never make the server fail: every answer is a decision or a 4xx problem."""

from __future__ import annotations

import re
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import Server, uid
from tutela.api.schemas import ID_PATTERN

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
ids = st.sampled_from(["kid", "adult", "ghost", "", "a" * 200, "ｎｕｄｅｓ", "x/y", "kid\x00"]) | st.text(max_size=20)
check_bodies = st.fixed_dictionaries(
    {},
    optional={
        "change_id": ids,
        "actor": ids,
        "object": ids,
        "field": st.sampled_from(["title", "description", "cover", "bio", "nope"]) | st.text(max_size=10),
        "text": st.none() | st.text(max_size=300),
        "tags": st.lists(ids, max_size=5) | json_values,
        "extra": json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=check_bodies | json_values)
def test_check_never_fails_on_any_body(server: Server, body: Any) -> None:
    http = server.client().http
    if isinstance(body, dict) and "change_id" in body:
        body = {**body, "change_id": uid("fz") if body["change_id"] == "kid" else body["change_id"]}
    r = http.post("/v1/checks", json=body)
    assert r.status_code < 500, r.text
    if r.status_code != 200:
        assert r.headers["content-type"] == "application/problem+json"
        change_id = body.get("change_id") if isinstance(body, dict) else None
        if isinstance(change_id, str) and re.match(ID_PATTERN, change_id):
            # Refused, so not stored: unless an earlier example stored a valid change under this id.
            stored = http.get(f"/v1/checks/{change_id}")
            assert stored.status_code == 404 or stored.json()["change"]["id"] == change_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_raw_bytes_get_a_problem(server: Server, raw: bytes) -> None:
    r = httpx.post(
        f"{server.url}/v1/checks",
        content=raw,
        headers={"Authorization": f"Bearer {server.keys['platform']}", "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json"


report_bodies = st.fixed_dictionaries(
    {},
    optional={
        "report_id": ids,
        "reporter": st.none() | ids,
        "trusted_flagger": st.booleans() | json_values,
        "object": st.none() | ids,
        "account": st.none() | ids,
        "category": st.sampled_from(["grooming", "child_sexual_exploitation", "spam", "nope"]) | st.text(max_size=10),
        "text": st.text(max_size=300) | json_values,
        "context": json_values,
    },
)
appeal_bodies = st.fixed_dictionaries(
    {},
    optional={
        "appeal_id": ids,
        "case_id": ids,
        "decision_id": ids,
        "appellant": ids,
        "text": st.text(max_size=100) | json_values,
    },
)
decision_bodies = st.fixed_dictionaries(
    {},
    optional={
        "moderator": ids,
        "action": st.sampled_from(["allow", "remove", "suspend", "hide", "nope"]) | st.text(max_size=10),
        "reason": st.text(max_size=100) | json_values,
        "duration_hours": st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | json_values,
        "changes": json_values,
        "ground": json_values,
    },
)


def _problem_or_ok(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", r.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(report=report_bodies | json_values, appeal=appeal_bodies | json_values, visibility=json_values)
def test_reports_appeals_and_visibility_never_fail_on_any_body(server: Server, report: Any, appeal: Any, visibility: Any) -> None:
    http = server.client().http
    if isinstance(report, dict) and report.get("report_id") == "kid":
        report = {**report, "report_id": uid("fz")}
    _problem_or_ok(http.post("/v1/reports", json=report))
    _problem_or_ok(http.post("/v1/appeals", json=appeal))
    _problem_or_ok(http.post("/v1/visibility", json=visibility))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case_id=ids, decision=decision_bodies | json_values, queue=st.text(max_size=12))
def test_moderator_endpoints_never_fail_on_any_input(server: Server, case_id: str, decision: Any, queue: str) -> None:
    http = server.client("moderator").http
    from urllib.parse import quote

    path = quote(case_id, safe="") or "x"
    _problem_or_ok(http.post(f"/v1/cases/{path}/decision", json=decision))
    _problem_or_ok(http.post(f"/v1/cases/{path}/claim", json=decision))
    _problem_or_ok(http.get(f"/v1/cases/{path}"))
    _problem_or_ok(http.get(f"/v1/queues/{quote(queue, safe='') or 'x'}/cases"))
