"""The classifier's first stage: a static screen that lets clearly benign text skip the transformer.

Most of what a platform's users type is benign (song titles, playlist names, friendly
comments), and the transformer in tutela.text.classifier costs about a millisecond a text.
The gate costs a few microseconds: one learned vector per token of the classifier's own
tokenizer, pooled by mean and by max, through a small two-layer network to one probability
that the text is harmful. A text under the gate's threshold is scored by the gate alone; every
other text goes on to the transformer, whose threshold alone decides what is flagged.

The gate is fitted by `make model` on the train split and its threshold is chosen there, on
harmful families it was not fitted on: the lowest score that still passes the share of the
texts the transformer flags named by `retention` in classifier.json (the rest are what the gate
costs in recall). The lexicon and the patterns run on every text whatever the gate says.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


class StaticGate:
    def __init__(self, path: Path, threshold: float) -> None:
        with np.load(path) as weights:
            # float16 on disk to keep the file small; float32 for the arithmetic
            self.embeddings = weights["embeddings"].astype(np.float32)
            self.hidden_w = weights["hidden_w"].astype(np.float32)
            self.hidden_b = weights["hidden_b"].astype(np.float32)
            self.out_w = weights["out_w"].astype(np.float32)
            self.out_b = float(weights["out_b"])
        if self.hidden_w.shape[0] != 2 * self.embeddings.shape[1]:
            raise ValueError(
                f"{path}: hidden layer takes {self.hidden_w.shape[0]} inputs, the pooled embeddings give "
                f"{2 * self.embeddings.shape[1]}; rebuild the model with `make model`"
            )
        self.threshold = threshold

    def probability(self, ids: Sequence[int]) -> float:
        """The gate's probability that a text, as the classifier's token ids, is harmful."""
        if not ids:
            return 1.0  # nothing to read: leave it to the transformer
        vectors = self.embeddings[np.asarray(ids, dtype=np.int64)]
        pooled = np.concatenate([vectors.mean(axis=0), vectors.max(axis=0)])
        hidden = np.maximum(pooled @ self.hidden_w + self.hidden_b, 0.0)
        logit = float(hidden @ self.out_w) + self.out_b
        return float(1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0))))

    def passes(self, probability: float) -> bool:
        """Whether a text with this gate probability goes on to the transformer."""
        return probability >= self.threshold
