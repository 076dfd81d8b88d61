"""The Python SDK (tutela.client) against a running server, both databases: every endpoint,
errors as exceptions with their problem details, and retries that never duplicate, through a
real proxy that loses answers and fails requests."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from image.benign_images import jpeg, shapes
from support import Server, free_port, uid
from tutela.actions.signing import sign
from tutela.client import (
    AsyncClient,
    Client,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    Retries,
    SignatureError,
    TransportError,
    Unauthorized,
    verify_webhook,
)

FAST = Retries(attempts=4, backoff=0.01)


@pytest.fixture
def tutela(server: Server) -> Iterator[Client]:
    with Client(server.url, server.keys["platform"], retries=FAST) as client:
        yield client


@pytest.fixture
def moderator(server: Server) -> Iterator[Client]:
    with Client(server.url, server.keys["moderator"], retries=FAST) as client:
        yield client


def test_every_endpoint_through_the_sync_client(tutela: Client, moderator: Client) -> None:
    kid, stranger, friend = uid("kid"), uid("stranger"), uid("friend")
    import datetime as dt

    assert (
        tutela.put_account(kid, birth_date=dt.date.today().replace(year=dt.date.today().year - 11), basis="declared").age.band
        == "child"
    )
    tutela.put_account(stranger, band="adult", basis="declared")
    tutela.put_account(friend, band="child", basis="declared")
    assert tutela.connect(kid, friend, "friend").mutual
    assert [c.target for c in tutela.connections(kid).connections if c.kind == "friend"] in ([friend], [kid])
    playlist = uid("pl")
    obj = tutela.put_object(playlist, kind="playlist", owner=kid, fields={"title": "summer"})
    assert obj.owner == kid and tutela.get_object(playlist).fields == {"title": "summer"}
    assert tutela.get_account(kid).id == kid

    refused = tutela.check(change_id=uid("chg"), actor=stranger, object=playlist, field="title", text="s3nd m3 a p1c")
    assert refused.verdict == "block" and refused.reasons[0].message
    explained = tutela.get_decision(refused.id)
    assert explained.change.text == "s3nd m3 a p1c" and tutela.get_check(refused.change_id).id == refused.id
    cover = tutela.check(change_id=uid("chg"), actor=kid, object=playlist, field="cover", image=jpeg(shapes((320, 240), seed=7)))
    assert cover.verdict == "allow"
    assert tutela.get_decision(cover.id).change.image is not None

    theirs = uid("pl")
    tutela.put_object(theirs, kind="playlist", owner=stranger)
    assert (
        tutela.check(change_id=uid("chg"), actor=stranger, object=theirs, field="title", text="send me a pic").verdict == "allow"
    )
    receipt = tutela.report(report_id=uid("rep"), reporter=kid, object=theirs, category="grooming", text="he asks for pics")
    assert receipt.interim_action == "hide" and tutela.get_report(receipt.report_id).case_id == receipt.case_id
    seen = tutela.visible(kid, [theirs, playlist, uid("never-mirrored")])
    assert seen.visible == [playlist] and [h.reason for h in seen.hidden] == ["hidden_pending_review"] and len(seen.unknown) == 1

    assert any(q.name == "csea" and q.open >= 1 for q in moderator.queues())
    assert receipt.case_id in [c.id for c in moderator.queue_cases("csea", limit=500)]
    assert moderator.get_case(receipt.case_id, moderator="mod-ana").reports[0]["reporter"] == kid
    moderator.claim(receipt.case_id, "mod-ana")
    moderator.release(receipt.case_id, "mod-ana")
    moderator.claim(receipt.case_id, "mod-ana")
    decided = moderator.decide(receipt.case_id, moderator="mod-ana", action="remove", reason="A request for pictures.")
    assert decided.case.status == "closed" and decided.reporters_notified == 1
    assert tutela.visible(None, [theirs]).hidden[0].reason == "removed"
    appeal = tutela.appeal(appeal_id=uid("apl"), case_id=receipt.case_id, appellant=stranger, text="a joke")
    assert tutela.get_appeal(appeal.appeal_id).status == "under_review"
    refusal = tutela.appeal(appeal_id=uid("apl"), decision_id=refused.id, appellant=stranger)
    assert refusal.case_id
    tutela.disconnect(kid, friend, "friend")
    assert not [c for c in tutela.connections(kid).connections if c.kind == "friend"]


def test_errors_are_exceptions_with_the_problem(server: Server, tutela: Client, moderator: Client) -> None:
    with pytest.raises(NotFound) as missing:
        tutela.get_object(uid("nope"))
    assert missing.value.status == 404 and missing.value.slug == "unknown-object" and "PUT /v1/objects" in missing.value.detail
    owner = uid("owner")
    tutela.put_account(owner, band="adult")
    playlist = uid("pl")
    tutela.put_object(playlist, kind="playlist", owner=owner)
    change = uid("chg")
    tutela.check(change_id=change, actor=owner, object=playlist, field="title", text="a")
    with pytest.raises(Conflict) as reused:
        tutela.check(change_id=change, actor=owner, object=playlist, field="title", text="b")
    assert reused.value.slug == "change-id-reused" and reused.value.problem["decision"]
    with pytest.raises(InvalidRequest) as invalid:
        tutela.check(change_id=uid("chg"), actor=owner, object=playlist, field="title", text="x\x00y")
    assert invalid.value.errors[0]["field"] == "text"
    with pytest.raises(Forbidden):
        tutela.queues()
    with Client(server.url, "tut_nope_nope", retries=FAST) as bad, pytest.raises(Unauthorized):
        bad.get_account(owner)
    with pytest.raises(Conflict) as unclaimed:
        case_id = tutela.report(report_id=uid("rep"), account=owner, category="spam").case_id
        moderator.decide(case_id, moderator="mod-ana", action="allow", reason="fine")
    assert unclaimed.value.slug == "case-not-claimed"


class FlakyProxy:
    """A real HTTP proxy in front of the server that, by plan, forwards a request and then drops
    the connection without answering ("lose"), or answers 503 without forwarding ("fail")."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.plan: list[str] = []
        self.forwarded: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                step = proxy.plan.pop(0) if proxy.plan else "pass"
                if step == "fail":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                r = httpx.request(self.command, proxy.upstream + self.path, headers=headers, content=body, timeout=30)
                proxy.forwarded.append(f"{self.command} {self.path}")
                if step == "lose":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(server: Server) -> Iterator[FlakyProxy]:
    p = FlakyProxy(server.url)
    yield p
    p.close()


def test_a_lost_answer_is_retried_without_duplicating(
    server: Server, proxy: FlakyProxy, tutela: Client, moderator: Client
) -> None:
    owner = uid("owner")
    tutela.put_account(owner, band="adult")
    playlist = uid("pl")
    tutela.put_object(playlist, kind="playlist", owner=owner)
    with Client(proxy.url, server.keys["platform"], retries=FAST) as flaky:
        proxy.plan = ["lose", "fail"]
        change = uid("chg")
        decision = flaky.check(change_id=change, actor=owner, object=playlist, field="title", text="road trip")
        assert proxy.forwarded.count("POST /v1/checks") == 2, "sent twice: lost once, failed once (not forwarded), answered"
        assert tutela.get_check(change).id == decision.id, "one decision for the change"
        proxy.plan = ["lose"]
        receipt = flaky.report(report_id=uid("rep"), reporter=owner, account=owner, category="spam")
        assert len(moderator.get_case(receipt.case_id).reports) == 1, "the retried report is the same report"

    with Client(proxy.url, server.keys["moderator"], retries=FAST) as flaky_mod:
        moderator.claim(receipt.case_id, "mod-ana")
        proxy.plan = ["lose"]
        with pytest.raises(TransportError):
            flaky_mod.decide(receipt.case_id, moderator="mod-ana", action="allow", reason="fine")
        assert moderator.get_case(receipt.case_id).status == "closed", "taken once; a decision is never re-sent blind"

    with Client(proxy.url, server.keys["platform"], retries=Retries(attempts=2, backoff=0.01)) as impatient:
        proxy.plan = ["fail", "fail"]
        with pytest.raises(Exception, match="503"):
            impatient.get_account(owner)
    with (
        Client(f"http://127.0.0.1:{free_port()}", server.keys["platform"], retries=FAST) as nowhere,
        pytest.raises(TransportError),
    ):
        nowhere.get_account(owner)


def test_the_async_client(server: Server) -> None:
    async def scenario() -> dict[str, Any]:
        async with AsyncClient(server.url, server.keys["platform"], retries=FAST) as tutela:
            kid, stranger, playlist = uid("kid"), uid("stranger"), uid("pl")
            await tutela.put_account(kid, band="child", basis="declared")
            await tutela.put_account(stranger, band="adult")
            await tutela.put_object(playlist, kind="playlist", owner=kid)
            decisions = await asyncio.gather(
                *(
                    tutela.check(change_id=uid("chg"), actor=stranger, object=playlist, field="title", text=t)
                    for t in ("add me on snap", "hey", "how old r u")
                )
            )
            try:
                await tutela.get_object(uid("nope"))
            except NotFound as e:
                missing = e.slug
            return {"verdicts": [d.verdict for d in decisions], "missing": missing}

    result = asyncio.run(scenario())
    assert result == {"verdicts": ["block", "block", "block"], "missing": "unknown-object"}


def test_verify_webhook() -> None:
    body = json.dumps(
        {"id": "whd_1", "type": "action.taken", "created_at": "2026-11-30T01:00:00+00:00", "data": {"action": "hide"}}
    )
    raw = body.encode()
    headers = {"Tutela-Signature": sign(["new"], raw), "Tutela-Attempt": "2"}
    event = verify_webhook(["new", "old"], headers, raw)
    assert (event.id, event.type, event.data, event.attempt) == ("whd_1", "action.taken", {"action": "hide"}, 2)
    with pytest.raises(SignatureError):
        verify_webhook("other", headers, raw)
    with pytest.raises(SignatureError):
        verify_webhook("new", headers, raw.replace(b"hide", b"show"))
    with pytest.raises(SignatureError, match="not a Tutela event"):
        verify_webhook("new", {"tutela-signature": sign(["new"], b"[]")}, b"[]")
