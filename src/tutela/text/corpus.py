"""The labelled text corpus (data/text/, provenance in docs/corpus.md), its split, and the
evasive spellings generated from it.

The split is by family: every phrasing of a harmful family, and every evasive spelling made
from them, lands on one side. Within each category, the quarter of its families whose ids'
SHA-256 sort first are held out (at least one), so every category is measured and the split
does not depend on the order of the file. Benign texts have no variants; each is held out when
the SHA-256 of its text falls in the first quarter.

Evasions are generated deterministically (seeded by the phrasing and the evasion type), one
variant per type, in the ways DOMAIN.md lists: leetspeak, spaced and dotted letters, look-alike
letters from other scripts, fullwidth letters, zero-width characters, stretched letters, emoji.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

DATA = Path(__file__).resolve().parents[3] / "data" / "text"
HELD_OUT_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    harmful: bool
    category: str  # a harmful category, or the benign kind (song_title, playlist_name, ...)
    family: str
    evasion: str  # "none" or how the text was disguised
    split: str  # "train" or "test"


def held_out(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) < HELD_OUT_SHARE * 0x1_0000_0000


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = YAML(typ="safe").load((DATA / name).read_text("utf-8"))
    return data


# ---- evasions -------------------------------------------------------------------------------

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"}
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}
EMOJI = {"snapchat": "👻", "snap": "👻", "photo": "📸", "pic": "📸", "picture": "📸", "phone": "📱", "secret": "🤫", "home": "🏠"}


def _longest_word(words: list[str]) -> int:
    return max(range(len(words)), key=lambda i: (len(words[i]), -i))


def _leet(text: str, rng: random.Random) -> str:
    out = [LEET[c] if c in LEET and rng.random() < 0.6 else c for c in text]
    return "".join(out)


def _spaced(text: str, rng: random.Random) -> str:
    words = text.split()
    i = _longest_word(words)
    words[i] = " ".join(words[i])
    return "  ".join(words) if rng.random() < 0.5 else " ".join(words)


def _dotted(text: str, rng: random.Random) -> str:
    words = text.split()
    i = _longest_word(words)
    words[i] = rng.choice([".", "-", "*"]).join(words[i])
    return " ".join(words)


def _confusable(text: str, rng: random.Random) -> str:
    return "".join(CYRILLIC[c] if c in CYRILLIC and rng.random() < 0.7 else c for c in text)


def _fullwidth(text: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _zero_width(text: str, rng: random.Random) -> str:
    words = text.split()
    i = _longest_word(words)
    words[i] = "\u200b".join(words[i])
    return " ".join(words)


def _stretched(text: str, rng: random.Random) -> str:
    return "".join(c * rng.randint(2, 4) if c in "aeiou" and rng.random() < 0.5 else c for c in text)


def _emoji(text: str, rng: random.Random) -> str:
    return " ".join(EMOJI.get(w, w) for w in text.split())


EVASIONS: dict[str, Callable[[str, random.Random], str]] = {
    "leet": _leet,
    "spaced": _spaced,
    "dotted": _dotted,
    "confusable": _confusable,
    "fullwidth": _fullwidth,
    "zero_width": _zero_width,
    "stretched": _stretched,
    "emoji": _emoji,
}


def evade(text: str, how: str) -> str:
    rng = random.Random(f"{how}:{text}")
    return EVASIONS[how](text.lower(), rng)


# ---- the corpus -----------------------------------------------------------------------------


def _held_out_families(families: list[dict[str, Any]]) -> set[str]:
    by_category: dict[str, list[str]] = {}
    for f in families:
        by_category.setdefault(f["category"], []).append(f["family"])
    out: set[str] = set()
    for ids in by_category.values():
        ids.sort(key=lambda i: hashlib.sha256(i.encode()).hexdigest())
        out.update(ids[: max(1, round(len(ids) * HELD_OUT_SHARE))])
    return out


def examples() -> Iterator[Example]:
    families = _load("families.yaml")
    test_families = _held_out_families(families)
    for family in families:
        split = "test" if family["family"] in test_families else "train"
        for phrasing in family["phrasings"]:
            text = str(phrasing)
            yield Example(text, True, family["category"], family["family"], "none", split)
            for how in EVASIONS:
                variant = evade(text, how)
                if variant != text.lower():
                    yield Example(variant, True, family["category"], family["family"], how, split)
    for family in _load("benign.yaml"):
        for item in family["texts"]:
            text = str(item)
            yield Example(text, False, family["kind"], family["family"], "none", "test" if held_out(text) else "train")
