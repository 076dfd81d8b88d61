"""Who may reach whom: the consent model behind the child-safety defaults."""

import datetime as dt

import pytest

from tutela.contact import ContactDetector, UnknownAccount, resolve_parties
from tutela.detection import DetectionInput
from tutela.model import (
    Account,
    AgeBand,
    AgeBasis,
    AgeState,
    Category,
    Change,
    Connection,
    ConnectionKind,
    ContentObject,
    FieldType,
    ObjectKind,
)
from tutela.policy.testing import MemoryWorld

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


def world(*links: tuple[str, str, ConnectionKind]) -> MemoryWorld:
    w = MemoryWorld()
    for aid, band in [
        ("kid", AgeBand.CHILD),
        ("teen", AgeBand.TEEN),
        ("adult", AgeBand.ADULT),
        ("anon", AgeBand.UNKNOWN),
        ("other", AgeBand.ADULT),
    ]:
        w.known[aid] = Account(aid, AgeState(band, AgeBasis.DECLARED))
    for owner in ("kid", "adult", "anon", "teen"):
        w.objects[f"{owner}-list"] = ContentObject(
            f"{owner}-list", ObjectKind.PLAYLIST, owner, collaborators=frozenset({"other"})
        )
    w.links.extend(Connection(a, b, k) for a, b, k in links)
    return w


def parties(w: MemoryWorld, actor: str, obj: str, tags: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    change = Change("c", actor, obj, "title", "x", tags)
    return resolve_parties(w, change, w.objects[obj], NOW.date())


@pytest.mark.parametrize(
    ("links", "connected"),
    [
        ([], False),
        ([("adult", "kid", ConnectionKind.FOLLOW)], False),  # the stranger follows the child: not consent
        ([("kid", "adult", ConnectionKind.FOLLOW)], False),  # the child follows an adult: not consent either
        ([("kid", "adult", ConnectionKind.FOLLOW), ("adult", "kid", ConnectionKind.FOLLOW)], True),  # mutual follow
        ([("adult", "kid", ConnectionKind.FRIEND)], True),
        ([("kid", "adult", ConnectionKind.FAMILY)], True),  # mutual kinds count in either direction
        ([("kid", "adult", ConnectionKind.COLLABORATOR)], True),
        ([("kid", "other", ConnectionKind.FRIEND)], False),  # someone else's friendship
    ],
)
def test_only_consented_connections_count(links: list[tuple[str, str, ConnectionKind]], connected: bool) -> None:
    p = parties(world(*links), "adult", "kid-list")
    assert p.owner.connected_to_actor is connected
    assert p.owner.protected and p.owner.minor


def test_being_listed_as_a_collaborator_is_not_consent() -> None:
    p = parties(world(), "other", "kid-list")
    assert p.actor.is_collaborator
    assert not p.owner.connected_to_actor


def test_unknown_age_is_protected_but_not_a_minor() -> None:
    p = parties(world(), "adult", "anon-list")
    assert p.owner.protected and not p.owner.minor


def test_tagged_accounts_are_resolved_once_in_order() -> None:
    p = parties(world(("adult", "teen", ConnectionKind.FRIEND)), "adult", "adult-list", ("teen", "kid", "teen"))
    assert [t.id for t in p.tagged] == ["teen", "kid"]
    assert [t.connected_to_actor for t in p.tagged] == [True, False]
    assert p.owner.is_actor and p.actor.connected_to_actor


@pytest.mark.parametrize(
    ("actor", "obj", "tags", "role"), [("ghost", "kid-list", (), "actor"), ("adult", "kid-list", ("ghost",), "tagged")]
)
def test_unknown_accounts_are_named(actor: str, obj: str, tags: tuple[str, ...], role: str) -> None:
    with pytest.raises(UnknownAccount) as e:
        parties(world(), actor, obj, tags)
    assert (e.value.account_id, e.value.role) == ("ghost", role)


def test_a_birth_date_moves_the_band_at_decision_time() -> None:
    w = world()
    w.known["grown"] = Account("grown", AgeState(AgeBand.TEEN, AgeBasis.DECLARED, birth_date=dt.date(2008, 1, 1)))
    w.objects["grown-list"] = ContentObject("grown-list", ObjectKind.PLAYLIST, "grown")
    assert not parties(w, "adult", "grown-list").owner.protected


def detect(w: MemoryWorld, actor: str, obj: str, tags: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    change = Change("c", actor, obj, "title", "x", tags)
    inp = DetectionInput(change, w.objects[obj], FieldType.TEXT, resolve_parties(w, change, w.objects[obj], NOW.date()), NOW)
    return ContactDetector().detect(inp)


def test_contact_detector_reports_each_protected_account_reached() -> None:
    w = world(("adult", "teen", ConnectionKind.FRIEND))
    signals = detect(w, "adult", "kid-list", ("teen", "other", "anon"))
    got = {(s.label, s.subject, s.evidence["role"]) for s in signals}
    assert got == {
        ("contact.stranger", "kid", "owner"),
        ("contact.connected", "teen", "tagged"),
        ("contact.stranger", "anon", "tagged"),
    }
    stranger = next(s for s in signals if s.subject == "kid")
    assert stranger.category is Category.STRANGER_CONTACT
    assert stranger.evidence["age_band"] == "child" and stranger.evidence["age_basis"] == "declared"


def test_contact_detector_is_silent_between_adults_and_on_ones_own_objects() -> None:
    w = world()
    assert detect(w, "adult", "adult-list", ("other",)) == []
    assert detect(w, "kid", "kid-list") == []
