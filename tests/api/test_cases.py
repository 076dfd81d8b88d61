"""One report is enough: report → case → interim action → moderator decision → webhook →
reporter told → appeal, through a running server and a real webhook receiver, on both
databases. Each database gets a fresh store of its own, so queues and banks hold only what
these tests put there."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hooks import Receiver, running_receiver, wait_until
from image.benign_images import jpeg, shapes
from support import Api, Server, fresh_database, running_server, tutela, uid


@dataclass
class Flow:
    server: Server
    hooks: Receiver
    platform: Api
    mod: Api

    def report(self, status: int = 201, **body: Any) -> dict[str, Any]:
        body.setdefault("report_id", uid("rep"))
        r = self.platform.http.post("/v1/reports", json=body)
        assert r.status_code == status, r.text
        data: dict[str, Any] = r.json()
        return data

    def claim(self, case_id: str, moderator: str, status: int = 200) -> dict[str, Any]:
        r = self.mod.http.post(f"/v1/cases/{case_id}/claim", json={"moderator": moderator})
        assert r.status_code == status, r.text
        data: dict[str, Any] = r.json()
        return data

    def decide(self, case_id: str, moderator: str, action: str, status: int = 200, **extra: Any) -> dict[str, Any]:
        body = {"moderator": moderator, "action": action, "reason": extra.pop("reason", f"{action}: test decision"), **extra}
        r = self.mod.http.post(f"/v1/cases/{case_id}/decision", json=body)
        assert r.status_code == status, r.text
        data: dict[str, Any] = r.json()
        return data

    def case(self, case_id: str) -> dict[str, Any]:
        r = self.mod.http.get(f"/v1/cases/{case_id}")
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data


@pytest.fixture(scope="module")
def flow(database_url: str) -> Iterator[Flow]:
    with (
        fresh_database(database_url) as url,
        running_receiver() as hooks,
        running_server(url, TUTELA_WEBHOOK_URL=hooks.url, TUTELA_WEBHOOK_SECRET=hooks.secret) as server,
    ):
        f = Flow(server, hooks, server.client("platform"), server.client("moderator"))
        yield f
        f.platform.http.close()
        f.mod.http.close()


def people(f: Flow) -> dict[str, str]:
    """A child, her friend (a child), an adult stranger, and an ordinary adult."""
    ids = {"child": uid("child"), "friend": uid("friend"), "stranger": uid("stranger"), "adult": uid("adult")}
    f.platform.account(ids["child"], band="child")
    f.platform.account(ids["friend"], band="child")
    f.platform.account(ids["stranger"], band="adult")
    f.platform.account(ids["adult"], band="adult")
    return ids


def test_the_whole_flow(flow: Flow) -> None:
    f, p = flow, people(flow)
    # A stranger's public playlist asks for pictures: on his own playlist, tagging nobody, the
    # policy lets it through, but the text detector saw it. Then he tries to tag the child.
    playlist = uid("pl")
    f.platform.playlist(playlist, p["stranger"])
    published = f.platform.decide(p["stranger"], playlist, text="send me a pic 📸")
    assert published["verdict"] == "allow"
    refused = f.platform.decide(p["stranger"], playlist, text="show a good view", tags=[p["child"]])
    assert refused["verdict"] == "block"

    # The child reports it once: one case, hidden at once (backed by the detector), acknowledged
    # with a timeframe.
    receipt = f.report(reporter=p["child"], object=playlist, category="grooming", text="he keeps asking me for pics")
    case_id = receipt["case_id"]
    assert receipt["interim_action"] == "hide"
    assert receipt["timeframe"] == "We aim to review reports of grooming within 4 hours."
    hide = f.hooks.wait_for("action.taken", case_id=case_id, action="hide")[0]["data"]
    assert hide["interim"] is True and hide["subject"] == {"kind": "object", "id": playlist}
    statement = f.hooks.wait_for("statement_of_reasons", case_id=case_id, action="hide")[0]["data"]
    assert statement["account"] == p["stranger"]
    assert statement["category_specification"] == ["KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"]
    assert statement["automated_decision"] == "AUTOMATED_DECISION_FULLY"

    # A second report adds weight to the same case, never a second queue item.
    second = f.report(reporter=p["friend"], object=playlist, category="child_sexual_exploitation")
    assert second["case_id"] == case_id
    queue = f.mod.http.get("/v1/queues/csea/cases").json()
    assert [c["id"] for c in queue].count(case_id) == 1
    listed = next(c for c in queue if c["id"] == case_id)
    assert listed["reporters"] == 2 and listed["child_involved"] and listed["backed"]
    assert listed["category"] == "child_sexual_exploitation", "the case takes the most severe category reported"
    assert f.hooks.events("action.taken", case_id=case_id, action="hide").__len__() == 1, "hidden once, not per report"

    # Moderators: an exclusive claim, then a decision with a reason.
    f.claim(case_id, "mod-ana")
    locked = f.claim(case_id, "mod-ben", status=409)
    assert locked["type"] == "urn:tutela:problem:case-locked" and "mod-ana" in locked["detail"]
    f.decide(case_id, "mod-ben", "remove", status=409)
    decided = f.decide(case_id, "mod-ana", "remove", reason="A sexual request to a child in a playlist title.")
    assert decided["case"]["status"] == "closed" and decided["reporters_notified"] == 2
    assert decided["strikes"] == 1

    removed = f.hooks.wait_for("action.taken", case_id=case_id, action="remove")[0]["data"]
    assert removed["interim"] is False and removed["automated"] is False
    sor = f.hooks.wait_for("statement_of_reasons", case_id=case_id, action="remove")[0]["data"]
    assert sor["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert sor["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert sor["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert "appeals" in sor["redress"]["internal_complaint"]
    outcomes = f.hooks.wait_for("report.outcome", count=2, case_id=case_id)
    assert {o["data"]["reporter"] for o in outcomes} == {p["child"], p["friend"]}
    assert {o["data"]["outcome"] for o in outcomes} == {"action_taken"}
    report = f.platform.http.get(f"/v1/reports/{receipt['report_id']}").json()
    assert report["status"] == "decided" and report["outcome"] == "upheld"

    # The stranger appeals: the case reopens for a different moderator, who overturns it.
    appeal = f.platform.http.post(
        "/v1/appeals", json={"appeal_id": uid("apl"), "case_id": case_id, "appellant": p["stranger"], "text": "it is a song"}
    )
    assert appeal.status_code == 201, appeal.text
    assert appeal.json()["status"] == "under_review"
    assert f.case(case_id)["queue"] == "appeals"
    other = f.claim(case_id, "mod-ana", status=409)
    assert other["type"] == "urn:tutela:problem:appeal-needs-another-moderator"
    f.claim(case_id, "mod-cleo")
    f.decide(case_id, "mod-cleo", "restore", reason="On review: the title quotes a song.")
    restored = f.hooks.wait_for("action.taken", case_id=case_id, action="restore")[0]["data"]
    assert restored["subject"] == {"kind": "object", "id": playlist}
    answer = f.hooks.wait_for("appeal.outcome", case_id=case_id)[0]["data"]
    assert answer["outcome"] == "overturned" and answer["appellant"] == p["stranger"]
    revised = f.hooks.wait_for("report.outcome", count=2, case_id=case_id, revised=True)
    assert {r["data"]["outcome"] for r in revised} == {"no_violation"}, "the reporters hear the revised outcome"
    replay = f.platform.http.get(f"/v1/reports/{receipt['report_id']}").json()
    assert replay["outcome"] == "rejected"
    assert f.platform.http.get(f"/v1/appeals/{appeal.json()['appeal_id']}").json()["outcome"] == "overturned"

    # Everything is on the record: the case's timeline, and an audit log whose chain holds.
    kinds = [e["kind"] for e in f.case(case_id)["events"]]
    assert kinds == [
        "report",
        "interim_action",
        "report",
        "claimed",
        "moderator_decision",
        "appeal",
        "claimed",
        "moderator_decision",
    ]
    verified = tutela(f.server.env, "audit", "verify").stdout
    assert verified.startswith("audit log ok")
    log = tutela(f.server.env, "audit", "show", "--limit", "1000").stdout
    assert f"case:{case_id}" in log and '"evidence.viewed"' in log and '"case.decided"' in log


def test_webhooks_are_signed_and_in_order_per_object(flow: Flow) -> None:
    f, p = flow, people(flow)
    playlist = uid("pl")
    f.platform.playlist(playlist, p["child"])
    receipt = f.report(trusted_flagger=True, object=playlist, category="child_sexual_exploitation")
    f.claim(receipt["case_id"], "mod-ana")
    f.decide(receipt["case_id"], "mod-ana", "remove")
    # The statement of reasons is queued after the action on the same subject, so it arrives last;
    # wait for it (waiting only for the action raced its delivery on a slow CI machine).
    f.hooks.wait_for("statement_of_reasons", case_id=receipt["case_id"], action="remove")
    received = [r for r in f.hooks.received() if r["payload"]["data"].get("case_id") == receipt["case_id"]]
    assert [r["event"] for r in received] == ["action.taken", "statement_of_reasons", "action.taken", "statement_of_reasons"]
    assert [r["payload"]["data"]["action"] for r in received] == ["hide", "hide", "remove", "remove"]
    # The receiver verified every signature (it answers 401 otherwise, and logs only what it accepted).
    assert all(r["delivery_id"] == r["payload"]["id"] for r in received)


def test_a_single_unbacked_report_never_hides_but_two_independent_reporters_do(flow: Flow) -> None:
    f, p = flow, people(flow)
    adults = f"{p['adult']}-list"
    f.platform.playlist(adults, p["adult"])
    alone = f.report(reporter=p["stranger"], object=adults, category="child_sexual_exploitation")
    assert alone["interim_action"] is None, "one adult's word on an adult's content hides nothing"
    by_child = f.report(reporter=p["child"], object=adults, category="child_sexual_exploitation")
    assert by_child["case_id"] == alone["case_id"]
    assert by_child["interim_action"] == "hide", "a child reporting, and two independent reporters"

    childs = f"{p['child']}-list"
    f.platform.playlist(childs, p["child"])
    single = f.report(reporter=p["adult"], object=childs, category="grooming")
    assert single["interim_action"] is None, "a child's object, but a single unbacked report"
    spam = f.report(reporter=p["friend"], object=childs, category="spam")
    assert spam["case_id"] == single["case_id"]


def test_repeatedly_wrong_reporters_lose_weight(flow: Flow) -> None:
    f, p = flow, people(flow)
    serial = p["adult"]
    for _ in range(3):
        target = uid("pl")
        f.platform.playlist(target, p["stranger"])
        wrong = f.report(reporter=serial, object=target, category="sexual_content")
        f.claim(wrong["case_id"], "mod-ana")
        f.decide(wrong["case_id"], "mod-ana", "allow", reason="Nothing wrong here.")
        told = f.hooks.wait_for("report.outcome", case_id=wrong["case_id"])[0]["data"]
        assert told["outcome"] == "no_violation"
    childs = uid("pl")
    f.platform.playlist(childs, p["child"])
    f.report(reporter=serial, object=childs, category="grooming")
    second = f.report(reporter=p["stranger"], object=childs, category="grooming")
    assert second["interim_action"] is None, "a discredited reporter does not count as the second independent one"
    third = f.report(reporter=p["friend"], object=childs, category="grooming")
    assert third["interim_action"] == "hide"


def test_a_decision_that_opens_a_case_and_a_report_on_the_account_share_one_case(flow: Flow) -> None:
    f, p = flow, people(flow)
    playlist = uid("pl")
    f.platform.playlist(playlist, p["child"])
    f.platform.connect(p["child"], p["stranger"], "friend")
    held = f.platform.decide(p["stranger"], playlist, text="whats ur snap? add me on snap")
    assert held["verdict"] in ("block", "hold")
    opened = f.mod.http.get("/v1/queues/csea/cases").json()
    case = next(c for c in opened if c["subject"] == {"kind": "account", "id": p["stranger"]})
    receipt = f.report(reporter=p["child"], account=p["stranger"], category="grooming")
    assert receipt["case_id"] == case["id"]
    assert receipt["interim_action"] == "restrict_contact", "an account reaching children, backed by the detector"
    restricted = f.hooks.wait_for("action.taken", case_id=case["id"], action="restrict_contact")[0]["data"]
    assert restricted["subject"] == {"kind": "account", "id": p["stranger"]}
    detail = f.case(case["id"])
    assert [d["verdict"] for d in detail["decisions"]] == [held["verdict"]]
    assert detail["decisions"][0]["text"] == "whats ur snap? add me on snap"
    # Tutela itself holds the line meanwhile: the friend connection no longer lets him in.
    blocked = f.platform.decide(p["stranger"], playlist, text="summer mix")
    assert blocked["verdict"] == "block"
    assert blocked["reasons"][0]["rule"] == "restricted-account-reaches-protected-account"
    # A moderator finds nothing wrong after all: the measure is lifted.
    f.claim(case["id"], "mod-ana")
    f.decide(case["id"], "mod-ana", "allow", reason="A misunderstanding between friends.")
    lifted = f.hooks.wait_for("action.taken", case_id=case["id"], action="restore")[0]["data"]
    assert lifted["subject"] == {"kind": "account", "id": p["stranger"]}
    assert f.platform.decide(p["stranger"], playlist, text="summer mix")["verdict"] == "allow"


def test_strikes_reach_the_policy_threshold(flow: Flow) -> None:
    f, p = flow, people(flow)
    offender = p["stranger"]
    for n in range(1, 4):
        target = uid("pl")
        f.platform.playlist(target, offender)
        case_id = f.report(reporter=p["adult"], object=target, category="sexual_content")["case_id"]
        f.claim(case_id, "mod-ana")
        decided = f.decide(case_id, "mod-ana", "hide")
        assert decided["strikes"] == n
    assert decided["followed_by"] == ["suspend"], "the default policy suspends at 3 strikes"
    suspended = f.hooks.wait_for("action.taken", case_id=case_id, action="suspend")[0]["data"]
    assert suspended["subject"] == {"kind": "account", "id": offender} and suspended["until"]
    assert suspended["case_subject"] == {"kind": "object", "id": target}
    assert suspended["automated"] is True and suspended["strikes"] == 3
    # The third decision is overturned on appeal: the suspension it triggered is lifted, and the
    # platform is told so.
    appeal = {"appeal_id": uid("apl"), "case_id": case_id, "appellant": offender, "text": "that was a song lyric"}
    assert f.platform.http.post("/v1/appeals", json=appeal).status_code == 201
    f.claim(case_id, "mod-ben")
    f.decide(case_id, "mod-ben", "restore")
    lifted = f.hooks.wait_for("action.taken", case_id=case_id, action="restore", lifts="suspend")[0]["data"]
    assert lifted["subject"] == {"kind": "account", "id": offender}
    own = uid("pl")
    f.platform.playlist(own, offender)
    assert f.platform.decide(offender, own, text="summer mix")["verdict"] == "allow", "no longer suspended"


def test_a_suspension_needs_a_duration_and_content_actions_need_content(flow: Flow) -> None:
    f, p = flow, people(flow)
    case_id = f.report(reporter=p["adult"], account=p["stranger"], category="harassment")["case_id"]
    f.claim(case_id, "mod-ana")
    assert f.decide(case_id, "mod-ana", "suspend", status=422)["detail"] == "duration_hours: a suspension needs a duration"
    hidden = f.decide(case_id, "mod-ana", "hide", status=422)
    assert hidden["type"] == "urn:tutela:problem:action-not-applicable"
    timed = f.decide(case_id, "mod-ana", "warn", duration_hours=48, status=422)
    assert "only suspend and restrict_contact last for a time" in timed["detail"]
    done = f.decide(case_id, "mod-ana", "suspend", duration_hours=48)
    until = f.hooks.wait_for("action.taken", case_id=case_id, action="suspend")[0]["data"]["until"]
    assert until and done["case"]["decision"]["duration_hours"] == 48
    own = uid("pl")
    f.platform.playlist(own, p["stranger"])
    suspended = f.platform.decide(p["stranger"], own, text="summer mix")
    assert suspended["verdict"] == "block" and suspended["reasons"][0]["rule"] == "suspended-account-acts"


def test_confirmed_abuse_images_are_banked_and_a_reupload_is_refused(flow: Flow) -> None:
    f, p = flow, people(flow)
    cover = jpeg(shapes((512, 384), seed=int(uuid.uuid4().int % 100000)))
    playlist = uid("pl")
    f.platform.playlist(playlist, p["stranger"])
    import base64

    body = {"change_id": uid("chg"), "actor": p["stranger"], "object": playlist, "field": "cover"}
    published = f.platform.http.post("/v1/checks", json={**body, "image": {"base64": base64.b64encode(cover).decode()}})
    assert published.json()["verdict"] == "allow"
    case_id = f.report(trusted_flagger=True, object=playlist, category="child_sexual_exploitation")["case_id"]
    f.claim(case_id, "mod-ana")
    decided = f.decide(case_id, "mod-ana", "remove", reason="Confirmed abuse imagery (test stand-in).")
    assert decided["banked"] >= 1
    again = uid("pl")
    f.platform.playlist(again, p["adult"])

    def refused() -> dict[str, Any] | None:
        body = {"change_id": uid("chg"), "actor": p["adult"], "object": again, "field": "cover"}
        r = f.platform.http.post("/v1/checks", json={**body, "image": {"base64": base64.b64encode(cover).decode()}}).json()
        return r if r["verdict"] == "block" else None

    result = wait_until(refused, 5, "the re-upload to be refused by the takedown bank")
    assert result["reasons"][0]["rule"] == "known-csam-image"


def test_a_terminated_account_coming_back_is_flagged(flow: Flow) -> None:
    f, p = flow, people(flow)
    email = hashlib.sha256(f"{uid('m')}@example.org".encode()).hexdigest()
    device = uid("device")
    r = f.platform.http.put(
        f"/v1/accounts/{p['stranger']}",
        json={"age": {"band": "adult", "basis": "declared"}, "identifiers": {"email_sha256": [email], "device_ids": [device]}},
    )
    assert r.status_code == 200 and r.json()["flags"] == []
    case_id = f.report(reporter=p["adult"], account=p["stranger"], category="grooming")["case_id"]
    f.claim(case_id, "mod-ana")
    f.decide(case_id, "mod-ana", "terminate", reason="Grooming.")
    comeback = uid("new")
    r = f.platform.http.put(
        f"/v1/accounts/{comeback}", json={"age": {"band": "adult", "basis": "declared"}, "identifiers": {"device_ids": [device]}}
    )
    assert r.status_code == 201, r.text
    [flag] = r.json()["flags"]
    assert flag["terminated_account"] == p["stranger"] and flag["matched_on"] == "device_id"
    hook = f.hooks.wait_for("account.flagged", account=comeback)[0]["data"]
    assert hook["case_id"] == flag["case_id"]
    again = f.platform.http.put(
        f"/v1/accounts/{comeback}", json={"age": {"band": "adult", "basis": "declared"}, "identifiers": {"device_ids": [device]}}
    )
    assert again.json()["flags"][0].get("case_id") is None, "flagged once, not on every update"


# ---- bad input -----------------------------------------------------------------------------


def test_reports_about_unknown_things_are_404(flow: Flow) -> None:
    f, p = flow, people(flow)
    for body, slug in (
        ({"object": uid("nope")}, "unknown-object"),
        ({"account": uid("nope")}, "unknown-account"),
        ({"object": uid("nope"), "reporter": p["child"]}, "unknown-object"),
    ):
        problem = f.report(status=404, category="other", **body)
        assert problem["type"] == f"urn:tutela:problem:{slug}"
    playlist = uid("pl")
    f.platform.playlist(playlist, p["adult"])
    assert f.report(status=404, object=playlist, reporter=uid("ghost"), category="other")["type"].endswith("unknown-account")


def test_a_report_id_is_idempotent(flow: Flow) -> None:
    f, p = flow, people(flow)
    playlist = uid("pl")
    f.platform.playlist(playlist, p["adult"])
    body = {"report_id": uid("rep"), "reporter": p["child"], "object": playlist, "category": "harassment", "text": "mean"}
    first = f.report(**body)
    replay = f.platform.http.post("/v1/reports", json=body)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first["id"]
    conflict = f.report(status=409, **{**body, "text": "different"})
    assert conflict["type"] == "urn:tutela:problem:report-id-reused"
    detail = f.case(first["case_id"])
    assert len(detail["reports"]) == 1, "the replay and the conflict added nothing"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "shoplifting"}, "category"),
        ({"category": "other", "text": "x" * 10_001}, "text"),
        ({"category": "other", "text": "nul\x00byte"}, "text"),
        ({"category": "other", "context": {"edits": ["y" * 70_000]}}, "context"),
        ({"category": "other", "account": "someone"}, "body"),
        ({"category": "other", "object": None}, "body"),
        ({"category": "other", "report_id": "../etc"}, "report_id"),
    ],
)
def test_invalid_reports_are_422_naming_the_field(flow: Flow, body: dict[str, Any], field: str) -> None:
    f = flow
    playlist = uid("pl")
    owner = uid("owner")
    f.platform.account(owner)
    f.platform.playlist(playlist, owner)
    problem = f.report(status=422, **{"object": playlist, **body})
    assert problem["errors"][0]["field"] == field, problem


def test_oversize_and_malformed_bodies(flow: Flow) -> None:
    f = flow
    big = f.platform.http.post("/v1/reports", content=b"{" + b" " * 600_000 + b"}", headers={"content-type": "application/json"})
    assert big.status_code == 413
    bad = f.platform.http.post("/v1/reports", content=b'{"report_id": ', headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["type"] == "urn:tutela:problem:malformed-json"


def test_case_and_appeal_errors(flow: Flow) -> None:
    f, p = flow, people(flow)
    assert f.mod.http.get(f"/v1/cases/{uid('case')}").status_code == 404
    assert f.mod.http.get("/v1/queues/nope/cases").json()["type"] == "urn:tutela:problem:unknown-queue"
    assert f.platform.http.get("/v1/queues").status_code == 403, "a platform key cannot act as a moderator"
    assert f.mod.http.post("/v1/reports", json={}).status_code == 403
    playlist = uid("pl")
    f.platform.playlist(playlist, p["adult"])
    case_id = f.report(reporter=p["child"], object=playlist, category="spam")["case_id"]

    def appeal(appellant: str, case: str = case_id, status: int = 409) -> dict[str, Any]:
        r = f.platform.http.post("/v1/appeals", json={"appeal_id": uid("apl"), "case_id": case, "appellant": appellant})
        assert r.status_code == status, r.text
        data: dict[str, Any] = r.json()
        return data

    assert appeal(p["adult"])["type"] == "urn:tutela:problem:case-not-decided"
    assert appeal(p["adult"], case=uid("case"), status=404)["type"] == "urn:tutela:problem:unknown-case"
    f.decide(case_id, "mod-ana", "allow", status=409)  # not claimed
    f.claim(case_id, "mod-ana")
    f.decide(case_id, "mod-ana", "allow")
    assert appeal(p["stranger"], status=403)["type"] == "urn:tutela:problem:not-a-party"
    f.decide(case_id, "mod-ana", "remove", status=409)  # closed
    assert f.claim(case_id, "mod-ben", status=409)["type"] == "urn:tutela:problem:case-closed"
    appeal(p["child"], status=201)
    assert appeal(p["child"])["type"] == "urn:tutela:problem:appeal-pending"


def test_concurrent_reports_on_one_subject_make_one_case_and_one_hide(flow: Flow) -> None:
    import concurrent.futures

    f, p = flow, people(flow)
    playlist = uid("pl")
    f.platform.playlist(playlist, p["child"])
    reporters = [uid("rep-by") for _ in range(8)]
    for r in reporters:
        f.platform.account(r)

    def send(reporter: str) -> dict[str, Any]:
        body = {"report_id": uid("rep"), "reporter": reporter, "object": playlist, "category": "grooming"}
        client = f.server.client("platform")
        try:
            r = client.http.post("/v1/reports", json=body)
        finally:
            client.http.close()
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(send, reporters))
    assert len({r["case_id"] for r in receipts}) == 1
    case = f.case(receipts[0]["case_id"])
    assert case["reporters"] == 8 and len(case["reports"]) == 8
    f.hooks.wait_for("action.taken", case_id=case["id"], action="hide")
    assert [e["kind"] for e in case["events"]].count("interim_action") == 1


def test_a_refused_attempt_on_a_childs_playlist_never_counts_against_her_playlist(flow: Flow) -> None:
    f, p = flow, people(flow)
    hers = uid("pl")
    f.platform.playlist(hers, p["child"])
    refused = f.platform.decide(p["stranger"], hers, text="send me a pic")
    assert refused["verdict"] == "block", "never published on her playlist"
    receipt = f.report(reporter=p["child"], object=hers, category="grooming", text="someone tried to write here")
    assert receipt["interim_action"] is None, "her playlist shows nothing harmful: nothing to hide, nobody to blame"
    stranger_case = next(
        c for c in f.mod.http.get("/v1/queues/csea/cases").json() if c["subject"] == {"kind": "account", "id": p["stranger"]}
    )
    assert stranger_case["backed"] and stranger_case["child_involved"], "the attempt is on the stranger's own case"


def test_an_automated_refusal_can_be_appealed_to_a_moderator(flow: Flow) -> None:
    f, p = flow, people(flow)
    hers = uid("pl")
    f.platform.playlist(hers, p["child"])
    f.platform.connect(p["child"], p["adult"], "family")
    refused = f.platform.decide(p["adult"], hers, text="add me on snap for the school trip photos")
    assert refused["verdict"] in ("block", "hold")
    body = {"appeal_id": uid("apl"), "decision_id": refused["id"], "appellant": p["adult"], "text": "I am her aunt"}
    not_his = f.platform.http.post("/v1/appeals", json={**body, "appeal_id": uid("apl"), "appellant": p["stranger"]})
    assert not_his.status_code == 403
    r = f.platform.http.post("/v1/appeals", json=body)
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    case = f.case(case_id)
    assert case["queue"] == "appeals" and [d["id"] for d in case["decisions"]].count(refused["id"]) == 1
    assert case["child_involved"] and case["priority"] > 0
    f.claim(case_id, "mod-ana")
    f.decide(case_id, "mod-ana", "allow", reason="Family arranging a school trip.")
    released = f.hooks.wait_for("change.released", decision_id=refused["id"])[0]["data"]
    assert released["object"] == hers and released["actor"] == p["adult"]
    assert [e["kind"] for e in f.case(case_id)["events"]].count("change_resolved") == 1, "released once"
    assert f.hooks.wait_for("appeal.outcome", case_id=case_id)[0]["data"]["outcome"] == "overturned"
    published = f.platform.decide(p["adult"], hers, text="summer mix")
    nothing = {"appeal_id": uid("apl"), "decision_id": published["id"], "appellant": p["adult"]}
    assert f.platform.http.post("/v1/appeals", json=nothing).json()["type"] == "urn:tutela:problem:nothing-to-appeal"


def test_children_are_never_given_strikes(flow: Flow) -> None:
    f, p = flow, people(flow)
    hers = uid("pl")
    f.platform.playlist(hers, p["child"])
    assert f.platform.decide(p["child"], hers, text="my summer songs")["verdict"] == "allow"
    case_id = f.report(trusted_flagger=True, object=hers, category="sexual_content")["case_id"]
    f.claim(case_id, "mod-ana")
    decided = f.decide(case_id, "mod-ana", "remove", reason="Not suitable for a public playlist.")
    assert decided["strikes"] == 0, "safeguard, never punish"
    sor = f.hooks.wait_for("statement_of_reasons", case_id=case_id, action="remove")[0]["data"]
    assert sor["account"] == p["child"], "she is still told what was removed and why"


def test_unknown_age_reporters_do_not_make_a_report_involve_a_child(flow: Flow) -> None:
    f, p = flow, people(flow)
    adults = uid("pl")
    f.platform.playlist(adults, p["adult"])
    fresh = [uid("fresh"), uid("fresh")]
    for who in fresh:
        f.platform.account(who, band="unknown", basis="unknown")
    first = f.report(reporter=fresh[0], object=adults, category="grooming")
    second = f.report(reporter=fresh[1], object=adults, category="grooming")
    assert second["case_id"] == first["case_id"]
    assert second["interim_action"] is None, "two throwaway accounts cannot take an adult's playlist down"


def test_an_appeal_that_changes_the_measure_is_modified_and_strikes_once(flow: Flow) -> None:
    f, p = flow, people(flow)
    theirs = uid("pl")
    f.platform.playlist(theirs, p["stranger"])
    case_id = f.report(reporter=p["adult"], object=theirs, category="sexual_content")["case_id"]
    f.claim(case_id, "mod-ana")
    assert f.decide(case_id, "mod-ana", "remove")["strikes"] == 1
    appeal = {"appeal_id": uid("apl"), "case_id": case_id, "appellant": p["stranger"]}
    assert f.platform.http.post("/v1/appeals", json=appeal).status_code == 201
    f.claim(case_id, "mod-ben")
    decided = f.decide(case_id, "mod-ben", "age_restrict", reason="Adults only, rather than removed.")
    assert decided["strikes"] == 1, "one strike per case"
    assert f.hooks.wait_for("appeal.outcome", case_id=case_id)[0]["data"]["outcome"] == "modified"
    assert f.hooks.wait_for("action.taken", case_id=case_id, action="age_restrict")


def test_claims_can_be_released_only_by_their_holder(flow: Flow) -> None:
    f, p = flow, people(flow)
    case_id = f.report(reporter=p["adult"], account=p["stranger"], category="spam")["case_id"]
    release = f.mod.http.delete(f"/v1/cases/{case_id}/claim", params={"moderator": "mod-ana"})
    assert release.status_code == 409 and release.json()["type"] == "urn:tutela:problem:case-not-claimed"
    f.claim(case_id, "mod-ana")
    assert f.mod.http.delete(f"/v1/cases/{case_id}/claim", params={"moderator": "mod-ben"}).status_code == 409
    assert f.mod.http.delete(f"/v1/cases/{case_id}/claim", params={"moderator": "mod-ana"}).status_code == 204
    f.claim(case_id, "mod-ben")


def test_an_appeal_that_softens_a_suspension_lifts_it(flow: Flow) -> None:
    f, p = flow, people(flow)
    case_id = f.report(reporter=p["adult"], account=p["stranger"], category="harassment")["case_id"]
    f.claim(case_id, "mod-ana")
    f.decide(case_id, "mod-ana", "suspend", duration_hours=72)
    own = uid("pl")
    f.platform.playlist(own, p["stranger"])
    assert f.platform.decide(p["stranger"], own, text="summer mix")["verdict"] == "block"
    assert (
        f.platform.http.post(
            "/v1/appeals", json={"appeal_id": uid("apl"), "case_id": case_id, "appellant": p["stranger"]}
        ).status_code
        == 201
    )
    f.claim(case_id, "mod-ben")
    f.decide(case_id, "mod-ben", "warn", reason="A warning is enough.")
    lifted = f.hooks.wait_for("action.taken", case_id=case_id, action="restore", lifts="suspend")[0]["data"]
    assert lifted["subject"] == {"kind": "account", "id": p["stranger"]} and lifted["ground"] is None
    assert f.hooks.wait_for("appeal.outcome", case_id=case_id)[0]["data"]["outcome"] == "modified"
    assert f.platform.decide(p["stranger"], own, text="summer mix")["verdict"] == "allow"


def test_a_moderator_settles_each_held_change(flow: Flow) -> None:
    f, p = flow, people(flow)
    own = uid("pl")
    f.platform.playlist(own, p["stranger"])
    held = f.platform.decide(p["stranger"], own, text="12 yo boy, love pop")
    assert held["verdict"] == "hold", "an adult claiming a child's age"
    case_id = next(
        c["id"]
        for c in f.mod.http.get("/v1/queues/csea/cases", params={"limit": 500}).json()
        if c["subject"]["id"] == p["stranger"]
    )
    f.claim(case_id, "mod-ana")
    wrong = f.decide(case_id, "mod-ana", "allow", status=422, changes={uid("dec"): "release"})
    assert "is not a change waiting on case" in wrong["detail"]
    f.decide(case_id, "mod-ana", "allow", reason="No grounds against the account.", changes={held["id"]: "reject"})
    rejected = f.hooks.wait_for("change.rejected", decision_id=held["id"])[0]["data"]
    assert rejected["change_id"] == held["change_id"]
    assert not f.hooks.events("change.released", decision_id=held["id"]), "the dismissal did not release it"
