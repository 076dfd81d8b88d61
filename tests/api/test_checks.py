"""The default child-safety policy, through the HTTP API of a running server."""

from __future__ import annotations

from typing import Any

from support import Api, Server, uid


def family(api: Api) -> dict[str, str]:
    """A child with a playlist, her friend, a follower, a stranger, and an adult with a playlist."""
    ids = {k: uid(k) for k in ("kid", "friend", "follower", "stranger", "adult", "anon")}
    api.account(ids["kid"], band=None, birth_date="2015-04-02", source="platform:signup-dob")
    api.account(ids["anon"], band="unknown", basis="unknown")
    for adult in ("friend", "follower", "stranger", "adult"):
        api.account(ids[adult], band="adult")
    api.connect(ids["kid"], ids["friend"], "friend")
    api.connect(ids["follower"], ids["kid"], "follow")
    ids["kid_list"], ids["adult_list"], ids["anon_list"] = uid("list"), uid("list"), uid("list")
    api.playlist(ids["kid_list"], ids["kid"], fields={"title": "my songs"})
    api.playlist(ids["adult_list"], ids["adult"], fields={"title": "gym"})
    api.playlist(ids["anon_list"], ids["anon"])
    return ids


def rules(decision: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in decision["reasons"]]


def test_a_stranger_cannot_write_into_a_childs_playlist(api: Api) -> None:
    ids = family(api)
    for field, text in (("title", "hey"), ("description", "hey"), ("cover", None)):
        d = api.decide(ids["stranger"], ids["kid_list"], field=field, text=text)
        assert d["verdict"] == "block", field
        assert rules(d) == ["stranger-edits-protected-object"]
        reason = d["reasons"][0]
        assert reason["category"] == "stranger_contact" and reason["severity"] == "high"
        assert reason["message"] == "Only people this account's owner is connected with can change it."
        assert reason["evidence"][0]["label"] == "contact.stranger" and reason["evidence"][0]["subject"] == ids["kid"]


def test_following_a_child_is_not_a_connection(api: Api) -> None:
    ids = family(api)
    assert api.decide(ids["follower"], ids["kid_list"])["verdict"] == "block"


def test_unknown_age_gets_the_child_defaults(api: Api) -> None:
    ids = family(api)
    d = api.decide(ids["stranger"], ids["anon_list"])
    assert d["verdict"] == "block" and rules(d) == ["stranger-edits-protected-object"]


def test_a_connection_may_edit_and_the_contact_is_recorded(api: Api, server: Server) -> None:
    ids = family(api)
    d = api.decide(ids["friend"], ids["kid_list"], text="road trip")
    assert d["verdict"] == "allow" and rules(d) == ["connection-contacts-protected-account"]
    explained = server.client("moderator").http.get(f"/v1/decisions/{d['id']}").json()
    assert explained["followups"] == ["record_contact"]
    assert explained["signals"][0]["label"] == "contact.connected"


def test_removing_the_connection_removes_the_right(api: Api) -> None:
    ids = family(api)
    assert api.decide(ids["friend"], ids["kid_list"])["verdict"] == "allow"
    assert api.http.delete(f"/v1/accounts/{ids['friend']}/connections/{ids['kid']}/friend").status_code == 204
    assert api.decide(ids["friend"], ids["kid_list"])["verdict"] == "block"


def test_a_stranger_cannot_tag_a_child_but_a_friend_can(api: Api) -> None:
    ids = family(api)
    d = api.decide(ids["stranger"], ids["adult_list"], tags=[ids["kid"]])
    assert d["verdict"] == "block" and rules(d) == ["stranger-tags-protected-account"]
    assert d["reasons"][0]["message"] == "You can only tag people you are connected with."
    assert [e["subject"] for e in d["reasons"][0]["evidence"]] == [ids["kid"]]
    api.playlist(ids["adult_list"], ids["friend"])  # the friend's playlist now
    assert api.decide(ids["friend"], ids["adult_list"], tags=[ids["kid"]])["verdict"] == "allow"


def test_adults_on_their_own_objects_are_allowed_with_no_reasons(api: Api) -> None:
    ids = family(api)
    d = api.decide(ids["adult"], ids["adult_list"], text="Sex on Fire / Teenage Dirtbag bangers", tags=[ids["stranger"]])
    assert d["verdict"] == "allow" and d["reasons"] == []
    own = api.decide(ids["kid"], ids["kid_list"], text="Call Me Maybe")
    assert own["verdict"] == "allow" and own["reasons"] == []


def test_the_same_change_id_returns_the_same_decision(api: Api) -> None:
    ids = family(api)
    change_id = uid("chg")
    first = api.check(ids["stranger"], ids["kid_list"], change_id=change_id)
    again = api.check(ids["stranger"], ids["kid_list"], change_id=change_id)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    # The world changed since, but a retry must not re-decide.
    api.connect(ids["kid"], ids["stranger"], "friend")
    assert api.check(ids["stranger"], ids["kid_list"], change_id=change_id).json()["verdict"] == "block"


def test_a_change_id_reused_for_different_content_is_refused(api: Api) -> None:
    ids = family(api)
    change_id = uid("chg")
    first = api.decide(ids["stranger"], ids["kid_list"], change_id=change_id, text="one")
    r = api.check(ids["stranger"], ids["kid_list"], change_id=change_id, text="two")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:tutela:problem:change-id-reused" and r.json()["decision"] == first["id"]


def test_a_decision_explains_itself(api: Api, server: Server) -> None:
    ids = family(api)
    d = api.decide(ids["stranger"], ids["kid_list"], text="hello there", tags=[ids["anon"], ids["friend"]])
    moderator = server.client("moderator").http
    explained = moderator.get(f"/v1/decisions/{d['id']}").json()
    assert explained["verdict"] == "block" and explained["policy_version"].startswith("default-child-safety@6+")
    assert sorted(rules(explained)) == ["stranger-edits-protected-object", "stranger-tags-protected-account"]
    assert explained["change"] == {
        "id": d["change_id"],
        "actor": ids["stranger"],
        "object": ids["kid_list"],
        "field": "title",
        "text": "hello there",
        "tags": [ids["anon"], ids["friend"]],
        "image": None,
    }
    parties = explained["parties"]
    assert parties["actor"]["age"] == {"band": "adult", "basis": "declared", "confidence": 0.0}
    assert parties["owner"]["age"]["band"] == "child" and parties["owner"]["age"]["basis"] == "declared"
    assert [(p["id"], p["age"]["basis"], p["protected"]) for p in parties["tagged"]] == [
        (ids["anon"], "unknown", True),
        (ids["friend"], "declared", False),
    ]
    assert {(s["label"], s["subject"]) for s in explained["signals"]} == {
        ("contact.stranger", ids["kid"]),
        ("contact.stranger", ids["anon"]),
    }
    assert moderator.get(f"/v1/checks/{d['change_id']}").json() == explained
