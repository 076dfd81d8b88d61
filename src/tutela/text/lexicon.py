"""Phrase lexicon matching over the normalised forms of a text (Aho-Corasick).

The lexicon is data (`data/lexicon.yaml`): categories of short phrases with a small syntax for
optional words and alternatives. Every phrase is expanded to its literal variants, each also in
its squeezed spelling (repeated letters as one, as the joined forms are), and all go into one
automaton. A match counts only on word boundaries. Matches from different forms that cover
the same original characters are reported once, with the form that found them.

A phrase may hold gaps: " ... " stands for up to MAX_GAP words of anything ("send me ...
selfie" matches "send me a cute selfie"). Each side of a gap is a segment, expanded and put in
the same automaton on its own; a gapped phrase matches when its segments are found in order,
each within MAX_GAP words of the one before.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import ahocorasick
from ruamel.yaml import YAML

from tutela.text.normalise import Form, Normalised

_GROUP = re.compile(r"\[([^\[\]]*)\]|\{([^{}]*)\}")
GAP = " ... "
MAX_GAP = 3


def expand(phrase: str) -> list[str]:
    """All literal variants of a phrase: "[me]" optional, "{a|b}" one of several."""
    parts: list[list[str]] = []
    last = 0
    for m in _GROUP.finditer(phrase):
        parts.append([phrase[last : m.start()]])
        if m.group(1) is not None:
            parts.append([m.group(1), ""])
        else:
            parts.append(m.group(2).split("|"))
        last = m.end()
    parts.append([phrase[last:]])
    out = {" ".join("".join(p).split()) for p in itertools.product(*parts)}
    return sorted(v for v in out if v)


def squeeze(text: str) -> str:
    return re.sub(r"([a-z])\1+", r"\1", text)


@dataclass(frozen=True, slots=True)
class Entry:
    category: str
    phrase: str  # as written in the lexicon
    weight: float


@dataclass(frozen=True, slots=True)
class Match:
    category: str
    phrase: str  # the lexicon phrase that matched
    matched: str  # the normalised words that matched it
    form: str  # which normalised form it was found in
    span: tuple[int, int]  # the original characters, for evidence
    weight: float


Segment = tuple[int, int]  # (gapped phrase, segment index)


class Lexicon:
    def __init__(self, categories: dict[str, Any]) -> None:
        self.automaton = ahocorasick.Automaton()
        self.categories = sorted(categories)
        entries: dict[str, list[Entry]] = {}
        segments: dict[str, list[Segment]] = {}
        self.gapped: list[tuple[Entry, int]] = []  # each gapped phrase, and how many segments it has
        for category, spec in categories.items():
            weight = float(spec.get("weight", 1.0))
            for phrase in spec["phrases"]:
                entry = Entry(category, str(phrase), weight)
                parts = [p.strip() for p in f" {phrase} ".split(GAP)]
                if len(parts) > 1:
                    if not all(parts):
                        raise ValueError(f"lexicon phrase {phrase!r} in {category}: a gap needs words on both sides")
                    for index, part in enumerate(parts):
                        for variant in expand(part):
                            for literal in {variant, squeeze(variant)}:
                                segments.setdefault(literal, []).append((len(self.gapped), index))
                    self.gapped.append((entry, len(parts)))
                    continue
                for variant in expand(str(phrase)):
                    for literal in {variant, squeeze(variant)}:
                        entries.setdefault(literal, []).append(entry)
        for literal in entries.keys() | segments.keys():
            self.automaton.add_word(literal, (literal, tuple(entries.get(literal, ())), tuple(segments.get(literal, ()))))
        self.automaton.make_automaton()
        self.size = len(entries) + len(segments)

    @classmethod
    def load(cls, text: str | None = None) -> Lexicon:
        raw = text if text is not None else resources.files("tutela.text").joinpath("data/lexicon.yaml").read_text("utf-8")
        doc = YAML(typ="safe").load(raw)
        return cls(doc["categories"])

    def find(self, normalised: Normalised) -> list[Match]:
        seen: set[tuple[str, tuple[int, int]]] = set()
        out: list[Match] = []
        for form in normalised.forms:
            text = form.text
            pieces: dict[Segment, list[tuple[int, int]]] = {}
            for end, (literal, entries, segments) in self.automaton.iter(text):
                start = end - len(literal) + 1
                if (start > 0 and text[start - 1].isalnum()) or (end + 1 < len(text) and text[end + 1].isalnum()):
                    continue
                for segment in segments:
                    pieces.setdefault(segment, []).append((start, end + 1))
                for entry in entries:
                    self._add(out, seen, entry, text[start : end + 1], form, (start, end + 1))
            for gapped in sorted({s[0] for s in pieces if s[1] == 0}):
                entry, count = self.gapped[gapped]
                found = _chain(text, [pieces.get((gapped, i), []) for i in range(count)])
                if found is not None:
                    self._add(out, seen, entry, text[found[0] : found[1]], form, found)
        return out

    @staticmethod
    def _add(
        out: list[Match], seen: set[tuple[str, tuple[int, int]]], entry: Entry, matched: str, form: Form, at: tuple[int, int]
    ) -> None:
        span = form.source(*at)
        key = (entry.category, span)
        if key not in seen:
            seen.add(key)
            out.append(Match(entry.category, entry.phrase, matched, form.name, span, entry.weight))


def _chain(text: str, hits: list[list[tuple[int, int]]]) -> tuple[int, int] | None:
    """The first run of segment hits in order, each within MAX_GAP words of the one before."""

    def extend(index: int, start: int, end: int) -> tuple[int, int] | None:
        if index == len(hits):
            return (start, end)
        for s, e in sorted(hits[index]):
            if s > end and len(text[end:s].split()) <= MAX_GAP:
                found = extend(index + 1, start, e)
                if found is not None:
                    return found
        return None

    for s, e in sorted(hits[0]):
        found = extend(1, s, e)
        if found is not None:
            return found
    return None


@functools.cache
def default_lexicon() -> Lexicon:
    return Lexicon.load()
