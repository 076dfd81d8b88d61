"""The text rules of the default policy, through the API of a running server."""

from __future__ import annotations

from typing import Any

from support import Api, Server, uid


def people(api: Api) -> dict[str, str]:
    ids = {k: uid(k) for k in ("kid", "friend", "stranger", "adult", "fake")}
    api.account(ids["kid"], band=None, birth_date="2015-04-02")
    for who in ("friend", "stranger", "adult", "fake"):
        api.account(ids[who], band="adult")
    api.connect(ids["kid"], ids["friend"], "friend")
    api.connect(ids["kid"], ids["fake"], "friend")
    for owner in ("kid", "adult", "fake"):
        ids[f"{owner}_list"] = uid("list")
        api.playlist(ids[f"{owner}_list"], ids[owner])
    ids["adult_profile"] = uid("profile")
    r = api.http.put(f"/v1/objects/{ids['adult_profile']}", json={"kind": "profile", "owner": ids["adult"]})
    assert r.status_code == 201
    return ids


def rules(d: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in d["reasons"]}


def test_a_request_for_a_picture_in_disguise_is_refused_with_evidence(api: Api, server: Server) -> None:
    ids = people(api)
    text = "hey cutie s e n d  m e  a  p i c"
    d = api.decide(ids["stranger"], ids["kid_list"], text=text)
    assert d["verdict"] == "block" and "solicitation-to-protected-account" in rules(d)
    reason = next(r for r in d["reasons"] if r["rule"] == "solicitation-to-protected-account")
    assert reason["severity"] == "critical" and "open_case" in reason["followups"]
    [[start, end]] = reason["evidence"][0]["evidence"]["spans"]
    assert text[start:end] == "s e n d  m e  a  p i c"
    explained = server.client("moderator").http.get(f"/v1/decisions/{d['id']}").json()
    assert "open_case" in explained["followups"]


def test_a_connection_cannot_move_a_child_elsewhere_unreviewed(api: Api) -> None:
    ids = people(api)
    d = api.decide(ids["friend"], ids["kid_list"], field="description", text="add me on 👻 its jake_22")
    assert d["verdict"] == "hold" and "contact-exchange-by-connection" in rules(d)
    stranger = api.decide(ids["stranger"], ids["adult_list"], text="add me on 👻 its jake_22", tags=[ids["kid"]])
    assert stranger["verdict"] == "block" and "contact-exchange-to-protected-account" in rules(stranger)


def test_the_fake_twelve_year_old_is_held(api: Api) -> None:
    ids = people(api)
    d = api.decide(ids["fake"], ids["kid_list"], field="description", text="im 12 too! whats ur email")
    assert d["verdict"] == "hold"  # a connection: a moderator sees it, with the impersonation signal
    assert {"adult-claims-child-age", "contact-exchange-by-connection"} <= rules(d)
    own = api.decide(ids["fake"], ids["fake_list"], text="12 yo boy, love pop")
    assert own["verdict"] == "hold" and rules(own) == {"adult-claims-child-age"}


def test_a_profile_named_to_advertise_nudes_is_refused(api: Api) -> None:
    ids = people(api)
    d = api.decide(ids["adult"], ids["adult_profile"], field="display_name", text="I have nudes")
    assert d["verdict"] == "block" and rules(d) == {"sexual-advertisement"}


def test_real_song_titles_on_ones_own_playlist_are_published(api: Api) -> None:
    ids = people(api)
    d = api.decide(ids["adult"], ids["adult_list"], text="Sex on Fire / Teenage Dirtbag bangers")
    assert d["verdict"] == "allow" and d["reasons"] == []


def test_grooming_questions_to_a_child_are_held(api: Api) -> None:
    ids = people(api)
    d = api.decide(ids["friend"], ids["kid_list"], field="description", text="r u home alone? dont tell ur mum")
    assert d["verdict"] == "hold" and "grooming-signals-to-protected-account" in rules(d)


def test_a_childs_age_in_a_bio_is_held_from_an_adult_and_published_from_the_child(api: Api) -> None:
    """The claim is the text's signal; whether it is a risk is the account's age, so the policy decides."""
    ids = people(api)
    for bio in ("thirteen | swiftie", "yr 8 girl, love pop"):
        own = api.decide(ids["kid"], ids["kid_list"], field="description", text=bio)
        assert own["verdict"] == "allow", (bio, own["reasons"])
        fake = api.decide(ids["fake"], ids["fake_list"], field="description", text=bio)
        assert fake["verdict"] == "hold" and "adult-claims-child-age" in rules(fake), bio
    parent = api.decide(ids["adult"], ids["adult_list"], text="party songs for my 12 year old")
    assert "adult-claims-child-age" not in rules(parent)
