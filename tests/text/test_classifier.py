"""The learned classifier ships in the package, loads offline, and holds its held-out quality."""

from __future__ import annotations

import json

import numpy as np

from tutela.text import normalise
from tutela.text.classifier import MODEL_DIR, classifier_form, default_classifier
from tutela.text.corpus import examples


def test_the_model_ships_in_the_package_and_is_small() -> None:
    spec = json.loads((MODEL_DIR / "classifier.json").read_text())
    assert spec["classes"][0] == "benign" and len(spec["classes"]) >= 10
    assert 0.0 < spec["threshold"] < 1.0
    assert spec["calibration"]["false_positive_rate"] <= spec["calibration"]["max_false_positive_rate"]
    assert (MODEL_DIR / "classifier.onnx").stat().st_size < 25_000_000


def test_scores_are_probabilities_with_a_category_and_deterministic() -> None:
    clf = default_classifier()
    for text in ("", "hello", "can u send me a pic", "🌽" * 500, "a" * 20_000, "\u202e\u0301\u0301"):
        n = normalise(text)
        s = clf.score(n)
        assert 0.0 <= s.probability <= 1.0
        assert s.category in clf.classes[1:] if s.stage == "model" else s.stage in ("gate", "short") and s.category is None
        assert s == clf.score(n)


def test_a_score_does_not_depend_on_the_texts_scored_beside_it() -> None:
    """score_many batches texts of every length together; each score is what the text gets alone."""
    clf = default_classifier()
    rows = [e for e in examples() if e.split == "test"]
    forms = list(dict.fromkeys(classifier_form(e.text) for e in rows[::40]))
    forms += ["send me a pic", "sex on fire", "road trip bangers for the summer holidays with the whole family", "hi"]
    alone = [clf._scored(f) for f in forms]
    assert sum(s.stage == "model" for s in alone) > 2 * clf.batch  # several full batches of the transformer
    for together in (clf.score_many(forms), list(reversed(clf.score_many(list(reversed(forms)))))):
        for a, t in zip(alone, together, strict=True):
            assert (a.stage, a.category) == (t.stage, t.category)
            assert abs(a.probability - t.probability) <= 2e-6 and abs(a.category_probability - t.category_probability) <= 2e-6


def test_held_out_quality_does_not_regress() -> None:
    """Measured on families the model never saw (bench/text_quality.py prints the full table)."""
    clf = default_classifier()
    rows = [e for e in examples() if e.split == "test"]
    scores = np.array([s.probability for s in clf.score_many([classifier_form(e.text) for e in rows])])
    harmful = np.array([e.harmful for e in rows])
    flagged = scores >= clf.threshold
    assert flagged[harmful].mean() > 0.80  # measured 0.851 (session 6); the lexicon adds to it
    assert flagged[~harmful].mean() <= 0.025  # measured 0.018; the threshold holds the whole detector to 0.02


def test_the_gate_screens_most_benign_text_and_keeps_what_the_transformer_flags() -> None:
    """On the held-out split: the gate spares the transformer most benign texts, and passes on
    nearly every text the transformer would flag (bench/text_speed.py times both paths)."""
    clf = default_classifier()
    assert clf.gate is not None and clf.spec["gate"]["retention"] >= 0.99
    rows = [e for e in examples() if e.split == "test"]
    forms = list(dict.fromkeys(classifier_form(e.text) for e in rows))
    harmful_forms = {classifier_form(e.text) for e in rows if e.harmful}
    full = [clf._infer([f])[0] for f in forms]  # one at a time, as served
    gated = [clf._scored(f) for f in forms]
    spared = np.array([g.stage != "model" for g in gated])  # screened by the gate, or a single word
    benign = np.array([f not in harmful_forms for f in forms])
    assert spared[benign].mean() >= 0.5  # measured 0.58 (session 6)
    flagged = np.array([s.probability >= clf.threshold for s in full])
    assert spared[flagged].mean() <= 0.02  # the build allows 0.005 on families the gate never saw
    # where the gate lets a text through, the score is the transformer's own
    assert all(g == s for g, s in zip(gated, full, strict=True) if g.stage == "model")
    # screened out below the threshold (the score is rounded to 6 places, as the threshold is)
    assert all(g.probability <= clf.gate.threshold for g in gated if g.stage == "gate")


def test_a_single_word_is_left_to_the_lexicon() -> None:
    """The model never saw one-word texts (every phrasing has 2 to 14 words): it does not judge them."""
    clf = default_classifier()
    for word in ("hi", "lol", "wyd", "snapchat"):
        assert clf.score(normalise(word)).stage == "short"
    assert clf.score(normalise("send pics")).stage != "short"


def test_the_gate_scores_a_text_the_same_alone_and_in_a_batch() -> None:
    clf = default_classifier()
    assert clf.gate is not None
    forms = ["hi there everyone", "send me a pic rn", "road trip bangers for the summer holidays with the whole family"]
    ids = [clf.tokenizer.encode(f).ids for f in forms] + [[]]
    together = clf.gate.probabilities(ids)
    alone = [clf.gate.probability(i) for i in ids]
    assert together.shape == (4,) and together[-1] == alone[-1] == 1.0  # nothing to read: the transformer decides
    assert np.allclose(together, alone, rtol=0, atol=1e-6)
    assert np.allclose(clf.gate.probabilities(ids[::-1]), alone[::-1], rtol=0, atol=1e-6)


# Everyday greetings, none of them in the corpus: the session-5 model scored "hi there" and
# "hi everyone" as claims of a child's age (docs/corpus.md, provenance item 8).
GREETINGS = [
    "hi there friends",
    "hey all how are we",
    "hello lovely people",
    "hey hows everyone",
    "hi guys whats up",
    "yo whats good everyone",
    "hiya everyone",
    "good evening folks",
    "hey you lot",
    "hello hello everyone",
    "hi all happy friday",
    "heyyy whats up",
    "sup guys",
    "hi hi everyone",
    "evening all hope youre well",
    "hey team how was the weekend",
    "hello from london",
    "hi everybody",
]


def test_everyday_greetings_are_not_flagged() -> None:
    clf = default_classifier()
    flagged = [
        g
        for g, s in zip(GREETINGS, clf.score_many([classifier_form(g) for g in GREETINGS]), strict=True)
        if s.probability >= clf.threshold
    ]
    assert len(flagged) <= 1, flagged  # one in 18 is about the 2% the threshold allows on messages, rounded up
