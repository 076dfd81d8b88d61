"""Speed of the whole text path (normalise, lexicon, patterns: everything the text detector
does) on one core, beside better-profanity and alt-profanity-check, on the corpus's texts.

Batch: texts per second over every text of the corpus, through TextDetector.signals_for_many:
the gate reads the texts 32 at a time and the transformer the texts the gate passes on, 32 at a
time, sorted by length (TextClassifier.score_many; the model's activation scales are fixed, so a
text's score does not depend on its neighbours). The classifier caches its score by the
normalised text, and the corpus's evasive spellings mostly normalise to their plain phrasing,
so the corpus row is helped by the cache; the row "every text new" runs the same path on texts
whose normalised forms are all different, with the cache emptied first: the cost of text the
service has never seen, and the row "benign texts only" runs it on the corpus's benign texts (song
titles, playlist names, messages, bios): what most of a platform's traffic looks like, where the
gate (tutela.text.gate) spares most texts the transformer. The last column is the share of
texts the gate passed on to the transformer. Single call: p50 and p99 of one text at a time, on texts not seen before
(the classifier's cache is emptied first, so no call is a cache hit). alt-profanity-check is
timed on a batch the way it is meant to be used. Everything runs on one core: onnxruntime is
given one thread, as `tutela serve` gives it.

    .venv/bin/python bench/text_speed.py                 # as served
    .venv/bin/python bench/text_speed.py --without-gate  # every text to the transformer
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from better_profanity import profanity
from profanity_check import predict
from rich.console import Console
from rich.table import Table

from tutela.text.classifier import BATCH, classifier_form, default_classifier, text_form
from tutela.text.corpus import examples
from tutela.text.detector import TextDetector
from tutela.text.lexicon import default_lexicon
from tutela.text.normalise import normalise
from tutela.text.patterns import claimed_ages, contact_details


def single_calls(fn: Callable[[str], object], texts: list[str]) -> list[float]:
    out = []
    for t in texts:
        t0 = time.perf_counter()
        fn(t)
        out.append(time.perf_counter() - t0)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--without-gate", action="store_true", help="switch the gate off: every text goes to the transformer")
    args = parser.parse_args()
    texts = [e.text for e in examples()]
    detector = TextDetector()
    if args.without_gate:
        detector.classifier.gate = None
    detector.signals_for("warm up")
    profanity.contains_profanity("warm up")
    predict(["warm up"])
    systems: dict[str, tuple[Callable[[str], object], Callable[[list[str]], object]]] = {
        "tutela text path": (detector.signals_for, detector.signals_for_many),
        "better-profanity 0.7.0": (profanity.contains_profanity, lambda ts: [profanity.contains_profanity(t) for t in ts]),
        "alt-profanity-check 1.9.1": (lambda t: predict([t]), predict),
    }
    table = Table(title=f"{len(texts)} corpus texts, one core (targets for tutela: >= 2,000 texts/s in batch, p99 <= 5 ms)")
    for col in ("system", "batch texts/s", "single p50 µs", "single p99 µs", "single max µs", "to transformer"):
        table.add_column(col, justify="left" if col == "system" else "right")
    distinct = list({classifier_form(t): t for t in texts}.values())
    benign = list({classifier_form(e.text): e.text for e in examples() if not e.harmful}.values())
    systems = {
        "tutela text path (corpus)": systems["tutela text path"],
        f"tutela text path (every text new: {len(distinct):,})": systems["tutela text path"],
        f"tutela text path (benign texts only, every text new: {len(benign):,})": systems["tutela text path"],
        **{k: v for k, v in systems.items() if k != "tutela text path"},
    }
    for name, (one, batch) in systems.items():
        rows = benign if "benign texts only" in name else distinct if "every text new" in name else texts
        escalated = ""
        if name.startswith("tutela"):
            detector.classifier.cache_clear()
            forms = list(dict.fromkeys(classifier_form(t) for t in rows))
            share = sum(s.stage == "model" for s in detector.classifier.score_many(forms)) / len(forms)
            escalated = f"{share:.0%}"
        detector.classifier.cache_clear()
        t0 = time.perf_counter()
        batch(rows)
        per_second = len(rows) / (time.perf_counter() - t0)
        detector.classifier.cache_clear()
        lat = single_calls(one, rows[:3000])
        table.add_row(
            name,
            f"{per_second:,.0f}",
            f"{lat[len(lat) // 2] * 1e6:.0f}",
            f"{lat[int(len(lat) * 0.99)] * 1e6:.0f}",
            f"{lat[-1] * 1e6:.0f}",
            escalated,
        )
    Console().print(table)
    Console().print(stages(distinct[:3000]))


def stages(texts: list[str]) -> Table:
    """Where the time of a new text goes: one stage at a time over the same texts."""
    classifier = default_classifier()
    classifier.cache_clear()
    normalised = [normalise(t) for t in texts]
    lexicon = default_lexicon()
    gate = classifier.gate
    runs: list[tuple[str, Callable[[], object]]] = [
        ("normalise", lambda: [normalise(t) for t in texts]),
        ("lexicon", lambda: [lexicon.find(n) for n in normalised]),
        ("contact details and claimed ages", lambda: [(contact_details(n), claimed_ages(n)) for n in normalised]),
        ("transformer (one text per inference)", lambda: [classifier._infer([text_form(n)]) for n in normalised]),
    ]
    tokenizer, size = classifier.tokenizer, classifier.batch
    by_length = sorted((tokenizer.encode(text_form(n)) for n in normalised), key=lambda e: len(e.ids))
    runs.append(
        (
            f"transformer ({size} texts per inference, sorted by length)",
            lambda: [classifier._run(by_length[at : at + size]) for at in range(0, len(by_length), size)],
        )
    )
    if gate is not None:
        forms = [text_form(n) for n in normalised]
        runs.insert(3, ("tokenizer and gate", lambda: [gate.probability(tokenizer.encode(f).ids) for f in forms]))
        runs.insert(
            4,
            (
                f"tokenizer and gate ({BATCH} texts per gate call)",
                lambda: [
                    gate.probabilities([tokenizer.encode(f).ids for f in forms[at : at + BATCH]])
                    for at in range(0, len(forms), BATCH)
                ],
            ),
        )
    table = Table(title=f"stages of the text path, {len(texts):,} new texts, one core")
    table.add_column("stage")
    table.add_column("µs per text", justify="right")
    for name, run in runs:
        t0 = time.perf_counter()
        run()
        table.add_row(name, f"{(time.perf_counter() - t0) / len(texts) * 1e6:.0f}")
    return table


if __name__ == "__main__":
    main()
