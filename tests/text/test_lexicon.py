"""The lexicon and the text detector: phrases through evasions, with evidence in the original."""

from __future__ import annotations

import pytest

from tutela.text.detector import TextDetector
from tutela.text.lexicon import Lexicon, expand, squeeze

DETECTOR = TextDetector()


def labels(text: str) -> set[str]:
    return {s.label for s in DETECTOR.signals_for(text)}


def test_phrase_syntax() -> None:
    assert expand("send [me] {pic|photo}") == ["send me photo", "send me pic", "send photo", "send pic"]
    assert expand("[a] [b]") == ["a", "a b", "b"]
    assert squeeze("address book") == "adres bok"


def test_a_lexicon_is_data() -> None:
    lex = Lexicon.load("categories:\n  demo:\n    weight: 0.5\n    phrases: ['{blue|red} moon']\n")
    from tutela.text import normalise

    [m] = lex.find(normalise("a R3D m00n rising"))
    assert (m.category, m.matched, m.weight) == ("demo", "red mon", 0.5)


def test_gapped_phrases_allow_up_to_three_words_between_segments_in_order() -> None:
    from tutela.text import normalise

    lex = Lexicon.load("categories:\n  demo:\n    weight: 0.5\n    phrases: ['send me ... {selfie|pic}']\n")

    def found(text: str) -> list[tuple[str, str]]:
        return [(m.matched, text[m.span[0] : m.span[1]]) for m in lex.find(normalise(text))]

    assert found("send me pic") == [("send me pic", "send me pic")]
    assert found("ok s3nd me one cute little p1c now") == [("send me one cute litle pic", "s3nd me one cute little p1c")]
    assert found("send me one two three four pic") == []
    assert found("pic send me") == []
    with pytest.raises(ValueError, match="a gap needs words on both sides"):
        Lexicon.load("categories:\n  demo:\n    phrases: ['send me ...']\n")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("s3nd m3 a p1c", "text.image_request"),
        ("can u turn ur cam on", "text.image_request"),
        ("show a good view", "text.image_request"),
        ("ｓｈｏｗ ｍｅ ｙｏｕｒｓｅｌｆ", "text.image_request"),
        ("wanna be my gf", "text.sexual_proposition"),
        ("n u d e s in bio", "text.sexual_advertisement"),
        ("🌽 links 4 free", "text.sexual_advertisement"),
        ("selling spicy pics", "text.sexual_advertisement"),
        ("add me on 👻", "text.contact_exchange"),
        ("whats ur snap", "text.contact_exchange"),
        ("hmu on disc0rd", "text.contact_exchange"),
        ("how old r u", "text.age_probing"),
        ("wat grade r u in", "text.age_probing"),
        ("r u home alone", "text.location_probing"),
        ("what school do u go to", "text.location_probing"),
        ("dont tell ur mum ok", "text.secrecy"),
        ("this is our little secret", "text.secrecy"),
        ("wanna meet up this weekend", "text.meeting_request"),
        ("ur so mature for ur age", "text.flattery_maturity"),
        ("email me at jake dot smith at gmail dot com", "text.contact_detail"),
        ("07700 900 123 call me", "text.contact_detail"),
        ("im 12 too", "text.self_claimed_age"),
        ("12yo boy here", "text.self_claimed_age"),
        ("thirteen here", "text.self_claimed_age"),
        ("t h i r t e e n here", "text.self_claimed_age"),
        ("sub to my of", "text.sexual_advertisement"),
        ("dm for cust0ms", "text.sexual_advertisement"),
        ("lets move to signal", "text.contact_exchange"),
        ("do u use v1ber", "text.contact_exchange"),
    ],
)
def test_phrases_are_found_through_evasions(text: str, label: str) -> None:
    assert label in labels(text)


@pytest.mark.parametrize(
    "title",
    [
        "Sex on Fire",
        "Nude",
        "Teenage Dirtbag",
        "Call Me Maybe",
        "...Baby One More Time",
        "Come Over",
        "Text Me Merry Christmas",
        "Pictures of You",
        "Don't Tell Me",
        "Secrets",
        "Sexy Boy",
        "How You Remind Me",
        "22",
        "Hotline Bling",
        "Snap Out of It",
    ],
)
def test_song_titles_raise_no_lexicon_signal(title: str) -> None:
    # The enforced layer. The classifier runs in shadow and is measured in test_classifier.py.
    assert labels(title) - {"text.directed", "text.learned_harm"} == set()


def test_evidence_points_at_what_was_typed() -> None:
    text = "hey s e n d  m e  a  p i c ok"
    [signal] = [s for s in DETECTOR.signals_for(text) if s.label == "text.image_request"]
    [[start, end]] = signal.evidence["spans"]
    assert text[start:end] == "s e n d  m e  a  p i c"


def test_claimed_age_is_a_number() -> None:
    [signal] = [s for s in DETECTOR.signals_for("hi im 12 and im twelve") if s.label == "text.self_claimed_age"]
    assert signal.evidence["age"] == 12 and signal.evidence["ages"] == [12]


def test_scores_rise_with_more_evidence() -> None:
    one = {s.label: s.score for s in DETECTOR.signals_for("send me a pic")}
    two = {s.label: s.score for s in DETECTOR.signals_for("send me a pic, take a selfie of yourself")}
    assert two["text.image_request"] > one["text.image_request"]


def test_an_adult_stating_their_age_is_not_a_claim_of_a_childs_age() -> None:
    assert "text.self_claimed_age" not in labels("im 25 and love techno")
    assert "text.self_claimed_age" not in labels("19 | manchester | uni")
    [signal] = [s for s in DETECTOR.signals_for("im 25, jk im 13") if s.label == "text.self_claimed_age"]
    assert signal.evidence["ages"] == [13]


@pytest.mark.parametrize(
    "text",
    ["pedals for sale, message for prices", "tribute band tonight", "send me the tribute album", "Custom Guitars For Sale"],
)
def test_sellers_of_ordinary_things_raise_no_lexicon_signal(text: str) -> None:
    assert labels(text) - {"text.directed", "text.learned_harm"} == set()
