"""Accounts, connections and objects: what the platform mirrors to Tutela."""

from __future__ import annotations

import datetime as dt

from support import Api, Server, uid
from tutela.model import Account, AgeBand, AgeBasis, AgeState
from tutela.store import Database, repo


def test_account_age_from_a_birth_date(api: Api) -> None:
    aid = uid("kid")
    r = api.account(aid, band=None, birth_date="2015-04-02", confidence=0.6, source="platform:signup-dob")
    assert r.status_code == 201
    age = r.json()["age"]
    assert (age["band"], age["basis"], age["confidence"], age["birth_date"]) == ("child", "declared", 0.6, "2015-04-02")
    assert dt.datetime.fromisoformat(age["set_at"]).tzinfo is not None
    assert api.account(aid, band="adult", basis="verified").status_code == 200
    assert api.http.get(f"/v1/accounts/{aid}").json()["age"]["band"] == "adult"


def test_an_account_with_no_age_is_unknown(api: Api) -> None:
    aid = uid("who")
    r = api.http.put(f"/v1/accounts/{aid}", json={})
    assert r.status_code == 201 and r.json()["age"]["band"] == "unknown"


def test_connections_are_listed_and_removed(api: Api) -> None:
    a, b = uid("a"), uid("b")
    api.account(a)
    api.account(b)
    assert api.connect(a, b, "follow").status_code == 201
    assert api.connect(a, b, "follow").status_code == 200
    assert api.connect(b, a, "family").status_code == 201
    listed = api.http.get(f"/v1/accounts/{a}/connections").json()
    assert {(c["kind"], c["mutual"]) for c in listed["connections"]} == {("follow", False), ("family", True)}
    assert api.http.delete(f"/v1/accounts/{a}/connections/{b}/family").status_code == 204
    assert api.http.delete(f"/v1/accounts/{a}/connections/{b}/family").status_code == 404


def test_objects_round_trip(api: Api, server: Server) -> None:
    owner, collab, pid = uid("o"), uid("c"), uid("p")
    api.account(owner)
    api.account(collab)
    r = api.playlist(pid, owner, visibility="unlisted", collaborators=[collab], fields={"title": "Nude - Radiohead"})
    assert r.status_code == 201
    got = server.client("moderator").http.get(f"/v1/objects/{pid}").json()
    assert (got["owner"], got["visibility"], got["collaborators"], got["fields"]) == (
        owner,
        "unlisted",
        [collab],
        {"title": "Nude - Radiohead"},
    )
    assert api.playlist(pid, owner).status_code == 200


def test_reading_an_account_gives_the_band_as_of_today(api: Api, db: Database) -> None:
    # Stored years ago as a teen; the birth date says they are an adult now.
    aid = uid("grown")
    then = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    with db.write() as conn:
        repo.upsert_account(
            conn, Account(aid, AgeState(AgeBand.TEEN, AgeBasis.DECLARED, 0.5, "signup", then, dt.date(2000, 1, 1))), then
        )
    age = api.http.get(f"/v1/accounts/{aid}").json()["age"]
    assert (age["band"], age["basis"], age["birth_date"]) == ("adult", "declared", "2000-01-01")
