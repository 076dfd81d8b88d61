"""Phrase lexicon matching over the normalised forms of a text (Aho-Corasick).

The lexicon is data (`data/lexicon.yaml`): categories of short phrases with a small syntax for
optional words and alternatives. Every phrase is expanded to its literal variants, each also in
its squeezed spelling (repeated letters as one, as the joined forms are), and all go into one
automaton. A match counts only on word boundaries. Matches from different forms that cover
the same original characters are reported once, with the form that found them.
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

from tutela.text.normalise import Normalised

_GROUP = re.compile(r"\[([^\[\]]*)\]|\{([^{}]*)\}")


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


class Lexicon:
    def __init__(self, categories: dict[str, Any]) -> None:
        self.automaton = ahocorasick.Automaton()
        self.categories = sorted(categories)
        entries: dict[str, list[Entry]] = {}
        for category, spec in categories.items():
            weight = float(spec.get("weight", 1.0))
            for phrase in spec["phrases"]:
                entry = Entry(category, str(phrase), weight)
                for variant in expand(str(phrase)):
                    for literal in {variant, squeeze(variant)}:
                        entries.setdefault(literal, []).append(entry)
        for literal, found in entries.items():
            self.automaton.add_word(literal, (literal, tuple(found)))
        self.automaton.make_automaton()
        self.size = len(entries)

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
            for end, (literal, entries) in self.automaton.iter(text):
                start = end - len(literal) + 1
                if (start > 0 and text[start - 1].isalnum()) or (end + 1 < len(text) and text[end + 1].isalnum()):
                    continue
                span = form.source(start, end + 1)
                for entry in entries:
                    key = (entry.category, span)
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(Match(entry.category, entry.phrase, literal, form.name, span, entry.weight))
        return out


@functools.cache
def default_lexicon() -> Lexicon:
    return Lexicon.load()
