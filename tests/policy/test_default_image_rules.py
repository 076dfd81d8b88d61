"""The default policy's image rules, on the signals the image detectors emit.

The nudity classifier is never run on anything but benign images (the content rules), so it
never fires in tests; these cases give the policy the signal it would emit, as data, and check
what the packaged rules decide. The hash-bank rules are also tested end to end, through a
running server, in tests/api/test_images.py."""

from __future__ import annotations

import datetime as dt

import pytest

from tutela.contact import resolve_parties
from tutela.model import (
    Account,
    AgeBand,
    AgeBasis,
    AgeState,
    Category,
    Change,
    ContentObject,
    FieldType,
    ObjectKind,
    Signal,
    Visibility,
)
from tutela.policy import default_policy_path, load_policy
from tutela.policy.inputs import build_context
from tutela.policy.testing import MemoryWorld

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
POLICY = load_policy(default_policy_path())


def decide(owner_band: AgeBand, visibility: Visibility, label: str, actor: str = "owner") -> tuple[str, list[str], set[str]]:
    w = MemoryWorld()
    w.known["owner"] = Account("owner", AgeState(owner_band, AgeBasis.DECLARED))
    w.known["other"] = Account("other", AgeState(AgeBand.ADULT, AgeBasis.DECLARED))
    obj = ContentObject("list", ObjectKind.PLAYLIST, "owner", visibility=visibility)
    w.objects[obj.id] = obj
    change = Change("c", actor, obj.id, "cover")
    parties = resolve_parties(w, change, obj, NOW.date())
    category = {"image.explicit_nudity": Category.SEXUAL_CONTENT, "hashbank.csam": Category.CSAM}.get(label, Category.OTHER)
    signal = Signal("image" if label.startswith("image.") else "hashbank", "1", label, category, 0.9, evidence={"boxes": []})
    ev = POLICY.evaluate(build_context(change, obj, FieldType.IMAGE, parties, [signal]))
    return ev.verdict.value, [h.rule for h in ev.hits], {f.value for f in ev.followups}


@pytest.mark.parametrize("band", [AgeBand.CHILD, AgeBand.TEEN, AgeBand.UNKNOWN])
def test_explicit_nudity_on_a_childs_account_is_the_child_exploitation_path(band: AgeBand) -> None:
    verdict, rules, followups = decide(band, Visibility.PRIVATE, "image.explicit_nudity")
    assert verdict == "block" and rules[0] == "explicit-image-child-account"
    assert {"open_case", "preserve_evidence", "safeguard"} <= followups
    hit = next(h for h in POLICY.rules if h.id == "explicit-image-child-account")
    assert hit.category.value == "csam" and hit.severity.value == "critical"


def test_explicit_nudity_on_an_adults_public_cover_is_refused_as_adult_content() -> None:
    verdict, rules, followups = decide(AgeBand.ADULT, Visibility.PUBLIC, "image.explicit_nudity")
    assert (verdict, rules) == ("block", ["explicit-image-public"])
    assert "safeguard" not in followups


def test_explicit_nudity_on_an_adults_private_playlist_is_theirs() -> None:
    assert decide(AgeBand.ADULT, Visibility.PRIVATE, "image.explicit_nudity")[:2] == ("allow", [])


def test_an_adult_putting_explicit_nudity_on_a_childs_object_is_the_child_path() -> None:
    verdict, rules, _ = decide(AgeBand.CHILD, Visibility.PUBLIC, "image.explicit_nudity", actor="other")
    assert verdict == "block" and "explicit-image-child-account" in rules


def test_an_allow_listed_image_fires_nothing() -> None:
    assert decide(AgeBand.CHILD, Visibility.PUBLIC, "hashbank.allowlisted")[:2] == ("allow", [])
