"""Undoing the evasions people use to slip words past filters, without losing track of what
they typed.

`normalise(text)` returns several candidate forms of a text, each a string in lower-case ASCII
where possible, plus for every character of it the span of original characters it came from,
so that a match in any form can be shown to a moderator as the characters the user typed.

The forms, each built on the one before where it says so:

- `plain`: NFKC; invisible characters (zero-width, bidi overrides, variation selectors) and
  combining marks removed; look-alike letters from other scripts, fullwidth, small capitals and
  mathematical letters mapped to Latin (Unicode TR39 confusables first, because they are
  visual: Cyrillic "р" reads as "p"; a transliteration as a fallback); case folded; runs of
  white space made one space.
- `joined`: from `plain`, runs of three or more single letters separated by spaces, dots,
  dashes, stars and the like joined into one word ("n u d e s", "n.u.d.e.s"), and runs of a
  repeated letter squeezed to one ("nuuudes" -> "nudes"; "hello" -> "helo": the lexicon is
  squeezed the same way before it is matched against this form).
- `leet`, `leet_l`: from `joined`, digits and symbols inside words that contain letters read as
  the letters they imitate ("nud3s", "$ex", "p1c" -> pic; `leet_l` reads 1 and | as l). Numbers
  on their own ("im 12") are left alone.
- `algospeak`: from `leet`, emoji and algospeak words replaced by what they stand for
  (data/algospeak.yaml): "👻" -> snapchat, "seggs" -> sex; and words with masked letters read
  as the one listed word they fit ("p*rn" -> porn, "n#des" -> nudes).

Forms identical to an earlier one are dropped. Text longer than MAX_CHARS is cut there (and the
result says so): bounded time whatever the input.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

import emoji
from anyascii import anyascii
from confusable_homoglyphs import confusables
from ruamel.yaml import YAML

MAX_CHARS = 20_000
SEPARATORS = frozenset(" .-_*|/\\·•~+,:;'\"`^")  # between spaced-out letters
LEET_COMMON = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s", "@": "a", "€": "e", "£": "l"}
LEET_I = {**LEET_COMMON, "1": "i", "!": "i", "|": "i"}
LEET_L = {**LEET_COMMON, "1": "l", "!": "i", "|": "l"}
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cc", "Co", "Cn", "Cs"})


Char = tuple[str, int, int]  # a character of a form, and the [start, end) of original text it stands for


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    text: str
    starts: tuple[int, ...]  # for each character of text, where its source begins in the original
    ends: tuple[int, ...]  # ... and where it ends

    def source(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that characters [start, end) of this form came from."""
        if not self.text or start >= end:
            return (0, 0)
        return (self.starts[start], self.ends[end - 1])

    @classmethod
    def of(cls, name: str, chars: list[Char]) -> Form:
        if not chars:
            return cls(name, "", (), ())
        texts, starts, ends = zip(*chars, strict=True)  # one pass in C, not three generators
        return cls(name, "".join(texts), starts, ends)


@dataclass(frozen=True, slots=True)
class Normalised:
    original: str
    forms: tuple[Form, ...]
    truncated: bool

    def form(self, name: str) -> Form | None:
        return next((f for f in self.forms if f.name == name), None)


@functools.cache
def _algospeak() -> dict[str, dict[str, str]]:
    data: dict[str, Any] = YAML(typ="safe").load(
        resources.files("tutela.text").joinpath("data/algospeak.yaml").read_text("utf-8")
    )
    return {
        "emoji": {str(k): str(v) for k, v in data["emoji"].items()},
        "words": {str(k): str(v) for k, v in data["words"].items()},
        "masked": {str(w): str(w) for w in data.get("masked", [])},
    }


MASKS = frozenset("*#_")
_MASKED = re.compile(r"[a-z]*[*#_]+[a-z*#_]*")


def unmask(word: str) -> str | None:
    """The one word of data/algospeak.yaml's `masked` list that a word with masked letters
    stands for ("p*rn" -> porn, "s**y" -> sexy); None when no word, or more than one, fits."""
    if not word or not any(c in MASKS for c in word) or all(c in MASKS for c in word):
        return None
    fits = [
        w
        for w in _algospeak()["masked"]
        if len(w) == len(word) and all(c in MASKS or c == wc for c, wc in zip(word, w, strict=True))
    ]
    return fits[0] if len(fits) == 1 else None


@functools.lru_cache(maxsize=65536)
def _fold(ch: str) -> str:
    """One original character as lower-case Latin where it imitates Latin; "" when invisible."""
    if ch.isascii():
        if ch.isspace():
            return " "
        return ch.lower() if ch.isprintable() else ""
    if ch.isspace():
        return " "
    if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        return ""
    if emoji.is_emoji(ch):
        return ch
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", ch) if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)
    if decomposed.isascii():
        return decomposed.lower()
    out = []
    for c in decomposed:
        out.append(_latin(c) if not c.isascii() else c.lower())
    return "".join(out)


def _latin(ch: str) -> str:
    found = confusables.is_confusable(ch, greedy=False, preferred_aliases=["latin"])
    if found:
        for glyph in found[0]["homoglyphs"]:
            if glyph["c"].isascii() and glyph["c"].isalnum():
                return str(glyph["c"]).lower()
    if ch.isalpha():
        translit = anyascii(ch)
        if translit.isascii() and translit.isalpha() and len(translit) <= 2:
            return translit.lower()
    return ch


def _plain(text: str) -> list[Char]:
    chars: list[Char] = []
    for i, ch in enumerate(text):
        folded = _fold(ch)
        for c in folded:
            if c == " " and chars and chars[-1][0] == " ":
                chars[-1] = (" ", chars[-1][1], i + 1)  # one space standing for the whole run
                continue
            if c == " " and not chars:
                continue
            chars.append((c, i, i + 1))
    if chars and chars[-1][0] == " ":
        chars.pop()
    return chars


def _joined(chars: list[Char]) -> list[Char]:
    out: list[Char] = []
    i, n = 0, len(chars)
    while i < n:
        # a run of single letters, each followed by separators: "n u d e s", "n.u.d.e.s"
        if chars[i][0].isalnum() and (i == 0 or not chars[i - 1][0].isalnum()):
            letters = [chars[i]]
            j = i + 1
            while j < n:
                k = j
                while k < n and chars[k][0] in SEPARATORS and not _word_gap(chars[k]):
                    k += 1
                if k == j or k >= n or not chars[k][0].isalnum() or (k + 1 < n and chars[k + 1][0].isalnum()):
                    break
                letters.append(chars[k])
                j = k + 1
            before_gap = i == 0 or _word_gap(chars[i - 1])
            after_gap = j >= n or _word_gap(chars[j])
            if len(letters) >= 3 or (len(letters) == 2 and before_gap and after_gap and _spaced_out(chars)):
                out.extend(letters)
                i = j
                continue
        out.append(chars[i])
        i += 1
    return _squeeze(out)


def _squeeze(chars: list[Char]) -> list[Char]:
    """A run of one repeated letter as one letter, standing for the whole run."""
    squeezed: list[Char] = []
    for c in chars:
        if squeezed and c[0] == squeezed[-1][0] and c[0].isalpha():
            prev = squeezed[-1]
            squeezed[-1] = (prev[0], prev[1], c[2])
            continue
        squeezed.append(c)
    return squeezed


def _word_gap(c: Char) -> bool:
    """Spaced-out words keep a wider gap between words than between their letters."""
    return c[0] == " " and c[2] - c[1] >= 2


def _spaced_out(chars: list[Char]) -> bool:
    """The whole text is written with wide gaps between words (so two letters make a word)."""
    return any(_word_gap(c) for c in chars)


_WORD = re.compile(r"[^\s]+")


def _leet(chars: list[Char], table: dict[str, str]) -> list[Char]:
    text = "".join(c for c, _, _ in chars)
    out = list(chars)
    for m in _WORD.finditer(text):
        word = m.group()
        if not any(c.isalpha() for c in word) or ("@" in word[1:-1] and "." in word):  # a number, or an email address
            continue
        for k in range(m.start(), m.end()):
            c = out[k][0]
            if c in table:
                out[k] = (table[c], out[k][1], out[k][2])
    return _squeeze(out)


_TOKEN = re.compile(r"[^\s]+")
_EDGE = "?!.,;:)(\"'"


def _algospeak_form(chars: list[Char]) -> list[Char]:
    table = _algospeak()
    text = "".join(c for c, _, _ in chars)
    out: list[Char] = []
    last = 0

    def emit(replacement: str, start: int, end: int) -> None:
        out.extend((c, start, end) for c in replacement)

    for m in _TOKEN.finditer(text):
        out.extend(chars[last : m.start()])
        last = m.end()
        token = m.group()
        core_start, core_end = m.start(), m.end()
        while core_start < core_end and text[core_start] in _EDGE:
            core_start += 1
        while core_end > core_start and text[core_end - 1] in _EDGE:
            core_end -= 1
        word = text[core_start:core_end]
        unmasked = unmask(word)
        if unmasked is not None:
            out.extend(chars[m.start() : core_start])
            emit(unmasked, chars[core_start][1], chars[core_end - 1][2])
            out.extend(chars[core_end : m.end()])
            continue
        if word in table["words"]:
            out.extend(chars[m.start() : core_start])
            emit(table["words"][word], chars[core_start][1], chars[core_end - 1][2])
            out.extend(chars[core_end : m.end()])
            continue
        if not any(ch in table["emoji"] for ch in token):
            out.extend(chars[m.start() : m.end()])
            continue
        for k in range(m.start(), m.end()):  # emoji inside a token: each stands for a word
            meaning = table["emoji"].get(text[k])
            if meaning is None:
                out.append(chars[k])
                continue
            if out and out[-1][0] != " ":
                out.append((" ", chars[k][1], chars[k][1]))
            emit(meaning, chars[k][1], chars[k][2])
            if k + 1 < m.end():
                out.append((" ", chars[k][2], chars[k][2]))
    out.extend(chars[last:])
    return out


_SPACED = re.compile(r"(?:^|[^a-z0-9])[a-z0-9](?:[^a-z0-9\s]|\s)+[a-z0-9](?:[^a-z0-9\s]|\s)+[a-z0-9](?:$|[^a-z0-9])")
_REPEAT = re.compile(r"([a-z])\1")
_LEETISH = re.compile(r"[a-z][0-9$@!|€£]|[0-9$@!|€£][a-z]")
_WORDS = re.compile(r"[a-z0-9/]+")


def _needs_joining(text: str) -> bool:
    return bool(_REPEAT.search(text) or _SPACED.search(text))


def _needs_algospeak(text: str) -> bool:
    table = _algospeak()
    return (
        any(w in table["words"] for w in _WORDS.findall(text))
        or any(ch in table["emoji"] for ch in text if not ch.isascii())
        or any(unmask(w) for w in _MASKED.findall(text))
    )


def _plain_fast(text: str) -> list[Char] | None:
    """Printable ASCII with single spaces maps one to one: no per-character work."""
    if text.isascii() and text.isprintable() and "  " not in text and text == text.strip():
        return [(c, i, i + 1) for i, c in enumerate(text.lower())]
    return None


def normalise(text: str) -> Normalised:
    truncated = len(text) > MAX_CHARS
    source = text[:MAX_CHARS]
    plain = _plain_fast(source) or _plain(source)
    plain_text = "".join(c for c, _, _ in plain)
    # Each later form is built only when the text has something for it to undo.
    joined = _joined(plain) if _needs_joining(plain_text) else plain
    joined_text = plain_text if joined is plain else "".join(c for c, _, _ in joined)
    leetish = bool(_LEETISH.search(joined_text))
    leet = _leet(joined, LEET_I) if leetish else joined
    stages = [("plain", plain), ("joined", joined), ("leet", leet)]
    if leetish:
        stages.append(("leet_l", _leet(joined, LEET_L)))
    leet_text = "".join(c for c, _, _ in leet)
    if _needs_algospeak(leet_text):
        stages.append(("algospeak", _algospeak_form(leet)))
    forms: list[Form] = []
    seen: set[str] = set()
    for name, chars in stages:
        if forms and chars is stages[0][1] and name != "plain":
            continue
        form = Form.of(name, chars)
        if form.text not in seen:
            seen.add(form.text)
            forms.append(form)
    return Normalised(text, tuple(forms), truncated)
