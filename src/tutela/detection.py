"""The detector plug-in point.

A detector reads part of a proposed change (its text, its image, the parties and how they are
connected) and emits `Signal`s. It never decides: the policy does. To add a detector, subclass
`Detector`, declare what it reads and the labels it emits, and add it to `default_detectors`;
`tests/test_detection_conformance.py` then runs it through the checks every detector must pass.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from tutela.model import Category, Change, ContentObject, FieldType, Signal

if TYPE_CHECKING:
    from tutela.contact import Parties
    from tutela.hashbank.matcher import BankMatcher
    from tutela.image import AnalysedImage


@dataclass(frozen=True, slots=True)
class DetectionInput:
    """Everything a detector may read about one proposed change."""

    change: Change
    obj: ContentObject
    field_type: FieldType
    parties: Parties
    now: dt.datetime
    image: AnalysedImage | None = None  # the decoded image and its hashes, for image fields that send one


class Detector(abc.ABC):
    """A source of signals. Subclasses set the class attributes and implement `detect`."""

    name: ClassVar[str]  # also the prefix of every label it emits: "contact" -> "contact.stranger"
    version: ClassVar[str]  # bump when outputs change; recorded on every signal
    reads: ClassVar[frozenset[str]]  # any of "text", "image", "parties"
    emits: ClassVar[Mapping[str, Category]]  # every label it may emit, and its category

    def applies(self, inp: DetectionInput) -> bool:
        """Whether this detector has anything to read in `inp` (cheap; called first)."""
        if "parties" in self.reads:
            return True
        return (inp.field_type is FieldType.TEXT and "text" in self.reads) or (
            inp.field_type is FieldType.IMAGE and "image" in self.reads and inp.image is not None
        )

    @abc.abstractmethod
    def detect(self, inp: DetectionInput) -> Sequence[Signal]:
        """Return the signals observed in `inp`; an empty sequence when there are none."""

    def signal(self, label: str, score: float, subject: str = "", **evidence: object) -> Signal:
        """Build a signal stamped with this detector's name and version."""
        return Signal(
            detector=self.name,
            detector_version=self.version,
            label=label,
            category=self.emits[label],
            score=score,
            subject=subject,
            evidence=dict(evidence),
        )


_IMAGE_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tutela-image")


def run_detectors(detectors: Iterable[Detector], inp: DetectionInput) -> list[Signal]:
    """Every detector that applies, its signals in the detectors' order. Image detectors are
    independent and spend their time in onnxruntime, which releases the GIL, so on an image
    they run side by side (measured: a cover's check goes from the sum of the nudity classifier
    and OCR to about the longer of the two)."""
    applicable = [d for d in detectors if d.applies(inp)]
    heavy = [d for d in applicable if "image" in d.reads]  # applies() already asked for an image
    futures = {id(d): _IMAGE_POOL.submit(d.detect, inp) for d in heavy[1:]} if len(heavy) > 1 else {}
    signals: list[Signal] = []
    for detector in applicable:
        future = futures.get(id(detector))
        signals.extend(future.result() if future is not None else detector.detect(inp))
    return signals


def default_detectors(matcher: BankMatcher | None = None) -> list[Detector]:
    """The detectors the service runs on every check, in order. `matcher` holds the hash banks
    (the service passes the one it keeps in step with the store); without it, no bank matches."""
    from tutela.contact import ContactDetector
    from tutela.hashbank.detector import HashBankDetector
    from tutela.hashbank.matcher import BankMatcher
    from tutela.image.detectors import ImageTextDetector, NudityDetector
    from tutela.text.detector import TextDetector

    text = TextDetector()
    return [
        ContactDetector(),
        text,
        HashBankDetector(matcher if matcher is not None else BankMatcher()),
        NudityDetector(),
        ImageTextDetector(text=text),
    ]
