"""Bad input gets a clear 4xx naming the problem, and nothing is half-written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support import Api, Server, running_server, uid


def problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:tutela:problem:{slug}" and body["status"] == status and body["detail"]
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


@pytest.fixture
def world(api: Api) -> dict[str, str]:
    ids = {"kid": uid("kid"), "adult": uid("adult"), "list": uid("list")}
    api.account(ids["kid"], band="child")
    api.account(ids["adult"], band="adult")
    api.playlist(ids["list"], ids["kid"], fields={"title": "mine"})
    return ids


def test_malformed_json(api: Api) -> None:
    r = api.http.post("/v1/checks", content=b'{"change_id": "c1",', headers={"Content-Type": "application/json"})
    assert "not valid JSON" in problem(r, 400, "malformed-json")["title"]


def test_invalid_utf8_is_malformed_json(api: Api) -> None:
    r = api.http.put(
        f"/v1/accounts/{uid('a')}", content=b'{"age": {"source": "\xff\xfe"}}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"age": {"band": "elder"}}, "age.band"),
        ({"age": {"basis": "guessed"}}, "age.basis"),
        ({"age": {"confidence": 2}}, "age.confidence"),
        ({"age": {"birth_date": "yesterday"}}, "age.birth_date"),
        ({"age": {"band": "adult"}, "nickname": "x"}, "nickname"),
        ({"age": "adult"}, "age"),
    ],
)
def test_invalid_accounts_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    aid = uid("a")
    body_ = problem(api.http.put(f"/v1/accounts/{aid}", json=body), 422, "invalid-request")
    assert field in fields(body_) and body_["detail"].startswith(field)
    problem(api.http.get(f"/v1/accounts/{aid}"), 404, "unknown-account")


def test_birth_date_must_be_consistent(api: Api) -> None:
    aid = uid("a")
    r = api.http.put(f"/v1/accounts/{aid}", json={"age": {"band": "adult", "birth_date": "2015-01-01"}})
    assert "contradicts birth_date 2015-01-01 (child)" in problem(r, 422, "invalid-request")["detail"]
    r = api.http.put(f"/v1/accounts/{aid}", json={"age": {"birth_date": "2999-01-01"}})
    assert "in the future" in problem(r, 422, "invalid-request")["detail"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"field": "titel"}, "field"),
        ({"field": "cover", "text": "words on an image field"}, "text"),
        ({"field": "title", "text": None}, "text"),
        ({"tags": "everyone"}, "tags"),
        ({"tags": ["ok", "not ok!"]}, "tags.1"),
        ({"text": "x" * 100_001}, "text"),
        ({"text": "nul\x00byte"}, "text"),
        ({"change_id": "../../etc"}, "change_id"),
        ({"actor": "ｎｕｄｅｓ"}, "actor"),
        ({"object": "a" * 129}, "object"),
        ({"verdict": "allow"}, "verdict"),
    ],
)
def test_invalid_checks_name_the_field_and_store_nothing(
    api: Api, world: dict[str, str], patch: dict[str, Any], field: str
) -> None:
    change_id = uid("chg")
    body = {"change_id": change_id, "actor": world["adult"], "object": world["list"], "field": "title", "text": "hi", **patch}
    body = {k: v for k, v in body.items() if v is not None}
    got = problem(api.http.post("/v1/checks", json=body), 422, "invalid-request")
    assert field in fields(got), got
    if "change_id" not in patch:
        problem(api.http.get(f"/v1/checks/{change_id}"), 404, "unknown-change")


def test_unpaired_surrogates_are_refused(api: Api, world: dict[str, str]) -> None:
    prefix = json.dumps({"change_id": uid("chg"), "actor": world["adult"], "object": world["list"], "field": "title"})
    raw = prefix[:-1] + ', "text": "a\\ud800b"}'
    got = problem(api.http.post("/v1/checks", content=raw, headers={"Content-Type": "application/json"}), 422, "invalid-request")
    assert fields(got) == {"text"} and got["detail"].startswith("text:")


def test_hostile_unicode_text_is_checked_not_refused(api: Api, world: dict[str, str]) -> None:
    for text in ("\u202eevil\u202c", "\u0301" * 1000, "🌽👻🍑" * 50, "ｎｕｄｅｓ", "a\u200bb", ""):
        assert api.decide(world["adult"], world["list"], text=text)["verdict"] == "block"


@pytest.mark.parametrize(
    ("who", "slug"),
    [("actor", "unknown-account"), ("object", "unknown-object"), ("tags", "unknown-account")],
)
def test_unknown_ids_are_404_and_store_nothing(api: Api, world: dict[str, str], who: str, slug: str) -> None:
    ghost = uid("ghost")
    body: dict[str, Any] = {
        "change_id": uid("chg"),
        "actor": world["adult"],
        "object": world["list"],
        "field": "title",
        "text": "x",
    }
    body[who] = [ghost] if who == "tags" else ghost
    got = problem(api.http.post("/v1/checks", json=body), 404, slug)
    assert ghost in got["detail"]
    problem(api.http.get(f"/v1/checks/{body['change_id']}"), 404, "unknown-change")


def test_unknown_decision_route_and_method(api: Api) -> None:
    problem(api.http.get(f"/v1/decisions/{uid('dec')}"), 404, "unknown-decision")
    problem(api.http.get("/v1/nothing-here"), 404, "no-such-route")
    problem(api.http.delete("/v1/checks"), 405, "method-not-allowed")


def test_objects_refuse_unknown_accounts_fields_and_kind_changes(api: Api, world: dict[str, str]) -> None:
    pid = uid("p")
    problem(api.http.put(f"/v1/objects/{pid}", json={"kind": "playlist", "owner": uid("ghost")}), 404, "unknown-account")
    collab = {"kind": "playlist", "owner": world["kid"], "collaborators": [uid("ghost")]}
    problem(api.http.put(f"/v1/objects/{pid}", json=collab), 404, "unknown-account")
    got = problem(
        api.http.put(f"/v1/objects/{pid}", json={"kind": "playlist", "owner": world["kid"], "fields": {"bio": "x"}}),
        422,
        "invalid-request",
    )
    assert fields(got) == {"fields.bio"}
    problem(api.http.put(f"/v1/objects/{pid}", json={"kind": "album", "owner": world["kid"]}), 422, "invalid-request")
    problem(api.http.get(f"/v1/objects/{pid}"), 404, "unknown-object")
    # An existing object keeps its kind and its data.
    problem(api.http.put(f"/v1/objects/{world['list']}", json={"kind": "profile", "owner": world["adult"]}), 409, "kind-mismatch")
    kept = api.http.get(f"/v1/objects/{world['list']}").json()
    assert (kept["kind"], kept["owner"], kept["fields"]) == ("playlist", world["kid"], {"title": "mine"})


def test_connections_need_two_known_accounts(api: Api, world: dict[str, str]) -> None:
    problem(api.http.put(f"/v1/accounts/{world['kid']}/connections/{world['kid']}/friend"), 422, "invalid-request")
    problem(api.http.put(f"/v1/accounts/{world['kid']}/connections/{uid('ghost')}/friend"), 404, "unknown-account")
    problem(api.http.put(f"/v1/accounts/{world['kid']}/connections/{world['adult']}/lover"), 422, "invalid-request")
    assert api.http.get(f"/v1/accounts/{world['kid']}/connections").json()["connections"] == []


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path_factory.mktemp('small')}/t.db"
    with running_server(url, TUTELA_MAX_BODY_BYTES="2048", TUTELA_MAX_IMAGE_BYTES="1024") as s:
        yield s


CHECK_LIMIT = 1024 * 4 // 3 + 64 * 1024  # an image's base64, and the JSON around it


def test_oversize_bodies_are_413_declared_or_streamed(small_server: Server) -> None:
    api = small_server.client()
    account = problem(api.http.put("/v1/accounts/a", json={"age": {"band": "adult"}, "pad": "x" * 5000}), 413, "body-too-large")
    assert "2048 bytes" in account["detail"] and "TUTELA_MAX_BODY_BYTES" in account["detail"]
    big = {"change_id": "c", "actor": "a", "object": "o", "field": "title", "text": "x" * (CHECK_LIMIT + 1)}
    got = problem(api.http.post("/v1/checks", json=big), 413, "body-too-large")
    assert f"{CHECK_LIMIT} bytes" in got["detail"] and "TUTELA_MAX_IMAGE_BYTES" in got["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"change_id": "c", "actor": "a", "object": "o", "field": "title", "text": "'
        for _ in range(CHECK_LIMIT // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    streamed = api.http.post("/v1/checks", content=chunks(), headers={"Content-Type": "application/json"})
    problem(streamed, 413, "body-too-large")
    assert api.http.get("/v1/checks/c").status_code == 404


def test_an_image_over_the_image_limit_is_413_and_names_the_setting(small_server: Server) -> None:
    import base64
    import io

    from PIL import Image

    api = small_server.client()
    api.account("img-owner", "adult")
    api.playlist("img-list", "img-owner")
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 80).convert("RGB").save(buf, "PNG")
    assert 1024 < len(buf.getvalue()) < CHECK_LIMIT // 2
    body = {"change_id": "img-c", "actor": "img-owner", "object": "img-list", "field": "cover"}
    got = problem(
        api.http.post("/v1/checks", json={**body, "image": {"base64": base64.b64encode(buf.getvalue()).decode()}}),
        413,
        "image-too-large",
    )
    assert "1,024" in got["detail"] and "TUTELA_MAX_IMAGE_BYTES" in got["detail"]
    assert api.http.get("/v1/checks/img-c").status_code == 404
