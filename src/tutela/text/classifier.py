"""The learned text classifier: generalises to phrasings the lexicon does not hold.

A static embedding model (model2vec, distilled from all-MiniLM-L6-v2 by `make model`) turns the
algospeak form of a text (evasions undone by tutela.text.normalise) into a mean token
embedding; a logistic regression trained on the corpus's train split scores it. Both ship in
src/tutela/text/model/; nothing is downloaded, and serving needs numpy and tokenizers only.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from tutela.text.normalise import Normalised, normalise

MODEL_DIR = Path(__file__).parent / "model"


def text_form(normalised: Normalised) -> str:
    form = normalised.form("algospeak") or normalised.form("leet") or normalised.form("joined") or normalised.forms[0]
    return form.text


def classifier_form(text: str) -> str:
    return text_form(normalise(text))


class TextClassifier:
    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        from model2vec import StaticModel

        self.encoder = StaticModel.from_pretrained(str(model_dir / "encoder"), force_download=False)
        spec: dict[str, Any] = json.loads((model_dir / "classifier.json").read_text())
        self.coef = np.asarray(spec["coef"], dtype=np.float64)
        self.intercept = float(spec["intercept"])
        self.threshold = float(spec["threshold"])
        self.spec = spec

    def score(self, normalised: Normalised) -> float:
        """The probability that the text is harmful, 0..1."""
        return self._score(text_form(normalised))

    @functools.lru_cache(maxsize=50_000)  # noqa: B019 - one classifier per process; titles repeat
    def _score(self, form: str) -> float:
        vector = self.encoder.encode([form], use_multiprocessing=False)[0].astype(np.float64)
        z = float(vector @ self.coef) + self.intercept
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@functools.cache
def default_classifier() -> TextClassifier:
    return TextClassifier()
