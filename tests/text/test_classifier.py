"""The learned classifier ships in the package, loads offline, and holds its held-out quality."""

from __future__ import annotations

import json

import numpy as np

from tutela.text import normalise
from tutela.text.classifier import MODEL_DIR, default_classifier
from tutela.text.corpus import examples


def test_the_model_ships_in_the_package_and_is_small() -> None:
    spec = json.loads((MODEL_DIR / "classifier.json").read_text())
    assert len(spec["coef"]) == 128 and 0.5 < spec["threshold"] < 1.0
    size = sum(f.stat().st_size for f in (MODEL_DIR / "encoder").iterdir())
    assert size < 12_000_000


def test_scores_are_probabilities_and_deterministic() -> None:
    clf = default_classifier()
    for text in ("", "hello", "can u send me a pic", "🌽" * 500, "a" * 20_000):
        n = normalise(text)
        p = clf.score(n)
        assert 0.0 <= p <= 1.0 and p == clf.score(n)


def test_held_out_quality_does_not_regress() -> None:
    """Measured on families the model never saw (bench/text_quality.py prints the full table)."""
    clf = default_classifier()
    rows = [e for e in examples() if e.split == "test"]
    scores = np.array([clf.score(normalise(e.text)) for e in rows])
    harmful = np.array([e.harmful for e in rows])
    flagged = scores >= clf.threshold
    assert flagged[harmful].mean() >= 0.40  # measured 0.436 when built; the lexicon adds to it
    assert flagged[~harmful].mean() <= 0.02
