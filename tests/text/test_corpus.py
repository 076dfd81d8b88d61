"""The corpus split keeps every variant of a held-out phrasing out of training."""

from collections import defaultdict

from tutela.text.corpus import EVASIONS, evade, examples


def test_families_and_their_variants_stay_on_one_side() -> None:
    sides: dict[str, set[str]] = defaultdict(set)
    rows = list(examples())
    for e in rows:
        if e.harmful:
            sides[e.family].add(e.split)
    assert all(len(s) == 1 for s in sides.values())
    test_families = {f for f, s in sides.items() if s == {"test"}}
    assert 0.15 < len(test_families) / len(sides) < 0.35
    train_texts = {e.text for e in rows if e.split == "train"}
    assert not any(e.text in train_texts for e in rows if e.split == "test" and e.harmful)


def test_every_category_and_kind_is_held_out() -> None:
    rows = list(examples())
    train = {(e.harmful, e.category) for e in rows if e.split == "train"}
    test = {(e.harmful, e.category) for e in rows if e.split == "test"}
    assert train == test


def test_evasions_are_deterministic_and_disguise() -> None:
    for how in EVASIONS:
        assert evade("add me on snap", how) == evade("add me on snap", how)
    assert evade("send me a pic", "fullwidth") == "ｓｅｎｄ ｍｅ ａ ｐｉｃ"
    assert "\u200b" in evade("send me a pic", "zero_width")
