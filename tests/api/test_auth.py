"""Every /v1 endpoint needs a key with the right scope; health and metrics do not."""

from __future__ import annotations

import httpx
import pytest

from support import Server, tutela, uid

ENDPOINTS = [
    ("PUT", "/v1/accounts/x", {"age": {}}),
    ("GET", "/v1/accounts/x", None),
    ("PUT", "/v1/accounts/x/connections/y/friend", None),
    ("DELETE", "/v1/accounts/x/connections/y/friend", None),
    ("GET", "/v1/accounts/x/connections", None),
    ("PUT", "/v1/objects/x", {"kind": "playlist", "owner": "x"}),
    ("GET", "/v1/objects/x", None),
    ("POST", "/v1/checks", {"change_id": "c", "actor": "a", "object": "o", "field": "title", "text": "t"}),
    ("GET", "/v1/checks/c", None),
    ("GET", "/v1/decisions/d", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_v1_endpoint_needs_a_key(server: Server, method: str, path: str, body: object) -> None:
    for headers in ({}, {"Authorization": "Bearer tut_nope_nope"}, {"Authorization": "Basic abc"}):
        r = httpx.request(method, server.url + path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["type"] == "urn:tutela:problem:unauthorized"


def test_the_openapi_document_lists_every_endpoint(server: Server) -> None:
    spec = httpx.get(server.url + "/v1/openapi.json").json()
    paths = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for method, path, _ in ENDPOINTS:
        template = path.replace("/x/connections/y/friend", "/{account_id}/connections/{other_id}/{kind}")
        template = template.replace("/accounts/x", "/accounts/{account_id}").replace("/objects/x", "/objects/{object_id}")
        template = template.replace("/checks/c", "/checks/{change_id}").replace("/decisions/d", "/decisions/{decision_id}")
        assert (method, template) in paths


def test_scopes(server: Server) -> None:
    moderator = server.client("moderator").http
    r = moderator.put(f"/v1/accounts/{uid('a')}", json={})
    assert r.status_code == 403
    assert "needs a key with scope admin or platform" in r.json()["detail"]
    assert moderator.get(f"/v1/accounts/{uid('a')}").status_code == 404  # may read
    admin = server.client("admin").http
    assert admin.put(f"/v1/accounts/{uid('a')}", json={}).status_code == 201


def test_a_revoked_key_is_refused(server: Server) -> None:
    key = tutela(server.env, "keys", "create", "--name", "short-lived", "--scope", "platform").stdout.strip()
    prefix = key.split("_")[1]
    tutela(server.env, "keys", "revoke", prefix)
    again = tutela(server.env, "keys", "revoke", prefix, check=False)
    assert again.returncode == 1 and "no active key" in again.stderr
    r = httpx.put(f"{server.url}/v1/accounts/{uid('a')}", json={}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401 and f"API key {prefix} was revoked" in r.json()["detail"]


def test_the_right_prefix_with_the_wrong_secret_is_refused(server: Server) -> None:
    prefix = server.keys["admin"].split("_")[1]
    r = httpx.get(f"{server.url}/v1/accounts/x", headers={"Authorization": f"Bearer tut_{prefix}_{'x' * 43}"})
    assert r.status_code == 401 and r.json()["detail"] == "this API key is not known"


def test_health_readiness_and_metrics_need_no_key(server: Server) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok", "policy_version": None, "schema_revision": None}
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["policy_version"].startswith("default-child-safety@6+")
    metrics = httpx.get(server.url + "/metrics").text
    assert "tutela_checks_total" in metrics and "tutela_check_seconds_bucket" in metrics
