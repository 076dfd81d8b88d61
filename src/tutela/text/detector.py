"""The text detector: every text field of a change, through normalisation, the lexicon and the
patterns, as signals with the original characters as evidence. It decides nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from tutela.detection import DetectionInput, Detector
from tutela.model import Category, Signal
from tutela.text.classifier import Scored, TextClassifier, default_classifier, text_form
from tutela.text.lexicon import Lexicon, Match, default_lexicon
from tutela.text.normalise import Normalised, normalise
from tutela.text.patterns import claimed_ages, contact_details

LEXICON_LABELS: dict[str, Category] = {
    "text.image_request": Category.SOLICITATION,
    "text.sexual_proposition": Category.SOLICITATION,
    "text.sexual_advertisement": Category.SEXUAL_CONTENT,
    "text.csam_seeking": Category.CSAM,
    "text.contact_exchange": Category.GROOMING,
    "text.age_probing": Category.GROOMING,
    "text.location_probing": Category.GROOMING,
    "text.secrecy": Category.GROOMING,
    "text.meeting_request": Category.GROOMING,
    "text.flattery_maturity": Category.GROOMING,
}
ADULT_AGE = 18
SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|youre|you're|ya|yall)\b")
IMPERATIVE = re.compile(
    r"^(?:pls |please )?(?:send|show|add|text|dm|message|meet|tell|call|come|give|follow|hmu|let me|snap|facetime)\b"
)


class TextDetector(Detector):
    """Solicitation, grooming, sexual advertising, CSAM-seeking, contact details and claimed
    ages in any text field, through the evasions people use (see tutela.text.normalise)."""

    name = "text"
    version = "4"  # 2: session 4 (claimed ages of many shapes, only under 18); 3: session 5 (gate); 4: session 6 (batches 8-9, static int8)
    reads = frozenset({"text"})
    emits: ClassVar[Mapping[str, Category]] = {
        **LEXICON_LABELS,
        "text.contact_detail": Category.GROOMING,
        "text.self_claimed_age": Category.IMPERSONATION,
        "text.directed": Category.OTHER,
        "text.learned_harm": Category.GROOMING,
    }

    def __init__(self, lexicon: Lexicon | None = None, classifier: TextClassifier | None = None) -> None:
        self.lexicon = lexicon or default_lexicon()
        self.classifier = classifier or default_classifier()

    def applies(self, inp: DetectionInput) -> bool:
        return bool(inp.change.text and inp.change.text.strip())

    def detect(self, inp: DetectionInput) -> list[Signal]:
        assert inp.change.text is not None
        return self.signals_for(inp.change.text)

    def signals_for(self, text: str) -> list[Signal]:
        normalised = normalise(text)
        return self._signals(normalised, self.classifier.score(normalised))

    def signals_for_many(self, texts: Sequence[str]) -> list[list[Signal]]:
        """The signals of many texts, the classifier run on them in batches (bulk scans, benchmarks)."""
        normalised = [normalise(t) for t in texts]
        scored = self.classifier.score_many([text_form(n) for n in normalised])
        return [self._signals(n, s) for n, s in zip(normalised, scored, strict=True)]

    def _signals(self, normalised: Normalised, scored: Scored) -> list[Signal]:
        signals: list[Signal] = []
        by_label: dict[str, list[Match]] = {}
        for m in self.lexicon.find(normalised):
            by_label.setdefault(f"text.{m.category}", []).append(m)
        for label, matches in sorted(by_label.items()):
            miss = 1.0
            for m in matches:
                miss *= 1.0 - m.weight
            signals.append(
                self.signal(
                    label,
                    round(1.0 - miss, 4),
                    spans=[list(m.span) for m in matches],
                    matched=[m.matched for m in matches],
                    phrases=sorted({m.phrase for m in matches}),
                    forms=sorted({m.form for m in matches}),
                )
            )
        details = contact_details(normalised)
        if details:
            signals.append(
                self.signal(
                    "text.contact_detail", 0.9, kinds=sorted({d.kind for d in details}), spans=[list(d.span) for d in details]
                )
            )
        # A claim of a child's age is the signal; an adult stating their age is not.
        ages = [a for a in claimed_ages(normalised) if int(a.value) < ADULT_AGE]
        if ages:
            youngest = min(int(a.value) for a in ages)
            signals.append(
                self.signal(
                    "text.self_claimed_age",
                    0.9,
                    age=youngest,
                    ages=sorted({int(a.value) for a in ages}),
                    spans=[list(a.span) for a in ages],
                )
            )
        if scored.probability >= self.classifier.threshold:
            signals.append(
                self.signal(
                    "text.learned_harm",
                    round(scored.probability, 4),
                    category=scored.category,
                    category_probability=round(scored.category_probability, 4),
                    threshold=self.classifier.threshold,
                )
            )
        cues = directed_cues(normalised)
        if cues:
            signals.append(self.signal("text.directed", 1.0, cues=cues))
        return signals


def directed_cues(normalised: Normalised) -> list[str]:
    """Why the text reads as addressed to someone: second person, or an imperative."""
    form = normalised.form("algospeak") or normalised.forms[0]
    cues = []
    if SECOND_PERSON.search(form.text):
        cues.append("second_person")
    if IMPERATIVE.search(form.text):
        cues.append("imperative")
    return cues
