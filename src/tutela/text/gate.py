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

    def probabilities(self, texts: Sequence[Sequence[int]]) -> np.ndarray:
        """The same for many texts at once: a few numpy calls for the lot instead of a few per
        text (5 µs a text in batches of 32 against 30 alone). Pads are left out of both
        poolings, so a text scores the same whatever is beside it; against probability() the
        sums run in another order, which moves a score by at most about 1e-6."""
        width = max((len(ids) for ids in texts), default=0)
        padded = np.zeros((len(texts), max(width, 1)), dtype=np.int64)
        lengths = np.array([len(ids) for ids in texts], dtype=np.float32)
        for row, ids in enumerate(texts):
            padded[row, : len(ids)] = ids
        vectors = self.embeddings[padded]  # texts x tokens x dims
        real = (np.arange(padded.shape[1]) < lengths[:, None])[:, :, None]
        mean = np.where(real, vectors, 0.0).sum(axis=1) / np.maximum(lengths, 1.0)[:, None]
        top = np.where(real, vectors, -np.inf).max(axis=1)
        top[lengths == 0] = 0.0  # no tokens: any finite value (the answer is fixed below)
        hidden = np.maximum(np.concatenate([mean, top], axis=1) @ self.hidden_w + self.hidden_b, 0.0)
        logits = np.clip(hidden @ self.out_w + self.out_b, -50.0, 50.0)
        out: np.ndarray = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        out[lengths == 0] = 1.0  # nothing to read: leave it to the transformer
        return out

    def passes(self, probability: float) -> bool:
        """Whether a text with this gate probability goes on to the transformer."""
        return probability >= self.threshold
