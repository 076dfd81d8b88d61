"""The hash-bank detector: a proposed image against the banks of known images.

Signals, one per kind of list matched:
- `hashbank.csam`: a block-list entry labelled csam matched (the labels of the bank and of the
  entry both count);
- `hashbank.ncii`: a block-list entry labelled ncii (non-consensual intimate imagery);
- `hashbank.match`: any other block-list entry (terror, own-takedowns, ...);
- `hashbank.allowlisted`: an allow-list entry matched. Allow-lists win: when one matches, no
  block-list signal is emitted, and the block-list matches it overrode are in its evidence.

Scores: 1.0 for an exact (MD5, SHA-256) or PDQ distance-0 match, falling linearly to 0.5 at
the radius. Evidence names the bank, entry, labels, distance and which rotation or flip of the
image matched, never the image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from tutela.detection import DetectionInput, Detector
from tutela.hashbank.matcher import BankMatch, BankMatcher
from tutela.model import Category, Signal


def _score(m: BankMatch, radius: int) -> float:
    return round(1.0 - 0.5 * (m.distance / radius if radius else 0.0), 4)


class HashBankDetector(Detector):
    name = "hashbank"
    version = "1"
    reads = frozenset({"image"})
    emits: ClassVar[Mapping[str, Category]] = {
        "hashbank.csam": Category.CSAM,
        "hashbank.ncii": Category.SEXUAL_CONTENT,
        "hashbank.match": Category.OTHER,
        "hashbank.allowlisted": Category.OTHER,
    }

    def __init__(self, matcher: BankMatcher) -> None:
        self.matcher = matcher

    def detect(self, inp: DetectionInput) -> Sequence[Signal]:
        if inp.change.image is None:
            return []
        matches = self.matcher.match(inp.change.image)
        allowed = [m for m in matches if m.entry.kind == "allowlist"]
        blocked = [m for m in matches if m.entry.kind == "blocklist"]
        radius = self.matcher.radius
        if allowed:
            return [
                self.signal(
                    "hashbank.allowlisted",
                    max(_score(m, radius) for m in allowed),
                    matches=[m.as_evidence() for m in allowed],
                    overrode=[m.as_evidence() for m in blocked],
                )
            ]
        groups: dict[str, list[BankMatch]] = {}
        for m in blocked:
            label = (
                "hashbank.csam" if "csam" in m.entry.labels else "hashbank.ncii" if "ncii" in m.entry.labels else "hashbank.match"
            )
            groups.setdefault(label, []).append(m)
        return [
            self.signal(
                label,
                max(_score(m, radius) for m in found),
                matches=[m.as_evidence() for m in found],
                labels=sorted({lab for m in found for lab in m.entry.labels}),
                nearest=min(m.distance for m in found),
            )
            for label, found in sorted(groups.items())
        ]
