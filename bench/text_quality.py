"""Quality of the text detector on the held-out split of the labelled corpus, side by side with
better-profanity and alt-profanity-check (both offline), on the same rows.

A text counts as flagged by Tutela when the text detector emits any harm signal (every label
but text.directed). The held-out split is by family (tutela/text/corpus.py): no phrasing of a
held-out family, nor any evasive spelling of one, is used to build the detector.

    .venv/bin/python bench/text_quality.py             # held-out test split
    .venv/bin/python bench/text_quality.py --split all
    .venv/bin/python bench/text_quality.py --model /tmp/old-model   # another build of the classifier
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from better_profanity import profanity
from profanity_check import predict
from rich.console import Console
from rich.table import Table

from tutela.text.classifier import MODEL_DIR, TextClassifier
from tutela.text.corpus import Example, examples
from tutela.text.detector import TextDetector


def tutela_flags(with_classifier: bool, model: Path) -> Callable[[list[str]], list[bool]]:
    detector = TextDetector(classifier=TextClassifier(model))
    ignored = {"text.directed"} | (set() if with_classifier else {"text.learned_harm"})

    def run(texts: list[str]) -> list[bool]:
        return [any(s.label not in ignored for s in signals) for signals in detector.signals_for_many(texts)]

    return run


def better_profanity_flags(texts: list[str]) -> list[bool]:
    return [bool(profanity.contains_profanity(t)) for t in texts]


def alt_profanity_check_flags(texts: list[str]) -> list[bool]:
    return [bool(x) for x in predict(texts)]


SHORT = {"tutela (lexicon + patterns)": "tutela lexicon", "tutela (+ classifier)": "tutela +classifier"}


def rate(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.3f}" if flags else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["test", "train", "all"], default="test")
    ap.add_argument("--model", type=Path, default=MODEL_DIR, help="the classifier's directory (default: the shipped one)")
    args = ap.parse_args()
    rows: list[Example] = [e for e in examples() if args.split == "all" or e.split == args.split]
    texts = [e.text for e in rows]
    systems = {
        "tutela (lexicon + patterns)": tutela_flags(with_classifier=False, model=args.model),
        "tutela (+ classifier)": tutela_flags(with_classifier=True, model=args.model),
        "better-profanity 0.7.0": better_profanity_flags,
        "alt-profanity-check 1.9.1": alt_profanity_check_flags,
    }
    flags = {name: fn(texts) for name, fn in systems.items()}
    console = Console()
    harmful = [i for i, e in enumerate(rows) if e.harmful]
    benign = [i for i, e in enumerate(rows) if not e.harmful]

    overall = Table(title=f"{args.split} split: {len(harmful)} harmful texts (with evasions), {len(benign)} benign texts")
    for col in ("system", "recall on harmful", "false-positive rate on benign", "precision"):
        overall.add_column(col, justify="left" if col == "system" else "right")
    for name, f in flags.items():
        tp = sum(f[i] for i in harmful)
        fp = sum(f[i] for i in benign)
        precision = tp / (tp + fp) if tp + fp else 0.0
        overall.add_row(name, rate([f[i] for i in harmful]), rate([f[i] for i in benign]), f"{precision:.3f}")
    console.print(overall)

    def breakdown(title: str, column: str, indices: list[int], key: Callable[[Example], str]) -> None:
        groups: dict[str, list[int]] = defaultdict(list)
        for i in indices:
            groups[key(rows[i])].append(i)
        table = Table(title=title)
        table.add_column(column)
        table.add_column("n", justify="right")
        for name in flags:
            table.add_column(SHORT.get(name, name.split(" ")[0]), justify="right")
        for group, idx in sorted(groups.items()):
            table.add_row(group, str(len(idx)), *(rate([flags[n][i] for i in idx]) for n in flags))
        console.print(table)

    breakdown("recall by category", "category", harmful, lambda e: e.category)
    breakdown("recall by evasion", "evasion", harmful, lambda e: e.evasion)
    breakdown("false-positive rate by benign kind", "kind", benign, lambda e: e.category)

    # Families of the fifth to ninth batches were written after the lexicon last grew, by writers who
    # never saw it or the detector's misses: on the test split they are the cleanest measure of
    # generalisation.
    def batch(e: Example) -> str:
        batches = {
            "b5-": "5th (session 4)",
            "b6-": "6th (session 5)",
            "b7-": "7th (session 5)",
            "b8-": "8th (session 6)",
            "b9-": "9th (session 6: slang, long, regional, questions)",
        }
        return batches.get(e.family[:3], "1st to 4th")

    breakdown("recall by corpus batch", "batch", harmful, batch)
    full = flags["tutela (+ classifier)"]
    missed = [rows[i] for i in harmful if not full[i] and rows[i].evasion == "none"]
    false_pos = [rows[i] for i in benign if full[i]]
    console.print(f"tutela (+ classifier): {len(missed)} plain-spelled harmful texts missed, e.g. {[e.text for e in missed[:8]]}")
    console.print(f"tutela (+ classifier): {len(false_pos)} benign texts flagged, e.g. {[e.text for e in false_pos[:8]]}")


if __name__ == "__main__":
    main()
